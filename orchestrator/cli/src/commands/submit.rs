//! `mcflow submit`: a run validated, its manifest written, its shards sent to the queue.

use anyhow::{Context, Result};
use orchestrator::cloud::queue::Queue;
use orchestrator::cloud::{DispatchOptions, Submission};
use orchestrator::run::plan::Sizing;
use worker::aws::LazyAws;
use worker::portfolio_file::PortfolioSource;
use worker::store::Store;

use super::{deployment, load_config};
use crate::cli::SubmitArgs;

pub(crate) fn submit(args: &SubmitArgs, aws: &LazyAws) -> Result<()> {
    let config = load_config(&args.config, &args.set.set)?.text;
    let (location, queue_url) = deployment(&args.store, args.queue.as_deref(), aws)?;
    let store = Store::open(&location, || aws.get())?;
    let source = PortfolioSource::open(&args.portfolio, || aws.get())?;
    let queue_url = queue_url.context("submit needs --queue URL (or --stack NAME)")?;
    let queue = Queue::new(aws.get(), &queue_url);
    let now = chrono::Utc::now();
    // One shard of every loan and scenario unless told otherwise.
    let sizing = Sizing::from_counts(
        args.shards,
        args.loans_per_shard,
        args.scenarios_per_shard,
        Sizing::WHOLE,
    );
    let submitted = orchestrator::cloud::submit(
        &Submission {
            config,
            portfolio: &args.portfolio,
            store: &store,
            sizing,
            as_of: args.as_of,
            run_id: args.run_id.clone(),
            default_run_date: now.date_naive(),
            submitted_at: now,
            dispatch: DispatchOptions {
                concurrency: args.send_concurrency,
                ..Default::default()
            },
        },
        &source,
        &queue,
    )?;
    let m = &submitted.manifest;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "run_id": m.run_id,
                "shards": m.shards,
                "sent": submitted.sent,
                "loans": m.loans,
                "scenarios": m.scenarios,
                "planned_loan_months": m.planned_loan_months,
                "already_submitted": submitted.already_submitted.is_some(),
                "shards_done": submitted.already_submitted,
            })
        );
        return Ok(());
    }
    if let Some(done) = submitted.already_submitted {
        eprintln!(
            "run {} was already submitted ({done} of {} shards done; its inputs are those of the first submission, portfolio SHA-256 {}); {} sent now. `mcflow retry {}` re-issues the shards that have not completed.",
            m.run_id, m.shards, m.portfolio_sha256, submitted.sent, m.run_id
        );
        println!("{}", m.run_id);
        return Ok(());
    }
    eprintln!(
        "submitted {} ({} sent now), {} x {}, {} loan-months",
        mcflow::render::count(u64::from(m.shards), "shard"),
        mcflow::render::grouped(u64::from(submitted.sent)),
        mcflow::render::count(m.loans, "loan"),
        mcflow::render::count(u64::from(m.scenarios), "scenario"),
        mcflow::render::grouped(m.planned_loan_months)
    );
    println!("{}", m.run_id);
    Ok(())
}
