//! `mcflow diff`: two runs' headline figures side by side (yesterday's and today's, say),
//! each difference with its Monte Carlo standard error, and which inputs changed; with
//! `--by state`, PV, expected loss and default rate per state. Pure over the two
//! `report.json`s and, when the command could read them, the runs' `scenario_results`
//! (to pair scenarios) and `loan_results` (for states).

use std::collections::BTreeMap;

use serde::Serialize;
use worker::report::RunReport;

use crate::render::{grouped, money};
use worker::results_parquet::{LoanRow, ScenarioRow};

/// z = 1.96 for a two-sided 95% interval: the bootstrap intervals of the tail measures are
/// turned back into standard errors with it.
const Z_95: f64 = 1.959_963_984_540_054;

/// One compared figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub figure: &'static str,
    pub unit: &'static str,
    pub a: f64,
    pub b: f64,
    /// `b - a`.
    pub difference: f64,
    /// Standard error of the difference, treating the two runs' estimates as independent
    /// (sqrt(se_a^2 + se_b^2)); `None` when a run reports no error for the figure (a
    /// deterministic run, a tail without an interval).
    pub std_error: Option<f64>,
    /// `difference / std_error`: beyond about 2 in size, more than Monte Carlo noise.
    pub z: Option<f64>,
    /// Whether `std_error` comes from the scenario-by-scenario differences (see
    /// [`Paired`]) rather than from the two runs' own errors.
    pub paired: bool,
}

/// Which inputs differ between the runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputChanges {
    /// The portfolio file's SHA-256.
    pub portfolio: bool,
    /// The run configuration's SHA-256 (after `--set`): models, scenarios, seed, market.
    pub config: bool,
    /// The market inputs: the config's `[rates]` and `[house_prices]` and the files it
    /// names (`market_sha256`); `None` when a run's report predates that checksum.
    pub market: Option<bool>,
    /// The business date (`run_date`).
    pub as_of: bool,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDiff {
    pub a: String,
    pub b: String,
    pub inputs: InputChanges,
    pub rows: Vec<Row>,
    /// How many random scenarios were paired (0: the standard errors treat the runs as
    /// independent).
    pub paired_scenarios: usize,
    /// With `--by state`: one row per state either run has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_state: Option<Vec<StateRow>>,
}

/// The two runs' random scenarios, paired by scenario number. With as many scenarios in
/// each (and antithetic pairs in both or neither), the standard error of a difference of
/// means is that of the per-scenario differences. It is right whatever the seeds:
/// independent draws give var(A) + var(B) in expectation, as the unpaired formula does;
/// and when the runs share their random numbers (the same seed) it is the smaller error
/// that sharing buys, which the unpaired formula overstates.
#[derive(Debug, Clone, Copy)]
pub struct Paired<'a> {
    pub a: &'a [ScenarioRow],
    pub b: &'a [ScenarioRow],
}

/// One state's figures in both runs (`--by state`). Sums over the state's loans; the
/// default rate is weighted by current UPB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateRow {
    /// The state as the portfolio gives it; `unknown` for loans without one.
    pub state: String,
    pub loans_a: u64,
    pub loans_b: u64,
    pub pv_a: f64,
    pub pv_b: f64,
    pub pv_difference: f64,
    /// An upper bound on the standard error of `pv_difference`. `loan_results` keeps
    /// each loan's PV standard deviation but not how loans move together, so a state's
    /// error is bounded as if its loans moved in lockstep (the sum of their errors), and
    /// the difference's as if the runs did too (the sum of both).
    pub pv_std_error_at_most: f64,
    pub expected_loss_a: f64,
    pub expected_loss_b: f64,
    pub expected_loss_difference: f64,
    pub default_pct_a: f64,
    pub default_pct_b: f64,
}

fn row(
    figure: &'static str,
    unit: &'static str,
    a: (f64, Option<f64>),
    b: (f64, Option<f64>),
) -> Row {
    let difference = b.0 - a.0;
    let std_error = match (a.1, b.1) {
        (Some(x), Some(y)) => Some(x.hypot(y)),
        _ => None,
    };
    Row {
        figure,
        unit,
        a: a.0,
        b: b.0,
        difference,
        std_error,
        z: std_error.filter(|se| *se > 0.0).map(|se| difference / se),
        paired: false,
    }
}

/// `row` with the standard error of the mean of the scenario-by-scenario `differences`
/// (pair means when `antithetic`); without them (the runs cannot be paired), `row` as it
/// is, with the independent-runs error.
fn paired_row(mut r: Row, differences: Option<Vec<f64>>, antithetic: bool) -> Row {
    let Some(differences) = differences else {
        return r;
    };
    let se = engine::risk::standard_error(&differences, antithetic);
    r.std_error = Some(se);
    r.z = (se > 0.0).then(|| r.difference / se);
    r.paired = true;
    r
}

