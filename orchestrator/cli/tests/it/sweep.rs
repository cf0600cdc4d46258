//! `mcflow invoke` and `mcflow sweep` as a user runs them: the worker handler in a child
//! process under Lambda's memory, CPU and time limits, with the REPORT line, and failures
//! (out of memory, timed out) reported like Lambda reports them, never hidden.

use std::path::Path;

use serde_json::Value;

use super::{mcflow, s, text};

/// A sweep of one small shard at `memory` ("16,1769"), returning its directory's JSON.
fn sweep(out: &Path, memory: &str, timeout: &str) -> (bool, String, Value) {
    let o = mcflow(&[
        "sweep",
        "--loans-per-shard",
        "50",
        "--scenarios-per-shard",
        "20",
        "--memory",
        memory,
        "--repeats",
        "2",
        "--timeout",
        timeout,
        "--out",
        s(out),
    ]);
    let (stdout, stderr) = text(&o);
    let json = std::fs::read(out.join("sweep.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (o.status.success(), format!("{stdout}\n{stderr}"), json)
}

fn point<'a>(json: &'a Value, memory_mb: u64, arch: &str) -> &'a Value {
    json["points"]
        .as_array()
        .expect("points")
        .iter()
        .find(|p| p["memory_mb"] == memory_mb && p["arch"] == arch)
        .unwrap_or_else(|| panic!("no point {memory_mb} MB {arch} in {json}"))
}

#[test]
fn sweep_reports_out_of_memory_points_and_calibrates_plan() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("sweep");
    let (ok, output, json) = sweep(&out, "16,1024,1769", "60");
    assert!(ok, "{output}");
    // Every field the JSON promises, on every point.
    for p in json["points"].as_array().expect("points") {
        for key in [
            "memory_mb",
            "arch",
            "vcpu",
            "threads",
            "cpu_limit",
            "duration_ms_median",
            "duration_ms_min",
            "duration_ms_max",
            "billed_ms",
            "peak_rss_mb",
            "gb_seconds",
            "cost_usd",
            "cost_per_million_loan_scenarios_usd",
            "out_of_memory",
            "timed_out",
        ] {
            assert!(p.get(key).is_some(), "point lacks {key}: {p}");
        }
        let limit = p["cpu_limit"].as_str().expect("cpu_limit");
        assert!(limit == "cgroup" || limit == "model", "{limit}");
    }
    assert_eq!(json["points"].as_array().expect("points").len(), 6);
    // No worker fits in 16 MB: out of memory, tried once, never recommended.
    let oom = point(&json, 16, "x86_64");
    assert_eq!(oom["out_of_memory"], true, "{oom}");
    assert_eq!(oom["repeats"], 1);
    assert!(oom["peak_rss_mb"].as_f64().expect("peak") > 16.0, "{oom}");
    assert!(output.contains("OUT OF MEMORY"), "{output}");
    let fine = point(&json, 1769, "x86_64");
    assert_eq!(fine["out_of_memory"], false);
    assert_eq!(fine["repeats"], 2);
    assert_eq!(fine["threads"], 1);
    let (min, median, max) = (
        fine["duration_ms_min"].as_f64().expect("min"),
        fine["duration_ms_median"].as_f64().expect("median"),
        fine["duration_ms_max"].as_f64().expect("max"),
    );
    assert!(0.0 < min && min <= median && median <= max, "{fine}");
    assert_eq!(fine["billed_ms"].as_f64().expect("billed"), median.ceil());
    // The same duration costs less on arm64.
    let arm = point(&json, 1769, "arm64");
    assert!(
        arm["cost_usd"].as_f64().expect("arm64 cost") < fine["cost_usd"].as_f64().expect("cost"),
        "{arm}"
    );
    for kind in ["cheapest", "fastest", "balanced"] {
        let m = json["recommendations"][kind]["memory_mb"]
            .as_u64()
            .unwrap_or_else(|| panic!("no {kind} recommendation: {json}"));
        assert!(m == 1024 || m == 1769, "{kind}: {m}");
    }
    // The files beside it.
    let csv = std::fs::read_to_string(out.join("sweep.csv")).expect("csv");
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("16,x86_64,") && l.contains(",true,false,"))
    );
    let svg = std::fs::read_to_string(out.join("sweep.svg")).expect("svg");
    assert!(svg.contains("<svg") && svg.contains("cost per million loan-scenarios"));
    // The event it measured can be invoked again by hand.
    assert!(out.join("event.json").is_file());
    // `mcflow plan` takes the sweep's calibration.
    let calibration = out.join("calibration.json");
    let c: Value =
        serde_json::from_slice(&std::fs::read(&calibration).expect("calibration")).expect("json");
    assert!(
        c["loan_months_per_vcpu_second"].as_f64().expect("rate") > 0.0,
        "{c}"
    );
    assert!(c["base_memory_mb"].as_f64().expect("base") > 0.0, "{c}");
    let o = mcflow(&[
        "plan",
        "--loans",
        "100000",
        "--scenarios",
        "100",
        "--calibration",
        s(&calibration),
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let plan: Value = serde_json::from_str(&stdout).expect("plan json");
    assert!(
        plan["calibration"]["source"]
            .as_str()
            .expect("source")
            .starts_with("mcflow sweep"),
        "{plan}"
    );
    assert!(
        plan["points"][0]["peak_memory_mb"].as_f64().is_some(),
        "{plan}"
    );
}

#[test]
fn sweep_reports_timed_out_points_and_fails_when_nothing_succeeds() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("sweep");
    let (ok, output, json) = sweep(&out, "128,1769", "0.001s");
    assert!(!ok, "nothing succeeded, yet the sweep passed:\n{output}");
    assert!(output.contains("no memory size succeeded"), "{output}");
    for m in [128, 1769] {
        let p = point(&json, m, "x86_64");
        assert_eq!(p["timed_out"], true, "{p}");
        assert_eq!(p["repeats"], 1, "a timed-out point is not repeated: {p}");
        assert_eq!(p["duration_ms_median"].as_f64(), Some(1.0), "{p}");
    }
    assert!(json["recommendations"]["cheapest"].is_null(), "{json}");
    assert!(output.contains("TIMED OUT"), "{output}");
}

