//! End-to-end tests of the `mcflow` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn mcflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcflow"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("spawn mcflow")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The SIFMA Cash Flow A example run through the CLI: the Parquet on disk carries the
/// chapter's printed numbers (SIFMA Uniform Practices, chapter SF, pages SF-23 .. SF-30).
#[test]
fn run_sifma_example_through_the_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let o = mcflow(&[
        "run",
        "--portfolio",
        "data/sifma_pool.csv",
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&out),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("loan-months          360"), "{stdout}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("runs/sifma-a/report.json")).expect("report"),
    )
    .expect("json");
    for key in [
        "run_id",
        "loans",
        "scenarios",
        "horizon_months",
        "loan_months",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    assert_eq!(report["horizon_months"], 360);
    let part = out.join("portfolio_cashflows");
    let date_dir = std::fs::read_dir(&part)
        .expect("ls")
        .next()
        .expect("partition")
        .expect("entry")
        .path();
    let file = date_dir.join("run_id=sifma-a/part-00000.parquet");
    let rows = worker::cashflow_parquet::read_cashflows(&file).expect("read");
    // Month 13 as printed: performing 76,203,943; new defaults 778,161; in foreclosure
    // 10,453,093; principal recovery 791,646; principal loss 200,000; ADB 991,646.
    let m13 = &rows[12];
    assert_eq!(m13.month, 13);
    let dollars = |i: usize| (m13.cents[i] as f64 / 100.0).round() as i64;
    assert_eq!(
        [
            dollars(0),
            dollars(1),
            dollars(2),
            dollars(12),
            dollars(13),
            dollars(14)
        ],
        [76_203_943, 778_161, 10_453_093, 791_646, 200_000, 991_646]
    );
}

#[test]
fn thread_count_does_not_change_a_single_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let o = mcflow(&["run", "--threads", threads, "--out", s(&out)]);
        assert!(o.status.success(), "{:?}", text(&o));
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("runs/sample/report.json")).expect("report"),
        )
        .expect("json");
        let table = report["outputs"][0]
            .as_str()
            .expect("output path")
            .to_string();
        files.push(std::fs::read(out.join(table)).expect("table"));
    }
    assert_eq!(files[0], files[1]);
}

#[test]
fn bad_portfolio_fails_naming_file_row_column_and_keeps_earlier_result() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let good = mcflow(&[
        "run",
        "--portfolio",
        "data/sifma_pool.csv",
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&out),
    ]);
    assert!(good.status.success(), "{:?}", text(&good));
    let report_path = out.join("runs/sifma-a/report.json");
    let before = std::fs::read(&report_path).expect("report");

    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "loan_id,current_upb,note_rate_pct,orig_term_months,loan_age_months\n\
         a,100000,6.5,360,0\n\
         b,-5,6.5,360,0\n\
         c,100000,6.5,360,360\n",
    )
    .expect("write");
    let o = mcflow(&[
        "run",
        "--portfolio",
        s(&bad),
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&out),
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains(s(&bad)), "{stderr}");
    assert!(
        stderr.contains("row 2, column current_upb: \"-5\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("row 3, column loan_age_months: \"360\""),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&report_path).expect("report kept"), before);
}

#[test]
fn bad_config_fails_naming_file_and_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "run_id = \"x\"\n[model]\nkind = \"deterministic\"\nprepay = { psa = 100 }\nseverity_pct = 120\n").expect("write");
    let o = mcflow(&[
        "run",
        "--config",
        s(&config),
        "--out",
        s(&dir.path().join("o")),
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains(s(&config)) && stderr.contains("model.severity_pct: 120"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("o").exists(),
        "nothing may be written for a bad config"
    );

    let o = mcflow(&["run", "--config", "no/such.toml"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no/such.toml"));
}

#[test]
fn bench_prints_one_json_object() {
    let o = mcflow(&[
        "bench",
        "--loans",
        "2000",
        "--months",
        "120",
        "--threads",
        "1",
        "--repeat",
        "2",
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(v["loan_months"], 240_000);
    assert_eq!(v["threads"], 1);
    assert!(v["seconds"].as_f64().expect("seconds") > 0.0);
    assert!(v["loan_months_per_second"].as_f64().expect("rate") > 0.0);
}

#[test]
fn sample_then_validate() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["p.parquet", "p.csv"] {
        let path = dir.path().join(name);
        let o = mcflow(&["sample", "--loans", "500", "--seed", "9", "--out", s(&path)]);
        assert!(o.status.success(), "{:?}", text(&o));
        let o = mcflow(&["validate", "--portfolio", s(&path)]);
        let (stdout, stderr) = text(&o);
        assert!(o.status.success(), "{stderr}");
        assert!(stdout.contains("ok: 500 loans"), "{stdout}");
    }
}
