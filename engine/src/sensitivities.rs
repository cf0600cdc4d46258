//! Risk figures from the bump blocks: effective duration and convexity, key-rate
//! durations, vega, prepayment and house-price durations and rate shocks, each with its
//! Monte Carlo standard error. Every bump replays the base run's random numbers, so each
//! figure is a ratio of means over the same draws: its standard error comes from the
//! delta method on per-draw values (pair means when antithetic), which keeps the common
//! noise out of the difference.

use crate::CashflowTable;
use crate::bumps::{Bump, RiskBumps};
use crate::risk::{ScenarioResult, standard_error};

/// A Monte Carlo estimate and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Estimate {
    pub value: f64,
    pub std_error: f64,
}

impl Estimate {
    /// A figure with no Monte Carlo error (a closed form, a configured value).
    pub fn exact(value: f64) -> Estimate {
        Estimate {
            value,
            std_error: 0.0,
        }
    }
}

/// mean(a) / mean(b) with the delta-method standard error: the standard error of the
/// per-draw linearisation (a_i - R b_i) / mean(b).
pub fn ratio_estimate(a: &[f64], b: &[f64], antithetic: bool) -> Estimate {
    assert_eq!(a.len(), b.len(), "one numerator and denominator per draw");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(a), mean(b));
    let r = ma / mb;
    let g: Vec<f64> = a.iter().zip(b).map(|(x, y)| (x - r * y) / mb).collect();
    Estimate {
        value: r,
        std_error: standard_error(&g, antithetic),
    }
}

/// The weighted average life of the mean cash flow over `tables` (one per draw, in
/// scenario order), years, with its standard error: a ratio of means, sum(month x
/// principal) / 12 over sum(principal) per draw, principal = scheduled (expected when
/// advancing, actual otherwise) + prepayments + recoveries.
pub fn wal_estimate(tables: &[CashflowTable], antithetic: bool) -> Estimate {
    let (mut weighted, mut principal) = (Vec::new(), Vec::new());
    for t in tables {
        let (mut w, mut p) = (0.0, 0.0);
        for row in t.rows() {
            let scheduled = if t.advancing() {
                row.expected_amortization
            } else {
                row.actual_amortization
            };
            let x = (scheduled + row.voluntary_prepayment + row.principal_recovery).to_usd();
            p += x;
            w += f64::from(row.month) * x / 12.0;
        }
        weighted.push(w);
        principal.push(p);
    }
    ratio_estimate(&weighted, &principal, antithetic)
}

/// A mean and its standard error.
pub fn mean_estimate(values: &[f64], antithetic: bool) -> Estimate {
    Estimate {
        value: values.iter().sum::<f64>() / values.len() as f64,
        std_error: standard_error(values, antithetic),
    }
}

/// One parallel shock's results.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Shock {
    pub shift_bp: f64,
    pub pv: Estimate,
    /// PV under the shock less the base PV, over the same draws.
    pub pv_change: Estimate,
    /// Percent of the base PV.
    pub pv_change_pct: Estimate,
    /// Expected lifetime principal loss.
    pub expected_loss: Estimate,
    /// The WAL of the mean cash flow, years, and its standard error; filled in by the
    /// caller, which holds the tables.
    pub wal_years: f64,
    pub wal_years_std_error: f64,
}

/// Every sensitivity a run's bumps allow; `None` (or empty) where not configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sensitivities {
    /// -(P+ - P-) / (2 P0 dy), years.
    pub effective_duration: Option<Estimate>,
    /// (P+ + P- - 2 P0) / (P0 dy^2).
    pub effective_convexity: Option<Estimate>,
    /// Per key tenor (years): -(P+ - P-) / (2 P0 dy) under its triangular bump.
    pub key_rate_durations: Vec<(f64, Estimate)>,
    /// Their sum, with its own standard error (the draws are common).
    pub key_rate_duration_sum: Option<Estimate>,
    /// Percent change of PV per +1 bp of Hull-White volatility.
    pub vega: Option<Estimate>,
    /// Percent fall of PV per 1% faster prepayment (relative to the model's speed).
    pub prepay_duration: Option<Estimate>,
    /// Percent fall of PV per 1% higher house prices: negative when the book gains as
    /// house prices rise.
    pub hpi_duration: Option<Estimate>,
    pub shocks: Vec<Shock>,
}

