//! Risk measures: per-loan sums that merge exactly across scenario shards, per-scenario
//! results derived from exact cash-flow tables, and the portfolio statistics a risk team
//! reports (mean PV with its Monte Carlo standard error, percentiles, VaR and expected
//! shortfall of lifetime loss).

use crate::bumps::LOAN_OAS_SHIFT_BP;
use crate::cashflow::{CashflowTable, Summed};
use crate::money::{Money, usd_to_units_wide};

/// One loan's sums over the scenarios projected so far. All integers, so sums from
/// shards that split scenarios add up to the same bits in any order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoanSums {
    /// Sum of present values, [`Money`] units.
    pub pv_units: i128,
    /// Sum of present values rounded to cents, cents: with `pv_cents_squared`, the exact
    /// integer moments the standard deviation comes from, free of cancellation.
    pub pv_cents: i128,
    /// Sum of squared present values rounded to cents, cents^2.
    pub pv_cents_squared: i128,
    /// Sum of lifetime principal losses, [`Money`] units.
    pub loss_units: i128,
    /// Sum of lifetime total credit losses (principal, interest and costs less mortgage
    /// insurance), [`Money`] units.
    pub credit_loss_units: i128,
    /// Sum of defaulted balance, [`Money`] units.
    pub default_units: i128,
    /// Sums of present values under the effective-duration shift up and down (the same
    /// random scenarios, curve moved), [`Money`] units; 0 without `[risk] effective`.
    pub pv_up_units: i128,
    pub pv_down_units: i128,
    /// Sums of present values discounted at the spread +/- [`LOAN_OAS_SHIFT_BP`] (the
    /// same cash flows), [`Money`] units; 0 without `[risk] loan_oas`.
    pub pv_spread_up_units: i128,
    pub pv_spread_down_units: i128,
    pub scenarios: u32,
}

impl LoanSums {
    pub fn add_scenario(
        &mut self,
        pv_usd: f64,
        loss_usd: f64,
        credit_loss_usd: f64,
        default_usd: f64,
    ) {
        let pv = usd_to_units_wide(pv_usd);
        let cents = Money::from_units(pv).to_cents();
        self.pv_units += pv;
        self.pv_cents += cents;
        self.pv_cents_squared += cents * cents;
        self.loss_units += usd_to_units_wide(loss_usd);
        self.credit_loss_units += usd_to_units_wide(credit_loss_usd);
        self.default_units += usd_to_units_wide(default_usd);
        self.scenarios += 1;
    }

    pub fn merge(&mut self, other: &LoanSums) {
        self.pv_units += other.pv_units;
        self.pv_cents += other.pv_cents;
        self.pv_cents_squared += other.pv_cents_squared;
        self.loss_units += other.loss_units;
        self.credit_loss_units += other.credit_loss_units;
        self.default_units += other.default_units;
        self.pv_up_units += other.pv_up_units;
        self.pv_down_units += other.pv_down_units;
        self.pv_spread_up_units += other.pv_spread_up_units;
        self.pv_spread_down_units += other.pv_spread_down_units;
        self.scenarios += other.scenarios;
    }

    /// The loan's effective duration (years) and convexity from its PV sums at the
    /// base curve and +/- `shift_bp` (the same draws): differences are taken exactly in
    /// integers before the one division. `None` when the loan has no value.
    pub fn effective_risk(&self, shift_bp: f64) -> Option<(f64, f64)> {
        if self.pv_units == 0 {
            return None;
        }
        let dy = shift_bp / 10_000.0;
        let p0 = self.pv_units as f64;
        let fall = (self.pv_down_units - self.pv_up_units) as f64;
        let curvature = (self.pv_up_units + self.pv_down_units - 2 * self.pv_units) as f64;
        Some((fall / (2.0 * dy * p0), curvature / (dy * dy * p0)))
    }

