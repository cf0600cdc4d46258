//! `mcflow bench`: kernel throughput on a synthetic portfolio, the same workload as the
//! criterion bench (150% PSA, 100% SDA, 20% severity, 12-month lag, advancing).

use std::time::Instant;

use anyhow::{Context, Result};
use engine::sample::benchmark_loans;
use engine::{
    DefaultSpeed, DeterministicModel, Isa, Pipeline, Portfolio, PrepaySpeed, ProblemSink,
    project_deterministic,
};
use serde::Serialize;

/// One benchmark result, printed as JSON with `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub loans: usize,
    pub months: u32,
    pub threads: usize,
    pub isa: &'static str,
    pub loan_months: u64,
    /// Median wall time of the repetitions.
    pub seconds: f64,
    pub loan_months_per_second: f64,
    pub repetitions_seconds: Vec<f64>,
    pub model: String,
}

pub fn bench(loans: usize, months: u32, threads: usize, repeat: usize) -> Result<BenchResult> {
    anyhow::ensure!(loans > 0, "--loans must be at least 1");
    anyhow::ensure!(
        (1..=480).contains(&months),
        "--months must be between 1 and 480"
    );
    anyhow::ensure!(repeat > 0, "--repeat must be at least 1");
    let portfolio =
        Portfolio::from_records(benchmark_loans(loans, months, 1), ProblemSink::default())
            .context("building the benchmark portfolio")?;
    let model = DeterministicModel::new(
        PrepaySpeed::Psa(150.0),
        DefaultSpeed::Sda(100.0),
        20.0,
        Pipeline {
            recovery_lag_months: 12,
            advancing: true,
        },
    )?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    // One untimed run warms caches and the pool's threads.
    let warm = pool.install(|| project_deterministic(&portfolio, &model, months));
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let started = Instant::now();
        let p = pool.install(|| project_deterministic(&portfolio, &model, months));
        times.push(started.elapsed().as_secs_f64());
        anyhow::ensure!(p == warm, "repeated runs differ: determinism broken");
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let seconds = sorted[sorted.len() / 2];
    Ok(BenchResult {
        loans,
        months,
        threads,
        isa: Isa::detect().name(),
        loan_months: warm.loan_months,
        seconds,
        loan_months_per_second: warm.loan_months as f64 / seconds,
        repetitions_seconds: times,
        model: "150% PSA, 100% SDA, 20% severity, 12-month lag, advancing".into(),
    })
}
