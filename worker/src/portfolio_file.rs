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
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

use crate::aws::Aws;
use crate::store::{Store, StoreError, parse_s3_uri};

/// Columns every portfolio must have.
pub const REQUIRED_COLUMNS: [&str; 5] = [
    "loan_id",
    "current_upb",
    "note_rate_pct",
    "orig_term_months",
    "loan_age_months",
];

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
    #[error("portfolio {path} has no column {column:?} (required: {})", REQUIRED_COLUMNS.join(", "))]
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

/// Where a portfolio is read from: a local file, or an object in a store (S3).
#[derive(Debug, Clone)]
pub enum PortfolioSource {
    File(PathBuf),
    Object { store: Store, key: String },
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
                })
            }
            None => Ok(PortfolioSource::File(PathBuf::from(location))),
        }
    }

    /// The location as a user would type it.
    pub fn location(&self) -> String {
        match self {
            PortfolioSource::File(p) => p.display().to_string(),
            PortfolioSource::Object { store, key } => store.describe(key),
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
            PortfolioSource::Object { store, key } => {
                let bytes = store.get_required(key).map_err(|e| self.store_error(e))?;
                Ok(crate::report::sha256_bytes(&bytes))
            }
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
    let (store, key) = match source {
        PortfolioSource::File(path) => return read_records_in(path, rows),
        PortfolioSource::Object { store, key } => (store, key),
    };
    let name = PathBuf::from(source.location());
    let size = store
        .size(key)
        .map_err(|e| source.store_error(e))?
        .ok_or_else(|| PortfolioFileError::Io {
            path: name.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such object"),
        })?;
    let magic = if size >= 4 {
        store
            .get_range(key, 0, 4)
            .map_err(|e| source.store_error(e))?
    } else {
        bytes::Bytes::new()
    };
    if magic.as_ref() == b"PAR1" {
        let input = crate::remote_parquet::RemoteParquet::fetch(store, key, size, rows.clone())
            .map_err(|message| PortfolioFileError::Format {
                path: name.clone(),
                format: "Parquet",
                message,
            })?;
        read_parquet(&name, input, rows)
    } else {
        let bytes = store.get_required(key).map_err(|e| source.store_error(e))?;
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
    let find = |name: &'static str| headers.iter().position(|h| h == name);
    let required = |name: &'static str| {
        find(name).ok_or_else(|| PortfolioFileError::MissingColumn {
            path: path.to_path_buf(),
            column: name,
        })
    };
    let c_id = required("loan_id")?;
    let c_upb = required("current_upb")?;
    let c_rate = required("note_rate_pct")?;
    let c_term = required("orig_term_months")?;
    let c_age = required("loan_age_months")?;
    let c_serv = find("servicing_fee_pct");
    let c_ltv = find("orig_ltv_pct");
    let c_fico = find("fico");
    let c_state = find("state");
    let c_orig = find("orig_upb");

    let mut sink = ProblemSink::default();
    let mut records = Vec::new();
    for (i, result) in reader.records().enumerate() {
        let row = i + 1;
        let rec = result.map_err(|e| format_error(format!("data row {row}: {e}")))?;
        let cell = |c: usize| rec.get(c).unwrap_or("");
        let mut cells = CellParser {
            row,
            sink: &mut sink,
        };
        let loan = LoanRecord {
            loan_id: cell(c_id).to_string(),
            current_upb: cells.required_f64("current_upb", cell(c_upb)),
            note_rate_pct: cells.required_f64("note_rate_pct", cell(c_rate)),
            servicing_fee_pct: c_serv
                .and_then(|c| cells.optional_f64("servicing_fee_pct", cell(c))),
            orig_term_months: cells.required_int("orig_term_months", cell(c_term)),
            loan_age_months: cells.required_int("loan_age_months", cell(c_age)),
            orig_ltv_pct: c_ltv.and_then(|c| cells.optional_f64("orig_ltv_pct", cell(c))),
            fico: c_fico.and_then(|c| cells.optional_int("fico", cell(c))),
            state: c_state
                .map(|c| cell(c).to_string())
                .filter(|s| !s.is_empty()),
            orig_upb: c_orig.and_then(|c| cells.optional_f64("orig_upb", cell(c))),
        };
        records.push(loan);
    }
    Ok((records, sink))
}

/// Parses cells, recording problems instead of stopping at the first.
struct CellParser<'a> {
    row: usize,
    sink: &'a mut ProblemSink,
}

