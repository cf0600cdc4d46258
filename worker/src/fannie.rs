//! Import of Fannie Mae Single-Family Loan Performance files (pipe-delimited, no header,
//! 110 columns, one row per loan per reporting month) into a portfolio: the latest
//! reporting period of each loan, active loans only, fixed-rate only by default.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use engine::{LoanRecord, Portfolio, ProblemSink};

/// Columns of the current combined layout (1-based positions in the file).
mod col {
    pub(super) const LOAN_ID: usize = 2;
    pub(super) const ACT_PERIOD: usize = 3;
    pub(super) const ORIG_RATE: usize = 8;
    pub(super) const CURR_RATE: usize = 9;
    pub(super) const ORIG_UPB: usize = 10;
    pub(super) const CURRENT_UPB: usize = 12;
    pub(super) const ORIG_TERM: usize = 13;
    pub(super) const ORIG_DATE: usize = 14;
    pub(super) const LOAN_AGE: usize = 16;
    pub(super) const REM_MONTHS: usize = 17;
    pub(super) const OLTV: usize = 20;
    pub(super) const CSCORE_B: usize = 24;
    pub(super) const STATE: usize = 31;
    pub(super) const MI_PCT: usize = 34;
    pub(super) const PRODUCT: usize = 35;
    pub(super) const ZERO_BAL_CODE: usize = 44;
}

/// Columns per row in the current layout.
pub const COLUMNS: usize = 110;

/// Import choices.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ImportOptions {
    /// Keep adjustable-rate loans (their current rate is then used as a fixed rate).
    pub include_arm: bool,
    /// Servicing fee to assign, percent a year (the files carry none).
    pub servicing_fee_pct: Option<f64>,
}

/// A line that could not be used, with where it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Malformed {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// What the import kept and skipped, and why (`mcflow import fannie --json` prints it).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct ImportSummary {
    pub rows_read: u64,
    pub loans_seen: u64,
    pub loans_kept: u64,
    /// Latest record has a zero-balance code (prepaid, matured, or a credit event).
    pub skipped_terminated: u64,
    /// Not fixed-rate (PRODUCT other than FRM) and `include_arm` off.
    pub skipped_not_fixed_rate: u64,
    /// Latest record lacks a value the portfolio needs, or breaks a portfolio rule.
    pub skipped_invalid: u64,
    /// Rows with the wrong column count or unreadable fields (first ones kept).
    pub malformed_rows: u64,
    pub malformed: Vec<Malformed>,
    /// Portfolio problems of skipped loans, as `loan_id: problem` (first ones kept).
    pub invalid: Vec<String>,
}

const KEEP_EXAMPLES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no active loans left to import ({0:?})")]
    Empty(Box<ImportSummary>),
}

/// The latest record of one loan.
#[derive(Debug, Clone)]
struct Latest {
    period_yyyymm: u32,
    fields: Vec<String>,
    file: usize,
    line: usize,
}

fn period(text: &str) -> Option<u32> {
    // MMYYYY -> YYYYMM so that periods compare as numbers.
    if text.len() != 6 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month: u32 = text[..2].parse().ok()?;
    let year: u32 = text[2..].parse().ok()?;
    (1..=12).contains(&month).then_some(year * 100 + month)
}

/// How a performance file is compressed, by its first bytes.
enum Compression {
    None,
    Gzip,
    Zip,
}

fn sniff_compression(path: &Path) -> std::io::Result<Compression> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let n = std::io::Read::read(&mut file, &mut magic)?;
    Ok(match &magic[..n] {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [b'P', b'K', 3, 4] => Compression::Zip,
        _ => Compression::None,
    })
}

/// Reads one file's (or archive entry's) rows, keeping each loan's latest record.
fn read_rows(
    reader: &mut dyn BufRead,
    path: &Path,
    file_index: usize,
    summary: &mut ImportSummary,
    latest: &mut HashMap<String, Latest>,
) -> Result<(), ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    for (i, line) in reader.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        summary.rows_read += 1;
        let fields: Vec<String> = line.split('|').map(|f| f.trim().to_string()).collect();
        let mut malformed = |message: String| {
            summary.malformed_rows += 1;
            if summary.malformed.len() < KEEP_EXAMPLES {
                summary.malformed.push(Malformed {
                    file: path.to_path_buf(),
                    line: line_no,
                    message,
                });
            }
        };
        if fields.len() != COLUMNS {
            malformed(format!("{} columns, expected {COLUMNS}", fields.len()));
            continue;
        }
        let id = &fields[col::LOAN_ID - 1];
        if id.is_empty() {
            malformed("LOAN_ID (column 2) is blank".into());
            continue;
        }
        let Some(p) = period(&fields[col::ACT_PERIOD - 1]) else {
            malformed(format!(
                "ACT_PERIOD (column 3) {:?} is not MMYYYY",
                fields[col::ACT_PERIOD - 1]
            ));
            continue;
        };
        let newer = latest.get(id).is_none_or(|l| p >= l.period_yyyymm);
        if newer {
            latest.insert(
                id.clone(),
                Latest {
                    period_yyyymm: p,
                    fields,
                    file: file_index,
                    line: line_no,
                },
            );
        }
    }
    Ok(())
}

