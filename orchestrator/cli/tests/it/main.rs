//! End-to-end tests of the `mcflow` binary as a user runs it: local runs, inputs and
//! errors here; the Athena queries on its tables (`athena`); the report page in a
//! browser (`page`); `invoke` and `sweep`
//! (`sweep`); and the cloud commands against an emulator (`cloud`).

mod athena;
mod cloud;
mod diff;
mod exits;
mod interrupt;
mod json;
mod page;
mod setup;
// The orchestrator's emulator helper, shared rather than copied; this binary uses only
// part of it.
#[allow(dead_code)]
#[path = "../../../tests/it/emulator.rs"]
mod emulator;
mod sweep;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn mcflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcflow"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("spawn mcflow")
}

/// `mcflow ARGS` from `dir` with `stdin` on its standard input (`--config -`).
fn mcflow_with_stdin(args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcflow"));
    command.args(args).current_dir(dir);
    feed_and_wait(&mut command, stdin)
}

/// Runs `command` with `stdin` written to its standard input, and collects its output.
fn feed_and_wait(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mcflow");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin).expect("stdin");
    child.wait_with_output().expect("mcflow ends")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Whether the summary has a line `label ... value`.
fn has_line(stdout: &str, label: &str, value: &str) -> bool {
    stdout.lines().any(|l| {
        let l = l.trim();
        l.starts_with(label) && l[label.len()..].trim() == value
    })
}

/// The bundled run configuration without its `[risk]` section: the sample's base run, for
/// tests that feed it on standard input from `data/` (where its relative files are).
fn base_run_config() -> Vec<u8> {
    let bundled = std::fs::read_to_string(repo().join("data/run.toml")).expect("bundled");
    let base = bundled.split("\n[risk]").next().expect("text");
    base.as_bytes().to_vec()
}

/// `mcflow run --config - --portfolio PORTFOLIO --out OUT ARGS...` from `data/`, with
/// `config` (the bundled base run, say) on standard input.
fn run_from_data(portfolio: &Path, out: &Path, config: &[u8], args: &[&str]) -> Output {
    let mut all = vec![
        "run",
        "--config",
        "-",
        "--portfolio",
        s(portfolio),
        "--out",
        s(out),
    ];
    all.extend_from_slice(args);
    mcflow_with_stdin(&all, config, &repo().join("data"))
}

/// A synthetic portfolio of `loans` loans (`mcflow sample`) at `dir/p.parquet`.
fn sample_portfolio(dir: &Path, loans: u32) -> PathBuf {
    let portfolio = dir.join("p.parquet");
    let loans = loans.to_string();
    let o = mcflow(&["sample", "--loans", &loans, "--out", s(&portfolio)]);
    assert!(o.status.success(), "{:?}", text(&o));
    portfolio
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
    assert!(has_line(&stdout, "loan-months", "360"), "{stdout}");
    // A deterministic run has no Monte Carlo figures, and its summary says none.
    assert!(!stdout.contains("Monte Carlo"), "{stdout}");
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
    // The bill of the measured shards, for both architectures.
    let bills = report["bill"].as_array().expect("bill");
    let archs: Vec<&str> = bills
        .iter()
        .map(|b| b["arch"].as_str().expect("arch"))
        .collect();
    assert_eq!(archs, ["x86_64", "arm64"]);
    assert!(
        bills
            .iter()
            .all(|b| b["total_usd"].as_f64().expect("usd") > 0.0)
    );
    let compute = |b: &serde_json::Value| b["lambda_compute_usd"].as_f64().expect("compute USD");
    assert!(compute(&bills[1]) < compute(&bills[0]));
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

/// A small stochastic setup: the bundled config with fewer scenarios, on 600 loans.
fn small_stochastic(dir: &Path) -> (PathBuf, PathBuf) {
    let config = std::fs::read_to_string(repo().join("data/run.toml"))
        .expect("bundled config")
        .replace("scenarios = 200", "scenarios = 8")
        .replace(
            "stress/severely_adverse.csv",
            s(&repo().join("data/stress/severely_adverse.csv")),
        )
        .replace(
            "\"hpi_history.csv\"",
            &format!("{:?}", s(&repo().join("data/hpi_history.csv"))),
        );
    let config_path = dir.join("small.toml");
    std::fs::write(&config_path, config).expect("write config");
    let portfolio = dir.join("small.parquet");
    let o = mcflow(&[
        "sample",
        "--loans",
        "600",
        "--seed",
        "3",
        "--out",
        s(&portfolio),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    (config_path, portfolio)
}

#[test]
fn thread_count_does_not_change_a_single_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, portfolio) = small_stochastic(dir.path());
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let o = mcflow(&[
            "run",
            "--threads",
            threads,
            "--config",
            s(&config),
            "--portfolio",
            s(&portfolio),
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{:?}", text(&o));
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("runs/sample/report.json")).expect("report"),
        )
        .expect("json");
        let tables: Vec<Vec<u8>> = report["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .map(|p| std::fs::read(out.join(p.as_str().expect("path"))).expect("table"))
            .collect();
        assert_eq!(
            tables.len(),
            4,
            "cash flows, scenario results, loan results, loan risk"
        );
        outputs.push((tables, report["pv"].clone(), report["loss"].clone()));
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// One shard versus 7 loan ranges x 3 scenario ranges: identical final tables (byte for
/// byte) and identical report numbers.
#[test]
fn one_shard_and_many_give_identical_tables_and_numbers() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, portfolio) = small_stochastic(dir.path());
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            "--config",
            s(&config),
            "--portfolio",
            s(&portfolio),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        let o = mcflow(&args);
        assert!(o.status.success(), "{:?}", text(&o));
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join("runs/sample/report.json")).expect("report"),
        )
        .expect("json");
        let tables: Vec<Vec<u8>> = report["outputs"]
            .as_array()
            .expect("outputs")
            .iter()
            .map(|p| std::fs::read(out.join(p.as_str().expect("path"))).expect("table"))
            .collect();
        assert!(
            !out.join("_partials").join("run_id=sample").exists(),
            "partials are removed after the reduce"
        );
        (report, tables)
    };
    let (one, one_tables) = run("one", &["--shards", "1"]);
    let (many, many_tables) = run(
        "many",
        &["--loans-per-shard", "86", "--scenarios-per-shard", "3"],
    );
    assert_eq!(one["shards"]["planned"], 1);
    // Scenario ranges of 4 (3 rounded up to whole antithetic pairs) within each block:
    // the base block's 8 random + 1 stress scenarios in 3, each risk bump's 8 in 2, the
    // zero-volatility path in 1.
    let bumps = many["risk"]["bumps"].as_array().expect("bumps").len();
    assert!(bumps > 10, "the sample config asks for the full risk run");
    let ranges = 3 + 2 * (bumps - 1) + 1;
    assert_eq!(
        many["shards"]["planned"],
        7 * ranges,
        "7 loan ranges x {ranges} scenario ranges"
    );
    assert_eq!(many["shards"]["completed"], 7 * ranges);
    assert_eq!(one_tables, many_tables);
    for key in [
        "pv",
        "loss",
        "totals",
        "stress",
        "cashflow_bands",
        "loan_months",
        "wal_years",
        "cumulative_default_pct",
        "risk",
    ] {
        assert_eq!(one[key], many[key], "{key}");
    }
}

