//! `mcflow import fannie`: Fannie Mae loan-level files turned into a portfolio file.

use anyhow::Result;

use crate::cli::FannieArgs;

pub(crate) fn import_fannie(args: &FannieArgs) -> Result<()> {
    use worker::fannie::{ImportError, ImportOptions, ImportSummary, import};
    let options = ImportOptions {
        include_arm: args.include_arm,
        servicing_fee_pct: args.servicing_fee_pct,
    };
    let print_summary = |s: &ImportSummary| {
        println!(
            "read {} rows, {} loans; kept {}; skipped: {} terminated (zero-balance code), {} not fixed-rate, {} invalid; {} malformed rows",
            s.rows_read,
            s.loans_seen,
            s.loans_kept,
            s.skipped_terminated,
            s.skipped_not_fixed_rate,
            s.skipped_invalid,
            s.malformed_rows
        );
        for m in &s.malformed {
            println!(
                "  malformed: {}, line {}: {}",
                m.file.display(),
                m.line,
                m.message
            );
        }
        for i in &s.invalid {
            println!("  invalid: {i}");
        }
    };
    let (records, summary) = match import(&args.files, options) {
        Ok(ok) => ok,
        Err(ImportError::Empty(summary)) => {
            print_summary(&summary);
            anyhow::bail!("no active loans to import from {:?}", args.files);
        }
        Err(e) => return Err(e.into()),
    };
    worker::portfolio_file::write_portfolio(&args.out, &records)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "out": args.out.display().to_string(),
                "loans_written": records.len(),
                "summary": summary,
            })
        );
        return Ok(());
    }
    print_summary(&summary);
    println!(
        "wrote {} to {}",
        mcflow::render::count(records.len() as u64, "loan"),
        args.out.display()
    );
    Ok(())
}
