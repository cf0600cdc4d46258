//! Economic scenarios: Hull-White one-factor short rates fitted exactly to the initial
//! curve, the model's 10-year yield and mortgage rate, and national house prices, per
//! month. Scenario k depends only on (seed, k): any shard or thread builds the same path.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::sync::Arc;

use rayon::prelude::*;

use crate::curve::ZeroCurve;
use crate::sampler::{BrownianBridge, Sampler, SobolPoints, inverse_normal};

/// Months per year; the scenario grid is monthly.
const DT_YEARS: f64 = 1.0 / 12.0;

/// Tenor of the model yield that drives mortgage rates.
pub const MORTGAGE_YIELD_TENOR_YEARS: f64 = 10.0;

/// Why a scenario setting was rejected; messages name the configuration key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScenarioError {
    #[error("rates.mean_reversion: {0} must be between 0.0001 and 5")]
    MeanReversion(f64),
    #[error("rates.volatility: {0} must be between 0 and 0.2")]
    Volatility(f64),
    #[error("house_prices.{key}: {value} {rule}")]
    HousePrices {
        key: &'static str,
        value: f64,
        rule: &'static str,
    },
    #[error("rates.mortgage_spread_pct: {0} must be between -5 and 20")]
    Spread(f64),
    #[error("model.scenarios: {0} must be between 1 and 1,000,000")]
    Count(u32),
    #[error(
        "model.scenarios: {0} must be even when model.antithetic is true (pairs are never split)"
    )]
    OddAntithetic(u32),
    #[error("stress path {name}: {message}")]
    Stress { name: String, message: String },
}

/// Hull-White one-factor model: r(t) = x(t) + phi(t), x an Ornstein-Uhlenbeck process.
#[derive(Debug, Clone, PartialEq)]
pub struct HullWhite {
    a: f64,
    sigma: f64,
    curve: ZeroCurve,
}

impl HullWhite {
    pub fn new(
        mean_reversion: f64,
        volatility: f64,
        curve: ZeroCurve,
    ) -> Result<HullWhite, ScenarioError> {
        if !(mean_reversion.is_finite() && (0.0001..=5.0).contains(&mean_reversion)) {
            return Err(ScenarioError::MeanReversion(mean_reversion));
        }
        if !(volatility.is_finite() && (0.0..=0.2).contains(&volatility)) {
            return Err(ScenarioError::Volatility(volatility));
        }
        Ok(HullWhite {
            a: mean_reversion,
            sigma: volatility,
            curve,
        })
    }

    pub fn curve(&self) -> &ZeroCurve {
        &self.curve
    }
    pub fn mean_reversion(&self) -> f64 {
        self.a
    }
    pub fn volatility(&self) -> f64 {
        self.sigma
    }

    /// B(t, T) = (1 - e^{-a (T - t)}) / a.
    pub fn b(&self, tau_years: f64) -> f64 {
        (1.0 - libm::exp(-self.a * tau_years)) / self.a
    }

    /// phi(t) = f(0,t) + sigma^2 / (2 a^2) (1 - e^{-a t})^2: the shift that fits the curve.
    pub fn phi(&self, t: f64) -> f64 {
        let g = 1.0 - libm::exp(-self.a * t);
        self.curve.forward(t) + self.sigma * self.sigma / (2.0 * self.a * self.a) * g * g
    }

    /// ln P(t, T) given the short rate r(t), from the affine formula
    /// `P = A exp(-B r)`, `ln A = ln(P(0,T)/P(0,t)) + B f(0,t) - sigma^2/(4a) (1-e^{-2at}) B^2`
    /// (Hull and White 1990; QuantLib's `HullWhite::discountBond`).
    pub fn ln_bond_price(&self, t: f64, maturity: f64, r: f64) -> f64 {
        let b = self.b(maturity - t);
        let ln_p0 = -self.curve.zero(maturity) * maturity + self.curve.zero(t) * t;
        ln_p0 + b * self.curve.forward(t)
            - self.sigma * self.sigma / (4.0 * self.a)
                * (1.0 - libm::exp(-2.0 * self.a * t))
                * b
                * b
            - b * r
    }

    /// Zero-coupon bond price P(t, T) given r(t).
    pub fn bond_price(&self, t: f64, maturity: f64, r: f64) -> f64 {
        libm::exp(self.ln_bond_price(t, maturity, r))
    }
}

