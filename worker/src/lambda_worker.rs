//! The worker function's event handling, kept apart from the Lambda runtime so tests
//! drive it with the event fixtures: an SQS batch (answered with partial batch failures,
//! so only failed records return to the queue) or a direct invocation with one shard
//! message. Logs are JSON lines, and each shard also emits a CloudWatch Embedded Metric
//! Format line for its duration and throughput.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::manifest::ShardMessage;
use crate::runner::{RunnerError, ShardDone, ShardRunner};

/// What the worker function is invoked with.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// An SQS batch from the event source mapping.
    Batch(SqsEvent),
    /// One shard message, invoked directly (the pre-traffic hook, `mcflow invoke`).
    Direct(ShardMessage),
}

impl<'de> Deserialize<'de> for WorkerEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use crate::serve::{RecordsOr, records_or};
        let event = Value::deserialize(d)?;
        match records_or(event, "an SQS batch", "a shard message") {
            Ok(RecordsOr::Records(batch)) => Ok(WorkerEvent::Batch(batch)),
            Ok(RecordsOr::Direct(message)) => Ok(WorkerEvent::Direct(message)),
            Err(e) => Err(serde::de::Error::custom(e)),
        }
    }
}

impl WorkerEvent {
    /// Parses an event document, as the runtime would.
    pub fn from_json(event: Value) -> Result<WorkerEvent, RunnerError> {
        serde_json::from_value(event).map_err(|e| RunnerError::Malformed(e.to_string()))
    }
}

/// Facts of the invocation environment, read by the shell.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Milliseconds since the Unix epoch, for metric timestamps.
    pub now_ms: i64,
    /// Peak resident memory so far, MB.
    pub peak_memory_mb: f64,
    /// `AWS_LAMBDA_FUNCTION_NAME` and `AWS_LAMBDA_FUNCTION_VERSION`: the dimensions of
    /// the `ShardFailed` metric, so a canary's alarm sees the new version's failures only.
    pub function_name: String,
    pub function_version: String,
}

/// A sink for poison records: sends a body and its reason to the dead-letter queue.
pub type DeadLetter<'a> = &'a dyn Fn(&str, &str) -> Result<(), String>;