/// A real shard's event, written by a one-size sweep into `dir/sweep/event.json`.
fn swept_event(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("sweep");
    let (ok, output, _) = sweep(&out, "1769", "60");
    assert!(ok, "{output}");
    out.join("event.json")
}

#[test]
fn invoke_prints_lambdas_report_line_and_the_shards_marker() {
    let dir = tempfile::tempdir().expect("tmp");
    let event = swept_event(dir.path());
    let o = mcflow(&[
        "invoke",
        "worker",
        "--event",
        s(&event),
        "--memory",
        "512",
        "--timeout",
        "60",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let report = stderr
        .lines()
        .find(|l| l.starts_with("REPORT RequestId: "))
        .unwrap_or_else(|| panic!("no REPORT line:\n{stderr}"));
    let fields: Vec<&str> = report.split('\t').collect();
    assert!(
        fields[1].starts_with("Duration: ") && fields[1].ends_with(" ms"),
        "{report}"
    );
    assert!(fields[2].starts_with("Billed Duration: "), "{report}");
    assert_eq!(fields[3], "Memory Size: 512 MB", "{report}");
    let used: u64 = fields[4]
        .strip_prefix("Max Memory Used: ")
        .and_then(|v| v.strip_suffix(" MB"))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    assert!(used > 1 && used < 512, "{report}");
    assert!(stderr.contains("START RequestId: ") && stderr.contains("END RequestId: "));
    // The handler's own log lines come through, and the response is the shard's marker.
    assert!(stderr.contains("\"message\":\"shard done\""), "{stderr}");
    let response: Value = serde_json::from_str(&stdout).expect("response json");
    assert!(
        response["loan_months"].as_u64().expect("loan_months") > 0,
        "{response}"
    );
}

#[test]
fn invoke_fails_like_lambda_out_of_memory_past_its_timeout_and_on_a_handler_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let event = swept_event(dir.path());
    // Over the memory size: killed, as Lambda kills it.
    let o = mcflow(&["invoke", "worker", "--event", s(&event), "--memory", "8"]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("Error Type: Runtime.OutOfMemory"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Error: Runtime exited with error: signal: killed"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_str(&stdout).expect("error json");
    assert_eq!(doc["errorType"], "Runtime.OutOfMemory");

    // A size Lambda does not have is a usage error, said before any invocation starts.
    let o = mcflow(&[
        "invoke",
        "worker",
        "--event",
        s(&event),
        "--memory",
        "20000",
    ]);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("START"), "{stderr}");
    assert!(
        stderr.contains("20000") && stderr.contains("--memory"),
        "{stderr}"
    );

    // Past the timeout: stopped, with Lambda's message and status.
    let o = mcflow(&[
        "invoke",
        "worker",
        "--event",
        s(&event),
        "--memory",
        "128",
        "--timeout",
        "0.001s",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("Task timed out after 0.00 seconds"),
        "{stderr}"
    );
    assert!(stderr.contains("\tStatus: timeout"), "{stderr}");
    assert!(stdout.contains("Sandbox.Timedout"), "{stdout}");

    // A handler error (the run's store is gone) is Lambda's error document, not a crash.
    std::fs::remove_dir_all(dir.path().join("sweep/store")).expect("remove store");
    let o = mcflow(&["invoke", "worker", "--event", s(&event)]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success());
    let doc: Value = serde_json::from_str(&stdout).expect("error json");
    assert!(
        doc["errorMessage"]
            .as_str()
            .expect("message")
            .contains("manifest"),
        "{doc}\n{stderr}"
    );
}

#[test]
fn invoke_and_sweep_name_bad_event_files_and_arguments() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("sweep");
    // Arguments are checked before the event is read, so any file will do.
    let event = dir.path().join("event.json");
    std::fs::write(&event, "{}").expect("write");
    let o = mcflow(&["invoke", "worker", "--event", "no/such/event.json"]);
    assert!(!o.status.success());
    assert!(
        text(&o)
            .1
            .contains("cannot read event file no/such/event.json")
    );
    let not_json = dir.path().join("event.txt");
    std::fs::write(&not_json, "Records: []").expect("write");
    let o = mcflow(&["invoke", "worker", "--event", s(&not_json)]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("is not a JSON document"),
        "{}",
        text(&o).1
    );
    let o = mcflow(&["invoke", "worker", "--event", s(&event), "--timeout", "901"]);
    assert!(text(&o).1.contains("900 s limit"), "{}", text(&o).1);
    let o = mcflow(&["sweep", "--memory", "0", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "a usage error");
    assert!(
        text(&o)
            .1
            .contains("'0' for '--memory <MEMORY>': 0 is not in 1..=10240"),
        "{}",
        text(&o).1
    );
}

/// The CPU groups `mcflow` process `pid` has created: they sit beside it, in this
/// process's own group of each CPU hierarchy (v1 `cpu`, or v2), named
/// `mcflow-invoke-<pid>-<n>`.
fn cpu_groups_of(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("mcflow-invoke-{pid}-");
    let mounts = std::fs::read_to_string("/proc/self/mounts").expect("mounts");
    let own = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
    let mut found = Vec::new();
    for line in mounts.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (mount, fstype, options) = (fields[1], fields[2], fields[3]);
        let group = match fstype {
            "cgroup" if options.split(',').any(|o| o == "cpu") => own.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers.split(',').any(|c| c == "cpu").then_some(path)
            }),
            "cgroup2" => own.lines().find_map(|l| l.strip_prefix("0::")),
            _ => None,
        };
        let Some(group) = group else { continue };
        let dir = Path::new(mount).join(group.trim_start_matches('/'));
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                found.push(entry.path());
            }
        }
    }
    found
}

