//! The worker function's events, as Lambda delivers them: an SQS batch answered with
//! partial batch failures, and a direct invocation with one shard message.

use std::sync::Arc;

use serde_json::{Value, json};
use worker::aws::LazyAws;
use worker::lambda_worker::{Environment, WorkerEvent, handle_event};
use worker::runner::ShardRunner;
use worker::shard::read_marker;

use super::{Fixture, RUN_ID};

fn environment() -> Environment {
    Environment {
        now_ms: 1_764_028_800_000,
        peak_memory_mb: 1.0,
        function_name: "mcflow-worker".into(),
        function_version: "7".into(),
    }
}

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
}

/// The shipped SQS fixture's shape, with one real shard message of `f` and one malformed
/// record; and the malformed record's message id.
fn batch_with_one_malformed_record(f: &Fixture) -> (Value, Value) {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../data/events/sqs.json")).expect("fixture");
    event["Records"][0]["body"] = serde_json::to_string(&f.message(0)).expect("json").into();
    event["Records"][1]["body"] = "{\"store\": 42}".into();
    let bad_id = event["Records"][1]["messageId"].clone();
    (event, bad_id)
}

/// `key` of each object of a JSON array; a missing array or key fails the test.
fn field_of_each(array: &Value, key: &str) -> Vec<Value> {
    array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|o| {
            o.get(key)
                .cloned()
                .unwrap_or_else(|| panic!("no {key} in {o}"))
        })
        .collect()
}

fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect()
}

#[test]
fn a_batch_fails_only_its_malformed_record_and_emits_metrics() {
    let f = Fixture::new(40, 20);
    let (event, bad_id) = batch_with_one_malformed_record(&f);
    let event = WorkerEvent::from_json(event).expect("an SQS batch");
    assert!(matches!(event, WorkerEvent::Batch(_)));
    let runner = ShardRunner::new(Arc::new(LazyAws::default()));
    let mut lines = Vec::new();
    let response = handle_event(
        &runner,
        &pool(),
        event,
        None,
        None,
        &environment,
        &mut |l| lines.push(l),
    )
    .expect("handled");
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": bad_id}]})
    );
    assert!(read_marker(&f.store, RUN_ID, 0).expect("read").is_some());
    let lines = json_lines(&lines);
    let emf = lines
        .iter()
        .find(|v| v.get("_aws").is_some())
        .expect("an EMF line");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "mcflow");
    let rate = emf
        .get("LoanMonthsPerSecond")
        .and_then(Value::as_f64)
        .expect("LoanMonthsPerSecond");
    assert!(rate > 0.0);
    let error = lines
        .iter()
        .find(|v| v.get("level").and_then(Value::as_str) == Some("ERROR"))
        .expect("an error line");
    assert_eq!(error.get("retryable"), Some(&json!(false)));
    assert_eq!(error.get("message_id"), Some(&bad_id));
    // The failed record is counted once, by function version, for the canary's alarm;
    // the successful one is not.
    let failed: Vec<&Value> = lines
        .iter()
        .filter(|v| v.get(worker::lambda_worker::SHARD_FAILED_METRIC).is_some())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let metric = failed[0];
    assert_eq!(metric["ShardFailed"], 1);
    assert_eq!(
        (&metric["FunctionName"], &metric["FunctionVersion"]),
        (&json!("mcflow-worker"), &json!("7"))
    );
    assert_eq!(
        metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["FunctionName", "FunctionVersion"]])
    );
}

#[test]
fn a_direct_invocation_answers_with_the_marker_or_fails() {
    let f = Fixture::new(20, 20);
    let runner = ShardRunner::new(Arc::new(LazyAws::default()));
    let direct = serde_json::to_value(f.message(0)).expect("json");
    let event = WorkerEvent::from_json(direct).expect("a shard message");
    assert!(matches!(event, WorkerEvent::Direct(_)));
    let answer = handle_event(
        &runner,
        &pool(),
        event,
        None,
        None,
        &environment,
        &mut |_| {},
    )
    .expect("handled");
    let marker = read_marker(&f.store, RUN_ID, 0)
        .expect("read")
        .expect("marker");
    assert_eq!(answer, serde_json::to_value(&marker).expect("json"));
    // Neither an SQS batch nor a shard message: refused, saying what is missing.
    let err = WorkerEvent::from_json(json!({"hello": "world"})).expect_err("neither");
    assert!(err.to_string().contains("nor a shard message"), "{err}");
    assert!(err.to_string().contains("store"), "{err}");
    // A batch with a bad record list says so.
    let err = WorkerEvent::from_json(json!({"Records": 3})).expect_err("bad batch");
    assert!(err.to_string().contains("not an SQS batch"), "{err}");
}

