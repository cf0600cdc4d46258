//! `mcflow bench`: kernel throughput on a synthetic portfolio. The deterministic workload
//! is the criterion bench's (150% PSA, 100% SDA, 20% severity, 12-month lag, advancing);
//! the stochastic one runs every behaviour model with default parameters.

use std::time::Instant;

use anyhow::{Context, Result};
use engine::sample::{benchmark_deterministic_model, benchmark_loans, benchmark_stochastic_model};
use engine::stochastic::project_stochastic;
use engine::{Isa, Portfolio, ProblemSink, project_deterministic};
use serde::Serialize;

/// Which model to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// SIFMA standard assumptions: 150% PSA, 100% SDA.
    Deterministic,
    /// The full stochastic model with default parameters.
    Stochastic,
}

/// A benchmark run: loan-months and the tables, so repetitions can be compared.
type Workload = Box<dyn Fn() -> (u64, Vec<engine::CashflowTable>) + Sync>;

/// One benchmark result, printed as JSON with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub model: &'static str,
    pub loans: usize,
    pub months: u32,
    pub scenarios: u32,
    pub threads: usize,
    pub isa: &'static str,
    pub loan_months: u64,
    /// Median wall time of the repetitions.
    pub seconds: f64,
    pub loan_months_per_second: f64,
    pub repetitions_seconds: Vec<f64>,
    pub assumptions: String,
}

/// Measures `model` on `loans` new loans of `months` months (`scenarios` paths for the
/// stochastic model) on `threads` threads: one warm-up, then `repeat` timed runs.
pub fn bench(
    model: Model,
    loans: usize,
    months: u32,
    scenarios: u32,
    threads: usize,
    repeat: usize,
) -> Result<BenchResult> {
    anyhow::ensure!(loans > 0, "loans must be at least 1");
    anyhow::ensure!(
        (1..=480).contains(&months),
        "months must be between 1 and 480"
    );
    anyhow::ensure!(repeat > 0, "repeat must be at least 1");
    anyhow::ensure!(scenarios > 0, "scenarios must be at least 1");
    let portfolio =
        Portfolio::from_records(benchmark_loans(loans, months, 1), ProblemSink::default())
            .context("building the benchmark portfolio")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let (name, assumptions, scenarios, run): (&str, String, u32, Workload) = match model {
        Model::Deterministic => {
            let m = benchmark_deterministic_model();
            (
                "deterministic",
                "150% PSA, 100% SDA, 20% severity, 12-month lag, advancing".into(),
                1,
                Box::new(move || {
                    let p = project_deterministic(&portfolio, &m, months);
                    (p.loan_months, vec![p.table])
                }),
            )
        }
        Model::Stochastic => {
            let m = benchmark_stochastic_model(months, scenarios);
            (
                "stochastic",
                "Hull-White a=0.03 sigma=1% on a 4% flat curve, house prices, refi/burnout/seasoning/seasonality/turnover, MTM-LTV and FICO default, MTM severity, per-loan PV".into(),
                scenarios,
                Box::new(move || {
                    let p = project_stochastic(&portfolio, &m, months, 0..scenarios);
                    (p.loan_months, p.tables)
                }),
            )
        }
    };
    // One untimed run warms caches and the pool's threads.
    let (loan_months, warm) = pool.install(&run);
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        let (_, tables) = pool.install(&run);
        times.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(tables == warm, "repeated runs differ: determinism broken");
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let seconds = sorted[sorted.len() / 2];
    Ok(BenchResult {
        model: name,
        loans,
        months,
        scenarios,
        threads,
        isa: Isa::detect().name(),
        loan_months,
        seconds,
        loan_months_per_second: loan_months as f64 / seconds,
        repetitions_seconds: times,
        assumptions,
    })
}

