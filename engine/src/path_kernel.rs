//! The stochastic model's kernel: one chunk of loans projected under a batch of scenario
//! paths at once, month by month, in short vectorisable passes.
//!
//! It computes exactly what [`crate::kernel`]'s month step computes for the stochastic
//! behaviour (the same IEEE operations in the same order per loan-month, so the same
//! bits), arranged for speed:
//! - **Scenario batches.** Up to [`BATCH_SCENARIOS`] paths advance together, so the work
//!   that does not depend on the path (the annuity recurrence and its division, seasoning,
//!   the scheduled balance's LTV base, the pipeline's annuity sums) is done once per
//!   loan-month instead of once per loan-month and path.
//! - **Short passes.** One path-month is three loops: (A) the three S-curve and damping
//!   exps, (B) the shared division, the hazards and the SMM and MDR exps, (C) the SIFMA
//!   cash-flow step. A fused loop chains exp -> divide -> exp, longer than the CPU's
//!   out-of-order window; short loops of independent iterations keep the vector units
//!   busy instead of waiting on that latency.
//! - **Plain slices.** Every pass takes its columns as separate slices, so the compiler
//!   knows they do not overlap and emits no run-time alias checks.
//! - **Rounding offsets once per column.** The fixed-point conversion's bias is
//!   subtracted once per column and month rather than once per loan (wrapping integer
//!   sums make that exact).
//!
//! Like the generic kernel it is compiled for the baseline, AVX2 and AVX-512 and picked
//! at run time; every variant gives the same bits.

use crate::cashflow::{CashflowTable, SUMMED_COUNT};
use crate::fastexp::exp_rate as exp;
use crate::kernel::{
    CHUNK_LOANS, ChunkLoans, Isa, LoanMonthIn, LossRule, MI_TERMINATION_LTV, Pipeline,
    StepConstants, add_biased_units, annuity_factor, loan_month,
};
use crate::money::rounding_bias_units;
use crate::risk::LoanSums;
use crate::stochastic::{DefaultParams, LossParams, MONTHS_PER_YEAR_INV, PrepayParams};

/// Paths projected together through one chunk. Eight keeps a batch's per-path state
/// (balances, burnout, the foreclosure ring) within the second-level cache.
pub const BATCH_SCENARIOS: usize = 8;

/// One month of one path, as the behaviour models read it (month m reads the path's
/// mortgage rate at m-1 and its house prices at m-1 and m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathMonth {
    /// Last month's mortgage rate, percent.
    pub mortgage_pct: f64,
    /// 1 / HPI at the start of the month.
    pub inv_hpi_start: f64,
    /// exp(turnover_hpa_per_pct x trailing 12-month HPA), HPA clamped to +/-50%.
    pub mobility_hpa: f64,
    /// exp(burnout_per_pct_year x mortgage % / 12).
    pub burnout_month: f64,
    /// exp(-lock_in_per_pct x mortgage %).
    pub lock_in_month: f64,
    /// The month's seasonality multiplier (1 when seasonality is off).
    pub seasonal: f64,
    /// HPI at month end x (1 - REO discount) x (1 - sale cost).
    pub recovery_factor: f64,
    /// Discount factor of the month's cash flows (OAS included).
    pub discount: f64,
}

/// The model's constants, as the passes read them.
#[derive(Debug, Clone, Copy)]
pub struct ModelConstants {
    pub prepay: PrepayParams,
    pub default: DefaultParams,
    pub loss: LossParams,
}

impl ModelConstants {
    fn pipeline(&self) -> Pipeline {
        self.loss.pipeline
    }
}