#[test]
fn a_stochastic_run_reports_risk_measures_bands_and_charts() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, portfolio) = small_stochastic(dir.path());
    let out = dir.path().join("out");
    let o = mcflow(&[
        "run",
        "--config",
        s(&config),
        "--portfolio",
        s(&portfolio),
        "--out",
        s(&out),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("PV mean +/- SE") && stdout.contains("loss ES95 / ES99"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("runs/sample/report.json")).expect("report"),
    )
    .expect("json");
    assert_eq!(
        report["scenarios"], 9,
        "8 random scenarios and 1 stress path"
    );
    for key in ["mean", "std_error", "p01", "p05", "p50", "p95", "p99"] {
        assert!(report["pv"][key].as_f64().expect(key) > 0.0, "pv.{key}");
    }
    let pv = &report["pv"];
    let p = |k: &str| pv[k].as_f64().expect("number");
    assert!(
        p("p01") <= p("p05")
            && p("p05") <= p("p50")
            && p("p50") <= p("p95")
            && p("p95") <= p("p99")
    );
    let loss = &report["loss"];
    let l = |k: &str| loss[k].as_f64().expect("number");
    assert!(
        l("expected") > 0.0 && l("var_95") <= l("es_95") + 1e-6 && l("var_99") <= l("es_99") + 1e-6
    );
    assert!(l("es_95") <= l("es_99") + 1e-6);
    // Every headline mean carries its Monte Carlo standard error.
    assert!(l("std_error") > 0.0 && l("std_error") < l("expected"));
    assert!(report["credit_loss"]["std_error"].as_f64().expect("se") > 0.0);
    assert!(
        report["cumulative_default_pct_std_error"]
            .as_f64()
            .expect("se")
            > 0.0
    );
    // The convergence table's last row is the headline itself; 8 scenarios in pairs give
    // rows at 2, 4 and 8.
    let rows = report["convergence"].as_array().expect("convergence");
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| r["scenarios"].as_u64().expect("n"))
        .collect();
    assert_eq!(counts, [2, 4, 8]);
    let last = &rows[2];
    assert_eq!(last["pv_mean"], report["pv"]["mean"]);
    assert_eq!(last["pv_std_error"], report["pv"]["std_error"]);
    assert_eq!(last["expected_loss"], report["loss"]["expected"]);
    assert_eq!(
        last["expected_credit_loss"],
        report["credit_loss"]["expected"]
    );
    assert!(report["wal_years"].as_f64().expect("wal") > 1.0);
    // The WAL's standard error (a ratio of means, by the delta method).
    let wal_se = report["wal_years_std_error"].as_f64().expect("wal se");
    assert!(wal_se > 0.0 && wal_se < 1.0, "{wal_se}");
    // The stress path runs after the 8 random scenarios and is reported on its own.
    assert_eq!(report["stress"][0]["scenario"], 8);
    assert_eq!(report["stress"][0]["name"], "severely_adverse");
    assert!(report["stress"][0]["lifetime_loss"].as_f64().expect("loss") > l("expected"));
    let bands = report["cashflow_bands"].as_array().expect("bands");
    assert_eq!(
        bands.len() as u64,
        report["horizon_months"].as_u64().expect("horizon")
    );
    for chart in ["cashflow_fan.svg", "pv_histogram.svg", "pv_by_shift.svg"] {
        let svg = std::fs::read_to_string(out.join("runs/sample").join(chart)).expect(chart);
        assert!(svg.starts_with("<svg") && svg.contains("sample"), "{chart}");
    }
    // The sample's `[risk]`: every figure with its standard error, in the summary too.
    let risk = &report["risk"];
    for key in [
        "oas_bp",
        "zero_vol_spread_bp",
        "option_cost_bp",
        "effective_duration",
        "effective_convexity",
        "key_rate_duration_sum",
        "vega",
        "prepay_duration",
        "hpi_duration",
    ] {
        let value = risk[key]["value"].as_f64();
        let se = risk[key]["std_error"].as_f64();
        assert!(
            value.is_some_and(f64::is_finite) && se.is_some_and(|e| e >= 0.0),
            "risk.{key}: {}",
            risk[key]
        );
    }
    assert_eq!(
        risk["key_rate_durations"].as_object().expect("map").len(),
        4
    );
    // Written in tenor order (a parsed JSON object sorts its keys, so read the text).
    let raw = std::fs::read_to_string(out.join("runs/sample/report.json")).expect("report");
    let at = |tenor: &str| {
        raw.find(&format!("\"{tenor}\": {{"))
            .unwrap_or_else(|| panic!("no key rate {tenor}"))
    };
    assert!(at("2") < at("5") && at("5") < at("10") && at("10") < at("30"));
    let shocks = risk["shocks"].as_array().expect("shocks");
    assert_eq!(shocks.len(), 6);
    // Rates up, value down: PV falls across the shocks in shift order.
    let pvs: Vec<f64> = shocks
        .iter()
        .map(|s| s["pv"]["value"].as_f64().expect("pv"))
        .collect();
    assert!(pvs.windows(2).all(|w| w[0] > w[1]), "{pvs:?}");
    assert!(risk["effective_duration"]["value"].as_f64().expect("d") > 0.0);
    for line in [
        "OAS",
        "zero-vol spread",
        "eff. duration",
        "key-rate durations",
        "rate shock",
    ] {
        assert!(stdout.contains(line), "no {line} in {stdout}");
    }
    let b = &bands[11];
    let band = |k: &str| b[k].as_f64().unwrap_or_else(|| panic!("no {k} in {b}"));
    assert!(band("p05") <= band("p50") && band("p50") <= band("p95"));
    assert!(report["cumulative_default_pct"].as_f64().expect("cdr") > 0.0);
}

