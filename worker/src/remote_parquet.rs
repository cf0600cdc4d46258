//! Parquet files read from a store by byte range: the footer, then only the row groups a
//! shard needs, each fetched with one ranged GET. A shard of a 20-million-loan portfolio
//! so downloads its own rows, not the whole file.

use std::io::Cursor;
use std::ops::Range;

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaDataReader;
use parquet::file::reader::{ChunkReader, Length};

use crate::store::{Pin, Store};

/// Bytes fetched from the end of the file first: usually the whole footer at once.
const TAIL_BYTES: u64 = 64 * 1024;

/// The fetched pieces of one Parquet object; reads outside them are errors, never
/// silent extra downloads.
#[derive(Debug)]
pub struct RemoteParquet {
    len: u64,
    /// (offset, bytes), sorted by offset.
    pieces: Vec<(u64, Bytes)>,
}

impl RemoteParquet {
    /// Fetches the footer and the byte ranges of the row groups holding `rows` (all of
    /// them when `None`).
    pub fn fetch(
        store: &Store,
        key: &str,
        pin: Option<&Pin>,
        len: u64,
        rows: Option<Range<usize>>,
    ) -> Result<RemoteParquet, String> {
        if len < 12 {
            return Err(format!("{len} bytes is too short for Parquet"));
        }
        let tail_len = len.min(TAIL_BYTES);
        let get = |start: u64, n: u64| {
            store
                .get_range_pinned(key, pin, start, n as usize)
                .map_err(|e| e.to_string())
        };
        let mut tail = get(len - tail_len, tail_len)?;
        let footer = &tail[tail.len() - 8..];
        if &footer[4..] != b"PAR1" {
            return Err("the file does not end with the Parquet magic bytes".into());
        }
        let metadata_len = u64::from(u32::from_le_bytes(
            footer[..4].try_into().expect("four bytes"),
        ));
        if metadata_len + 8 > len {
            return Err(format!("footer length {metadata_len} exceeds the file"));
        }
        if metadata_len + 8 > tail_len {
            tail = get(len - metadata_len - 8, metadata_len + 8)?;
        }
        let tail_start = len - tail.len() as u64;
        let metadata_bytes = &tail[tail.len() - 8 - metadata_len as usize..tail.len() - 8];
        let metadata =
            ParquetMetaDataReader::decode_metadata(metadata_bytes).map_err(|e| e.to_string())?;
        let groups = match &rows {
            Some(r) => crate::parquet_file::row_groups_for(&metadata, r).0,
            None => (0..metadata.num_row_groups()).collect(),
        };
        let mut pieces = vec![(tail_start, tail)];
        for g in groups {
            // A row group's column chunks are contiguous: one GET covers them all.
            let group = metadata.row_group(g);
            let (start, end) = group
                .columns()
                .iter()
                .map(|c| {
                    let (s, n) = c.byte_range();
                    (s, s + n)
                })
                .fold((u64::MAX, 0), |(a, b), (s, e)| (a.min(s), b.max(e)));
            if start < end {
                if end > len {
                    return Err(format!("row group {g} extends beyond the file"));
                }
                pieces.push((start, get(start, end - start)?));
            }
        }
        pieces.sort_by_key(|(offset, _)| *offset);
        Ok(RemoteParquet { len, pieces })
    }

    fn slice(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        let end = start + length as u64;
        self.pieces
            .iter()
            .find(|(offset, b)| *offset <= start && end <= offset + b.len() as u64)
            .map(|(offset, b)| b.slice((start - offset) as usize..(end - offset) as usize))
            .ok_or_else(|| {
                ParquetError::General(format!(
                    "bytes {start}..{end} were not fetched (only the needed row groups are)"
                ))
            })
    }
}

impl Length for RemoteParquet {
    fn len(&self) -> u64 {
        self.len
    }
}

impl ChunkReader for RemoteParquet {
    type T = Cursor<Bytes>;

    fn get_read(&self, start: u64) -> Result<Self::T, ParquetError> {
        let (offset, bytes) = self
            .pieces
            .iter()
            .find(|(offset, b)| *offset <= start && start < offset + b.len() as u64)
            .ok_or_else(|| ParquetError::General(format!("offset {start} was not fetched")))?;
        Ok(Cursor::new(bytes.slice((start - offset) as usize..)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> Result<Bytes, ParquetError> {
        self.slice(start, length)
    }
}
