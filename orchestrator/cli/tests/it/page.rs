//! The run's report page in a real browser: Debian's headless chromium opens
//! `runs/<run_id>/report.html` from disk, the page logs nothing to the console (its
//! content security policy turns any attempt to load something into an error there),
//! and every figure the browser renders equals report.json's at the shown precision.

use super::{repo, run_from_data, text};

/// A small stochastic run with a stress path and parallel shocks, so that the page has
/// every section and all three charts.
fn small_run_config() -> Vec<u8> {
    let mut config = super::base_run_config();
    config.extend_from_slice(b"\n[risk]\nshocks_bp = [-100, 100]\n");
    config
}

/// What the browser showed: the title, (pointer, rendered text) of every tagged figure,
/// the number of inline charts, and the console entries.
fn open_in_browser(page: &std::path::Path) -> serde_json::Value {
    let python = repo().join(".tools/browser/bin/python");
    assert!(
        python.exists() && std::path::Path::new("/usr/bin/chromedriver").exists(),
        "{} or /usr/bin/chromedriver not found: run `scripts/setup-tools.sh browser` (it installs selenium into .tools/browser, and Debian's chromium and chromium-driver)",
        python.display()
    );
    let out = std::process::Command::new(&python)
        .arg(repo().join("orchestrator/cli/tests/it/page_dom.py"))
        .arg(page)
        .output()
        .expect("run the browser script");
    assert!(
        out.status.success(),
        "the browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the browser script prints JSON")
}

/// `text` as the number it shows ("1,234,567", "+100", "2.56"), and the half-unit of its
/// last shown digit: the most a correct rounding can differ from the exact figure.
fn shown_number(text: &str) -> Option<(f64, f64)> {
    let cleaned: String = text.chars().filter(|&c| c != ',').collect();
    let value: f64 = cleaned.trim_start_matches('+').parse().ok()?;
    let decimals = cleaned.split_once('.').map_or(0, |(_, d)| d.len());
    Some((value, 0.5 * 10f64.powi(-(decimals as i32))))
}

#[test]
fn the_report_page_opens_in_chromium_without_console_errors_and_shows_report_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let out_dir = dir.path().join("out");
    let portfolio = repo().join("data/sample_portfolio.parquet");
    let paged = ["--set", "model.scenarios=16", "--run-id", "paged"];
    let out = run_from_data(&portfolio, &out_dir, &small_run_config(), &paged);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let page = out_dir.join("runs/paged/report.html");
    assert!(
        stdout.contains(page.to_str().expect("utf-8")),
        "the summary names the page: {stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out_dir.join("runs/paged/report.json")).expect("report.json"),
    )
    .expect("json");

    let shown = open_in_browser(&page);
    assert_eq!(
        shown["console"].as_array().expect("console entries"),
        &Vec::<serde_json::Value>::new(),
        "the page logged to the console"
    );
    assert_eq!(shown["title"], "mcflow run paged");
    assert_eq!(shown["charts"], 3, "the fan, the PV histogram, PV by shift");

    let figures = shown["figures"].as_array().expect("figures");
    let mut keys = std::collections::BTreeSet::new();
    for figure in figures {
        let (pointer, rendered) = (
            figure[0].as_str().expect("pointer"),
            figure[1].as_str().expect("text"),
        );
        keys.insert(pointer.to_string());
        let expected = report
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} (shown as {rendered:?}) is not in report.json"));
        match expected {
            serde_json::Value::String(want) => assert_eq!(rendered, want, "{pointer}"),
            serde_json::Value::Number(n) => {
                let want = n.as_f64().expect("number");
                let (got, half_unit) = shown_number(rendered)
                    .unwrap_or_else(|| panic!("{pointer}: {rendered:?} is not a number"));
                assert!(
                    (got - want).abs() <= half_unit * (1.0 + 1e-9) + want.abs() * 1e-12,
                    "{pointer}: the page shows {rendered}, report.json has {want}"
                );
            }
            other => panic!("{pointer}: unexpected report.json value {other}"),
        }
    }
    // The figures a reader looks for first are all there.
    for key in [
        "/run_id",
        "/loans",
        "/portfolio/total_upb",
        "/pv/mean",
        "/pv/std_error",
        "/loss/expected",
        "/loss/var_99",
        "/loss/es_99",
        "/wal_years",
        "/cumulative_default_pct",
        "/stress/0/name",
        "/stress/0/pv",
        "/stress/0/lifetime_loss",
        "/stress/0/totals/cumulative_default_pct",
        "/risk/shocks/1/pv/value",
        "/inputs/portfolio_sha256",
        "/inputs/config_sha256",
        "/inputs/market_sha256",
        "/bill/0/total_usd",
    ] {
        assert!(keys.contains(key), "the page does not show {key}");
    }

    // Rerun without the shocks: no PV-by-shift chart is left beside the new report.
    let out = run_from_data(
        &portfolio,
        &out_dir,
        &super::base_run_config(),
        &[&paged[..], &["--overwrite"]].concat(),
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let run_dir = out_dir.join("runs/paged");
    assert!(run_dir.join("report.html").exists());
    assert!(run_dir.join("pv_histogram.svg").exists());
    assert!(
        !run_dir.join("pv_by_shift.svg").exists(),
        "a chart of the earlier run is left behind"
    );
}

#[test]
fn shown_numbers_carry_their_rounding() {
    assert_eq!(shown_number("1,234,568"), Some((1_234_568.0, 0.5)));
    assert_eq!(shown_number("+100"), Some((100.0, 0.5)));
    assert_eq!(shown_number("2.56"), Some((2.56, 0.005)));
    assert_eq!(shown_number("n/a"), None);
}
