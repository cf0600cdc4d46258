//! The cloud path on a real emulator (moto on 127.0.0.1, see `emulator`): fan-out,
//! poll-mode workers, the exactly-once reduce, failures, retries and the Lambda handlers.

use std::path::Path;
use std::time::Instant;

use orchestrator::cloud::poll::{PollOptions, run_poll_worker};
use orchestrator::cloud::queue::Queue;
use orchestrator::cloud::{ReduceOutcome, RunState, Submission, status, submit, try_reduce};
use orchestrator::run::plan::Sizing;
use worker::manifest::ConfigText;
use worker::portfolio_file::PortfolioSource;
use worker::runner::ShardRunner;
use worker::store::Store;

use super::emulator::{Cloud, inputs, now, poll_options};

fn submit_run(cloud: &Cloud, config: &Path, portfolio: &str, store: &Store, sizing: Sizing) -> u32 {
    let (text, _) = ConfigText::capture(config).expect("config");
    let source = PortfolioSource::open(portfolio, || cloud.aws.get()).expect("source");
    let submitted = submit(
        &Submission {
            config: text,
            portfolio,
            store,
            sizing,
            as_of: None,
            run_id: None,
            default_run_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
            submitted_at: now(),
            dispatch: orchestrator::cloud::DispatchOptions {
                concurrency: 4,
                ..Default::default()
            },
        },
        &source,
        &cloud.queue,
    )
    .expect("submit");
    submitted.sent
}

/// The local embedded run of the same inputs, for comparison.
fn local_run(dir: &Path, portfolio: &Path, config: &Path) -> Store {
    let store = Store::local(dir.join("local-out"));
    let cfg = worker::config::RunConfig::load(config).expect("config");
    orchestrator::run::local::run_sharded(
        orchestrator::run::local::LocalRun {
            portfolio: &PortfolioSource::File(portfolio.to_path_buf()),
            config: &cfg,
            store: &store,
            default_run_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
            sizing: Sizing::Count(1),
            inputs: Default::default(),
            overwrite: false,
            fresh: false,
        },
        &|_| {},
    )
    .expect("local run");
    store
}

fn table_keys(store: &Store) -> Vec<String> {
    let mut keys: Vec<String> = [
        "portfolio_cashflows",
        "scenario_results",
        "loan_results",
        "loan_risk",
    ]
    .iter()
    .flat_map(|t| store.list(t).expect("list"))
    .collect();
    keys.sort();
    keys
}