    /// The loan's OAS, bp, for a price of `price_usd`: the spread at which its mean PV
    /// equals the price. Its PV is known at three spreads (the run's `base_bp` and +/-
    /// [`LOAN_OAS_SHIFT_BP`], the same paths and cash flows); ln PV is fitted by the
    /// parabola through them (exact for one cash flow; for a loan's flows the error is
    /// third order in the distance from `base_bp`) and solved for the price. `None`
    /// without the spread sums or a positive PV.
    pub fn oas_bp(&self, price_usd: f64, base_bp: f64) -> Option<f64> {
        let sums = [
            self.pv_spread_down_units,
            self.pv_units,
            self.pv_spread_up_units,
        ];
        if self.scenarios == 0
            || sums.iter().any(|&u| u <= 0)
            || price_usd.is_nan()
            || price_usd <= 0.0
        {
            return None;
        }
        let ln = |u: i128| (u as f64 / 10_000.0 / f64::from(self.scenarios)).ln();
        let (ld, l0, lu) = (ln(sums[0]), ln(sums[1]), ln(sums[2]));
        let h = LOAN_OAS_SHIFT_BP / 10_000.0;
        let slope = (lu - ld) / (2.0 * h);
        let curvature = (lu + ld - 2.0 * l0) / (h * h);
        // 0.5 curvature x^2 + slope x + (l0 - ln price) = 0, the root nearest the linear
        // one (-c / b), in the cancellation-free form c / q.
        let c = l0 - price_usd.ln();
        let discriminant = slope * slope - 2.0 * curvature * c;
        let x = if curvature.abs() < 1e-12 || discriminant < 0.0 {
            -c / slope
        } else {
            let q = -0.5 * (slope - discriminant.sqrt());
            c / q
        };
        Some(base_bp + x * 10_000.0)
    }

    /// Mean and results over the scenarios; `current_upb` scales default probability.
    pub fn result(&self, current_upb: f64) -> LoanResult {
        let n = f64::from(self.scenarios.max(1));
        let pv_mean = Money::from_units(self.pv_units).to_usd() / n;
        // n * sum(x^2) - (sum x)^2 = n^2 * variance * (n - 1) / n, in exact integers
        // (cents), so identical paths give exactly 0 and large balances lose nothing to
        // cancellation. It fits i128 for any balance the validator accepts (below 1e12
        // cents a scenario) up to about 10^7 scenarios; beyond, the f64 fallback.
        let var_cents = if self.scenarios > 1 {
            let k = i128::from(self.scenarios);
            let exact = k
                .checked_mul(self.pv_cents_squared)
                .and_then(|a| Some(a - self.pv_cents.checked_mul(self.pv_cents)?));
            match exact {
                Some(num) => num as f64 / (k * (k - 1)) as f64,
                None => {
                    let mean = self.pv_cents as f64 / n;
                    ((self.pv_cents_squared as f64 - n * mean * mean) / (n - 1.0)).max(0.0)
                }
            }
        } else {
            0.0
        };
        LoanResult {
            pv_mean,
            pv_std: var_cents.sqrt() / 100.0,
            expected_loss: Money::from_units(self.loss_units).to_usd() / n,
            expected_credit_loss: Money::from_units(self.credit_loss_units).to_usd() / n,
            default_probability: Money::from_units(self.default_units).to_usd() / n / current_upb,
        }
    }
}

/// One loan's statistics across scenarios.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoanResult {
    pub pv_mean: f64,
    pub pv_std: f64,
    /// Mean lifetime principal loss, USD.
    pub expected_loss: f64,
    /// Mean lifetime total credit loss, USD.
    pub expected_credit_loss: f64,
    /// Mean share of today's balance that defaults over the horizon (defaulted balance /
    /// current balance), in [0, 1].
    pub default_probability: f64,
}

/// One scenario's portfolio numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioResult {
    pub scenario: u32,
    /// Investor cash flows discounted along the path's own short rates (plus OAS), USD.
    pub pv: f64,
    pub lifetime_loss: Money,
    /// Principal loss + interest loss + foreclosure costs - mortgage insurance.
    pub credit_loss: Money,
    pub new_default: Money,
    pub voluntary_prepayment: Money,
    /// Weighted average life of the path's investor principal, years.
    pub wal_years: f64,
}

