//! Criterion benchmarks of the kernels: loan-months per second of the deterministic model
//! (150% PSA, 100% SDA, 12-month lag, advancing; 360-month new loans) on one and two
//! threads and per instruction set, and of the full stochastic model; each beside its
//! minimal kernel (`mcflow_benches::minimal`), which gives the same bits, so the ratio of
//! the two is how close the engine's general kernel comes to the plainest fast code.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::sample::{benchmark_deterministic_model, benchmark_loans, benchmark_stochastic_model};
use engine::{Isa, Portfolio, ProblemSink, project_deterministic, project_deterministic_on};

const LOANS: usize = 20_000;
const MONTHS: u32 = 360;

fn kernel(c: &mut Criterion) {
    let portfolio =
        Portfolio::from_records(benchmark_loans(LOANS, MONTHS, 1), ProblemSink::default())
            .expect("valid");
    let model = benchmark_deterministic_model();
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
    group.bench_function("minimal_threads_1", |b| {
        b.iter(|| mcflow_benches::minimal::deterministic(&portfolio, &model, MONTHS))
    });
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
    use engine::stochastic::project_stochastic;
    const SCENARIOS: u32 = 8;
    const STOCHASTIC_LOANS: usize = 5_000;
    let portfolio = Portfolio::from_records(
        benchmark_loans(STOCHASTIC_LOANS, MONTHS, 1),
        ProblemSink::default(),
    )
    .expect("valid");
    let model = benchmark_stochastic_model(MONTHS, SCENARIOS);
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
    group.bench_function("minimal_threads_1", |b| {
        b.iter(|| mcflow_benches::minimal::stochastic(&portfolio, &model, MONTHS, SCENARIOS))
    });
    let pair = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    group.bench_function("threads_2", |b| {
        b.iter(|| pair.install(|| project_stochastic(&portfolio, &model, MONTHS, 0..SCENARIOS)))
    });
    group.finish();
}

criterion_group!(benches, kernel, stochastic);
criterion_main!(benches);
