//! The cloud commands (`submit`, `status`, `worker`, `report`) as a user runs them,
//! against an emulator of the test's own (see `emulator`).

use std::process::Command;

use orchestrator::cloud::queue::Queue;
use worker::store::Store;

use super::emulator::{Cloud, inputs};

/// `mcflow args` pointed at the emulator, not yet run.
fn mcflow_command(cloud: &Cloud, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcflow"));
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &cloud.moto.url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_PROFILE");
    command
}

/// Runs `mcflow` against the emulator: whether it succeeded, its stdout and its stderr.
fn mcflow_on(cloud: &Cloud, args: &[&str]) -> (bool, String, String) {
    let o = mcflow_command(cloud, args).output().expect("spawn mcflow");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn the_cli_submits_runs_workers_and_reports_status_against_the_emulator() {
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let mcflow = |args: &[&str]| mcflow_on(&cloud, args);
    let config_arg = config.display().to_string();
    let (ok, out, err) = mcflow(&[
        "submit",
        "--config",
        &config_arg,
        "--portfolio",
        &uri,
        "--bucket",
        &cloud.bucket,
        "--queue",
        cloud.queue.url(),
        "--shards",
        "2",
    ]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(out.trim(), "cloud-it");
    let (ok, out, err) = mcflow(&["status", "cloud-it", "--bucket", &cloud.bucket]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("0 / 2"), "{out}");
    // retry --json, while both shards are unfinished, re-issues them to a side queue that
    // no worker reads (so the run below still sees each shard once).
    let side_url = {
        let a = cloud.aws.get();
        let sqs = aws_sdk_sqs::Client::new(a.sdk_config());
        a.block_on(sqs.create_queue().queue_name("side").send())
            .expect("side queue")
            .queue_url
            .expect("url")
    };
    let (ok, out, err) = mcflow(&[
        "retry",
        "cloud-it",
        "--bucket",
        &cloud.bucket,
        "--queue",
        &side_url,
        "--json",
    ]);
    assert!(ok, "{out}\n{err}");
    let retried: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        retried,
        serde_json::json!({"run_id": "cloud-it", "reissued": [0, 1]})
    );
    let (ok, out, err) = mcflow(&[
        "worker",
        "--queue",
        cloud.queue.url(),
        "--wait-seconds",
        "1",
        "--exit-when-idle",
        "2",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains("shards done 2, failed 0, runs reduced 1"),
        "{out}\n{err}"
    );
    let (ok, out, err) = mcflow(&["status", "cloud-it", "--bucket", &cloud.bucket, "--json"]);
    assert!(ok, "{out}\n{err}");
    let st: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(st["state"], "succeeded");
    // status refuses retry's --stragglers instead of ignoring it.
    let (ok, _, err) = mcflow(&[
        "status",
        "cloud-it",
        "--bucket",
        &cloud.bucket,
        "--stragglers",
    ]);
    assert!(!ok && err.contains("--stragglers"), "{err}");
    let (ok, out, err) = mcflow(&["report", &format!("s3://{}", cloud.bucket)]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("mcflow run cloud-it"), "{out}");
    assert!(
        out.contains(&format!("s3://{}/runs/cloud-it/report.html", cloud.bucket)),
        "the cloud run has its page: {out}"
    );
    // The same run made locally: diff reads both stores, and finds the same inputs
    // (the config checksum is the same local and cloud) and the same figures.
    let local = dir.path().join("local");
    let (ok, out, err) = mcflow(&[
        "run",
        "--config",
        &config_arg,
        "--portfolio",
        portfolio.to_str().expect("utf-8"),
        "--out",
        local.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{out}\n{err}");
    let (ok, out, err) = mcflow(&[
        "diff",
        &format!("s3://{}/runs/cloud-it", cloud.bucket),
        &format!("{}/runs/cloud-it", local.display()),
        "--by",
        "state",
        "--json",
    ]);
    assert!(ok, "{out}\n{err}");
    let d: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        d["inputs"],
        serde_json::json!({"portfolio": false, "config": false, "market": false, "as_of": false}),
        "{d}"
    );
    for row in d["rows"].as_array().expect("rows") {
        assert_eq!(row["difference"].as_f64(), Some(0.0), "{row}");
    }
    assert!(
        !d["by_state"].as_array().expect("by_state").is_empty(),
        "{d}"
    );
    // A bad bucket name is refused with the location in the message.
    let (ok, _, err) = mcflow(&["status", "x", "--bucket", "Bad_Bucket"]);
    assert!(!ok);
    assert!(err.contains("Bad_Bucket"), "{err}");
}

#[test]
fn submit_and_status_find_the_bucket_and_queue_from_a_stack() {
    use orchestrator::cloud::stack::{OUTPUT_BUCKET, OUTPUT_QUEUE_URL};
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 60);
    let cloud = Cloud::new(3, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let template = serde_json::json!({
        "Resources": {
            "Results": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "stack-results"}},
            "Shards": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "stack-shards"}}
        },
        "Outputs": {
            OUTPUT_BUCKET: {"Value": {"Ref": "Results"}},
            OUTPUT_QUEUE_URL: {"Value": {"Ref": "Shards"}}
        }
    });
    let a = cloud.aws.get();
    let cfn = aws_sdk_cloudformation::Client::new(a.sdk_config());
    a.block_on(
        cfn.create_stack()
            .stack_name("mcflow-it")
            .template_body(template.to_string())
            .send(),
    )
    .expect("create stack");
    let run = |args: &[&str]| {
        let (ok, out, err) = mcflow_on(&cloud, args);
        (ok, out + &err)
    };
    let config_arg = config.display().to_string();
    let (ok, out, err) = mcflow_on(
        &cloud,
        &[
            "submit",
            "--config",
            &config_arg,
            "--portfolio",
            &uri,
            "--stack",
            "mcflow-it",
            "--shards",
            "2",
            "--json",
        ],
    );
    assert!(ok, "{out}\n{err}");
    let submitted: serde_json::Value = serde_json::from_str(&out).expect("submit --json");
    assert_eq!(submitted["run_id"], "cloud-it");
    assert_eq!(submitted["shards"], 2);
    assert_eq!(submitted["sent"], 2);
    assert_eq!(submitted["already_submitted"], false);
    let manifest = worker::manifest::RunManifest::get(
        &Store::s3(cloud.aws.get(), "stack-results", "").expect("store"),
        "cloud-it",
    )
    .expect("the manifest is in the stack's bucket");
    assert_eq!(manifest.shards, 2);
    let stack_queue = Queue::new(
        cloud.aws.get(),
        &format!("{}/123456789012/stack-shards", cloud.moto.url),
    );
    assert_eq!(stack_queue.visible_messages().expect("count"), 2);
    let (ok, out) = run(&["status", "cloud-it", "--stack", "mcflow-it"]);
    assert!(ok, "{out}");
    assert!(out.contains("0 / 2"), "{out}");
    let (ok, out) = run(&["status", "cloud-it", "--stack", "no-such-stack"]);
    assert!(!ok);
    assert!(out.contains("no-such-stack"), "{out}");
}