/// A chunk's loan constants: built once per chunk, shared by every path.
#[derive(Debug, Default)]
pub struct ChunkConstants {
    n: usize,
    upb: Vec<f64>,
    annuity: Vec<f64>,
    inv_annuity: Vec<f64>,
    remaining: Vec<f64>,
    growth: Vec<f64>,
    gross: Vec<f64>,
    net: Vec<f64>,
    mi_coverage: Vec<f64>,
    /// The annuity factor at or below which mortgage insurance has ended (see
    /// [`crate::kernel`]'s scratch of the same name).
    mi_end_annuity: Vec<f64>,
    /// Scheduled balance per unit of annuity factor.
    upb_per_annuity: Vec<f64>,
    /// 100 / property value at the run date, so MTM LTV % = scheduled balance x this / HPI.
    ltv_scale: Vec<f64>,
    /// Property value at the run date x annuity factor / balance at the run date (see
    /// [`crate::kernel::LossRule::NetRecovery`]).
    value_per_scaled: Vec<f64>,
    note_rate_pct: Vec<f64>,
    /// FICO multiplier of the default hazard, divided by 100 (percent to fraction).
    fico_multiplier: Vec<f64>,
    /// refi_max x the FICO damping of refinancing.
    refi_credit: Vec<f64>,
    /// exp(-burnout_per_pct_year x note / 12) and exp(lock_in_per_pct x note): with the
    /// month's factors they give exp(-b max(0, incentive) / 12) and
    /// exp(lock_in min(0, incentive)) as min(1, product), so those terms cost no exp per
    /// loan-month.
    burnout_note_factor: Vec<f64>,
    lock_in_note_factor: Vec<f64>,
    age_months: Vec<f64>,
    /// Each loan's burnout factor at the run date: the run date's incentive held over the
    /// loan's age (no rate history is given).
    burnt_at_start: Vec<f64>,
    /// Longest remaining term of the chunk, months.
    last_month: u32,
}

impl ChunkConstants {
    /// `run_date_mortgage_pct`: the random paths' month-0 mortgage rate, percent;
    /// `property_value_factor`: 1 except in a house-price bump.
    pub fn new(
        model: &ModelConstants,
        loans: &ChunkLoans<'_>,
        run_date_mortgage_pct: f64,
        property_value_factor: f64,
    ) -> ChunkConstants {
        let (p, d) = (&model.prepay, &model.default);
        let n = loans.len();
        assert!(n <= CHUNK_LOANS, "chunk of {n} loans exceeds {CHUNK_LOANS}");
        let mut t = ChunkConstants {
            n,
            ..ChunkConstants::default()
        };
        for j in 0..n {
            let upb = loans.current_upb()[j];
            let rate_pct = loans.note_rate_pct()[j];
            let c = rate_pct / 1200.0;
            let age = loans.loan_age_months()[j];
            let rem = loans.orig_term_months()[j] - age;
            let annuity = annuity_factor(c, rem);
            t.upb.push(upb);
            t.annuity.push(annuity);
            t.inv_annuity.push(1.0 / annuity);
            t.remaining.push(f64::from(rem));
            t.growth.push(1.0 + c);
            t.gross.push(c);
            t.net
                .push((rate_pct - loans.servicing_fee_pct()[j]) / 1200.0);
            t.mi_coverage.push(loans.mi_pct()[j] / 100.0);
            t.mi_end_annuity
                .push(loans.orig_ltv_pct()[j].map_or(0.0, |ltv_pct| {
                    let original_value = loans.origination_balance(j) / (ltv_pct / 100.0);
                    MI_TERMINATION_LTV * original_value * annuity / upb
                }));
            t.upb_per_annuity.push(upb / annuity);
            let value = loans.marked_value()[j]
                .unwrap_or_else(|| loans.origination_value(j, d.missing_ltv_pct))
                * property_value_factor;
            t.ltv_scale.push(100.0 / value);
            t.value_per_scaled.push(value * annuity / upb);
            t.note_rate_pct.push(rate_pct);
            let fico = loans.fico()[j].map_or(d.missing_fico, f64::from);
            t.fico_multiplier
                .push(libm::exp(-d.fico_slope_per_100 * (fico - 740.0) / 100.0) / 100.0);
            t.refi_credit.push(
                p.refi_max_pct / 100.0
                    * libm::exp(-p.refi_fico_damping_per_100 * (740.0 - fico).max(0.0) / 100.0),
            );
            t.burnout_note_factor.push(libm::exp(
                -p.burnout_per_pct_year * rate_pct * MONTHS_PER_YEAR_INV,
            ));
            t.lock_in_note_factor
                .push(libm::exp(p.lock_in_per_pct * rate_pct));
            t.age_months.push(f64::from(age));
            let seed =
                (rate_pct - run_date_mortgage_pct).max(0.0) * f64::from(age) * MONTHS_PER_YEAR_INV;
            t.burnt_at_start
                .push(libm::exp(-p.burnout_per_pct_year * seed));
            t.last_month = t.last_month.max(rem);
        }
        t
    }

