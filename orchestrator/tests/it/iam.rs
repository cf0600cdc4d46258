//! IAM as AWS enforces it. Each component's policies come from the SAM-translated
//! template (`scripts/iam_emulator.py` resolves them for a test deployment):
//! - statically, every S3 request the code makes (`worker::layout::accesses`) must be
//!   allowed by its component's statements, conditions included, which moto does not
//!   evaluate;
//! - on a moto server with IAM enforcement on, two daily runs, the operator's status
//!   and retry, and both deployment hooks run, each component under its own role's
//!   `sts:AssumeRole` credentials; a write outside a grant is denied.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use worker::aws::{AwsSettings, LazyAws};
use worker::layout::{Access, Component, accesses};
use worker::store::Store;

use super::emulator::{Moto, inputs};
use super::repo;

const BUCKET: &str = "mcflow-123456789012-us-east-1";

fn python() -> std::path::PathBuf {
    let python = repo().join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/setup-tools.sh (it creates .tools/venv with moto[server] and boto3)",
        python.display()
    );
    python
}

/// The translated template, written where the script can read it.
fn translated_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("template.json");
    std::fs::write(&path, super::template::translated().to_string()).expect("write");
    path
}

/// Each component's resolved policy statements.
fn policies() -> BTreeMap<String, Vec<Value>> {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(python())
        .arg(repo().join("scripts/iam_emulator.py"))
        .arg("policies")
        .arg(translated_file(dir.path()))
        .output()
        .expect("run iam_emulator.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("policies JSON")
}

fn name(c: Component) -> &'static str {
    match c {
        Component::Orchestrator => "orchestrator",
        Component::Worker => "worker",
        Component::Reducer => "reducer",
        Component::PreTrafficHook => "pretraffic",
        Component::PostTrafficHook => "posttraffic",
        Component::Operator => "operator",
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether one Allow statement grants `access` on the test bucket. Conditions other than
/// `StringLike`/`StringEquals` (and their `IfExists` forms) on `s3:prefix` count as
/// unmet, so that the check errs on the side of refusing.
fn statement_allows(st: &Value, access: &Access) -> bool {
    if st["Effect"] != "Allow" {
        return false;
    }
    let action_ok = strings(&st["Action"])
        .iter()
        .any(|a| glob(&a.to_lowercase(), &access.action.to_lowercase()));
    let resource = if access.action == "s3:ListBucket" {
        format!("arn:aws:s3:::{BUCKET}")
    } else {
        format!(
            "arn:aws:s3:::{BUCKET}/{}",
            access.key.as_deref().unwrap_or("")
        )
    };
    let resource_ok = strings(&st["Resource"]).iter().any(|r| glob(r, &resource));
    if !(action_ok && resource_ok) {
        return false;
    }
    let Some(conditions) = st.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(operator, keys)| {
        let Some(keys) = keys.as_object() else {
            return false;
        };
        keys.iter().all(|(key, values)| {
            if key != "s3:prefix" {
                return false;
            }
            let prefix = access
                .key
                .as_deref()
                .filter(|_| access.action == "s3:ListBucket");
            let patterns = strings(values);
            match (operator.as_str(), prefix) {
                ("StringLikeIfExists" | "StringEqualsIfExists", None) => true,
                (_, None) => false,
                ("StringLike" | "StringLikeIfExists", Some(p)) => {
                    patterns.iter().any(|pat| glob(pat, p))
                }
                ("StringEquals" | "StringEqualsIfExists", Some(p)) => {
                    patterns.iter().any(|pat| pat == p)
                }
                _ => false,
            }
        })
    })
}

fn allows(statements: &[Value], access: &Access) -> bool {
    statements.iter().any(|st| statement_allows(st, access))
}

#[test]
fn the_policy_check_matches_wildcards_and_conditions_as_iam_does() {
    assert!(glob("runs/*", "runs/"));
    assert!(glob(
        "runs/*/failures/*",
        "runs/r/failures/shard-00000.json"
    ));
    assert!(!glob("runs/*/failures/*", "runs/r/status.json"));
    let list = |key: Option<&str>| Access {
        action: "s3:ListBucket",
        key: key.map(str::to_string),
    };
    let statement = |operator: &str| {
        json!({"Effect": "Allow", "Action": ["s3:ListBucket"],
               "Resource": format!("arn:aws:s3:::{BUCKET}"),
               "Condition": {operator: {"s3:prefix": ["runs/*"]}}})
    };
    // A listing inside the prefixes passes either way; outside, neither.
    for op in ["StringLike", "StringLikeIfExists"] {
        assert!(statement_allows(
            &statement(op),
            &list(Some("runs/r/claims/"))
        ));
        assert!(!statement_allows(
            &statement(op),
            &list(Some("loan_results/"))
        ));
    }
    // A GET of a missing key (no s3:prefix in the request) passes only with IfExists:
    // with plain StringLike, AWS answers 403 instead of 404.
    assert!(!statement_allows(&statement("StringLike"), &list(None)));
    assert!(statement_allows(
        &statement("StringLikeIfExists"),
        &list(None)
    ));
    let put = Access {
        action: "s3:PutObject",
        key: Some("_golden/_partials/run_id=golden/shard-00000/_SUCCESS.json".into()),
    };
    let top_level_only = json!({"Effect": "Allow", "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{BUCKET}/_partials/*")});
    assert!(!statement_allows(&top_level_only, &put));
}

