//! The last step of a run: from the reduced tables, the risk measures; then the final
//! tables (`portfolio_cashflows`, and in stochastic mode `scenario_results` and
//! `loan_results`), the report page and its charts, and `report.json`, in that order, so a run is never complete before
//! its tables are whole. The embedded run and the cloud reducer both end here.

use std::path::PathBuf;

use chrono::NaiveDate;
use engine::risk::{ScenarioResult, cashflow_bands, summarize};
use engine::{CashflowTable, Money, Portfolio};

use worker::cashflow_parquet::{self, CashflowFileError};
use worker::config::{Model, RunConfig, first_payment_month};
use worker::cost::{BILL_MEMORY_MB, run_bill};
use worker::lambda_facts::{Arch, PRICES};
use worker::layout::{CHART_FILES, PAGE_FILE, report_key, run_file_key, table_key};
use worker::report::{
    InputFingerprint, ModelSummary, PortfolioSummary, ReportError, RunReport, ShardCounts,
    StressReport, Timing, Totals,
};
use worker::results_parquet::{self, LOAN_RISK_TABLE, LOAN_TABLE, SCENARIO_TABLE};
use worker::stochastic_config::StochasticConfigError;
use worker::store::Store;

/// What a finished run wrote.
#[derive(Debug, Clone)]
pub struct RunOutputs {
    pub report: RunReport,
    /// Keys in the run's store.
    pub report_key: String,
    pub cashflows_key: String,
    /// One exact table per scenario.
    pub tables: Vec<CashflowTable>,
    pub loan_months: u64,
    /// `report.html` and the charts it inlines, also written as SVG files beside it.
    pub page_key: String,
    pub chart_keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    #[error(transparent)]
    Cashflows(#[from] CashflowFileError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("stochastic model: {0}")]
    Model(#[from] StochasticConfigError),
    #[error("cannot remove the previous report {path}: {message}")]
    Invalidate { path: PathBuf, message: String },
    #[error("risk.price_pct: {0}")]
    Oas(#[from] engine::risk::OasError),
    #[error("report page: {0}")]
    Page(#[from] crate::page::charts::ChartError),
    #[error(transparent)]
    Store(#[from] worker::store::StoreError),
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
    marks: engine::marks::Marks,
    mark_counts: engine::marks::MarkCounts,
    risk: Option<worker::report::RiskReport>,
    convergence: Vec<engine::risk::ConvergenceRow>,
    /// When `loan_risk` is written: the effective shift (bp) for per-loan durations, and
    /// the configured spread (bp) per-loan OAS are solved from.
    loan_risk: Option<(Option<f64>, Option<f64>)>,
    /// The standard error of the WAL of the mean cash flow.
    wal_std_error: f64,
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
    /// The portfolio's location as the user gave it (a path or `s3://` URI).
    pub portfolio_location: String,
    pub portfolio: &'a Portfolio,
    pub config: &'a RunConfig,
    pub store: &'a Store,
    pub run_date: NaiveDate,
    /// Months projected (the full life).
    pub horizon_months: u32,
    /// Months the `portfolio_cashflows` table keeps.
    pub table_months: u32,
    pub shards: ShardCounts,
    /// Measured duration of each shard, seconds (for the report's bill).
    pub shard_seconds: Vec<f64>,
    /// Seconds the reduce took.
    pub reduce_seconds: f64,
    /// The architecture and worker memory the shards ran on, when on Lambda (their
    /// markers say): the bill is priced at them.
    pub deployed: Option<(Arch, u32)>,
    /// INIT time billed across the worker environments, ms.
    pub worker_init_ms: f64,
    pub wall_seconds: f64,
    pub inputs: InputFingerprint,
}

/// The run's bill: at the deployed architecture and memory first (with the workers'
/// init time) when the shards ran on Lambda, then the other architecture at the same
/// memory as a projection; for a run elsewhere, both architectures projected at
/// [`BILL_MEMORY_MB`].
fn bills(facts: &RunFacts<'_>) -> Vec<worker::cost::Bill> {
    let durations_ms: Vec<f64> = facts.shard_seconds.iter().map(|s| s * 1000.0).collect();
    let bill = |arch, memory_mb, init_ms| {
        run_bill(
            &PRICES,
            arch,
            memory_mb,
            &durations_ms,
            init_ms,
            facts.reduce_seconds * 1000.0,
        )
    };
    match facts.deployed {
        Some((arch, memory_mb)) => {
            let mut deployed = bill(arch, memory_mb, facts.worker_init_ms);
            deployed.deployed = true;
            let mut out = vec![deployed];
            for other in Arch::ALL.into_iter().filter(|&a| a != arch) {
                out.push(bill(other, memory_mb, facts.worker_init_ms));
            }
            out
        }
        None => Arch::ALL
            .iter()
            .map(|&arch| bill(arch, BILL_MEMORY_MB, 0.0))
            .collect(),
    }
}

/// Derives the risk measures from projected tables and writes the final tables, then
/// `report.json`. The same code serves a one-process run and the reducer of a sharded
/// one, so both give the same bytes for the same tables.
pub fn finalize(facts: &RunFacts<'_>, projected: Projected) -> Result<RunOutputs, FinalizeError> {
    let RunFacts {
        portfolio,
        config,
        run_date,
        ..
    } = *facts;
    let Projected {
        mut tables,
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
            // The base scenarios (random, then stress) come first; the risk bumps'
            // blocks after them feed the `risk` section only, and are dropped after it.
            let base_count = model.scenarios().count() as usize;
            // OAS, spreads and sensitivities, from every block's exact tables.
            let mut discount = model.discount_factors_of(0..tables.len() as u32);
            let risk =
                super::risk::risk_report(spec, &model, &tables, &discount, portfolio, start_upb)?;
            tables.truncate(base_count);
            discount.truncate(base_count);
            let results: Vec<ScenarioResult> = tables
                .iter()
                .zip(&discount)
                .enumerate()
                .map(|(k, (t, df))| ScenarioResult::from_table(k as u32, t, df))
                .collect();
            // Monte Carlo statistics use the random scenarios only; stress paths are
            // reported one by one.
            let random = model.scenarios().random_count() as usize;
            let mut summary = summarize(&results[..random], start_upb.to_usd(), spec.antithetic);
            // Control variate for PV: the no-prepayment, no-default cash flows, discounted
            // along each path; on the initial curve their value is known exactly.
            let scheduled =
                engine::risk::scheduled_investor_cash_flows(portfolio, facts.horizon_months);
            let oas = model.oas_bp() / 10_000.0;
            let curve = model.scenarios().hull_white().curve();
            let control_expected: f64 = scheduled
                .iter()
                .enumerate()
                .map(|(m, cf)| {
                    let t = (m + 1) as f64 / 12.0;
                    cf * curve.discount(t) * libm::exp(-oas * t)
                })
                .sum();
            let controls: Vec<f64> = discount[..random]
                .iter()
                .map(|df| scheduled.iter().zip(&df[1..]).map(|(cf, d)| cf * d).sum())
                .collect();
            let pvs: Vec<f64> = results[..random].iter().map(|r| r.pv).collect();
            summary.pv.control_variate = Some(engine::risk::control_variate(
                &pvs,
                &controls,
                control_expected,
                spec.antithetic,
            ));
            let bands = cashflow_bands(&tables[..random].iter().collect::<Vec<_>>());
            let stress = results[random..]
                .iter()
                .map(|r| {
                    let path = model.scenarios().stress_path(r.scenario);
                    StressReport {
                        scenario: r.scenario,
                        name: path.map(|s| s.name().to_string()).unwrap_or_default(),
                        pv: r.pv,
                        lifetime_loss: r.lifetime_loss.to_cents() as f64 / 100.0,
                        credit_loss: r.credit_loss.to_cents() as f64 / 100.0,
                        totals: Some(Totals::of(&tables[r.scenario as usize], start_upb)),
                        discounting: path
                            .map(|s| s.discounting(model.scenarios().months()))
                            .unwrap_or_default(),
                    }
                })
                .collect();
            // The same marks the shards projected with (a pure function of each loan).
            let marks = spec.marks(portfolio, run_date);
            let loan_risk = (spec.risk.effective_shift_bp.is_some() || spec.risk.loan_oas)
                .then_some((
                    spec.risk.effective_shift_bp,
                    spec.risk.loan_oas.then_some(model.oas_bp()),
                ));
            let mut mark_counts = engine::marks::MarkCounts::default();
            for &m in &marks.method {
                mark_counts.add(m);
            }
            let convergence =
                engine::risk::convergence(&results[..random], start_upb.to_usd(), spec.antithetic);
            Some(StochasticOutcome {
                wal_std_error: engine::sensitivities::wal_estimate(
                    &tables[..random],
                    spec.antithetic,
                )
                .std_error,
                loan_risk,
                convergence,
                risk,
                marks,
                mark_counts,
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
    let store = facts.store;

    // A rerun of the same run id first withdraws the old report, so that the run is
    // never "complete" while its tables are being replaced.
    // Its page and charts go too: none is left beside a report it was not drawn from
    // (a rerun without rate shocks draws no `pv_by_shift.svg`).
    let report_key = report_key(config.run_id.as_str());
    let page_files = std::iter::once(PAGE_FILE).chain(CHART_FILES);
    for key in std::iter::once(report_key.clone())
        .chain(page_files.map(|f| run_file_key(config.run_id.as_str(), f)))
    {
        store.delete(&key).map_err(|e| FinalizeError::Invalidate {
            path: store.describe(&key).into(),
            message: e.to_string(),
        })?;
    }
    let part_key = |table: &str| table_key(table, run_date, config.run_id.as_str());
    let cashflows_key = part_key(cashflow_parquet::TABLE);
    // The config's horizon bounds this table only; every figure below is full-life.
    let table_months = if facts.table_months == 0 {
        horizon
    } else {
        facts.table_months
    };
    let shown: Vec<CashflowTable> = tables.iter().map(|t| t.truncated(table_months)).collect();
    // The cash-flow table and the per-scenario and per-loan tables are independent files,
    // so they are encoded on both sides of a join: the kernel's threads are idle by now,
    // and encoding is most of what finalize does.
    let (cashflows_written, stochastic_keys) = rayon::join(
        || {
            cashflow_parquet::write_cashflows(
                store,
                &cashflows_key,
                shown.iter().enumerate().map(|(k, t)| (k as i32, t)),
            )
        },
        || -> Result<Vec<String>, CashflowFileError> {
            let mut keys = Vec::new();
            if let Some(s) = &stochastic {
                let key = part_key(SCENARIO_TABLE);
                results_parquet::write_scenario_results(store, &key, &s.results, s.random)?;
                keys.push(key);
                let key = part_key(LOAN_TABLE);
                results_parquet::write_loan_results(
                    store,
                    &key,
                    portfolio,
                    &s.loan_sums,
                    &s.marks,
                )?;
                keys.push(key);
                if let Some((shift_bp, oas_base_bp)) = s.loan_risk {
                    let key = part_key(LOAN_RISK_TABLE);
                    results_parquet::write_loan_risk(
                        store,
                        &key,
                        portfolio,
                        &s.loan_sums,
                        shift_bp,
                        oas_base_bp,
                    )?;
                    keys.push(key);
                }
            }
            Ok(keys)
        },
    );
    cashflows_written?;
    let mut outputs = vec![cashflows_key.clone()];
    outputs.extend(stochastic_keys?);

    // Totals of the exact sum over the Monte Carlo scenarios (stress paths are reported
    // apart), then the mean: the WAL is that of the mean cash flow.
    let random = stochastic.as_ref().map_or(tables.len(), |s| s.random);
    let mut sum_table = tables[0].clone();
    for t in &tables[1..random] {
        sum_table.merge(t);
    }
    let totals = Totals::of(&sum_table, start_upb).mean_of(random as u32);
    let report = RunReport {
        mcflow_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: config.run_id.to_string(),
        run_date: run_date.format("%Y-%m-%d").to_string(),
        model: ModelSummary {
            kind: config.model.kind().to_string(),
            description: config.model.describe(),
            antithetic: matches!(&config.model, Model::Stochastic(spec) if spec.antithetic),
        },
        inputs: facts.inputs.clone(),
        portfolio: PortfolioSummary {
            path: facts.portfolio_location.clone(),
            total_upb: start_upb.to_cents() as f64 / 100.0,
        },
        loans: portfolio.len() as u64,
        scenarios: tables.len() as u32,
        random_scenarios: random as u32,
        shards: facts.shards,
        horizon_months: table_months,
        projection_months: horizon,
        full_life: horizon >= portfolio.max_remaining_term_months(),
        loan_months,
        wal_years: totals.wal_years,
        wal_years_std_error: stochastic.as_ref().map(|s| s.wal_std_error),
        cumulative_default_pct: totals.cumulative_default_pct,
        cumulative_default_pct_std_error: stochastic
            .as_ref()
            .map(|s| s.summary.cumulative_default_pct_std_error),
        totals,
        pv: stochastic.as_ref().map(|s| s.summary.pv.clone()),
        stress: stochastic
            .as_ref()
            .map(|s| s.stress.clone())
            .unwrap_or_default(),
        cashflow_bands: stochastic
            .as_ref()
            .map(|s| s.bands.clone())
            .unwrap_or_default(),
        loss: stochastic.as_ref().map(|s| s.summary.loss.clone()),
        credit_loss: stochastic.as_ref().map(|s| s.summary.credit_loss.clone()),
        marks: stochastic.as_ref().map(|s| s.mark_counts),
        risk: stochastic.as_ref().and_then(|s| s.risk.clone()),
        calibration: match &config.model {
            Model::Stochastic(spec) => spec.calibration.clone(),
            Model::Deterministic(_) => None,
        },
        convergence: stochastic
            .as_ref()
            .map(|s| s.convergence.clone())
            .unwrap_or_default(),
        timing: Timing {
            wall_seconds,
            loan_months_per_second: if wall_seconds > 0.0 {
                loan_months as f64 / wall_seconds
            } else {
                0.0
            },
        },
        bill: bills(facts),
        outputs,
    };
    // The page and its charts go before report.json, which marks the run complete.
    let random_pvs: Vec<f64> = stochastic
        .as_ref()
        .map(|s| s.results[..s.random].iter().map(|r| r.pv).collect())
        .unwrap_or_default();
    let charts = crate::page::charts::draw(&report, &random_pvs)?;
    let mut chart_keys = Vec::with_capacity(charts.len());
    for chart in &charts {
        let key = run_file_key(&report.run_id, chart.file);
        store.put(&key, chart.svg.clone().into_bytes())?;
        chart_keys.push(key);
    }
    let page_key = run_file_key(&report.run_id, PAGE_FILE);
    store.put(
        &page_key,
        crate::page::render(&report, &charts).into_bytes(),
    )?;
    report.put(store)?;
    Ok(RunOutputs {
        report,
        report_key,
        cashflows_key,
        tables,
        loan_months,
        page_key,
        chart_keys,
    })
}
