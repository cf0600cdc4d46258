//! Parquet files as this project writes and reads them: one place for the writer
//! settings (Snappy, row-group size, `created_by`, and statistics and dictionaries where
//! something reads them), for atomic replacement, and for picking the row groups a row
//! range needs, so every table gets the same treatment.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::store::Store;

/// Rows per row group: one scenario of a 30-year projection is 360 rows, so a group holds
/// a few hundred scenarios, large enough for efficient scans and statistics.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Who reads a file, which decides what its writer spends time on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// Query engines (Athena, DuckDB, Spark): page statistics let them skip pages, and
    /// dictionaries shrink the repeated keys.
    Queries,
    /// The reducer alone, which reads the whole file once. Neither statistics nor
    /// dictionaries would ever be read, and they were more than half a shard partial's
    /// write time: the partial sums are distinct 16-byte values, so every dictionary
    /// attempt fell back to plain encoding after hashing them all.
    Reducer,
}

/// Encodes `columns` under `schema` as one Parquet file in memory, for `readers`.
pub fn encode_columns(
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
    readers: Readers,
) -> Result<Vec<u8>, String> {
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    let builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("mcflow {}", env!("CARGO_PKG_VERSION")));
    let props = match readers {
        // Amounts and rates are nearly all distinct: a dictionary would hash every value
        // only to fall back to plain encoding. Keys (ids, states, scenario and month
        // numbers) repeat, and keep theirs.
        Readers::Queries => schema
            .fields()
            .iter()
            .filter(|f| matches!(f.data_type(), DataType::Float64 | DataType::Decimal128(..)))
            .fold(
                builder.set_statistics_enabled(EnabledStatistics::Page),
                |b, f| b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), false),
            ),
        Readers::Reducer => builder
            .set_statistics_enabled(EnabledStatistics::None)
            .set_dictionary_enabled(false),
    }
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
    let bytes = encode_columns(schema, columns, Readers::Queries)?;
    crate::atomic::write_bytes_atomically(path, &bytes).map_err(|e| e.to_string())
}

/// Writes `columns` under `schema` at `key` of `store`, all at once, for `readers`.
pub fn put_columns(
    store: &Store,
    key: &str,
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
    readers: Readers,
) -> Result<(), String> {
    let bytes = encode_columns(schema, columns, readers)?;
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

#[cfg(test)]
mod tests {
    use arrow::array::{Decimal128Array, Float64Array, Int32Array};
    use arrow::datatypes::Field;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;

    /// Per column of the one row group: (has a dictionary page, has statistics).
    fn encodings(readers: Readers) -> Vec<(String, bool, bool)> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("scenario", DataType::Int32, false),
            Field::new("pv", DataType::Float64, false),
            Field::new("units", DataType::Decimal128(38, 0), false),
        ]));
        let rows = 1_000;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from_iter_values((0..rows).map(|i| i % 4))),
            Arc::new(Float64Array::from_iter_values(
                (0..rows).map(|i| f64::from(i) * 1.5),
            )),
            Arc::new(
                Decimal128Array::from_iter_values((0..rows).map(i128::from))
                    .with_precision_and_scale(38, 0)
                    .expect("valid"),
            ),
        ];
        let bytes = encode_columns(schema, columns, readers).expect("encodes");
        let reader = SerializedFileReader::new(Bytes::from(bytes)).expect("reads");
        let group = reader.metadata().row_group(0).clone();
        group
            .columns()
            .iter()
            .map(|c| {
                (
                    c.column_path().string(),
                    c.dictionary_page_offset().is_some(),
                    c.statistics().is_some(),
                )
            })
            .collect()
    }

    #[test]
    fn query_tables_keep_statistics_and_key_dictionaries_and_partials_keep_neither() {
        assert_eq!(
            encodings(Readers::Queries),
            vec![
                ("scenario".to_string(), true, true),
                ("pv".to_string(), false, true),
                ("units".to_string(), false, true),
            ]
        );
        assert_eq!(
            encodings(Readers::Reducer),
            vec![
                ("scenario".to_string(), false, false),
                ("pv".to_string(), false, false),
                ("units".to_string(), false, false),
            ]
        );
    }
}
