//! The orchestrator, reducer and pre-traffic functions' typed events and their handling,
//! apart from the Lambda runtime so that tests drive it with the `data/events/` fixtures.
//!
//! - Orchestrator ([`OrchestratorEvent`]): an EventBridge scheduled event (the submit
//!   request in `detail`), an EventBridge Scheduler target input, or a direct invocation,
//!   all carrying the same [`SubmitRequest`]; also `{"continue_dispatch": ...}` (its own
//!   follow-up) and `{"reissue_stragglers": {"run_id": ...}}` (for a schedule).
//! - Reducer ([`ReducerEvent`]): S3 notifications of completion markers (keys arrive
//!   URL-encoded), or a direct `{"run_id": "..."}`; each run named is reduced at most once.
//! - Pre-traffic hook ([`HookEvent`]): CodeDeploy's lifecycle event.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::Error as _;
use serde_json::{Value, json};
use worker::aws::LazyAws;
use worker::manifest::ConfigText;
use worker::portfolio_file::PortfolioSource;
use worker::serve::{RecordsOr, records_or};
use worker::store::{Store, parse_s3_uri};

use super::queue::Queue;
use super::{DispatchOptions, ReduceOutcome, Submission, continue_dispatch, submit, try_reduce};
use crate::run::plan::Sizing;

/// Environment variables the functions read (the template sets them).
pub const ENV_STORE: &str = "MCFLOW_STORE";
pub const ENV_QUEUE_URL: &str = "MCFLOW_QUEUE_URL";
/// The reducer's alias, which the sweeper invokes (`<name>-reducer:live`).
pub const ENV_REDUCER_FUNCTION: &str = "MCFLOW_REDUCER_FUNCTION";
/// `post` makes the hook binary the post-traffic hook; anything else, the pre-traffic.
pub const ENV_HOOK_STAGE: &str = "MCFLOW_HOOK_STAGE";

/// The functions' configuration, from their environment.
#[derive(Debug, Clone)]
pub struct FunctionEnv {
    /// `s3://bucket/prefix` where runs live.
    pub store: String,
    pub queue_url: String,
    /// The reducer the sweeper invokes; without one, the sweeper reduces in-process.
    pub reducer_function: Option<String>,
}

/// A submit request, as a schedule or a person sends it.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
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
    /// The business date: `YYYY-MM-DD`, or a timestamp such as a schedule's
    /// `<aws.scheduler.scheduled-time>`, read as a date in `time_zone`. Given, it names
    /// the run `<config run_id>-<as_of>` (unless `run_id` is given).
    #[serde(default)]
    pub as_of: Option<String>,
    /// IANA time zone of `as_of` when it is a timestamp (the schedule's own zone);
    /// default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
}

/// The business date `as_of` names: a date as given, or the calendar date of an RFC 3339
/// timestamp in `time_zone` (UTC when none). A schedule firing at 20:00 New York time
/// fires at 01:00 UTC the next day; its business date is still the New York date.
pub fn business_date(as_of: &str, time_zone: Option<&str>) -> Result<NaiveDate> {
    if let Ok(date) = NaiveDate::parse_from_str(as_of, "%Y-%m-%d") {
        return Ok(date);
    }
    let instant: jiff::Timestamp = as_of.parse().with_context(|| {
        format!("as_of {as_of:?} is neither YYYY-MM-DD nor an RFC 3339 timestamp")
    })?;
    let zone = match time_zone {
        Some(name) => jiff::tz::TimeZone::get(name)
            .with_context(|| format!("time_zone {name:?} is not an IANA time zone"))?,
        None => jiff::tz::TimeZone::UTC,
    };
    let d = instant.to_zoned(zone).date();
    NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)
        .with_context(|| format!("as_of {as_of:?} is out of range"))
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

/// A run named by its id: `{"run_id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct RunRef {
    pub run_id: String,
}

/// A direct request to the reducer: `{"run_id": "..."}` reduces the run,
/// `{"run_id": "...", "group": 3}` one completion group of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceRequest {
    pub run_id: String,
    #[serde(default)]
    pub group: Option<u32>,
}

