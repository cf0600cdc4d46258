//! Stochastic mode: loan behaviour that responds to each scenario path (refinancing
//! incentive, burnout, seasoning, seasonality, turnover; mark-to-market LTV and FICO
//! default hazard; severity from the marked-to-market property value), projected through
//! the shared kernel for a range of scenarios.

use std::ops::Range;

use rayon::prelude::*;

use crate::bumps::{Bump, RiskBumps};
use crate::cashflow::CashflowTable;
use crate::kernel::{CHUNK_LOANS, ChunkLoans, Isa, Pipeline};
use crate::path_kernel::{
    BatchScratch, ChunkConstants, ModelConstants, PathJob, PathMonth, project_chunk_paths,
};
use crate::portfolio::Portfolio;
use crate::risk::LoanSums;
use crate::scenario::{ScenarioPath, ScenarioSet};

pub(crate) const MONTHS_PER_YEAR_INV: f64 = 1.0 / 12.0;

/// Month-of-year prepayment multipliers, January first (the Richard-Roll seasonality used
/// in Monte Carlo MBS teaching models).
pub const SEASONALITY: [f64; 12] = [
    0.94, 0.76, 0.74, 0.95, 0.98, 0.92, 0.98, 1.10, 1.18, 1.22, 1.23, 0.98,
];

/// Voluntary prepayment: an annual hazard (continuous, percent a year) of
/// `(turnover x mobility + refi x damping x burnout) x seasoning x seasonality`, with
/// - incentive = note rate - last month's mortgage rate (percentage points);
/// - `refi = refi_max / (1 + exp(-slope (incentive - midpoint)))`;
/// - damping = `exp(-refi_ltv_damping_per_pct x max(0, MTM LTV - refi_ltv_threshold_pct))
///   x exp(-refi_fico_damping_per_100 x max(0, 740 - FICO) / 100)`: borrowers without
///   equity or credit cannot refinance;
/// - mobility = `exp(lock_in_per_pct x min(0, incentive) + turnover_hpa_per_pct x HPA)`,
///   HPA the house-price change over the last 12 months in percent (months before the run
///   date grew at the house-price model's `initial_hpa_pct`): out-of-the-money borrowers
///   are locked in, and rising prices move people;
/// - burnout = `floor + (1 - floor) x exp(-burnout_per_pct_year x I)`, I the loan's
///   accumulated positive incentive in percentage-point years, seeded at the run date with
///   the run date's incentive (the random paths' month-0 mortgage rate) over the loan's
///   age (no rate history is given);
/// - seasoning = min(1, age / seasoning_months).
///
/// SMM = 1 - exp(-hazard / 12).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(deny_unknown_fields, default)
)]
pub struct PrepayParams {
    pub turnover_pct: f64,
    pub refi_max_pct: f64,
    pub refi_midpoint_pct: f64,
    pub refi_slope_per_pct: f64,
    pub burnout_floor: f64,
    pub seasoning_months: f64,
    pub seasonality: bool,
    pub burnout_per_pct_year: f64,
    pub refi_ltv_threshold_pct: f64,
    pub refi_ltv_damping_per_pct: f64,
    pub refi_fico_damping_per_100: f64,
    pub lock_in_per_pct: f64,
    pub turnover_hpa_per_pct: f64,
}

impl Default for PrepayParams {
    fn default() -> Self {
        PrepayParams {
            turnover_pct: 6.0,
            refi_max_pct: 50.0,
            refi_midpoint_pct: 0.75,
            refi_slope_per_pct: 2.5,
            burnout_floor: 0.3,
            seasoning_months: 30.0,
            seasonality: true,
            burnout_per_pct_year: 0.3,
            refi_ltv_threshold_pct: 80.0,
            refi_ltv_damping_per_pct: 0.05,
            refi_fico_damping_per_100: 0.8,
            lock_in_per_pct: 0.25,
            turnover_hpa_per_pct: 0.03,
        }
    }
}

