//! Stochastic mode: Hull-White oracle tests, exact merging across shards, and the
//! direction of the behaviour models.

use engine::curve::ZeroCurve;
use engine::risk::{ScenarioResult, summarize};
use engine::scenario::{HousePrices, HullWhite, ScenarioSet};
use engine::stochastic::{
    DefaultParams, LossParams, PrepayParams, StochasticModel, project_stochastic,
    project_stochastic_on,
};
use engine::{CashflowTable, Isa, LoanRecord, Portfolio, ProblemSink, Summed};

fn house_prices(drift_pct: f64) -> HousePrices {
    HousePrices {
        drift_pct,
        volatility_pct: 5.0,
        persistence: 0.6,
        rate_correlation: -0.3,
        initial_hpa_pct: drift_pct,
    }
}

fn set(
    curve: ZeroCurve,
    a: f64,
    sigma: f64,
    count: u32,
    antithetic: bool,
    months: u32,
) -> ScenarioSet {
    let hw = HullWhite::new(a, sigma, curve).expect("hw");
    ScenarioSet::new(hw, house_prices(3.0), 1.7, months, 7, count, antithetic).expect("set")
}

/// The Monte Carlo mean of the path discount factor matches the analytic P(0,T) within 4
/// standard errors at 1, 5, 10 and 30 years, on a flat and a sloped curve; and the
/// model's bond price at t = 5 discounted along the path matches P(0,15) (martingale).
#[test]
fn discount_factor_mean_matches_the_curve_within_four_standard_errors() {
    let curves = [
        (ZeroCurve::flat(4.0).expect("c"), 0.03, 0.01),
        (
            ZeroCurve::from_points(&[(1.0, 4.1), (10.0, 4.4), (30.0, 4.6)]).expect("c"),
            0.05,
            0.012,
        ),
    ];
    for (curve, a, sigma) in curves {
        let s = set(curve.clone(), a, sigma, 4000, false, 360);
        let paths: Vec<_> = (0..s.count()).map(|k| s.path(k)).collect();
        let check = |label: &str, samples: Vec<f64>, expected: f64| {
            let n = samples.len() as f64;
            let mean = samples.iter().sum::<f64>() / n;
            let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n).sqrt();
            assert!(se > 0.0);
            assert!(
                (mean - expected).abs() <= 4.0 * se,
                "{label}: MC {mean} vs {expected}, SE {se}"
            );
        };
        for years in [1usize, 5, 10, 30] {
            let samples = paths.iter().map(|p| p.discount[years * 12]).collect();
            check(
                &format!("P(0,{years})"),
                samples,
                curve.discount(years as f64),
            );
        }
        let hw = s.hull_white();
        let samples = paths
            .iter()
            .map(|p| p.discount[60] * hw.bond_price(5.0, 15.0, p.short_rate[60]))
            .collect();
        check("E[D(5) P(5,15)]", samples, curve.discount(15.0));
    }
}

fn loans(n: usize, seed: u64) -> Vec<LoanRecord> {
    engine::sample::synthetic_loans(n, seed)
}

fn portfolio(records: Vec<LoanRecord>) -> Portfolio {
    Portfolio::from_records(records, ProblemSink::default()).expect("valid")
}

fn model(curve_pct: f64, hpa_pct: f64, count: u32) -> StochasticModel {
    let hw = HullWhite::new(0.03, 0.01, ZeroCurve::flat(curve_pct).expect("c")).expect("hw");
    let scenarios =
        ScenarioSet::new(hw, house_prices(hpa_pct), 1.7, 360, 11, count, true).expect("set");
    StochasticModel::new(
        scenarios,
        PrepayParams::default(),
        DefaultParams::default(),
        LossParams::default(),
        0.0,
        11,
    )
    .expect("model")
}

