//! The analyst queries of `docs/athena.md`, run with DuckDB (the Athena stand-in) over two
//! local runs' Hive-partitioned outputs, must agree with each run's `report.json`: proof
//! that the Parquet types and layout serve SQL engines.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::repo;

fn mcflow(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_mcflow"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("spawn");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `data/run.toml` with fewer scenarios, as run `run_id` with `seed`. Of `[risk]` it
/// keeps only `effective` (no price), so the report's duration is at the same spread as
/// `loan_risk`'s.
fn config(dir: &Path, run_id: &str, seed: u32) -> String {
    let text = std::fs::read_to_string(repo().join("data/run.toml")).expect("config");
    let dropped = [
        "price_pct",
        "key_rates_years",
        "vega",
        "shocks_bp",
        "prepay_duration",
        "hpi_duration",
    ];
    let text = text
        .lines()
        .filter(|l| !dropped.iter().any(|k| l.starts_with(k)))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("run_id = \"sample\"", &format!("run_id = \"{run_id}\""))
        .replace("scenarios = 200", "scenarios = 40")
        .replace("seed = 42", &format!("seed = {seed}"));
    let path = dir.join(format!("{run_id}.toml"));
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().expect("decimal string"),
        v => v.as_f64().expect("number"),
    }
}

fn close(a: f64, b: f64, abs: f64, rel: f64, what: &str) {
    assert!(
        (a - b).abs() <= abs + rel * b.abs(),
        "{what}: query {a} vs report {b}"
    );
}

