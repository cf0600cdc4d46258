//! Portfolio files: CSV (with a header row) or Parquet, read into raw loan records and
//! validated by the engine. Every problem names the file, the 1-based data row, the
//! column and the offending value.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Schema};
use engine::{LoanRecord, Portfolio, PortfolioError, ProblemSink};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::file::reader::ChunkReader;

use crate::aws::Aws;
use crate::store::{Pin, Store, StoreError, parse_s3_uri};

/// A portfolio column's type in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text: Parquet UTF8; a CSV cell as written.
    Text,
    /// A number: Parquet DOUBLE (any numeric type is read); a CSV decimal.
    Number,
    /// A whole number: Parquet INT32 (any numeric type is read, and a fraction is a
    /// problem, not truncated); in CSV `360` or `360.0`.
    Whole,
}

/// One cell of a loan record, as its column's [`Kind`] holds it (`None` = empty).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Number(Option<f64>),
    Whole(Option<i64>),
}

/// One column of the portfolio schema: its name, its type, whether every file must have
/// it, and where it lives in a [`LoanRecord`]. Readers, writers and error messages all
/// work from [`COLUMNS`], so the schema is declared here once.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    get: fn(&LoanRecord) -> Cell,
    set: fn(&mut LoanRecord, Cell),
}

/// The portfolio schema, in file order.
pub const COLUMNS: [Column; 14] = [
    Column {
        name: "loan_id",
        kind: Kind::Text,
        required: true,
        get: |l| Cell::Text(Some(l.loan_id.clone())),
        set: |l, c| l.loan_id = c.text().unwrap_or_default(),
    },
    Column {
        name: "current_upb",
        kind: Kind::Number,
        required: true,
        get: |l| Cell::Number(Some(l.current_upb)),
        set: |l, c| l.current_upb = c.number().unwrap_or(f64::NAN),
    },
    Column {
        name: "note_rate_pct",
        kind: Kind::Number,
        required: true,
        get: |l| Cell::Number(Some(l.note_rate_pct)),
        set: |l, c| l.note_rate_pct = c.number().unwrap_or(f64::NAN),
    },
    Column {
        name: "servicing_fee_pct",
        kind: Kind::Number,
        required: false,
        get: |l| Cell::Number(l.servicing_fee_pct),
        set: |l, c| l.servicing_fee_pct = c.number(),
    },
    Column {
        name: "orig_term_months",
        kind: Kind::Whole,
        required: true,
        get: |l| Cell::Whole(Some(l.orig_term_months)),
        set: |l, c| l.orig_term_months = c.whole().unwrap_or(i64::MIN),
    },
    Column {
        name: "loan_age_months",
        kind: Kind::Whole,
        required: true,
        get: |l| Cell::Whole(Some(l.loan_age_months)),
        set: |l, c| l.loan_age_months = c.whole().unwrap_or(i64::MIN),
    },
    Column {
        name: "orig_ltv_pct",
        kind: Kind::Number,
        required: false,
        get: |l| Cell::Number(l.orig_ltv_pct),
        set: |l, c| l.orig_ltv_pct = c.number(),
    },
    Column {
        name: "fico",
        kind: Kind::Whole,
        required: false,
        get: |l| Cell::Whole(l.fico),
        set: |l, c| l.fico = c.whole(),
    },
    Column {
        name: "state",
        kind: Kind::Text,
        required: false,
        get: |l| Cell::Text(l.state.clone()),
        set: |l, c| l.state = c.text().filter(|s| !s.is_empty()),
    },
    Column {
        name: "orig_upb",
        kind: Kind::Number,
        required: false,
        get: |l| Cell::Number(l.orig_upb),
        set: |l, c| l.orig_upb = c.number(),
    },
    Column {
        name: "mi_pct",
        kind: Kind::Number,
        required: false,
        get: |l| Cell::Number(l.mi_pct),
        set: |l, c| l.mi_pct = c.number(),
    },
    Column {
        name: "orig_date",
        kind: Kind::Text,
        required: false,
        get: |l| Cell::Text(l.orig_date.clone()),
        set: |l, c| l.orig_date = c.text().filter(|s| !s.is_empty()),
    },
    Column {
        name: "current_ltv_pct",
        kind: Kind::Number,
        required: false,
        get: |l| Cell::Number(l.current_ltv_pct),
        set: |l, c| l.current_ltv_pct = c.number(),
    },
    Column {
        name: "price_pct",
        kind: Kind::Number,
        required: false,
        get: |l| Cell::Number(l.price_pct),
        set: |l, c| l.price_pct = c.number(),
    },
];

