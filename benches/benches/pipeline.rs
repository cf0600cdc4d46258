//! Criterion benchmarks of the stages around the kernel: scenario generation (Hull-White
//! rates and house prices), Parquet encoding of a shard's partial tables, and the
//! reducer's merge of shard partials from a local store.

use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::Portfolio;
use engine::sample::benchmark_stochastic_model;
use engine::stochastic::project_stochastic;
use orchestrator::run::plan::{RunShape, Sizing, plan};
use worker::config::{Model, RunConfig, first_payment_month};
use worker::manifest::ConfigText;
use worker::parquet_file::Readers;
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};
use worker::shard::run_shard;
use worker::store::Store;

const MONTHS: u32 = 360;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(name)
}

/// 200 scenario paths of 360 months on one thread: what every shard does before its
/// first loan.
fn scenario_generation(c: &mut Criterion) {
    const SCENARIOS: u32 = 200;
    let model = benchmark_stochastic_model(MONTHS, SCENARIOS);
    let mut group = c.benchmark_group("scenario_generation");
    group.throughput(Throughput::Elements(u64::from(SCENARIOS * MONTHS)));
    group.sample_size(20);
    group.bench_function("paths_200x360", |b| {
        b.iter(|| {
            (0..SCENARIOS)
                .map(|k| model.scenarios().path(k))
                .collect::<Vec<_>>()
        })
    });
    group.finish();
}

/// The bundled sample's base run, as the benches below use it: `data/run.toml` without
/// its `[risk]` bumps, so 201 scenarios (200 random, 1 stress), as the bench names say.
struct Sample {
    config: RunConfig,
    source: PortfolioSource,
    portfolio: Portfolio,
    shape: RunShape,
}

/// The run's business date: fixed, so every bench run projects the same months.
fn run_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("date")
}

fn sample() -> Sample {
    let (_, mut config) = ConfigText::capture(&data("run.toml")).expect("run.toml");
    if let Model::Stochastic(spec) = &mut config.model {
        spec.risk = Default::default();
    }
    let source = PortfolioSource::open(
        data("sample_portfolio.parquet").to_str().expect("utf-8"),
        || unreachable!("a local file"),
    )
    .expect("sample");
    let portfolio = load_portfolio_from(&source).expect("sample loads");
    let shape = RunShape::of(&config, &portfolio, run_date()).expect("shape");
    Sample {
        config,
        source,
        portfolio,
        shape,
    }
}

/// A shard's partial cash-flow table (201 scenarios x 360 months x 12 exact DECIMAL(38,0)
/// columns), from engine tables to Parquet bytes.
fn parquet_encoding(c: &mut Criterion) {
    let Sample {
        config,
        portfolio,
        shape,
        ..
    } = sample();
    let Model::Stochastic(spec) = &config.model else {
        panic!("the sample run is stochastic")
    };
    let horizon = shape.horizon_months;
    let model = spec
        .model(horizon, first_payment_month(run_date()))
        .expect("model");
    let projection = project_stochastic(&portfolio, &model, horizon, 0..shape.scenarios);
    let rows = u64::from(shape.scenarios) * u64::from(horizon);
    let mut group = c.benchmark_group("parquet_encoding");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(20);
    group.bench_function("partial_table_201x360", |b| {
        b.iter(|| {
            let (schema, columns) = worker::shard::table_columns(0, &projection.tables);
            worker::parquet_file::encode_columns(schema, columns, Readers::Reducer)
                .expect("encodes")
        })
    });
    group.finish();
}

/// The reducer: 32 shard partials of the sample run (all 201 scenarios each) read from a
/// local store and merged exactly, per scenario and per loan.
fn reduce_merge(c: &mut Criterion) {
    const SHARDS: u32 = 32;
    let Sample {
        config,
        source,
        portfolio,
        shape,
    } = sample();
    let tasks = plan(&shape, Sizing::Count(SHARDS)).expect("plan");
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::local(dir.path());
    for task in &tasks {
        run_shard(task, &source, &config, &store, None).expect("shard");
    }
    let mut group = c.benchmark_group("reduce_merge");
    group.throughput(Throughput::Elements(u64::from(SHARDS)));
    group.sample_size(10);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        group.bench_function(format!("shards_32_threads_{threads}"), |b| {
            b.iter(|| {
                pool.install(|| {
                    orchestrator::run::reduce::reduce(
                        &tasks,
                        &store,
                        config.model.advancing(),
                        portfolio.len(),
                    )
                    .expect("reduces")
                    .0
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scenario_generation, parquet_encoding, reduce_merge);
criterion_main!(benches);
