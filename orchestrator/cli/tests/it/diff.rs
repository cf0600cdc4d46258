//! `mcflow diff`: two runs of the same portfolio, a day and a seed apart, compared.

use std::path::Path;

use serde_json::Value;

use super::{base_run_config, mcflow, run_from_data, s, sample_portfolio, text};

/// A small stochastic run of the bundled config without its risk section, from `data/`.
fn small_run(portfolio: &Path, out: &Path, run_id: &str, sets: &[&str]) {
    let mut args = vec!["--run-id", run_id, "--set", "model.scenarios=8"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let o = run_from_data(portfolio, out, &base_run_config(), &args);
    assert!(o.status.success(), "{:?}", text(&o));
}

/// `mcflow diff OUT/runs/A OUT/runs/B ARGS... --json`, which must succeed, parsed.
fn diff_json(out: &Path, a: &str, b: &str, args: &[&str]) -> Value {
    let (a, b) = (
        format!("{}/runs/{a}", s(out)),
        format!("{}/runs/{b}", s(out)),
    );
    let mut all = vec!["diff", a.as_str(), b.as_str(), "--json"];
    all.extend_from_slice(args);
    let o = mcflow(&all);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    serde_json::from_str(&stdout).expect("json")
}

fn report(out: &Path, run_id: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(out.join(format!("runs/{run_id}/report.json"))).expect("report"),
    )
    .expect("json")
}

#[test]
fn diff_gives_each_difference_its_standard_error_and_names_what_changed() {
    let dir = tempfile::tempdir().expect("tmp");
    let portfolio = sample_portfolio(dir.path(), 60);
    let out = dir.path().join("out");
    small_run(&portfolio, &out, "day1", &[]);
    // A different seed (the config) and a higher volatility (the market).
    small_run(
        &portfolio,
        &out,
        "day2",
        &["model.seed=7", "rates.volatility=0.012"],
    );
    let (a, b) = (report(&out, "day1"), report(&out, "day2"));
    let d = diff_json(&out, "day1", "day2", &[]);
    assert_eq!(d["a"], "day1");
    assert_eq!(d["b"], "day2");
    assert_eq!(
        d["inputs"],
        serde_json::json!({"portfolio": false, "config": true, "market": true, "as_of": false})
    );
    let row = |figure: &str| -> Value {
        d["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["figure"] == figure)
            .cloned()
            .unwrap_or_else(|| panic!("no row {figure}: {d}"))
    };
    let f = |v: &Value| v.as_f64().expect("number");
    let pv = row("PV");
    assert_eq!(f(&pv["a"]), f(&a["pv"]["mean"]));
    assert_eq!(f(&pv["b"]), f(&b["pv"]["mean"]));
    assert_eq!(f(&pv["difference"]), f(&pv["b"]) - f(&pv["a"]));
    // Both runs have 8 random scenarios: the error comes from their differences.
    assert_eq!(d["paired_scenarios"], 8);
    assert_eq!(pv["paired"], true);
    let se = f(&pv["std_error"]);
    assert!(se > 0.0, "{pv}");
    assert!(
        (f(&pv["z"]) - f(&pv["difference"]) / se).abs() < 1e-9,
        "{pv}"
    );
    // The tails have no pairing: their errors treat the runs as independent.
    let var99 = row("loss VaR99");
    assert_eq!(var99["paired"], false);
    let loss = row("expected loss");
    assert_eq!(f(&loss["a"]), f(&a["loss"]["expected"]));
    let wal = row("WAL");
    assert_eq!(f(&wal["b"]), f(&b["wal_years"]));
    for figure in [
        "loss VaR99",
        "loss ES99",
        "cumulative default",
        "PV, % of par",
    ] {
        assert!(row(figure)["std_error"].as_f64().is_some(), "{figure}: {d}");
    }

    // Only the seed differs: the config changed, the market did not.
    small_run(&portfolio, &out, "day3", &["model.seed=7"]);
    let d3 = diff_json(&out, "day1", "day3", &[]);
    assert_eq!(
        d3["inputs"],
        serde_json::json!({"portfolio": false, "config": true, "market": false, "as_of": false})
    );

    // The same run against itself: nothing changed, every difference zero.
    let same = diff_json(&out, "day1", "day1", &[]);
    for r in same["rows"].as_array().expect("rows") {
        assert_eq!(r["difference"].as_f64(), Some(0.0), "{r}");
    }
    let o = mcflow(&[
        "diff",
        &format!("{}/runs/day1", s(&out)),
        &format!("{}/runs/day1", s(&out)),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("inputs: portfolio same, config same, market same, business date same"),
        "{stdout}"
    );
    // An output location with several runs must say which.
    let o = mcflow(&["diff", s(&out), s(&out)]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("holds 3 runs (day1, day2, day3)"),
        "{stderr}"
    );
}

#[test]
fn same_seed_runs_pair_their_scenarios_and_states_add_up_to_the_portfolio() {
    let dir = tempfile::tempdir().expect("tmp");
    let portfolio = sample_portfolio(dir.path(), 60);
    let out = dir.path().join("out");
    // The same seed: the second run's volatility is higher, its random numbers the same.
    small_run(&portfolio, &out, "base", &[]);
    small_run(&portfolio, &out, "vol", &["rates.volatility=0.012"]);
    let (a, b) = (report(&out, "base"), report(&out, "vol"));
    let run = |id: &str| format!("{}/runs/{id}", s(&out));
    let d = diff_json(&out, "base", "vol", &["--by", "state"]);
    let f = |v: &Value| v.as_f64().expect("number");
    let pv = d["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["figure"] == "PV")
        .expect("PV row")
        .clone();
    assert_eq!(pv["paired"], true, "{pv}");
    // Shared random numbers: the paired error is far below the independent formula's.
    let independent = f(&a["pv"]["std_error"]).hypot(f(&b["pv"]["std_error"]));
    assert!(
        f(&pv["std_error"]) < 0.5 * independent,
        "paired {} against independent {independent}",
        pv["std_error"]
    );

    // Per state: the loans and sums add up to each run's portfolio figures.
    let states = d["by_state"].as_array().expect("by_state");
    assert!(states.len() > 1, "{d}");
    let sum = |field: &str| states.iter().map(|r| f(&r[field])).sum::<f64>();
    assert_eq!(sum("loans_a"), 60.0);
    assert_eq!(sum("loans_b"), 60.0);
    for (field, run, figure) in [
        ("pv_a", &a, &a["pv"]["mean"]),
        ("pv_b", &b, &b["pv"]["mean"]),
        ("expected_loss_a", &a, &a["loss"]["expected"]),
    ] {
        let want = f(figure);
        assert!(
            (sum(field) - want).abs() <= 1e-6 * want.abs() + 1.0,
            "{field}: {} against {want} in {}",
            sum(field),
            run["run_id"]
        );
    }
    for r in states {
        assert!(f(&r["pv_std_error_at_most"]) > 0.0, "{r}");
        assert_eq!(f(&r["pv_difference"]), f(&r["pv_b"]) - f(&r["pv_a"]));
    }
    let o = mcflow(&["diff", &run("base"), &run("vol"), "--by", "state"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("by state"), "{stdout}");
    assert!(
        stdout.contains("scenario-by-scenario differences"),
        "{stdout}"
    );
    let first = states[0]["state"].as_str().expect("state");
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with(first)),
        "{stdout}"
    );
}
