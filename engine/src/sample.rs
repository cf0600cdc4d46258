//! Seeded synthetic portfolios that look like an agency 30-year book: for the bundled
//! sample, tests and benchmarks. The same (count, seed) gives the same loans everywhere.

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};
use rand_pcg::Pcg64Mcg;

use crate::portfolio::LoanRecord;

/// States weighted roughly by their share of agency mortgage balances.
const STATE_WEIGHTS: &[(&str, u32)] = &[
    ("CA", 180),
    ("TX", 75),
    ("FL", 70),
    ("NY", 45),
    ("WA", 40),
    ("IL", 35),
    ("CO", 35),
    ("NJ", 35),
    ("VA", 35),
    ("GA", 35),
    ("NC", 35),
    ("PA", 30),
    ("AZ", 30),
    ("MA", 30),
    ("MD", 25),
    ("MI", 25),
    ("OH", 25),
    ("MN", 20),
    ("OR", 18),
    ("UT", 18),
    ("TN", 18),
    ("NV", 15),
    ("SC", 15),
    ("WI", 14),
    ("IN", 13),
    ("MO", 13),
    ("CT", 10),
    ("AL", 9),
    ("KY", 8),
    ("LA", 8),
    ("OK", 7),
    ("ID", 7),
    ("IA", 6),
    ("KS", 6),
    ("NH", 5),
    ("NM", 5),
    ("AR", 5),
    ("HI", 5),
    ("DC", 4),
    ("DE", 4),
    ("NE", 4),
    ("MS", 4),
    ("ME", 3),
    ("MT", 3),
    ("RI", 3),
    ("WV", 2),
    ("SD", 2),
    ("ND", 2),
    ("AK", 2),
    ("VT", 2),
    ("WY", 2),
];

/// `count` synthetic loans from `seed`. Distributions (documented in the README): original
/// balance lognormal around $300k; note rates around 5.5% spread over 2.5-8.5%; 30-year
/// terms for 85% of loans, 15-year for 12%, 20-year for 3%; ages 0-120 months skewed
/// young; LTV 40-97%; FICO normal around 745 clipped to 620-840; servicing 25 bp.
pub fn synthetic_loans(count: usize, seed: u64) -> Vec<LoanRecord> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let balance = LogNormal::<f64>::new(12.6, 0.45).expect("valid lognormal");
    let rate = Normal::<f64>::new(5.5, 1.1).expect("valid normal");
    let fico = Normal::<f64>::new(745.0, 40.0).expect("valid normal");
    let total_weight: u32 = STATE_WEIGHTS.iter().map(|(_, w)| w).sum();
    (0..count)
        .map(|i| {
            let term: i64 = match rng.random_range(0..100) {
                0..85 => 360,
                85..97 => 180,
                _ => 240,
            };
            // Squaring a uniform skews ages young, as in a book that refinanced recently.
            let age_frac: f64 = rng.random::<f64>();
            let age = ((age_frac * age_frac) * 120.0).min((term - 1) as f64) as i64;
            let orig_upb: f64 = balance.sample(&mut rng).clamp(30_000.0, 1_500_000.0);
            let note_rate_pct = (rate.sample(&mut rng) * 8.0).round() / 8.0;
            let note_rate_pct: f64 = note_rate_pct.clamp(2.5, 8.5);
            let c = note_rate_pct / 1200.0;
            // Scheduled balance after `age` payments, a little lower for curtailments.
            let n = term as f64;
            let factor =
                (1.0 - libm::pow(1.0 + c, -(n - age as f64))) / (1.0 - libm::pow(1.0 + c, -n));
            let curtail = 1.0 - 0.02 * rng.random::<f64>() * (age as f64 / 120.0);
            let current_upb = ((orig_upb * factor * curtail) * 100.0).round() / 100.0;
            let mut pick = rng.random_range(0..total_weight);
            let state = STATE_WEIGHTS
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map(|(s, _)| *s)
                .unwrap_or("CA");
            let orig_ltv_pct: f64 = rng.random_range(40.0..97.0_f64).round();
            LoanRecord {
                loan_id: format!("S{seed:x}-{i:08}"),
                current_upb: current_upb.max(1.0),
                note_rate_pct,
                servicing_fee_pct: Some(0.25_f64.min(note_rate_pct)),
                orig_term_months: term,
                loan_age_months: age,
                orig_ltv_pct: Some(orig_ltv_pct),
                fico: Some(fico.sample(&mut rng).clamp(620.0, 840.0).round() as i64),
                state: Some(state.to_string()),
                orig_upb: Some((orig_upb * 100.0).round() / 100.0),
                mi_pct: agency_mi_coverage_pct(orig_ltv_pct),
                orig_date: None,
                current_ltv_pct: None,
                price_pct: None,
            }
        })
        .collect()
}

