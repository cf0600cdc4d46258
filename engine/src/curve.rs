//! The initial yield curve: continuously compounded zero rates at knots, with discount
//! factors and instantaneous forwards. Given as zero rates, it is linear in the zero rate
//! between knots and flat beyond the ends; bootstrapped from par swap rates, it is
//! log-linear in the discount factor (piecewise-constant forwards, so no saw-tooth) and
//! flat-forward beyond the last knot.

/// Why a curve was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CurveError {
    #[error("the curve has no points")]
    Empty,
    #[error("curve point {index}: tenor {tenor_years} must be positive and above the previous one")]
    Tenor { index: usize, tenor_years: f64 },
    #[error("curve point {index}: zero rate {zero_pct}% must be between -5 and 30")]
    Rate { index: usize, zero_pct: f64 },
    #[error(
        "par rate {index} ({tenor_years} years, {rate_pct}%): no zero rate between -5% and 30% reprices it"
    )]
    Bootstrap {
        index: usize,
        tenor_years: f64,
        rate_pct: f64,
    },
}

/// A validated zero curve. Rates are fractions internally.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroCurve {
    tenors_years: Vec<f64>,
    zeros: Vec<f64>,
    interpolation: Interpolation,
}

/// How a curve interpolates between its knots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// Linear in the zero rate; flat zero rate beyond the ends.
    LinearZero,
    /// Linear in ln P(t) = -z(t) t: constant forwards between knots; flat zero rate
    /// before the first knot, the last segment's forward beyond the last.
    LogLinearDiscount,
}

impl ZeroCurve {
    /// One rate at every tenor.
    pub fn flat(zero_pct: f64) -> Result<ZeroCurve, CurveError> {
        ZeroCurve::from_points(&[(1.0, zero_pct)])
    }

    /// `(tenor in years, zero rate in percent)` points in increasing tenor order.
    pub fn from_points(points: &[(f64, f64)]) -> Result<ZeroCurve, CurveError> {
        if points.is_empty() {
            return Err(CurveError::Empty);
        }
        let mut previous = 0.0;
        for (index, &(tenor_years, zero_pct)) in points.iter().enumerate() {
            if !(tenor_years.is_finite() && tenor_years > previous) {
                return Err(CurveError::Tenor { index, tenor_years });
            }
            if !(zero_pct.is_finite() && (-5.0..=30.0).contains(&zero_pct)) {
                return Err(CurveError::Rate { index, zero_pct });
            }
            previous = tenor_years;
        }
        Ok(ZeroCurve {
            tenors_years: points.iter().map(|p| p.0).collect(),
            zeros: points.iter().map(|p| p.1 / 100.0).collect(),
            interpolation: Interpolation::LinearZero,
        })
    }

    /// Bootstraps a curve from par swap rates `(tenor in years, rate in percent)`,
    /// increasing tenors, log-linear in the discount factor. A tenor up to one year is a
    /// simple-interest deposit, P = 1 / (1 + S T); a longer one a swap paying S annually
    /// (year fractions of one, a shorter first period when the tenor is not whole) whose
    /// floating leg is worth 1 - P(T) on this one curve: each knot's zero rate is the root
    /// of S x sum(tau_i P(t_i)) + P(T) = 1, with the payment dates between knots on the
    /// curve being built.
    pub fn bootstrap_par(points: &[(f64, f64)]) -> Result<ZeroCurve, CurveError> {
        // Validates tenors and rates as zero rates would be.
        ZeroCurve::from_points(points)?;
        let mut curve = ZeroCurve {
            tenors_years: Vec::new(),
            zeros: Vec::new(),
            interpolation: Interpolation::LogLinearDiscount,
        };
        for (index, &(tenor, rate_pct)) in points.iter().enumerate() {
            let s = rate_pct / 100.0;
            let gap = |z: f64| -> f64 {
                let mut c = curve.clone();
                c.tenors_years.push(tenor);
                c.zeros.push(z);
                if tenor <= 1.0 {
                    c.discount(tenor) * (1.0 + s * tenor) - 1.0
                } else {
                    let mut t = tenor;
                    let mut fixed = 0.0;
                    while t > 1e-9 {
                        let tau = t.min(1.0);
                        fixed += tau * c.discount(t);
                        t -= tau;
                    }
                    s * fixed + c.discount(tenor) - 1.0
                }
            };
            // The gap falls as the zero rate rises: bisection to the last bit.
            let (mut lo, mut hi) = (-0.05, 0.30);
            if gap(lo) < 0.0 || gap(hi) > 0.0 {
                return Err(CurveError::Bootstrap {
                    index,
                    tenor_years: tenor,
                    rate_pct,
                });
            }
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if gap(mid) > 0.0 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            curve.tenors_years.push(tenor);
            curve.zeros.push(0.5 * (lo + hi));
        }
        Ok(curve)
    }