#[test]
fn every_store_request_of_every_component_is_allowed_by_its_policy_conditions_included() {
    let policies = policies();
    let mut refused = Vec::new();
    for component in Component::ALL {
        let statements = policies
            .get(name(component))
            .unwrap_or_else(|| panic!("no policies for {}", name(component)));
        for access in accesses(component) {
            if !allows(statements, &access) {
                refused.push(format!(
                    "{}: {} {}",
                    name(component),
                    access.action,
                    access.key.as_deref().unwrap_or("(a GET of a missing key)")
                ));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "template.yaml refuses requests the code makes:\n{}",
        refused.join("\n")
    );
}

/// A moto server enforcing IAM, with each component's role assumed.
struct Enforced {
    moto: Moto,
    queue_url: String,
    credentials: BTreeMap<String, Value>,
}

impl Enforced {
    fn start(uploads: &[(&str, &std::path::Path)]) -> Enforced {
        // Enough unauthenticated requests for the set-up; the script uses up the rest.
        let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "150")]);
        let dir = tempfile::tempdir().expect("tmp");
        let out = Command::new(python())
            .arg(repo().join("scripts/iam_emulator.py"))
            .arg("setup")
            .arg(&moto.url)
            .arg(translated_file(dir.path()))
            .args(
                uploads
                    .iter()
                    .map(|(key, path)| format!("{key}={}", path.display())),
            )
            .output()
            .expect("run iam_emulator.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let setup: Value = serde_json::from_slice(&out.stdout).expect("setup JSON");
        assert_eq!(setup["bucket"], BUCKET);
        Enforced {
            moto,
            queue_url: setup["queue_url"].as_str().expect("queue").to_string(),
            credentials: serde_json::from_value(setup["credentials"].clone()).expect("creds"),
        }
    }

    /// The SDK as `component`'s role.
    fn aws(&self, component: &str) -> Arc<LazyAws> {
        let c = &self.credentials[component];
        let text = |k: &str| c[k].as_str().expect("credential").to_string();
        Arc::new(LazyAws::new(AwsSettings {
            endpoint_url: Some(self.moto.url.clone()),
            static_credentials: Some((text("access_key_id"), text("secret_access_key"))),
            session_token: Some(text("session_token")),
        }))
    }

    fn store(&self, aws: &LazyAws, prefix: &str) -> Store {
        Store::s3(aws.get(), BUCKET, prefix).expect("store")
    }

    fn queue(&self, aws: &LazyAws) -> orchestrator::cloud::queue::Queue {
        orchestrator::cloud::queue::Queue::new(aws.get(), &self.queue_url)
    }
}