/// What the orchestrator function is invoked with.
#[derive(Debug, Clone)]
pub enum OrchestratorEvent {
    /// `{"sweep": {}}`, from the periodic schedule.
    Sweep(crate::cloud::sweeper::SweepRequest),
    /// `{"reissue_stragglers": {"run_id": ...}}`, from a schedule.
    ReissueStragglers(RunRef),
    /// `{"continue_dispatch": {...}}`, the function's own follow-up.
    ContinueDispatch(ContinueDispatch),
    /// A submit request: inside an EventBridge rule's event (`detail`), or as a
    /// Scheduler target's input or a direct invocation's payload.
    Submit(SubmitRequest),
}

impl<'de> Deserialize<'de> for OrchestratorEvent {
    /// Picks the shape by its distinguishing key, then deserialises that shape, so a
    /// typo in a submit request is reported as that request's error ("unknown field
    /// `shardz`"), not as "matches no shape".
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let field = |key: &str| v.get(key).cloned();
        let parsed = if let Some(r) = field("sweep") {
            serde_json::from_value(r).map(OrchestratorEvent::Sweep)
        } else if let Some(r) = field("reissue_stragglers") {
            serde_json::from_value(r).map(OrchestratorEvent::ReissueStragglers)
        } else if let Some(c) = field("continue_dispatch") {
            serde_json::from_value(c).map(OrchestratorEvent::ContinueDispatch)
        } else if v.get("detail-type").is_some() {
            serde_json::from_value::<EventBridgeEvent<SubmitRequest>>(v)
                .map(|e| OrchestratorEvent::Submit(e.detail))
        } else {
            serde_json::from_value(v).map(OrchestratorEvent::Submit)
        };
        parsed.map_err(|e| D::Error::custom(format!("not an orchestrator event: {e}")))
    }
}

/// What the reducer function is invoked with.
#[derive(Debug, Clone)]
pub enum ReducerEvent {
    /// Completion markers written (the bucket's notification).
    Notification(S3Event),
    /// A direct request to reduce one run, or one completion group of it.
    Direct(ReduceRequest),
}

impl<'de> Deserialize<'de> for ReducerEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let event = Value::deserialize(d)?;
        match records_or(event, "an S3 notification", "{\"run_id\": ...}") {
            Ok(RecordsOr::Records(n)) => Ok(ReducerEvent::Notification(n)),
            Ok(RecordsOr::Direct(r)) => Ok(ReducerEvent::Direct(r)),
            Err(e) => Err(D::Error::custom(e)),
        }
    }
}

/// CodeDeploy's lifecycle hook event, as the pre-traffic function receives it.
#[derive(Debug, Clone, Deserialize)]
pub struct HookEvent {
    #[serde(rename = "DeploymentId")]
    pub deployment_id: String,
    #[serde(rename = "LifecycleEventHookExecutionId")]
    pub execution_id: String,
}