#[test]
fn scenarios_exports_a_stochastic_configs_paths_and_refuses_a_deterministic_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let (config, _) = small_stochastic(dir.path());
    let paths = dir.path().join("paths.parquet");
    let o = mcflow(&[
        "scenarios",
        "--config",
        s(&config),
        "--out",
        s(&paths),
        "--months",
        "24",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("wrote 9 scenarios x 25 months"), "{stdout}");
    assert!(std::fs::read(&paths).expect("paths").starts_with(b"PAR1"));

    let o = mcflow(&[
        "scenarios",
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&paths),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("stochastic"), "{:?}", text(&o));
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
    // Each problem is said once: the cause chain does not repeat the list.
    assert_eq!(stderr.matches("column current_upb").count(), 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    assert_eq!(std::fs::read(&report_path).expect("report kept"), before);

    // A missing file: the operating system's reason once.
    let o = mcflow(&[
        "run",
        "--portfolio",
        "no-such-portfolio.csv",
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&out),
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("no-such-portfolio.csv"), "{stderr}");
    assert_eq!(stderr.matches("os error 2").count(), 1, "{stderr}");
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

    // `validate` reports the config's and the portfolio's problems in one pass.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "loan_id,current_upb,note_rate_pct,orig_term_months,loan_age_months\nb,-5,6.5,360,0\n",
    )
    .expect("write");
    let o = mcflow(&["validate", "--config", s(&config), "--portfolio", s(&bad)]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("model.severity_pct: 120"), "{stderr}");
    assert!(stderr.contains("row 1, column current_upb"), "{stderr}");
}

