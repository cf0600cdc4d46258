//! The engine's integration tests: published SIFMA/textbook values and property tests.

mod credit;
mod properties;
mod sifma;
mod stochastic;

use engine::{
    DefaultSpeed, DeterministicModel, LoanRecord, Pipeline, Portfolio, PrepaySpeed, ProblemSink,
    Projection, project_deterministic,
};

/// A one-row portfolio: a pool or rep line.
pub fn pool(upb: f64, note_rate_pct: f64, servicing_pct: f64, term: i64, age: i64) -> Portfolio {
    Portfolio::from_records(
        vec![LoanRecord {
            loan_id: "pool".into(),
            current_upb: upb,
            note_rate_pct,
            servicing_fee_pct: Some(servicing_pct),
            orig_term_months: term,
            loan_age_months: age,
            ..Default::default()
        }],
        ProblemSink::default(),
    )
    .expect("valid pool")
}

pub fn project(
    portfolio: &Portfolio,
    prepay: PrepaySpeed,
    default: DefaultSpeed,
    severity_pct: f64,
    lag: u32,
    advancing: bool,
    horizon: u32,
) -> Projection {
    let model = DeterministicModel::new(
        prepay,
        default,
        severity_pct,
        Pipeline {
            recovery_lag_months: lag,
            advancing,
        },
    )
    .expect("valid model");
    project_deterministic(portfolio, &model, horizon)
}