#[test]
fn two_poll_workers_and_the_reducer_match_the_local_run_bit_for_bit() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 300);
    // Risk bumps are scenario blocks the workers run like any other: the risk figures
    // and `loan_risk` must match too.
    let mut text = std::fs::read_to_string(&config).expect("config");
    text += "[risk]\nprice_pct = 100.5\neffective = { shift_bp = 25 }\n\
             key_rates_years = [5]\nshocks_bp = [100]\n";
    std::fs::write(&config, text).expect("config with risk");
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/portfolio.parquet");
    let store = cloud.store("results");
    let sent = submit_run(
        &cloud,
        &config,
        &uri,
        &store,
        Sizing::PerShard {
            loans: Some(70),
            scenarios: Some(4),
        },
    );
    // 5 loan ranges x 3 scenario ranges (8 random + 1 stress, pairs kept together).
    assert!(sent >= 10, "{sent} shards");
    let runner = ShardRunner::new(cloud.aws.clone());
    let summaries: Vec<_> = std::thread::scope(|s| {
        let workers: Vec<_> = ["a", "b"]
            .iter()
            .map(|id| {
                let (queue, runner, aws) = (&cloud.queue, &runner, &cloud.aws);
                s.spawn(move || {
                    run_poll_worker(queue, runner, aws, &poll_options(id), &now, &|_| {})
                        .expect("worker")
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("join"))
            .collect()
    });
    let done: u64 = summaries.iter().map(|s| s.shards_done).sum();
    let reduced: u64 = summaries.iter().map(|s| s.runs_reduced).sum();
    assert_eq!(done, u64::from(sent), "{summaries:?}");
    assert_eq!(reduced, 1, "exactly one reduce: {summaries:?}");
    assert!(
        summaries.iter().all(|s| s.shards_done > 0),
        "both workers worked: {summaries:?}"
    );

    let local = local_run(dir.path(), &portfolio, &config);
    let keys = table_keys(&local);
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert_eq!(table_keys(&store), keys);
    for key in &keys {
        assert_eq!(
            store.get(key).expect("get"),
            local.get(key).expect("get"),
            "{key} differs between the cloud and the local run"
        );
    }
    let cloud_report = worker::report::RunReport::get(&store, "cloud-it")
        .expect("report")
        .expect("present");
    let local_report = worker::report::RunReport::get(&local, "cloud-it")
        .expect("report")
        .expect("present");
    assert_eq!(cloud_report.pv, local_report.pv);
    assert_eq!(cloud_report.loss, local_report.loss);
    assert_eq!(cloud_report.totals, local_report.totals);
    assert_eq!(cloud_report.risk, local_report.risk);
    // The config checksum is the one a local run of the same config records.
    let (captured, _) = ConfigText::capture(&config).expect("config");
    assert_eq!(cloud_report.inputs.config_sha256, captured.config_sha256());
    let risk = cloud_report.risk.as_ref().expect("risk");
    assert!(risk.effective_duration.is_some() && risk.shocks.len() == 1);
    assert_eq!(cloud_report.shards.completed, sent);
    // The reducer writes the report page and its charts as the local run does: the same
    // charts (drawn from the same figures), and a page showing the cloud run's report.
    for chart in ["cashflow_fan.svg", "pv_histogram.svg", "pv_by_shift.svg"] {
        let key = worker::layout::run_file_key("cloud-it", chart);
        let drawn = store.get(&key).expect("get");
        assert!(drawn.is_some(), "the reducer wrote no {key}");
        assert_eq!(drawn, local.get(&key).expect("get"), "{key}");
    }
    let page_key = worker::layout::run_file_key("cloud-it", worker::layout::PAGE_FILE);
    let page = String::from_utf8(
        store
            .get(&page_key)
            .expect("get")
            .expect("report.html")
            .to_vec(),
    )
    .expect("utf-8");
    let pv_mean = orchestrator::page::figures::money(cloud_report.pv.as_ref().expect("pv").mean);
    assert!(
        page.contains(&format!("<span data-key=\"/pv/mean\">{pv_mean}</span>")),
        "the cloud page shows the PV mean {pv_mean}"
    );
    assert!(
        page.contains(&format!(">{uri}</span>")),
        "the page names {uri}"
    );
    // Stored as a page, so that it opens from the bucket instead of downloading.
    let content_type = {
        let a = cloud.aws.get();
        a.block_on(
            a.s3()
                .head_object()
                .bucket(&cloud.bucket)
                .key(format!("results/{page_key}"))
                .send(),
        )
        .expect("head report.html")
        .content_type
    };
    assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
    let st = status(&store, "cloud-it", Some(&cloud.queue)).expect("status");
    assert_eq!(st.state, RunState::Succeeded);
    assert_eq!((st.done, st.planned), (sent, sent));
    // Partials are gone once reduced, and a late trigger does nothing.
    assert!(store.list("_partials").expect("list").is_empty());
    assert_eq!(
        try_reduce(&store, "cloud-it", "late", now(), &cloud.aws).expect("late"),
        ReduceOutcome::AlreadyReduced
    );
}

fn message_body(store: &Store, run_id: &str, shard: u32) -> String {
    let manifest = worker::manifest::RunManifest::get(store, run_id).expect("manifest");
    let task = manifest.shard_tasks(store).expect("tasks")[shard as usize].clone();
    serde_json::to_string(&worker::manifest::ShardMessage {
        store: store.root(),
        task,
    })
    .expect("json")
}

/// Empties the shard queue (the tests below drive shards by hand).
fn drain(queue: &Queue) {
    while !queue.receive(10, 0, Some(60)).expect("receive").is_empty() {}
}

#[test]
fn duplicate_deliveries_count_once_and_concurrent_reducers_reduce_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 150);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("dup");
    let sent = submit_run(&cloud, &config, &uri, &store, Sizing::Count(3));
    drain(&cloud.queue);
    let runner = ShardRunner::new(cloud.aws.clone());
    for shard in 0..sent {
        let body = message_body(&store, "cloud-it", shard);
        let first = runner.run_body(&body).expect("first delivery");
        let second = runner.run_body(&body).expect("second delivery");
        assert_eq!(first.marker.loan_months, second.marker.loan_months);
    }
    let outcomes: Vec<ReduceOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let (store, aws) = (&store, &cloud.aws);
                s.spawn(move || try_reduce(store, "cloud-it", &format!("r{i}"), now(), aws))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join").expect("reduce"))
            .collect()
    });
    let reduced = outcomes
        .iter()
        .filter(|o| matches!(o, ReduceOutcome::Reduced(_)))
        .count();
    assert_eq!(reduced, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            ReduceOutcome::Reduced(_)
                | ReduceOutcome::AlreadyClaimed
                | ReduceOutcome::AlreadyReduced
        )),
        "{outcomes:?}"
    );
    let manifest = worker::manifest::RunManifest::get(&store, "cloud-it").expect("manifest");
    let report = worker::report::RunReport::get(&store, "cloud-it")
        .expect("get")
        .expect("report");
    assert_eq!(report.loan_months, manifest.planned_loan_months);
    assert_eq!(report.shards.completed, sent);
}