/// Computes the sensitivities from the base block's random-scenario results and each
/// bump block's results, all discounted at the same spread, in scenario order.
pub fn sensitivities(
    risk: &RiskBumps,
    base: &[ScenarioResult],
    blocks: &[(Bump, Vec<ScenarioResult>)],
    antithetic: bool,
) -> Sensitivities {
    let find = |b: &Bump| -> Option<&[ScenarioResult]> {
        blocks
            .iter()
            .find(|(x, _)| x == b)
            .map(|(_, r)| r.as_slice())
    };
    let pv = |r: &[ScenarioResult]| -> Vec<f64> { r.iter().map(|s| s.pv).collect() };
    let p0 = pv(base);
    // -(P_up - P_down) / (scale x P0), per draw.
    let falling = |up: &[ScenarioResult], down: &[ScenarioResult], scale: f64| {
        let a: Vec<f64> = down.iter().zip(up).map(|(d, u)| d.pv - u.pv).collect();
        let b: Vec<f64> = p0.iter().map(|p| scale * p).collect();
        (a, b)
    };
    let mut out = Sensitivities::default();
    if let Some(s) = risk.effective_shift_bp {
        let dy = s / 10_000.0;
        let up = find(&Bump::Parallel { shift_bp: s });
        let down = find(&Bump::Parallel { shift_bp: -s });
        if let (Some(up), Some(down)) = (up, down) {
            let (a, b) = falling(up, down, 2.0 * dy);
            out.effective_duration = Some(ratio_estimate(&a, &b, antithetic));
            let a: Vec<f64> = up
                .iter()
                .zip(down)
                .zip(&p0)
                .map(|((u, d), p)| u.pv + d.pv - 2.0 * p)
                .collect();
            let b: Vec<f64> = p0.iter().map(|p| dy * dy * p).collect();
            out.effective_convexity = Some(ratio_estimate(&a, &b, antithetic));
        }
    }
    if !risk.key_rates_years.is_empty() {
        let k = risk.key_rate_shift_bp();
        let dy = k / 10_000.0;
        let keys: std::sync::Arc<[f64]> = risk.key_rates_years.clone().into();
        let (mut sum_a, mut sum_b) = (vec![0.0; p0.len()], Vec::new());
        for (index, &years) in risk.key_rates_years.iter().enumerate() {
            let bump = |shift_bp| Bump::KeyRate {
                keys_years: keys.clone(),
                index,
                shift_bp,
            };
            if let (Some(up), Some(down)) = (find(&bump(k)), find(&bump(-k))) {
                let (a, b) = falling(up, down, 2.0 * dy);
                out.key_rate_durations
                    .push((years, ratio_estimate(&a, &b, antithetic)));
                for (s, x) in sum_a.iter_mut().zip(&a) {
                    *s += x;
                }
                sum_b = b;
            }
        }
        if !sum_b.is_empty() {
            out.key_rate_duration_sum = Some(ratio_estimate(&sum_a, &sum_b, antithetic));
        }
    }
    if let Some(s) = risk.vega_shift {
        let bp = s * 10_000.0;
        if let (Some(up), Some(down)) = (
            find(&Bump::Volatility { shift: s }),
            find(&Bump::Volatility { shift: -s }),
        ) {
            // Vega is a rise in value: P+ - P-, not the fall.
            let (a, b) = falling(down, up, 2.0 * bp / 100.0);
            out.vega = Some(ratio_estimate(&a, &b, antithetic));
        }
    }
    let percent_duration = |s: f64, make: fn(f64) -> Bump| match (find(&make(s)), find(&make(-s))) {
        (Some(up), Some(down)) => {
            let (a, b) = falling(up, down, 2.0 * s / 100.0);
            Some(ratio_estimate(&a, &b, antithetic))
        }
        _ => None,
    };
    out.prepay_duration = risk
        .prepay_shift_pct
        .and_then(|s| percent_duration(s, |shift_pct| Bump::PrepaySpeed { shift_pct }));
    out.hpi_duration = risk
        .hpi_shift_pct
        .and_then(|s| percent_duration(s, |shift_pct| Bump::HpiLevel { shift_pct }));
    for &shift_bp in &risk.shocks_bp {
        let Some(r) = find(&Bump::Parallel { shift_bp }) else {
            continue;
        };
        let shocked = pv(r);
        let change: Vec<f64> = shocked.iter().zip(&p0).map(|(s, b)| s - b).collect();
        let losses: Vec<f64> = r.iter().map(|s| s.lifetime_loss.to_usd()).collect();
        let hundred_p0: Vec<f64> = p0.iter().map(|p| p / 100.0).collect();
        out.shocks.push(Shock {
            shift_bp,
            pv: mean_estimate(&shocked, antithetic),
            pv_change: mean_estimate(&change, antithetic),
            pv_change_pct: ratio_estimate(&change, &hundred_p0, antithetic),
            expected_loss: mean_estimate(&losses, antithetic),
            wal_years: 0.0,
            wal_years_std_error: 0.0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    fn results(pvs: &[f64]) -> Vec<ScenarioResult> {
        pvs.iter()
            .enumerate()
            .map(|(k, &pv)| ScenarioResult {
                scenario: k as u32,
                pv,
                lifetime_loss: Money::ZERO,
                credit_loss: Money::ZERO,
                new_default: Money::ZERO,
                voluntary_prepayment: Money::ZERO,
                wal_years: 0.0,
            })
            .collect()
    }

    #[test]
    fn a_ratio_of_common_draws_has_no_error_when_the_draws_move_together() {
        // Every draw's bumped value is the same multiple of its base value: the ratio is
        // exact, however noisy the draws themselves are.
        let base = [90.0, 110.0, 95.0, 105.0];
        let a: Vec<f64> = base.iter().map(|p| 0.05 * p).collect();
        let e = ratio_estimate(&a, &base, false);
        assert!((e.value - 0.05).abs() < 1e-15);
        assert!(e.std_error < 1e-15);
    }

    #[test]
    fn durations_and_convexity_are_the_finite_differences_of_the_means() {
        let risk = RiskBumps {
            effective_shift_bp: Some(25.0),
            ..RiskBumps::default()
        };
        let base = results(&[100.0, 102.0]);
        let up = results(&[98.9, 100.8]);
        let down = results(&[101.2, 103.3]);
        let s = sensitivities(
            &risk,
            &base,
            &[
                (Bump::Parallel { shift_bp: 25.0 }, up),
                (Bump::Parallel { shift_bp: -25.0 }, down),
            ],
            false,
        );
        let (p0, pu, pd) = (101.0, 99.85, 102.25);
        let d = s.effective_duration.expect("duration");
        assert!((d.value - (pd - pu) / (2.0 * 0.0025 * p0)).abs() < 1e-12);
        let c = s.effective_convexity.expect("convexity");
        assert!((c.value - (pu + pd - 2.0 * p0) / (0.0025 * 0.0025 * p0)).abs() < 1e-9);
    }
}