/// One shard versus many: loans split in two and scenarios split in two (on a pair
/// boundary) give bit-identical tables, per-loan sums, scenario results and summary.
#[test]
fn shards_splitting_loans_and_scenarios_merge_to_identical_bits() {
    let records = loans(700, 5);
    let whole = portfolio(records.clone());
    let m = model(4.0, 3.0, 12);
    let horizon = whole.max_remaining_term_months();
    let one = project_stochastic(&whole, &m, horizon, 0..12);

    let (left, right) = (
        portfolio(records[..300].to_vec()),
        portfolio(records[300..].to_vec()),
    );
    let mut tables: Vec<CashflowTable> = Vec::new();
    let mut loan_sums = vec![engine::risk::LoanSums::default(); 700];
    for range in [0..6, 6..12] {
        let l = project_stochastic(&left, &m, horizon, range.clone());
        let r = project_stochastic(&right, &m, horizon, range.clone());
        for (lt, rt) in l.tables.iter().zip(&r.tables) {
            let mut t = lt.clone();
            t.merge(rt);
            tables.push(t);
        }
        for (acc, s) in loan_sums
            .iter_mut()
            .zip(l.loan_sums.iter().chain(&r.loan_sums))
        {
            acc.merge(s);
        }
        assert_eq!(
            l.discount,
            one.discount[range.start as usize..range.end as usize]
        );
    }
    assert_eq!(tables, one.tables);
    assert_eq!(loan_sums, one.loan_sums);

    let results = |tables: &[CashflowTable]| -> Vec<ScenarioResult> {
        tables
            .iter()
            .enumerate()
            .map(|(k, t)| ScenarioResult::from_table(k as u32, t, &one.discount[k]))
            .collect()
    };
    let upb = whole.total_upb();
    assert_eq!(
        summarize(&results(&tables), upb, true),
        summarize(&results(&one.tables), upb, true)
    );

    // Thread count and kernel variant do not matter either.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    assert_eq!(
        pool.install(|| project_stochastic(&whole, &m, horizon, 0..12)),
        one
    );
    for isa in Isa::available() {
        assert_eq!(
            project_stochastic_on(isa, &whole, &m, horizon, 0..12).tables,
            one.tables,
            "{isa:?}"
        );
    }
}

/// Per-loan results follow the caller's loan order whatever order the kernel runs
/// loans in: reversing the portfolio reverses the per-loan sums and changes no total.
#[test]
fn loan_results_keep_the_portfolio_order() {
    let records = loans(300, 21);
    let m = model(4.0, 3.0, 4);
    let forward = portfolio(records.clone());
    let backward = portfolio(records.into_iter().rev().collect());
    let h = forward.max_remaining_term_months();
    let f = project_stochastic(&forward, &m, h, 0..4);
    let b = project_stochastic(&backward, &m, h, 0..4);
    assert_eq!(f.tables, b.tables);
    let reversed: Vec<_> = b.loan_sums.into_iter().rev().collect();
    assert_eq!(f.loan_sums, reversed);
}

#[test]
fn antithetic_pairs_are_never_split() {
    let m = model(4.0, 3.0, 12);
    assert!(!m.splits_a_pair(&(0..6)) && !m.splits_a_pair(&(6..12)));
    assert!(m.splits_a_pair(&(0..5)) && m.splits_a_pair(&(5..12)));
    let p = portfolio(loans(10, 1));
    let result = std::panic::catch_unwind(|| project_stochastic(&p, &m, 12, 3..6));
    assert!(
        result.is_err(),
        "a range starting inside a pair must be refused"
    );
}