/// Default: an annual hazard (continuous, percent a year) of
/// `(floor + max / (1 + exp(-slope (MTM LTV - midpoint)))) x exp(-fico_slope (FICO - 740) / 100)
/// x seasoning`, MTM LTV = scheduled balance / (original value x HPI_t / HPI_0), in
/// percent. MDR = 1 - exp(-hazard / 12).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Deserialize),
    serde(deny_unknown_fields, default)
)]
pub struct DefaultParams {
    pub floor_pct: f64,
    pub max_pct: f64,
    pub ltv_midpoint_pct: f64,
    pub ltv_slope_per_pct: f64,
    pub fico_slope_per_100: f64,
    pub seasoning_months: f64,
    /// Used when a loan has no `orig_ltv_pct`.
    pub missing_ltv_pct: f64,
    /// Used when a loan has no `fico`.
    pub missing_fico: f64,
}

impl Default for DefaultParams {
    fn default() -> Self {
        DefaultParams {
            floor_pct: 0.1,
            max_pct: 15.0,
            ltv_midpoint_pct: 115.0,
            ltv_slope_per_pct: 0.1,
            fico_slope_per_100: 0.9,
            seasoning_months: 30.0,
            missing_ltv_pct: 80.0,
            missing_fico: 700.0,
        }
    }
}

/// Loss: the principal loss of a liquidation is `clamp(liquidated balance - net recovery,
/// min_severity x liquidated balance, liquidated balance)`, net recovery = the defaulted
/// loans' property value at the run date x HPI_t / HPI_0 x (1 - reo_discount) x
/// (1 - sale_cost) in the liquidation month (see [`crate::kernel::LossRule::NetRecovery`]);
/// foreclosure costs are a further share of the liquidated balance; the pipeline and
/// advancing as in deterministic mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossParams {
    pub reo_discount_pct: f64,
    pub sale_cost_pct: f64,
    pub min_severity_pct: f64,
    pub foreclosure_cost_pct: f64,
    pub pipeline: Pipeline,
}

impl Default for LossParams {
    fn default() -> Self {
        LossParams {
            reo_discount_pct: 10.0,
            sale_cost_pct: 8.0,
            min_severity_pct: 10.0,
            foreclosure_cost_pct: 0.0,
            pipeline: Pipeline {
                recovery_lag_months: 24,
                advancing: true,
            },
        }
    }
}

/// Why a stochastic model was rejected; messages name the configuration key and the
/// inclusive range the value must lie in.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {value} must be between {min} and {max}")]
pub struct ParamError {
    pub key: &'static str,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

/// A validated stochastic model.
#[derive(Debug, Clone, PartialEq)]
pub struct StochasticModel {
    scenarios: ScenarioSet,
    prepay: PrepayParams,
    default: DefaultParams,
    loss: LossParams,
    /// Option-adjusted spread added to the path's short rates when discounting, bp.
    oas_bp: f64,
    /// Calendar month (1-12) of the first projected payment, for seasonality.
    first_month_of_year: u32,
    /// Every property's value at the run date is multiplied by this (1 but in a house
    /// price bump).
    property_value_factor: f64,
    /// The risk bumps, one scenario block each after the base scenarios.
    bumps: Vec<Bump>,
    /// The effective-duration shift, bp: its +/- blocks also feed per-loan sums.
    effective_shift_bp: Option<f64>,
}

/// A contiguous block of a run's scenario index space: the base scenarios (random, then
/// stress) or one bump's.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// `None` for the base block, else the index into [`StochasticModel::bumps`].
    pub bump: Option<usize>,
    /// Global scenario indices.
    pub scenarios: Range<u32>,
    /// How many of them (from the start) are random draws.
    pub random: u32,
}

impl Block {
    /// The part of global scenario range `range` inside this block, if any.
    pub fn overlap(&self, range: &Range<u32>) -> Option<Range<u32>> {
        let start = range.start.max(self.scenarios.start);
        let end = range.end.min(self.scenarios.end);
        (start < end).then_some(start..end)
    }
}

/// Where a block's per-loan PVs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoanSlot {
    Base,
    EffectiveUp,
    EffectiveDown,
    SpreadUp,
    SpreadDown,
    Unused,
}

