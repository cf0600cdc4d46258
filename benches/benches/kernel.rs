//! Criterion benchmarks of the deterministic kernel: loan-months per second on one and
//! two threads (150% PSA, 100% SDA, 12-month lag, advancing; 360-month new loans).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::sample::benchmark_loans;
use engine::{
    DefaultSpeed, DeterministicModel, Isa, Pipeline, Portfolio, PrepaySpeed, ProblemSink,
    project_deterministic, project_deterministic_on,
};

const LOANS: usize = 20_000;
const MONTHS: u32 = 360;

fn kernel(c: &mut Criterion) {
    let portfolio =
        Portfolio::from_records(benchmark_loans(LOANS, MONTHS, 1), ProblemSink::default())
            .expect("valid");
    let model = DeterministicModel::new(
        PrepaySpeed::Psa(150.0),
        DefaultSpeed::Sda(100.0),
        20.0,
        Pipeline {
            recovery_lag_months: 12,
            advancing: true,
        },
    )
    .expect("valid");
    let mut group = c.benchmark_group("deterministic_kernel");
    group.throughput(Throughput::Elements(LOANS as u64 * u64::from(MONTHS)));
    group.sample_size(20);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        group.bench_function(format!("threads_{threads}"), |b| {
            b.iter(|| pool.install(|| project_deterministic(&portfolio, &model, MONTHS)))
        });
    }
    // Single-threaded, each compiled variant: what runtime dispatch buys.
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    for isa in Isa::available() {
        group.bench_function(format!("isa_{}", isa.name()), |b| {
            b.iter(|| single.install(|| project_deterministic_on(isa, &portfolio, &model, MONTHS)))
        });
    }
    group.finish();
}

/// The full stochastic model: every behaviour model on, per-loan PV, 8 scenarios.
fn stochastic(c: &mut Criterion) {
    use engine::curve::ZeroCurve;
    use engine::scenario::{HousePrices, HullWhite, ScenarioSet};
    use engine::stochastic::{
        DefaultParams, LossParams, PrepayParams, StochasticModel, project_stochastic,
    };
    const SCENARIOS: u32 = 8;
    const STOCHASTIC_LOANS: usize = 5_000;
    let portfolio = Portfolio::from_records(
        benchmark_loans(STOCHASTIC_LOANS, MONTHS, 1),
        ProblemSink::default(),
    )
    .expect("valid");
    let hw = HullWhite::new(0.03, 0.01, ZeroCurve::flat(4.0).expect("curve")).expect("hw");
    let hp = HousePrices {
        drift_pct: 3.0,
        volatility_pct: 5.0,
        persistence: 0.6,
        rate_correlation: -0.3,
        initial_hpa_pct: 3.0,
    };
    let set = ScenarioSet::new(hw, hp, 1.7, MONTHS, 1, SCENARIOS, false).expect("set");
    let model = StochasticModel::new(
        set,
        PrepayParams::default(),
        DefaultParams::default(),
        LossParams::default(),
        0.0,
        1,
    )
    .expect("model");
    let mut group = c.benchmark_group("stochastic_kernel");
    group.throughput(Throughput::Elements(
        STOCHASTIC_LOANS as u64 * u64::from(MONTHS) * u64::from(SCENARIOS),
    ));
    group.sample_size(10);
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    group.bench_function("threads_1", |b| {
        b.iter(|| single.install(|| project_stochastic(&portfolio, &model, MONTHS, 0..SCENARIOS)))
    });
    group.finish();
}

criterion_group!(benches, kernel, stochastic);
criterion_main!(benches);