#[test]
fn poison_shards_dead_letter_fail_the_run_and_retry_completes_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(2, 1);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("poison");
    let sent = submit_run(&cloud, &config, &uri, &store, Sizing::Count(2));
    // The cause: the portfolio disappears after the run was submitted.
    cloud.store("").delete("inputs/p.parquet").expect("rm");
    let runner = ShardRunner::new(cloud.aws.clone());
    let options = PollOptions {
        visibility_seconds: 1,
        idle_polls_before_exit: Some(3),
        ..poll_options("w")
    };
    assert!(options.stragglers.is_none());
    let events = std::sync::Mutex::new(Vec::new());
    let summary = run_poll_worker(&cloud.queue, &runner, &cloud.aws, &options, &now, &|e| {
        events.lock().expect("events").push(e)
    })
    .expect("poll");
    assert_eq!(summary.shards_done, 0);
    // Each failure names its run and shard, read from the message.
    let mut failed: Vec<(Option<String>, Option<u32>)> = events
        .into_inner()
        .expect("events")
        .into_iter()
        .filter_map(|e| match e {
            orchestrator::cloud::poll::PollEvent::ShardFailed { run_id, shard, .. } => {
                Some((run_id, shard))
            }
            _ => None,
        })
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        (0..sent)
            .map(|k| (Some("cloud-it".to_string()), Some(k)))
            .collect::<Vec<_>>()
    );
    // Not retryable (the input is gone): each shard failed once and went straight to the
    // dead-letter queue with its reason, instead of waiting out the redrive policy.
    assert_eq!(summary.shards_failed, u64::from(sent), "{summary:?}");
    let dlq = cloud
        .queue
        .dead_letter_queue()
        .expect("redrive policy")
        .expect("a dead-letter queue");
    let a = cloud.aws.get();
    let sqs = aws_sdk_sqs::Client::new(a.sdk_config());
    let dead = a
        .block_on(
            sqs.receive_message()
                .queue_url(dlq.url())
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_attribute_names("All")
                .send(),
        )
        .expect("receive")
        .messages
        .unwrap_or_default();
    assert_eq!(dead.len(), sent as usize);
    for m in &dead {
        let reason = m
            .message_attributes
            .as_ref()
            .and_then(|a| a.get(worker::dead_letter::REASON_ATTRIBUTE))
            .and_then(|v| v.string_value.clone())
            .expect("a reason attribute");
        assert!(reason.contains("inputs/p.parquet"), "{reason}");
    }
    let st = status(&store, "cloud-it", Some(&cloud.queue)).expect("status");
    assert_eq!(st.state, RunState::Failed, "{st:?}");
    let failed: Vec<u32> = st.failed.iter().map(|f| f.shard).collect();
    assert_eq!(failed, (0..sent).collect::<Vec<_>>());
    assert!(st.failed.iter().all(|f| f.dead_lettered), "{st:?}");
    assert!(st.failed[0].error.contains("inputs/p.parquet"), "{st:?}");

    // Fix the cause, retry: only the failed shards go out again, and the run finishes.
    cloud.upload(&portfolio, "inputs/p.parquet");
    let reissued = orchestrator::cloud::retry(&store, "cloud-it", &cloud.queue, 4).expect("retry");
    assert_eq!(reissued, (0..sent).collect::<Vec<_>>());
    let summary =
        run_poll_worker(&cloud.queue, &runner, &cloud.aws, &options, &now, &|_| {}).expect("poll");
    assert_eq!(
        (summary.shards_done, summary.runs_reduced),
        (u64::from(sent), 1)
    );
    let st = status(&store, "cloud-it", Some(&cloud.queue)).expect("status");
    assert_eq!(st.state, RunState::Succeeded, "{st:?}");
}

#[test]
fn a_shard_abandoned_mid_run_is_redone_after_the_visibility_timeout() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(5, 1);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("killed");
    let sent = submit_run(&cloud, &config, &uri, &store, Sizing::Count(2));
    // A worker takes a message and dies before deleting it.
    let taken = cloud.queue.receive(1, 1, Some(1)).expect("receive");
    assert_eq!(taken.len(), 1);
    let runner = ShardRunner::new(cloud.aws.clone());
    let options = PollOptions {
        visibility_seconds: 5,
        idle_polls_before_exit: Some(3),
        ..poll_options("survivor")
    };
    let summary =
        run_poll_worker(&cloud.queue, &runner, &cloud.aws, &options, &now, &|_| {}).expect("poll");
    assert_eq!(summary.shards_done, u64::from(sent), "{summary:?}");
    assert_eq!(summary.runs_reduced, 1);
    let report = worker::report::RunReport::get(&store, "cloud-it")
        .expect("get")
        .expect("report");
    assert_eq!(report.shards.completed, sent);
}

#[test]
fn an_emulator_gone_mid_run_fails_clearly_and_marks_nothing_complete() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let mut cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("gone");
    submit_run(&cloud, &config, &uri, &store, Sizing::Count(1));
    let body = message_body(&store, "cloud-it", 0);
    cloud.moto.stop();
    let runner = ShardRunner::new(cloud.aws.clone());
    let err = runner.run_body(&body).expect_err("no emulator");
    assert!(err.retryable(), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("s3://mcflow-it/gone/runs/cloud-it/manifest.json"),
        "{text}"
    );
    let err = try_reduce(&store, "cloud-it", "r", now(), &cloud.aws).expect_err("no emulator");
    assert!(
        format!("{err:#}").contains("S3 GetObject on s3://mcflow-it/gone/runs/cloud-it/manifest.json failed: Connection refused"),
        "{err:#}"
    );
    assert!(
        format!("{err:#}").contains("hint: the service did not answer"),
        "{err:#}"
    );
}

