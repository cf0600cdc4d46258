//! Risk bumps: the model changes behind effective duration and convexity, key-rate
//! durations, vega, rate shocks, prepayment and house-price durations and the
//! zero-volatility spread. Each bump is a block of scenarios appended after the base
//! scenarios, with the base run's random numbers (common random numbers), so a run's
//! scenario index space is `base (random, then stress) | bump 1 | bump 2 | ...` and shards
//! split it like any other scenario range.

use std::sync::Arc;

/// One model change. Every block but the zero-volatility one has the base run's random
/// scenarios (no stress paths).
#[derive(Debug, Clone, PartialEq)]
pub enum Bump {
    /// The initial zero curve moved in parallel, basis points.
    Parallel { shift_bp: f64 },
    /// A triangular bump of the zero curve at `keys_years[index]` (see
    /// [`crate::curve::ZeroCurve::with_key_rate_bump`]), basis points.
    KeyRate {
        keys_years: Arc<[f64]>,
        index: usize,
        shift_bp: f64,
    },
    /// The Hull-White volatility moved by `shift` (absolute, 0.001 = 10 bp of normal
    /// short-rate volatility).
    Volatility { shift: f64 },
    /// Every loan's prepayment hazard (turnover and refinancing) times
    /// `1 + shift_pct / 100`.
    PrepaySpeed { shift_pct: f64 },
    /// Every property's value at the run date, and so every path's house prices, times
    /// `1 + shift_pct / 100`.
    HpiLevel { shift_pct: f64 },
    /// One path with no rate or house-price volatility: the initial curve's forwards.
    ZeroVolatility,
    /// The discounting spread (OAS) moved by `shift_bp`: the same cash flows discounted
    /// differently, for each loan's OAS.
    Spread { shift_bp: f64 },
}

impl Bump {
    /// A short label for reports and errors.
    pub fn label(&self) -> String {
        match self {
            Bump::Parallel { shift_bp } => format!("parallel {shift_bp:+} bp"),
            Bump::KeyRate {
                keys_years,
                index,
                shift_bp,
            } => format!("key rate {}y {shift_bp:+} bp", keys_years[*index]),
            Bump::Volatility { shift } => format!("volatility {shift:+}"),
            Bump::PrepaySpeed { shift_pct } => format!("prepayment speed {shift_pct:+}%"),
            Bump::HpiLevel { shift_pct } => format!("house prices {shift_pct:+}%"),
            Bump::ZeroVolatility => "zero volatility".to_string(),
            Bump::Spread { shift_bp } => format!("spread {shift_bp:+} bp"),
        }
    }
}

/// The validated `[risk]` analytics: which bumps a run adds. Empty means none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskBumps {
    /// Effective duration and convexity from +/- this parallel shift, bp.
    pub effective_shift_bp: Option<f64>,
    /// Key-rate tenors, years, strictly increasing; bumped by the effective shift (25 bp
    /// without one).
    pub key_rates_years: Vec<f64>,
    /// Vega from +/- this Hull-White volatility shift.
    pub vega_shift: Option<f64>,
    /// Parallel shocks, bp, each reported with its PV, WAL and expected loss.
    pub shocks_bp: Vec<f64>,
    /// Prepayment duration from +/- this relative change of prepayment speed, percent.
    pub prepay_shift_pct: Option<f64>,
    /// House-price duration from +/- this house-price level change, percent.
    pub hpi_shift_pct: Option<f64>,
    /// Add the zero-volatility path (for the zero-volatility spread and option cost).
    pub zero_volatility: bool,
    /// Solve each priced loan's OAS: adds the +/- [`LOAN_OAS_SHIFT_BP`] spread blocks.
    pub loan_oas: bool,
}

/// The spread shift behind each loan's OAS, bp.
pub const LOAN_OAS_SHIFT_BP: f64 = 25.0;

/// The key-rate shift when no effective shift is configured, bp.
pub const DEFAULT_KEY_RATE_SHIFT_BP: f64 = 25.0;

/// Why a `[risk]` setting was rejected; `key` is the config key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {value} {rule}")]
pub struct BumpError {
    pub key: &'static str,
    pub value: f64,
    pub rule: &'static str,
}