    pub fn interpolation(&self) -> Interpolation {
        self.interpolation
    }

    /// The knots: `(tenor in years, zero rate in percent)`.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.tenors_years
            .iter()
            .zip(&self.zeros)
            .map(|(&t, &z)| (t, z * 100.0))
            .collect()
    }

    /// The same curve moved in parallel by `shift` (a fraction; 0.0001 is one basis point).
    pub fn shifted(&self, shift: f64) -> ZeroCurve {
        ZeroCurve {
            tenors_years: self.tenors_years.clone(),
            zeros: self.zeros.iter().map(|z| z + shift).collect(),
            interpolation: self.interpolation,
        }
    }

    /// The curve with a triangular key-rate bump of `shift` (a fraction) added to its zero
    /// rates: weight 1 at `keys[index]` years, falling linearly to 0 at the neighbouring
    /// keys, flat at 1 before the first key and after the last. The weights of all keys
    /// sum to 1 at every tenor, so the bumps together are the parallel shift.
    ///
    /// Both the curve and the bump are piecewise linear in the tenor, so their sum is
    /// exactly piecewise linear on the union of the knots and the keys: the bumped curve
    /// keeps that union as its knots and is the exact sum, not an approximation.
    ///
    /// # Panics
    /// When `keys` is empty, not strictly increasing and positive, or `index` is out of
    /// range (the config validates keys first).
    pub fn with_key_rate_bump(&self, keys: &[f64], index: usize, shift: f64) -> ZeroCurve {
        assert!(index < keys.len(), "key {index} of {}", keys.len());
        assert!(
            keys[0] > 0.0 && keys.windows(2).all(|w| w[0] < w[1]),
            "key tenors must be positive and increasing"
        );
        let weight = |t: f64| key_rate_weight(keys, index, t);
        let mut knots: Vec<f64> = self.tenors_years.iter().chain(keys).copied().collect();
        knots.sort_by(f64::total_cmp);
        knots.dedup();
        ZeroCurve {
            zeros: knots
                .iter()
                .map(|&t| self.zero(t) + shift * weight(t))
                .collect(),
            tenors_years: knots,
            interpolation: self.interpolation,
        }
    }

    /// Checks that every zero rate is within the range [`ZeroCurve::from_points`]
    /// accepts (a shifted or bumped curve can leave it).
    pub fn check_rates(&self) -> Result<(), CurveError> {
        for (index, z) in self.zeros.iter().enumerate() {
            let zero_pct = z * 100.0;
            if !(zero_pct.is_finite() && (-5.0..=30.0).contains(&zero_pct)) {
                return Err(CurveError::Rate { index, zero_pct });
            }
        }
        Ok(())
    }

    /// Zero rate and its slope at `t` years.
    fn zero_and_slope(&self, t: f64) -> (f64, f64) {
        let n = self.tenors_years.len();
        if t <= self.tenors_years[0] {
            return (self.zeros[0], 0.0);
        }
        let log_linear = self.interpolation == Interpolation::LogLinearDiscount;
        if t >= self.tenors_years[n - 1] {
            if !log_linear || n == 1 {
                return (self.zeros[n - 1], 0.0);
            }
            // The last segment's forward, held: y(t) = -ln P(t) grows at it.
            let (t0, t1) = (self.tenors_years[n - 2], self.tenors_years[n - 1]);
            let (y0, y1) = (self.zeros[n - 2] * t0, self.zeros[n - 1] * t1);
            let f = (y1 - y0) / (t1 - t0);
            let z = (y1 + f * (t - t1)) / t;
            return (z, (f - z) / t);
        }
        // First knot strictly above t; t lies in [knot i-1, knot i).
        let i = self.tenors_years.partition_point(|&k| k <= t);
        let (t0, t1) = (self.tenors_years[i - 1], self.tenors_years[i]);
        let (z0, z1) = (self.zeros[i - 1], self.zeros[i]);
        if log_linear {
            // -ln P linear in t: the forward f is constant on the segment, z = y / t.
            let f = (z1 * t1 - z0 * t0) / (t1 - t0);
            let z = (z0 * t0 + f * (t - t0)) / t;
            return (z, (f - z) / t);
        }
        let slope = (z1 - z0) / (t1 - t0);
        (z0 + slope * (t - t0), slope)
    }

    /// Continuously compounded zero rate at `t` years (fraction).
    pub fn zero(&self, t: f64) -> f64 {
        self.zero_and_slope(t).0
    }

    /// P(0, t) = exp(-z(t) t).
    pub fn discount(&self, t: f64) -> f64 {
        libm::exp(-self.zero(t) * t)
    }

    /// Instantaneous forward f(0, t) = d/dt (z(t) t) = z(t) + t z'(t); right-continuous at
    /// knots.
    pub fn forward(&self, t: f64) -> f64 {
        let (z, slope) = self.zero_and_slope(t);
        z + t * slope
    }
}

