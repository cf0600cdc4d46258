//! The shard runner: a message from any transport is checked against its run's manifest,
//! run, and on failure leaves a record that says whether a retry can help.

use std::sync::Arc;

use worker::aws::LazyAws;
use worker::layout::failure_key;
use worker::runner::{FailureRecord, RunnerError, ShardRunner};
use worker::shard::read_marker;

use super::{Fixture, RUN_ID};

fn runner() -> ShardRunner {
    ShardRunner::new(Arc::new(LazyAws::default()))
}

fn failure(f: &Fixture, shard: u32) -> Option<FailureRecord> {
    f.store
        .get(&failure_key(RUN_ID, shard))
        .expect("get")
        .map(|b| serde_json::from_slice(&b).expect("a failure record"))
}

#[test]
fn a_message_runs_its_shard_and_clears_an_earlier_failure() {
    let f = Fixture::new(40, 20);
    let runner = runner();
    // A task that disagrees with the manifest fails, is recorded, and is not retryable.
    let mut wrong = f.message(1);
    wrong.task.horizon_months += 1;
    let err = runner.run(&wrong).expect_err("horizon differs");
    assert!(
        matches!(err, RunnerError::Mismatch { shard: 1, .. }),
        "{err}"
    );
    assert!(!err.retryable());
    let record = failure(&f, 1).expect("a failure record");
    assert!(!record.retryable);
    assert!(record.error.contains("horizon"), "{}", record.error);
    // The right message completes the shard and removes the record.
    let done = runner.run(&f.message(1)).expect("runs");
    assert_eq!(done.marker.task, f.tasks[1]);
    assert!(done.marker.loan_months > 0);
    assert_eq!(
        read_marker(&f.store, RUN_ID, 1).expect("read"),
        Some(done.marker)
    );
    assert_eq!(failure(&f, 1), None);
}

#[test]
fn a_shard_beyond_the_plan_and_a_missing_manifest_are_told_apart() {
    let f = Fixture::new(20, 20);
    let runner = runner();
    let mut beyond = f.message(0);
    beyond.task.shard = 7;
    let err = runner.run(&beyond).expect_err("beyond the plan");
    assert!(err.to_string().contains("the run has 1 shards"), "{err}");
    let mut other_run = f.message(0);
    other_run.task.run_id = "no-such-run".into();
    let err = runner.run(&other_run).expect_err("no manifest");
    assert!(matches!(err, RunnerError::Manifest(_)), "{err}");
    assert!(
        !err.retryable(),
        "a missing manifest needs a resubmission, not a retry"
    );
}

#[test]
fn a_malformed_body_is_refused_without_a_retry() {
    let err = runner().run_body("{\"store\": 42}").expect_err("malformed");
    assert!(matches!(err, RunnerError::Malformed(_)), "{err}");
    assert!(!err.retryable());
}