/// Why a bump cannot be applied to a model (a shock that pushes the curve out of range,
/// say): the config key and the model's complaint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{key}: {bump}: {message}")]
pub struct BumpModelError {
    pub key: &'static str,
    pub bump: String,
    pub message: String,
}

impl StochasticModel {
    pub fn new(
        scenarios: ScenarioSet,
        prepay: PrepayParams,
        default: DefaultParams,
        loss: LossParams,
        oas_bp: f64,
        first_month_of_year: u32,
    ) -> Result<StochasticModel, ParamError> {
        let (p, d, l) = (&prepay, &default, &loss);
        // Every bounded parameter: its config key, its value and its inclusive range. One
        // row each, as a table reads.
        #[rustfmt::skip]
        let bounds: [(&'static str, f64, f64, f64); 27] = [
            ("prepay.turnover_pct", p.turnover_pct, 0.0, 100.0),
            ("prepay.refi_max_pct", p.refi_max_pct, 0.0, 500.0),
            ("prepay.refi_midpoint_pct", p.refi_midpoint_pct, -10.0, 10.0),
            ("prepay.refi_slope_per_pct", p.refi_slope_per_pct, 0.0, 50.0),
            ("prepay.burnout_floor", p.burnout_floor, 0.0, 1.0),
            ("prepay.seasoning_months", p.seasoning_months, 1.0, 480.0),
            ("prepay.burnout_per_pct_year", p.burnout_per_pct_year, 0.0, 10.0),
            ("prepay.refi_ltv_threshold_pct", p.refi_ltv_threshold_pct, 1.0, 300.0),
            ("prepay.refi_ltv_damping_per_pct", p.refi_ltv_damping_per_pct, 0.0, 1.0),
            ("prepay.refi_fico_damping_per_100", p.refi_fico_damping_per_100, 0.0, 10.0),
            ("prepay.lock_in_per_pct", p.lock_in_per_pct, 0.0, 10.0),
            ("prepay.turnover_hpa_per_pct", p.turnover_hpa_per_pct, -0.2, 0.2),
            ("default.floor_pct", d.floor_pct, 0.0, 100.0),
            ("default.max_pct", d.max_pct, 0.0, 500.0),
            ("default.ltv_midpoint_pct", d.ltv_midpoint_pct, 1.0, 300.0),
            ("default.ltv_slope_per_pct", d.ltv_slope_per_pct, 0.0, 10.0),
            ("default.fico_slope_per_100", d.fico_slope_per_100, -10.0, 10.0),
            ("default.seasoning_months", d.seasoning_months, 1.0, 480.0),
            ("default.missing_ltv_pct", d.missing_ltv_pct, 1.0, 200.0),
            ("default.missing_fico", d.missing_fico, 300.0, 850.0),
            ("loss.reo_discount_pct", l.reo_discount_pct, 0.0, 100.0),
            ("loss.sale_cost_pct", l.sale_cost_pct, 0.0, 100.0),
            ("loss.min_severity_pct", l.min_severity_pct, 0.0, 100.0),
            ("loss.foreclosure_cost_pct", l.foreclosure_cost_pct, 0.0, 100.0),
            ("loss.recovery_lag_months", f64::from(l.pipeline.recovery_lag_months), 0.0, 120.0),
            ("discount.oas_bp", oas_bp, -1000.0, 5000.0),
            ("as_of month", f64::from(first_month_of_year), 1.0, 12.0),
        ];
        for (key, value, min, max) in bounds {
            if !(value.is_finite() && (min..=max).contains(&value)) {
                return Err(ParamError {
                    key,
                    value,
                    min,
                    max,
                });
            }
        }
        Ok(StochasticModel {
            scenarios,
            prepay,
            default,
            loss,
            oas_bp,
            first_month_of_year,
            property_value_factor: 1.0,
            bumps: Vec::new(),
            effective_shift_bp: None,
        })
    }

    /// The model with the `[risk]` bumps as scenario blocks after the base scenarios.
    /// Fails when a bump is invalid or moves the model out of its valid range.
    pub fn with_bumps(self, risk: &RiskBumps) -> Result<StochasticModel, BumpModelError> {
        risk.validate().map_err(|e| BumpModelError {
            key: e.key,
            bump: String::new(),
            message: format!("{} {}", e.value, e.rule),
        })?;
        let bumps = risk.blocks();
        // Every bump must apply. The probe skips moment matching, whose factors need every
        // path and say nothing about whether a bump is valid.
        let probe = StochasticModel {
            scenarios: self.scenarios.without_moment_matching(),
            effective_shift_bp: risk.effective_shift_bp,
            ..self.clone()
        };
        for b in &bumps {
            probe.bumped(b)?;
        }
        Ok(StochasticModel {
            bumps,
            effective_shift_bp: risk.effective_shift_bp,
            ..self
        })
    }

    pub fn bumps(&self) -> &[Bump] {
        &self.bumps
    }

    /// The same model discounted at another option-adjusted spread, bp.
    pub fn with_oas_bp(&self, oas_bp: f64) -> StochasticModel {
        StochasticModel {
            oas_bp,
            ..self.clone()
        }
    }

    /// The model under one bump, without bump blocks of its own.
    pub fn bumped(&self, bump: &Bump) -> Result<StochasticModel, BumpModelError> {
        let fail = |key: &'static str, message: String| BumpModelError {
            key,
            bump: bump.label(),
            message,
        };
        let mut m = StochasticModel {
            bumps: Vec::new(),
            effective_shift_bp: None,
            ..self.clone()
        };
        let curve = self.scenarios.hull_white().curve();
        match bump {
            Bump::Parallel { shift_bp } => {
                let key = if Some(shift_bp.abs()) == self.effective_shift_bp {
                    "risk.effective.shift_bp"
                } else {
                    "risk.shocks_bp"
                };
                let shifted = curve.shifted(shift_bp / 10_000.0);
                shifted
                    .check_rates()
                    .map_err(|e| fail(key, e.to_string()))?;
                m.scenarios = self
                    .scenarios
                    .with_curve(shifted)
                    .map_err(|e| fail(key, e.to_string()))?;
            }
            Bump::KeyRate {
                keys_years,
                index,
                shift_bp,
            } => {
                let key = "risk.key_rates_years";
                let bumped = curve.with_key_rate_bump(keys_years, *index, shift_bp / 10_000.0);
                bumped.check_rates().map_err(|e| fail(key, e.to_string()))?;
                m.scenarios = self
                    .scenarios
                    .with_curve(bumped)
                    .map_err(|e| fail(key, e.to_string()))?;
            }
            Bump::Volatility { shift } => {
                m.scenarios = self
                    .scenarios
                    .with_volatility_shift(*shift)
                    .map_err(|e| fail("risk.vega.volatility_shift", e.to_string()))?;
            }
            Bump::PrepaySpeed { shift_pct } => {
                // Turnover and refinancing are the two terms of the hazard: scaling both
                // scales the hazard.
                let f = 1.0 + shift_pct / 100.0;
                m.prepay.turnover_pct *= f;
                m.prepay.refi_max_pct *= f;
                m = StochasticModel::new(
                    m.scenarios,
                    m.prepay,
                    m.default,
                    m.loss,
                    m.oas_bp,
                    m.first_month_of_year,
                )
                .map_err(|e| fail("risk.prepay_duration.shift_pct", e.to_string()))?;
            }
            Bump::HpiLevel { shift_pct } => {
                m.property_value_factor = 1.0 + shift_pct / 100.0;
            }
            Bump::ZeroVolatility => {
                m.scenarios = self.scenarios.zero_volatility();
            }
            Bump::Spread { shift_bp } => {
                m.oas_bp = self.oas_bp + shift_bp;
                if !(-1000.0..=5000.0).contains(&m.oas_bp) {
                    return Err(fail(
                        "risk.loan_oas",
                        format!("discount.oas_bp {} moves out of -1000..=5000", m.oas_bp),
                    ));
                }
            }
        }
        Ok(m)
    }