/// Handles one orchestrator invocation: validates and submits the run, sending shard
/// messages until `deadline`. When the deadline stops the fan-out, the answer carries
/// `"continuation": {"continue_dispatch": {...}}`, the event the shell invokes the
/// function with next (asynchronously), so any number of shards fans out.
pub fn handle_orchestrator_event(
    aws: &LazyAws,
    env: &FunctionEnv,
    event: OrchestratorEvent,
    now: DateTime<Utc>,
    deadline: Option<std::time::Instant>,
) -> Result<Value> {
    let dispatch = DispatchOptions {
        deadline,
        ..Default::default()
    };
    let store = Store::open(&env.store, || aws.get())?;
    let queue = Queue::new(aws.get(), &env.queue_url);
    let request = match event {
        OrchestratorEvent::Sweep(_) => {
            let trigger = |request: &ReduceRequest| -> Result<()> {
                match &env.reducer_function {
                    Some(f) => {
                        let payload = serde_json::to_value(request)?;
                        invoke_function(&aws.get(), f, &payload, Invocation::Queue).map(|_| ())
                    }
                    None => match request.group {
                        Some(g) => super::reduce_group(&store, &request.run_id, g).map(|_| ()),
                        None => {
                            try_reduce(&store, &request.run_id, "sweeper", now, aws).map(|_| ())
                        }
                    },
                }
            };
            let report = crate::cloud::sweeper::sweep(
                &store,
                &queue,
                now.timestamp_millis(),
                &crate::cloud::stragglers::StragglerPolicy::default(),
                &trigger,
            )?;
            return Ok(serde_json::to_value(report)?);
        }
        OrchestratorEvent::ReissueStragglers(RunRef { run_id }) => {
            let shards = crate::cloud::stragglers::reissue_stragglers(
                &store,
                &run_id,
                &queue,
                now.timestamp_millis(),
                &crate::cloud::stragglers::StragglerPolicy::default(),
            )?;
            return Ok(json!({"run_id": run_id, "reissued": shards}));
        }
        OrchestratorEvent::ContinueDispatch(c) => {
            let p = continue_dispatch(&store, &queue, &c.run_id, c.next_shard, &dispatch)?;
            return Ok(dispatch_answer(
                &c.run_id,
                p.sent,
                (!p.complete).then_some(p.next_shard),
            ));
        }
        OrchestratorEvent::Submit(request) => request,
    };
    let config = match (&request.config_s3, &request.config) {
        (Some(uri), None) => {
            let (bucket, key) =
                parse_s3_uri(uri).with_context(|| format!("config_s3 {uri:?} is not s3://"))?;
            capture_config(&Store::s3(aws.get(), bucket, "")?, key)?
        }
        (None, Some(c)) => c.clone(),
        _ => bail!("give exactly one of config_s3 and config"),
    };
    let source = PortfolioSource::open(&request.portfolio, || aws.get())?;
    let sizing = Sizing::from_counts(
        request.shards,
        request.loans_per_shard,
        request.scenarios_per_shard,
        Sizing::WHOLE,
    );
    let as_of = request
        .as_of
        .as_deref()
        .map(|a| business_date(a, request.time_zone.as_deref()))
        .transpose()?;
    let submitted = submit(
        &Submission {
            config,
            portfolio: &request.portfolio,
            store: &store,
            sizing,
            as_of,
            run_id: request.run_id.clone(),
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
    answer["run_date"] = submitted.manifest.run_date.clone().into();
    if let Some(done) = submitted.already_submitted {
        // A repeated delivery (the same scheduled time twice): nothing was sent.
        answer["already_submitted"] = true.into();
        answer["done"] = done.into();
    }
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

/// Decodes an S3 notification's object key: S3 sends keys form-encoded (`+` for a
/// space, `%XX` escapes).
pub fn decode_event_key(key: &str) -> String {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The reduces an S3 notification asks for: a run for each `runs/<id>/run.ready`, a
/// completion group for each `runs/<id>/progress/group-NNNNN.ready`, of the store.
fn requests_in_notification(store_root: &str, event: &S3Event) -> Vec<ReduceRequest> {
    let prefix = parse_s3_uri(store_root)
        .map(|(_, p)| p.trim_matches('/').to_string())
        .unwrap_or_default();
    let mut runs = BTreeSet::new();
    for record in &event.records {
        let Some(raw) = record.s3.object.key.as_deref() else {
            continue;
        };
        let key = decode_event_key(raw);
        let key = if prefix.is_empty() {
            key.as_str()
        } else {
            match key.strip_prefix(&prefix).and_then(|k| k.strip_prefix('/')) {
                Some(k) => k,
                None => continue,
            }
        };
        if let Some(run_id) = worker::layout::parse_ready_key(key) {
            runs.insert((run_id.to_string(), None));
        } else if let Some((run_id, group)) = worker::layout::parse_group_ready_key(key) {
            runs.insert((run_id.to_string(), Some(group)));
        }
    }
    runs.into_iter()
        .map(|(run_id, group)| ReduceRequest { run_id, group })
        .collect()
}

/// Handles one reducer invocation.
pub fn handle_reducer_event(
    aws: &LazyAws,
    env: &FunctionEnv,
    event: ReducerEvent,
    claimant: &str,
    now: DateTime<Utc>,
) -> Result<Value> {
    let requests = match event {
        ReducerEvent::Notification(n) => requests_in_notification(&env.store, &n),
        ReducerEvent::Direct(r) => vec![r],
    };
    let store = Store::open(&env.store, || aws.get())?;
    let mut results = Vec::new();
    for ReduceRequest { run_id, group } in requests {
        if let Some(group) = group {
            let recorded = super::reduce_group(&store, &run_id, group)?;
            let complete = recorded == worker::progress::Recorded::RunComplete;
            results.push(json!({"run_id": run_id, "group": group, "outcome": "group_reduced", "run_complete": complete}));
            // The last group's reduce goes on to the run's (its run.ready notification
            // will then find the run reduced).
            if !complete {
                continue;
            }
        }
        let outcome = try_reduce(&store, &run_id, claimant, now, aws)
            .with_context(|| format!("reducing run {run_id}"))?;
        results.push(match outcome {
            ReduceOutcome::NotReady { done, planned } => {
                json!({"run_id": run_id, "outcome": "not_ready", "done": done, "planned": planned})
            }
            ReduceOutcome::AlreadyClaimed => {
                json!({"run_id": run_id, "outcome": "already_claimed"})
            }
            ReduceOutcome::AlreadyReduced => {
                json!({"run_id": run_id, "outcome": "already_reduced"})
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
            decode_event_key("_partials/run_id%3Dr1/shard-00003/_SUCCESS.json"),
            "_partials/run_id=r1/shard-00003/_SUCCESS.json"
        );
        assert_eq!(decode_event_key("a+b%2"), "a b%2");
    }

    #[test]
    fn finds_runs_of_ready_keys_under_the_store_prefix() {
        // The shipped notification, repeated with three keys: a ready object of the
        // store, a progress document beside it, and a ready object under another prefix.
        let mut event: Value = serde_json::from_str(crate::cloud::events::sample(
            crate::cloud::events::EventKind::S3,
        ))
        .expect("fixture");
        let record = event["Records"][0].clone();
        let keys = [
            "res/runs/r1/run.ready",
            "res/runs/r1/progress/groups.json",
            "other/runs/r2/progress/group-00001.ready",
            "other/runs/r2/run.ready",
        ];
        event["Records"] = keys
            .iter()
            .map(|k| {
                let mut r = record.clone();
                r["s3"]["object"]["key"] = (*k).into();
                r
            })
            .collect();
        let event: ReducerEvent = serde_json::from_value(event).expect("an S3 notification");
        let ReducerEvent::Notification(n) = event else {
            panic!("not read as a notification: {event:?}");
        };
        assert_eq!(
            requests_in_notification("s3://b/res", &n),
            vec![ReduceRequest {
                run_id: "r1".into(),
                group: None
            }]
        );
    }

    #[test]
    fn a_schedules_business_date_is_its_own_time_zones_date() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        assert_eq!(
            business_date("2026-11-30", None).expect("date"),
            d(2026, 11, 30)
        );
        // 20:00 in New York (EST, UTC-5) is 01:00 UTC the next day.
        let late = "2026-12-01T01:00:00Z";
        assert_eq!(business_date(late, None).expect("utc"), d(2026, 12, 1));
        assert_eq!(
            business_date(late, Some("America/New_York")).expect("new york"),
            d(2026, 11, 30)
        );
        // Summer time (EDT, UTC-4): 23:30 New York is 03:30 UTC.
        assert_eq!(
            business_date("2026-07-02T03:30:00Z", Some("America/New_York")).expect("edt"),
            d(2026, 7, 1)
        );
        let e = business_date("30/11/2026", None).expect_err("bad date");
        assert!(e.to_string().contains("30/11/2026"), "{e}");
        let e = business_date(late, Some("Mars/Olympus")).expect_err("bad zone");
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn orchestrator_events_are_told_apart_and_typos_are_named() {
        let e: OrchestratorEvent =
            serde_json::from_value(json!({"reissue_stragglers": {"run_id": "r1"}}))
                .expect("reissue");
        assert!(
            matches!(e, OrchestratorEvent::ReissueStragglers(RunRef { ref run_id }) if run_id == "r1")
        );
        let e: OrchestratorEvent =
            serde_json::from_value(json!({"continue_dispatch": {"run_id": "r1", "next_shard": 7}}))
                .expect("continue");
        assert!(matches!(
            e,
            OrchestratorEvent::ContinueDispatch(ContinueDispatch { next_shard: 7, .. })
        ));
        let e: OrchestratorEvent = serde_json::from_value(json!({
            "detail-type": "Scheduled Event", "source": "aws.events",
            "detail": {"config_s3": "s3://b/run.toml", "portfolio": "s3://b/p.parquet"}
        }))
        .expect("eventbridge");
        assert!(
            matches!(e, OrchestratorEvent::Submit(SubmitRequest { ref portfolio, .. }) if portfolio == "s3://b/p.parquet")
        );
        let typo = serde_json::from_value::<OrchestratorEvent>(
            json!({"config_s3": "s3://b/run.toml", "portfolio": "p", "shardz": 3}),
        )
        .expect_err("a typo");
        assert!(typo.to_string().contains("shardz"), "{typo}");
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

/// Sends the golden shard through the live path (the shard queue, whose mapping invokes
/// the `live` alias: after the traffic shift, the new version) and checks every partial
/// file against the shipped digest once its marker appears, or fails at `deadline`.
pub fn posttraffic_check(
    store: &Store,
    queue: &Queue,
    now: DateTime<Utc>,
    deadline: std::time::Instant,
) -> HookVerdict {
    let run = || -> Result<()> {
        let message = crate::cloud::golden::prepare(store, now)?;
        queue.send_all(&[serde_json::to_string(&message)?], 1)?;
        let marker = worker::layout::marker_key(&message.task.run_id, message.task.shard);
        while store.get(&marker)?.is_none() {
            if std::time::Instant::now() >= deadline {
                bail!(
                    "the golden shard sent to {} did not complete ({} never appeared)",
                    queue.url(),
                    store.describe(&marker)
                );
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        crate::cloud::golden::verify(store)
    };
    match run() {
        Ok(()) => HookVerdict::Succeeded,
        Err(e) => HookVerdict::Failed(format!("{e:#}")),
    }
}

/// How [`invoke_function`] calls: waiting for the answer, or queueing the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// `RequestResponse`: the function's answer, or its error.
    Wait,
    /// `Event`: Lambda queues the event and answers at once.
    Queue,
}

/// Invokes `function` (a name, ARN or qualified version) with `payload`. With
/// [`Invocation::Wait`], returns the answer, and a function error is an error.
pub fn invoke_function(
    aws: &worker::aws::Aws,
    function: &str,
    payload: &Value,
    how: Invocation,
) -> Result<Value> {
    use aws_sdk_lambda::types::InvocationType;
    let lambda = aws_sdk_lambda::Client::new(aws.sdk_config());
    let call = lambda
        .invoke()
        .function_name(function)
        .invocation_type(match how {
            Invocation::Wait => InvocationType::RequestResponse,
            Invocation::Queue => InvocationType::Event,
        })
        .payload(aws_sdk_lambda::primitives::Blob::new(payload.to_string()))
        .send();
    let out = aws.block_on(call).map_err(|e| {
        anyhow::anyhow!(
            "invoking {function}: {}",
            aws_sdk_lambda::error::DisplayErrorContext(e)
        )
    })?;
    let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
    if let Some(kind) = out.function_error {
        bail!("{function}: {kind}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// Tells CodeDeploy the hook's verdict on the deployment `event` names.
pub fn report_hook_verdict(
    aws: &worker::aws::Aws,
    event: &HookEvent,
    verdict: &HookVerdict,
) -> Result<()> {
    use aws_sdk_codedeploy::types::LifecycleEventStatus;
    let status = match verdict {
        HookVerdict::Succeeded => LifecycleEventStatus::Succeeded,
        HookVerdict::Failed(_) => LifecycleEventStatus::Failed,
    };
    let codedeploy = aws_sdk_codedeploy::Client::new(aws.sdk_config());
    let call = codedeploy
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(&event.deployment_id)
        .lifecycle_event_hook_execution_id(&event.execution_id)
        .status(status)
        .send();
    aws.block_on(call).map_err(|e| {
        anyhow::anyhow!(
            "reporting the hook's verdict: {}",
            aws_sdk_codedeploy::error::DisplayErrorContext(e)
        )
    })?;
    Ok(())
}