#[test]
fn an_interrupted_invoke_stops_its_child_and_removes_its_cpu_group() {
    // SAFETY: geteuid reads no memory of ours.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "this test creates a CPU cgroup and needs root (CI runs as root)"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let event = swept_event(dir.path());
    // 128 MB is 0.07 vCPU: the shard runs for seconds, inside its group.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mcflow"))
        .args([
            "invoke",
            "worker",
            "--event",
            s(&event),
            "--memory",
            "128",
            "--timeout",
            "120",
            "--cpu-limit",
            "cgroup",
        ])
        .current_dir(super::repo())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mcflow");
    // Wait until the measured child is running inside its group.
    let started = std::time::Instant::now();
    let (groups, measured) = loop {
        let groups = cpu_groups_of(child.id());
        let procs: Vec<i32> = groups
            .iter()
            .filter_map(|g| std::fs::read_to_string(g.join("cgroup.procs")).ok())
            .flat_map(|t| {
                t.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<_>>()
            })
            .collect();
        if let Some(&pid) = procs.first() {
            break (groups, pid);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no child ran in a CPU group within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: signalling our own child, which is still running (it has not been waited).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let o = child.wait_with_output().expect("wait");
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("1 CPU cgroup removed"), "{stderr}");
    for group in groups {
        assert!(!group.exists(), "{} is left behind", group.display());
    }
    // The measured child was killed, not orphaned (gone, or a zombie until reaped).
    let gone = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|rest| rest.starts_with('Z'))
        })
    };
    let waited = std::time::Instant::now();
    while !gone(measured) {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(10),
            "the measured child {measured} still runs"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