#[test]
fn scheduled_orchestrator_and_s3_triggered_reducer_handlers_run_a_job() {
    use orchestrator::cloud::lambda::{
        FunctionEnv, ReducerEvent, handle_orchestrator_event, handle_reducer_event,
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    cloud.upload(&config, "configs/run.toml");
    cloud.upload(&dir.path().join("stress.csv"), "configs/stress.csv");
    let env = FunctionEnv {
        store: format!("s3://{}/res", cloud.bucket),
        queue_url: cloud.queue.url().to_string(),
        reducer_function: None,
    };
    let mut event: serde_json::Value = serde_json::from_str(orchestrator::cloud::events::sample(
        orchestrator::cloud::events::EventKind::Schedule,
    ))
    .expect("fixture");
    event["detail"] = serde_json::json!({
        "config_s3": format!("s3://{}/configs/run.toml", cloud.bucket),
        "portfolio": uri,
        "loans_per_shard": 50
    });
    let event = serde_json::from_value(event).expect("an orchestrator event");
    let out = handle_orchestrator_event(&cloud.aws, &env, event, now(), None).expect("submit");
    assert_eq!(out["run_id"], "cloud-it");
    let shards = out["sent"].as_u64().expect("sent");
    assert_eq!(shards, 2);
    let runner = ShardRunner::new(cloud.aws.clone());
    for m in cloud.queue.receive(10, 1, Some(60)).expect("receive") {
        runner.run_body(&m.body).expect("shard");
    }
    // The notification of the run's ready object, as S3 sends it (URL-encoded key).
    let mut s3: serde_json::Value = serde_json::from_str(orchestrator::cloud::events::sample(
        orchestrator::cloud::events::EventKind::S3,
    ))
    .expect("fixture");
    s3["Records"][0]["s3"]["object"]["key"] = "res/runs/cloud-it/run.ready".into();
    let s3: ReducerEvent = serde_json::from_value(s3).expect("an S3 notification");
    let first = handle_reducer_event(&cloud.aws, &env, s3.clone(), "a", now()).expect("reduce");
    assert_eq!(first["runs"][0]["outcome"], "reduced", "{first}");
    let again = handle_reducer_event(&cloud.aws, &env, s3, "b", now()).expect("reduce");
    assert_eq!(again["runs"][0]["outcome"], "already_reduced", "{again}");
    let direct = handle_reducer_event(
        &cloud.aws,
        &env,
        serde_json::from_value(serde_json::json!({"run_id": "cloud-it"})).expect("direct"),
        "c",
        now(),
    )
    .expect("reduce");
    assert_ne!(direct["runs"][0]["outcome"], "reduced", "{direct}");
}

#[test]
fn a_fan_out_stopped_by_its_deadline_continues_where_it_stopped() {
    use orchestrator::cloud::lambda::{FunctionEnv, handle_orchestrator_event};
    use orchestrator::cloud::{DispatchOptions, continue_dispatch};
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("fan");
    // A deadline already past: each call sends one chunk of 3 shards, then stops.
    let options = DispatchOptions {
        concurrency: 2,
        chunk_shards: 3,
        deadline: Some(Instant::now()),
    };
    let (text, _) = ConfigText::capture(&config).expect("config");
    let source = PortfolioSource::open(&uri, || cloud.aws.get()).expect("source");
    let first = submit(
        &Submission {
            config: text,
            portfolio: &uri,
            store: &store,
            sizing: Sizing::PerShard {
                loans: Some(10),
                scenarios: None,
            },
            as_of: None,
            run_id: None,
            default_run_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
            submitted_at: now(),
            dispatch: options,
        },
        &source,
        &cloud.queue,
    )
    .expect("submit");
    let shards = first.manifest.shards;
    assert_eq!(shards, 10);
    assert_eq!((first.sent, first.next_shard), (3, Some(3)));
    let second =
        continue_dispatch(&store, &cloud.queue, "cloud-it", 3, &options).expect("continue");
    assert_eq!(
        (second.sent, second.next_shard, second.complete),
        (3, 6, false)
    );
    // The function's continuation event finishes the rest (no deadline in tests).
    let env = FunctionEnv {
        store: store.root(),
        queue_url: cloud.queue.url().to_string(),
        reducer_function: None,
    };
    let event = serde_json::from_value(
        serde_json::json!({"continue_dispatch": {"run_id": "cloud-it", "next_shard": 6}}),
    )
    .expect("a continuation");
    let answer =
        handle_orchestrator_event(&cloud.aws, &env, event, now(), None).expect("continuation");
    assert_eq!(answer["sent"], 4);
    assert!(answer.get("continuation").is_none(), "{answer}");
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let batch = cloud.queue.receive(10, 0, Some(60)).expect("receive");
        if batch.is_empty() {
            break;
        }
        for m in batch {
            let msg: worker::manifest::ShardMessage = serde_json::from_str(&m.body).expect("msg");
            assert!(
                seen.insert(msg.task.shard),
                "shard {} sent twice",
                msg.task.shard
            );
        }
    }
    assert_eq!(seen, (0..shards).collect());
}

#[test]
fn an_idle_poll_worker_reissues_a_straggler_and_the_run_finishes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(5, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("slow");
    let sent = submit_run(&cloud, &config, &uri, &store, Sizing::Count(3));
    // A slow worker holds one message for a minute and makes no progress.
    let held = cloud.queue.receive(1, 1, Some(60)).expect("receive");
    assert_eq!(held.len(), 1);
    let runner = ShardRunner::new(cloud.aws.clone());
    let options = PollOptions {
        idle_polls_before_exit: Some(4),
        stragglers: Some(orchestrator::cloud::stragglers::StragglerPolicy {
            factor: 3.0,
            grace_seconds: 1.0,
            min_done: 1,
        }),
        ..poll_options("fast")
    };
    let summary =
        run_poll_worker(&cloud.queue, &runner, &cloud.aws, &options, &now, &|_| {}).expect("poll");
    assert_eq!(summary.shards_reissued, 1, "{summary:?}");
    assert_eq!(summary.shards_done, u64::from(sent), "{summary:?}");
    assert_eq!(summary.runs_reduced, 1, "{summary:?}");
    // The slow worker's late copy would rewrite identical bytes; the run is complete.
    let report = worker::report::RunReport::get(&store, "cloud-it")
        .expect("get")
        .expect("report");
    assert_eq!(report.shards.completed, sent);
}