/// The names of the columns every portfolio must have.
pub fn required_columns() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|c| c.required)
        .map(|c| c.name)
        .collect()
}

impl Cell {
    fn text(self) -> Option<String> {
        match self {
            Cell::Text(t) => t,
            _ => None,
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Cell::Number(v) => v,
            _ => None,
        }
    }

    fn whole(self) -> Option<i64> {
        match self {
            Cell::Whole(v) => v,
            _ => None,
        }
    }
}

/// A record whose every field is set from the schema's cells: missing required numbers
/// are NaN and missing required whole numbers `i64::MIN`, sentinels that fail
/// validation without a second problem for a cell that already has one.
fn blank_record() -> LoanRecord {
    LoanRecord {
        loan_id: String::new(),
        current_upb: f64::NAN,
        note_rate_pct: f64::NAN,
        servicing_fee_pct: None,
        orig_term_months: i64::MIN,
        loan_age_months: i64::MIN,
        orig_ltv_pct: None,
        fico: None,
        state: None,
        orig_upb: None,
        mi_pct: None,
        orig_date: None,
        current_ltv_pct: None,
        price_pct: None,
    }
}

/// A whole number from a float read from a file: a fraction (or a value beyond exact
/// integers) is a problem of `column`, reported with `shown`, and gives `None`.
fn whole_of(
    v: f64,
    column: &'static str,
    shown: &str,
    row: usize,
    sink: &mut ProblemSink,
) -> Option<i64> {
    // Spreadsheets and pandas often write whole numbers as "360.0"; accept those.
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Some(v as i64)
    } else {
        sink.push(row, column, shown, "is not a whole number");
        None
    }
}

