//! Parquet files as this project writes and reads them: one place for the writer
//! settings (Snappy, page statistics, row-group size, `created_by`) and for atomic
//! replacement, so every table gets the same treatment.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::Schema;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

/// Rows per row group: one scenario of a 30-year projection is 360 rows, so a group holds
/// a few hundred scenarios, large enough for efficient scans and statistics.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Writes `columns` under `schema` to `path`, atomically (see [`crate::atomic`]).
/// Errors are returned as text for the caller to wrap with its own context.
pub fn write_columns(
    path: &Path,
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
) -> Result<(), String> {
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("mcflow {}", env!("CARGO_PKG_VERSION")))
        .build();
    crate::atomic::write_atomically(path, |file| {
        let mut writer = ArrowWriter::try_new(file, schema, Some(props))?;
        writer.write(&batch)?;
        writer.close()?;
        Ok(())
    })
    .map_err(|e| e.to_string())
}

/// Reads every record batch of a file.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    reader.map(|b| b.map_err(|e| e.to_string())).collect()
}