/// Runs every queued shard message with one runner, then asks the reducer for `run_id`.
fn run_queued_and_reduce(
    cloud: &Cloud,
    env: &orchestrator::cloud::lambda::FunctionEnv,
    run_id: &str,
) -> serde_json::Value {
    let runner = ShardRunner::new(cloud.aws.clone());
    loop {
        let batch = cloud.queue.receive(10, 1, Some(60)).expect("receive");
        if batch.is_empty() {
            break;
        }
        for m in batch {
            runner.run_body(&m.body).expect("shard");
            cloud.queue.delete(&m.receipt_handle).expect("delete");
        }
    }
    orchestrator::cloud::lambda::handle_reducer_event(
        &cloud.aws,
        env,
        serde_json::from_value(serde_json::json!({ "run_id": run_id })).expect("direct"),
        "reducer",
        now(),
    )
    .expect("reduce")
}

#[test]
fn a_daily_schedule_runs_two_days_with_a_refreshed_portfolio_and_ignores_a_repeat() {
    use orchestrator::cloud::lambda::{FunctionEnv, handle_orchestrator_event};
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    cloud.upload(&config, "configs/run.toml");
    cloud.upload(&dir.path().join("stress.csv"), "configs/stress.csv");
    let env = FunctionEnv {
        store: format!("s3://{}/res", cloud.bucket),
        queue_url: cloud.queue.url().to_string(),
        reducer_function: None,
    };
    // The Scheduler target's input as template.yaml writes it, with the context
    // attribute `<aws.scheduler.scheduled-time>` filled in: 06:00 New York is 11:00 UTC.
    let scheduled = |time: &str| -> orchestrator::cloud::lambda::OrchestratorEvent {
        serde_json::from_value(serde_json::json!({
            "config_s3": format!("s3://{}/configs/run.toml", cloud.bucket),
            "portfolio": uri,
            "loans_per_shard": 50,
            "as_of": time,
            "time_zone": "America/New_York"
        }))
        .expect("a scheduler input")
    };
    let store = Store::s3(cloud.aws.get(), &cloud.bucket, "res").expect("store");

    let day1 = handle_orchestrator_event(
        &cloud.aws,
        &env,
        scheduled("2026-11-30T11:00:00Z"),
        now(),
        None,
    )
    .expect("day 1");
    assert_eq!(day1["run_id"], "cloud-it-2026-11-30", "{day1}");
    assert_eq!(day1["run_date"], "2026-11-30", "{day1}");
    assert_eq!(day1["sent"], 2, "{day1}");
    // The same scheduled time delivered again (Scheduler retries at least once): nothing
    // is sent, and the queue holds only the first delivery's two messages.
    let repeat = handle_orchestrator_event(
        &cloud.aws,
        &env,
        scheduled("2026-11-30T11:00:00Z"),
        now(),
        None,
    )
    .expect("repeat");
    assert_eq!(repeat["sent"], 0, "{repeat}");
    assert_eq!(repeat["already_submitted"], true, "{repeat}");
    let reduced = run_queued_and_reduce(&cloud, &env, "cloud-it-2026-11-30");
    assert_eq!(reduced["runs"][0]["outcome"], "reduced", "{reduced}");

    // Day 2: the portfolio was refreshed overnight (more loans) under the same key.
    let refreshed = dir.path().join("refreshed.parquet");
    worker::portfolio_file::write_portfolio_parquet(
        &refreshed,
        &engine::sample::synthetic_loans(120, 9),
    )
    .expect("portfolio");
    cloud.upload(&refreshed, "inputs/p.parquet");
    let day2 = handle_orchestrator_event(
        &cloud.aws,
        &env,
        scheduled("2026-12-01T11:00:00Z"),
        now(),
        None,
    )
    .expect("day 2");
    assert_eq!(day2["run_id"], "cloud-it-2026-12-01", "{day2}");
    assert_eq!(day2["sent"], 3, "{day2}");
    let reduced = run_queued_and_reduce(&cloud, &env, "cloud-it-2026-12-01");
    assert_eq!(reduced["runs"][0]["outcome"], "reduced", "{reduced}");

    // Both days are there, each in its own run_date partition, each readable.
    for (run_id, date, loans) in [
        ("cloud-it-2026-11-30", "2026-11-30", 100),
        ("cloud-it-2026-12-01", "2026-12-01", 120),
    ] {
        let report = worker::report::RunReport::get(&store, run_id)
            .expect("get")
            .expect("report");
        assert_eq!((report.run_date.as_str(), report.loans), (date, loans));
        let key = worker::layout::table_key(
            worker::results_parquet::LOAN_TABLE,
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date"),
            run_id,
        );
        let bytes = store
            .get(&key)
            .expect("get")
            .expect("loan_results partition");
        let rows: usize = worker::parquet_file::decode_batches(bytes)
            .expect("parquet")
            .iter()
            .map(|b| b.num_rows())
            .sum();
        assert_eq!(rows, loans as usize, "{key}");
    }
}