/// Handles one invocation. A batch stops taking records near `deadline` (the
/// invocation's, less a margin); a record that fails for good goes to `dead_letter`, when
/// there is one, instead of back to the queue. `log` receives each output line.
pub fn handle_event(
    runner: &ShardRunner,
    pool: &rayon::ThreadPool,
    event: WorkerEvent,
    deadline: Option<Instant>,
    dead_letter: Option<DeadLetter<'_>>,
    env: &dyn Fn() -> Environment,
    log: &mut dyn FnMut(String),
) -> Result<Value, RunnerError> {
    match event {
        WorkerEvent::Batch(event) => {
            let mut response = SqsBatchResponse::default();
            // The longest record so far: a record is only started when one that long
            // would still finish before the deadline. The rest go back to the queue as
            // batch item failures, to be delivered again, instead of being cut off by
            // the invocation's timeout with the whole batch.
            let mut longest = Duration::ZERO;
            for record in event.records {
                let id = record.message_id.clone().unwrap_or_default();
                if deadline.is_some_and(|d| Instant::now() + longest >= d) {
                    log(json!({
                        "level": "WARN",
                        "message": "deadline near: record returned to the queue unstarted",
                        "message_id": id,
                    })
                    .to_string());
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                    continue;
                }
                let body = record.body.as_deref().unwrap_or("");
                let started = Instant::now();
                let result = pool.install(|| runner.run_body(body));
                longest = longest.max(started.elapsed());
                log_outcome(&result, Some(&id), Some(body), env(), log);
                if let (Err(e), Some(send)) = (&result, dead_letter)
                    && !e.retryable()
                {
                    // Not retryable: straight to the dead-letter queue with its reason;
                    // answered as handled, so SQS deletes it from the shard queue.
                    match send(body, &e.to_string()) {
                        Ok(()) => {
                            log(json!({
                                "level": "ERROR",
                                "message": "shard dead-lettered",
                                "message_id": id,
                                "reason": e.to_string(),
                            })
                            .to_string());
                            continue;
                        }
                        Err(why) => log(json!({
                            "level": "ERROR",
                            "message": "cannot dead-letter: the record returns to the queue",
                            "message_id": id,
                            "error": why,
                        })
                        .to_string()),
                    }
                }
                if result.is_err() {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
            Ok(serde_json::to_value(response).expect("serialises"))
        }
        WorkerEvent::Direct(message) => {
            let result = pool.install(|| runner.run(&message));
            let body = serde_json::to_string(&message).unwrap_or_default();
            log_outcome(&result, None, Some(&body), env(), log);
            let done = result?;
            Ok(serde_json::to_value(&done.marker).expect("serialises"))
        }
    }
}

fn log_outcome(
    result: &Result<ShardDone, RunnerError>,
    message_id: Option<&str>,
    body: Option<&str>,
    env: Environment,
    log: &mut dyn FnMut(String),
) {
    match result {
        Ok(done) => {
            let m = &done.marker;
            if let Some(why) = &done.progress_error {
                log(json!({
                    "level": "WARN",
                    "message": "shard done but not recorded in the run's progress; the sweeper will",
                    "run_id": m.task.run_id,
                    "shard": m.task.shard,
                    "error": why,
                })
                .to_string());
            }
            let rate = if m.seconds > 0.0 {
                m.loan_months as f64 / m.seconds
            } else {
                0.0
            };
            log(json!({
                "level": "INFO",
                "message": "shard done",
                "run_id": m.task.run_id,
                "shard": m.task.shard,
                "message_id": message_id,
                "loan_months": m.loan_months,
                "seconds": m.seconds,
                "loan_months_per_second": rate,
                "peak_memory_mb": env.peak_memory_mb,
            })
            .to_string());
            log(json!({
                "_aws": {
                    "Timestamp": env.now_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": "mcflow",
                        "Dimensions": [["Function"]],
                        "Metrics": [
                            {"Name": "ShardSeconds", "Unit": "Seconds"},
                            {"Name": "LoanMonthsPerSecond", "Unit": "Count/Second"},
                            {"Name": "PeakMemoryMB", "Unit": "Megabytes"}
                        ]
                    }]
                },
                "Function": "worker",
                "ShardSeconds": m.seconds,
                "LoanMonthsPerSecond": rate,
                "PeakMemoryMB": env.peak_memory_mb,
            })
            .to_string());
        }
        Err(e) => {
            // The run and shard, when the body says (a malformed one does not).
            let task = body
                .and_then(|b| serde_json::from_str::<ShardMessage>(b).ok())
                .map(|m| m.task);
            let (run_id, shard) = (
                task.as_ref().map(|t| t.run_id.clone()),
                task.as_ref().map(|t| t.shard),
            );
            log(json!({
                "level": "ERROR",
                "message": "shard failed",
                "run_id": run_id,
                "shard": shard,
                "message_id": message_id,
                "error": e.to_string(),
                "retryable": e.retryable(),
            })
            .to_string());
            // One count per failed shard, by function version: with partial batch
            // responses a failed shard is a successful invocation, so Lambda's own
            // Errors metric never sees it; this is what the canary's alarm watches.
            log(json!({
                "_aws": {
                    "Timestamp": env.now_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": "mcflow",
                        "Dimensions": [["FunctionName", "FunctionVersion"]],
                        "Metrics": [{"Name": SHARD_FAILED_METRIC, "Unit": "Count"}]
                    }]
                },
                "FunctionName": env.function_name,
                "FunctionVersion": env.function_version,
                "ShardFailed": 1,
                "run_id": run_id,
                "shard": shard,
                "retryable": e.retryable(),
            })
            .to_string());
        }
    }
}

/// The EMF metric counting failed shards (template.yaml's `WorkerShardFailedAlarm`).
pub const SHARD_FAILED_METRIC: &str = "ShardFailed";

/// The invocation environment now: the clock and this process's peak memory.
pub fn current_environment() -> Environment {
    Environment {
        now_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        peak_memory_mb: crate::process_memory::peak_mb(),
        function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        function_version: std::env::var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_default(),
    }
}