#[test]
fn athena_queries_on_duckdb_match_the_reports() {
    let python = repo().join(".tools/duckdb/bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/setup-tools.sh (it installs duckdb into .tools/duckdb)",
        python.display()
    );
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("stress")).expect("mkdir");
    std::fs::copy(
        repo().join("data/stress/severely_adverse.csv"),
        dir.path().join("stress/severely_adverse.csv"),
    )
    .expect("stress");
    std::fs::copy(
        repo().join("data/hpi_history.csv"),
        dir.path().join("hpi_history.csv"),
    )
    .expect("history");
    let portfolio = dir.path().join("p.parquet");
    let out = dir.path().join("out");
    let (p, o) = (portfolio.display().to_string(), out.display().to_string());
    mcflow(&["sample", "--loans", "400", "--seed", "3", "--out", &p]);
    for (id, seed) in [("sample", 42), ("sample2", 4242)] {
        let c = config(dir.path(), id, seed);
        mcflow(&[
            "run",
            "--portfolio",
            &p,
            "--config",
            &c,
            "--out",
            &o,
            "--shards",
            "3",
        ]);
    }
    let result = Command::new(&python)
        .arg(repo().join("scripts/athena_queries.py"))
        .arg(&out)
        .output()
        .expect("run the queries");
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let q: Value = serde_json::from_slice(&result.stdout).expect("json");
    let report = |id: &str| -> Value {
        serde_json::from_slice(
            &std::fs::read(out.join(format!("runs/{id}/report.json"))).expect("report"),
        )
        .expect("json")
    };
    let (a, b) = (report("sample"), report("sample2"));
    // Every query returns exactly the rows it must: one per run, one per fan month, one
    // per state of the portfolio, one run pair; a query that returns nothing fails here.
    let rows = |name: &str| -> &Vec<Value> {
        q.get(name)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no result for query {name}: {q}"))
    };
    assert_eq!(rows("pv_percentiles").len(), 2, "one row per run");
    assert_eq!(rows("pv_percentiles_approx").len(), 2, "one row per run");
    assert_eq!(rows("loss_summary").len(), 2, "one row per run");
    assert_eq!(rows("run_diff").len(), 1, "one pair of runs");
    let (records, _) = worker::portfolio_file::read_records(&portfolio).expect("portfolio");
    let states: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|l| l.state.as_deref().unwrap_or("(missing)"))
        .collect();
    assert!(states.len() > 1, "the sample spans several states");
    assert_eq!(rows("el_by_state").len(), states.len(), "one row per state");
    assert_eq!(
        rows("duration_by_state").len(),
        states.len(),
        "one per state"
    );
    // The PV-weighted loan durations add up to the portfolio's effective duration.
    let by_state = rows("duration_by_state");
    let pv: f64 = by_state.iter().map(|r| num(&r["pv_mean"])).sum();
    let weighted: f64 = by_state
        .iter()
        .map(|r| num(&r["pv_mean"]) * num(&r["effective_duration"]))
        .sum();
    let reported = report("sample");
    close(
        weighted / pv,
        num(&reported["risk"]["effective_duration"]["value"]),
        0.0,
        1e-9,
        "effective duration from loan_risk",
    );
    let weighted_convexity: f64 = by_state
        .iter()
        .map(|r| num(&r["pv_mean"]) * num(&r["effective_convexity"]))
        .sum();
    close(
        weighted_convexity / pv,
        num(&reported["risk"]["effective_convexity"]["value"]),
        0.0,
        1e-6,
        "effective convexity from loan_risk",
    );

    for row in q["pv_percentiles"].as_array().expect("rows") {
        let r = report(row["run_id"].as_str().expect("id"));
        let random =
            r["scenarios"].as_u64().expect("n") - r["stress"].as_array().expect("s").len() as u64;
        assert_eq!(row["scenarios"].as_u64(), Some(random));
        close(
            num(&row["pv_mean"]),
            num(&r["pv"]["mean"]),
            0.0,
            1e-9,
            "pv mean",
        );
        close(
            num(&row["pv_std_error"]),
            num(&r["pv"]["std_error"]),
            0.0,
            1e-6,
            "pv se",
        );
        for p in ["p01", "p05", "p50", "p95", "p99"] {
            assert_eq!(num(&row[format!("pv_{p}")]), num(&r["pv"][p]), "pv {p}");
        }
    }
    for row in q["loss_summary"].as_array().expect("rows") {
        let r = report(row["run_id"].as_str().expect("id"));
        close(
            num(&row["expected_loss"]),
            num(&r["loss"]["expected"]),
            0.005,
            0.0,
            "EL",
        );
        for k in ["var_95", "var_99", "es_95", "es_99"] {
            close(num(&row[k]), num(&r["loss"][k]), 0.005, 0.0, k);
        }
    }
    let fan = q["cashflow_fan"].as_array().expect("rows");
    let bands = a["cashflow_bands"].as_array().expect("bands");
    assert!(!bands.is_empty());
    assert_eq!(
        fan.len(),
        bands.len(),
        "one row per month of the fan ({} months)",
        bands.len()
    );
    for (row, band) in fan.iter().zip(bands) {
        for k in ["p05", "p50", "p95"] {
            // Seven columns, each rounded to the cent: at most 7 x 0.005.
            close(num(&row[k]), num(&band[k]), 0.035, 0.0, k);
        }
        close(
            num(&row["mean_cash_flow"]),
            num(&band["mean"]),
            0.035,
            0.0,
            "mean",
        );
    }
    let states = q["el_by_state"].as_array().expect("rows");
    let el: f64 = states.iter().map(|r| num(&r["expected_loss"])).sum();
    close(
        el,
        num(&a["loss"]["expected"]),
        0.0,
        1e-6,
        "EL by state vs loss.expected",
    );
    let loans: u64 = states.iter().map(|r| r["loans"].as_u64().expect("n")).sum();
    assert_eq!(Some(loans), a["loans"].as_u64());
    let upb: f64 = states.iter().map(|r| num(&r["current_upb"])).sum();
    close(upb, num(&a["portfolio"]["total_upb"]), 0.01, 1e-12, "UPB");
    let diff = &q["run_diff"][0];
    close(
        num(&diff["base_pv_mean"]),
        num(&a["pv"]["mean"]),
        0.0,
        1e-9,
        "base pv",
    );
    close(
        num(&diff["new_pv_mean"]),
        num(&b["pv"]["mean"]),
        0.0,
        1e-9,
        "new pv",
    );
    close(
        num(&diff["new_expected_loss"]),
        num(&b["loss"]["expected"]),
        0.005,
        0.0,
        "new EL",
    );
}
