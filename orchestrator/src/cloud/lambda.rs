//! The orchestrator and reducer functions' event handling, apart from the Lambda runtime
//! so that tests drive it with the `data/events/` fixtures.
//!
//! - Orchestrator: an EventBridge scheduled event (the submit request in `detail`), an
//!   EventBridge Scheduler target input, or a direct invocation, all carrying the same
//!   request: `{"config_s3": "s3://..."}` or `{"config": {name, text, files}}`, plus
//!   `"portfolio"` and optional shard sizes; also `{"continue_dispatch": ...}` (its own
//!   follow-up) and `{"reissue_stragglers": {"run_id": ...}}` (for a schedule).
//! - Reducer: S3 notifications of completion markers (keys arrive URL-encoded), or a
//!   direct `{"run_id": "..."}`; each run named is reduced at most once.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use worker::aws::LazyAws;
use worker::manifest::ConfigText;
use worker::portfolio_file::PortfolioSource;
use worker::store::{Store, parse_s3_uri};

use super::queue::Queue;
use super::{DispatchOptions, ReduceOutcome, Submission, continue_dispatch, submit, try_reduce};
use crate::plan::Sizing;

/// Environment variables the functions read (the template sets them).
pub const ENV_STORE: &str = "MCFLOW_STORE";
pub const ENV_QUEUE_URL: &str = "MCFLOW_QUEUE_URL";

/// The functions' configuration, from their environment.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    /// `s3://bucket/prefix` where runs live.
    pub store: String,
    pub queue_url: String,
}

/// A submit request, as a schedule or a person sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    #[serde(default)]
    pub config_s3: Option<String>,
    #[serde(default)]
    pub config: Option<ConfigText>,
    pub portfolio: String,
    #[serde(default)]
    pub shards: Option<u32>,
    #[serde(default)]
    pub loans_per_shard: Option<u64>,
    #[serde(default)]
    pub scenarios_per_shard: Option<u32>,
}

/// Reads a configuration from a store, capturing the files it names from the same store.
pub fn capture_config(store: &Store, key: &str) -> Result<ConfigText> {
    let text = String::from_utf8(store.get_required(key)?.to_vec())
        .with_context(|| format!("{} is not UTF-8 text", store.describe(key)))?;
    let files = std::cell::RefCell::new(std::collections::BTreeMap::new());
    worker::config::RunConfig::parse_with(&text, Path::new(key), &|p| {
        let k = p.display().to_string();
        let bytes = store
            .get_required(&k)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::NotFound, e.to_string()))?;
        let s = String::from_utf8(bytes.to_vec())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))?;
        files.borrow_mut().insert(k, s);
        Ok(bytes.to_vec())
    })
    .with_context(|| format!("invalid run configuration {}", store.describe(key)))?;
    Ok(ConfigText {
        name: key.to_string(),
        text,
        files: files.into_inner(),
    })
}

/// A follow-up invocation's event: the dispatch of `run_id` continues at `next_shard`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContinueDispatch {
    pub run_id: String,
    pub next_shard: u32,
}

/// Handles one orchestrator invocation: validates and submits the run, sending shard
/// messages until `deadline`. When the deadline stops the fan-out, the answer carries
/// `"continuation": {"continue_dispatch": {...}}`, the event the shell invokes the
/// function with next (asynchronously), so any number of shards fans out.
pub fn handle_orchestrator_event(
    aws: &LazyAws,
    env: &FunctionEnv,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<std::time::Instant>,
) -> Result<Value> {
    let dispatch = DispatchOptions {
        deadline,
        ..Default::default()
    };
    if let Some(r) = event.get("reissue_stragglers") {
        let run_id = r["run_id"]
            .as_str()
            .context("reissue_stragglers needs {\"run_id\": ...}")?;
        let store = Store::open(&env.store, || aws.get())?;
        let queue = Queue::new(aws.get(), &env.queue_url);
        let shards = crate::cloud::stragglers::reissue_stragglers(
            &store,
            run_id,
            &queue,
            now.timestamp_millis(),
            &crate::cloud::stragglers::StragglerPolicy::default(),
        )?;
        return Ok(json!({"run_id": run_id, "reissued": shards}));
    }
    if let Some(c) = event.get("continue_dispatch") {
        let c: ContinueDispatch =
            serde_json::from_value(c.clone()).context("not a continue_dispatch request")?;
        let store = Store::open(&env.store, || aws.get())?;
        let queue = Queue::new(aws.get(), &env.queue_url);
        let p = continue_dispatch(&store, &queue, &c.run_id, c.next_shard, &dispatch)?;
        return Ok(dispatch_answer(
            &c.run_id,
            p.sent,
            (!p.complete).then_some(p.next_shard),
        ));
    }
    // EventBridge rules wrap the request in `detail`; Scheduler and direct calls do not.
    let request = match event.get("detail") {
        Some(detail) if event.get("detail-type").is_some() => detail.clone(),
        _ => event,
    };
    let request: SubmitRequest = serde_json::from_value(request).context("not a submit request")?;
    let config = match (&request.config_s3, &request.config) {
        (Some(uri), None) => {
            let (bucket, key) =
                parse_s3_uri(uri).with_context(|| format!("config_s3 {uri:?} is not s3://"))?;
            capture_config(&Store::s3(aws.get(), bucket, "")?, key)?
        }
        (None, Some(c)) => c.clone(),
        _ => bail!("give exactly one of config_s3 and config"),
    };
    let store = Store::open(&env.store, || aws.get())?;
    let queue = Queue::new(aws.get(), &env.queue_url);
    let source = PortfolioSource::open(&request.portfolio, || aws.get())?;
    let sizing = match (
        request.shards,
        request.loans_per_shard,
        request.scenarios_per_shard,
    ) {
        (Some(n), _, _) => Sizing::Count(n),
        (None, loans, scenarios) => Sizing::PerShard { loans, scenarios },
    };
    let submitted = submit(
        &Submission {
            config,
            portfolio: &request.portfolio,
            store: &store,
            sizing,
            default_run_date: now.date_naive(),
            submitted_at: now,
            dispatch,
        },
        &source,
        &queue,
    )?;
    let mut answer = dispatch_answer(
        &submitted.manifest.run_id,
        submitted.sent,
        submitted.next_shard,
    );
    answer["shards"] = submitted.manifest.shards.into();
    Ok(answer)
}