impl ScenarioResult {
    /// Derives a scenario's results from its exact table and the discount factors of its
    /// path (`discount[m]` for month m, index 0 = today). Depends only on its inputs, so
    /// any shard layout that yields the same table yields the same bits.
    pub fn from_table(scenario: u32, table: &CashflowTable, discount: &[f64]) -> ScenarioResult {
        let advancing = table.advancing();
        let mut pv = 0.0;
        let (mut principal_sum, mut weighted) = (0.0, 0.0);
        for row in table.rows() {
            pv += discount[row.month as usize] * row.investor_cash_flow(advancing).to_usd();
            let sched = if advancing {
                row.expected_amortization
            } else {
                row.actual_amortization
            };
            let principal = (sched + row.voluntary_prepayment + row.principal_recovery).to_usd();
            principal_sum += principal;
            weighted += f64::from(row.month) * principal;
        }
        ScenarioResult {
            scenario,
            pv,
            lifetime_loss: table.column_total(Summed::PrincipalLoss),
            credit_loss: table.column_total(Summed::PrincipalLoss)
                + table.column_total(Summed::InterestLoss)
                + table.column_total(Summed::ForeclosureCost)
                - table.column_total(Summed::MortgageInsurance),
            new_default: table.column_total(Summed::NewDefault),
            voluntary_prepayment: table.column_total(Summed::VoluntaryPrepayment),
            wal_years: if principal_sum > 0.0 {
                weighted / principal_sum / 12.0
            } else {
                0.0
            },
        }
    }
}

/// One month's investor cash flow across scenarios, USD.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CashflowBand {
    pub month: u32,
    pub mean: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
}

/// Percentile bands (nearest rank) of the monthly investor cash flow across scenario
/// tables; the data behind a fan chart.
pub fn cashflow_bands(tables: &[&CashflowTable]) -> Vec<CashflowBand> {
    let Some(first) = tables.first() else {
        return Vec::new();
    };
    (1..=first.horizon_months())
        .map(|month| {
            let mut flows: Vec<f64> = tables
                .iter()
                .map(|t| t.row(month).investor_cash_flow(t.advancing()).to_usd())
                .collect();
            let mean = flows.iter().sum::<f64>() / flows.len() as f64;
            flows.sort_by(f64::total_cmp);
            CashflowBand {
                month,
                mean,
                p05: percentile(&flows, 0.05),
                p50: percentile(&flows, 0.50),
                p95: percentile(&flows, 0.95),
            }
        })
        .collect()
}

/// Percentiles of PV.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PvSummary {
    pub mean: f64,
    pub std_error: f64,
    pub p01: f64,
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    /// The mean PV with a control variate (see [`control_variate`]), when computed.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub control_variate: Option<ControlVariate>,
}

/// A control-variate estimate of a mean: `mean(Y) - beta (mean(X) - E[X])` for a control
/// X whose expectation is known in closed form, beta the regression coefficient of Y on
/// X over the independent draws (pair means when antithetic).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ControlVariate {
    pub mean: f64,
    pub std_error: f64,
    pub beta: f64,
    /// E[X], from the closed form.
    pub control_expected: f64,
    /// The control's Monte Carlo mean, to set against `control_expected`.
    pub control_mean: f64,
    /// Variance of the plain estimator over that of this one (above 1 is a gain);
    /// `None` when this one shows no error to divide by (an exact control, or too few
    /// draws to measure one: with two antithetic pairs the fit leaves no residual).
    pub variance_reduction: Option<f64>,
}

/// The control-variate estimate of the mean of `values` with `controls` (both in
/// scenario order) and the control's known expectation.
pub fn control_variate(
    values: &[f64],
    controls: &[f64],
    control_expected: f64,
    antithetic: bool,
) -> ControlVariate {
    assert_eq!(values.len(), controls.len());
    let pairs = |v: &[f64]| -> Vec<f64> {
        if antithetic && v.len().is_multiple_of(2) {
            v.chunks(2).map(|p| (p[0] + p[1]) / 2.0).collect()
        } else {
            v.to_vec()
        }
    };
    let (y, x) = (pairs(values), pairs(controls));
    let m = y.len() as f64;
    let (mean_y, mean_x) = (y.iter().sum::<f64>() / m, x.iter().sum::<f64>() / m);
    let cov: f64 = y
        .iter()
        .zip(&x)
        .map(|(a, b)| (a - mean_y) * (b - mean_x))
        .sum();
    let var_x: f64 = x.iter().map(|b| (b - mean_x).powi(2)).sum();
    let beta = if var_x > 0.0 { cov / var_x } else { 0.0 };
    let adjusted: Vec<f64> = y
        .iter()
        .zip(&x)
        .map(|(a, b)| a - beta * (b - control_expected))
        .collect();
    let plain_se = standard_error(&y, false);
    let std_error = standard_error(&adjusted, false);
    ControlVariate {
        mean: adjusted.iter().sum::<f64>() / m,
        std_error,
        beta,
        control_expected,
        control_mean: mean_x,
        variance_reduction: (std_error > 0.0).then(|| (plain_se / std_error).powi(2)),
    }
}