#[test]
fn rerun_with_other_inputs_is_refused_without_overwrite() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let args = |config: &str| -> Vec<String> {
        [
            "run",
            "--portfolio",
            "data/sifma_pool.csv",
            "--config",
            config,
            "--out",
            s(&out),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let run = |a: &[String]| mcflow(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run(&args("data/sifma-a.toml")).status.success());
    let report = out.join("runs/sifma-a/report.json");
    let before = std::fs::read(&report).expect("report");
    // Same inputs: allowed, and the tables come out the same.
    let again = run(&args("data/sifma-a.toml"));
    assert!(again.status.success(), "{:?}", text(&again));
    // Same run id, different config: refused, earlier result untouched.
    let changed = dir.path().join("changed.toml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(repo().join("data/sifma-a.toml"))
            .expect("config")
            .replace("severity_pct = 20.0", "severity_pct = 30.0"),
    )
    .expect("write");
    let o = run(&args(s(&changed)));
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("already exists") && text(&o).1.contains("--overwrite"),
        "{:?}",
        text(&o)
    );
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("kept")).expect("json");
    let before: serde_json::Value = serde_json::from_slice(&before).expect("json");
    assert_eq!(after["inputs"], before["inputs"]);
    assert_eq!(after["totals"], before["totals"]);
    let mut with_flag = args(s(&changed));
    with_flag.push("--overwrite".into());
    let o = run(&with_flag);
    assert!(o.status.success(), "{:?}", text(&o));
    let replaced: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("new")).expect("json");
    assert_ne!(
        replaced["inputs"]["config_sha256"],
        before["inputs"]["config_sha256"]
    );

    // `mcflow report` reprints the stored summary.
    let o = mcflow(&["report", s(&out)]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stdout.contains("mcflow run sifma-a") && has_line(&stdout, "loan-months", "360"),
        "{stdout}"
    );
    let o = mcflow(&["report", s(&dir.path().join("nothing"))]);
    assert!(!o.status.success());
}

#[test]
fn truncated_parquet_and_unwritable_output_fail_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let bytes = std::fs::read(repo().join("data/sample_portfolio.parquet")).expect("sample");
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let out = dir.path().join("out");
    let o = mcflow(&[
        "run",
        "--portfolio",
        s(&truncated),
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&out),
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains(s(&truncated)) && stderr.contains("Parquet"),
        "{stderr}"
    );
    assert!(!out.join("runs").exists(), "no report for a failed run");

    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, [0u8, 159, 146, 150, 255, 0, 1, 2]).expect("write");
    let o = mcflow(&[
        "validate",
        "--portfolio",
        s(&garbage),
        "--config",
        "data/sifma-a.toml",
    ]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains(s(&garbage)), "{:?}", text(&o));

    // An output path below a regular file cannot be created.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let o = mcflow(&[
        "run",
        "--portfolio",
        "data/sifma_pool.csv",
        "--config",
        "data/sifma-a.toml",
        "--out",
        s(&file.join("out")),
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("a-file"), "{stderr}");
}

#[test]
fn nan_and_duplicate_rows_are_reported() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "loan_id,current_upb,note_rate_pct,orig_term_months,loan_age_months\n\
         a,NaN,6.5,360,0\n\
         a,1000,6.5,360,0\n\
         c,1000,-2,360,0\n",
    )
    .expect("write");
    let o = mcflow(&[
        "validate",
        "--portfolio",
        s(&bad),
        "--config",
        "data/sifma-a.toml",
    ]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    for needle in [
        "row 1, column current_upb: \"NaN\"",
        "row 2, column loan_id: \"a\" appears more than once",
        "row 3, column note_rate_pct: \"-2\"",
    ] {
        assert!(stderr.contains(needle), "missing {needle} in {stderr}");
    }
}