/// Runs every queued shard message through the worker function's handler, as the event
/// source mapping would (under the worker's role), and deletes the handled ones.
fn run_worker_function(e: &Enforced, worker: &Arc<LazyAws>) -> usize {
    use worker::lambda_worker::{WorkerEvent, current_environment, handle_event};
    let runner = worker::runner::ShardRunner::new(worker.clone());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("pool");
    let queue = e.queue(worker);
    let mut handled = 0;
    loop {
        let batch = queue
            .receive(10, 1, Some(60))
            .expect("receive as the worker");
        if batch.is_empty() {
            return handled;
        }
        let records: Vec<Value> = batch
            .iter()
            .map(|m| {
                json!({"messageId": m.message_id, "receiptHandle": m.receipt_handle,
                       "body": m.body, "eventSource": "aws:sqs"})
            })
            .collect();
        let event = WorkerEvent::from_json(json!({ "Records": records })).expect("a batch");
        let response = handle_event(
            &runner,
            &pool,
            event,
            None,
            None,
            &current_environment,
            &mut |_| {},
        )
        .expect("handled");
        assert_eq!(response["batchItemFailures"], json!([]), "{response}");
        for m in &batch {
            queue
                .delete(&m.receipt_handle)
                .expect("delete as the worker");
        }
        handled += batch.len();
    }
}

