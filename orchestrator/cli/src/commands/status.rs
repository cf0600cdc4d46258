//! `mcflow status` and `mcflow retry`: a submitted run's progress, and the re-issue of
//! its unfinished shards.

use anyhow::{Context, Result};
use orchestrator::cloud::queue::Queue;
use worker::aws::LazyAws;
use worker::store::Store;

use super::deployment;
use crate::cli::{RetryArgs, StatusArgs};

pub(crate) fn status(args: &StatusArgs, aws: &LazyAws) -> Result<()> {
    let (location, queue_url) = deployment(&args.store, args.queue.as_deref(), aws)?;
    let store = Store::open(&location, || aws.get())?;
    let queue = queue_url.as_deref().map(|q| Queue::new(aws.get(), q));
    let st = orchestrator::cloud::status(&store, &args.run_id, queue.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        print!("{}", mcflow::render::status::text(&st));
    }
    // A failed run is an error for scripts that wait on it.
    anyhow::ensure!(
        st.state != orchestrator::cloud::RunState::Failed,
        "run {} failed; fix the cause, then `mcflow retry {}`",
        st.run_id,
        st.run_id
    );
    Ok(())
}

pub(crate) fn retry(args: &RetryArgs, aws: &LazyAws) -> Result<()> {
    let (location, queue_url) = deployment(&args.store, args.queue.as_deref(), aws)?;
    let queue_url = queue_url.context("retry needs --queue URL (or --stack NAME)")?;
    let store = Store::open(&location, || aws.get())?;
    let queue = Queue::new(aws.get(), &queue_url);
    let shards = if args.stragglers {
        orchestrator::cloud::stragglers::reissue_stragglers(
            &store,
            &args.run_id,
            &queue,
            chrono::Utc::now().timestamp_millis(),
            &orchestrator::cloud::stragglers::StragglerPolicy::default(),
        )?
    } else {
        orchestrator::cloud::retry(&store, &args.run_id, &queue, 16)?
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "run_id": args.run_id, "reissued": shards })
        );
    } else {
        println!(
            "re-issued {} of run {}: {:?}",
            mcflow::render::count(shards.len() as u64, "shard"),
            args.run_id,
            shards
        );
    }
    Ok(())
}