impl CellParser<'_> {
    fn optional_f64(&mut self, column: &'static str, text: &str) -> Option<f64> {
        if text.is_empty() {
            return None;
        }
        match text.parse::<f64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.sink.push(self.row, column, text, "is not a number");
                None
            }
        }
    }

    fn required_f64(&mut self, column: &'static str, text: &str) -> f64 {
        if text.is_empty() {
            self.sink.push(self.row, column, text, "is missing");
            return f64::NAN;
        }
        // NaN never passes validation, and the parse problem is already recorded.
        self.optional_f64(column, text).unwrap_or(f64::NAN)
    }

    fn optional_int(&mut self, column: &'static str, text: &str) -> Option<i64> {
        let v = self.optional_f64(column, text)?;
        // Spreadsheets and pandas often write whole numbers as "360.0"; accept those.
        if v.fract() == 0.0 && v.abs() < 1e15 {
            Some(v as i64)
        } else {
            self.sink
                .push(self.row, column, text, "is not a whole number");
            None
        }
    }

    fn required_int(&mut self, column: &'static str, text: &str) -> i64 {
        if text.is_empty() {
            self.sink.push(self.row, column, text, "is missing");
            return i64::MIN;
        }
        // The sentinel fails validation, which reports nothing more for a cell that
        // already has a problem.
        self.optional_int(column, text).unwrap_or(i64::MIN)
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
    for column in REQUIRED_COLUMNS {
        if schema.field_with_name(column).is_err() {
            return Err(PortfolioFileError::MissingColumn {
                path: path.to_path_buf(),
                column,
            });
        }
    }
    let first_row = rows.as_ref().map_or(0, |r| r.start);
    let builder = match &rows {
        Some(r) => {
            // Only the row groups overlapping the range are read at all; the selection
            // is relative to the first of them.
            let (groups, first_group_row) = row_groups_for(builder.metadata(), r);
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

/// One record batch's columns, cast to the types the record needs.
struct ParquetColumns {
    loan_id: ArrayRef,
    current_upb: ArrayRef,
    note_rate_pct: ArrayRef,
    servicing_fee_pct: Option<ArrayRef>,
    orig_term_months: ArrayRef,
    loan_age_months: ArrayRef,
    orig_ltv_pct: Option<ArrayRef>,
    fico: Option<ArrayRef>,
    state: Option<ArrayRef>,
    orig_upb: Option<ArrayRef>,
}

fn is_number(t: &DataType) -> bool {
    t.is_numeric()
}

impl ParquetColumns {
    fn new(path: &Path, batch: &RecordBatch) -> Result<ParquetColumns, PortfolioFileError> {
        let get =
            |name: &'static str, want: &DataType| -> Result<Option<ArrayRef>, PortfolioFileError> {
                let Some(col) = batch.column_by_name(name) else {
                    return Ok(None);
                };
                let found = col.data_type();
                let ok = match want {
                    DataType::Utf8 => matches!(
                        found,
                        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                    ),
                    _ => is_number(found),
                };
                let type_error = || PortfolioFileError::ColumnType {
                    path: path.to_path_buf(),
                    column: name,
                    found: found.to_string(),
                    expected: if *want == DataType::Utf8 {
                        "a string"
                    } else {
                        "a number"
                    },
                };
                if !ok {
                    return Err(type_error());
                }
                cast(col, want).map(Some).map_err(|_| type_error())
            };
        let req = |name: &'static str, want: &DataType| {
            get(name, want)?.ok_or_else(|| PortfolioFileError::MissingColumn {
                path: path.to_path_buf(),
                column: name,
            })
        };
        // Integer columns are read as floats so that a fractional value is reported
        // rather than truncated.
        Ok(ParquetColumns {
            loan_id: req("loan_id", &DataType::Utf8)?,
            current_upb: req("current_upb", &DataType::Float64)?,
            note_rate_pct: req("note_rate_pct", &DataType::Float64)?,
            servicing_fee_pct: get("servicing_fee_pct", &DataType::Float64)?,
            orig_term_months: req("orig_term_months", &DataType::Float64)?,
            loan_age_months: req("loan_age_months", &DataType::Float64)?,
            orig_ltv_pct: get("orig_ltv_pct", &DataType::Float64)?,
            fico: get("fico", &DataType::Float64)?,
            state: get("state", &DataType::Utf8)?,
            orig_upb: get("orig_upb", &DataType::Float64)?,
        })
    }

    fn record(&self, i: usize, row: usize, sink: &mut ProblemSink) -> LoanRecord {
        let f = |a: &ArrayRef| -> Option<f64> {
            (!a.is_null(i)).then(|| a.as_primitive::<Float64Type>().value(i))
        };
        let s = |a: &ArrayRef| -> Option<String> {
            (!a.is_null(i)).then(|| a.as_string::<i32>().value(i).to_string())
        };
        let mut required_f = |name: &'static str, a: &ArrayRef| {
            f(a).unwrap_or_else(|| {
                sink.push(row, name, "", "is missing");
                f64::NAN
            })
        };
        let current_upb = required_f("current_upb", &self.current_upb);
        let note_rate_pct = required_f("note_rate_pct", &self.note_rate_pct);
        let term = required_f("orig_term_months", &self.orig_term_months);
        let age = required_f("loan_age_months", &self.loan_age_months);
        let mut whole = |name: &'static str, v: f64| -> i64 {
            if v.is_nan() {
                i64::MIN
            } else if v.fract() == 0.0 && v.abs() < 1e15 {
                v as i64
            } else {
                sink.push(row, name, v, "is not a whole number");
                i64::MIN
            }
        };
        let orig_term_months = whole("orig_term_months", term);
        let loan_age_months = whole("loan_age_months", age);
        let fico = self
            .fico
            .as_ref()
            .and_then(f)
            .map(|v| whole("fico", v))
            .filter(|&v| v != i64::MIN);
        let loan_id = s(&self.loan_id).unwrap_or_default();
        LoanRecord {
            loan_id,
            current_upb,
            note_rate_pct,
            servicing_fee_pct: self.servicing_fee_pct.as_ref().and_then(f),
            orig_term_months,
            loan_age_months,
            orig_ltv_pct: self.orig_ltv_pct.as_ref().and_then(f),
            fico,
            state: self.state.as_ref().and_then(s).filter(|s| !s.is_empty()),
            orig_upb: self.orig_upb.as_ref().and_then(f),
        }
    }
}

