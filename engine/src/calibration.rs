//! Hull-White calibration to at-the-money swaption normal volatilities: each quote is
//! priced with Bachelier's formula (the market) and with Jamshidian's decomposition of
//! the swaption into zero-coupon bond options (the model), and the mean reversion and
//! volatility minimise the sum of squared relative price errors (Levenberg-Marquardt),
//! QuantLib's `RelativePriceError` objective.
//!
//! Conventions: one curve for discounting and forwarding; the fixed leg pays annually
//! with year fractions of exactly one year; the swap starts at expiry. So an ATM swap
//! rate is (P(T0) - P(Tn)) / A with annuity A = sum of P(T0 + i), and the market price of
//! an ATM payer (= receiver) swaption is A x vol x sqrt(T0) / sqrt(2 pi).

use crate::curve::ZeroCurve;
use crate::scenario::HullWhite;

/// One at-the-money swaption quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SwaptionQuote {
    pub expiry_years: f64,
    /// Whole years (annual fixed payments).
    pub tenor_years: f64,
    pub normal_vol_bp: f64,
}

impl From<(f64, f64, f64)> for SwaptionQuote {
    /// `(expiry_years, tenor_years, normal_vol_bp)`, as the config writes a quote.
    fn from((expiry_years, tenor_years, normal_vol_bp): (f64, f64, f64)) -> SwaptionQuote {
        SwaptionQuote {
            expiry_years,
            tenor_years,
            normal_vol_bp,
        }
    }
}

/// One quote's fit.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FitRow {
    pub expiry_years: f64,
    pub tenor_years: f64,
    pub market_vol_bp: f64,
    /// The normal volatility whose Bachelier price is the model's price.
    pub model_vol_bp: f64,
    /// `model_vol_bp - market_vol_bp`.
    pub error_bp: f64,
    /// Prices per unit notional: Bachelier at the market volatility, and the model's.
    pub market_price: f64,
    pub model_price: f64,
}

/// The fitted Hull-White parameters and how well they fit.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CalibrationFit {
    pub mean_reversion: f64,
    pub volatility: f64,
    pub instruments: Vec<FitRow>,
    /// Root mean square of the volatility errors, bp.
    pub rms_error_bp: f64,
    /// Root mean square of the relative price errors (the minimised objective).
    pub rms_relative_price_error: f64,
    pub iterations: u32,
}

/// Why a calibration was refused; the messages name the config key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    #[error("rates.calibrate.normal_vols_bp: needs at least 2 quotes, has {0}")]
    TooFew(usize),
    #[error(
        "rates.calibrate.normal_vols_bp: quote {index} [{expiry_years}, {tenor_years}, {vol_bp}]: {rule}"
    )]
    Quote {
        index: usize,
        expiry_years: f64,
        tenor_years: f64,
        vol_bp: f64,
        rule: &'static str,
    },
    #[error("rates.calibrate: no Hull-White parameters fit the quotes ({0})")]
    NoFit(String),
}

fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The annuity and ATM swap rate of a swap starting at `expiry` for `tenor` whole years.
fn annuity_and_rate(curve: &ZeroCurve, expiry: f64, tenor: u32) -> (f64, f64) {
    let annuity: f64 = (1..=tenor)
        .map(|i| curve.discount(expiry + f64::from(i)))
        .sum();
    let rate = (curve.discount(expiry) - curve.discount(expiry + f64::from(tenor))) / annuity;
    (annuity, rate)
}

/// Bachelier price of an ATM swaption: annuity x vol x sqrt(T) / sqrt(2 pi).
fn bachelier_atm(annuity: f64, vol: f64, expiry: f64) -> f64 {
    annuity * vol * expiry.sqrt() / (2.0 * std::f64::consts::PI).sqrt()
}

/// A European put on a zero-coupon bond maturing at `maturity`, expiring at `expiry`,
/// struck at `strike`, under Hull-White (Brigo and Mercurio, (3.41)).
fn zero_bond_put(hw: &HullWhite, expiry: f64, maturity: f64, strike: f64) -> f64 {
    let (a, sigma) = (hw.mean_reversion(), hw.volatility());
    let curve = hw.curve();
    let (p_t, p_s) = (curve.discount(expiry), curve.discount(maturity));
    let sigma_p =
        sigma * hw.b(maturity - expiry) * ((1.0 - (-2.0 * a * expiry).exp()) / (2.0 * a)).sqrt();
    if sigma_p <= 0.0 {
        return (strike * p_t - p_s).max(0.0);
    }
    let h = (p_s / (p_t * strike)).ln() / sigma_p + sigma_p / 2.0;
    strike * p_t * normal_cdf(-h + sigma_p) - p_s * normal_cdf(-h)
}

