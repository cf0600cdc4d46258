//! The worker's integration tests: a job's files on disk.

use std::path::Path;

use chrono::NaiveDate;
use engine::{CashflowTable, Money};
use worker::cashflow_parquet::{MONEY_COLUMNS, read_cashflows};
use worker::config::RunConfig;
use worker::job::{JobRequest, run_job};
use worker::report::RunReport;

const CONFIG: &str = r#"
run_id = "it-run"
as_of = "2026-11-25"
[model]
kind = "deterministic"
prepay = { cpr_pct = 8.0 }
default = { cdr_pct = 0.6 }
severity_pct = 30.0
recovery_lag_months = 6
advancing = false
"#;

fn sample_portfolio(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("loans.csv");
    worker::portfolio_file::write_portfolio_csv(&path, &engine::sample::synthetic_loans(700, 11))
        .expect("write sample");
    path
}

fn run(dir: &Path, portfolio: &Path) -> worker::job::JobResult {
    let config = RunConfig::parse(CONFIG, Path::new("inline.toml")).expect("config");
    let out = dir.join("out");
    let req = JobRequest {
        portfolio_path: portfolio,
        config: &config,
        out_dir: &out,
        default_run_date: NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"),
    };
    run_job(&req).expect("job")
}

fn assert_rows_match(table: &CashflowTable, path: &Path) {
    let rows = read_cashflows(path).expect("read back");
    assert_eq!(rows.len(), table.horizon_months() as usize);
    for (stored, row) in rows.iter().zip(table.rows()) {
        assert_eq!(stored.scenario, 0);
        assert_eq!(stored.month as u32, row.month);
        for (cents, (name, get)) in stored.cents.iter().zip(MONEY_COLUMNS.iter()) {
            assert_eq!(*cents, get(&row).to_cents(), "month {} {name}", row.month);
        }
    }
}

#[test]
fn job_writes_a_hive_partitioned_table_then_the_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let portfolio = sample_portfolio(dir.path());
    let result = run(dir.path(), &portfolio);
    let out = dir.path().join("out");
    let expected =
        out.join("portfolio_cashflows/run_date=2026-11-25/run_id=it-run/part-00000.parquet");
    assert_eq!(out.join(&result.cashflows_key), expected);
    assert_rows_match(&result.tables[0], &expected);

    let report = RunReport::read(&out.join("runs/it-run/report.json")).expect("report");
    assert_eq!(report, result.report);
    assert_eq!(report.loans, 700);
    assert_eq!(report.scenarios, 1);
    assert_eq!(report.run_date, "2026-11-25");
    assert_eq!(report.loan_months, result.loan_months);
    assert!(report.horizon_months >= 179 && report.horizon_months <= 360);
    assert!(report.totals.cumulative_default_pct > 0.0);
    assert!(report.totals.wal_years > 1.0 && report.totals.wal_years < 15.0);
    // Non-advancing: servicing + net interest = actual interest, exactly.
    for row in result.tables[0].rows() {
        assert_eq!(row.net_interest + row.servicing_fee, row.actual_interest);
        assert!(row.principal_recovery + row.principal_loss == row.liquidated_balance);
        assert!(row.performing_balance >= Money::ZERO);
    }
}

#[test]
fn rerunning_a_job_rewrites_identical_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let portfolio = sample_portfolio(dir.path());
    let first = run(dir.path(), &portfolio);
    let out = dir.path().join("out");
    let bytes = std::fs::read(out.join(&first.cashflows_key)).expect("read");
    let second = run(dir.path(), &portfolio);
    assert_eq!(
        std::fs::read(out.join(&second.cashflows_key)).expect("read"),
        bytes
    );
    // Only the table file and the report exist: no temporaries left behind.
    let files: Vec<_> = walk(&dir.path().join("out"));
    assert_eq!(files.len(), 2, "{files:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("ls") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