    /// The blocks of the scenario index space: the base scenarios, then one per bump.
    pub fn blocks(&self) -> Vec<Block> {
        let random = self.scenarios.random_count();
        let mut out = vec![Block {
            bump: None,
            scenarios: 0..self.scenarios.count(),
            random,
        }];
        let mut start = self.scenarios.count();
        for (i, b) in self.bumps.iter().enumerate() {
            let n = match b {
                Bump::ZeroVolatility => 1,
                _ => random,
            };
            out.push(Block {
                bump: Some(i),
                scenarios: start..start + n,
                random: n,
            });
            start += n;
        }
        out
    }

    /// Every scenario of the run: the base scenarios and every bump block's.
    pub fn scenario_count(&self) -> u32 {
        self.blocks().last().map_or(0, |b| b.scenarios.end)
    }

    /// The model of a block (the base model, or the base under the block's bump).
    pub fn block_model(&self, block: &Block) -> StochasticModel {
        match block.bump {
            None => StochasticModel {
                bumps: Vec::new(),
                effective_shift_bp: None,
                ..self.clone()
            },
            Some(i) => self
                .bumped(&self.bumps[i])
                .expect("validated in with_bumps"),
        }
    }

    fn loan_slot(&self, block: &Block) -> LoanSlot {
        match (block.bump.map(|i| &self.bumps[i]), self.effective_shift_bp) {
            (None, _) => LoanSlot::Base,
            (Some(Bump::Parallel { shift_bp }), Some(e)) if *shift_bp == e => LoanSlot::EffectiveUp,
            (Some(Bump::Parallel { shift_bp }), Some(e)) if *shift_bp == -e => {
                LoanSlot::EffectiveDown
            }
            (Some(Bump::Spread { shift_bp }), _) if *shift_bp > 0.0 => LoanSlot::SpreadUp,
            (Some(Bump::Spread { .. }), _) => LoanSlot::SpreadDown,
            _ => LoanSlot::Unused,
        }
    }