/// The standard error behind a 95% interval `[lo, hi]`.
fn interval_se([lo, hi]: [f64; 2]) -> Option<f64> {
    (hi >= lo).then(|| (hi - lo) / (2.0 * Z_95))
}

/// Compares run `b` with run `a`; `paired` are their random scenarios when the command
/// could read them, used when they pair (see [`Paired`]).
pub fn diff(a: &RunReport, b: &RunReport, paired: Option<Paired<'_>>) -> RunDiff {
    // At least two independent draws in each run: two scenarios, or two antithetic
    // pairs (one pair gives a standard error of nothing).
    let least = if a.model.antithetic { 4 } else { 2 };
    let paired = paired.filter(|p| {
        p.a.len() == p.b.len()
            && p.a.len() >= least
            && p.a.len() == a.random_scenarios as usize
            && p.b.len() == b.random_scenarios as usize
            && a.model.antithetic == b.model.antithetic
    });
    let antithetic = a.model.antithetic;
    let differences = |f: &dyn Fn(&ScenarioRow, &RunReport) -> f64| -> Option<Vec<f64>> {
        paired.map(|p| {
            p.a.iter()
                .zip(p.b)
                .map(|(x, y)| f(y, b) - f(x, a))
                .collect()
        })
    };
    let par = |r: &RunReport, x: f64| 100.0 * x / r.portfolio.total_upb.max(f64::MIN_POSITIVE);
    let mut rows = Vec::new();
    if let (Some(pa), Some(pb)) = (&a.pv, &b.pv) {
        let pv = row(
            "PV",
            "USD",
            (pa.mean, Some(pa.std_error)),
            (pb.mean, Some(pb.std_error)),
        );
        rows.push(paired_row(pv, differences(&|s, _| s.pv), antithetic));
        let pct = row(
            "PV, % of par",
            "%",
            (par(a, pa.mean), Some(par(a, pa.std_error))),
            (par(b, pb.mean), Some(par(b, pb.std_error))),
        );
        rows.push(paired_row(
            pct,
            differences(&|s, r| par(r, s.pv)),
            antithetic,
        ));
    }
    if let (Some(la), Some(lb)) = (&a.loss, &b.loss) {
        let expected = row(
            "expected loss",
            "USD",
            (la.expected, Some(la.std_error)),
            (lb.expected, Some(lb.std_error)),
        );
        rows.push(paired_row(
            expected,
            differences(&|s, _| s.lifetime_loss),
            antithetic,
        ));
        type Tail = fn(&engine::risk::LossSummary) -> (f64, [f64; 2]);
        let tails: [(&'static str, Tail); 4] = [
            ("loss VaR95", |l| (l.var_95, l.intervals.var_95)),
            ("loss VaR99", |l| (l.var_99, l.intervals.var_99)),
            ("loss ES95", |l| (l.es_95, l.intervals.es_95)),
            ("loss ES99", |l| (l.es_99, l.intervals.es_99)),
        ];
        for (figure, tail) in tails {
            let ((va, ia), (vb, ib)) = (tail(la), tail(lb));
            rows.push(row(
                figure,
                "USD",
                (va, interval_se(ia)),
                (vb, interval_se(ib)),
            ));
        }
    }
    rows.push(row(
        "WAL",
        "years",
        (a.wal_years, a.wal_years_std_error),
        (b.wal_years, b.wal_years_std_error),
    ));
    rows.push(row(
        "cumulative default",
        "% of UPB",
        (a.cumulative_default_pct, a.cumulative_default_pct_std_error),
        (b.cumulative_default_pct, b.cumulative_default_pct_std_error),
    ));
    RunDiff {
        a: a.run_id.clone(),
        b: b.run_id.clone(),
        inputs: InputChanges {
            portfolio: a.inputs.portfolio_sha256 != b.inputs.portfolio_sha256,
            config: a.inputs.config_sha256 != b.inputs.config_sha256,
            market: (!a.inputs.market_sha256.is_empty() && !b.inputs.market_sha256.is_empty())
                .then(|| a.inputs.market_sha256 != b.inputs.market_sha256),
            as_of: a.run_date != b.run_date,
        },
        rows,
        paired_scenarios: paired.map_or(0, |p| p.a.len()),
        by_state: None,
    }
}

/// One run's sums for one state.
#[derive(Debug, Default, Clone, Copy)]
struct StateSums {
    loans: u64,
    upb: f64,
    pv: f64,
    /// Sum of the loans' PV standard errors: the state's error if they moved in lockstep.
    pv_std_error_sum: f64,
    expected_loss: f64,
    /// Sum of UPB x default probability.
    defaulting_upb: f64,
}

fn by_state(run: &RunReport, loans: &[LoanRow]) -> BTreeMap<String, StateSums> {
    // A loan's PV standard deviation across scenarios, as an error of the run's mean:
    // over n independent draws, or over n/2 pair means (whose variance is at most a
    // draw's).
    let n = f64::from(run.random_scenarios.max(1));
    let per_draw = if run.model.antithetic {
        (2.0 / n).sqrt()
    } else {
        n.sqrt().recip()
    };
    let mut states: BTreeMap<String, StateSums> = BTreeMap::new();
    for loan in loans {
        let s = states
            .entry(loan.state.clone().unwrap_or_else(|| "unknown".into()))
            .or_default();
        s.loans += 1;
        s.upb += loan.current_upb;
        s.pv += loan.pv_mean;
        s.pv_std_error_sum += loan.pv_std * per_draw;
        s.expected_loss += loan.expected_loss;
        s.defaulting_upb += loan.current_upb * loan.default_probability;
    }
    states
}

/// The state rows of run `b` against run `a` from their `loan_results`.
pub fn state_rows(
    a: &RunReport,
    a_loans: &[LoanRow],
    b: &RunReport,
    b_loans: &[LoanRow],
) -> Vec<StateRow> {
    let (sa, sb) = (by_state(a, a_loans), by_state(b, b_loans));
    let names: std::collections::BTreeSet<&String> = sa.keys().chain(sb.keys()).collect();
    let pct = |s: &StateSums| {
        if s.upb > 0.0 {
            100.0 * s.defaulting_upb / s.upb
        } else {
            0.0
        }
    };
    names
        .into_iter()
        .map(|name| {
            let x = sa.get(name).copied().unwrap_or_default();
            let y = sb.get(name).copied().unwrap_or_default();
            StateRow {
                state: name.clone(),
                loans_a: x.loans,
                loans_b: y.loans,
                pv_a: x.pv,
                pv_b: y.pv,
                pv_difference: y.pv - x.pv,
                pv_std_error_at_most: x.pv_std_error_sum + y.pv_std_error_sum,
                expected_loss_a: x.expected_loss,
                expected_loss_b: y.expected_loss,
                expected_loss_difference: y.expected_loss - x.expected_loss,
                default_pct_a: pct(&x),
                default_pct_b: pct(&y),
            }
        })
        .collect()
}

/// The comparison as an aligned table.
pub fn text(d: &RunDiff) -> String {
    let changed = |c: bool| if c { "changed" } else { "same" };
    let mut out = format!(
        "{} -> {}\n  inputs: portfolio {}, config {}, market {}, business date {}\n",
        d.a,
        d.b,
        changed(d.inputs.portfolio),
        changed(d.inputs.config),
        d.inputs.market.map_or("unknown", changed),
        changed(d.inputs.as_of)
    );
    out.push_str(&format!(
        "  {:<30} {:>16} {:>16} {:>16} {:>14} {:>7}\n",
        "figure", "A", "B", "B - A", "SE of B - A", "z"
    ));
    for r in &d.rows {
        let n = |x: f64| {
            if r.unit == "USD" {
                money(x)
            } else {
                format!("{x:.3}")
            }
        };
        out.push_str(&format!(
            "  {:<30} {:>16} {:>16} {:>16} {:>14} {:>7}\n",
            format!("{} ({})", r.figure, r.unit),
            n(r.a),
            n(r.b),
            n(r.difference),
            r.std_error.map_or("n/a".to_string(), n),
            r.z.map_or("n/a".to_string(), |z| format!("{z:+.2}"))
        ));
    }
    if d.paired_scenarios > 0 {
        out.push_str(&format!(
            "  SE of PV and expected loss: from the {} scenario-by-scenario differences (paired by scenario; right whether or not the runs share a seed, and smaller when they do). Other SEs treat the runs as independent.\n",
            d.paired_scenarios
        ));
    } else {
        out.push_str(
            "  SE treats the runs as independent (their scenario tables could not be paired); runs sharing a seed share their random numbers, and then the true error of B - A is smaller.\n",
        );
    }
    if let Some(states) = &d.by_state {
        out.push_str(&format!(
            "\n  by state (USD; SE at most: loans and runs bounded as if they moved in lockstep)\n  {:<8} {:>11} {:>16} {:>16} {:>14} {:>13} {:>14} {:>14} {:>14} {:>9} {:>9}\n",
            "state", "loans A/B", "PV A", "PV B", "PV B - A", "SE at most", "loss A", "loss B", "loss B - A", "dflt A %", "dflt B %"
        ));
        for r in states {
            out.push_str(&format!(
                "  {:<8} {:>11} {:>16} {:>16} {:>14} {:>13} {:>14} {:>14} {:>14} {:>9.3} {:>9.3}\n",
                r.state,
                format!("{}/{}", grouped(r.loans_a), grouped(r.loans_b)),
                money(r.pv_a),
                money(r.pv_b),
                money(r.pv_difference),
                money(r.pv_std_error_at_most),
                money(r.expected_loss_a),
                money(r.expected_loss_b),
                money(r.expected_loss_difference),
                r.default_pct_a,
                r.default_pct_b
            ));
        }
    }
    out
}