/// Every AWS request (S3 and SQS, retries included) of a whole run of `shards`
/// one-loan shards: submit, four concurrent workers, the reduce. Per shard.
fn requests_per_shard(shards: usize) -> f64 {
    use worker::progress::Recorded;
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), shards);
    let cloud = Cloud::new(5, 300);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("count");
    let before = cloud.aws.get().requests_sent();
    let sent = submit_run(
        &cloud,
        &config,
        &uri,
        &store,
        Sizing::PerShard {
            loans: Some(1),
            scenarios: None,
        },
    );
    assert_eq!(sent as usize, shards);
    let runner = ShardRunner::new(cloud.aws.clone());
    let progress_errors = std::sync::Mutex::new(Vec::new());
    let mut completed_by: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (cloud, runner, progress_errors) = (&cloud, &runner, &progress_errors);
                s.spawn(move || {
                    let mut completed = Vec::new();
                    loop {
                        let batch = cloud.queue.receive(10, 0, Some(300)).expect("receive");
                        if batch.is_empty() {
                            return completed;
                        }
                        for m in batch {
                            let done = runner.run_body(&m.body).expect("shard");
                            if let Some(why) = &done.progress_error {
                                progress_errors.lock().expect("lock").push(why.clone());
                            }
                            cloud.queue.delete(&m.receipt_handle).expect("delete");
                            // As the reducer does on a group's ready notification.
                            let mut recorded = done.recorded;
                            if let Recorded::GroupComplete(g) = recorded {
                                recorded =
                                    orchestrator::cloud::reduce_group(&done.store, "cloud-it", g)
                                        .expect("group reduce");
                            }
                            if recorded == Recorded::RunComplete {
                                completed.push(done.marker.task.shard);
                            }
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("join"))
            .collect()
    });
    // A progress update that gave up (its retry budget spent while the emulator was
    // slow) leaves the shard done but unrecorded; in production the sweeper reconciles
    // the progress documents with the markers. So does a lost update: moto checks a
    // conditional PUT's If-Match and writes in two steps, so two workers racing on one
    // group document can both succeed (S3 itself is atomic here). Reconcile from the
    // markers on the store, as the sweeper does, counted like the rest.
    let progress_errors = progress_errors.into_inner().expect("lock");
    // The reconcile is the emulator's repair, not the completion path being counted:
    // its requests are left out of the count.
    let reconcile_started = cloud.aws.get().requests_sent();
    if !progress_errors.is_empty() || completed_by.is_empty() {
        eprintln!(
            "progress updates that gave up: {progress_errors:?}; run completed by a worker: {}; reconciling",
            !completed_by.is_empty()
        );
        let manifest = worker::manifest::RunManifest::get(&store, "cloud-it").expect("manifest");
        let marked = orchestrator::cloud::completed_shards(&store, &manifest).expect("markers");
        assert_eq!(marked.len(), shards, "every shard ran and wrote its marker");
        for recorded in worker::progress::reconcile(&store, "cloud-it", shards as u32, &marked)
            .expect("reconcile")
        {
            let mut recorded = recorded;
            if let Recorded::GroupComplete(g) = recorded {
                recorded =
                    orchestrator::cloud::reduce_group(&store, "cloud-it", g).expect("group reduce");
            }
            if recorded == Recorded::RunComplete {
                completed_by.push(u32::MAX);
            }
        }
    }
    let reconcile_requests = cloud.aws.get().requests_sent() - reconcile_started;
    // A shard's record completed the run (a redelivered shard, recorded again, would
    // report the completed run too: recording is idempotent).
    assert!(
        !completed_by.is_empty(),
        "no shard completed the run; progress errors: {progress_errors:?}"
    );
    let outcome = try_reduce(&store, "cloud-it", "counted", now(), &cloud.aws).expect("reduce");
    assert!(matches!(outcome, ReduceOutcome::Reduced(_)), "{outcome:?}");
    let requests = cloud.aws.get().requests_sent() - before - reconcile_requests;
    requests as f64 / shards as f64
}

#[test]
fn completion_costs_the_same_requests_per_shard_at_100_and_1000_shards() {
    let small = requests_per_shard(100);
    let large = requests_per_shard(1000);
    eprintln!("AWS requests per shard: {small:.2} at 100 shards, {large:.2} at 1,000 shards");
    assert!(
        (large / small - 1.0).abs() <= 0.10,
        "requests per shard grew from {small:.2} (100 shards) to {large:.2} (1,000 shards)"
    );
}

#[test]
fn the_sweeper_reduces_a_run_whose_ready_notification_was_lost() {
    use orchestrator::cloud::lambda::{FunctionEnv, handle_orchestrator_event};
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 90);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("swept");
    let sent = submit_run(&cloud, &config, &uri, &store, Sizing::Count(3));
    let runner = ShardRunner::new(cloud.aws.clone());
    for m in cloud.queue.receive(10, 1, Some(60)).expect("receive") {
        runner.run_body(&m.body).expect("shard");
        cloud.queue.delete(&m.receipt_handle).expect("delete");
    }
    // Every shard is done and run.ready exists, but no reducer ever heard of it.
    assert!(worker::progress::run_complete(&store, "cloud-it").expect("read"));
    drain(&cloud.queue);
    assert!(
        worker::report::RunReport::get(&store, "cloud-it")
            .expect("get")
            .is_none()
    );
    let env = FunctionEnv {
        store: store.root(),
        queue_url: cloud.queue.url().to_string(),
        reducer_function: None,
    };
    let sweep = || {
        let event = serde_json::from_value(serde_json::json!({"sweep": {}})).expect("a sweep");
        handle_orchestrator_event(&cloud.aws, &env, event, now(), None).expect("sweep")
    };
    let first = sweep();
    assert_eq!(
        first["reduce_triggered"],
        serde_json::json!(["cloud-it"]),
        "{first}"
    );
    let report = worker::report::RunReport::get(&store, "cloud-it")
        .expect("get")
        .expect("reduced by the sweep");
    assert_eq!(report.shards.completed, sent);
    // A finished run is no longer looked at.
    let second = sweep();
    assert_eq!(second["open_runs"], serde_json::json!([]), "{second}");
}