    /// Discount factors (OAS included) of every scenario of the run, global indices
    /// `range`, each from its block's model.
    pub fn discount_factors_of(&self, range: Range<u32>) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(range.len());
        for block in self.blocks() {
            let Some(part) = block.overlap(&range) else {
                continue;
            };
            let model = self.block_model(&block);
            out.par_extend(
                part.into_par_iter().map(|k| {
                    model.discount_factors(&model.scenarios.path(k - block.scenarios.start))
                }),
            );
        }
        out
    }

    pub fn prepay(&self) -> &PrepayParams {
        &self.prepay
    }
    pub fn default_params(&self) -> &DefaultParams {
        &self.default
    }
    pub fn loss(&self) -> &LossParams {
        &self.loss
    }
    /// Calendar month (1-12) of the first projected payment.
    pub fn first_month_of_year(&self) -> u32 {
        self.first_month_of_year
    }
    pub fn scenarios(&self) -> &ScenarioSet {
        &self.scenarios
    }
    pub fn pipeline(&self) -> Pipeline {
        self.loss.pipeline
    }
    pub fn oas_bp(&self) -> f64 {
        self.oas_bp
    }

    /// Whether a scenario range would separate the two halves of an antithetic pair
    /// (a shard boundary at an odd random scenario index).
    pub fn splits_a_pair(&self, range: &Range<u32>) -> bool {
        if !self.scenarios.antithetic() {
            return false;
        }
        // Within each block, pairs start at even offsets among its random draws.
        let odd_inside = |k: u32| {
            self.blocks().iter().any(|b| {
                b.random > 1
                    && k > b.scenarios.start
                    && k - b.scenarios.start < b.random
                    && (k - b.scenarios.start) % 2 == 1
            })
        };
        odd_inside(range.start) || odd_inside(range.end)
    }

    /// The same model on a parallel-shifted curve with the same random numbers.
    pub fn with_curve_shift(&self, shift: f64) -> StochasticModel {
        StochasticModel {
            scenarios: self.scenarios.with_curve_shift(shift),
            ..self.clone()
        }
    }

    /// Discount factors of a path's cash flows, month 0 to `months`, OAS included.
    pub fn discount_factors(&self, path: &ScenarioPath) -> Vec<f64> {
        let oas = self.oas_bp / 10_000.0;
        path.discount
            .iter()
            .enumerate()
            .map(|(m, df)| df * libm::exp(-oas * m as f64 / 12.0))
            .collect()
    }
}