/// Why a portfolio file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PortfolioFileError {
    #[error("cannot read portfolio {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("portfolio {path} is not a readable {format} file: {message}")]
    Format {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    #[error("portfolio {path} has no column {column:?} (required: {})", required_columns().join(", "))]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("portfolio {path}: column {column:?} has type {found}, expected {expected}")]
    ColumnType {
        path: PathBuf,
        column: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("portfolio {path}: {source}")]
    Invalid {
        path: PathBuf,
        source: PortfolioError,
    },
    #[error("cannot write portfolio {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// Loads and validates a portfolio. The format is taken from the file's content: Parquet
/// files start with the bytes `PAR1`; anything else is read as CSV.
pub fn load_portfolio(path: &Path) -> Result<Portfolio, PortfolioFileError> {
    let (records, sink) = read_records(path)?;
    Portfolio::from_records(records, sink).map_err(|source| PortfolioFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Where a portfolio is read from: a local file, or an object in a store (S3), pinned
/// to the version a run recorded when it has one.
#[derive(Debug, Clone)]
pub enum PortfolioSource {
    File(PathBuf),
    Object {
        store: Store,
        key: String,
        pin: Option<Pin>,
    },
}

impl PortfolioSource {
    /// `s3://bucket/key` (with `aws`, built only then) or a local path.
    pub fn open(
        location: &str,
        aws: impl FnOnce() -> Arc<Aws>,
    ) -> Result<PortfolioSource, StoreError> {
        match parse_s3_uri(location) {
            Some((bucket, key)) => {
                if key.is_empty() || key.ends_with('/') {
                    return Err(StoreError::Location {
                        location: location.to_string(),
                        message: "a portfolio location names one object: s3://bucket/key".into(),
                    });
                }
                Ok(PortfolioSource::Object {
                    store: Store::s3(aws(), bucket, "")?,
                    key: key.to_string(),
                    pin: None,
                })
            }
            None => Ok(PortfolioSource::File(PathBuf::from(location))),
        }
    }

    /// The location as a user would type it.
    pub fn location(&self) -> String {
        match self {
            PortfolioSource::File(p) => p.display().to_string(),
            PortfolioSource::Object { store, key, .. } => store.describe(key),
        }
    }

    /// The same source, reading exactly the bytes `pin` names (see [`Pin`]).
    pub fn pinned(self, pin: Option<Pin>) -> PortfolioSource {
        match self {
            PortfolioSource::Object { store, key, .. } => {
                PortfolioSource::Object { store, key, pin }
            }
            file => file,
        }
    }

    /// SHA-256 of the bytes and the pin that reads the same bytes again (`None` for a
    /// local file), from one read, so the two describe the same version.
    pub fn fingerprint(&self) -> Result<(String, Option<Pin>), PortfolioFileError> {
        match self {
            PortfolioSource::File(_) => Ok((self.sha256()?, None)),
            PortfolioSource::Object { store, key, pin } => {
                let (bytes, current) = match pin {
                    Some(p) => (store.get_pinned(key, Some(p)), p.clone()),
                    None => match store.get_with_pin(key) {
                        Ok(Some((b, p))) => (Ok(Some(b)), p),
                        Ok(None) => (Ok(None), Pin::default()),
                        Err(e) => (Err(e), Pin::default()),
                    },
                };
                let bytes = bytes.map_err(|e| self.store_error(e))?.ok_or_else(|| {
                    self.store_error(StoreError::NotFound {
                        location: self.location(),
                    })
                })?;
                Ok((crate::report::sha256_bytes(&bytes), Some(current)))
            }
        }
    }

    /// SHA-256 of the file's bytes, for the report's input fingerprint.
    pub fn sha256(&self) -> Result<String, PortfolioFileError> {
        match self {
            PortfolioSource::File(p) => {
                crate::report::sha256_file(p).map_err(|source| PortfolioFileError::Io {
                    path: p.clone(),
                    source,
                })
            }
            PortfolioSource::Object { .. } => Ok(self.fingerprint()?.0),
        }
    }

    fn store_error(&self, e: StoreError) -> PortfolioFileError {
        PortfolioFileError::Format {
            path: PathBuf::from(self.location()),
            format: "portfolio",
            message: e.to_string(),
        }
    }
}

/// Loads and validates a portfolio from a file or a store.
pub fn load_portfolio_from(source: &PortfolioSource) -> Result<Portfolio, PortfolioFileError> {
    let (records, sink) = read_records_from(source, None)?;
    Portfolio::from_records(records, sink).map_err(|e| PortfolioFileError::Invalid {
        path: PathBuf::from(source.location()),
        source: e,
    })
}

/// Loads and validates rows `range` (0-based, end exclusive) of a portfolio: what a
/// shard needs. Parquet files are read with a row selection over only the row groups
/// holding those rows (from a store, only those byte ranges are fetched); CSV files are
/// read whole and sliced.
pub fn load_portfolio_range(
    source: &PortfolioSource,
    range: std::ops::Range<usize>,
) -> Result<Portfolio, PortfolioFileError> {
    let name = PathBuf::from(source.location());
    let path = name.as_path();
    let (records, sink) = read_records_from(source, Some(range.clone()))?;
    let out_of_range = || PortfolioFileError::Format {
        path: path.to_path_buf(),
        format: "portfolio",
        message: format!("has fewer rows than the shard's range {range:?}"),
    };
    let records = if records.len() == range.len() {
        records
    } else {
        records
            .get(range.clone())
            .ok_or_else(out_of_range)?
            .to_vec()
    };
    if records.len() != range.len() {
        return Err(out_of_range());
    }
    Portfolio::from_records(records, sink).map_err(|source| PortfolioFileError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads raw records plus the problems met while parsing cells.
pub fn read_records(path: &Path) -> Result<(Vec<LoanRecord>, ProblemSink), PortfolioFileError> {
    read_records_in(path, None)
}

/// Reads all rows, or for Parquet only `rows` (CSV always yields every row).
fn read_records_from(
    source: &PortfolioSource,
    rows: Option<std::ops::Range<usize>>,
) -> Result<(Vec<LoanRecord>, ProblemSink), PortfolioFileError> {
    let (store, key, pin) = match source {
        PortfolioSource::File(path) => return read_records_in(path, rows),
        PortfolioSource::Object { store, key, pin } => (store, key, pin.as_ref()),
    };
    let name = PathBuf::from(source.location());
    let size = store
        .size_pinned(key, pin)
        .map_err(|e| source.store_error(e))?
        .ok_or_else(|| PortfolioFileError::Io {
            path: name.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such object"),
        })?;
    let magic = if size >= 4 {
        store
            .get_range_pinned(key, pin, 0, 4)
            .map_err(|e| source.store_error(e))?
    } else {
        bytes::Bytes::new()
    };
    if magic.as_ref() == b"PAR1" {
        let input =
            crate::remote_parquet::RemoteParquet::fetch(store, key, pin, size, rows.clone())
                .map_err(|message| PortfolioFileError::Format {
                    path: name.clone(),
                    format: "Parquet",
                    message,
                })?;
        read_parquet(&name, input, rows)
    } else {
        let bytes = store
            .get_pinned(key, pin)
            .map_err(|e| source.store_error(e))?
            .ok_or_else(|| {
                source.store_error(StoreError::NotFound {
                    location: source.location(),
                })
            })?;
        read_csv(&name, bytes.as_ref())
    }
}

fn read_records_in(
    path: &Path,
    rows: Option<std::ops::Range<usize>>,
) -> Result<(Vec<LoanRecord>, ProblemSink), PortfolioFileError> {
    let io = |source| PortfolioFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut magic = [0u8; 4];
    let mut file = File::open(path).map_err(io)?;
    let n = file.read(&mut magic).map_err(io)?;
    drop(file);
    if n == 4 && &magic == b"PAR1" {
        let file = File::open(path).map_err(io)?;
        read_parquet(path, file, rows)
    } else {
        let file = File::open(path).map_err(io)?;
        read_csv(path, std::io::BufReader::new(file))
    }
}

fn read_csv(
    path: &Path,
    input: impl Read,
) -> Result<(Vec<LoanRecord>, ProblemSink), PortfolioFileError> {
    let format_error = |message: String| PortfolioFileError::Format {
        path: path.to_path_buf(),
        format: "CSV",
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format_error(e.to_string()))?
        .clone();
    // Two common mistakes say what they are instead of "no column loan_id".
    if headers.iter().all(str::is_empty) {
        return Err(format_error(
            "the file is empty: it needs a header row naming the columns".into(),
        ));
    }
    if headers.len() == 1 && headers[0].contains(';') {
        return Err(format_error(format!(
            "the header {:?} is separated by semicolons; mcflow reads comma-separated CSV",
            &headers[0]
        )));
    }
    // Each schema column's position in this file, if it has it.
    let mut positions = Vec::with_capacity(COLUMNS.len());
    for column in &COLUMNS {
        let at = headers.iter().position(|h| h == column.name);
        if at.is_none() && column.required {
            return Err(PortfolioFileError::MissingColumn {
                path: path.to_path_buf(),
                column: column.name,
            });
        }
        positions.push(at);
    }
    let mut sink = ProblemSink::default();
    let mut records = Vec::new();
    for (i, result) in reader.records().enumerate() {
        let row = i + 1;
        let rec = result.map_err(|e| format_error(format!("data row {row}: {e}")))?;
        let mut loan = blank_record();
        for (column, at) in COLUMNS.iter().zip(&positions) {
            let Some(at) = *at else { continue };
            let text = rec.get(at).unwrap_or("");
            (column.set)(&mut loan, csv_cell(column, text, row, &mut sink));
        }
        records.push(loan);
    }
    Ok((records, sink))
}

/// One CSV cell parsed as `column` says, its problems recorded rather than stopping at
/// the first.
fn csv_cell(column: &Column, text: &str, row: usize, sink: &mut ProblemSink) -> Cell {
    if text.is_empty() && column.required && column.kind != Kind::Text {
        sink.push(row, column.name, text, "is missing");
    }
    let number = |sink: &mut ProblemSink| -> Option<f64> {
        if text.is_empty() {
            return None;
        }
        let parsed = text.parse::<f64>().ok();
        if parsed.is_none() {
            sink.push(row, column.name, text, "is not a number");
        }
        parsed
    };
    match column.kind {
        Kind::Text => Cell::Text(Some(text.to_string())),
        Kind::Number => Cell::Number(number(sink)),
        Kind::Whole => {
            Cell::Whole(number(sink).and_then(|v| whole_of(v, column.name, text, row, sink)))
        }
    }
}

fn read_parquet<T: ChunkReader + 'static>(
    path: &Path,
    input: T,
    rows: Option<std::ops::Range<usize>>,
) -> Result<(Vec<LoanRecord>, ProblemSink), PortfolioFileError> {
    let format_error = |message: String| PortfolioFileError::Format {
        path: path.to_path_buf(),
        format: "Parquet",
        message,
    };
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(input).map_err(|e| format_error(e.to_string()))?;
    let schema = builder.schema().clone();
    for column in COLUMNS.iter().filter(|c| c.required) {
        if schema.field_with_name(column.name).is_err() {
            return Err(PortfolioFileError::MissingColumn {
                path: path.to_path_buf(),
                column: column.name,
            });
        }
    }
    let first_row = rows.as_ref().map_or(0, |r| r.start);
    let builder = match &rows {
        Some(r) => {
            // Only the row groups overlapping the range are read at all; the selection
            // is relative to the first of them.
            let (groups, first_group_row) =
                crate::parquet_file::row_groups_for(builder.metadata(), r);
            let total = builder.metadata().file_metadata().num_rows() as usize;
            let end = r.end.min(total).max(first_group_row);
            let start = r.start.clamp(first_group_row, end);
            builder
                .with_row_groups(groups)
                .with_row_selection(RowSelection::from(vec![
                    RowSelector::skip(start - first_group_row),
                    RowSelector::select(end - start),
                ]))
        }
        None => builder,
    };
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .map_err(|e| format_error(e.to_string()))?;
    let mut sink = ProblemSink::default();
    let mut records = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| format_error(e.to_string()))?;
        let columns = ParquetColumns::new(path, &batch)?;
        let base = first_row + records.len();
        for i in 0..batch.num_rows() {
            records.push(columns.record(i, base + i + 1, &mut sink));
        }
    }
    Ok((records, sink))
}

/// One record batch's schema columns (`None` where the file lacks an optional one), cast
/// to what the record needs: UTF8 for text, DOUBLE for numbers. Whole numbers are read as
/// floats so that a fractional value is reported rather than truncated.
struct ParquetColumns(Vec<Option<ArrayRef>>);

impl ParquetColumns {
    fn new(path: &Path, batch: &RecordBatch) -> Result<ParquetColumns, PortfolioFileError> {
        let mut arrays = Vec::with_capacity(COLUMNS.len());
        for column in &COLUMNS {
            // Required columns were checked against the file's schema before reading.
            let Some(array) = batch.column_by_name(column.name) else {
                arrays.push(None);
                continue;
            };
            let found = array.data_type();
            let (ok, want, expected) = match column.kind {
                Kind::Text => (
                    matches!(
                        found,
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                    ),
                    DataType::Utf8,
                    "a string",
                ),
                Kind::Number | Kind::Whole => (found.is_numeric(), DataType::Float64, "a number"),
            };
            let type_error = || PortfolioFileError::ColumnType {
                path: path.to_path_buf(),
                column: column.name,
                found: found.to_string(),
                expected,
            };
            if !ok {
                return Err(type_error());
            }
            arrays.push(Some(cast(array, &want).map_err(|_| type_error())?));
        }
        Ok(ParquetColumns(arrays))
    }

    fn record(&self, i: usize, row: usize, sink: &mut ProblemSink) -> LoanRecord {
        let mut loan = blank_record();
        for (column, array) in COLUMNS.iter().zip(&self.0) {
            let Some(a) = array else { continue };
            let present = !a.is_null(i);
            if !present && column.required && column.kind != Kind::Text {
                sink.push(row, column.name, "", "is missing");
            }
            let number = || present.then(|| a.as_primitive::<Float64Type>().value(i));
            let cell = match column.kind {
                Kind::Text => Cell::Text(Some(if present {
                    a.as_string::<i32>().value(i).to_string()
                } else {
                    String::new()
                })),
                Kind::Number => Cell::Number(number()),
                // A NaN in a float column is no whole number and no problem either: an
                // optional column is empty there, a required one fails validation.
                Kind::Whole => Cell::Whole(
                    number()
                        .filter(|v| !v.is_nan())
                        .and_then(|v| whole_of(v, column.name, &v.to_string(), row, sink)),
                ),
            };
            (column.set)(&mut loan, cell);
        }
        loan
    }
}

/// Writes records as a portfolio file: CSV when the name ends in `.csv` (any case),
/// Parquet otherwise.
pub fn write_portfolio(path: &Path, loans: &[LoanRecord]) -> Result<(), PortfolioFileError> {
    let extension = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("csv") => write_portfolio_csv(path, loans),
        Some("parquet") => write_portfolio_parquet(path, loans),
        // Writing Parquet into `loans.xlsx` would only fail later, in whatever opens it.
        _ => Err(PortfolioFileError::Write {
            path: path.to_path_buf(),
            message: "the name must end in .csv or .parquet (the two formats mcflow writes)".into(),
        }),
    }
}

/// Writes records as a Parquet portfolio (used by `mcflow sample` and the Fannie
/// import). Whole numbers are INT32 and money DOUBLE, types every SQL engine reads;
/// optional columns are nullable.
pub fn write_portfolio_parquet(
    path: &Path,
    loans: &[LoanRecord],
) -> Result<(), PortfolioFileError> {
    use arrow::array::{Float64Array, Int32Array, StringArray};
    use arrow::datatypes::Field;
    let write_error = |message: String| PortfolioFileError::Write {
        path: path.to_path_buf(),
        message,
    };
    let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let mut fields = Vec::with_capacity(COLUMNS.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(COLUMNS.len());
    for column in &COLUMNS {
        let cells = loans.iter().map(|l| (column.get)(l));
        let (data_type, array): (DataType, ArrayRef) = match column.kind {
            Kind::Text => (
                DataType::Utf8,
                Arc::new(StringArray::from_iter(cells.map(Cell::text))),
            ),
            Kind::Number => (
                DataType::Float64,
                Arc::new(Float64Array::from_iter(cells.map(Cell::number))),
            ),
            Kind::Whole => (
                DataType::Int32,
                Arc::new(Int32Array::from_iter(cells.map(|c| c.whole().map(to_i32)))),
            ),
        };
        fields.push(Field::new(column.name, data_type, !column.required));
        columns.push(array);
    }
    crate::parquet_file::write_columns(path, Arc::new(Schema::new(fields)), columns)
        .map_err(write_error)
}

/// Writes records as a CSV portfolio with a header row.
pub fn write_portfolio_csv(path: &Path, loans: &[LoanRecord]) -> Result<(), PortfolioFileError> {
    let write_error = |message: String| PortfolioFileError::Write {
        path: path.to_path_buf(),
        message,
    };
    crate::atomic::write_atomically(path, |file| {
        let mut w = csv::Writer::from_writer(file);
        w.write_record(COLUMNS.iter().map(|c| c.name))?;
        for l in loans {
            w.write_record(COLUMNS.iter().map(|c| match (c.get)(l) {
                Cell::Text(t) => t.unwrap_or_default(),
                Cell::Number(v) => v.map(|x| x.to_string()).unwrap_or_default(),
                Cell::Whole(v) => v.map(|x| x.to_string()).unwrap_or_default(),
            }))?;
        }
        w.flush()?;
        Ok(())
    })
    .map_err(|e| write_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_semicolon_files_say_what_they_are() {
        let dir = tempfile::tempdir().expect("tmp");
        let empty = dir.path().join("empty.csv");
        std::fs::write(&empty, "").expect("write");
        let e = read_csv(&empty, std::fs::File::open(&empty).expect("open"))
            .expect_err("empty")
            .to_string();
        assert!(
            e.contains("empty.csv") && e.contains("the file is empty"),
            "{e}"
        );
        let semi = dir.path().join("semi.csv");
        std::fs::write(&semi, "loan_id;current_upb\nA;100\n").expect("write");
        let e = read_csv(&semi, std::fs::File::open(&semi).expect("open"))
            .expect_err("semicolons")
            .to_string();
        assert!(
            e.contains("semi.csv") && e.contains("separated by semicolons"),
            "{e}"
        );
    }
    use std::io::Write;

    fn csv_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new()
            .suffix(".csv")
            .tempfile()
            .expect("tmp");
        f.write_all(text.as_bytes()).expect("write");
        f
    }

    const HEADER: &str =
        "loan_id,current_upb,note_rate_pct,orig_term_months,loan_age_months,fico,state,extra\n";

    #[test]
    fn reads_csv_and_ignores_unknown_columns() {
        let f = csv_file(&format!(
            "{HEADER}a,100000,6.5,360,12,720,TX,whatever\nb,5e4,3,180.0,0,,,\n"
        ));
        let p = load_portfolio(f.path()).expect("valid");
        assert_eq!(p.len(), 2);
        assert_eq!(p.orig_term_months(), &[360, 180]);
        assert_eq!(p.fico(), &[Some(720), None]);
        assert_eq!(p.servicing_fee_pct(), &[0.0, 0.0]);
    }

    #[test]
    fn csv_problems_name_file_row_column_and_value() {
        let f = csv_file(&format!(
            "{HEADER}a,abc,6.5,360,12,720,TX,\nb,100,6.5,360.5,0,,,\nc,,6.5,360,400,,ZZ,\n"
        ));
        let err = load_portfolio(f.path()).expect_err("invalid").to_string();
        let name = f.path().display().to_string();
        assert!(err.contains(&name), "{err}");
        for needle in [
            "row 1, column current_upb: \"abc\" is not a number",
            "row 2, column orig_term_months: \"360.5\" is not a whole number",
            "row 3, column current_upb: \"\" is missing",
            "row 3, column loan_age_months: \"400\"",
            "row 3, column state: \"ZZ\"",
        ] {
            assert!(err.contains(needle), "missing {needle:?} in\n{err}");
        }
    }

    #[test]
    fn missing_required_column_is_named() {
        let f = csv_file("loan_id,current_upb\na,1\n");
        let err = load_portfolio(f.path()).expect_err("invalid").to_string();
        assert!(err.contains("no column \"note_rate_pct\""), "{err}");
    }

    #[test]
    fn parquet_round_trip() {
        let loans = engine::sample::synthetic_loans(300, 3);
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("p.parquet");
        write_portfolio_parquet(&path, &loans).expect("write");
        let (back, sink) = read_records(&path).expect("read");
        assert!(sink.is_empty());
        assert_eq!(back, loans);
    }

    #[test]
    fn parquet_with_a_string_rate_is_rejected_by_column() {
        use arrow::array::StringArray;
        use arrow::datatypes::Field;
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("p.parquet");
        let schema = Arc::new(Schema::new(
            required_columns()
                .iter()
                .map(|c| Field::new(*c, DataType::Utf8, false))
                .collect::<Vec<_>>(),
        ));
        let cols: Vec<ArrayRef> = (0..5)
            .map(|_| Arc::new(StringArray::from(vec!["1"])) as ArrayRef)
            .collect();
        crate::parquet_file::write_columns(&path, schema, cols).expect("write");
        let err = load_portfolio(&path).expect_err("typed").to_string();
        assert!(
            err.contains("column \"current_upb\" has type Utf8, expected a number"),
            "{err}"
        );
    }
}