/// Fannie Mae's standard primary mortgage insurance coverage for a 30-year loan by
/// original LTV (Selling Guide B7-1-02): none at 80% or below.
fn agency_mi_coverage_pct(orig_ltv_pct: f64) -> Option<f64> {
    match orig_ltv_pct {
        x if x <= 80.0 => None,
        x if x <= 85.0 => Some(12.0),
        x if x <= 90.0 => Some(25.0),
        x if x <= 95.0 => Some(30.0),
        _ => Some(35.0),
    }
}

/// The benchmark workload: `count` synthetic loans, all new (age 0) with an original term
/// of `term_months`, so every loan runs exactly `term_months` months and the loan-month
/// count is `count x term_months`.
pub fn benchmark_loans(count: usize, term_months: u32, seed: u64) -> Vec<LoanRecord> {
    let mut loans = synthetic_loans(count, seed);
    for l in &mut loans {
        l.orig_term_months = i64::from(term_months);
        l.loan_age_months = 0;
        l.current_upb = l.orig_upb.unwrap_or(l.current_upb);
    }
    loans
}

/// The benchmarks' deterministic assumptions: 150% PSA, 100% SDA, 20% severity,
/// 12-month recovery lag, P&I advanced (SIFMA Cash Flow B's speeds).
pub fn benchmark_deterministic_model() -> crate::DeterministicModel {
    crate::DeterministicModel::new(
        crate::PrepaySpeed::Psa(150.0),
        crate::DefaultSpeed::Sda(100.0),
        20.0,
        crate::Pipeline {
            recovery_lag_months: 12,
            advancing: true,
        },
    )
    .expect("constant parameters are valid")
}

/// The benchmarks' stochastic model: Hull-White a = 0.03, sigma = 1% on a 4% flat curve,
/// 3% house-price drift with 5% volatility, every behaviour model at its defaults.
pub fn benchmark_stochastic_model(
    months: u32,
    scenarios: u32,
) -> crate::stochastic::StochasticModel {
    use crate::scenario::{HousePrices, HullWhite, ScenarioSet};
    use crate::stochastic::{DefaultParams, LossParams, PrepayParams, StochasticModel};
    let curve = crate::curve::ZeroCurve::flat(4.0).expect("constant curve is valid");
    let hw = HullWhite::new(0.03, 0.01, curve).expect("constant parameters are valid");
    let hp = HousePrices {
        drift_pct: 3.0,
        volatility_pct: 5.0,
        persistence: 0.6,
        rate_correlation: -0.3,
        initial_hpa_pct: 3.0,
    };
    let set = ScenarioSet::new(hw, hp, 1.7, months, 1, scenarios.max(1), false)
        .expect("constant parameters are valid");
    StochasticModel::new(
        set,
        PrepayParams::default(),
        DefaultParams::default(),
        LossParams::default(),
        0.0,
        1,
    )
    .expect("default parameters are valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::{Portfolio, ProblemSink};

    #[test]
    fn synthetic_loans_are_valid_and_reproducible() {
        let a = synthetic_loans(2_000, 7);
        assert_eq!(a, synthetic_loans(2_000, 7));
        assert_ne!(a, synthetic_loans(2_000, 8));
        let p = Portfolio::from_records(a, ProblemSink::default()).expect("valid");
        let mean_rate = p.note_rate_pct().iter().sum::<f64>() / p.len() as f64;
        assert!((5.0..6.0).contains(&mean_rate), "mean rate {mean_rate}");
        let thirty = p.orig_term_months().iter().filter(|&&t| t == 360).count();
        assert!((1_600..1_800).contains(&thirty), "{thirty} 30-year loans");
    }

    #[test]
    fn value_stability() {
        // Pins the generator: a change here changes every sample portfolio.
        let l = &synthetic_loans(1, 42)[0];
        assert_eq!(l.loan_id, "S2a-00000000");
        assert_eq!((l.orig_term_months, l.loan_age_months), (360, 2));
        assert_eq!((l.current_upb, l.note_rate_pct), (219_215.77, 4.75));
        assert_eq!((l.fico, l.state.as_deref()), (Some(811), Some("AZ")));
    }
}