/// The model price of a payer swaption struck at `strike`: a put on the fixed leg's
/// coupon bond at par, split by Jamshidian into puts on each payment's zero bond.
pub fn jamshidian_payer(hw: &HullWhite, expiry: f64, tenor: u32, strike: f64) -> f64 {
    let times: Vec<f64> = (1..=tenor).map(|i| expiry + f64::from(i)).collect();
    let coupons: Vec<f64> = times
        .iter()
        .enumerate()
        .map(|(i, _)| strike + if i + 1 == times.len() { 1.0 } else { 0.0 })
        .collect();
    // The short rate r* at expiry at which the coupon bond is worth par: its value falls
    // as r rises, so bisection on a wide bracket, then Newton to full precision.
    let value = |r: f64| -> f64 {
        times
            .iter()
            .zip(&coupons)
            .map(|(&t, c)| c * hw.bond_price(expiry, t, r))
            .sum::<f64>()
            - 1.0
    };
    let (mut lo, mut hi) = (-1.0, 1.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if value(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    let r_star = 0.5 * (lo + hi);
    times
        .iter()
        .zip(&coupons)
        .map(|(&t, c)| c * zero_bond_put(hw, expiry, t, hw.bond_price(expiry, t, r_star)))
        .sum()
}

/// Validates the quotes; tenors must be whole years.
pub fn validate_quotes(quotes: &[SwaptionQuote]) -> Result<(), CalibrationError> {
    if quotes.len() < 2 {
        return Err(CalibrationError::TooFew(quotes.len()));
    }
    for (index, q) in quotes.iter().enumerate() {
        let fail = |rule| CalibrationError::Quote {
            index,
            expiry_years: q.expiry_years,
            tenor_years: q.tenor_years,
            vol_bp: q.normal_vol_bp,
            rule,
        };
        if !(q.expiry_years.is_finite() && q.expiry_years > 0.0 && q.expiry_years <= 50.0) {
            return Err(fail("the expiry must be above 0 and at most 50 years"));
        }
        if !(q.tenor_years.fract() == 0.0 && (1.0..=50.0).contains(&q.tenor_years)) {
            return Err(fail(
                "the tenor must be a whole number of years from 1 to 50",
            ));
        }
        if !(q.normal_vol_bp.is_finite() && q.normal_vol_bp > 0.0 && q.normal_vol_bp <= 1000.0) {
            return Err(fail("the volatility must be above 0 and at most 1000 bp"));
        }
    }
    Ok(())
}

/// Fits mean reversion and volatility to the quotes, from the starting guess `start`.
pub fn calibrate_hull_white(
    curve: &ZeroCurve,
    quotes: &[SwaptionQuote],
    start: (f64, f64),
) -> Result<CalibrationFit, CalibrationError> {
    validate_quotes(quotes)?;
    let market: Vec<(f64, f64)> = quotes
        .iter()
        .map(|q| {
            let (annuity, _) = annuity_and_rate(curve, q.expiry_years, q.tenor_years as u32);
            (
                annuity,
                bachelier_atm(annuity, q.normal_vol_bp / 10_000.0, q.expiry_years),
            )
        })
        .collect();
    let model_prices = |a: f64, sigma: f64| -> Option<Vec<f64>> {
        let hw = HullWhite::new(a, sigma, curve.clone()).ok()?;
        Some(
            quotes
                .iter()
                .map(|q| {
                    let tenor = q.tenor_years as u32;
                    let (_, rate) = annuity_and_rate(curve, q.expiry_years, tenor);
                    jamshidian_payer(&hw, q.expiry_years, tenor, rate)
                })
                .collect(),
        )
    };
    let residuals = |p: [f64; 2]| -> Option<Vec<f64>> {
        let prices = model_prices(p[0], p[1])?;
        Some(
            prices
                .iter()
                .zip(&market)
                .map(|(m, (_, mk))| (m - mk) / mk)
                .collect(),
        )
    };
    let cost = |r: &[f64]| r.iter().map(|x| x * x).sum::<f64>();
    // The Hull-White model's valid range (mean reversion, volatility).
    const LOWER: [f64; 2] = [1e-4, 1e-6];
    const UPPER: [f64; 2] = [5.0, 0.2];
    let clamp = |p: [f64; 2]| {
        [
            p[0].clamp(LOWER[0], UPPER[0]),
            p[1].clamp(LOWER[1], UPPER[1]),
        ]
    };
    let mut p = clamp([start.0, start.1]);
    let mut r = residuals(p).ok_or_else(|| CalibrationError::NoFit("bad start".into()))?;
    let mut lambda = 1e-3;
    let mut iterations = 0;
    for _ in 0..500 {
        iterations += 1;
        // Central-difference Jacobian, relative steps.
        let mut jac = vec![[0.0; 2]; r.len()];
        for k in 0..2 {
            // Steps stay inside the bounds: one-sided at a bound.
            let h = 1e-6 * p[k].abs().max(1e-6);
            let (mut up, mut down) = (p, p);
            up[k] = (p[k] + h).min(UPPER[k]);
            down[k] = (p[k] - h).max(LOWER[k]);
            let (ru, rd) = (
                residuals(up).ok_or_else(|| CalibrationError::NoFit("step".into()))?,
                residuals(down).ok_or_else(|| CalibrationError::NoFit("step".into()))?,
            );
            for i in 0..r.len() {
                jac[i][k] = (ru[i] - rd[i]) / (up[k] - down[k]);
            }
        }
        let mut jtj = [[0.0; 2]; 2];
        let mut jtr = [0.0; 2];
        for (row, ri) in jac.iter().zip(&r) {
            for x in 0..2 {
                jtr[x] += row[x] * ri;
                for y in 0..2 {
                    jtj[x][y] += row[x] * row[y];
                }
            }
        }
        let mut improved = false;
        let mut step_size = 0.0;
        for _ in 0..30 {
            let m = [
                [jtj[0][0] * (1.0 + lambda), jtj[0][1]],
                [jtj[1][0], jtj[1][1] * (1.0 + lambda)],
            ];
            let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
            if det == 0.0 || !det.is_finite() {
                lambda *= 10.0;
                continue;
            }
            let d0 = -(m[1][1] * jtr[0] - m[0][1] * jtr[1]) / det;
            let d1 = -(-m[1][0] * jtr[0] + m[0][0] * jtr[1]) / det;
            let trial = clamp([p[0] + d0, p[1] + d1]);
            if let Some(rt) = residuals(trial)
                && cost(&rt) < cost(&r)
            {
                step_size = ((trial[0] - p[0]) / p[0])
                    .abs()
                    .max(((trial[1] - p[1]) / p[1]).abs());
                p = trial;
                r = rt;
                lambda = (lambda / 10.0).max(1e-12);
                improved = true;
                break;
            }
            lambda *= 10.0;
        }
        if !improved || step_size < 1e-12 {
            break;
        }
    }
    let prices = model_prices(p[0], p[1]).ok_or_else(|| CalibrationError::NoFit("end".into()))?;
    let instruments: Vec<FitRow> = quotes
        .iter()
        .zip(&prices)
        .zip(&market)
        .map(|((q, &model), &(annuity, market_price))| {
            // Bachelier is linear in the volatility at the money.
            let model_vol_bp = model / bachelier_atm(annuity, 1.0, q.expiry_years) * 10_000.0;
            FitRow {
                expiry_years: q.expiry_years,
                tenor_years: q.tenor_years,
                market_vol_bp: q.normal_vol_bp,
                model_vol_bp,
                error_bp: model_vol_bp - q.normal_vol_bp,
                market_price,
                model_price: model,
            }
        })
        .collect();
    let n = instruments.len() as f64;
    Ok(CalibrationFit {
        mean_reversion: p[0],
        volatility: p[1],
        rms_error_bp: (instruments.iter().map(|f| f.error_bp.powi(2)).sum::<f64>() / n).sqrt(),
        rms_relative_price_error: (cost(&r) / n).sqrt(),
        instruments,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_made_by_the_model_are_fitted_back() {
        let curve = ZeroCurve::from_points(&[(1.0, 3.6), (5.0, 3.9), (10.0, 4.2), (30.0, 4.5)])
            .expect("curve");
        let hw = HullWhite::new(0.04, 0.009, curve.clone()).expect("hw");
        let quotes: Vec<SwaptionQuote> = [(1.0, 5), (2.0, 5), (5.0, 5), (5.0, 10), (10.0, 10)]
            .iter()
            .map(|&(expiry, tenor)| {
                let (annuity, rate) = annuity_and_rate(&curve, expiry, tenor);
                let price = jamshidian_payer(&hw, expiry, tenor, rate);
                SwaptionQuote {
                    expiry_years: expiry,
                    tenor_years: f64::from(tenor),
                    normal_vol_bp: price / bachelier_atm(annuity, 1.0, expiry) * 10_000.0,
                }
            })
            .collect();
        let fit = calibrate_hull_white(&curve, &quotes, (0.1, 0.005)).expect("fit");
        assert!((fit.mean_reversion - 0.04).abs() < 1e-6, "{fit:?}");
        assert!((fit.volatility - 0.009).abs() < 1e-8, "{fit:?}");
        assert!(fit.rms_error_bp < 1e-4, "{fit:?}");
    }

    #[test]
    fn payer_and_receiver_parity_holds_for_the_jamshidian_price() {
        // At the money a payer is worth a receiver; a put on the coupon bond at strike K
        // minus the call equals K-bond forward value minus par: checked through the
        // zero-volatility limit, where the ATM swaption is worth nothing.
        let curve = ZeroCurve::flat(4.0).expect("curve");
        let hw = HullWhite::new(0.05, 1e-12, curve.clone()).expect("hw");
        let (_, rate) = annuity_and_rate(&curve, 5.0, 10);
        assert!(jamshidian_payer(&hw, 5.0, 10, rate).abs() < 1e-10);
    }

    #[test]
    fn bad_quotes_name_the_key_and_the_quote() {
        let q = |e, t, v| SwaptionQuote {
            expiry_years: e,
            tenor_years: t,
            normal_vol_bp: v,
        };
        let e = validate_quotes(&[q(1.0, 5.0, 90.0), q(2.0, 5.5, 90.0)]).expect_err("bad tenor");
        assert!(e.to_string().contains("quote 1") && e.to_string().contains("whole number"));
        assert!(matches!(
            validate_quotes(&[q(1.0, 5.0, 90.0)]),
            Err(CalibrationError::TooFew(1))
        ));
    }
}