impl StochasticModel {
    /// The kernel's view of the model's constants.
    fn constants(&self) -> ModelConstants {
        ModelConstants {
            prepay: self.prepay,
            default: self.default,
            loss: self.loss,
        }
    }

    /// A path's month constants for months 1..=`months`, with its discount factors.
    fn path_months(&self, path: &ScenarioPath, discount: &[f64], months: u32) -> Vec<PathMonth> {
        let p = &self.prepay;
        let l = &self.loss;
        let initial = self.scenarios.house_prices().initial_hpa_pct / 100.0;
        (1..=months)
            .map(|month| {
                let m = month as usize;
                // Last month's mortgage rate drives this month's refinancing; house prices
                // at the start of the month drive defaults and at its end the liquidation
                // value.
                let mortgage_pct = path.mortgage_rate[m - 1] * 100.0;
                let hpi_start = path.hpi[m - 1];
                let hpi_end = path.hpi[m];
                // Trailing 12-month appreciation; months before the run date grew at the
                // house price model's initial appreciation.
                let year_ago = if m >= 13 {
                    path.hpi[m - 13]
                } else {
                    libm::pow(1.0 + initial, (m as f64 - 13.0) / 12.0)
                };
                let hpa_pct = 100.0 * (hpi_start / year_ago - 1.0);
                let month_of_year = (self.first_month_of_year - 1 + month - 1) % 12;
                PathMonth {
                    mortgage_pct,
                    inv_hpi_start: 1.0 / hpi_start,
                    mobility_hpa: libm::exp(p.turnover_hpa_per_pct * clamp_hpa_pct(hpa_pct)),
                    burnout_month: libm::exp(
                        p.burnout_per_pct_year * mortgage_pct * MONTHS_PER_YEAR_INV,
                    ),
                    lock_in_month: libm::exp(-p.lock_in_per_pct * mortgage_pct),
                    seasonal: if p.seasonality {
                        SEASONALITY[month_of_year as usize]
                    } else {
                        1.0
                    },
                    recovery_factor: hpi_end
                        * (1.0 - l.reo_discount_pct / 100.0)
                        * (1.0 - l.sale_cost_pct / 100.0),
                    discount: discount[m],
                }
            })
            .collect()
    }
}

/// House-price appreciation bounded to +/-50% a year in the turnover term.
// `f64::clamp` asserts its bounds; kept as the kernel always wrote it.
#[allow(clippy::manual_clamp)]
fn clamp_hpa_pct(hpa_pct: f64) -> f64 {
    hpa_pct.max(-50.0).min(50.0)
}

/// A stochastic projection of a range of scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct StochasticProjection {
    /// Scenario indices projected.
    pub scenarios: Range<u32>,
    /// One exact table per scenario, in scenario order.
    pub tables: Vec<CashflowTable>,
    /// Discount factors per scenario (OAS included), months 0..=horizon.
    pub discount: Vec<Vec<f64>>,
    /// One entry per loan, in portfolio order, summed over the range's random scenarios
    /// (stress paths are not Monte Carlo draws and are left out).
    pub loan_sums: Vec<LoanSums>,
    pub loan_months: u64,
}

/// Loan chunks are split into contiguous groups, a few per thread: each group holds one
/// cash-flow table per scenario, so the group count bounds memory; integer sums make the
/// grouping invisible in the result.
pub fn group_count(loans: usize, threads: usize) -> usize {
    loans.div_ceil(CHUNK_LOANS).min(4 * threads.max(1)).max(1)
}

/// The chunks group `g` of `groups` projects: consecutive, in order, and as even as
/// integers allow (sizes differ by at most one), so that the pool's halving splits give
/// each thread the same work. (Rounding every group up instead left 20 chunks as seven
/// groups of 3 and one of 2 on two threads: 12 chunks against 8, a 1.67x speed-up.)
/// Any grouping gives the same bits: tables merge exactly and loan sums stay in order.
fn group_chunks(g: usize, groups: usize, chunks: usize) -> Range<usize> {
    (g * chunks / groups)..((g + 1) * chunks / groups)
}

