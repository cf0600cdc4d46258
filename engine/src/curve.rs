//! The initial yield curve: continuously compounded zero rates, linear in time between
//! knots and flat beyond the ends, with discount factors and instantaneous forwards.

/// Why a curve was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CurveError {
    #[error("the curve has no points")]
    Empty,
    #[error("curve point {index}: tenor {tenor_years} must be positive and above the previous one")]
    Tenor { index: usize, tenor_years: f64 },
    #[error("curve point {index}: zero rate {zero_pct}% must be between -5 and 30")]
    Rate { index: usize, zero_pct: f64 },
}

/// A validated zero curve. Rates are fractions internally.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroCurve {
    tenors_years: Vec<f64>,
    zeros: Vec<f64>,
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
        })
    }

    /// The same curve moved in parallel by `shift` (a fraction; 0.0001 is one basis point).
    pub fn shifted(&self, shift: f64) -> ZeroCurve {
        ZeroCurve {
            tenors_years: self.tenors_years.clone(),
            zeros: self.zeros.iter().map(|z| z + shift).collect(),
        }
    }

    /// Zero rate and its slope at `t` years.
    fn zero_and_slope(&self, t: f64) -> (f64, f64) {
        let n = self.tenors_years.len();
        if t <= self.tenors_years[0] {
            return (self.zeros[0], 0.0);
        }
        if t >= self.tenors_years[n - 1] {
            return (self.zeros[n - 1], 0.0);
        }
        // First knot strictly above t; t lies in [knot i-1, knot i).
        let i = self.tenors_years.partition_point(|&k| k <= t);
        let (t0, t1) = (self.tenors_years[i - 1], self.tenors_years[i]);
        let (z0, z1) = (self.zeros[i - 1], self.zeros[i]);
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
}