#[test]
fn the_post_traffic_hook_checks_the_golden_shard_through_the_queue() {
    use orchestrator::cloud::lambda::{HookVerdict, posttraffic_check};
    let cloud = Cloud::new(3, 30);
    let golden = cloud.store("_golden");
    // Nobody consumes the queue: the check fails at its deadline, saying why.
    let verdict = posttraffic_check(
        &golden,
        &cloud.queue,
        now(),
        Instant::now() + std::time::Duration::from_secs(2),
    );
    assert!(
        matches!(verdict, HookVerdict::Failed(ref m) if m.contains("did not complete")),
        "{verdict:?}"
    );
    drain(&cloud.queue);
    // The live path: a worker consuming the shard queue runs what the hook sent.
    let runner = ShardRunner::new(cloud.aws.clone());
    let verdict = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let deadline = Instant::now() + std::time::Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Some(m) = cloud.queue.receive(1, 1, Some(60)).expect("receive").pop() {
                    runner.run_body(&m.body).expect("golden shard");
                    cloud.queue.delete(&m.receipt_handle).expect("delete");
                    return;
                }
            }
        });
        let verdict = posttraffic_check(
            &golden,
            &cloud.queue,
            now(),
            Instant::now() + std::time::Duration::from_secs(60),
        );
        worker.join().expect("worker");
        verdict
    });
    assert_eq!(verdict, HookVerdict::Succeeded);
}

#[test]
fn a_portfolio_overwritten_mid_run_changes_nothing_or_fails_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let refreshed = dir.path().join("refreshed.parquet");
    worker::portfolio_file::write_portfolio_parquet(
        &refreshed,
        &engine::sample::synthetic_loans(120, 9),
    )
    .expect("portfolio");
    let cloud = Cloud::new(3, 30);
    let a = cloud.aws.get();
    // A versioned bucket: the run reads the version it was submitted with.
    a.block_on(
        a.s3()
            .put_bucket_versioning()
            .bucket(&cloud.bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send(),
    )
    .expect("enable versioning");
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("pinned");
    submit_run(&cloud, &config, &uri, &store, Sizing::Count(2));
    let manifest = worker::manifest::RunManifest::get(&store, "cloud-it").expect("manifest");
    let pin = manifest.portfolio_pin.clone().expect("a pinned portfolio");
    assert!(pin.version_id.is_some(), "{pin:?}");
    cloud.upload(&refreshed, "inputs/p.parquet");
    let runner = ShardRunner::new(cloud.aws.clone());
    for m in cloud.queue.receive(10, 1, Some(60)).expect("receive") {
        runner.run_body(&m.body).expect("shard");
        cloud.queue.delete(&m.receipt_handle).expect("delete");
    }
    let outcome = try_reduce(&store, "cloud-it", "r", now(), &cloud.aws).expect("reduce");
    let ReduceOutcome::Reduced(report) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(report.loans, 100, "the overwrite leaked into the run");
    assert_eq!(report.inputs.portfolio_sha256, manifest.portfolio_sha256);

    // An unversioned bucket: the ETag pins it, and a changed object fails clearly.
    a.block_on(a.s3().create_bucket().bucket("mcflow-plain").send())
        .expect("bucket");
    let plain = Store::s3(cloud.aws.get(), "mcflow-plain", "").expect("store");
    plain
        .put("inputs/p.parquet", std::fs::read(&portfolio).expect("read"))
        .expect("upload");
    submit_run(
        &cloud,
        &config,
        "s3://mcflow-plain/inputs/p.parquet",
        &plain,
        Sizing::Count(1),
    );
    let manifest = worker::manifest::RunManifest::get(&plain, "cloud-it").expect("manifest");
    let pin = manifest.portfolio_pin.clone().expect("pinned");
    assert!(pin.version_id.is_none() && pin.etag.is_some(), "{pin:?}");
    plain
        .put("inputs/p.parquet", std::fs::read(&refreshed).expect("read"))
        .expect("overwrite");
    let m = cloud
        .queue
        .receive(1, 1, Some(60))
        .expect("receive")
        .pop()
        .expect("a message");
    let e = ShardRunner::new(cloud.aws.clone())
        .run_body(&m.body)
        .expect_err("a changed portfolio");
    assert!(
        e.to_string().contains("changed after the run pinned it"),
        "{e}"
    );
}