#[test]
fn a_daily_run_the_operator_and_both_hooks_work_with_iam_enforced() {
    use orchestrator::cloud::lambda::{
        FunctionEnv, HookVerdict, handle_orchestrator_event, handle_reducer_event,
        posttraffic_check, pretraffic_check,
    };
    use orchestrator::cloud::{RunState, retry, status};
    let dir = tempfile::tempdir().expect("tmp");
    let (portfolio, config) = inputs(dir.path(), 100);
    let stress = dir.path().join("stress.csv");
    let e = Enforced::start(&[
        ("inputs/portfolio.parquet", &portfolio),
        ("configs/run.toml", &config),
        ("configs/stress.csv", &stress),
    ]);
    let now = chrono::Utc::now();

    // Enforcement is on: the worker may not write a result table.
    let worker = e.aws("worker");
    let denied = e
        .store(&worker, "")
        .put(
            "loan_results/run_date=2026-11-30/run_id=x/part-00000.parquet",
            b"x".to_vec(),
        )
        .expect_err("outside the worker's grant");
    assert!(denied.to_string().contains("AccessDenied"), "{denied}");

    // The schedule's submit, as the orchestrator.
    let orchestrator = e.aws("orchestrator");
    let env = FunctionEnv {
        store: format!("s3://{BUCKET}"),
        queue_url: e.queue_url.clone(),
        reducer_function: None,
    };
    let submit = serde_json::from_value(json!({
        "config_s3": format!("s3://{BUCKET}/configs/run.toml"),
        "portfolio": format!("s3://{BUCKET}/inputs/portfolio.parquet"),
        "loans_per_shard": 50,
        "as_of": "2026-11-30T11:00:00Z",
        "time_zone": "America/New_York"
    }))
    .expect("a submit request");
    let answer = handle_orchestrator_event(&orchestrator, &env, submit, now, None).expect("submit");
    let run_id = answer["run_id"].as_str().expect("run id").to_string();
    assert_eq!(answer["sent"], 2, "{answer}");

    // The operator looks, then re-issues every shard (duplicates are harmless).
    let operator = e.aws("operator");
    let (op_store, op_queue) = (e.store(&operator, ""), e.queue(&operator));
    let st = status(&op_store, &run_id, Some(&op_queue)).expect("status as the operator");
    assert_eq!((st.state, st.done, st.planned), (RunState::Running, 0, 2));
    let reissued = retry(&op_store, &run_id, &op_queue, 2).expect("retry as the operator");
    assert_eq!(reissued, vec![0, 1]);

    // The worker function runs them; the last record creates run.ready.
    assert_eq!(run_worker_function(&e, &worker), 4);

    // The reducer, on run.ready's notification.
    let reducer = e.aws("reducer");
    let mut s3: Value = serde_json::from_str(orchestrator::cloud::events::sample(
        orchestrator::cloud::events::EventKind::S3,
    ))
    .expect("fixture");
    s3["Records"][0]["s3"]["object"]["key"] = format!("runs/{run_id}/run.ready").into();
    s3["Records"][0]["s3"]["bucket"]["name"] = BUCKET.into();
    let reduced = handle_reducer_event(
        &reducer,
        &env,
        serde_json::from_value(s3).expect("a notification"),
        "reducer",
        now,
    )
    .expect("reduce as the reducer");
    assert_eq!(reduced["runs"][0]["outcome"], "reduced", "{reduced}");
    let st = status(&op_store, &run_id, Some(&op_queue)).expect("status");
    assert_eq!(st.state, RunState::Succeeded);
    assert_eq!(st.error, None, "the reducer's clean-up was refused");

    // The sweeper, as the orchestrator, finds nothing left to do.
    let sweep = handle_orchestrator_event(
        &orchestrator,
        &env,
        serde_json::from_value(json!({"sweep": {}})).expect("a sweep"),
        now,
        None,
    )
    .expect("sweep as the orchestrator");
    assert_eq!(sweep["open_runs"], json!([]), "{sweep}");

    // Day 2: the data pipeline (an admin role here) refreshes the portfolio under the
    // same key, and the next scheduled submit is its own run, reduced in turn.
    let refreshed = dir.path().join("refreshed.parquet");
    worker::portfolio_file::write_portfolio_parquet(
        &refreshed,
        &engine::sample::synthetic_loans(120, 9),
    )
    .expect("portfolio");
    let admin = e.aws("admin");
    e.store(&admin, "")
        .put(
            "inputs/portfolio.parquet",
            std::fs::read(&refreshed).expect("read"),
        )
        .expect("upload as the pipeline");
    let day2 = serde_json::from_value(json!({
        "config_s3": format!("s3://{BUCKET}/configs/run.toml"),
        "portfolio": format!("s3://{BUCKET}/inputs/portfolio.parquet"),
        "loans_per_shard": 50,
        "as_of": "2026-12-01T11:00:00Z",
        "time_zone": "America/New_York"
    }))
    .expect("a submit request");
    let answer = handle_orchestrator_event(&orchestrator, &env, day2, now, None).expect("day 2");
    let day2_id = answer["run_id"].as_str().expect("run id").to_string();
    assert_eq!(day2_id, "cloud-it-2026-12-01");
    assert_eq!(run_worker_function(&e, &worker), 3);
    let direct = serde_json::from_value(json!({ "run_id": day2_id })).expect("direct");
    let reduced = handle_reducer_event(&reducer, &env, direct, "reducer", now).expect("day 2");
    assert_eq!(reduced["runs"][0]["outcome"], "reduced", "{reduced}");
    for (id, loans) in [(&run_id, 100), (&day2_id, 120)] {
        let report = worker::report::RunReport::get(&op_store, id)
            .expect("read as the operator")
            .expect("report");
        assert_eq!(report.loans, loans, "{id}");
    }

    // The pre-traffic hook invokes the new worker version directly.
    let runner = worker::runner::ShardRunner::new(worker.clone());
    let pre = e.aws("pretraffic");
    let verdict = pretraffic_check(&e.store(&pre, "_golden"), now, &|payload| {
        let message: worker::manifest::ShardMessage = serde_json::from_value(payload)?;
        Ok(serde_json::to_value(runner.run(&message)?.marker)?)
    });
    assert_eq!(verdict, HookVerdict::Succeeded);

    // The post-traffic hook sends the golden shard through the queue to the worker.
    let post = e.aws("posttraffic");
    let verdict = std::thread::scope(|s| {
        let consumer = s.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if run_worker_function(&e, &worker) > 0 {
                    return;
                }
            }
        });
        let verdict = posttraffic_check(
            &e.store(&post, "_golden"),
            &e.queue(&post),
            now,
            Instant::now() + Duration::from_secs(60),
        );
        consumer.join().expect("consumer");
        verdict
    });
    assert_eq!(verdict, HookVerdict::Succeeded);
}