#[test]
fn import_fannie_sample_then_run_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("fannie.parquet");
    let o = mcflow(&[
        "import",
        "fannie",
        "data/fannie_sample.txt",
        "--out",
        s(&out),
        "--servicing-fee-pct",
        "0.25",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("kept 3; skipped: 1 terminated (zero-balance code), 1 not fixed-rate, 1 invalid; 1 malformed rows"), "{stdout}");
    assert!(
        stdout.contains("data/fannie_sample.txt, line 12"),
        "{stdout}"
    );
    let o = mcflow(&[
        "run",
        "--portfolio",
        s(&out),
        "--config",
        "data/sifma-b.toml",
        "--out",
        s(&dir.path().join("o")),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(has_line(&text(&o).0, "loans", "3"), "{:?}", text(&o));

    let o = mcflow(&["import", "fannie", "no/such/file.txt", "--out", s(&out)]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no/such/file.txt"));
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
fn stochastic_bench_counts_every_loan_month_of_every_scenario() {
    let o = mcflow(&[
        "bench",
        "--model",
        "stochastic",
        "--loans",
        "300",
        "--months",
        "60",
        "--scenarios",
        "2",
        "--threads",
        "2",
        "--repeat",
        "1",
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(v["model"], "stochastic");
    assert_eq!(v["loan_months"], 36_000);
    assert_eq!(v["scenarios"], 2);
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
    // A name that is neither format is refused, and nothing is written.
    let xlsx = dir.path().join("p.xlsx");
    let o = mcflow(&["sample", "--loans", "1", "--out", s(&xlsx)]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("p.xlsx") && stderr.contains(".csv or .parquet"),
        "{stderr}"
    );
    assert!(!xlsx.exists());
    // One loan is one loan.
    let one = dir.path().join("one.csv");
    let o = mcflow(&["sample", "--loans", "1", "--out", s(&one)]);
    assert!(text(&o).0.contains("wrote 1 loan to"), "{:?}", text(&o));
}

#[test]
fn plan_prices_a_fannie_scale_run_and_refuses_an_impossible_deadline() {
    let o = mcflow(&[
        "plan",
        "--loans",
        "20000000",
        "--scenarios",
        "500",
        "--deadline",
        "10m",
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let plan: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let best = &plan["recommended"];
    assert!(
        best["wall_seconds"].as_f64().expect("wall") <= 600.0,
        "{best}"
    );
    let shards = best["shards"].as_u64().expect("shards");
    let per = best["loans_per_shard"].as_u64().expect("per shard");
    assert!(shards * per >= 20_000_000);
    for bill in best["bills"].as_array().expect("bills") {
        let total = bill["total_usd"].as_f64().expect("total");
        let parts: f64 = [
            "lambda_compute_usd",
            "lambda_requests_usd",
            "sqs_usd",
            "s3_usd",
            "scheduler_usd",
        ]
        .iter()
        .map(|k| bill[k].as_f64().expect("part"))
        .sum();
        assert!((total - parts).abs() < 1e-12 && total > 0.0, "{bill}");
    }
    let o = mcflow(&[
        "plan",
        "--loans",
        "20000000",
        "--scenarios",
        "500",
        "--deadline",
        "2s",
        "--concurrency",
        "10",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(!o.status.success(), "{stdout}");
    assert!(
        stderr.contains("no memory size meets the deadline"),
        "{stderr}"
    );
    let o = mcflow(&["plan", "--deadline", "soon"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--deadline"), "{}", text(&o).1);
    // The bundled sample by default.
    let o = mcflow(&["plan"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    // 200 random + 1 stress, then the sample's 22 risk bumps of 200 and the
    // zero-volatility path: the plan prices every block.
    assert!(
        stdout.contains("10,000 loans x 4,602 scenarios"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[risk] bump blocks: 22.90x the base run"),
        "{stdout}"
    );
}

/// Output into a pipe whose reader has gone (`mcflow ... | head`) ends the process
/// quietly instead of panicking with exit code 101.
#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_mcflow"))
        .args(["generate-event", "sqs"])
        .current_dir(repo())
        .stdout(writer)
        .output()
        .expect("spawn mcflow");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // SIGPIPE is signal 13 on Linux and macOS.
    assert_eq!(o.status.signal(), Some(13), "{:?} {stderr}", o.status);
}