/// National house prices: monthly log appreciation follows an AR(1) around the drift,
/// its shocks correlated with the short-rate shocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HousePrices {
    /// Long-run appreciation, percent a year.
    pub drift_pct: f64,
    /// Volatility of the monthly shock, annualised (x sqrt 12), percent.
    pub volatility_pct: f64,
    /// AR(1) coefficient of monthly appreciation, in [0, 1): 0 is a random walk in log
    /// price, values near 1 give long booms and busts.
    pub persistence: f64,
    /// Correlation of house-price shocks with short-rate shocks, in [-1, 1]; negative
    /// means rates up, prices down.
    pub rate_correlation: f64,
    /// Appreciation in the month before the run, percent a year.
    pub initial_hpa_pct: f64,
}

impl HousePrices {
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let check = |key, value: f64, ok: bool, rule| {
            if value.is_finite() && ok {
                Ok(())
            } else {
                Err(ScenarioError::HousePrices { key, value, rule })
            }
        };
        check(
            "drift_pct",
            self.drift_pct,
            self.drift_pct.abs() <= 30.0,
            "must be between -30 and 30",
        )?;
        check(
            "volatility_pct",
            self.volatility_pct,
            (0.0..=50.0).contains(&self.volatility_pct),
            "must be between 0 and 50",
        )?;
        check(
            "persistence",
            self.persistence,
            (0.0..1.0).contains(&self.persistence),
            "must be at least 0 and below 1",
        )?;
        check(
            "rate_correlation",
            self.rate_correlation,
            self.rate_correlation.abs() <= 1.0,
            "must be between -1 and 1",
        )?;
        check(
            "initial_hpa_pct",
            self.initial_hpa_pct,
            self.initial_hpa_pct.abs() <= 50.0,
            "must be between -50 and 50",
        )
    }
}

/// One scenario's monthly path; index m is time m/12 years (m = 0 is the start).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioPath {
    /// Short rate r(m/12), fraction.
    pub short_rate: Vec<f64>,
    /// Model 10-year zero yield plus the mortgage spread, fraction.
    pub mortgage_rate: Vec<f64>,
    /// House price index relative to the start (1.0 at m = 0).
    pub hpi: Vec<f64>,
    /// exp(-integral of r from 0 to m/12).
    pub discount: Vec<f64>,
}

/// Step constants shared by all paths.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// e^{-a dt}.
    decay: f64,
    /// B(dt).
    b_dt: f64,
    /// Cholesky factors of (x increment, integral of x) shocks.
    l11: f64,
    l21: f64,
    l22: f64,
    /// Integral of phi over each month m = 1..=M (index m-1).
    phi_integral: Vec<f64>,
    /// phi at each month end (index m).
    phi: Vec<f64>,
    /// For the 10-year yield at m/12: ln(P(0,t+10)/P(0,t)) + B f(0,t) - variance term,
    /// so that yield = -(c - B r) / 10.
    yield_const: Vec<f64>,
    b_tenor: f64,
}

/// A validated scenario generator.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSet {
    hull_white: HullWhite,
    house_prices: HousePrices,
    mortgage_spread: f64,
    months: u32,
    seed: u64,
    count: u32,
    antithetic: bool,
    step: Step,
    /// Deterministic stress paths, scenarios `count..count + stress.len()`.
    stress: Vec<StressPath>,
    /// Moment matching: each month's factor on the random paths' discount factors so that
    /// their mean is the curve's discount factor exactly (`None`: off).
    discount_match: Option<Vec<f64>>,
    /// The Sobol points and bridge when the sampler is Sobol (`None`: pseudo-random).
    sobol: Option<Arc<(SobolPoints, BrownianBridge)>>,
}

/// A deterministic scenario supplied by the user (for example a CCAR-style severely
/// adverse path): monthly values from month 0, held flat after the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct StressPath {
    name: String,
    short_rate: Vec<f64>,
    mortgage_rate: Vec<f64>,
    hpi: Vec<f64>,
}

