//! One local job: load the inputs, project on the current rayon pool, write the
//! `portfolio_cashflows` table and then `report.json`, in that order.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use engine::{Money, Portfolio, Projection, project_deterministic};

use crate::cashflow_parquet::{self, CashflowFileError};
use crate::config::{Model, RunConfig};
use crate::portfolio_file::{PortfolioFileError, load_portfolio};
use crate::report::{
    ModelSummary, PortfolioSummary, ReportError, RunReport, Timing, Totals, report_path,
};

/// What a job needs; the caller decides the business date when the config has none.
#[derive(Debug, Clone)]
pub struct JobRequest<'a> {
    pub portfolio_path: &'a Path,
    pub config: &'a RunConfig,
    pub out_dir: &'a Path,
    pub default_run_date: NaiveDate,
}

/// What a finished job wrote.
#[derive(Debug, Clone)]
pub struct JobResult {
    pub report: RunReport,
    pub report_path: PathBuf,
    pub cashflows_path: PathBuf,
    pub projection: Projection,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Portfolio(#[from] PortfolioFileError),
    #[error(transparent)]
    Cashflows(#[from] CashflowFileError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("cannot remove the previous report {path}: {source}")]
    Invalidate {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Validates the portfolio without running anything.
pub fn check_inputs(portfolio_path: &Path) -> Result<Portfolio, JobError> {
    Ok(load_portfolio(portfolio_path)?)
}

/// Runs a job end to end.
pub fn run_job(req: &JobRequest<'_>) -> Result<JobResult, JobError> {
    let portfolio = load_portfolio(req.portfolio_path)?;
    let config = req.config;
    let horizon = config
        .horizon_months
        .unwrap_or_else(|| portfolio.max_remaining_term_months());
    let run_date = config.as_of.unwrap_or(req.default_run_date);

    let started = Instant::now();
    let projection = match &config.model {
        Model::Deterministic(m) => project_deterministic(&portfolio, m, horizon),
    };
    let wall_seconds = started.elapsed().as_secs_f64();

    // A rerun of the same run id first withdraws the old report, so that the folder is
    // never "complete" while its tables are being replaced.
    let report_path = report_path(req.out_dir, config.run_id.as_str());
    match std::fs::remove_file(&report_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(JobError::Invalidate {
                path: report_path,
                source,
            });
        }
    }
    let partition = cashflow_parquet::partition_dir(req.out_dir, run_date, &config.run_id);
    let cashflows_path = partition.join("part-00000.parquet");
    cashflow_parquet::write_cashflows(&cashflows_path, [(0, &projection.table)])?;

    let start_upb = portfolio
        .current_upb()
        .iter()
        .fold(Money::ZERO, |a, &b| a + Money::from_usd(b));
    let relative = |p: &Path| {
        p.strip_prefix(req.out_dir)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let report = RunReport {
        mcflow_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: config.run_id.to_string(),
        run_date: run_date.format("%Y-%m-%d").to_string(),
        model: ModelSummary {
            kind: config.model.kind().to_string(),
            description: config.model.describe(),
        },
        portfolio: PortfolioSummary {
            path: req.portfolio_path.display().to_string(),
            total_upb: start_upb.to_cents() as f64 / 100.0,
        },
        loans: portfolio.len() as u64,
        scenarios: config.model.scenarios(),
        horizon_months: horizon,
        loan_months: projection.loan_months,
        totals: Totals::of(&projection.table, start_upb),
        timing: Timing {
            wall_seconds,
            loan_months_per_second: if wall_seconds > 0.0 {
                projection.loan_months as f64 / wall_seconds
            } else {
                0.0
            },
        },
        outputs: vec![relative(&cashflows_path)],
    };
    report.write(&report_path)?;
    Ok(JobResult {
        report,
        report_path,
        cashflows_path,
        projection,
    })
}