/// Reads the files and builds the portfolio records.
pub fn import(
    files: &[PathBuf],
    options: ImportOptions,
) -> Result<(Vec<LoanRecord>, ImportSummary), ImportError> {
    let mut summary = ImportSummary::default();
    let mut latest: HashMap<String, Latest> = HashMap::new();
    // Where rows come from: each file, or each entry of an archive as
    // `archive.zip/entry.csv`, so that a message names the entry its line is in.
    let mut sources: Vec<PathBuf> = Vec::new();
    for path in files {
        let io = |source| ImportError::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut rows = |reader: &mut dyn BufRead, source: PathBuf| {
            sources.push(source);
            let index = sources.len() - 1;
            read_rows(reader, &sources[index], index, &mut summary, &mut latest)
        };
        // Fannie Mae distributes zip archives; gzip is common in pipelines. Both are
        // recognised by their magic bytes, whatever the name says.
        match sniff_compression(path).map_err(io)? {
            Compression::None => rows(&mut BufReader::new(file), path.clone())?,
            Compression::Gzip => rows(
                &mut BufReader::new(flate2::read::MultiGzDecoder::new(file)),
                path.clone(),
            )?,
            Compression::Zip => {
                let bad_zip = |e: zip::result::ZipError| {
                    io(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("not a readable zip archive: {e}"),
                    ))
                };
                let mut archive = zip::ZipArchive::new(file).map_err(bad_zip)?;
                for entry in 0..archive.len() {
                    let entry = archive.by_index(entry).map_err(bad_zip)?;
                    if entry.is_file() {
                        // Named as written, even an absolute or `..` entry name.
                        let source = PathBuf::from(format!("{}/{}", path.display(), entry.name()));
                        rows(&mut BufReader::new(entry), source)?;
                    }
                }
            }
        }
    }
    summary.loans_seen = latest.len() as u64;
    let mut ids: Vec<&String> = latest.keys().collect();
    ids.sort();
    let mut records = Vec::new();
    for id in ids {
        let l = &latest[id];
        let f = |c: usize| l.fields[c - 1].as_str();
        if !f(col::ZERO_BAL_CODE).is_empty() {
            summary.skipped_terminated += 1;
            continue;
        }
        if !options.include_arm && f(col::PRODUCT) != "FRM" {
            summary.skipped_not_fixed_rate += 1;
            continue;
        }
        let num = |c: usize| -> Option<f64> { f(c).parse::<f64>().ok() };
        // Current-period fields are blank in a loan's first months; origination values
        // stand in for them.
        let current_upb = num(col::CURRENT_UPB)
            .filter(|v| *v > 0.0)
            .or(num(col::ORIG_UPB));
        let rate = num(col::CURR_RATE).or(num(col::ORIG_RATE));
        let term = num(col::ORIG_TERM);
        let age = num(col::LOAN_AGE).or_else(|| Some(term? - num(col::REM_MONTHS)?));
        let (Some(current_upb), Some(rate), Some(term), Some(age)) = (current_upb, rate, term, age)
        else {
            summary.skipped_invalid += 1;
            if summary.invalid.len() < KEEP_EXAMPLES {
                summary.invalid.push(format!(
                    "{id} ({}, line {}): balance, rate, term or age is blank",
                    sources[l.file].display(),
                    l.line
                ));
            }
            continue;
        };
        let record = LoanRecord {
            loan_id: id.clone(),
            current_upb,
            note_rate_pct: rate,
            servicing_fee_pct: options.servicing_fee_pct,
            orig_term_months: term as i64,
            loan_age_months: age as i64,
            orig_ltv_pct: num(col::OLTV),
            fico: num(col::CSCORE_B).map(|v| v as i64),
            state: Some(f(col::STATE).to_string()).filter(|s| !s.is_empty()),
            orig_upb: num(col::ORIG_UPB),
            mi_pct: num(col::MI_PCT),
            orig_date: orig_month(f(col::ORIG_DATE)),
            current_ltv_pct: None,
            price_pct: None,
        };
        // Keep only loans the portfolio accepts, naming what is wrong with the others.
        let check = Portfolio::from_records(vec![record.clone()], ProblemSink::default());
        match check {
            Ok(_) => records.push(record),
            Err(e) => {
                summary.skipped_invalid += 1;
                let what = match &e {
                    engine::PortfolioError::Invalid { problems, .. } => problems
                        .iter()
                        .map(|p| format!("{} {:?} {}", p.column, p.value, p.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                if summary.invalid.len() < KEEP_EXAMPLES {
                    summary.invalid.push(format!(
                        "{id} ({}, line {}): {what}",
                        sources[l.file].display(),
                        l.line
                    ));
                }
            }
        }
    }
    summary.loans_kept = records.len() as u64;
    if records.is_empty() {
        return Err(ImportError::Empty(Box::new(summary)));
    }
    Ok((records, summary))
}

/// The file's `MMYYYY` origination date as the portfolio's `YYYY-MM`; anything else is
/// kept as written so that validation names it.
fn orig_month(mmyyyy: &str) -> Option<String> {
    match mmyyyy.len() {
        0 => None,
        6 if mmyyyy.bytes().all(|b| b.is_ascii_digit()) => {
            Some(format!("{}-{}", &mmyyyy[2..], &mmyyyy[..2]))
        }
        _ => Some(mmyyyy.to_string()),
    }
}

/// The bundled synthetic sample in this layout, for tests and examples.
pub fn sample_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fannie_sample.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_and_gzip_files_import_as_the_plain_file_does() {
        use std::io::Write;
        let plain = std::fs::read(sample_path()).expect("sample");
        let dir = tempfile::tempdir().expect("tmp");
        // Names that say nothing: the format is recognised by its magic bytes.
        let gz = dir.path().join("2023Q1.data");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&plain).expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
        let zipped = dir.path().join("2023Q1.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zipped).expect("create"));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.add_directory("2023Q1/", options).expect("dir");
        z.start_file("2023Q1/2023Q1.csv", options).expect("entry");
        z.write_all(&plain).expect("zip");
        z.finish().expect("zip");
        let expected = import(&[sample_path()], ImportOptions::default()).expect("plain");
        for path in [gz, zipped] {
            let got = import(std::slice::from_ref(&path), ImportOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(got.0, expected.0, "{}", path.display());
            assert_eq!(got.1.rows_read, expected.1.rows_read);
            assert_eq!(
                got.1.malformed[0].line, 12,
                "line numbers count within the entry"
            );
            // A line in an archive is named by its entry.
            if path.extension().is_some_and(|e| e == "zip") {
                assert_eq!(
                    got.1.malformed[0].file,
                    path.join("2023Q1/2023Q1.csv"),
                    "{:?}",
                    got.1.malformed[0]
                );
            }
        }
        // A corrupt archive is named, not read as text.
        let broken = dir.path().join("broken.zip");
        std::fs::write(&broken, b"PK\x03\x04 and then nothing").expect("write");
        let e = import(&[broken], ImportOptions::default()).expect_err("corrupt");
        assert!(e.to_string().contains("broken.zip"), "{e}");
        assert!(e.to_string().contains("zip"), "{e}");
    }

    #[test]
    fn imports_the_bundled_sample() {
        let (records, summary) =
            import(&[sample_path()], ImportOptions::default()).expect("import");
        assert_eq!(summary.loans_seen, 6);
        assert_eq!(summary.skipped_terminated, 1);
        assert_eq!(summary.skipped_not_fixed_rate, 1);
        assert_eq!(summary.malformed_rows, 1);
        assert_eq!(summary.malformed[0].line, 12);
        assert_eq!(summary.skipped_invalid, 1);
        assert_eq!(summary.loans_kept, 3);
        let ids: Vec<&str> = records.iter().map(|r| r.loan_id.as_str()).collect();
        assert_eq!(ids, ["100000000001", "100000000002", "100000000006"]);
        let first = &records[0];
        // Latest period (03/2024) wins; current values are used.
        assert_eq!(
            (
                first.current_upb,
                first.note_rate_pct,
                first.loan_age_months
            ),
            (248_500.0, 6.25, 14)
        );
        assert_eq!(
            (first.fico, first.state.as_deref(), first.orig_ltv_pct),
            (Some(742), Some("CA"), Some(80.0))
        );
        // ORIG_DATE (MMYYYY) and MI_PCT map to the portfolio's orig_date and mi_pct.
        assert_eq!(
            (first.orig_date.as_deref(), first.mi_pct),
            (Some("2022-12"), None)
        );
        assert_eq!(records[1].mi_pct, Some(30.0));
        // Loan 2's current UPB and rate are blank: origination values stand in.
        assert_eq!(
            (records[1].current_upb, records[1].note_rate_pct),
            (180_000.0, 6.875)
        );
        let with_arm = import(
            &[sample_path()],
            ImportOptions {
                include_arm: true,
                ..Default::default()
            },
        )
        .expect("import");
        assert_eq!(with_arm.1.loans_kept, 4);
    }
}