impl StressPath {
    /// `short_rate_pct`, `mortgage_rate_pct` in percent, `hpi` any positive index (it is
    /// divided by its month-0 value); all three the same length, month 0 first.
    pub fn new(
        name: &str,
        short_rate_pct: Vec<f64>,
        mortgage_rate_pct: Vec<f64>,
        hpi: Vec<f64>,
    ) -> Result<StressPath, ScenarioError> {
        let n = short_rate_pct.len();
        if n == 0 || mortgage_rate_pct.len() != n || hpi.len() != n {
            return Err(ScenarioError::Stress {
                name: name.to_string(),
                message: "needs at least month 0 and equally long columns".into(),
            });
        }
        let bad = |what: &str, m: usize, v: f64| ScenarioError::Stress {
            name: name.to_string(),
            message: format!("month {m}: {what} {v} is out of range"),
        };
        for m in 0..n {
            if !(short_rate_pct[m].is_finite() && (-5.0..=30.0).contains(&short_rate_pct[m])) {
                return Err(bad("short_rate_pct", m, short_rate_pct[m]));
            }
            if !(mortgage_rate_pct[m].is_finite() && (0.0..=40.0).contains(&mortgage_rate_pct[m])) {
                return Err(bad("mortgage_rate_pct", m, mortgage_rate_pct[m]));
            }
            if !(hpi[m].is_finite() && hpi[m] > 0.0) {
                return Err(bad("hpi", m, hpi[m]));
            }
        }
        let base = hpi[0];
        Ok(StressPath {
            name: name.to_string(),
            short_rate: short_rate_pct.iter().map(|r| r / 100.0).collect(),
            mortgage_rate: mortgage_rate_pct.iter().map(|r| r / 100.0).collect(),
            hpi: hpi.iter().map(|h| h / base).collect(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path on a `months` grid. Within the file the short rate is the file's; after
    /// its last month the short rate continues as `forward(m)` (the initial curve's
    /// one-month forward rates: the stress scenario is over, and rates are what the market
    /// prices), while the mortgage rate and the house-price index hold their last value.
    /// The discount factor integrates the short rate month by month with the left-point
    /// rule, D(m) = D(m-1) exp(-r(m-1)/12). (Holding a low last rate for the rest of a
    /// loan's life priced a 3-year severely adverse path at 119% of its balance.)
    fn path(&self, months: u32, forward: &dyn Fn(usize) -> f64) -> ScenarioPath {
        let at = |v: &[f64], m: usize| v[m.min(v.len() - 1)];
        let rate = |m: usize| {
            if m < self.short_rate.len() {
                self.short_rate[m]
            } else {
                forward(m)
            }
        };
        let n = months as usize;
        let mut discount = Vec::with_capacity(n + 1);
        let mut d = 1.0;
        discount.push(d);
        for m in 1..=n {
            d *= libm::exp(-rate(m - 1) * DT_YEARS);
            discount.push(d);
        }
        ScenarioPath {
            short_rate: (0..=n).map(rate).collect(),
            mortgage_rate: (0..=n).map(|m| at(&self.mortgage_rate, m)).collect(),
            hpi: (0..=n).map(|m| at(&self.hpi, m)).collect(),
            discount,
        }
    }

    /// How the path's cash flows are discounted, for the report.
    pub fn discounting(&self, months: u32) -> String {
        let file_months = self.short_rate.len();
        if file_months > months as usize {
            format!(
                "month by month along the file's short rates, months 0 to {months} (D(m) = D(m-1) exp(-r(m-1)/12))"
            )
        } else {
            format!(
                "month by month along the file's short rates for months 0 to {}, then the initial curve's one-month forward rates to month {months} (D(m) = D(m-1) exp(-r(m-1)/12))",
                file_months - 1
            )
        }
    }
}

/// SplitMix64 finaliser: spreads (seed, index) into independent-looking generator seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Standard normals by Box-Muller on `libm` functions, so the same bits come out on every
/// platform (the `rand_distr` samplers may use the platform's libm through `num-traits`).
struct Normals {
    rng: Pcg64Mcg,
    spare: Option<f64>,
}

impl Normals {
    fn new(seed: u64, stream: u64) -> Normals {
        Normals {
            rng: Pcg64Mcg::seed_from_u64(mix(seed ^ mix(stream))),
            spare: None,
        }
    }

    /// Uniform in (0, 1]: never 0, so the logarithm is finite.
    fn uniform(&mut self) -> f64 {
        ((self.rng.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn next(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let radius = libm::sqrt(-2.0 * libm::log(self.uniform()));
        let angle = 2.0 * std::f64::consts::PI * self.uniform();
        self.spare = Some(radius * libm::sin(angle));
        radius * libm::cos(angle)
    }
}

impl ScenarioSet {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        hull_white: HullWhite,
        house_prices: HousePrices,
        mortgage_spread_pct: f64,
        months: u32,
        seed: u64,
        count: u32,
        antithetic: bool,
    ) -> Result<ScenarioSet, ScenarioError> {
        house_prices.validate()?;
        if !(mortgage_spread_pct.is_finite() && (-5.0..=20.0).contains(&mortgage_spread_pct)) {
            return Err(ScenarioError::Spread(mortgage_spread_pct));
        }
        if !(1..=1_000_000).contains(&count) {
            return Err(ScenarioError::Count(count));
        }
        if antithetic && !count.is_multiple_of(2) {
            return Err(ScenarioError::OddAntithetic(count));
        }
        let (a, sigma) = (hull_white.a, hull_white.sigma);
        let dt = DT_YEARS;
        let decay = libm::exp(-a * dt);
        let b_dt = (1.0 - decay) / a;
        // Exact joint law of the OU increment and its time integral over one month.
        let var_x = sigma * sigma * (1.0 - decay * decay) / (2.0 * a);
        let var_i = sigma * sigma / (a * a) * (dt - 2.0 * b_dt + (1.0 - decay * decay) / (2.0 * a));
        let cov = sigma * sigma * b_dt * b_dt / 2.0;
        let l11 = libm::sqrt(var_x);
        let l21 = if l11 > 0.0 { cov / l11 } else { 0.0 };
        let l22 = libm::sqrt((var_i - l21 * l21).max(0.0));
        let curve = &hull_white.curve;
        let ln_p = |t: f64| -curve.zero(t) * t;
        let g = sigma * sigma / (2.0 * a * a);
        let phi_integral = (1..=months)
            .map(|m| {
                let (t0, t1) = (f64::from(m - 1) * dt, f64::from(m) * dt);
                let convexity = dt + 2.0 / a * (libm::exp(-a * t1) - libm::exp(-a * t0))
                    - 1.0 / (2.0 * a) * (libm::exp(-2.0 * a * t1) - libm::exp(-2.0 * a * t0));
                ln_p(t0) - ln_p(t1) + g * convexity
            })
            .collect();
        let phi = (0..=months)
            .map(|m| hull_white.phi(f64::from(m) * dt))
            .collect();
        let tenor = MORTGAGE_YIELD_TENOR_YEARS;
        let yield_const = (0..=months)
            .map(|m| hull_white.ln_bond_price(f64::from(m) * dt, f64::from(m) * dt + tenor, 0.0))
            .collect();
        let step = Step {
            decay,
            b_dt,
            l11,
            l21,
            l22,
            phi_integral,
            phi,
            yield_const,
            b_tenor: hull_white.b(tenor),
        };
        Ok(ScenarioSet {
            hull_white,
            house_prices,
            mortgage_spread: mortgage_spread_pct / 100.0,
            months,
            seed,
            count,
            antithetic,
            step,
            stress: Vec::new(),
            discount_match: None,
            sobol: None,
        })
    }

    /// Draws the random scenarios' normals with `sampler`. With Sobol, draw j (scenario
    /// j, or pair j when antithetic) is point j of the digitally shifted sequence (the
    /// shift moves point 0 off the origin, and the first 2^k points stay a balanced net),
    /// its 3 x months coordinates ordered so that the three factors' bridges take the
    /// first ones in turn.
    pub fn with_sampler(mut self, sampler: Sampler) -> ScenarioSet {
        self.sobol = match sampler {
            Sampler::Pseudo => None,
            Sampler::Sobol => Some(Arc::new((
                SobolPoints::new(3 * self.months.max(1) as usize, self.seed),
                BrownianBridge::new(self.months.max(1) as usize),
            ))),
        };
        if self.discount_match.is_some() {
            self.with_moment_matching()
        } else {
            self
        }
    }

    pub fn sampler(&self) -> Sampler {
        if self.sobol.is_some() {
            Sampler::Sobol
        } else {
            Sampler::Pseudo
        }
    }

    /// Moment matching of discount factors: every random path's discount factor at month
    /// m is multiplied by P(0, m/12) / (mean over the random paths of theirs), so that
    /// the finite path set reprices the initial curve exactly and a cash flow that does
    /// not depend on the path (a no-prepayment annuity) prices to its closed form. The
    /// short rates, and so the loans' behaviour, are unchanged. The factors depend on
    /// every random path, so each shard computes them from all of them (the paths are a
    /// function of (seed, k)): the same bits whatever the shard layout.
    pub fn with_moment_matching(mut self) -> ScenarioSet {
        self.discount_match = None;
        let discounts: Vec<Vec<f64>> = (0..self.count)
            .into_par_iter()
            .map(|k| self.path(k).discount)
            .collect();
        let n = self.months as usize;
        let mut sums = vec![0.0; n + 1];
        // In scenario order, so the factors are the same bits on every machine.
        for d in &discounts {
            for (s, x) in sums.iter_mut().zip(d) {
                *s += x;
            }
        }
        let curve = &self.hull_white.curve;
        let factors = sums
            .iter()
            .enumerate()
            .map(|(m, s)| {
                let mean = s / f64::from(self.count);
                curve.discount(m as f64 * DT_YEARS) / mean
            })
            .collect();
        self.discount_match = Some(factors);
        self
    }

    /// The same set with its discount factors left unmatched.
    pub fn without_moment_matching(&self) -> ScenarioSet {
        ScenarioSet {
            discount_match: None,
            ..self.clone()
        }
    }

    pub fn moment_matched(&self) -> bool {
        self.discount_match.is_some()
    }

    /// Adds deterministic stress paths after the random scenarios.
    pub fn with_stress_paths(mut self, stress: Vec<StressPath>) -> ScenarioSet {
        self.stress = stress;
        self
    }

    /// Random (Monte Carlo) scenarios: `0..random_count()`.
    pub fn random_count(&self) -> u32 {
        self.count
    }

    /// The stress path behind scenario `k`, if it is one.
    pub fn stress_path(&self, k: u32) -> Option<&StressPath> {
        k.checked_sub(self.count)
            .and_then(|i| self.stress.get(i as usize))
    }

    /// All scenarios: the random ones, then the stress paths.
    pub fn count(&self) -> u32 {
        self.count + self.stress.len() as u32
    }
    pub fn months(&self) -> u32 {
        self.months
    }
    pub fn antithetic(&self) -> bool {
        self.antithetic
    }
    /// The mortgage rate at the run date, fraction: month 0 of every random path (the
    /// model's 10-year zero yield at today's short rate, plus the spread), whatever the
    /// stress paths say about month 0.
    pub fn run_date_mortgage_rate(&self) -> f64 {
        let s = &self.step;
        -(s.yield_const[0] - s.b_tenor * s.phi[0]) / MORTGAGE_YIELD_TENOR_YEARS
            + self.mortgage_spread
    }

    pub fn house_prices(&self) -> &HousePrices {
        &self.house_prices
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn hull_white(&self) -> &HullWhite {
        &self.hull_white
    }

    /// The same generator (same seed, so the same random numbers) with another
    /// Hull-White model, house-price model, or scenario count: the risk bumps.
    fn rebuilt(
        &self,
        hull_white: HullWhite,
        house_prices: HousePrices,
        count: u32,
        antithetic: bool,
    ) -> Result<ScenarioSet, ScenarioError> {
        let set = ScenarioSet::new(
            hull_white,
            house_prices,
            self.mortgage_spread * 100.0,
            self.months,
            self.seed,
            count,
            antithetic,
        )?
        .with_stress_paths(self.stress.clone())
        .with_sampler(self.sampler());
        // A bumped set is matched to its own curve.
        Ok(if self.moment_matched() {
            set.with_moment_matching()
        } else {
            set
        })
    }

    /// The same generator on a curve shifted in parallel (same random numbers): for
    /// effective duration and convexity.
    pub fn with_curve_shift(&self, shift: f64) -> ScenarioSet {
        self.with_curve(self.hull_white.curve.shifted(shift))
            .expect("a shifted valid set stays valid")
    }

    /// The same generator on another initial curve (same random numbers); fails only if
    /// the curve moves the model out of its valid range.
    pub fn with_curve(&self, curve: ZeroCurve) -> Result<ScenarioSet, ScenarioError> {
        let hw = HullWhite {
            curve,
            ..self.hull_white.clone()
        };
        self.rebuilt(hw, self.house_prices, self.count, self.antithetic)
    }

    /// The same generator with the Hull-White volatility moved by `shift` (same random
    /// numbers): for vega.
    pub fn with_volatility_shift(&self, shift: f64) -> Result<ScenarioSet, ScenarioError> {
        let hw = HullWhite::new(
            self.hull_white.a,
            self.hull_white.sigma + shift,
            self.hull_white.curve.clone(),
        )?;
        self.rebuilt(hw, self.house_prices, self.count, self.antithetic)
    }

    /// The zero-volatility scenario: one path with no rate or house-price volatility,
    /// so its short rates are the initial curve's forwards, its discount factors the
    /// curve's, and house prices grow along their mean. The zero-volatility spread is
    /// solved on it.
    pub fn zero_volatility(&self) -> ScenarioSet {
        let hw = HullWhite {
            sigma: 0.0,
            ..self.hull_white.clone()
        };
        let hp = HousePrices {
            volatility_pct: 0.0,
            ..self.house_prices
        };
        self.rebuilt(hw, hp, 1, false)
            .expect("no volatility keeps a valid set valid")
            .with_stress_paths(Vec::new())
    }

    /// Builds scenario `k` (0-based). With antithetic pairs, scenarios 2j and 2j+1 use
    /// the same draws with opposite signs.
    ///
    /// # Panics
    /// When `k` is not below [`ScenarioSet::count`].
    pub fn path(&self, k: u32) -> ScenarioPath {
        if let Some(stress) = self.stress_path(k) {
            let curve = self.hull_white.curve();
            let forward = |m: usize| {
                let (t0, t1) = (m as f64 * DT_YEARS, (m + 1) as f64 * DT_YEARS);
                libm::log(curve.discount(t0) / curve.discount(t1)) / DT_YEARS
            };
            return stress.path(self.months, &forward);
        }
        assert!(k < self.count, "scenario {k} of {}", self.count());
        let (stream, sign) = if self.antithetic {
            (
                u64::from(k / 2),
                if k.is_multiple_of(2) { 1.0 } else { -1.0 },
            )
        } else {
            (u64::from(k), 1.0)
        };
        let mut normals = Normals::new(self.seed, stream);
        // With Sobol, each factor's monthly normals come from its Brownian bridge.
        let bridged: Option<[Vec<f64>; 3]> = self.sobol.as_ref().map(|sobol| {
            let (points, bridge) = &**sobol;
            let u = points.point(stream);
            let factor = |f: usize| {
                let z: Vec<f64> = (0..self.months as usize)
                    .map(|j| inverse_normal(u[3 * j + f]))
                    .collect();
                bridge.increments(&z)
            };
            [factor(0), factor(1), factor(2)]
        });
        let s = &self.step;
        let n = self.months as usize;
        let hp = &self.house_prices;
        let mu = hp.drift_pct / 100.0 / 12.0;
        let vol = hp.volatility_pct / 100.0 / 12f64.sqrt();
        let rho = hp.rate_correlation;
        let rho_perp = libm::sqrt(1.0 - rho * rho);

        let mut path = ScenarioPath {
            short_rate: Vec::with_capacity(n + 1),
            mortgage_rate: Vec::with_capacity(n + 1),
            hpi: Vec::with_capacity(n + 1),
            discount: Vec::with_capacity(n + 1),
        };
        let tenor = MORTGAGE_YIELD_TENOR_YEARS;
        let mortgage =
            |m: usize, r: f64| -(s.yield_const[m] - s.b_tenor * r) / tenor + self.mortgage_spread;
        let r0 = s.phi[0];
        path.short_rate.push(r0);
        path.mortgage_rate.push(mortgage(0, r0));
        path.hpi.push(1.0);
        path.discount.push(1.0);
        let (mut x, mut integral, mut hpa, mut log_hpi) =
            (0.0, 0.0, hp.initial_hpa_pct / 100.0 / 12.0, 0.0);
        for m in 1..=n {
            let (z1, z2, z3) = match &bridged {
                Some([a, b, c]) => (sign * a[m - 1], sign * b[m - 1], sign * c[m - 1]),
                None => (
                    sign * normals.next(),
                    sign * normals.next(),
                    sign * normals.next(),
                ),
            };
            let x_integral = x * s.b_dt + s.l21 * z1 + s.l22 * z2;
            x = x * s.decay + s.l11 * z1;
            integral += s.phi_integral[m - 1] + x_integral;
            let r = x + s.phi[m];
            hpa = mu + hp.persistence * (hpa - mu) + vol * (rho * z1 + rho_perp * z3);
            log_hpi += hpa;
            path.short_rate.push(r);
            path.mortgage_rate.push(mortgage(m, r));
            path.hpi.push(libm::exp(log_hpi));
            path.discount.push(libm::exp(-integral));
        }
        if let Some(factors) = &self.discount_match {
            for (d, f) in path.discount.iter_mut().zip(factors) {
                *d *= f;
            }
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat_set(count: u32, antithetic: bool, months: u32) -> ScenarioSet {
        flat_set_seeded(count, antithetic, months, 42)
    }

    /// Hull-White on a flat 4% curve and the tests' house-price model.
    fn flat_set_seeded(count: u32, antithetic: bool, months: u32, seed: u64) -> ScenarioSet {
        let hw = HullWhite::new(0.03, 0.01, ZeroCurve::flat(4.0).expect("curve")).expect("hw");
        let hp = HousePrices {
            drift_pct: 3.0,
            volatility_pct: 5.0,
            persistence: 0.5,
            rate_correlation: -0.3,
            initial_hpa_pct: 3.0,
        };
        ScenarioSet::new(hw, hp, 1.7, months, seed, count, antithetic).expect("valid")
    }

    /// QuantLib 1.44 `HullWhite(ts, a, sigma).discountBond(t, T, r)`; QuantLib takes
    /// f(0,t) from a finite difference, accurate to about 1e-11, hence the tolerance.
    #[test]
    fn bond_price_matches_quantlib() {
        let flat = HullWhite::new(0.03, 0.01, ZeroCurve::flat(4.0).expect("curve")).expect("hw");
        for (t, maturity, r, ql) in [
            (1.0, 11.0, 0.05, 0.612_616_513_202_939_7),
            (5.0, 15.0, 0.03, 0.719_120_035_760_707_9),
            (10.0, 40.0, 0.045, 0.235_504_394_711_112_48),
            (0.5, 10.5, 0.0, 0.945_290_907_699_674_2),
            (2.0, 2.25, 0.06, 0.985_124_605_890_913_1),
        ] {
            let ours = flat.bond_price(t, maturity, r);
            assert!(
                ((ours - ql) / ql).abs() < 1e-10,
                "flat t={t}: {ours} vs {ql}"
            );
        }
        let curve = ZeroCurve::from_points(&[(1.0, 4.1), (10.0, 4.4), (30.0, 4.6)]).expect("curve");
        let sloped = HullWhite::new(0.05, 0.008, curve).expect("hw");
        for (t, maturity, r, ql) in [
            (2.0, 12.0, 0.05, 0.597_930_597_409_456_2),
            (3.5, 8.25, 0.04, 0.818_095_686_057_325_1),
            (12.0, 22.0, 0.047, 0.612_357_475_168_241_8),
        ] {
            let ours = sloped.bond_price(t, maturity, r);
            assert!(
                ((ours - ql) / ql).abs() < 1e-10,
                "sloped t={t}: {ours} vs {ql}"
            );
        }
    }

    #[test]
    fn value_stability() {
        // Pins the generator and the step arithmetic: changing either changes every run.
        let p = flat_set(4, false, 12).path(3);
        let pinned = [
            p.short_rate[12],
            p.mortgage_rate[12],
            p.hpi[12],
            p.discount[12],
        ];
        assert_eq!(
            pinned,
            [
                0.049_858_342_885_839_7,
                0.065_879_229_759_893_03,
                1.070_806_890_499_115,
                0.955_101_789_950_582_7
            ]
        );
    }

    #[test]
    fn antithetic_pairs_mirror_each_other() {
        let set = flat_set(4, true, 24);
        let (a, b) = (set.path(2), set.path(3));
        let set_plain = flat_set(4, false, 24);
        assert_ne!(a, b);
        // x(t) = r - phi is exactly opposite in the pair.
        for m in 0..=24 {
            let phi = set.step.phi[m];
            assert!(((a.short_rate[m] - phi) + (b.short_rate[m] - phi)).abs() < 1e-15);
        }
        // A scenario depends only on (seed, k), not on which set or order built it.
        assert_eq!(set_plain.path(1), flat_set(10, false, 24).path(1));
    }

    #[test]
    fn starts_on_the_curve() {
        let p = flat_set(2, false, 12).path(0);
        assert_eq!(p.discount[0], 1.0);
        assert_eq!(p.hpi[0], 1.0);
        // r(0) = f(0,0) = 4%; the mortgage rate starts at the 10-year yield + 1.7%.
        assert!((p.short_rate[0] - 0.04).abs() < 1e-15);
        assert!((p.mortgage_rate[0] - (0.04 + 0.017)).abs() < 1e-12);
        let set = flat_set(2, false, 12);
        assert_eq!(set.run_date_mortgage_rate(), set.path(1).mortgage_rate[0]);
    }

    #[test]
    fn stress_paths_follow_their_file_then_the_forward_curve() {
        let stress = StressPath::new(
            "adverse",
            vec![4.0, 3.0, 2.0],
            vec![6.5, 6.0, 5.5],
            vec![200.0, 190.0, 180.0],
        )
        .expect("valid");
        let set = flat_set(2, true, 4).with_stress_paths(vec![stress]);
        assert_eq!(set.count(), 3);
        assert_eq!(set.random_count(), 2);
        assert_eq!(set.stress_path(2).map(StressPath::name), Some("adverse"));
        assert!(set.stress_path(1).is_none());
        let p = set.path(2);
        // The file's three months, then the flat 4% curve's forward rate (continuous).
        assert_eq!(&p.short_rate[..3], &[0.04, 0.03, 0.02]);
        for r in &p.short_rate[3..] {
            assert!((r - 0.04).abs() < 1e-12, "{r}");
        }
        assert_eq!(
            p.mortgage_rate[4], 0.055,
            "the mortgage rate holds its last value"
        );
        assert_eq!(p.hpi, vec![1.0, 0.95, 0.9, 0.9, 0.9]);
        let d2 = libm::exp(-0.04 / 12.0) * libm::exp(-0.03 / 12.0);
        assert!((p.discount[2] - d2).abs() < 1e-16);
        let d4 = d2 * libm::exp(-0.02 / 12.0) * libm::exp(-p.short_rate[3] / 12.0);
        assert!((p.discount[4] - d4).abs() < 1e-16);
        let how = set.stress_path(2).expect("stress").discounting(4);
        assert!(
            how.contains("months 0 to 2, then the initial curve"),
            "{how}"
        );
        assert!(StressPath::new("bad", vec![4.0], vec![6.0], vec![0.0]).is_err());
        assert!(StressPath::new("bad", vec![4.0, 4.0], vec![6.0], vec![1.0, 1.0]).is_err());
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(HullWhite::new(0.0, 0.01, ZeroCurve::flat(4.0).expect("c")).is_err());
        let hw = HullWhite::new(0.03, 0.01, ZeroCurve::flat(4.0).expect("c")).expect("hw");
        let hp = HousePrices {
            drift_pct: 3.0,
            volatility_pct: 5.0,
            persistence: 1.0,
            rate_correlation: 0.0,
            initial_hpa_pct: 0.0,
        };
        assert!(matches!(
            ScenarioSet::new(hw.clone(), hp, 1.7, 12, 1, 10, false),
            Err(ScenarioError::HousePrices {
                key: "persistence",
                ..
            })
        ));
        let hp = HousePrices {
            persistence: 0.5,
            ..hp
        };
        assert_eq!(
            ScenarioSet::new(hw, hp, 1.7, 12, 1, 11, true),
            Err(ScenarioError::OddAntithetic(11))
        );
    }

    /// Over 16 independent seeds (random shifts), the Sobol sampler's estimate of an
    /// option-like payoff on the rate path errs less than pseudo-random antithetic pairs
    /// at the same N: the spread across seeds is the honest measure of a quasi-random
    /// estimate's error. (A smooth, nearly linear payoff gains little at N = 64: its
    /// error sits in the tail strata, which a shift randomises; antithetic pairs already
    /// cancel its linear part.)
    #[test]
    fn sobol_with_a_bridge_beats_antithetic_pairs_at_equal_n() {
        let n = 64;
        let months = 120;
        // The mean payoff max(0, 4% - r) summed monthly and discounted (a floor, the
        // shape of a prepayment option), against a 4,096-path reference.
        let estimate = |sampler: Sampler, antithetic: bool, seed: u64, count: u32| {
            let set = flat_set_seeded(count, antithetic, months, seed).with_sampler(sampler);
            let mut floor = 0.0;
            for k in 0..count {
                let p = set.path(k);
                floor += (1..=months as usize)
                    .map(|m| (0.04 - p.short_rate[m]).max(0.0) * p.discount[m])
                    .sum::<f64>();
            }
            floor / f64::from(count)
        };
        let reference = estimate(Sampler::Sobol, false, 99, 4096);
        let rms = |sampler: Sampler, antithetic: bool| -> f64 {
            let squares: f64 = (1..=16)
                .map(|seed| (estimate(sampler, antithetic, seed, n) - reference).powi(2))
                .sum();
            (squares / 16.0).sqrt()
        };
        let pseudo = rms(Sampler::Pseudo, true);
        let sobol = rms(Sampler::Sobol, false);
        assert!(
            sobol < 0.5 * pseudo,
            "sobol {sobol}, antithetic pseudo {pseudo}"
        );
    }
}
