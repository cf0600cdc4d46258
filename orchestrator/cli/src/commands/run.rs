//! `mcflow run`: the embedded run on this machine's thread pool, with a progress bar, the summary and the charts.

use anyhow::{Context, Result};
use mcflow::render::progress::ProgressDisplay;
use mcflow::render::summary::{line, render};
use orchestrator::run::plan::Sizing;
use worker::aws::LazyAws;
use worker::portfolio_file::PortfolioSource;
use worker::report::InputFingerprint;
use worker::store::Store;

use super::{load_config, threads};
use crate::cli::RunArgs;

pub(crate) fn run(args: &RunArgs, aws: &LazyAws) -> Result<()> {
    let config = load_config(&args.inputs.config)?;
    let threads = threads(args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let today = chrono::Utc::now().date_naive();
    // One shard per thread unless told otherwise.
    let sizing = Sizing::from_counts(
        args.shards,
        args.loans_per_shard,
        args.scenarios_per_shard,
        Sizing::Count(threads as u32),
    );
    let bar = ProgressDisplay::new();
    let source = PortfolioSource::open(&args.inputs.portfolio, || aws.get())?;
    let store = Store::open(&args.out, || aws.get())?;
    let inputs = InputFingerprint {
        portfolio_sha256: source.sha256()?,
        config_sha256: worker::report::sha256_file(&args.inputs.config)
            .with_context(|| format!("cannot read config {}", args.inputs.config.display()))?,
    };
    let result = pool
        .install(|| {
            orchestrator::run::local::run_sharded(
                orchestrator::run::local::LocalRun {
                    portfolio: &source,
                    config: &config,
                    store: &store,
                    default_run_date: today,
                    sizing,
                    inputs,
                    overwrite: args.overwrite,
                },
                &|event| bar.update(event),
            )
        })
        .with_context(|| format!("run {} failed", config.run_id))?;
    bar.finish();
    let charts = mcflow::render::charts::write_charts(&store, &result.report, &result.random_pvs)?;
    println!("mcflow run {} on {threads} thread(s)", config.run_id);
    print!("{}", render(&result.report));
    println!("{}", line("report", store.describe(&result.report_key)));
    for chart in &charts {
        println!("{}", line("chart", store.describe(chart)));
    }
    Ok(())
}
