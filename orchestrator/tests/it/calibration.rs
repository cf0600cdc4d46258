//! The Hull-White calibration against an independent implementation: QuantLib's
//! `HullWhite.calibrate` with `JamshidianSwaptionEngine` on the same curve, quotes and
//! conventions (`scripts/quantlib_hw_calibration.py`).

use std::io::Write;
use std::process::{Command, Stdio};

use engine::calibration::{SwaptionQuote, calibrate_hull_white};
use engine::curve::ZeroCurve;

use super::repo;

#[test]
fn the_calibrated_mean_reversion_and_volatility_match_quantlib() {
    let python = repo().join(".tools/quantlib/bin/python");
    assert!(
        python.exists(),
        "{} not found: run scripts/setup-tools.sh (it installs QuantLib into .tools/quantlib)",
        python.display()
    );
    let curve_points = [(1.0, 3.6), (5.0, 3.9), (10.0, 4.2), (30.0, 4.5)];
    // Quotes no (a, sigma) fits exactly, so the fit is a least-squares compromise both
    // implementations must find.
    let quotes = [
        (1.0, 5.0, 95.0),
        (2.0, 5.0, 98.0),
        (5.0, 5.0, 96.0),
        (5.0, 10.0, 92.0),
        (10.0, 10.0, 85.0),
        (3.0, 7.0, 97.0),
    ];
    let start = (0.1, 0.005);
    let input = serde_json::json!({
        "curve": curve_points,
        "quotes": quotes,
        "start": [start.0, start.1],
    });
    let mut child = Command::new(&python)
        .arg(repo().join("scripts/quantlib_hw_calibration.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ql: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let curve = ZeroCurve::from_points(&curve_points).expect("curve");
    let quotes: Vec<SwaptionQuote> = quotes.iter().copied().map(Into::into).collect();
    let fit = calibrate_hull_white(&curve, &quotes, start).expect("fit");
    let number = |v: &serde_json::Value| v.as_f64().expect("number");
    // The market prices agree first: the conventions are the same.
    for (row, market) in fit
        .instruments
        .iter()
        .zip(ql["market_values"].as_array().expect("values"))
    {
        let market = number(market);
        assert!(
            (row.market_price - market).abs() < 1e-12 + 1e-9 * market,
            "{row:?} vs QuantLib's market value {market}"
        );
    }
    let (a, sigma) = (number(&ql["mean_reversion"]), number(&ql["volatility"]));
    assert!(
        (fit.mean_reversion - a).abs() < 1e-5,
        "mean reversion {} vs QuantLib {a}",
        fit.mean_reversion
    );
    assert!(
        (fit.volatility - sigma).abs() < 1e-7,
        "volatility {} vs QuantLib {sigma}",
        fit.volatility
    );
    for (row, model) in fit
        .instruments
        .iter()
        .zip(ql["model_values"].as_array().expect("values"))
    {
        let model = number(model);
        assert!(
            (row.model_price - model).abs() < 1e-7,
            "{row:?} vs QuantLib's model value {model}"
        );
    }
    assert!(fit.rms_error_bp > 0.1, "the quotes are not an exact fit");
}

/// `[rates] calibrate` in a run config: the run's Hull-White model is the fit, and a
/// bad quote is refused naming the key and the quote.
#[test]
fn a_config_with_calibrate_runs_on_the_fitted_model() {
    let text = |quotes: &str| {
        format!(
            r#"
run_id = "calibrated"
[model]
kind = "stochastic"
scenarios = 2
seed = 1
[rates]
model = "hull-white"
curve = {{ zero_pct = [[1.0, 3.6], [5.0, 3.9], [10.0, 4.2], [30.0, 4.5]] }}
mortgage_spread_pct = 1.7
calibrate = {{ normal_vols_bp = {quotes} }}
"#
        )
    };
    let quotes = "[[1, 5, 95], [2, 5, 98], [5, 5, 96], [5, 10, 92], [10, 10, 85], [3, 7, 97]]";
    let config = worker::config::RunConfig::parse(&text(quotes), std::path::Path::new("c.toml"))
        .expect("config");
    let worker::config::Model::Stochastic(spec) = &config.model else {
        panic!("stochastic");
    };
    let fit = spec.calibration.as_ref().expect("fit");
    assert_eq!(spec.hull_white.mean_reversion(), fit.mean_reversion);
    assert_eq!(spec.hull_white.volatility(), fit.volatility);
    assert_eq!(fit.instruments.len(), 6);
    let e = worker::config::RunConfig::parse(
        &text("[[1, 5, 95], [2, 5.5, 98]]"),
        std::path::Path::new("c.toml"),
    )
    .expect_err("a fractional tenor")
    .to_string();
    assert!(
        e.contains("rates.calibrate.normal_vols_bp") && e.contains("quote 1"),
        "{e}"
    );
    // Without calibrate the parameters are required, and the error says so.
    let e = worker::config::RunConfig::parse(
        &text("[]").replace("calibrate = { normal_vols_bp = [] }", ""),
        std::path::Path::new("c.toml"),
    )
    .expect_err("no volatility")
    .to_string();
    assert!(e.contains("rates.mean_reversion is required"), "{e}");
}

/// `curve = { par_swap_pct = ... }` bootstraps the run's curve (log-linear discount
/// factors), and the Hull-White model is fitted on it exactly: every random path's mean
/// discount factor is checked elsewhere; here the curve reprices a 5-year par swap.
#[test]
fn a_config_with_par_swap_rates_bootstraps_its_curve() {
    let text = r#"
run_id = "par-curve"
[model]
kind = "stochastic"
scenarios = 2
seed = 1
[rates]
model = "hull-white"
mean_reversion = 0.03
volatility = 0.01
curve = { par_swap_pct = [[1.0, 4.0], [2.0, 4.05], [5.0, 4.2], [10.0, 4.35], [30.0, 4.5]] }
mortgage_spread_pct = 1.7
"#;
    let config =
        worker::config::RunConfig::parse(text, std::path::Path::new("c.toml")).expect("config");
    let worker::config::Model::Stochastic(spec) = &config.model else {
        panic!("stochastic");
    };
    let curve = spec.hull_white.curve();
    assert_eq!(
        curve.interpolation(),
        engine::curve::Interpolation::LogLinearDiscount
    );
    let fixed: f64 = (1..=5).map(|i| curve.discount(f64::from(i))).sum();
    assert!((0.042 * fixed + curve.discount(5.0) - 1.0).abs() < 1e-13);
    let e = worker::config::RunConfig::parse(
        &text.replace("[2.0, 4.05]", "[2.0, 95.0]"),
        std::path::Path::new("c.toml"),
    )
    .expect_err("an impossible par rate")
    .to_string();
    assert!(e.contains("rates.curve"), "{e}");
}
