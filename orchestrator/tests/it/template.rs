//! `template.yaml` against the code: the names the code reads (environment variables,
//! stack outputs, binaries, the ready object the reducer's trigger filters on) are the
//! names the template sets. The template is read as CloudFormation receives it, after
//! the SAM transform (`scripts/sam_translate.py`, in the `.tools/cfn` venv).

use std::collections::BTreeSet;
use std::process::Command;

use orchestrator::cloud::lambda::{ENV_HOOK_STAGE, ENV_QUEUE_URL, ENV_REDUCER_FUNCTION, ENV_STORE};
use orchestrator::cloud::stack::{OUTPUT_BUCKET, OUTPUT_DLQ_URL, OUTPUT_QUEUE_URL};
use serde_json::Value;

use super::repo;

pub(crate) fn translated() -> Value {
    let python = repo().join(".tools/cfn/bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/setup-tools.sh (it installs cfn-lint and aws-sam-translator into .tools/cfn)",
        python.display()
    );
    let out = Command::new(&python)
        .arg(repo().join("scripts/sam_translate.py"))
        .arg(repo().join("template.yaml"))
        .output()
        .expect("run the SAM translator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn resources_of<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .collect()
}

#[test]
fn the_template_sets_the_outputs_binaries_and_environment_the_code_reads() {
    let t = translated();
    let outputs: BTreeSet<&str> = t["Outputs"]
        .as_object()
        .expect("outputs")
        .keys()
        .map(String::as_str)
        .collect();
    for name in [OUTPUT_BUCKET, OUTPUT_QUEUE_URL, OUTPUT_DLQ_URL] {
        assert!(outputs.contains(name), "output {name} missing: {outputs:?}");
    }

    let functions = resources_of(&t, "AWS::Lambda::Function");
    let makefile = std::fs::read_to_string(repo().join("Makefile")).expect("Makefile");
    let known_env: BTreeSet<&str> = [
        ENV_STORE,
        ENV_QUEUE_URL,
        "MCFLOW_WORKER_VERSION",
        worker::dead_letter::ENV_DEAD_LETTER_URL,
        ENV_REDUCER_FUNCTION,
        ENV_HOOK_STAGE,
    ]
    .into();
    for (id, f) in &functions {
        let p = &f["Properties"];
        assert_eq!(p["Handler"], "bootstrap", "{id}");
        assert_eq!(p["Runtime"], "provided.al2023", "{id}");
        // Each function's makefile target copies a binary this workspace builds.
        let target = format!("build-{id}:");
        let section = makefile
            .split(&target)
            .nth(1)
            .unwrap_or_else(|| panic!("Makefile has no {target}"));
        let binary = section
            .split("copy_bootstrap,")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .expect("copy_bootstrap call");
        let exists = ["worker", "orchestrator"]
            .iter()
            .any(|c| repo().join(format!("{c}/src/bin/{binary}.rs")).exists());
        assert!(exists, "{id}: no binary {binary}");
        if let Some(vars) = p["Environment"]["Variables"].as_object() {
            for k in vars.keys() {
                assert!(
                    known_env.contains(k.as_str()),
                    "{id} sets {k}, which no code reads"
                );
            }
        }
    }
    let env_of = |name: &str| -> BTreeSet<String> {
        let (_, f) = functions
            .iter()
            .find(|(id, _)| id.as_str() == name)
            .unwrap_or_else(|| panic!("no {name}"));
        f["Properties"]["Environment"]["Variables"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert!(env_of("OrchestratorFunction").contains(ENV_STORE));
    assert!(env_of("OrchestratorFunction").contains(ENV_QUEUE_URL));
    assert!(env_of("ReducerFunction").contains(ENV_STORE));
    // The worker sends poison shards to the queue's own dead-letter queue.
    let (_, worker_fn) = functions
        .iter()
        .find(|(id, _)| id.as_str() == "WorkerFunction")
        .expect("the worker");
    assert_eq!(
        worker_fn["Properties"]["Environment"]["Variables"]
            [worker::dead_letter::ENV_DEAD_LETTER_URL]["Ref"],
        "ShardDeadLetterQueue"
    );
}

#[test]
fn the_worker_queue_mapping_reports_partial_batch_failures() {
    let t = translated();
    let mappings = resources_of(&t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(mappings.len(), 1, "one mapping, the shard queue's");
    let m = &mappings[0].1["Properties"];
    assert_eq!(m["FunctionResponseTypes"][0], "ReportBatchItemFailures");
    assert!(
        m["ScalingConfig"]["MaximumConcurrency"].is_object()
            || m["ScalingConfig"]["MaximumConcurrency"].is_number()
    );
}

/// The reducer is triggered by a run's ready object (`runs/<run_id>/run.ready`), created
/// once by the worker that completes the last shard, not by every shard's marker.
#[test]
fn the_reducer_is_notified_of_ready_objects_only() {
    let t = translated();
    let (_, bucket) = resources_of(&t, "AWS::S3::Bucket")
        .into_iter()
        .next()
        .expect("bucket");
    let configurations = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
        .as_array()
        .expect("lambda configurations");
    assert_eq!(
        configurations.len(),
        1,
        "one notification, the ready object's"
    );
    let rules = &configurations[0]["Filter"]["S3Key"]["Rules"];
    let rule = |name: &str| {
        rules
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["Name"] == name)
            .map(|r| r["Value"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        rule("suffix").as_deref(),
        Some(worker::layout::READY_SUFFIX)
    );
    assert_eq!(
        rule("prefix").as_deref(),
        Some(format!("{}/", worker::layout::RUNS).as_str())
    );
}

/// Queue visibility is six times the worker's timeout, and the duration alarm fires at
/// 80% of it, for every timeout the template allows.
#[test]
fn queue_visibility_and_alarms_follow_every_allowed_worker_timeout() {
    let t = translated();
    let queues = resources_of(&t, "AWS::SQS::Queue");
    assert!(
        queues
            .iter()
            .any(|(_, q)| q["Properties"]["RedrivePolicy"].is_object())
    );
    let allowed = t["Parameters"]["WorkerTimeout"]["AllowedValues"]
        .as_array()
        .expect("allowed timeouts");
    for timeout in allowed {
        let key = timeout.as_str().expect("string");
        let seconds: u64 = key.parse().expect("number");
        let row = &t["Mappings"]["TimeoutToVisibility"][key];
        assert_eq!(row["Seconds"], seconds * 6, "visibility for {key}");
        assert_eq!(row["AlarmMs"], seconds * 800, "alarm for {key}");
    }
}

/// The worker's defaults come from the reference sweep (`data/sweep/`): its memory is the
/// sweep's balanced recommendation, the template's default architecture ran it within
/// its memory and time, and the timeout leaves room for the shards `mcflow plan` sizes.
#[test]
fn worker_defaults_come_from_the_reference_sweep() {
    let t = translated();
    let sweep: Value = serde_json::from_slice(
        &std::fs::read(repo().join("data/sweep/sweep.json")).expect("data/sweep/sweep.json"),
    )
    .expect("sweep JSON");
    let balanced = &sweep["recommendations"]["balanced"];
    assert_eq!(
        t["Parameters"]["WorkerMemorySize"]["Default"], balanced["memory_mb"],
        "template default vs the sweep's balanced recommendation {balanced}"
    );
    // The default architecture is the one this repository builds and whose golden digest
    // it ships; the sweep prices both from the same durations, so its balanced memory is
    // the same on either.
    let arch = &t["Parameters"]["Architecture"]["Default"];
    assert_eq!(arch, "x86_64");
    assert_eq!(
        t["Parameters"]["WorkerMemorySize"]["Default"],
        worker::cost::BILL_MEMORY_MB,
        "report.json's bill prices the template's default worker"
    );
    // The recommended point ran within its memory and time.
    let point = sweep["points"]
        .as_array()
        .expect("points")
        .iter()
        .find(|p| p["memory_mb"] == balanced["memory_mb"] && p["arch"] == *arch)
        .expect("the recommended point");
    assert_eq!(point["out_of_memory"], false);
    assert_eq!(point["timed_out"], false);
    let timeout: f64 = t["Parameters"]["WorkerTimeout"]["Default"]
        .as_str()
        .expect("timeout string")
        .parse()
        .expect("seconds");
    assert!(
        timeout >= 2.0 * orchestrator::capacity::TARGET_SHARD_SECONDS,
        "a {timeout} s timeout leaves too little room for {} s shards",
        orchestrator::capacity::TARGET_SHARD_SECONDS
    );
    // `mcflow plan`'s default calibration is the same sweep's.
    let file: Value = serde_json::from_slice(
        &std::fs::read(repo().join("data/sweep/calibration.json")).expect("calibration"),
    )
    .expect("calibration JSON");
    let default = orchestrator::capacity::Calibration::default();
    assert_eq!(
        file["loan_months_per_vcpu_second"].as_f64(),
        Some(default.loan_months_per_vcpu_second)
    );
    assert_eq!(
        sweep["calibration"], file,
        "sweep.json and calibration.json agree"
    );
}

/// The Glue tables declare exactly the columns, in file order, that the writers put in
/// the Parquet files, so Athena reads every new column (each writer runs here on a
/// one-row input and its file's schema is compared).
#[test]
fn glue_tables_declare_the_columns_the_writers_write() {
    use worker::store::Store;
    let t = translated();
    let glue_columns = |name: &str| -> Vec<String> {
        let (_, table) = resources_of(&t, "AWS::Glue::Table")
            .into_iter()
            .find(|(_, r)| r["Properties"]["TableInput"]["Name"] == name)
            .unwrap_or_else(|| panic!("no Glue table {name}"));
        table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["Name"].as_str().expect("name").to_string())
            .collect()
    };
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::local(dir.path().to_path_buf());
    let file_columns = |key: &str| -> Vec<String> {
        let bytes = store.get(key).expect("get").expect("written");
        let batches = worker::parquet_file::decode_batches(bytes).expect("parquet");
        batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    let portfolio = engine::Portfolio::from_records(
        vec![engine::LoanRecord {
            loan_id: "a".into(),
            current_upb: 1000.0,
            note_rate_pct: 5.0,
            orig_term_months: 360,
            ..Default::default()
        }],
        engine::ProblemSink::default(),
    )
    .expect("valid");
    let table = engine::CashflowTable::new(1, true);
    worker::cashflow_parquet::write_cashflows(&store, "c.parquet", [(0, &table)]).expect("write");
    let result = engine::risk::ScenarioResult::from_table(0, &table, &[1.0, 1.0]);
    worker::results_parquet::write_scenario_results(&store, "s.parquet", &[result], 1)
        .expect("write");
    let marks = engine::marks::mark(
        &portfolio,
        None,
        engine::YearMonth::new(2026, 11).expect("month"),
        80.0,
    );
    worker::results_parquet::write_loan_results(
        &store,
        "l.parquet",
        &portfolio,
        &[engine::risk::LoanSums::default()],
        &marks,
    )
    .expect("write");
    worker::results_parquet::write_loan_risk(
        &store,
        "r.parquet",
        &portfolio,
        &[engine::risk::LoanSums::default()],
        Some(25.0),
        Some(0.0),
    )
    .expect("write");
    for (glue, key) in [
        ("portfolio_cashflows", "c.parquet"),
        ("scenario_results", "s.parquet"),
        ("loan_results", "l.parquet"),
        ("loan_risk", "r.parquet"),
    ] {
        assert_eq!(glue_columns(glue), file_columns(key), "{glue}");
    }
}