fn dispatch_answer(run_id: &str, sent: u32, next_shard: Option<u32>) -> Value {
    let mut answer = json!({"run_id": run_id, "sent": sent});
    if let Some(next_shard) = next_shard {
        answer["continuation"] = json!({"continue_dispatch": ContinueDispatch {
            run_id: run_id.to_string(),
            next_shard,
        }});
    }
    answer
}

/// Decodes an S3 event key (`+` for space, `%XX` escapes).
pub fn url_decode(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&key[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Run ids named by completion-marker keys of the store in an S3 event.
fn runs_in_s3_event(store_root: &str, event: &Value) -> Vec<String> {
    let prefix = parse_s3_uri(store_root)
        .map(|(_, p)| p.trim_matches('/').to_string())
        .unwrap_or_default();
    let mut runs = BTreeSet::new();
    for record in event["Records"].as_array().into_iter().flatten() {
        let Some(raw) = record["s3"]["object"]["key"].as_str() else {
            continue;
        };
        let key = url_decode(raw);
        let key = if prefix.is_empty() {
            key.as_str()
        } else {
            match key.strip_prefix(&prefix).and_then(|k| k.strip_prefix('/')) {
                Some(k) => k,
                None => continue,
            }
        };
        let Some(rest) = key.strip_prefix("_partials/run_id=") else {
            continue;
        };
        let Some((run_id, _)) = rest.split_once('/') else {
            continue;
        };
        if worker::shard::shard_of_marker(run_id, key).is_some() {
            runs.insert(run_id.to_string());
        }
    }
    runs.into_iter().collect()
}

/// Handles one reducer invocation.
pub fn handle_reducer_event(
    aws: &LazyAws,
    env: &FunctionEnv,
    event: Value,
    claimant: &str,
    now: DateTime<Utc>,
) -> Result<Value> {
    let runs = if event.get("Records").is_some() {
        runs_in_s3_event(&env.store, &event)
    } else {
        let id = event["run_id"]
            .as_str()
            .context("a direct reducer call needs {\"run_id\": ...}")?;
        vec![id.to_string()]
    };
    let store = Store::open(&env.store, || aws.get())?;
    let mut results = Vec::new();
    for run_id in runs {
        let outcome = try_reduce(&store, &run_id, claimant, now, aws)
            .with_context(|| format!("reducing run {run_id}"))?;
        results.push(match outcome {
            ReduceOutcome::NotReady { done, planned } => {
                json!({"run_id": run_id, "outcome": "not_ready", "done": done, "planned": planned})
            }
            ReduceOutcome::AlreadyClaimed => {
                json!({"run_id": run_id, "outcome": "already_claimed"})
            }
            ReduceOutcome::Reduced(report) => json!({
                "run_id": run_id,
                "outcome": "reduced",
                "loan_months": report.loan_months,
            }),
        });
    }
    Ok(json!({ "runs": results }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_event_keys() {
        assert_eq!(
            url_decode("_partials/run_id%3Dr1/shard-00003/_SUCCESS.json"),
            "_partials/run_id=r1/shard-00003/_SUCCESS.json"
        );
        assert_eq!(url_decode("a+b%2"), "a b%2");
    }

    #[test]
    fn finds_runs_of_marker_keys_under_the_store_prefix() {
        let event = json!({"Records": [
            {"s3": {"object": {"key": "res/_partials/run_id%3Dr1/shard-00000/_SUCCESS.json"}}},
            {"s3": {"object": {"key": "res/_partials/run_id%3Dr1/shard-00000/loans.parquet"}}},
            {"s3": {"object": {"key": "other/_partials/run_id%3Dr2/shard-00000/_SUCCESS.json"}}}
        ]});
        assert_eq!(
            runs_in_s3_event("s3://b/res", &event),
            vec!["r1".to_string()]
        );
    }
}

/// The pre-traffic hook's verdict on a new worker version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookVerdict {
    Succeeded,
    Failed(String),
}

/// Runs the golden shard through `invoke_worker` (the new version, invoked with a direct
/// shard message) and compares its output with the shipped digest. Any failure on the
/// way is a failed verdict, so that CodeDeploy rolls back.
pub fn pretraffic_check(
    store: &Store,
    now: DateTime<Utc>,
    invoke_worker: &dyn Fn(Value) -> Result<Value>,
) -> HookVerdict {
    let run = || -> Result<()> {
        let message = crate::cloud::golden::prepare(store, now)?;
        invoke_worker(serde_json::to_value(&message)?)
            .context("invoking the new worker version")?;
        crate::cloud::golden::verify(store)
    };
    match run() {
        Ok(()) => HookVerdict::Succeeded,
        Err(e) => HookVerdict::Failed(format!("{e:#}")),
    }
}
