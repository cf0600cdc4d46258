//! `mcflow run`: the embedded run on this machine's thread pool, with a progress bar, the summary and the charts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use anyhow::{Context, Result};
use mcflow::render::progress::ProgressDisplay;
use mcflow::render::summary::{line, render};
use orchestrator::run::local::Progress;
use orchestrator::run::plan::Sizing;
use worker::aws::LazyAws;
use worker::config_override::ConfigOverride;
use worker::layout::{MARKER_FILE, partials_prefix, run_prefix};
use worker::portfolio_file::PortfolioSource;
use worker::report::InputFingerprint;
use worker::store::Store;

use super::{load_config, threads};
use crate::cli::RunArgs;

pub(crate) fn run(args: &RunArgs, aws: &LazyAws) -> Result<()> {
    // --run-id and --as-of are --set shorthands, applied after every --set.
    let mut set = args.inputs.set.set.clone();
    for (key, value) in [("run_id", &args.run_id), ("as_of", &args.as_of)] {
        if let Some(v) = value {
            set.push(ConfigOverride::string(key, v));
        }
    }
    let loaded = load_config(&args.inputs.config, &set)?;
    let config = loaded.config;
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
    let counts = Arc::new(InterruptCounts::default());
    on_interrupt(&store, config.run_id.as_str(), &counts)?;
    let inputs = InputFingerprint {
        portfolio_sha256: source.sha256()?,
        config_sha256: loaded.sha256,
        market_sha256: loaded.text.market_sha256(),
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
                    fresh: args.fresh,
                },
                &|event| {
                    counts.record(event);
                    bar.update(event);
                },
            )
        })
        .with_context(|| format!("run {} failed", config.run_id))?;
    bar.finish();
    if args.json {
        println!("{}", serde_json::to_string(&result.report)?);
        return Ok(());
    }
    println!("mcflow run {} on {threads} thread(s)", config.run_id);
    print!("{}", render(&result.report));
    let resumed = counts.resumed.load(Ordering::Relaxed);
    if resumed > 0 {
        println!(
            "{}",
            line(
                "resumed",
                format!(
                    "{resumed} of {} kept from an interrupted attempt (--fresh recomputes them)",
                    mcflow::render::count(
                        u64::from(counts.planned.load(Ordering::Relaxed)),
                        "shard"
                    )
                )
            )
        );
    }
    println!("{}", line("report", store.describe(&result.report_key)));
    println!("{}", line("page", store.describe(&result.page_key)));
    for chart in &result.chart_keys {
        println!("{}", line("chart", store.describe(chart)));
    }
    Ok(())
}

/// Shard counts of the run in progress, for the interrupt and resume messages.
#[derive(Debug, Default)]
struct InterruptCounts {
    planned: AtomicU32,
    resumed: AtomicU32,
}

impl InterruptCounts {
    fn record(&self, event: Progress) {
        match event {
            Progress::Planned { shards, .. } => self.planned.store(shards, Ordering::Relaxed),
            Progress::Resumed { shards } => self.resumed.store(shards, Ordering::Relaxed),
            Progress::ShardDone { .. } | Progress::Reducing => {}
        }
    }
}

/// Set once Ctrl-C or SIGTERM has arrived: a shard whose write the handler cut short then
/// fails, and `main` must not report that failure, since the handler is about to end the
/// process with its own message.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether the run is being interrupted.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// On Ctrl-C (SIGINT) or SIGTERM: remove the temporary files of the writes cut short, say
/// how many shards are complete (their markers on disk: a marker is written last, so a
/// shard cut short has none) and exit 130. The next run with the same inputs resumes from
/// them; it also removes any temporary file a write left after this sweep.
fn on_interrupt(store: &Store, run_id: &str, counts: &Arc<InterruptCounts>) -> Result<()> {
    let (store, run_id, counts) = (store.clone(), run_id.to_string(), Arc::clone(counts));
    ctrlc::set_handler(move || {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let planned = counts.planned.load(Ordering::Relaxed);
        let partials = partials_prefix(&run_id);
        let removed: usize = [partials.as_str(), &run_prefix(&run_id)]
            .iter()
            .map(|f| store.remove_temporaries(f).unwrap_or(0))
            .sum();
        let complete = store
            .list(&partials)
            .map(|keys| keys.iter().filter(|k| k.ends_with(MARKER_FILE)).count())
            .unwrap_or(0);
        eprintln!(
            "\ninterrupted: {complete} of {} of run {run_id} complete and kept in {}; {} removed. Run again with the same inputs (without --fresh) to resume.",
            mcflow::render::count(u64::from(planned), "shard"),
            store.describe(&partials),
            mcflow::render::count(removed as u64, "temporary file"),
        );
        std::process::exit(130);
    })
    .context("cannot install the interrupt handler")
}