/// `mcflow bench --config`: a run's own inputs measured two ways, alternated so the
/// machine's drift falls on both: the kernel alone (the whole portfolio as one in-memory
/// shard, already read and validated) and the whole local run (reading, shards, partial
/// files, the exact reduce, the final tables and report).
#[derive(Debug, Clone, Serialize)]
pub struct InputsBenchResult {
    pub portfolio: String,
    pub config: String,
    pub loans: usize,
    pub scenarios: u32,
    pub threads: usize,
    pub isa: &'static str,
    pub loan_months: u64,
    /// Median seconds of the kernel alone.
    pub kernel_seconds: f64,
    pub kernel_loan_months_per_second: f64,
    /// Median wall seconds of the whole run, as `mcflow run` runs it.
    pub run_seconds: f64,
    pub run_loan_months_per_second: f64,
    /// The run's rate over the kernel's: the share of the kernel's speed a run keeps.
    pub end_to_end_ratio: f64,
    pub kernel_repetitions_seconds: Vec<f64>,
    pub run_repetitions_seconds: Vec<f64>,
}

/// Times the kernel on `config`'s run over `source` and the whole local run, `repeat`
/// times each, alternated, after one untimed warm-up of each. Runs write into a temporary
/// directory that is removed afterwards.
pub fn bench_inputs(
    source: &worker::portfolio_file::PortfolioSource,
    config: &worker::config::RunConfig,
    config_path: &std::path::Path,
    inputs: worker::report::InputFingerprint,
    default_run_date: chrono::NaiveDate,
    threads: usize,
    repeat: usize,
) -> Result<InputsBenchResult> {
    use orchestrator::run::local::{LocalRun, run_sharded};
    use orchestrator::run::plan::{RunShape, Sizing, plan};

    anyhow::ensure!(repeat > 0, "repeat must be at least 1");
    let portfolio = worker::portfolio_file::load_portfolio_from(source)?;
    let shape = RunShape::of(config, &portfolio, default_run_date)?;
    let whole = plan(&shape, Sizing::WHOLE)?;
    let [task] = whole.as_slice() else {
        anyhow::bail!("a whole-run plan has one shard, not {}", whole.len());
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let out = tempfile::tempdir().context("cannot create a temporary output directory")?;
    let store = worker::store::Store::local(out.path());
    let kernel = || -> Result<(f64, u64)> {
        let copy = portfolio.clone();
        let started = Instant::now();
        let p = worker::shard::project_task(task, copy, config)?;
        Ok((started.elapsed().as_secs_f64(), p.loan_months))
    };
    let run = || -> Result<(f64, u64)> {
        let started = Instant::now();
        let outputs = run_sharded(
            LocalRun {
                portfolio: source,
                config,
                store: &store,
                default_run_date,
                // As `mcflow run` sizes it: one shard per thread.
                sizing: Sizing::Count(threads as u32),
                inputs: inputs.clone(),
                overwrite: true,
                fresh: true,
            },
            &|_| {},
        )?;
        Ok((started.elapsed().as_secs_f64(), outputs.report.loan_months))
    };
    let (_, loan_months) = pool.install(kernel)?;
    let (_, run_loan_months) = pool.install(run)?;
    anyhow::ensure!(
        run_loan_months == loan_months,
        "the run computed {run_loan_months} loan-months, the kernel {loan_months}"
    );
    let (mut kernel_times, mut run_times) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        kernel_times.push(pool.install(kernel)?.0);
        run_times.push(pool.install(run)?.0);
    }
    let (kernel_seconds, run_seconds) = (median(&kernel_times), median(&run_times));
    let lm = loan_months as f64;
    Ok(InputsBenchResult {
        portfolio: source.location(),
        config: config_path.display().to_string(),
        loans: portfolio.len(),
        scenarios: shape.scenarios,
        threads,
        isa: Isa::detect().name(),
        loan_months,
        kernel_seconds,
        kernel_loan_months_per_second: lm / kernel_seconds,
        run_seconds,
        run_loan_months_per_second: lm / run_seconds,
        end_to_end_ratio: kernel_seconds / run_seconds,
        kernel_repetitions_seconds: kernel_times,
        run_repetitions_seconds: run_times,
    })
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
