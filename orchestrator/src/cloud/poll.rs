//! Poll-mode workers, for hosts that are not Lambda (EC2, ECS, on-premises) and for runs
//! beyond Lambda's limits: long-poll SQS, run the shard while a heartbeat keeps the
//! message hidden, delete the message only after the completion marker is written, then
//! take the same exactly-once reduce claim as the Lambda reducer. A run served only by
//! poll-mode workers so finishes by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use worker::aws::LazyAws;
use worker::runner::ShardRunner;

use super::queue::Queue;
use super::stragglers::{StragglerPolicy, reissue_stragglers};
use super::{ReduceOutcome, try_reduce};

/// How a poll-mode worker behaves.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// Long-poll wait per receive, seconds (at most 20).
    pub wait_seconds: i32,
    /// How long a received message stays hidden; the heartbeat renews it every third of
    /// this while the shard runs.
    pub visibility_seconds: i32,
    /// Stop after this many consecutive empty receives (`None`: poll forever).
    pub idle_polls_before_exit: Option<u32>,
    /// Stop after handling this many messages.
    pub max_messages: Option<u64>,
    /// Names this worker in reduce claims and logs.
    pub worker_id: String,
    /// When idle, re-issue stragglers of the runs this worker served (`None`: never).
    pub stragglers: Option<StragglerPolicy>,
}

/// Events a poll-mode worker reports.
#[derive(Debug, Clone, PartialEq)]
pub enum PollEvent {
    ShardDone {
        run_id: String,
        shard: u32,
        loan_months: u64,
        seconds: f64,
    },
    ShardFailed {
        /// The run and shard, when the message body says (a malformed one does not).
        run_id: Option<String>,
        shard: Option<u32>,
        message_id: String,
        error: String,
        retryable: bool,
        /// Sent straight to the dead-letter queue (not retryable), not left to retry.
        dead_lettered: bool,
    },
    Reduced {
        run_id: String,
    },
    Reissued {
        run_id: String,
        shards: Vec<u32>,
    },
    ReduceFailed {
        run_id: String,
        error: String,
    },
}

/// What a poll-mode worker did before it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollSummary {
    pub shards_done: u64,
    pub shards_failed: u64,
    pub runs_reduced: u64,
    pub shards_reissued: u64,
}