/// The portfolio's investor cash flows with no prepayment and no default, month 1 first,
/// for `months` months: each loan's level payment split into scheduled principal and net
/// interest on the scheduled balance. Discounted along a path it is the control of
/// [`control_variate`] for PV; its expectation is the same flows on the initial curve.
pub fn scheduled_investor_cash_flows(portfolio: &crate::Portfolio, months: u32) -> Vec<f64> {
    let mut flows = vec![0.0; months as usize];
    for i in 0..portfolio.len() {
        let c = portfolio.note_rate_pct()[i] / 1200.0;
        let net = (portfolio.note_rate_pct()[i] - portfolio.servicing_fee_pct()[i]) / 1200.0;
        let remaining = portfolio.remaining_term_months(i);
        let mut balance = portfolio.current_upb()[i];
        let payment = balance / crate::kernel::annuity_factor(c, remaining);
        for flow in flows.iter_mut().take(remaining as usize) {
            let principal = payment - balance * c;
            *flow += principal + balance * net;
            balance -= principal;
        }
    }
    flows
}

/// Lifetime loss statistics, USD.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LossSummary {
    pub expected: f64,
    /// Monte Carlo standard error of `expected` (of pair means when antithetic).
    #[cfg_attr(feature = "serde", serde(default))]
    pub std_error: f64,
    pub expected_pct_upb: f64,
    pub var_95: f64,
    pub var_99: f64,
    pub es_95: f64,
    pub es_99: f64,
    /// 95% bootstrap percentile intervals of the four tail figures.
    #[cfg_attr(feature = "serde", serde(default))]
    pub intervals: TailIntervals,
}

/// 95% percentile-bootstrap intervals `[low, high]` of VaR and ES: [`BOOTSTRAP_RESAMPLES`]
/// resamples of the scenarios (of whole antithetic pairs when paired) from a fixed seed,
/// so the same scenario losses always give the same intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TailIntervals {
    pub var_95: [f64; 2],
    pub var_99: [f64; 2],
    pub es_95: [f64; 2],
    pub es_99: [f64; 2],
}

/// Bootstrap resamples behind [`TailIntervals`].
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// The bootstrap of [`TailIntervals`] over losses in scenario order.
pub fn tail_intervals(losses: &[f64], antithetic: bool) -> TailIntervals {
    use rand::{RngExt, SeedableRng};
    let block = if antithetic && losses.len().is_multiple_of(2) {
        2
    } else {
        1
    };
    let blocks = losses.len() / block;
    if blocks == 0 {
        return TailIntervals::default();
    }
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0x7a11_b007);
    let mut stats: [Vec<f64>; 4] = Default::default();
    let mut resample = Vec::with_capacity(losses.len());
    for _ in 0..BOOTSTRAP_RESAMPLES {
        resample.clear();
        for _ in 0..blocks {
            let b = rng.random_range(0..blocks);
            resample.extend_from_slice(&losses[b * block..(b + 1) * block]);
        }
        resample.sort_by(f64::total_cmp);
        stats[0].push(percentile(&resample, 0.95));
        stats[1].push(percentile(&resample, 0.99));
        stats[2].push(expected_shortfall(&resample, 0.95));
        stats[3].push(expected_shortfall(&resample, 0.99));
    }
    let interval = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        [percentile(v, 0.025), percentile(v, 0.975)]
    };
    TailIntervals {
        var_95: interval(&mut stats[0]),
        var_99: interval(&mut stats[1]),
        es_95: interval(&mut stats[2]),
        es_99: interval(&mut stats[3]),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RiskSummary {
    pub scenarios: usize,
    pub pv: PvSummary,
    /// Lifetime principal loss.
    pub loss: LossSummary,
    /// Lifetime total credit loss (principal, interest and costs less mortgage insurance).
    pub credit_loss: LossSummary,
    /// Mean defaulted balance / starting balance, percent.
    pub cumulative_default_pct: f64,
    /// Its Monte Carlo standard error, percentage points.
    pub cumulative_default_pct_std_error: f64,
    /// Mean over scenarios of the path WAL, years.
    pub wal_years: f64,
}

/// The Monte Carlo standard error of the mean of `values` (in scenario order): with
/// antithetic pairs, that of the pair means, the independent draws.
pub fn standard_error(values: &[f64], antithetic: bool) -> f64 {
    let samples: Vec<f64> = if antithetic && values.len().is_multiple_of(2) {
        values.chunks(2).map(|p| (p[0] + p[1]) / 2.0).collect()
    } else {
        values.to_vec()
    };
    if samples.len() < 2 {
        return 0.0;
    }
    let m = samples.len() as f64;
    let mean = samples.iter().sum::<f64>() / m;
    (samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt() / m.sqrt()
}

/// ceil(x), forgiving the last bits of float error so that 0.01 x 200 counts as 2.
fn ceil_count(x: f64) -> usize {
    (x - 1e-9).ceil().max(0.0) as usize
}

/// Nearest-rank order statistic: the ceil(p N)-th smallest value (1-based), p in (0, 1].
/// Ties need no rule: equal values are interchangeable.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let rank = ceil_count(p * n as f64).clamp(1, n);
    sorted[rank - 1]
}

/// Mean of the worst ceil((1 - alpha) N) values of an ascending-sorted loss vector
/// (exactly that many outcomes, so ties at the boundary are split by count).
pub fn expected_shortfall(sorted_losses: &[f64], alpha: f64) -> f64 {
    let n = sorted_losses.len();
    let k = ceil_count((1.0 - alpha) * n as f64).clamp(1, n);
    sorted_losses[n - k..].iter().sum::<f64>() / k as f64
}

/// One row of the convergence table: the headline Monte Carlo figures over the first
/// `scenarios` random scenarios.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ConvergenceRow {
    pub scenarios: usize,
    pub pv_mean: f64,
    pub pv_std_error: f64,
    pub expected_loss: f64,
    pub expected_loss_std_error: f64,
    pub expected_credit_loss: f64,
    pub expected_credit_loss_std_error: f64,
    pub cumulative_default_pct: f64,
    pub cumulative_default_pct_std_error: f64,
}

