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