/// Polls until idle (or the message limit), running shards on the current rayon pool.
pub fn run_poll_worker(
    queue: &Queue,
    runner: &ShardRunner,
    aws: &LazyAws,
    options: &PollOptions,
    now: &dyn Fn() -> chrono::DateTime<chrono::Utc>,
    report: &dyn Fn(PollEvent),
) -> Result<PollSummary> {
    let mut summary = PollSummary::default();
    // Runs this worker served that it has not seen finish: the ones it watches for
    // stragglers while idle.
    let mut open_runs: std::collections::BTreeMap<String, worker::store::Store> =
        std::collections::BTreeMap::new();
    let mut idle = 0;
    let mut handled = 0u64;
    // The shard queue's dead-letter queue, looked up at the first poison shard.
    let mut dead_letter: Option<Option<Queue>> = None;
    loop {
        if options.max_messages.is_some_and(|m| handled >= m) {
            return Ok(summary);
        }
        let messages = queue.receive(1, options.wait_seconds, Some(options.visibility_seconds))?;
        let Some(message) = messages.into_iter().next() else {
            // Idle: finish what a failed group or run reduce left (this worker reduces in
            // poll mode; there is no reducer function to re-trigger).
            let mut finished = Vec::new();
            for (run_id, store) in &open_runs {
                match finish_reduces(store, run_id, &options.worker_id, now(), aws) {
                    Ok(true) => {
                        summary.runs_reduced += 1;
                        report(PollEvent::Reduced {
                            run_id: run_id.clone(),
                        });
                        finished.push(run_id.clone());
                    }
                    Ok(false) => {}
                    Err(e) => report(PollEvent::ReduceFailed {
                        run_id: run_id.clone(),
                        error: format!("{e:#}"),
                    }),
                }
            }
            for run_id in finished {
                open_runs.remove(&run_id);
            }
            if let Some(policy) = &options.stragglers {
                let now_ms = now().timestamp_millis();
                for (run_id, store) in &open_runs {
                    let shards = reissue_stragglers(store, run_id, queue, now_ms, policy)?;
                    if !shards.is_empty() {
                        summary.shards_reissued += shards.len() as u64;
                        idle = 0;
                        report(PollEvent::Reissued {
                            run_id: run_id.clone(),
                            shards,
                        });
                    }
                }
            }
            idle += 1;
            if options.idle_polls_before_exit.is_some_and(|n| idle >= n) {
                return Ok(summary);
            }
            continue;
        };
        idle = 0;
        handled += 1;
        let result = with_heartbeat(
            queue,
            &message.receipt_handle,
            options.visibility_seconds,
            || runner.run_body(&message.body),
        );
        match result {
            Ok(done) => {
                // The marker is written: the message may go. A crash before this line
                // only means the shard runs again and rewrites identical files.
                queue.delete(&message.receipt_handle)?;
                summary.shards_done += 1;
                let task = &done.marker.task;
                report(PollEvent::ShardDone {
                    run_id: task.run_id.clone(),
                    shard: task.shard,
                    loan_months: done.marker.loan_months,
                    seconds: done.marker.seconds,
                });
                open_runs.insert(task.run_id.clone(), done.store.clone());
                // Only the shard that completed its group reduces the group, and only the
                // record that completed the run tries the reduce: a check per shard would
                // list every marker of the run each time.
                let mut recorded = done.recorded;
                if let worker::progress::Recorded::GroupComplete(group) = recorded {
                    match super::reduce_group(&done.store, &task.run_id, group) {
                        Ok(r) => recorded = r,
                        Err(e) => report(PollEvent::ReduceFailed {
                            run_id: task.run_id.clone(),
                            error: format!("{e:#}"),
                        }),
                    }
                }
                if recorded != worker::progress::Recorded::RunComplete {
                    continue;
                }
                match try_reduce(&done.store, &task.run_id, &options.worker_id, now(), aws) {
                    Ok(ReduceOutcome::Reduced(_)) => {
                        open_runs.remove(&task.run_id);
                        summary.runs_reduced += 1;
                        report(PollEvent::Reduced {
                            run_id: task.run_id.clone(),
                        });
                    }
                    Ok(ReduceOutcome::AlreadyClaimed | ReduceOutcome::AlreadyReduced) => {
                        open_runs.remove(&task.run_id);
                    }
                    Ok(ReduceOutcome::NotReady { .. }) => {}
                    Err(e) => report(PollEvent::ReduceFailed {
                        run_id: task.run_id.clone(),
                        error: format!("{e:#}"),
                    }),
                }
            }
            Err(e) => {
                // A retryable failure stays: the message reappears after the visibility
                // timeout and, after the queue's maxReceiveCount, moves to the
                // dead-letter queue. One that cannot succeed goes there now, with its
                // reason, and leaves the shard queue.
                summary.shards_failed += 1;
                let mut dead_lettered = false;
                if !e.retryable() {
                    if dead_letter.is_none() {
                        // Without one (or without access to it), the redrive policy decides.
                        dead_letter = Some(queue.dead_letter_queue().unwrap_or_default());
                    }
                    if let Some(Some(dlq)) = &dead_letter {
                        let sent = worker::dead_letter::send(
                            &aws.get(),
                            dlq.url(),
                            &message.body,
                            &e.to_string(),
                        );
                        if sent.is_ok() {
                            queue.delete(&message.receipt_handle)?;
                            dead_lettered = true;
                        }
                    }
                }
                let task = serde_json::from_str::<worker::manifest::ShardMessage>(&message.body)
                    .ok()
                    .map(|m| m.task);
                report(PollEvent::ShardFailed {
                    run_id: task.as_ref().map(|t| t.run_id.clone()),
                    shard: task.as_ref().map(|t| t.shard),
                    message_id: message.message_id.clone(),
                    error: e.to_string(),
                    retryable: e.retryable(),
                    dead_lettered,
                });
            }
        }
    }
}

/// Reduces the groups of `run_id` that are done but not reduced, then the run if it is
/// complete. Whether this call reduced the run.
fn finish_reduces(
    store: &worker::store::Store,
    run_id: &str,
    claimant: &str,
    now: chrono::DateTime<chrono::Utc>,
    aws: &LazyAws,
) -> Result<bool> {
    if worker::report::RunReport::get(store, run_id)?.is_some() {
        return Ok(false);
    }
    for group in worker::progress::groups_awaiting_reduce(store, run_id)? {
        super::reduce_group(store, run_id, group)?;
    }
    if !worker::progress::run_complete(store, run_id)? {
        return Ok(false);
    }
    Ok(matches!(
        try_reduce(store, run_id, claimant, now, aws)?,
        ReduceOutcome::Reduced(_)
    ))
}

/// Runs `work` while a thread renews the message's visibility every third of
/// `visibility_seconds`, so a long shard is not delivered to a second worker.
fn with_heartbeat<T>(
    queue: &Queue,
    receipt_handle: &str,
    visibility_seconds: i32,
    work: impl FnOnce() -> T,
) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let period = Duration::from_millis((visibility_seconds.max(1) as u64 * 1000) / 3);
    std::thread::scope(|scope| {
        let stop_flag = stop.clone();
        scope.spawn(move || {
            let tick = Duration::from_millis(50);
            let mut waited = Duration::ZERO;
            while !stop_flag.load(Ordering::Relaxed) {
                std::thread::sleep(tick);
                waited += tick;
                if waited >= period {
                    waited = Duration::ZERO;
                    // A failed renewal is not fatal: at worst the shard runs twice.
                    let _ = queue.extend_visibility(receipt_handle, visibility_seconds);
                }
            }
        });
        let out = work();
        stop.store(true, Ordering::Relaxed);
        out
    })
}