    /// Loan-months one path projects over `horizon_months`.
    fn loan_months(&self, horizon_months: u32) -> u64 {
        self.remaining
            .iter()
            .map(|&rem| (rem as u64).min(u64::from(horizon_months)))
            .sum()
    }
}

/// Working memory of a batch; reused across chunks and batches by each thread.
#[derive(Debug)]
pub struct BatchScratch {
    lag_slots: usize,
    // Path-independent loan state.
    annuity: Vec<f64>,
    inv_annuity: Vec<f64>,
    remaining: Vec<f64>,
    annuity_sum: Vec<f64>,
    /// `annuity_sum` when each of the last `lag` months' defaults happened.
    ring_annuity_sum: Vec<f64>,
    // Path-independent values of the current month.
    next_annuity: Vec<f64>,
    next_inv_annuity: Vec<f64>,
    ratio: Vec<f64>,
    /// Sum of the annuity factors since the liquidated cohort's default month.
    since_default: Vec<f64>,
    /// Scheduled balance x LTV scale: the MTM LTV before the path's house prices.
    ltv_base: Vec<f64>,
    prepay_seasoning: Vec<f64>,
    default_seasoning: Vec<f64>,
    // Per-path loan state, BATCH_SCENARIOS x CHUNK_LOANS (the rings x lag slots).
    perf: Vec<f64>,
    fcl: Vec<f64>,
    burnt: Vec<f64>,
    ring_scaled: Vec<f64>,
    ring_raw: Vec<f64>,
    loan_pv: Vec<f64>,
    loan_loss: Vec<f64>,
    loan_credit_loss: Vec<f64>,
    loan_default: Vec<f64>,
    // One path-month's intermediate columns, reused by every path.
    refi_denominator: Vec<f64>,
    ltv_denominator: Vec<f64>,
    equity_damping: Vec<f64>,
    smm: Vec<f64>,
    mdr: Vec<f64>,
}

impl BatchScratch {
    pub fn new(pipeline: Pipeline) -> BatchScratch {
        let lag_slots = pipeline.recovery_lag_months.max(1) as usize;
        let v = |k: usize| vec![0.0; k * CHUNK_LOANS];
        let paths = BATCH_SCENARIOS;
        BatchScratch {
            lag_slots,
            annuity: v(1),
            inv_annuity: v(1),
            remaining: v(1),
            annuity_sum: v(1),
            ring_annuity_sum: v(lag_slots),
            next_annuity: v(1),
            next_inv_annuity: v(1),
            ratio: v(1),
            since_default: v(1),
            ltv_base: v(1),
            prepay_seasoning: v(1),
            default_seasoning: v(1),
            perf: v(paths),
            fcl: v(paths),
            burnt: v(paths),
            ring_scaled: v(paths * lag_slots),
            ring_raw: v(paths * lag_slots),
            loan_pv: v(paths),
            loan_loss: v(paths),
            loan_credit_loss: v(paths),
            loan_default: v(paths),
            refi_denominator: v(1),
            ltv_denominator: v(1),
            equity_damping: v(1),
            smm: v(1),
            mdr: v(1),
        }
    }
}

/// One path of a batch: its months (index m-1 for month m), its table, and whether its
/// per-loan sums are kept (random draws of a block whose loan sums are used).
#[derive(Debug)]
pub struct PathJob<'a> {
    pub months: &'a [PathMonth],
    pub table: &'a mut CashflowTable,
    pub keep_loan_sums: bool,
}

