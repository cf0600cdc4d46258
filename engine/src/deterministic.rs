//! Deterministic mode: the SIFMA standard prepayment (SMM/CPR/PSA) and default
//! (MDR/CDR/SDA) assumptions applied by loan age, one scenario, through the shared kernel.

use std::fmt;

use crate::kernel::{
    Behaviour, ChunkLoans, Isa, LoanBalances, LossRule, MonthRates, Pipeline, Projection,
    project_portfolio_on,
};
use crate::portfolio::{MAX_TERM_MONTHS, Portfolio};
use crate::speed::{monthly_from_annual, psa_cpr, sda_cdr};

/// Longest recovery lag accepted, in months. Longer pipelines than ten years have no
/// meaning for residential mortgages and would only hide a unit mistake.
pub const MAX_RECOVERY_LAG_MONTHS: u32 = 120;

/// Voluntary prepayment assumption.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PrepaySpeed {
    /// Percent of the PSA benchmark, on loan age.
    Psa(f64),
    /// Constant annual conditional prepayment rate, percent.
    CprPct(f64),
    /// Constant single monthly mortality, percent.
    SmmPct(f64),
}

/// Default assumption.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultSpeed {
    None,
    /// Percent of the Standard Default Assumption, on loan age.
    Sda(f64),
    /// Constant annual default rate, percent.
    CdrPct(f64),
    /// Constant monthly default rate, percent.
    MdrPct(f64),
}

impl fmt::Display for PrepaySpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepaySpeed::Psa(x) => write!(f, "{x}% PSA"),
            PrepaySpeed::CprPct(x) => write!(f, "{x}% CPR"),
            PrepaySpeed::SmmPct(x) => write!(f, "{x}% SMM"),
        }
    }
}

impl fmt::Display for DefaultSpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultSpeed::None => write!(f, "no defaults"),
            DefaultSpeed::Sda(x) => write!(f, "{x}% SDA"),
            DefaultSpeed::CdrPct(x) => write!(f, "{x}% CDR"),
            DefaultSpeed::MdrPct(x) => write!(f, "{x}% MDR"),
        }
    }
}

/// Why a deterministic model was rejected. Each message names the configuration key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("model.prepay.{key}: {value} must be a finite number between 0 and {max}")]
    Prepay {
        key: &'static str,
        value: f64,
        max: f64,
    },
    #[error("model.default.{key}: {value} must be a finite number between 0 and {max}")]
    Default {
        key: &'static str,
        value: f64,
        max: f64,
    },
    #[error("model.severity_pct: {0} must be between 0 and 100")]
    Severity(f64),
    #[error("model.recovery_lag_months: {0} must be at most {MAX_RECOVERY_LAG_MONTHS}")]
    RecoveryLag(u32),
    #[error("model.foreclosure_cost_pct: {0} must be between 0 and 100")]
    ForeclosureCost(f64),
}

/// A validated deterministic model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeterministicModel {
    prepay: PrepaySpeed,
    default: DefaultSpeed,
    severity_pct: f64,
    pipeline: Pipeline,
    /// Foreclosure and REO costs at liquidation, percent of the liquidated balance; 0
    /// unless configured, which is the SIFMA standard's cash flow.
    foreclosure_cost_pct: f64,
}

fn check(value: f64, max: f64) -> bool {
    value.is_finite() && (0.0..=max).contains(&value)
}

impl DeterministicModel {
    pub fn new(
        prepay: PrepaySpeed,
        default: DefaultSpeed,
        severity_pct: f64,
        pipeline: Pipeline,
    ) -> Result<DeterministicModel, ModelError> {
        // PSA and SDA multiples above 100x the benchmark already reach 100% in month 1.
        let (key, value, max) = match prepay {
            PrepaySpeed::Psa(v) => ("psa", v, 100_000.0),
            PrepaySpeed::CprPct(v) => ("cpr_pct", v, 100.0),
            PrepaySpeed::SmmPct(v) => ("smm_pct", v, 100.0),
        };
        if !check(value, max) {
            return Err(ModelError::Prepay { key, value, max });
        }
        let limit = match default {
            DefaultSpeed::None => None,
            DefaultSpeed::Sda(v) => Some(("sda", v, 100_000.0)),
            DefaultSpeed::CdrPct(v) => Some(("cdr_pct", v, 100.0)),
            DefaultSpeed::MdrPct(v) => Some(("mdr_pct", v, 100.0)),
        };
        if let Some((key, value, max)) = limit
            && !check(value, max)
        {
            return Err(ModelError::Default { key, value, max });
        }
        if !check(severity_pct, 100.0) {
            return Err(ModelError::Severity(severity_pct));
        }
        if pipeline.recovery_lag_months > MAX_RECOVERY_LAG_MONTHS {
            return Err(ModelError::RecoveryLag(pipeline.recovery_lag_months));
        }
        Ok(DeterministicModel {
            prepay,
            default,
            severity_pct,
            pipeline,
            foreclosure_cost_pct: 0.0,
        })
    }

    /// The same model with foreclosure and REO costs, percent of the liquidated balance.
    pub fn with_foreclosure_cost_pct(self, pct: f64) -> Result<DeterministicModel, ModelError> {
        if !check(pct, 100.0) {
            return Err(ModelError::ForeclosureCost(pct));
        }
        Ok(DeterministicModel {
            foreclosure_cost_pct: pct,
            ..self
        })
    }
    pub fn foreclosure_cost_pct(&self) -> f64 {
        self.foreclosure_cost_pct
    }