/// Bytes of the cash-flow tables a projection holds at its peak: one table per scenario
/// for each group while they run, and the merged set. Capacity planning uses it to
/// predict a shard's memory.
pub fn working_table_bytes(
    loans: usize,
    scenarios: usize,
    horizon_months: u32,
    threads: usize,
) -> u64 {
    let table = horizon_months as u64 * crate::cashflow::SUMMED_COUNT as u64 * 8;
    (group_count(loans, threads) as u64 + 1) * scenarios as u64 * table
}

/// Projects `portfolio` under scenarios `scenarios` of `model` on the current rayon pool.
/// Bit-identical for any thread count, and tables of a loan split merge to the same bits.
///
/// # Panics
/// When the range is empty, reaches past the model's scenario count, or splits an
/// antithetic pair (see [`StochasticModel::splits_a_pair`]), or the horizon exceeds the
/// scenario set's months.
pub fn project_stochastic(
    portfolio: &Portfolio,
    model: &StochasticModel,
    horizon_months: u32,
    scenarios: Range<u32>,
) -> StochasticProjection {
    project_stochastic_on(Isa::detect(), portfolio, model, horizon_months, scenarios)
}

/// [`project_stochastic`] on an explicit kernel variant.
pub fn project_stochastic_on(
    isa: Isa,
    portfolio: &Portfolio,
    model: &StochasticModel,
    horizon_months: u32,
    scenarios: Range<u32>,
) -> StochasticProjection {
    assert!(
        !scenarios.is_empty() && scenarios.end <= model.scenario_count(),
        "scenario range {scenarios:?}"
    );
    assert!(
        horizon_months <= model.scenarios.months(),
        "horizon beyond the scenario months"
    );
    assert!(
        !model.splits_a_pair(&scenarios),
        "{scenarios:?} splits an antithetic pair"
    );
    assert!(
        Isa::available().contains(&isa),
        "{isa:?} is not supported by this CPU"
    );
    let (sorted, original_position) = portfolio.sorted_by_remaining_term();
    let mut tables = Vec::with_capacity(scenarios.len());
    let mut discount = Vec::with_capacity(scenarios.len());
    let mut sorted_sums = vec![LoanSums::default(); portfolio.len()];
    let mut loan_months = 0;
    // Each block (the base scenarios, then one per bump) is projected with its own
    // model over its part of the range; bumps replay the base run's random numbers.
    for block in model.blocks() {
        let Some(part) = block.overlap(&scenarios) else {
            continue;
        };
        let slot = model.loan_slot(&block);
        let block_model = model.block_model(&block);
        let local = part.start - block.scenarios.start..part.end - block.scenarios.start;
        let part = project_block(isa, &sorted, &block_model, horizon_months, local, slot);
        tables.extend(part.tables);
        discount.extend(part.discount);
        loan_months += part.loan_months;
        for (total, s) in sorted_sums.iter_mut().zip(&part.sorted_sums) {
            match slot {
                LoanSlot::Base => total.merge(s),
                LoanSlot::EffectiveUp => total.pv_up_units += s.pv_units,
                LoanSlot::EffectiveDown => total.pv_down_units += s.pv_units,
                LoanSlot::SpreadUp => total.pv_spread_up_units += s.pv_units,
                LoanSlot::SpreadDown => total.pv_spread_down_units += s.pv_units,
                LoanSlot::Unused => {}
            }
        }
    }
    // Back to the caller's loan order.
    let mut loan_sums = vec![LoanSums::default(); portfolio.len()];
    for (sums, &original) in sorted_sums.into_iter().zip(&original_position) {
        loan_sums[original] = sums;
    }
    StochasticProjection {
        scenarios,
        tables,
        discount,
        loan_sums,
        loan_months,
    }
}

/// One block's projection over the loans sorted by remaining term.
struct BlockPart {
    tables: Vec<CashflowTable>,
    discount: Vec<Vec<f64>>,
    /// Per sorted loan (all zero for a block whose loan sums nobody uses).
    sorted_sums: Vec<LoanSums>,
    loan_months: u64,
}