#[test]
fn a_reducer_killed_mid_reduce_is_taken_over_once_its_lease_expires() {
    use orchestrator::cloud::{REDUCE_LEASE, ReduceOutcome, try_reduce_leased};
    use worker::layout::{claim_key, report_key};
    let dir = tempfile::tempdir().expect("tmp");
    // One completion group of one-loan shards (so the final reduce reads every shard's
    // partials, hundreds of objects): long enough to be killed in.
    let shards = worker::progress::GROUP_SHARDS;
    let (portfolio, config) = inputs(dir.path(), shards as usize);
    let cloud = Cloud::new(5, 30);
    let uri = cloud.upload(&portfolio, "inputs/p.parquet");
    let config_arg = config.display().to_string();
    let (ok, out, err) = mcflow_on(
        &cloud,
        &[
            "submit",
            "--config",
            &config_arg,
            "--portfolio",
            &uri,
            "--bucket",
            &cloud.bucket,
            "--queue",
            cloud.queue.url(),
            "--shards",
            &shards.to_string(),
        ],
    );
    assert!(ok, "{out}\n{err}");
    let store = Store::s3(cloud.aws.get(), &cloud.bucket, "").expect("store");
    // Every shard but one runs here; the last is left to a `mcflow worker` process,
    // whose record completes the run, so that process claims and starts the reduce.
    let runner = worker::runner::ShardRunner::new(cloud.aws.clone());
    let mut left = None;
    loop {
        let batch = cloud.queue.receive(10, 0, Some(60)).expect("receive");
        if batch.is_empty() {
            break;
        }
        for m in batch {
            if left.is_none() {
                left = Some(m);
                continue;
            }
            runner.run_body(&m.body).expect("shard");
            cloud.queue.delete(&m.receipt_handle).expect("delete");
        }
    }
    let left = left.expect("one message left");
    cloud
        .queue
        .extend_visibility(&left.receipt_handle, 0)
        .expect("release the last message");
    let mut reducer = mcflow_command(
        &cloud,
        &[
            "worker",
            "--queue",
            cloud.queue.url(),
            "--wait-seconds",
            "1",
            "--exit-when-idle",
            "3",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("spawn mcflow worker");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.get(&claim_key("cloud-it", 0)).expect("get").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the worker never claimed the reduce"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SIGKILL: no clean-up, no claim given back.
    reducer.kill().expect("kill");
    reducer.wait().expect("reap");
    let killed_at = chrono::Utc::now();
    assert!(
        store.get(&report_key("cloud-it")).expect("get").is_none(),
        "the reduce finished before the kill; the test needs a longer reduce"
    );
    // Within the lease the dead reducer's claim still holds.
    assert_eq!(
        try_reduce_leased(
            &store,
            "cloud-it",
            "early",
            killed_at,
            REDUCE_LEASE,
            &cloud.aws
        )
        .expect("early"),
        ReduceOutcome::AlreadyClaimed
    );
    // After it, the next generation of the claim takes over and reduces.
    let later = killed_at + REDUCE_LEASE + chrono::TimeDelta::seconds(1);
    let outcome = try_reduce_leased(&store, "cloud-it", "taker", later, REDUCE_LEASE, &cloud.aws)
        .expect("takeover");
    let ReduceOutcome::Reduced(report) = outcome else {
        panic!("not taken over: {outcome:?}");
    };
    assert_eq!(report.shards.completed, shards);
    let claim: serde_json::Value = serde_json::from_slice(
        &store
            .get(&claim_key("cloud-it", 1))
            .expect("get")
            .expect("generation 1"),
    )
    .expect("json");
    assert_eq!(claim["claimant"], "taker");
    assert_eq!(
        try_reduce_leased(&store, "cloud-it", "late", later, REDUCE_LEASE, &cloud.aws)
            .expect("late"),
        ReduceOutcome::AlreadyReduced
    );
}