/// The headline figures at N/8, N/4, N/2 and N of the random scenarios (in scenario
/// order; counts rounded down to whole antithetic pairs, rows under two scenarios
/// dropped): a figure that still moves between N/2 and N needs more scenarios.
pub fn convergence(
    results: &[ScenarioResult],
    start_upb: f64,
    antithetic: bool,
) -> Vec<ConvergenceRow> {
    let mut by_scenario: Vec<&ScenarioResult> = results.iter().collect();
    by_scenario.sort_by_key(|r| r.scenario);
    let ordered: Vec<ScenarioResult> = by_scenario.into_iter().cloned().collect();
    let n = ordered.len();
    let mut rows: Vec<ConvergenceRow> = Vec::new();
    for divisor in [8, 4, 2, 1] {
        let mut k = n / divisor;
        if antithetic {
            k -= k % 2;
        }
        if k < 2 || rows.last().is_some_and(|r| r.scenarios == k) {
            continue;
        }
        let s = summarize(&ordered[..k], start_upb, antithetic);
        rows.push(ConvergenceRow {
            scenarios: k,
            pv_mean: s.pv.mean,
            pv_std_error: s.pv.std_error,
            expected_loss: s.loss.expected,
            expected_loss_std_error: s.loss.std_error,
            expected_credit_loss: s.credit_loss.expected,
            expected_credit_loss_std_error: s.credit_loss.std_error,
            cumulative_default_pct: s.cumulative_default_pct,
            cumulative_default_pct_std_error: s.cumulative_default_pct_std_error,
        });
    }
    rows
}

/// The option-adjusted spread that prices a set of paths' mean PV to a target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OasSolution {
    /// Spread over each path's short rates, basis points (any spread the paths were
    /// already discounted with included).
    pub oas_bp: f64,
    /// Monte Carlo standard error of the spread, basis points: the PV's standard error at
    /// the solution over the PV's sensitivity to the spread (the delta method).
    pub std_error_bp: f64,
    /// Newton steps taken.
    pub iterations: u32,
    /// dPV/ds at the solution, USD per basis point (negative).
    pub pv_per_bp: f64,
}

/// Why no spread prices the paths to the target.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OasError {
    #[error("no paths to price")]
    NoPaths,
    #[error("no spread within +/-5,000 bp prices the mean PV to {target}")]
    NoSolution { target: f64 },
}