#[test]
fn the_bill_is_priced_at_the_deployed_architecture_and_memory_with_init() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 90);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("billed");
    let sent = submit_run(&cloud, &config, &uri, &store, Sizing::Count(3));
    // One Lambda environment of 1,024 MB whose INIT took 40 ms runs every shard.
    let runner =
        ShardRunner::new(cloud.aws.clone()).on_lambda(1024, std::time::Duration::from_millis(40));
    for m in cloud.queue.receive(10, 1, Some(60)).expect("receive") {
        runner.run_body(&m.body).expect("shard");
    }
    let mut inits = Vec::new();
    let mut billed_ms = 0.0;
    for shard in 0..sent {
        let m = worker::shard::read_marker(&store, "cloud-it", shard)
            .expect("read")
            .expect("marker");
        let l = m.lambda.expect("the marker says where it ran");
        assert_eq!(
            (l.arch, l.memory_mb),
            (worker::lambda_facts::Arch::current(), 1024)
        );
        inits.push(l.init_ms);
        billed_ms += worker::lambda_facts::billed_ms(m.seconds * 1000.0) as f64;
    }
    inits.sort_by(f64::total_cmp);
    assert_eq!(
        inits,
        vec![0.0, 0.0, 40.0],
        "init is billed once per environment"
    );
    let outcome = try_reduce(&store, "cloud-it", "r", now(), &cloud.aws).expect("reduce");
    let ReduceOutcome::Reduced(report) = outcome else {
        panic!("{outcome:?}");
    };
    let deployed = &report.bill[0];
    assert!(deployed.deployed, "{deployed:?}");
    assert_eq!(
        (deployed.arch, deployed.worker_memory_mb),
        (worker::lambda_facts::Arch::current(), 1024)
    );
    assert_eq!(deployed.worker_init_ms, 40.0);
    let expected_gb_s = (billed_ms + 40.0) / 1000.0;
    assert!(
        (deployed.worker_gb_seconds - expected_gb_s).abs() < 1e-9,
        "{} vs {expected_gb_s}",
        deployed.worker_gb_seconds
    );
    assert!(
        report.bill[1..]
            .iter()
            .all(|b| !b.deployed && b.arch != deployed.arch)
    );
}

#[test]
fn a_failed_reduce_gives_its_claim_back_without_deleting_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 60);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("released");
    submit_run(&cloud, &config, &uri, &store, Sizing::Count(2));
    let runner = ShardRunner::new(cloud.aws.clone());
    let messages = cloud.queue.receive(10, 1, Some(60)).expect("receive");
    for m in &messages {
        runner.run_body(&m.body).expect("shard");
    }
    // Shard 0's table is lost after its marker: the reduce fails.
    let table = worker::layout::shard_file_key("cloud-it", 0, worker::layout::SHARD_CASHFLOWS_FILE);
    store.delete(&table).expect("rm");
    try_reduce(&store, "cloud-it", "first", now(), &cloud.aws).expect_err("a partial is missing");
    // Generation 0 stays; generation 1, already expired, gives the claim back.
    let claims = store
        .list(&worker::layout::claims_prefix("cloud-it"))
        .expect("list");
    assert_eq!(
        claims,
        vec![
            worker::layout::claim_key("cloud-it", 0),
            worker::layout::claim_key("cloud-it", 1)
        ]
    );
    // The shard runs again, and the next reduce takes generation 2.
    for m in &messages {
        runner.run_body(&m.body).expect("shard again");
    }
    let outcome = try_reduce(&store, "cloud-it", "second", now(), &cloud.aws).expect("reduce");
    assert!(matches!(outcome, ReduceOutcome::Reduced(_)), "{outcome:?}");
    assert!(
        store
            .get(&worker::layout::claim_key("cloud-it", 2))
            .expect("get")
            .is_some()
    );
}

#[test]
fn a_repeated_submission_resumes_a_fan_out_that_died_and_leaves_a_live_one_alone() {
    use orchestrator::cloud::{DISPATCH_STALE, prepare};
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 60);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let store = cloud.store("resumed");
    let (text, _) = ConfigText::capture(&config).expect("config");
    let source = PortfolioSource::open(&uri, || cloud.aws.get()).expect("source");
    let first = now();
    let submission = |at: chrono::DateTime<chrono::Utc>| Submission {
        config: text.clone(),
        portfolio: &uri,
        store: &store,
        sizing: Sizing::Count(3),
        as_of: None,
        run_id: None,
        default_run_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("date"),
        submitted_at: at,
        dispatch: Default::default(),
    };
    // The first delivery wrote the manifest and died before sending anything.
    prepare(&submission(first), &source).expect("manifest written");
    // A repeat within the orchestrator's lifetime leaves it alone...
    let soon = submit(
        &submission(first + chrono::TimeDelta::minutes(1)),
        &source,
        &cloud.queue,
    )
    .expect("repeat");
    assert_eq!((soon.sent, soon.already_submitted), (0, Some(0)));
    // ...one after it resumes the fan-out, and a repeat after that sends nothing.
    let later = first + DISPATCH_STALE + chrono::TimeDelta::minutes(1);
    let resumed = submit(&submission(later), &source, &cloud.queue).expect("resume");
    assert_eq!(resumed.sent, 3);
    let again = submit(&submission(later), &source, &cloud.queue).expect("again");
    assert_eq!(again.sent, 0);
    assert_eq!(cloud.queue.visible_messages().expect("count"), 3);
    // The same run id with an edited stress path (a file the config names, not the
    // config text) is different inputs: refused, not taken for the earlier run.
    let mut edited = text.clone();
    let stress = edited
        .files
        .values_mut()
        .find(|f| f.contains("month"))
        .expect("the stress path is captured");
    *stress = stress.replacen('4', "5", 1);
    let refused = submit(
        &Submission {
            config: edited,
            ..submission(later)
        },
        &source,
        &cloud.queue,
    )
    .expect_err("different market inputs");
    assert!(
        refused.to_string().contains("already submitted"),
        "{refused:#}"
    );
}
