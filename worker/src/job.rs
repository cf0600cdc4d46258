//! One local job: load the inputs, project on the current rayon pool, write the tables
//! (`portfolio_cashflows`, and in stochastic mode `scenario_results` and `loan_results`)
//! and then `report.json`, in that order.

use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use engine::risk::{ScenarioResult, cashflow_bands, summarize};
use engine::stochastic::project_stochastic;
use engine::{CashflowTable, Money, Portfolio, project_deterministic};

use crate::cashflow_parquet::{self, CashflowFileError};
use crate::config::{Model, RunConfig};
use crate::portfolio_file::{PortfolioFileError, load_portfolio};
use crate::report::{
    BandReport, InputFingerprint, LossReport, ModelSummary, PortfolioSummary, PvReport,
    ReportError, RunReport, ShardCounts, StressReport, Timing, Totals, report_path,
};
use crate::results_parquet::{self, LOAN_TABLE, SCENARIO_TABLE};
use crate::stochastic_config::StochasticConfigError;

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
    /// One exact table per scenario.
    pub tables: Vec<CashflowTable>,
    pub loan_months: u64,
    /// PV of each random scenario (stochastic mode; empty otherwise).
    pub random_pvs: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Portfolio(#[from] PortfolioFileError),
    #[error(transparent)]
    Cashflows(#[from] CashflowFileError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("stochastic model: {0}")]
    Model(#[from] StochasticConfigError),
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

/// Calendar month (1-12) of the first payment after the business date.
pub fn first_payment_month(run_date: NaiveDate) -> u32 {
    run_date.month() % 12 + 1
}

/// Stochastic extras: per-scenario results, the summary and per-loan sums.
struct StochasticOutcome {
    results: Vec<ScenarioResult>,
    /// Scenarios `0..random` are Monte Carlo draws; the rest are stress paths.
    random: usize,
    summary: engine::risk::RiskSummary,
    bands: Vec<engine::risk::CashflowBand>,
    stress: Vec<StressReport>,
    loan_sums: Vec<engine::risk::LoanSums>,
}

/// Everything projected for a run: one exact table per scenario, per-loan sums in
/// stochastic mode, and the loan-months computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    pub tables: Vec<CashflowTable>,
    pub loan_sums: Option<Vec<engine::risk::LoanSums>>,
    pub loan_months: u64,
}

/// The run-level facts the final tables and report need.
#[derive(Debug, Clone)]
pub struct RunFacts<'a> {
    pub portfolio_path: &'a Path,
    pub portfolio: &'a Portfolio,
    pub config: &'a RunConfig,
    pub out_dir: &'a Path,
    pub run_date: NaiveDate,
    pub horizon_months: u32,
    pub shards: ShardCounts,
    pub wall_seconds: f64,
    pub inputs: InputFingerprint,
}

/// The horizon of a run: the config's, else the portfolio's longest remaining term.
pub fn horizon_of(config: &RunConfig, portfolio: &Portfolio) -> u32 {
    config
        .horizon_months
        .unwrap_or_else(|| portfolio.max_remaining_term_months())
}

/// Runs a job end to end in this process, as a single shard.
pub fn run_job(req: &JobRequest<'_>) -> Result<JobResult, JobError> {
    let portfolio = load_portfolio(req.portfolio_path)?;
    let config = req.config;
    let horizon = horizon_of(config, &portfolio);
    let run_date = config.as_of.unwrap_or(req.default_run_date);
    let started = Instant::now();
    let projected = match &config.model {
        Model::Deterministic(m) => {
            let p = project_deterministic(&portfolio, m, horizon);
            Projected {
                tables: vec![p.table],
                loan_sums: None,
                loan_months: p.loan_months,
            }
        }
        Model::Stochastic(spec) => {
            let model = spec.model(horizon, first_payment_month(run_date))?;
            let p = project_stochastic(&portfolio, &model, horizon, 0..model.scenarios().count());
            Projected {
                tables: p.tables,
                loan_sums: Some(p.loan_sums),
                loan_months: p.loan_months,
            }
        }
    };
    let facts = RunFacts {
        portfolio_path: req.portfolio_path,
        portfolio: &portfolio,
        config,
        out_dir: req.out_dir,
        run_date,
        horizon_months: horizon,
        shards: ShardCounts {
            planned: 1,
            completed: 1,
        },
        wall_seconds: started.elapsed().as_secs_f64(),
        inputs: InputFingerprint::default(),
    };
    finalize(&facts, projected)
}

/// Derives the risk measures from projected tables and writes the final tables, then
/// `report.json`. The same code serves a one-process run and the reducer of a sharded
/// one, so both give the same bytes for the same tables.
pub fn finalize(facts: &RunFacts<'_>, projected: Projected) -> Result<JobResult, JobError> {
    let RunFacts {
        portfolio,
        config,
        run_date,
        ..
    } = *facts;
    let Projected {
        tables,
        loan_sums,
        loan_months,
    } = projected;
    let start_upb = portfolio
        .current_upb()
        .iter()
        .fold(Money::ZERO, |a, &b| a + Money::from_usd(b));
    let stochastic = match &config.model {
        Model::Deterministic(_) => None,
        Model::Stochastic(spec) => {
            let model = spec.model(facts.horizon_months, first_payment_month(run_date))?;
            let results: Vec<ScenarioResult> = tables
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let path = model.scenarios().path(k as u32);
                    ScenarioResult::from_table(k as u32, t, &model.discount_factors(&path))
                })
                .collect();
            // Monte Carlo statistics use the random scenarios only; stress paths are
            // reported one by one.
            let random = model.scenarios().random_count() as usize;
            let summary = summarize(&results[..random], start_upb.to_usd(), spec.antithetic);
            let bands = cashflow_bands(&tables[..random].iter().collect::<Vec<_>>());
            let stress = results[random..]
                .iter()
                .map(|r| StressReport {
                    scenario: r.scenario,
                    name: model
                        .scenarios()
                        .stress_path(r.scenario)
                        .map(|s| s.name().to_string())
                        .unwrap_or_default(),
                    pv: r.pv,
                    lifetime_loss: r.lifetime_loss.to_cents() as f64 / 100.0,
                })
                .collect();
            Some(StochasticOutcome {
                results,
                random,
                summary,
                bands,
                stress,
                loan_sums: loan_sums.unwrap_or_default(),
            })
        }
    };
    let wall_seconds = facts.wall_seconds;
    let horizon = facts.horizon_months;
    let out_dir = facts.out_dir;

    // A rerun of the same run id first withdraws the old report, so that the folder is
    // never "complete" while its tables are being replaced.
    let report_path = report_path(out_dir, config.run_id.as_str());
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
    let part = "part-00000.parquet";
    let cashflows_path =
        cashflow_parquet::partition_dir(out_dir, run_date, &config.run_id).join(part);
    cashflow_parquet::write_cashflows(
        &cashflows_path,
        tables.iter().enumerate().map(|(k, t)| (k as i32, t)),
    )?;
    let mut outputs = vec![cashflows_path.clone()];
    if let Some(s) = &stochastic {
        let path = results_parquet::table_dir(out_dir, SCENARIO_TABLE, run_date, &config.run_id)
            .join(part);
        results_parquet::write_scenario_results(&path, &s.results, s.random)?;
        outputs.push(path);
        let path =
            results_parquet::table_dir(out_dir, LOAN_TABLE, run_date, &config.run_id).join(part);
        results_parquet::write_loan_results(&path, portfolio, &s.loan_sums)?;
        outputs.push(path);
    }

    // Totals of the exact sum over scenarios, then the mean: the WAL is that of the mean
    // cash flow.
    let mut sum_table = tables[0].clone();
    for t in &tables[1..] {
        sum_table.merge(t);
    }
    let totals = Totals::of(&sum_table, start_upb).mean_of(tables.len() as u32);
    let relative = |p: &Path| {
        p.strip_prefix(out_dir)
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
        inputs: facts.inputs.clone(),
        portfolio: PortfolioSummary {
            path: facts.portfolio_path.display().to_string(),
            total_upb: start_upb.to_cents() as f64 / 100.0,
        },
        loans: portfolio.len() as u64,
        scenarios: tables.len() as u32,
        shards: facts.shards,
        horizon_months: horizon,
        loan_months,
        wal_years: totals.wal_years,
        cumulative_default_pct: totals.cumulative_default_pct,
        totals,
        pv: stochastic.as_ref().map(|s| PvReport::from(&s.summary)),
        stress: stochastic
            .as_ref()
            .map(|s| s.stress.clone())
            .unwrap_or_default(),
        cashflow_bands: stochastic
            .as_ref()
            .map(|s| s.bands.iter().map(BandReport::from).collect())
            .unwrap_or_default(),
        loss: stochastic.as_ref().map(|s| LossReport::from(&s.summary)),
        timing: Timing {
            wall_seconds,
            loan_months_per_second: if wall_seconds > 0.0 {
                loan_months as f64 / wall_seconds
            } else {
                0.0
            },
        },
        outputs: outputs.iter().map(|p| relative(p)).collect(),
    };
    report.write(&report_path)?;
    Ok(JobResult {
        report,
        report_path,
        cashflows_path,
        tables,
        loan_months,
        random_pvs: stochastic
            .as_ref()
            .map(|s| s.results[..s.random].iter().map(|r| r.pv).collect())
            .unwrap_or_default(),
    })
}
