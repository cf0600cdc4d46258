//! `--json` on run, validate, report, import and sweep: one JSON document on stdout, the
//! same facts the files hold. (`submit --json` and `retry --json` are in `cloud`.)

use serde_json::Value;

use super::{mcflow, s, text};

fn stdout_json(args: &[&str]) -> (Option<i32>, Value, String) {
    let o = mcflow(args);
    let (stdout, stderr) = text(&o);
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (o.status.code(), v, format!("{stdout}\n{stderr}"))
}

#[test]
fn run_report_and_validate_print_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let sifma = [
        "--portfolio",
        "data/sifma_pool.csv",
        "--config",
        "data/sifma-a.toml",
    ];
    let (code, run, all) =
        stdout_json(&[&["run", "--json", "--out", s(&out)][..], &sifma].concat());
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(run["run_id"], "sifma-a", "{all}");
    assert_eq!(run["loan_months"], 360, "{all}");
    // The printed report is the stored one.
    let stored: Value = serde_json::from_slice(
        &std::fs::read(out.join("runs/sifma-a/report.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(run, stored);
    let (code, reports, all) = stdout_json(&["report", s(&out), "--json"]);
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(reports, Value::Array(vec![stored]), "{all}");

    let (code, ok, all) = stdout_json(&[&["validate", "--json"][..], &sifma].concat());
    assert_eq!(code, Some(0), "{all}");
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["loans"], 1);
    assert_eq!(ok["run_id"], "sifma-a");
    // Both inputs bad: every problem listed, and the bad-input exit code.
    let (code, bad, all) = stdout_json(&[
        "validate",
        "--json",
        "--portfolio",
        "data/run.toml",
        "--config",
        "data/sifma-a.toml",
        "--set",
        "model.severity_pct=-5",
    ]);
    assert_eq!(code, Some(3), "{all}");
    assert_eq!(bad["ok"], false, "{all}");
    let problems = bad["problems"].as_array().expect("problems");
    assert!(problems.len() >= 2, "{all}");
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("severity"))),
        "{all}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.contains("run.toml"))),
        "{all}"
    );
}

#[test]
fn import_prints_its_summary_as_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("fannie.parquet");
    let (code, v, all) = stdout_json(&[
        "import",
        "fannie",
        "data/fannie_sample.txt",
        "--out",
        s(&out),
        "--json",
    ]);
    assert_eq!(code, Some(0), "{all}");
    let written = v["loans_written"].as_u64().expect("loans_written");
    assert!(written > 0, "{all}");
    assert_eq!(v["summary"]["loans_kept"].as_u64(), Some(written), "{all}");
    assert!(v["summary"]["rows_read"].as_u64() >= Some(written), "{all}");
    assert!(out.exists());
}

#[test]
fn sweep_prints_its_sweep_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("sweep");
    let (code, v, all) = stdout_json(&[
        "sweep",
        "--loans-per-shard",
        "20",
        "--scenarios-per-shard",
        "4",
        "--memory",
        "1769",
        "--repeats",
        "1",
        "--out",
        s(&out),
        "--json",
    ]);
    assert_eq!(code, Some(0), "{all}");
    let file: Value =
        serde_json::from_slice(&std::fs::read(out.join("sweep.json")).expect("sweep.json"))
            .expect("json");
    assert_eq!(v, file);
    assert_eq!(v["points"].as_array().map(Vec::len), Some(2), "{all}");
}