/// Behaviour responds to the economy in the documented direction: lower rates mean faster
/// prepayment; falling house prices mean more defaults and bigger losses.
#[test]
fn behaviour_moves_with_rates_and_house_prices() {
    let p = portfolio(loans(512, 9));
    let h = p.max_remaining_term_months();
    let total = |m: &StochasticModel, c: Summed| -> f64 {
        let proj = project_stochastic(&p, m, h, 0..8);
        proj.tables
            .iter()
            .map(|t| t.column_total(c).to_usd())
            .sum::<f64>()
            / 8.0
    };
    let low_rates = total(&model(2.0, 3.0, 8), Summed::VoluntaryPrepayment);
    let high_rates = total(&model(7.0, 3.0, 8), Summed::VoluntaryPrepayment);
    assert!(
        low_rates > 1.2 * high_rates,
        "prepayments: low rates {low_rates}, high rates {high_rates}"
    );
    let boom = total(&model(4.0, 6.0, 8), Summed::PrincipalLoss);
    let bust = total(&model(4.0, -8.0, 8), Summed::PrincipalLoss);
    assert!(bust > 2.0 * boom, "losses: boom {boom}, bust {bust}");
    let boom_d = total(&model(4.0, 6.0, 8), Summed::NewDefault);
    let bust_d = total(&model(4.0, -8.0, 8), Summed::NewDefault);
    assert!(bust_d > boom_d, "defaults: boom {boom_d}, bust {bust_d}");

    // Severity follows the marked-to-market value: in a boom most liquidations of these
    // (LTV <= 97%) loans recover all but the minimum severity; in a bust far less.
    let severity =
        |m: &StochasticModel| total(m, Summed::PrincipalLoss) / total(m, Summed::LiquidatedBalance);
    let (boom_sev, bust_sev) = (
        severity(&model(4.0, 6.0, 8)),
        severity(&model(4.0, -8.0, 8)),
    );
    assert!((0.10..0.20).contains(&boom_sev), "boom severity {boom_sev}");
    assert!(
        bust_sev > boom_sev + 0.1,
        "bust severity {bust_sev} vs boom {boom_sev}"
    );
}

/// A $1e11 rep line at 29.99% over 480 months, without prepayments or defaults: its
/// present value is about six times its balance, beyond the kernel's fast rounding range.
/// The per-loan sums must agree with the portfolio's present value, computed
/// independently from the exact tables and each path's discount factors; and with no
/// volatility every path is the same, so the per-loan spread is exactly zero.
#[test]
fn per_loan_present_values_stay_exact_for_a_1e11_rep_line() {
    let rep = portfolio(vec![LoanRecord {
        loan_id: "rep".into(),
        current_upb: 1e11,
        note_rate_pct: 29.99,
        orig_term_months: 480,
        loan_age_months: 0,
        ..Default::default()
    }]);
    let hw = HullWhite::new(0.03, 0.0, ZeroCurve::flat(4.0).expect("c")).expect("hw");
    let flat_houses = HousePrices {
        volatility_pct: 0.0,
        ..house_prices(3.0)
    };
    let scenarios = ScenarioSet::new(hw, flat_houses, 1.7, 480, 11, 4, true).expect("set");
    let m = StochasticModel::new(
        scenarios,
        PrepayParams {
            turnover_pct: 0.0,
            refi_max_pct: 0.0,
            ..PrepayParams::default()
        },
        DefaultParams {
            floor_pct: 0.0,
            max_pct: 0.0,
            ..DefaultParams::default()
        },
        LossParams::default(),
        0.0,
        11,
    )
    .expect("model");
    let horizon = rep.max_remaining_term_months();
    let p = project_stochastic(&rep, &m, horizon, 0..4);
    let portfolio_pv: f64 = (0..4)
        .map(|k| ScenarioResult::from_table(k, &p.tables[k as usize], &p.discount[k as usize]).pv)
        .sum::<f64>()
        / 4.0;
    let loan = p.loan_sums[0].result(1e11);
    assert!(
        portfolio_pv > 4e11,
        "PV {portfolio_pv}: several times the balance"
    );
    assert!(
        ((loan.pv_mean - portfolio_pv) / portfolio_pv).abs() < 1e-9,
        "per-loan mean {} vs the portfolio's {portfolio_pv}",
        loan.pv_mean
    );
    assert_eq!(loan.pv_std, 0.0, "identical paths");
}