/// Projects the chunk `constants` under every path of `jobs` (batches of
/// [`BATCH_SCENARIOS`]) for up to `horizon_months`, adding each path's monthly sums to its
/// table and, where kept, each loan's sums to `loan_sums` (one entry per loan of the
/// chunk). Returns the loan-months projected.
pub fn project_chunk_paths(
    isa: Isa,
    model: &ModelConstants,
    constants: &ChunkConstants,
    horizon_months: u32,
    jobs: &mut [PathJob<'_>],
    scratch: &mut BatchScratch,
    loan_sums: &mut [LoanSums],
) -> u64 {
    let pipeline = model.pipeline();
    assert_eq!(loan_sums.len(), constants.n);
    assert!(
        scratch.lag_slots >= pipeline.recovery_lag_months.max(1) as usize,
        "scratch built for a shorter lag"
    );
    for job in jobs.iter() {
        assert_eq!(job.table.advancing(), pipeline.advancing);
        assert!(job.table.horizon_months() >= horizon_months);
        assert!(job.months.len() >= horizon_months as usize);
    }
    for batch in jobs.chunks_mut(BATCH_SCENARIOS) {
        project_batch(
            isa,
            model,
            constants,
            horizon_months,
            batch,
            scratch,
            loan_sums,
        );
    }
    constants.loan_months(horizon_months) * jobs.len() as u64
}

fn project_batch(
    isa: Isa,
    model: &ModelConstants,
    constants: &ChunkConstants,
    horizon_months: u32,
    batch: &mut [PathJob<'_>],
    s: &mut BatchScratch,
    loan_sums: &mut [LoanSums],
) {
    macro_rules! variants {
        ($f:ident) => {
            if model.pipeline().advancing {
                $f::<true>(model, constants, horizon_months, batch, s, loan_sums)
            } else {
                $f::<false>(model, constants, horizon_months, batch, s, loan_sums)
            }
        };
    }
    match isa {
        Isa::Baseline => variants!(batch_generic),
        // SAFETY: `Isa::available` offers these variants only after checking that the CPU
        // supports every feature the called function is compiled with, and the caller
        // (`project_stochastic_on`) rejects any other.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { variants!(batch_avx2) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { variants!(batch_avx512) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn batch_avx2<const ADVANCING: bool>(
    model: &ModelConstants,
    constants: &ChunkConstants,
    horizon_months: u32,
    batch: &mut [PathJob<'_>],
    s: &mut BatchScratch,
    loan_sums: &mut [LoanSums],
) {
    batch_generic::<ADVANCING>(model, constants, horizon_months, batch, s, loan_sums)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
fn batch_avx512<const ADVANCING: bool>(
    model: &ModelConstants,
    constants: &ChunkConstants,
    horizon_months: u32,
    batch: &mut [PathJob<'_>],
    s: &mut BatchScratch,
    loan_sums: &mut [LoanSums],
) {
    batch_generic::<ADVANCING>(model, constants, horizon_months, batch, s, loan_sums)
}

#[inline(always)]
fn batch_generic<const ADVANCING: bool>(
    model: &ModelConstants,
    c: &ChunkConstants,
    horizon_months: u32,
    batch: &mut [PathJob<'_>],
    s: &mut BatchScratch,
    loan_sums: &mut [LoanSums],
) {
    let n = c.n;
    let lag_months = model.loss.pipeline.recovery_lag_months;
    let lag_slots = s.lag_slots;
    let lag = f64::from(lag_months);
    let fixed = StepConstants {
        lag,
        lag_zero: lag_months == 0,
        // Months of lost interest of a cohort: its default month, the months in
        // foreclosure and its liquidation month (SIFMA's LOST INT months).
        interest_months: lag + 1.0,
        min_severity: model.loss.min_severity_pct / 100.0,
        foreclosure_cost: model.loss.foreclosure_cost_pct / 100.0,
        // Each path-month's own, set in `cash_flow_pass`.
        discount: 1.0,
        rule: LossRule::NetRecovery,
    };
    let paths = batch.len();
    s.annuity[..n].copy_from_slice(&c.annuity);
    s.inv_annuity[..n].copy_from_slice(&c.inv_annuity);
    s.remaining[..n].copy_from_slice(&c.remaining);
    s.annuity_sum[..n].fill(0.0);
    s.ring_annuity_sum.fill(0.0);
    for k in 0..paths {
        let one = k * CHUNK_LOANS..k * CHUNK_LOANS + n;
        s.perf[one.clone()].copy_from_slice(&c.upb);
        s.fcl[one.clone()].fill(0.0);
        s.burnt[one.clone()].copy_from_slice(&c.burnt_at_start);
        s.loan_pv[one.clone()].fill(0.0);
        s.loan_loss[one.clone()].fill(0.0);
        s.loan_credit_loss[one.clone()].fill(0.0);
        s.loan_default[one].fill(0.0);
        let rings = k * lag_slots * CHUNK_LOANS..(k + 1) * lag_slots * CHUNK_LOANS;
        s.ring_scaled[rings.clone()].fill(0.0);
        s.ring_raw[rings].fill(0.0);
    }
    // No loan pays after its maturity and the last-months rule empties the pipeline by
    // then, so months past the chunk's longest remaining term are all zero.
    let months = horizon_months.min(c.last_month);
    let p = &model.prepay;
    let d = &model.default;
    // Divisions by loop constants become multiplications (as in the generic kernel).
    let inv_prepay_seasoning = 1.0 / p.seasoning_months;
    let inv_default_seasoning = 1.0 / d.seasoning_months;
    for month in 1..=months {
        let slot = if lag_months == 0 {
            0
        } else {
            (month as usize - 1) % lag_months as usize
        };
        let ring_slot = slot * CHUNK_LOANS..slot * CHUNK_LOANS + n;
        shared_pass(
            fixed.lag_zero,
            f64::from(month),
            inv_prepay_seasoning,
            inv_default_seasoning,
            SharedIn {
                annuity: &s.annuity[..n],
                inv_annuity: &s.inv_annuity[..n],
                remaining: &s.remaining[..n],
                growth: &c.growth[..n],
                age: &c.age_months[..n],
                upb_per_annuity: &c.upb_per_annuity[..n],
                ltv_scale: &c.ltv_scale[..n],
            },
            &mut s.annuity_sum[..n],
            &mut s.ring_annuity_sum[ring_slot],
            &mut s.next_annuity[..n],
            &mut s.next_inv_annuity[..n],
            &mut s.ratio[..n],
            &mut s.since_default[..n],
            &mut s.ltv_base[..n],
            &mut s.prepay_seasoning[..n],
            &mut s.default_seasoning[..n],
        );
        for (k, job) in batch.iter_mut().enumerate() {
            let pm = job.months[month as usize - 1];
            let one = k * CHUNK_LOANS..k * CHUNK_LOANS + n;
            let ring =
                (k * lag_slots + slot) * CHUNK_LOANS..(k * lag_slots + slot) * CHUNK_LOANS + n;
            curve_pass(
                model,
                &pm,
                &c.note_rate_pct[..n],
                &s.ltv_base[..n],
                &mut s.refi_denominator[..n],
                &mut s.ltv_denominator[..n],
                &mut s.equity_damping[..n],
            );
            hazard_pass(
                model,
                &pm,
                HazardIn {
                    refi_denominator: &s.refi_denominator[..n],
                    ltv_denominator: &s.ltv_denominator[..n],
                    equity_damping: &s.equity_damping[..n],
                    refi_credit: &c.refi_credit[..n],
                    burnout_note: &c.burnout_note_factor[..n],
                    lock_in_note: &c.lock_in_note_factor[..n],
                    fico_multiplier: &c.fico_multiplier[..n],
                    prepay_seasoning: &s.prepay_seasoning[..n],
                    default_seasoning: &s.default_seasoning[..n],
                },
                &mut s.burnt[one.clone()],
                &mut s.smm[..n],
                &mut s.mdr[..n],
            );
            let state = (
                &mut s.perf[one.clone()],
                &mut s.fcl[one.clone()],
                &mut s.ring_scaled[ring.clone()],
                &mut s.ring_raw[ring],
                &mut s.loan_pv[one.clone()],
                &mut s.loan_loss[one.clone()],
                &mut s.loan_credit_loss[one.clone()],
                &mut s.loan_default[one],
            );
            let inputs = StepIn {
                annuity: &s.annuity[..n],
                inv_annuity: &s.inv_annuity[..n],
                remaining: &s.remaining[..n],
                ratio: &s.ratio[..n],
                since_default: &s.since_default[..n],
                gross: &c.gross[..n],
                net: &c.net[..n],
                mi_coverage: &c.mi_coverage[..n],
                mi_end_annuity: &c.mi_end_annuity[..n],
                value_per_scaled: &c.value_per_scaled[..n],
                smm: &s.smm[..n],
                mdr: &s.mdr[..n],
            };
            let (perf, fcl, ring_scaled, ring_raw, pv, loss, credit_loss, default) = state;
            let sums = if job.keep_loan_sums {
                cash_flow_pass::<ADVANCING, true>(
                    fixed,
                    &pm,
                    inputs,
                    perf,
                    fcl,
                    ring_scaled,
                    ring_raw,
                    pv,
                    loss,
                    credit_loss,
                    default,
                )
            } else {
                cash_flow_pass::<ADVANCING, false>(
                    fixed,
                    &pm,
                    inputs,
                    perf,
                    fcl,
                    ring_scaled,
                    ring_raw,
                    pv,
                    loss,
                    credit_loss,
                    default,
                )
            };
            job.table.add_month(month, &sums);
        }
        // The month is done for every path: the loans' schedules move on.
        std::mem::swap(&mut s.annuity, &mut s.next_annuity);
        std::mem::swap(&mut s.inv_annuity, &mut s.next_inv_annuity);
        for rem in &mut s.remaining[..n] {
            *rem -= 1.0;
        }
    }
    for (k, job) in batch.iter().enumerate() {
        if !job.keep_loan_sums {
            continue;
        }
        let base = k * CHUNK_LOANS;
        for (j, acc) in loan_sums.iter_mut().enumerate() {
            acc.add_scenario(
                s.loan_pv[base + j],
                s.loan_loss[base + j],
                s.loan_credit_loss[base + j],
                s.loan_default[base + j],
            );
        }
    }
}

/// What [`shared_pass`] reads.
struct SharedIn<'a> {
    annuity: &'a [f64],
    inv_annuity: &'a [f64],
    remaining: &'a [f64],
    growth: &'a [f64],
    age: &'a [f64],
    upb_per_annuity: &'a [f64],
    ltv_scale: &'a [f64],
}

/// The month's path-independent work, once for the whole batch: the annuity recurrence
/// (see [`annuity_factor`]) and its one division, the pipeline's annuity sums, seasoning
/// and the scheduled balance's LTV base.
#[inline(always)]
// Every written column is its own argument: only then does the compiler know that no
// two overlap, and vectorise without run-time alias checks (it gives up when there are
// too many to check).
#[allow(clippy::too_many_arguments)]
fn shared_pass(
    lag_zero: bool,
    month: f64,
    inv_prepay_seasoning: f64,
    inv_default_seasoning: f64,
    i: SharedIn<'_>,
    annuity_sum: &mut [f64],
    ring_annuity_sum: &mut [f64],
    next_annuity: &mut [f64],
    next_inv_annuity: &mut [f64],
    ratio: &mut [f64],
    since_default: &mut [f64],
    ltv_base: &mut [f64],
    prepay_seasoning: &mut [f64],
    default_seasoning: &mut [f64],
) {
    let n = i.annuity.len();
    let (annuity, inv_annuity, remaining, growth, age, upb_per_annuity, ltv_scale) = (
        &i.annuity[..n],
        &i.inv_annuity[..n],
        &i.remaining[..n],
        &i.growth[..n],
        &i.age[..n],
        &i.upb_per_annuity[..n],
        &i.ltv_scale[..n],
    );
    let (annuity_sum, ring_annuity_sum, next_annuity, next_inv_annuity) = (
        &mut annuity_sum[..n],
        &mut ring_annuity_sum[..n],
        &mut next_annuity[..n],
        &mut next_inv_annuity[..n],
    );
    let (ratio, since_default) = (&mut ratio[..n], &mut since_default[..n]);
    let (ltv_base, prepay_seasoning, default_seasoning) = (
        &mut ltv_base[..n],
        &mut prepay_seasoning[..n],
        &mut default_seasoning[..n],
    );
    for j in 0..n {
        let rem = remaining[j];
        let a0 = annuity[j];
        // Annuity factor after this payment; exactly zero once the loan has matured.
        let a1 = if rem > 1.5 { a0 * growth[j] - 1.0 } else { 0.0 };
        let inv_a1 = if rem > 1.5 { 1.0 / a1 } else { 0.0 };
        let r = a1 * inv_annuity[j];
        next_annuity[j] = a1;
        next_inv_annuity[j] = inv_a1;
        ratio[j] = r;
        let sum_before = annuity_sum[j];
        let sum_through = sum_before + a0;
        annuity_sum[j] = sum_through;
        // With a lag of 0 the cohort liquidated is this month's own.
        let at_default = if lag_zero {
            sum_before
        } else {
            ring_annuity_sum[j]
        };
        ring_annuity_sum[j] = sum_before;
        since_default[j] = sum_through - at_default;
        let loan_age = age[j] + month;
        let scheduled = upb_per_annuity[j] * a0;
        ltv_base[j] = scheduled * ltv_scale[j];
        prepay_seasoning[j] = (loan_age * inv_prepay_seasoning).min(1.0);
        default_seasoning[j] = (loan_age * inv_default_seasoning).min(1.0);
    }
}

/// Logistic arguments are bounded so the product of the two denominators stays finite
/// (e^300 squared is far below the f64 range).
// `f64::clamp` asserts its bounds, and that panic path stops loop vectorisation.
#[allow(clippy::manual_clamp)]
#[inline(always)]
fn bound(z: f64) -> f64 {
    z.max(-300.0).min(300.0)
}

/// Pass A: the refinancing and default S-curves' denominators and the equity damping,
/// three independent exps per loan.
#[inline(always)]
fn curve_pass(
    model: &ModelConstants,
    pm: &PathMonth,
    note: &[f64],
    ltv_base: &[f64],
    refi_denominator: &mut [f64],
    ltv_denominator: &mut [f64],
    equity_damping: &mut [f64],
) {
    let (p, d) = (&model.prepay, &model.default);
    let n = note.len();
    let (ltv_base, refi_denominator, ltv_denominator, equity_damping) = (
        &ltv_base[..n],
        &mut refi_denominator[..n],
        &mut ltv_denominator[..n],
        &mut equity_damping[..n],
    );
    let mortgage_pct = pm.mortgage_pct;
    let inv_hpi_start = pm.inv_hpi_start;
    for j in 0..n {
        let mtm_ltv_pct = ltv_base[j] * inv_hpi_start;
        let incentive = note[j] - mortgage_pct;
        refi_denominator[j] = 1.0
            + exp(bound(
                -p.refi_slope_per_pct * (incentive - p.refi_midpoint_pct),
            ));
        ltv_denominator[j] = 1.0
            + exp(bound(
                -d.ltv_slope_per_pct * (mtm_ltv_pct - d.ltv_midpoint_pct),
            ));
        equity_damping[j] = exp(bound(
            -p.refi_ltv_damping_per_pct * (mtm_ltv_pct - p.refi_ltv_threshold_pct).max(0.0),
        ));
    }
}

/// What [`hazard_pass`] reads.
struct HazardIn<'a> {
    refi_denominator: &'a [f64],
    ltv_denominator: &'a [f64],
    equity_damping: &'a [f64],
    refi_credit: &'a [f64],
    burnout_note: &'a [f64],
    lock_in_note: &'a [f64],
    fico_multiplier: &'a [f64],
    prepay_seasoning: &'a [f64],
    default_seasoning: &'a [f64],
}

/// Pass B: both S-curves from one division, burnout, the hazards, and the SMM and MDR
/// exps.
#[inline(always)]
fn hazard_pass(
    model: &ModelConstants,
    pm: &PathMonth,
    i: HazardIn<'_>,
    burnt: &mut [f64],
    smm: &mut [f64],
    mdr: &mut [f64],
) {
    let (p, d) = (&model.prepay, &model.default);
    let n = burnt.len();
    let (refi_denominator, ltv_denominator, equity_damping, refi_credit) = (
        &i.refi_denominator[..n],
        &i.ltv_denominator[..n],
        &i.equity_damping[..n],
        &i.refi_credit[..n],
    );
    let (burnout_note, lock_in_note, fico_multiplier) = (
        &i.burnout_note[..n],
        &i.lock_in_note[..n],
        &i.fico_multiplier[..n],
    );
    let (prepay_seasoning, default_seasoning, smm, mdr) = (
        &i.prepay_seasoning[..n],
        &i.default_seasoning[..n],
        &mut smm[..n],
        &mut mdr[..n],
    );
    let turnover = p.turnover_pct / 100.0;
    let (mobility_hpa, burnout_month, lock_in_month, seasonal) = (
        pm.mobility_hpa,
        pm.burnout_month,
        pm.lock_in_month,
        pm.seasonal,
    );
    for j in 0..n {
        let refi_den = refi_denominator[j];
        let ltv_den = ltv_denominator[j];
        // Both S-curves share one division: 1/(d1 d2) gives 1/d1 and 1/d2.
        let inv_both = 1.0 / (refi_den * ltv_den);
        let refi = refi_credit[j] * equity_damping[j] * ltv_den * inv_both;
        let ltv_curve = d.max_pct * refi_den * inv_both;
        let burnout = p.burnout_floor + (1.0 - p.burnout_floor) * burnt[j];
        burnt[j] *= (burnout_note[j] * burnout_month).min(1.0);
        let mobility = mobility_hpa * (lock_in_note[j] * lock_in_month).min(1.0);
        let prepay_hazard = (turnover * mobility + refi * burnout) * prepay_seasoning[j] * seasonal;
        smm[j] = 1.0 - exp(-prepay_hazard * MONTHS_PER_YEAR_INV);
        // fico_multiplier includes the percent-to-fraction 1/100.
        let default_hazard = (d.floor_pct + ltv_curve) * fico_multiplier[j] * default_seasoning[j];
        mdr[j] = 1.0 - exp(-default_hazard * MONTHS_PER_YEAR_INV);
    }
}

/// What [`cash_flow_pass`] reads.
struct StepIn<'a> {
    annuity: &'a [f64],
    inv_annuity: &'a [f64],
    remaining: &'a [f64],
    ratio: &'a [f64],
    since_default: &'a [f64],
    gross: &'a [f64],
    net: &'a [f64],
    mi_coverage: &'a [f64],
    mi_end_annuity: &'a [f64],
    value_per_scaled: &'a [f64],
    smm: &'a [f64],
    mdr: &'a [f64],
}

/// Pass C: the SIFMA default cash-flow step (see the generic kernel's month step for the
/// formulas) under [`crate::kernel::LossRule::NetRecovery`], and the month's exact sums.
#[inline(always)]
// The path's state columns are separate arguments, as in `shared_pass`.
#[allow(clippy::too_many_arguments)]
fn cash_flow_pass<const ADVANCING: bool, const PER_LOAN: bool>(
    k: StepConstants,
    pm: &PathMonth,
    i: StepIn<'_>,
    perf: &mut [f64],
    fcl: &mut [f64],
    ring_scaled: &mut [f64],
    ring_raw: &mut [f64],
    loan_pv: &mut [f64],
    loan_loss: &mut [f64],
    loan_credit_loss: &mut [f64],
    loan_default: &mut [f64],
) -> [i64; SUMMED_COUNT] {
    let n = perf.len();
    let (annuity, inv_annuity, remaining, ratio, since_default) = (
        &i.annuity[..n],
        &i.inv_annuity[..n],
        &i.remaining[..n],
        &i.ratio[..n],
        &i.since_default[..n],
    );
    let (gross, net, mi_coverage, mi_end_annuity, value_per_scaled, smm, mdr_in) = (
        &i.gross[..n],
        &i.net[..n],
        &i.mi_coverage[..n],
        &i.mi_end_annuity[..n],
        &i.value_per_scaled[..n],
        &i.smm[..n],
        &i.mdr[..n],
    );
    let (fcl, ring_scaled, ring_raw) = (&mut fcl[..n], &mut ring_scaled[..n], &mut ring_raw[..n]);
    let (loan_pv, loan_loss, loan_credit_loss, loan_default) = (
        &mut loan_pv[..n],
        &mut loan_loss[..n],
        &mut loan_credit_loss[..n],
        &mut loan_default[..n],
    );
    let recovery_factor = pm.recovery_factor;
    let discount = pm.discount;
    let mut sums = [0i64; SUMMED_COUNT];
    for j in 0..n {
        let o = loan_month::<ADVANCING>(
            &k,
            LoanMonthIn {
                perf0: perf[j],
                fcl0: fcl[j],
                a0: annuity[j],
                inv_a0: inv_annuity[j],
                ratio: ratio[j],
                smm: smm[j],
                // C.3.j: no new defaults in the last L months before maturity.
                mdr: if remaining[j] > k.lag { mdr_in[j] } else { 0.0 },
                ring_scaled: ring_scaled[j],
                ring_raw: ring_raw[j],
                since_default: since_default[j],
                gross: gross[j],
                net: net[j],
                mi_coverage: mi_coverage[j],
                mi_end_annuity: mi_end_annuity[j],
                severity: 0.0,
                recovery: recovery_factor * value_per_scaled[j],
            },
        );
        ring_scaled[j] = o.ring_scaled;
        ring_raw[j] = o.new_default;
        perf[j] = o.perf;
        fcl[j] = o.fcl;
        if PER_LOAN {
            loan_pv[j] += discount * o.cash_flow;
            loan_loss[j] += o.loss;
            loan_credit_loss[j] += o.credit_loss;
            loan_default[j] += o.new_default;
        }
        add_biased_units(&mut sums, o.amounts);
    }
    let bias = rounding_bias_units(n);
    for sum in &mut sums {
        *sum = sum.wrapping_sub(bias);
    }
    sums
}