impl RiskBumps {
    /// Checks every size; errors name the config key.
    pub fn validate(&self) -> Result<(), BumpError> {
        let check = |key, value: f64, ok: bool, rule| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(BumpError { key, value, rule })
            }
        };
        if let Some(s) = self.effective_shift_bp {
            check(
                "risk.effective.shift_bp",
                s,
                s > 0.0 && s <= 500.0,
                "must be above 0 and at most 500",
            )?;
        }
        let mut previous = 0.0;
        for &k in &self.key_rates_years {
            check(
                "risk.key_rates_years",
                k,
                k > previous && k <= 100.0,
                "must be positive, increasing and at most 100",
            )?;
            previous = k;
        }
        if let Some(s) = self.vega_shift {
            check(
                "risk.vega.volatility_shift",
                s,
                s > 0.0 && s <= 0.05,
                "must be above 0 and at most 0.05",
            )?;
        }
        for &s in &self.shocks_bp {
            check(
                "risk.shocks_bp",
                s,
                s != 0.0 && s.abs() <= 1000.0,
                "must be nonzero and within +/-1000",
            )?;
        }
        if let Some(s) = self.prepay_shift_pct {
            check(
                "risk.prepay_duration.shift_pct",
                s,
                s > 0.0 && s < 100.0,
                "must be above 0 and below 100",
            )?;
        }
        if let Some(s) = self.hpi_shift_pct {
            check(
                "risk.hpi_duration.shift_pct",
                s,
                s > 0.0 && s < 100.0,
                "must be above 0 and below 100",
            )?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == RiskBumps::default()
    }

    /// The key-rate shift, bp.
    pub fn key_rate_shift_bp(&self) -> f64 {
        self.effective_shift_bp.unwrap_or(DEFAULT_KEY_RATE_SHIFT_BP)
    }

    /// The bump blocks, in a fixed order, each once: a shock equal to an effective
    /// shift shares its block.
    pub fn blocks(&self) -> Vec<Bump> {
        let mut out: Vec<Bump> = Vec::new();
        let mut push = |b: Bump| {
            if !out.contains(&b) {
                out.push(b);
            }
        };
        if let Some(s) = self.effective_shift_bp {
            push(Bump::Parallel { shift_bp: s });
            push(Bump::Parallel { shift_bp: -s });
        }
        let keys: Arc<[f64]> = self.key_rates_years.clone().into();
        let k = self.key_rate_shift_bp();
        for index in 0..keys.len() {
            for shift_bp in [k, -k] {
                push(Bump::KeyRate {
                    keys_years: keys.clone(),
                    index,
                    shift_bp,
                });
            }
        }
        if let Some(s) = self.vega_shift {
            push(Bump::Volatility { shift: s });
            push(Bump::Volatility { shift: -s });
        }
        for &s in &self.shocks_bp {
            push(Bump::Parallel { shift_bp: s });
        }
        if let Some(s) = self.prepay_shift_pct {
            push(Bump::PrepaySpeed { shift_pct: s });
            push(Bump::PrepaySpeed { shift_pct: -s });
        }
        if let Some(s) = self.hpi_shift_pct {
            push(Bump::HpiLevel { shift_pct: s });
            push(Bump::HpiLevel { shift_pct: -s });
        }
        if self.loan_oas {
            push(Bump::Spread {
                shift_bp: LOAN_OAS_SHIFT_BP,
            });
            push(Bump::Spread {
                shift_bp: -LOAN_OAS_SHIFT_BP,
            });
        }
        if self.zero_volatility {
            push(Bump::ZeroVolatility);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_listed_once_in_a_fixed_order() {
        let bumps = RiskBumps {
            effective_shift_bp: Some(25.0),
            key_rates_years: vec![2.0, 10.0],
            vega_shift: Some(0.001),
            shocks_bp: vec![-100.0, -25.0, 25.0, 100.0],
            prepay_shift_pct: None,
            hpi_shift_pct: Some(5.0),
            zero_volatility: true,
            loan_oas: false,
        };
        bumps.validate().expect("valid");
        let labels: Vec<String> = bumps.blocks().iter().map(Bump::label).collect();
        assert_eq!(
            labels,
            [
                "parallel +25 bp",
                "parallel -25 bp",
                "key rate 2y +25 bp",
                "key rate 2y -25 bp",
                "key rate 10y +25 bp",
                "key rate 10y -25 bp",
                "volatility +0.001",
                "volatility -0.001",
                "parallel -100 bp",
                "parallel +100 bp",
                "house prices +5%",
                "house prices -5%",
                "zero volatility",
            ]
        );
        assert!(RiskBumps::default().blocks().is_empty());
    }

    #[test]
    fn bad_sizes_name_their_key() {
        let bad = |b: RiskBumps| b.validate().expect_err("invalid").key;
        assert_eq!(
            bad(RiskBumps {
                key_rates_years: vec![5.0, 2.0],
                ..RiskBumps::default()
            }),
            "risk.key_rates_years"
        );
        assert_eq!(
            bad(RiskBumps {
                shocks_bp: vec![0.0],
                ..RiskBumps::default()
            }),
            "risk.shocks_bp"
        );
        assert_eq!(
            bad(RiskBumps {
                effective_shift_bp: Some(-1.0),
                ..RiskBumps::default()
            }),
            "risk.effective.shift_bp"
        );
    }
}
