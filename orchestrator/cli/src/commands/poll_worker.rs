//! `mcflow worker`: the poll-mode worker, with one JSON log line per event on stderr.

use anyhow::{Context, Result};
use orchestrator::cloud::poll::{PollEvent, PollOptions, run_poll_worker};
use orchestrator::cloud::queue::Queue;
use orchestrator::cloud::stragglers::StragglerPolicy;
use serde_json::{Value, json};
use worker::aws::LazyAws;
use worker::runner::ShardRunner;

use super::threads;
use crate::cli::WorkerArgs;

pub(crate) fn poll_worker(args: &WorkerArgs, aws: LazyAws) -> Result<()> {
    let threads = threads(args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let aws = std::sync::Arc::new(aws);
    let queue = Queue::new(aws.get(), &args.queue);
    let runner = ShardRunner::new(aws.clone());
    let options = PollOptions {
        wait_seconds: args.wait_seconds,
        visibility_seconds: args.visibility_seconds,
        idle_polls_before_exit: args.exit_when_idle,
        max_messages: None,
        worker_id: format!("worker:{}", std::process::id()),
        stragglers: Some(StragglerPolicy::default()),
    };
    let summary = pool.install(|| {
        run_poll_worker(
            &queue,
            &runner,
            &aws,
            &options,
            &chrono::Utc::now,
            &|event| eprintln!("{}", log_line(&event)),
        )
    })?;
    println!(
        "shards done {}, failed {}, runs reduced {}, stragglers re-issued {}",
        summary.shards_done, summary.shards_failed, summary.runs_reduced, summary.shards_reissued
    );
    Ok(())
}

/// A poll-worker event as one JSON log line.
fn log_line(event: &PollEvent) -> Value {
    match event {
        PollEvent::ShardDone {
            run_id,
            shard,
            loan_months,
            seconds,
        } => json!({
            "message": "shard done", "run_id": run_id, "shard": shard,
            "loan_months": loan_months, "seconds": seconds
        }),
        PollEvent::ShardFailed {
            run_id,
            shard,
            message_id,
            error,
            retryable,
            dead_lettered,
        } => json!({
            "level": "ERROR", "message": "shard failed", "run_id": run_id, "shard": shard,
            "message_id": message_id,
            "error": error, "retryable": retryable, "dead_lettered": dead_lettered
        }),
        PollEvent::Reduced { run_id } => json!({"message": "run reduced", "run_id": run_id}),
        PollEvent::Reissued { run_id, shards } => json!({
            "message": "stragglers re-issued", "run_id": run_id, "shards": shards
        }),
        PollEvent::ReduceFailed { run_id, error } => json!({
            "level": "ERROR", "message": "reduce failed", "run_id": run_id, "error": error
        }),
    }
}