#[test]
fn a_batch_past_its_deadline_returns_its_records_unstarted() {
    let f = Fixture::new(40, 20);
    let mut event: Value =
        serde_json::from_str(include_str!("../../../data/events/sqs.json")).expect("fixture");
    for (i, record) in event["Records"]
        .as_array_mut()
        .expect("records")
        .iter_mut()
        .enumerate()
    {
        record["body"] = serde_json::to_string(&f.message(i as u32))
            .expect("json")
            .into();
    }
    let ids = field_of_each(&event["Records"], "messageId");
    assert_eq!(ids.len(), 2);
    let runner = ShardRunner::new(Arc::new(LazyAws::default()));
    let run = |deadline| {
        let event = WorkerEvent::from_json(event.clone()).expect("an SQS batch");
        let mut lines = Vec::new();
        let response = handle_event(
            &runner,
            &pool(),
            event,
            deadline,
            None,
            &environment,
            &mut |l| lines.push(l),
        )
        .expect("handled");
        (response, json_lines(&lines))
    };
    // The deadline has passed: no record starts, and every one goes back to the queue.
    let (response, lines) = run(Some(std::time::Instant::now()));
    let failed = field_of_each(&response["batchItemFailures"], "itemIdentifier");
    assert_eq!(failed, ids);
    assert!(read_marker(&f.store, RUN_ID, 0).expect("read").is_none());
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.get("level").and_then(Value::as_str) == Some("WARN"))
            .count(),
        2
    );
    // A far deadline: both run.
    let far = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    let (response, _) = run(Some(far));
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert!(read_marker(&f.store, RUN_ID, 1).expect("read").is_some());
}

#[test]
fn a_poison_record_goes_to_the_dead_letter_queue_with_its_reason_not_back() {
    let f = Fixture::new(40, 20);
    let (event, bad_id) = batch_with_one_malformed_record(&f);
    let runner = ShardRunner::new(Arc::new(LazyAws::default()));
    let sent = std::cell::RefCell::new(Vec::new());
    let send = |body: &str, reason: &str| {
        sent.borrow_mut()
            .push((body.to_string(), reason.to_string()));
        Ok(())
    };
    let batch = || WorkerEvent::from_json(event.clone()).expect("an SQS batch");
    let mut lines = Vec::new();
    let response = handle_event(
        &runner,
        &pool(),
        batch(),
        None,
        Some(&send),
        &environment,
        &mut |l| lines.push(l),
    )
    .expect("handled");
    // Dead-lettered, so answered as handled: SQS deletes it instead of retrying it.
    assert_eq!(response, json!({"batchItemFailures": []}));
    let sent = sent.into_inner();
    assert_eq!(sent.len(), 1, "only the poison record: {sent:?}");
    assert_eq!(sent[0].0, "{\"store\": 42}");
    assert!(
        sent[0].1.starts_with("malformed shard message"),
        "{}",
        sent[0].1
    );
    let lines = json_lines(&lines);
    assert!(lines.iter().any(|l| {
        l.get("message").and_then(Value::as_str) == Some("shard dead-lettered")
            && l.get("message_id") == Some(&bad_id)
    }));
    // When the dead-letter queue cannot take it, the record goes back to the queue.
    let refuse = |_: &str, _: &str| Err("access denied".to_string());
    let response = handle_event(
        &runner,
        &pool(),
        batch(),
        None,
        Some(&refuse),
        &environment,
        &mut |_| {},
    )
    .expect("handled");
    assert_eq!(
        field_of_each(&response["batchItemFailures"], "itemIdentifier"),
        vec![bad_id]
    );
}