/// Solves the spread s, added to the paths' discounting as `exp(-s m / 12)` in month m,
/// at which the mean over `cash_flows` (one vector per path, month 1 first) discounted by
/// `discount` (month 0 first) equals `target`: Newton's method on the stored cash flows,
/// no re-projection (they do not depend on the spread). `base_bp` is the spread `discount`
/// already contains; `antithetic` pairs the paths for the standard error.
pub fn solve_oas(
    cash_flows: &[Vec<f64>],
    discount: &[Vec<f64>],
    base_bp: f64,
    target: f64,
    antithetic: bool,
) -> Result<OasSolution, OasError> {
    if cash_flows.is_empty() {
        return Err(OasError::NoPaths);
    }
    // Each path's PV and its derivative in the spread, at spread s (a fraction).
    let path_values = |s: f64| -> (Vec<f64>, f64) {
        let mut slope = 0.0;
        let pvs = cash_flows
            .iter()
            .zip(discount)
            .map(|(flows, df)| {
                let mut pv = 0.0;
                for (m, cf) in flows.iter().enumerate() {
                    let t = (m + 1) as f64 / 12.0;
                    let v = cf * df[m + 1] * libm::exp(-s * t);
                    pv += v;
                    slope -= t * v;
                }
                pv
            })
            .collect();
        (pvs, slope / cash_flows.len() as f64)
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut s = 0.0;
    for iteration in 1..=100 {
        let (pvs, slope) = path_values(s);
        let gap = mean(&pvs) - target;
        if slope >= 0.0 || !gap.is_finite() {
            break;
        }
        let step = gap / slope;
        s -= step;
        if !(-0.5..=0.5).contains(&s) {
            break;
        }
        if step.abs() < 1e-12 {
            let (pvs, slope) = path_values(s);
            return Ok(OasSolution {
                oas_bp: base_bp + s * 10_000.0,
                std_error_bp: standard_error(&pvs, antithetic) / slope.abs() * 10_000.0,
                iterations: iteration,
                pv_per_bp: slope / 10_000.0,
            });
        }
    }
    Err(OasError::NoSolution { target })
}

/// Mean, its standard error, VaR and ES of one loss measure across scenarios (given in
/// scenario order).
fn loss_summary(
    losses: impl Iterator<Item = Money>,
    start_upb: f64,
    antithetic: bool,
) -> LossSummary {
    let mut losses: Vec<f64> = losses.map(Money::to_usd).collect();
    let expected = losses.iter().sum::<f64>() / losses.len() as f64;
    let std_error = standard_error(&losses, antithetic);
    let intervals = tail_intervals(&losses, antithetic);
    losses.sort_by(f64::total_cmp);
    LossSummary {
        expected,
        std_error,
        expected_pct_upb: if start_upb > 0.0 {
            100.0 * expected / start_upb
        } else {
            0.0
        },
        var_95: percentile(&losses, 0.95),
        var_99: percentile(&losses, 0.99),
        es_95: expected_shortfall(&losses, 0.95),
        es_99: expected_shortfall(&losses, 0.99),
        intervals,
    }
}

/// Portfolio statistics over scenario results (sorted by scenario before use, so the
/// input order never matters). With antithetic pairs, the standard error is that of the
/// pair means, the independent draws.
pub fn summarize(results: &[ScenarioResult], start_upb: f64, antithetic: bool) -> RiskSummary {
    assert!(!results.is_empty(), "no scenarios");
    let mut by_scenario: Vec<&ScenarioResult> = results.iter().collect();
    by_scenario.sort_by_key(|r| r.scenario);
    let n = by_scenario.len();
    let pvs: Vec<f64> = by_scenario.iter().map(|r| r.pv).collect();
    let mean = pvs.iter().sum::<f64>() / n as f64;
    let std_error = standard_error(&pvs, antithetic);
    let mut sorted_pv = pvs;
    sorted_pv.sort_by(f64::total_cmp);
    let defaults: Vec<f64> = by_scenario.iter().map(|r| r.new_default.to_usd()).collect();
    let mean_defaults = defaults.iter().sum::<f64>() / n as f64;
    let pct = |x: f64| {
        if start_upb > 0.0 {
            100.0 * x / start_upb
        } else {
            0.0
        }
    };
    RiskSummary {
        scenarios: n,
        pv: PvSummary {
            mean,
            std_error,
            p01: percentile(&sorted_pv, 0.01),
            p05: percentile(&sorted_pv, 0.05),
            p50: percentile(&sorted_pv, 0.50),
            p95: percentile(&sorted_pv, 0.95),
            p99: percentile(&sorted_pv, 0.99),
            control_variate: None,
        },
        loss: loss_summary(
            by_scenario.iter().map(|r| r.lifetime_loss),
            start_upb,
            antithetic,
        ),
        credit_loss: loss_summary(
            by_scenario.iter().map(|r| r.credit_loss),
            start_upb,
            antithetic,
        ),
        cumulative_default_pct: pct(mean_defaults),
        cumulative_default_pct_std_error: pct(standard_error(&defaults, antithetic)),
        wal_years: by_scenario.iter().map(|r| r.wal_years).sum::<f64>() / n as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_statistics_follow_the_documented_rules() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.01), 2.0);
        assert_eq!(percentile(&v, 0.5), 100.0);
        assert_eq!(percentile(&v, 0.99), 198.0);
        // ES99 of 200 outcomes = mean of the worst 2.
        assert_eq!(expected_shortfall(&v, 0.99), 199.5);
        assert_eq!(
            expected_shortfall(&v, 0.95),
            (191..=200).sum::<i32>() as f64 / 10.0
        );
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn the_oas_prices_the_mean_to_the_target() {
        // Two paths, each paying 100 at month 12 and 50 at month 24, discounted at 1 and
        // at 0.9 / 0.8: the spread s solves the mean of 100 d1 e^-s + 50 d2 e^-2s = 120.
        let flows = vec![
            [vec![0.0; 11], vec![100.0], vec![0.0; 11], vec![50.0]].concat(),
            [vec![0.0; 11], vec![100.0], vec![0.0; 11], vec![50.0]].concat(),
        ];
        let df = |d1: f64, d2: f64| {
            let mut v = vec![1.0; 25];
            v[12] = d1;
            v[24] = d2;
            v
        };
        let discount = vec![df(1.0, 1.0), df(0.9, 0.8)];
        let solved = solve_oas(&flows, &discount, 10.0, 120.0, false).expect("solves");
        let s = (solved.oas_bp - 10.0) / 10_000.0;
        let mean = (100.0 * (-s).exp()
            + 50.0 * (-2.0 * s).exp()
            + 90.0 * (-s).exp()
            + 40.0 * (-2.0 * s).exp())
            / 2.0;
        assert!((mean - 120.0).abs() < 1e-9, "{mean}");
        assert!(solved.std_error_bp > 0.0);
        assert!(matches!(
            solve_oas(&flows, &discount, 0.0, 1e9, false),
            Err(OasError::NoSolution { .. })
        ));
        assert_eq!(solve_oas(&[], &[], 0.0, 1.0, false), Err(OasError::NoPaths));
    }

    #[test]
    fn convergence_rows_summarize_scenario_prefixes() {
        let results: Vec<ScenarioResult> = (0..20u32)
            .rev()
            .map(|k| ScenarioResult {
                scenario: k,
                pv: 100.0 + f64::from(k),
                lifetime_loss: Money::from_usd(f64::from(k)),
                credit_loss: Money::from_usd(2.0 * f64::from(k)),
                new_default: Money::from_usd(10.0),
                voluntary_prepayment: Money::ZERO,
                wal_years: 5.0,
            })
            .collect();
        let rows = convergence(&results, 1000.0, true);
        // 20 / 8 = 2, 20 / 4 = 5 -> 4 (whole pairs), 10, 20.
        let counts: Vec<usize> = rows.iter().map(|r| r.scenarios).collect();
        assert_eq!(counts, [2, 4, 10, 20]);
        // Scenarios 0..10 in order: PV 100..109, mean 104.5; losses 0..9, mean 4.5.
        assert_eq!(rows[2].pv_mean, 104.5);
        assert_eq!(rows[2].expected_loss, 4.5);
        assert_eq!(rows[2].expected_credit_loss, 9.0);
        assert_eq!(rows[3].cumulative_default_pct, 1.0);
        assert_eq!(rows[3].cumulative_default_pct_std_error, 0.0);
    }

    #[test]
    fn tail_intervals_bracket_the_estimate_and_repeat() {
        let losses: Vec<f64> = (0..200).map(|k| f64::from((k * 37) % 200)).collect();
        let mut sorted = losses.clone();
        sorted.sort_by(f64::total_cmp);
        let i = tail_intervals(&losses, true);
        assert_eq!(i, tail_intervals(&losses, true), "a fixed seed");
        let check = |[lo, hi]: [f64; 2], point: f64| {
            assert!(lo <= point && point <= hi && lo < hi, "{lo} {point} {hi}")
        };
        check(i.var_95, percentile(&sorted, 0.95));
        check(i.var_99, percentile(&sorted, 0.99));
        check(i.es_95, expected_shortfall(&sorted, 0.95));
        check(i.es_99, expected_shortfall(&sorted, 0.99));
        // Identical losses: no uncertainty.
        let flat = tail_intervals(&[3.0; 10], false);
        assert_eq!(flat.es_99, [3.0, 3.0]);
    }

    #[test]
    fn a_control_that_is_the_value_prices_exactly() {
        // Y = 2 X + 1 exactly: the estimate is 2 E[X] + 1 whatever the draws, with no error.
        let x = [1.0, 3.0, 2.0, 6.0, 5.0, 4.0];
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        let cv = control_variate(&y, &x, 3.0, false);
        assert!((cv.mean - 7.0).abs() < 1e-12 && (cv.beta - 2.0).abs() < 1e-12);
        assert!(cv.std_error < 1e-12 && cv.variance_reduction.is_none_or(|v| v > 1e12));
        // An unrelated control changes little.
        let noise = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0];
        let cv = control_variate(&y, &noise, 0.0, false);
        assert!(cv.variance_reduction.is_some_and(|v| v < 2.0), "{cv:?}");
    }

    #[test]
    fn standard_errors_use_pair_means_when_antithetic() {
        let v = [1.0, 3.0, 2.0, 2.0];
        // Pairs (1, 3) and (2, 2) both average 2: no spread between independent draws.
        assert_eq!(standard_error(&v, true), 0.0);
        // Independent: variance (1 + 1 + 0 + 0) / 3, over 4 draws.
        assert!((standard_error(&v, false) - (2.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
        assert_eq!(standard_error(&[5.0], false), 0.0);
    }

    #[test]
    fn loan_sums_merge_exactly_and_give_moments() {
        let mut a = LoanSums::default();
        for pv in [100.0, 110.0, 90.0, 100.0] {
            a.add_scenario(pv, 1.0, 1.5, 10.0);
        }
        let mut left = LoanSums::default();
        left.add_scenario(100.0, 1.0, 1.5, 10.0);
        left.add_scenario(110.0, 1.0, 1.5, 10.0);
        let mut right = LoanSums::default();
        right.add_scenario(90.0, 1.0, 1.5, 10.0);
        right.add_scenario(100.0, 1.0, 1.5, 10.0);
        right.merge(&left);
        assert_eq!(right, a);
        let r = a.result(1000.0);
        assert_eq!(r.pv_mean, 100.0);
        assert!((r.pv_std - (200.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(r.expected_loss, 1.0);
        assert_eq!(r.expected_credit_loss, 1.5);
        assert!((r.default_probability - 0.01).abs() < 1e-15);
    }

    #[test]
    fn loan_sums_are_exact_for_large_balances_and_identical_paths_have_no_spread() {
        // A present value of $5.97e11 (a $1e11 loan at 29.99%), beyond the kernel's fast
        // rounding: the sum keeps every unit.
        let pv = 597_123_456_789.123_4;
        let mut big = LoanSums::default();
        for _ in 0..1000 {
            big.add_scenario(pv, 2.5e10, 3e10, 1e11);
        }
        let r = big.result(1e11);
        let units = crate::money::usd_to_units_wide(pv);
        assert!((units - 5_971_234_567_891_234).abs() <= 1, "{units}");
        assert_eq!(big.pv_units, 1000 * units);
        assert!((r.pv_mean - pv).abs() < 1e-3, "{}", r.pv_mean);
        assert_eq!(r.pv_std, 0.0, "identical paths");
        assert_eq!(r.expected_loss, 2.5e10);
        // Two values a cent apart: variance (0.5^2 + 0.5^2) / 1 cents^2.
        let mut two = LoanSums::default();
        two.add_scenario(pv, 0.0, 0.0, 0.0);
        two.add_scenario(pv + 0.01, 0.0, 0.0, 0.0);
        assert!((two.result(1e11).pv_std - 0.5f64.sqrt() / 100.0).abs() < 1e-12);
    }
}