/// Projects `portfolio` (sorted by remaining term) under scenarios `scenarios` of
/// `model` (a block's model, local indices).
fn project_block(
    isa: Isa,
    portfolio: &Portfolio,
    model: &StochasticModel,
    horizon_months: u32,
    scenarios: Range<u32>,
    slot: LoanSlot,
) -> BlockPart {
    let pipeline = model.loss.pipeline;
    let paths: Vec<ScenarioPath> = scenarios
        .clone()
        .into_par_iter()
        .map(|k| model.scenarios.path(k))
        .collect();
    let discount: Vec<Vec<f64>> = paths.iter().map(|p| model.discount_factors(p)).collect();
    // Per-loan statistics are Monte Carlo statistics: stress paths (appended after the
    // random scenarios) are reported per scenario only, never averaged in.
    let random = model.scenarios.random_count();
    let keep_sums = slot != LoanSlot::Unused;
    let chunks = portfolio.len().div_ceil(CHUNK_LOANS);
    let groups = group_count(portfolio.len(), rayon::current_num_threads());
    let empty_tables = || -> Vec<CashflowTable> {
        (0..paths.len())
            .map(|_| CashflowTable::new(horizon_months, pipeline.advancing))
            .collect()
    };
    let constants = model.constants();
    let months: Vec<Vec<PathMonth>> = paths
        .iter()
        .zip(&discount)
        .map(|(path, df)| model.path_months(path, df, horizon_months))
        .collect();
    let run_date_mortgage_pct = model.scenarios.run_date_mortgage_rate() * 100.0;
    let results: Vec<(Vec<CashflowTable>, Vec<LoanSums>, u64)> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut tables = empty_tables();
            let mut sums = Vec::new();
            let mut loan_months = 0;
            let mut scratch = BatchScratch::new(pipeline);
            for c in group_chunks(g, groups, chunks) {
                let start = c * CHUNK_LOANS;
                let end = (start + CHUNK_LOANS).min(portfolio.len());
                let loans = ChunkLoans::new(portfolio, start..end);
                let mut chunk_sums = vec![LoanSums::default(); end - start];
                let chunk = ChunkConstants::new(
                    &constants,
                    &loans,
                    run_date_mortgage_pct,
                    model.property_value_factor,
                );
                let mut jobs: Vec<PathJob<'_>> = tables
                    .iter_mut()
                    .zip(&months)
                    .enumerate()
                    .map(|(k, (table, months))| PathJob {
                        months,
                        table,
                        keep_loan_sums: keep_sums && scenarios.start + (k as u32) < random,
                    })
                    .collect();
                loan_months += project_chunk_paths(
                    isa,
                    &constants,
                    &chunk,
                    horizon_months,
                    &mut jobs,
                    &mut scratch,
                    &mut chunk_sums,
                );
                sums.extend(chunk_sums);
            }
            (tables, sums, loan_months)
        })
        .collect();
    let mut tables = empty_tables();
    let mut sorted_sums = Vec::with_capacity(portfolio.len());
    let mut loan_months = 0;
    for (group_tables, group_sums, lm) in results {
        for (t, g) in tables.iter_mut().zip(&group_tables) {
            t.merge(g);
        }
        sorted_sums.extend(group_sums);
        loan_months += lm;
    }
    BlockPart {
        tables,
        discount,
        sorted_sums,
        loan_months,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_every_chunk_once_in_order_and_evenly() {
        for chunks in 1..200 {
            for threads in 1..6 {
                let groups = group_count(chunks * CHUNK_LOANS, threads);
                let ranges: Vec<Range<usize>> = (0..groups)
                    .map(|g| group_chunks(g, groups, chunks))
                    .collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[groups - 1].end, chunks);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                let (min, max) = (sizes.iter().min(), sizes.iter().max());
                let (min, max) = (min.expect("a group"), max.expect("a group"));
                assert!(
                    max - min <= 1,
                    "{chunks} chunks, {threads} threads: {sizes:?}"
                );
            }
        }
    }
}