/// The triangular weight of key `index` at `t` years (see
/// [`ZeroCurve::with_key_rate_bump`]).
pub fn key_rate_weight(keys: &[f64], index: usize, t: f64) -> f64 {
    let k = keys[index];
    if t <= k {
        match index.checked_sub(1).map(|i| keys[i]) {
            None => 1.0,
            Some(previous) if t <= previous => 0.0,
            Some(previous) => (t - previous) / (k - previous),
        }
    } else {
        match keys.get(index + 1) {
            None => 1.0,
            Some(&next) if t >= next => 0.0,
            Some(&next) => (next - t) / (next - k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_linearly_and_extrapolates_flat() {
        let c = ZeroCurve::from_points(&[(1.0, 4.1), (10.0, 4.4), (30.0, 4.6)]).expect("valid");
        assert!((c.zero(0.25) - 0.041).abs() < 1e-15);
        assert!((c.zero(5.5) - 0.0425).abs() < 1e-15);
        assert!((c.zero(50.0) - 0.046).abs() < 1e-15);
        // QuantLib 1.44 ZeroCurve(Linear, Continuous) with knots at 0, 1, 10, 30 years.
        for (t, ql) in [
            (0.5, 0.979_708_696_474_517_9),
            (5.0, 0.809_234_397_413_165_9),
            (20.0, 0.406_569_659_740_599_17),
        ] {
            assert!((c.discount(t) - ql).abs() < 1e-15, "t = {t}");
        }
        assert!((c.forward(3.5) - 0.043).abs() < 1e-15);
        assert!((c.forward(12.0) - 0.0454).abs() < 1e-15);
    }

    #[test]
    fn rejects_bad_points() {
        assert_eq!(ZeroCurve::from_points(&[]), Err(CurveError::Empty));
        assert!(ZeroCurve::from_points(&[(2.0, 4.0), (1.0, 4.0)]).is_err());
        assert!(ZeroCurve::from_points(&[(1.0, 40.0)]).is_err());
    }

    #[test]
    fn key_rate_bumps_add_up_to_the_parallel_shift() {
        let c = ZeroCurve::from_points(&[(0.5, 3.9), (3.0, 4.1), (10.0, 4.4), (30.0, 4.6)])
            .expect("valid");
        let keys = [2.0, 5.0, 10.0, 30.0];
        let shift = 0.0025;
        for t in [
            0.1, 0.5, 1.0, 2.0, 2.7, 3.0, 4.2, 5.0, 7.5, 10.0, 17.0, 29.9, 30.0, 45.0,
        ] {
            let weights: f64 = (0..keys.len()).map(|i| key_rate_weight(&keys, i, t)).sum();
            assert!((weights - 1.0).abs() < 1e-15, "t = {t}: weights {weights}");
            // Each bumped curve is the base curve plus the triangle at every tenor, knots
            // or not, and the bumps together move every zero rate by the shift.
            let bumped: f64 = (0..keys.len())
                .map(|i| c.with_key_rate_bump(&keys, i, shift).zero(t) - c.zero(t))
                .sum();
            assert!((bumped - shift).abs() < 1e-15, "t = {t}: {bumped}");
            let five = c.with_key_rate_bump(&keys, 1, shift).zero(t) - c.zero(t);
            let expected = match t {
                t if t <= 2.0 || t >= 10.0 => 0.0,
                t if t <= 5.0 => (t - 2.0) / 3.0 * shift,
                t => (10.0 - t) / 5.0 * shift,
            };
            assert!(
                (five - expected).abs() < 1e-15,
                "t = {t}: {five} vs {expected}"
            );
        }
    }

    #[test]
    fn a_bootstrapped_curve_reprices_its_par_swaps_with_flat_forwards() {
        let par = [
            (0.5, 3.9),
            (1.0, 3.95),
            (2.0, 4.0),
            (3.0, 4.1),
            (5.0, 4.25),
            (7.0, 4.3),
            (10.0, 4.4),
            (20.0, 4.6),
            (30.0, 4.55),
        ];
        let c = ZeroCurve::bootstrap_par(&par).expect("bootstraps");
        assert_eq!(c.interpolation(), Interpolation::LogLinearDiscount);
        // Every instrument reprices: the deposits at simple interest, the swaps' annual
        // fixed legs plus the final discount factor at par. Written out here, not through
        // the bootstrap's own closure.
        for &(tenor, rate_pct) in &par {
            let s = rate_pct / 100.0;
            let value = if tenor <= 1.0 {
                c.discount(tenor) * (1.0 + s * tenor)
            } else {
                let whole = tenor as u32;
                s * (1..=whole).map(|i| c.discount(f64::from(i))).sum::<f64>() + c.discount(tenor)
            };
            assert!((value - 1.0).abs() < 1e-13, "{tenor}y: {value}");
        }
        // Forwards are constant between knots (no saw-tooth), and the forward on each
        // segment is ln(P(t0) / P(t1)) / (t1 - t0).
        let knots: Vec<f64> = par.iter().map(|p| p.0).collect();
        for w in knots.windows(2) {
            let (t0, t1) = (w[0], w[1]);
            let expected = (c.discount(t0) / c.discount(t1)).ln() / (t1 - t0);
            for k in 0..10 {
                let t = t0 + (t1 - t0) * (f64::from(k) + 0.5) / 10.0;
                assert!((c.forward(t) - expected).abs() < 1e-12, "t = {t}");
            }
        }
        // Beyond the last knot the last forward holds.
        let last = (c.discount(20.0) / c.discount(30.0)).ln() / 10.0;
        assert!((c.forward(40.0) - last).abs() < 1e-12);
        assert!((c.discount(40.0) - c.discount(30.0) * (-last * 10.0).exp()).abs() < 1e-14);
        assert!(matches!(
            ZeroCurve::bootstrap_par(&[(1.0, 4.0), (2.0, 90.0)]),
            Err(CurveError::Bootstrap { index: 1, .. }) | Err(CurveError::Rate { index: 1, .. })
        ));
    }
}