/// Writes records as a Parquet portfolio (used by `mcflow sample`). Integer columns are
/// INT32 and money DOUBLE, types every SQL engine reads.
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
    let schema = Arc::new(Schema::new(vec![
        Field::new("loan_id", DataType::Utf8, false),
        Field::new("current_upb", DataType::Float64, false),
        Field::new("note_rate_pct", DataType::Float64, false),
        Field::new("servicing_fee_pct", DataType::Float64, true),
        Field::new("orig_term_months", DataType::Int32, false),
        Field::new("loan_age_months", DataType::Int32, false),
        Field::new("orig_ltv_pct", DataType::Float64, true),
        Field::new("fico", DataType::Int32, true),
        Field::new("state", DataType::Utf8, true),
        Field::new("orig_upb", DataType::Float64, true),
    ]));
    let to_i32 = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            loans.iter().map(|l| l.loan_id.as_str()),
        )),
        Arc::new(Float64Array::from_iter_values(
            loans.iter().map(|l| l.current_upb),
        )),
        Arc::new(Float64Array::from_iter_values(
            loans.iter().map(|l| l.note_rate_pct),
        )),
        Arc::new(Float64Array::from_iter(
            loans.iter().map(|l| l.servicing_fee_pct),
        )),
        Arc::new(Int32Array::from_iter_values(
            loans.iter().map(|l| to_i32(l.orig_term_months)),
        )),
        Arc::new(Int32Array::from_iter_values(
            loans.iter().map(|l| to_i32(l.loan_age_months)),
        )),
        Arc::new(Float64Array::from_iter(
            loans.iter().map(|l| l.orig_ltv_pct),
        )),
        Arc::new(Int32Array::from_iter(
            loans.iter().map(|l| l.fico.map(to_i32)),
        )),
        Arc::new(StringArray::from_iter(
            loans.iter().map(|l| l.state.as_deref()),
        )),
        Arc::new(Float64Array::from_iter(loans.iter().map(|l| l.orig_upb))),
    ];
    crate::parquet_file::write_columns(path, schema, columns).map_err(write_error)
}

/// Writes records as a CSV portfolio with a header row (used by `mcflow sample`).
pub fn write_portfolio_csv(path: &Path, loans: &[LoanRecord]) -> Result<(), PortfolioFileError> {
    let write_error = |message: String| PortfolioFileError::Write {
        path: path.to_path_buf(),
        message,
    };
    crate::atomic::write_atomically(path, |file| {
        let mut w = csv::Writer::from_writer(file);
        w.write_record([
            "loan_id",
            "current_upb",
            "note_rate_pct",
            "servicing_fee_pct",
            "orig_term_months",
            "loan_age_months",
            "orig_ltv_pct",
            "fico",
            "state",
            "orig_upb",
        ])?;
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for l in loans {
            w.write_record([
                l.loan_id.clone(),
                l.current_upb.to_string(),
                l.note_rate_pct.to_string(),
                opt(l.servicing_fee_pct),
                l.orig_term_months.to_string(),
                l.loan_age_months.to_string(),
                opt(l.orig_ltv_pct),
                l.fico.map(|f| f.to_string()).unwrap_or_default(),
                l.state.clone().unwrap_or_default(),
                opt(l.orig_upb),
            ])?;
        }
        w.flush()?;
        Ok(())
    })
    .map_err(|e| write_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
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
            REQUIRED_COLUMNS
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