    pub fn prepay(&self) -> PrepaySpeed {
        self.prepay
    }
    pub fn default_speed(&self) -> DefaultSpeed {
        self.default
    }
    pub fn severity_pct(&self) -> f64 {
        self.severity_pct
    }
    pub fn pipeline(&self) -> Pipeline {
        self.pipeline
    }

    /// SMM for the month of age `month` (1 = a new loan's first payment).
    pub fn smm(&self, month: u32) -> f64 {
        match self.prepay {
            PrepaySpeed::Psa(psa) => monthly_from_annual(psa_cpr(psa, month)),
            PrepaySpeed::CprPct(cpr) => monthly_from_annual(cpr / 100.0),
            PrepaySpeed::SmmPct(smm) => smm / 100.0,
        }
    }

    /// MDR for the month of age `month`, before the pipeline's last-months rule.
    pub fn mdr(&self, month: u32) -> f64 {
        match self.default {
            DefaultSpeed::None => 0.0,
            DefaultSpeed::Sda(sda) => monthly_from_annual(sda_cdr(sda, month)),
            DefaultSpeed::CdrPct(cdr) => monthly_from_annual(cdr / 100.0),
            DefaultSpeed::MdrPct(mdr) => mdr / 100.0,
        }
    }
}

/// Age months 0..=[`MAX_TERM_MONTHS`]: a live loan never exceeds the last, and matured
/// loans' rates are ignored by the kernel, so lookups clamp to it.
const AGES: usize = MAX_TERM_MONTHS as usize + 1;

/// The deterministic [`Behaviour`]: rates looked up by age month in tables built once, so
/// the kernel's month loop does no `pow`.
#[derive(Debug, Clone)]
struct AgeCurves {
    // Fixed-size: an age clamped to the last entry indexes them without a bounds check.
    smm_by_age: [f64; AGES],
    mdr_by_age: [f64; AGES],
    severity: f64,
    foreclosure_cost: f64,
}

impl AgeCurves {
    fn new(model: &DeterministicModel) -> AgeCurves {
        AgeCurves {
            smm_by_age: std::array::from_fn(|m| model.smm(m as u32)),
            mdr_by_age: std::array::from_fn(|m| model.mdr(m as u32)),
            severity: model.severity_pct / 100.0,
            foreclosure_cost: model.foreclosure_cost_pct / 100.0,
        }
    }
}

impl Behaviour for AgeCurves {
    const LOSS_RULE: LossRule = LossRule::SeverityOfDefaulted;
    type State = ();

    fn start_chunk(&self, _loans: &ChunkLoans<'_>) {}

    #[inline(always)]
    fn month_rates(
        &self,
        _state: &mut (),
        month: u32,
        loans: &ChunkLoans<'_>,
        _balances: LoanBalances<'_>,
        rates: &mut MonthRates,
    ) {
        let last = MAX_TERM_MONTHS as usize;
        let ages = loans.loan_age_months();
        let n = ages.len();
        let (smm, mdr) = (&mut rates.smm[..n], &mut rates.mdr[..n]);
        for j in 0..n {
            // The month being accrued: a loan of age 3 pays its 4th payment in month 1.
            let m = ((ages[j] + month) as usize).min(last);
            smm[j] = self.smm_by_age[m];
            mdr[j] = self.mdr_by_age[m];
        }
        rates.severity.fill(self.severity);
        rates.foreclosure_cost = self.foreclosure_cost;
    }
}

/// Projects `portfolio` under `model` for `horizon_months` on the current rayon pool.
pub fn project_deterministic(
    portfolio: &Portfolio,
    model: &DeterministicModel,
    horizon_months: u32,
) -> Projection {
    project_deterministic_on(Isa::detect(), portfolio, model, horizon_months)
}

/// [`project_deterministic`] on an explicit kernel variant.
pub fn project_deterministic_on(
    isa: Isa,
    portfolio: &Portfolio,
    model: &DeterministicModel,
    horizon_months: u32,
) -> Projection {
    project_portfolio_on(
        isa,
        portfolio,
        horizon_months,
        model.pipeline,
        &AgeCurves::new(model),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline {
            recovery_lag_months: 12,
            advancing: true,
        }
    }

    #[test]
    fn rejects_out_of_range_settings_naming_the_key() {
        let e = DeterministicModel::new(
            PrepaySpeed::CprPct(120.0),
            DefaultSpeed::None,
            20.0,
            pipeline(),
        )
        .expect_err("bad");
        assert_eq!(
            e.to_string(),
            "model.prepay.cpr_pct: 120 must be a finite number between 0 and 100"
        );
        let e = DeterministicModel::new(
            PrepaySpeed::Psa(100.0),
            DefaultSpeed::Sda(-1.0),
            20.0,
            pipeline(),
        )
        .expect_err("bad");
        assert!(e.to_string().starts_with("model.default.sda: -1"));
        assert!(
            DeterministicModel::new(
                PrepaySpeed::Psa(100.0),
                DefaultSpeed::None,
                101.0,
                pipeline()
            )
            .is_err()
        );
        let long = Pipeline {
            recovery_lag_months: 121,
            advancing: false,
        };
        assert!(
            DeterministicModel::new(PrepaySpeed::Psa(100.0), DefaultSpeed::None, 1.0, long)
                .is_err()
        );
    }

    #[test]
    fn rates_follow_the_conventions() {
        let m = DeterministicModel::new(
            PrepaySpeed::SmmPct(1.0),
            DefaultSpeed::CdrPct(12.0),
            20.0,
            pipeline(),
        )
        .expect("valid");
        assert_eq!(m.smm(7), 0.01);
        assert!((m.mdr(7) - monthly_from_annual(0.12)).abs() < 1e-18);
    }
}
