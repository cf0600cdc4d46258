//! Parquet files as this project writes and reads them: one place for the writer
//! settings (Snappy, page statistics, row-group size, `created_by`), for atomic
//! replacement, and for picking the row groups a row range needs, so every table gets
//! the same treatment.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::Schema;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::store::Store;

/// Rows per row group: one scenario of a 30-year projection is 360 rows, so a group holds
/// a few hundred scenarios, large enough for efficient scans and statistics.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Encodes `columns` under `schema` as one Parquet file in memory.
pub fn encode_columns(schema: Arc<Schema>, columns: Vec<ArrayRef>) -> Result<Vec<u8>, String> {
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("mcflow {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut buffer = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut buffer, schema, Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(buffer)
}

/// Writes `columns` under `schema` to a local `path`, atomically (see [`crate::atomic`]).
/// Errors are returned as text for the caller to wrap with its own context.
pub fn write_columns(
    path: &Path,
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
) -> Result<(), String> {
    let bytes = encode_columns(schema, columns)?;
    crate::atomic::write_bytes_atomically(path, &bytes).map_err(|e| e.to_string())
}

/// Writes `columns` under `schema` at `key` of `store`, all at once.
pub fn put_columns(
    store: &Store,
    key: &str,
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
) -> Result<(), String> {
    let bytes = encode_columns(schema, columns)?;
    store.put(key, bytes).map_err(|e| e.to_string())
}

/// Reads every record batch of a local file.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    collect(ParquetRecordBatchReaderBuilder::try_new(file))
}

/// Reads every record batch of a Parquet file held in memory.
pub fn decode_batches(bytes: Bytes) -> Result<Vec<RecordBatch>, String> {
    collect(ParquetRecordBatchReaderBuilder::try_new(bytes))
}

fn collect<T: parquet::file::reader::ChunkReader + 'static>(
    builder: parquet::errors::Result<ParquetRecordBatchReaderBuilder<T>>,
) -> Result<Vec<RecordBatch>, String> {
    let reader = builder.and_then(|b| b.build()).map_err(|e| e.to_string())?;
    reader.map(|b| b.map_err(|e| e.to_string())).collect()
}

/// The row groups that hold any of `rows`, and the file row at which the first starts.
pub(crate) fn row_groups_for(
    metadata: &ParquetMetaData,
    rows: &std::ops::Range<usize>,
) -> (Vec<usize>, usize) {
    let mut groups = Vec::new();
    let mut first_row = None;
    let mut at = 0usize;
    for (i, g) in metadata.row_groups().iter().enumerate() {
        let n = g.num_rows().max(0) as usize;
        if at < rows.end && rows.start < at + n {
            groups.push(i);
            first_row.get_or_insert(at);
        }
        at += n;
    }
    (groups, first_row.unwrap_or(at))
}
