//! Minimal kernels: the engine's deterministic and stochastic models written for the
//! benchmark's case alone (new loans of one term, advancing, every scenario a random
//! draw), as plainly and as fast as I can, so that the criterion benches can measure how
//! close the engine's general kernels come. Same formulas and the same IEEE operations in
//! the same order per loan-month, so the same bits: the tests below compare every table
//! and per-loan sum with the engine's.
//!
//! What they leave out, against the engine: instruction-set dispatch beyond the one
//! detected variant, the non-advancing pipeline, stress paths and risk bump blocks, loan
//! sorting and shard ranges, thread groups, and every check the engine makes on its inputs.

use engine::cashflow::SUMMED_COUNT;
use engine::fastexp::exp_rate;
use engine::kernel::{MI_TERMINATION_LTV, annuity_factor};
use engine::money::{rounding_bias_units, usd_to_biased_units};
use engine::portfolio::MAX_TERM_MONTHS;
use engine::risk::LoanSums;
use engine::stochastic::{SEASONALITY, StochasticModel};
use engine::{CashflowTable, DeterministicModel, Isa, Portfolio};

const CHUNK: usize = 256;
const BATCH: usize = 8;
const MONTHS_PER_YEAR_INV: f64 = 1.0 / 12.0;

/// One scenario's month sums, `months x SUMMED_COUNT`.
type Sums = Vec<i64>;

/// The loan constants both kernels share.
struct Loans {
    upb: Vec<f64>,
    annuity: Vec<f64>,
    growth: Vec<f64>,
    gross: Vec<f64>,
    net: Vec<f64>,
    mi_coverage: Vec<f64>,
    mi_end_annuity: Vec<f64>,
    remaining: Vec<f64>,
    age: Vec<u32>,
}

impl Loans {
    fn new(portfolio: &Portfolio) -> Loans {
        let n = portfolio.len();
        let mut l = Loans {
            upb: Vec::with_capacity(n),
            annuity: Vec::with_capacity(n),
            growth: Vec::with_capacity(n),
            gross: Vec::with_capacity(n),
            net: Vec::with_capacity(n),
            mi_coverage: Vec::with_capacity(n),
            mi_end_annuity: Vec::with_capacity(n),
            remaining: Vec::with_capacity(n),
            age: portfolio.loan_age_months().to_vec(),
        };
        for j in 0..n {
            let upb = portfolio.current_upb()[j];
            let rate_pct = portfolio.note_rate_pct()[j];
            let c = rate_pct / 1200.0;
            let rem = portfolio.remaining_term_months(j);
            let a = annuity_factor(c, rem);
            l.upb.push(upb);
            l.annuity.push(a);
            l.growth.push(1.0 + c);
            l.gross.push(c);
            l.net
                .push((rate_pct - portfolio.servicing_fee_pct()[j]) / 1200.0);
            l.mi_coverage.push(portfolio.mi_pct()[j] / 100.0);
            l.mi_end_annuity
                .push(portfolio.orig_ltv_pct()[j].map_or(0.0, |ltv_pct| {
                    let value =
                        engine::marks::origination_balance(portfolio, j) / (ltv_pct / 100.0);
                    MI_TERMINATION_LTV * value * a / upb
                }));
            l.remaining.push(f64::from(rem));
        }
        l
    }
}

fn tables(sums: Vec<Sums>, months: u32) -> Vec<CashflowTable> {
    sums.into_iter()
        .map(|s| CashflowTable::from_units(months, true, s).expect("months x columns"))
        .collect()
}

/// The deterministic model (SIFMA's step under age-indexed SMM and MDR tables, severity of
/// the defaulted balance) on one thread: the month's table.
///
/// # Panics
/// Unless the model advances with a recovery lag of at least one month and every loan
/// has the same remaining term.
pub fn deterministic(
    portfolio: &Portfolio,
    model: &DeterministicModel,
    months: u32,
) -> CashflowTable {
    let pipeline = model.pipeline();
    assert!(pipeline.advancing && pipeline.recovery_lag_months > 0);
    let loans = Loans::new(portfolio);
    assert!(loans.remaining.windows(2).all(|w| w[0] == w[1]), "one term");
    let ages = 0..=MAX_TERM_MONTHS;
    // Fixed-size tables: an index clamped to the last age needs no bounds check, which
    // would stop the fused loop from vectorising.
    let mut smm_by_age = [0.0; AGES];
    let mut mdr_by_age = [0.0; AGES];
    for m in ages {
        smm_by_age[m as usize] = model.smm(m);
        mdr_by_age[m as usize] = model.mdr(m);
    }
    let severity = model.severity_pct() / 100.0;
    let cost = model.foreclosure_cost_pct() / 100.0;
    let lag = pipeline.recovery_lag_months as usize;
    let mut sums = vec![0i64; months as usize * SUMMED_COUNT];
    for start in (0..portfolio.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(portfolio.len());
        let k = Deterministic {
            smm_by_age: &smm_by_age,
            mdr_by_age: &mdr_by_age,
            severity,
            cost,
            lag,
        };
        deterministic_chunk(&k, &loans, start..end, months, &mut sums);
    }
    tables(vec![sums], months).remove(0)
}

/// Compiles `$body` (a call of an `#[inline(always)]` chunk function) for AVX-512, AVX2
/// and the baseline, and runs the best variant the engine detects: a closure passed to a
/// `#[target_feature]` function would be compiled for the baseline.
macro_rules! on_best_isa {
    (fn $name:ident($($arg:ident: $ty:ty),*) $body:block) => {
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) $body
                #[target_feature(enable = "avx512f,avx512dq,avx512vl")]
                #[allow(clippy::too_many_arguments)]
                fn avx512($($arg: $ty),*) $body
                match Isa::detect() {
                    // SAFETY: `Isa::detect` checked that the CPU has these features.
                    Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    Isa::Baseline => {}
                }
            }
            $body
        }
    };
}

on_best_isa! {
    fn deterministic_chunk(
        k: &Deterministic<'_>,
        l: &Loans,
        range: std::ops::Range<usize>,
        months: u32,
        out: &mut [i64]
    ) {
        k.chunk(l, range, months, out)
    }
}

on_best_isa! {
    fn stochastic_chunk(
        k: &Stochastic,
        l: &Loans,
        t: &Traits,
        range: std::ops::Range<usize>,
        months: u32,
        paths: &[Vec<PathMonth>],
        out: &mut [Sums],
        loan_sums: &mut [LoanSums]
    ) {
        k.chunk(l, t, range, months, paths, out, loan_sums)
    }
}

/// Age months 0..=MAX_TERM_MONTHS.
const AGES: usize = MAX_TERM_MONTHS as usize + 1;

struct Deterministic<'a> {
    smm_by_age: &'a [f64; AGES],
    mdr_by_age: &'a [f64; AGES],
    severity: f64,
    cost: f64,
    lag: usize,
}

impl Deterministic<'_> {
    #[inline(always)]
    fn chunk(&self, l: &Loans, range: std::ops::Range<usize>, months: u32, out: &mut [i64]) {
        let n = range.len();
        let lag = self.lag;
        let mut st = vec![[0.0; CHUNK]; 6];
        let [perf, fcl, a, inv_a, rem, asum] = &mut st[..] else {
            unreachable!()
        };
        let mut rings = vec![0.0; 3 * lag * CHUNK];
        let (ring_scaled, rest) = rings.split_at_mut(lag * CHUNK);
        let (ring_raw, ring_asum) = rest.split_at_mut(lag * CHUNK);
        let r0 = range.start;
        for j in 0..n {
            perf[j] = l.upb[r0 + j];
            a[j] = l.annuity[r0 + j];
            inv_a[j] = 1.0 / a[j];
            rem[j] = l.remaining[r0 + j];
        }
        let last = (rem[..n].iter().fold(0.0f64, |m, &r| m.max(r)) as u32).min(months);
        for month in 1..=last {
            let slot = (month as usize - 1) % lag * CHUNK..;
            let s = self.month(
                month,
                &l.growth[range.clone()],
                &l.gross[range.clone()],
                &l.net[range.clone()],
                &l.mi_coverage[range.clone()],
                &l.mi_end_annuity[range.clone()],
                &l.age[range.clone()],
                &mut perf[..n],
                &mut fcl[..n],
                &mut a[..n],
                &mut inv_a[..n],
                &mut rem[..n],
                &mut asum[..n],
                &mut ring_scaled[slot.clone()][..n],
                &mut ring_raw[slot.clone()][..n],
                &mut ring_asum[slot][..n],
            );
            let row = &mut out[(month as usize - 1) * SUMMED_COUNT..][..SUMMED_COUNT];
            for (o, x) in row.iter_mut().zip(s) {
                *o += x;
            }
        }
    }

    /// One month of a chunk, fused: rates looked up and the SIFMA step in one loop. Every
    /// column is its own argument so that the compiler knows none overlap.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn month(
        &self,
        month: u32,
        growth: &[f64],
        gross: &[f64],
        net: &[f64],
        cov: &[f64],
        mi_end: &[f64],
        age: &[u32],
        perf: &mut [f64],
        fcl: &mut [f64],
        a: &mut [f64],
        inv_a: &mut [f64],
        rem: &mut [f64],
        asum: &mut [f64],
        ring_scaled: &mut [f64],
        ring_raw: &mut [f64],
        ring_asum: &mut [f64],
    ) -> [i64; SUMMED_COUNT] {
        let n = perf.len();
        let (growth, gross, net, cov, mi_end, age) = (
            &growth[..n],
            &gross[..n],
            &net[..n],
            &cov[..n],
            &mi_end[..n],
            &age[..n],
        );
        let (fcl, a, inv_a, rem, asum) = (
            &mut fcl[..n],
            &mut a[..n],
            &mut inv_a[..n],
            &mut rem[..n],
            &mut asum[..n],
        );
        let (ring_scaled, ring_raw, ring_asum) = (
            &mut ring_scaled[..n],
            &mut ring_raw[..n],
            &mut ring_asum[..n],
        );
        let lag_f = self.lag as f64;
        let interest_months = lag_f + 1.0;
        // The rates first, in a loop of their own: a gather in the step loop would keep
        // it from vectorising.
        let last_age = MAX_TERM_MONTHS as usize;
        let mut smm = [0.0; CHUNK];
        let mut mdr_of_age = [0.0; CHUNK];
        for j in 0..n {
            let m = ((age[j] + month) as usize).min(last_age);
            smm[j] = self.smm_by_age[m];
            mdr_of_age[j] = self.mdr_by_age[m];
        }
        let mut s = [0i64; SUMMED_COUNT];
        for j in 0..n {
            let perf0 = perf[j];
            let fcl0 = fcl[j];
            let a0 = a[j];
            let live = rem[j] > 1.5;
            let a1 = if live { a0 * growth[j] - 1.0 } else { 0.0 };
            let inv_a1 = if live { 1.0 / a1 } else { 0.0 };
            let r = a1 * inv_a[j];
            let omr = 1.0 - r;
            let mdr = if rem[j] > lag_f { mdr_of_age[j] } else { 0.0 };
            let new_def = perf0 * mdr;
            let before = asum[j];
            let through = before + a0;
            asum[j] = through;
            let (scaled, raw, at_default) = (ring_scaled[j], ring_raw[j], ring_asum[j]);
            let adb = scaled * a0;
            let loss = (raw * self.severity).min(adb);
            ring_scaled[j] = new_def * inv_a[j];
            ring_raw[j] = new_def;
            ring_asum[j] = before;
            let int_loss = raw * interest_months * net[j];
            let recouped = scaled * (through - at_default) * net[j];
            let fc_cost = raw * self.cost;
            let uncovered = loss + int_loss + fc_cost;
            let insured = if raw > mi_end[j] * scaled {
                cov[j]
            } else {
                0.0
            };
            let mi = ((raw + int_loss + fc_cost) * insured).min(uncovered);
            let pipe = (new_def + fcl0 - adb).max(0.0);
            let exp_am = (perf0 + fcl0 - adb) * omr;
            let am_def = pipe * omr;
            let paying = perf0 - new_def;
            let act_am = paying * omr;
            let vol = (perf0 * r * smm[j]).min(paying * r);
            let perf1 = paying * r - vol;
            let fcl1 = pipe * r;
            let exp_int = (perf0 + fcl0) * gross[j];
            let lost_int = (new_def + fcl0) * gross[j];
            let net_int = (perf0 + fcl0) * net[j];
            perf[j] = perf1;
            fcl[j] = fcl1;
            a[j] = a1;
            inv_a[j] = inv_a1;
            rem[j] -= 1.0;
            let amounts = [
                perf1, new_def, fcl1, exp_am, vol, am_def, act_am, exp_int, lost_int, net_int, adb,
                loss, int_loss, fc_cost, mi, recouped,
            ];
            for (sum, x) in s.iter_mut().zip(amounts) {
                *sum = sum.wrapping_add(usd_to_biased_units(x));
            }
        }
        let bias = rounding_bias_units(n);
        s.map(|x| x.wrapping_sub(bias))
    }
}

/// The stochastic model's per-path month constants (see the engine's `PathMonth`).
#[derive(Clone, Copy, Default)]
struct PathMonth {
    mortgage_pct: f64,
    inv_hpi: f64,
    mobility_hpa: f64,
    burnout: f64,
    lock_in: f64,
    seasonal: f64,
    recovery: f64,
    discount: f64,
}

/// The stochastic model (refinancing, turnover, burnout, MTM-LTV default, net-recovery
/// loss) on one thread over scenarios `0..scenarios`: each scenario's table and each
/// loan's sums.
///
/// # Panics
/// Unless the model advances with a recovery lag of at least one month, has no stress
/// paths or bumps, and every loan has the same remaining term.
pub fn stochastic(
    portfolio: &Portfolio,
    model: &StochasticModel,
    months: u32,
    scenarios: u32,
) -> (Vec<CashflowTable>, Vec<LoanSums>) {
    let pipeline = model.pipeline();
    assert!(pipeline.advancing && pipeline.recovery_lag_months > 0);
    assert!(model.bumps().is_empty());
    assert_eq!(model.scenarios().random_count(), model.scenarios().count());
    let (p, d, l) = (model.prepay(), model.default_params(), model.loss());
    let loans = Loans::new(portfolio);
    assert!(loans.remaining.windows(2).all(|w| w[0] == w[1]), "one term");
    let initial = model.scenarios().house_prices().initial_hpa_pct / 100.0;
    let paths: Vec<Vec<PathMonth>> = (0..scenarios)
        .map(|k| {
            let path = model.scenarios().path(k);
            let df = model.discount_factors(&path);
            (1..=months as usize)
                .map(|m| {
                    let mortgage_pct = path.mortgage_rate[m - 1] * 100.0;
                    let year_ago = if m >= 13 {
                        path.hpi[m - 13]
                    } else {
                        libm::pow(1.0 + initial, (m as f64 - 13.0) / 12.0)
                    };
                    let hpa_pct = 100.0 * (path.hpi[m - 1] / year_ago - 1.0);
                    let moy = (model.first_month_of_year() - 1 + m as u32 - 1) % 12;
                    PathMonth {
                        mortgage_pct,
                        inv_hpi: 1.0 / path.hpi[m - 1],
                        #[allow(clippy::manual_clamp)]
                        mobility_hpa: libm::exp(
                            p.turnover_hpa_per_pct * hpa_pct.max(-50.0).min(50.0),
                        ),
                        burnout: libm::exp(
                            p.burnout_per_pct_year * mortgage_pct * MONTHS_PER_YEAR_INV,
                        ),
                        lock_in: libm::exp(-p.lock_in_per_pct * mortgage_pct),
                        seasonal: if p.seasonality {
                            SEASONALITY[moy as usize]
                        } else {
                            1.0
                        },
                        recovery: path.hpi[m]
                            * (1.0 - l.reo_discount_pct / 100.0)
                            * (1.0 - l.sale_cost_pct / 100.0),
                        discount: df[m],
                    }
                })
                .collect()
        })
        .collect();
    // Loan traits of the behaviour models.
    let n_all = portfolio.len();
    let mut t = Traits::default();
    let run_date_pct = model.scenarios().run_date_mortgage_rate() * 100.0;
    for j in 0..n_all {
        let upb = loans.upb[j];
        let a = loans.annuity[j];
        let value = portfolio.marked_value()[j]
            .unwrap_or_else(|| engine::marks::origination_value(portfolio, j, d.missing_ltv_pct));
        let note = portfolio.note_rate_pct()[j];
        let fico = portfolio.fico()[j].map_or(d.missing_fico, f64::from);
        t.per_annuity.push(upb / a);
        t.ltv_scale.push(100.0 / value);
        t.value_per_scaled.push(value * a / upb);
        t.note.push(note);
        t.fico
            .push(libm::exp(-d.fico_slope_per_100 * (fico - 740.0) / 100.0) / 100.0);
        t.refi_credit.push(
            p.refi_max_pct / 100.0
                * libm::exp(-p.refi_fico_damping_per_100 * (740.0 - fico).max(0.0) / 100.0),
        );
        t.burnout_note.push(libm::exp(
            -p.burnout_per_pct_year * note * MONTHS_PER_YEAR_INV,
        ));
        t.lock_in_note.push(libm::exp(p.lock_in_per_pct * note));
        let age = f64::from(loans.age[j]);
        t.age.push(age);
        let seed = (note - run_date_pct).max(0.0) * age * MONTHS_PER_YEAR_INV;
        t.burnt0.push(libm::exp(-p.burnout_per_pct_year * seed));
    }
    let mut sums: Vec<Sums> = vec![vec![0i64; months as usize * SUMMED_COUNT]; scenarios as usize];
    let mut loan_sums = vec![LoanSums::default(); n_all];
    let k = Stochastic {
        p: *p,
        d: *d,
        min_severity: l.min_severity_pct / 100.0,
        cost: l.foreclosure_cost_pct / 100.0,
        lag: pipeline.recovery_lag_months as usize,
    };
    for start in (0..n_all).step_by(CHUNK) {
        let end = (start + CHUNK).min(n_all);
        for (b, batch) in paths.chunks(BATCH).enumerate() {
            let out = &mut sums[b * BATCH..][..batch.len()];
            let ls = &mut loan_sums[start..end];
            stochastic_chunk(&k, &loans, &t, start..end, months, batch, out, ls);
        }
    }
    (tables(sums, months), loan_sums)
}

#[derive(Default)]
struct Traits {
    per_annuity: Vec<f64>,
    ltv_scale: Vec<f64>,
    value_per_scaled: Vec<f64>,
    note: Vec<f64>,
    fico: Vec<f64>,
    refi_credit: Vec<f64>,
    burnout_note: Vec<f64>,
    lock_in_note: Vec<f64>,
    age: Vec<f64>,
    burnt0: Vec<f64>,
}

struct Stochastic {
    p: engine::stochastic::PrepayParams,
    d: engine::stochastic::DefaultParams,
    min_severity: f64,
    cost: f64,
    lag: usize,
}

#[allow(clippy::manual_clamp)]
#[inline(always)]
fn bound(z: f64) -> f64 {
    z.max(-300.0).min(300.0)
}

impl Stochastic {
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn chunk(
        &self,
        l: &Loans,
        t: &Traits,
        range: std::ops::Range<usize>,
        months: u32,
        paths: &[Vec<PathMonth>],
        out: &mut [Sums],
        loan_sums: &mut [LoanSums],
    ) {
        let (p, d) = (&self.p, &self.d);
        let n = range.len();
        let lag = self.lag;
        let r0 = range.start;
        let np = paths.len();
        let col = || vec![0.0; CHUNK];
        // Path-independent state and the month's shared columns.
        let (mut a, mut inv_a, mut rem, mut asum) = (col(), col(), col(), col());
        let mut ring_asum = vec![0.0; lag * CHUNK];
        let (mut a1s, mut inv_a1s, mut ratio, mut omr) = (col(), col(), col(), col());
        let (mut since, mut ltv_base, mut pseas, mut dseas) = (col(), col(), col(), col());
        // Per-path state.
        let cols = || vec![vec![0.0; CHUNK]; np];
        let (mut perf, mut fcl, mut burnt) = (cols(), cols(), cols());
        let (mut pv, mut loss, mut credit, mut defaults) = (cols(), cols(), cols(), cols());
        let rings = || vec![vec![0.0; lag * CHUNK]; np];
        let (mut ring_scaled, mut ring_raw) = (rings(), rings());
        // One path-month's columns.
        let (mut refi_den, mut ltv_den, mut equity, mut smm, mut mdr) =
            (col(), col(), col(), col(), col());
        for j in 0..n {
            a[j] = l.annuity[r0 + j];
            inv_a[j] = 1.0 / a[j];
            rem[j] = l.remaining[r0 + j];
            for k in 0..np {
                perf[k][j] = l.upb[r0 + j];
                burnt[k][j] = t.burnt0[r0 + j];
            }
        }
        let g = |v: &'_ [f64]| -> Vec<f64> { v[range.clone()].to_vec() };
        let (growth, gross, net, cov, mi_end) = (
            g(&l.growth),
            g(&l.gross),
            g(&l.net),
            g(&l.mi_coverage),
            g(&l.mi_end_annuity),
        );
        let (per_annuity, ltv_scale, vps, note, fico) = (
            g(&t.per_annuity),
            g(&t.ltv_scale),
            g(&t.value_per_scaled),
            g(&t.note),
            g(&t.fico),
        );
        let (refi_credit, burnout_note, lock_in_note, age) = (
            g(&t.refi_credit),
            g(&t.burnout_note),
            g(&t.lock_in_note),
            g(&t.age),
        );
        let last = (rem[..n].iter().fold(0.0f64, |m, &r| m.max(r)) as u32).min(months);
        let inv_ps = 1.0 / p.seasoning_months;
        let inv_ds = 1.0 / d.seasoning_months;
        for month in 1..=last {
            let slot = (month as usize - 1) % lag * CHUNK..;
            shared(
                f64::from(month),
                [inv_ps, inv_ds],
                [
                    &growth,
                    &a[..n],
                    &inv_a[..n],
                    &age,
                    &per_annuity,
                    &ltv_scale,
                ],
                &mut asum[..n],
                &mut ring_asum[slot.clone()][..n],
                &mut a1s[..n],
                &mut inv_a1s[..n],
                &mut ratio[..n],
                &mut omr[..n],
                &mut since[..n],
                &mut ltv_base[..n],
                &mut pseas[..n],
                &mut dseas[..n],
                &rem[..n],
            );
            for k in 0..np {
                let pm = &paths[k][month as usize - 1];
                self.curves(
                    pm,
                    &note,
                    &ltv_base[..n],
                    &mut refi_den[..n],
                    &mut ltv_den[..n],
                    &mut equity[..n],
                );
                self.hazards(
                    pm,
                    [
                        &refi_den[..n],
                        &ltv_den[..n],
                        &equity[..n],
                        &refi_credit,
                        &burnout_note,
                        &lock_in_note,
                        &fico,
                        &pseas[..n],
                        &dseas[..n],
                    ],
                    &mut burnt[k][..n],
                    &mut smm[..n],
                    &mut mdr[..n],
                );
                let s = self.step(
                    pm,
                    &a[..n],
                    &inv_a[..n],
                    &rem[..n],
                    &ratio[..n],
                    &omr[..n],
                    &since[..n],
                    &gross,
                    &net,
                    &cov,
                    &mi_end,
                    &vps,
                    &smm[..n],
                    &mdr[..n],
                    &mut perf[k][..n],
                    &mut fcl[k][..n],
                    &mut ring_scaled[k][slot.clone()][..n],
                    &mut ring_raw[k][slot.clone()][..n],
                    &mut pv[k][..n],
                    &mut loss[k][..n],
                    &mut credit[k][..n],
                    &mut defaults[k][..n],
                );
                let row = &mut out[k][(month as usize - 1) * SUMMED_COUNT..][..SUMMED_COUNT];
                for (o, x) in row.iter_mut().zip(s) {
                    *o += x;
                }
            }
            std::mem::swap(&mut a, &mut a1s);
            std::mem::swap(&mut inv_a, &mut inv_a1s);
            for r in &mut rem[..n] {
                *r -= 1.0;
            }
        }
        for k in 0..np {
            for (j, acc) in loan_sums.iter_mut().enumerate() {
                acc.add_scenario(pv[k][j], loss[k][j], credit[k][j], defaults[k][j]);
            }
        }
    }

    /// Pass A: the two S-curve denominators and the equity damping.
    #[inline(always)]
    fn curves(
        &self,
        pm: &PathMonth,
        note: &[f64],
        ltv_base: &[f64],
        refi_den: &mut [f64],
        ltv_den: &mut [f64],
        equity: &mut [f64],
    ) {
        let (p, d) = (&self.p, &self.d);
        let n = note.len();
        let (ltv_base, refi_den, ltv_den, equity) = (
            &ltv_base[..n],
            &mut refi_den[..n],
            &mut ltv_den[..n],
            &mut equity[..n],
        );
        for j in 0..n {
            let mtm = ltv_base[j] * pm.inv_hpi;
            let incentive = note[j] - pm.mortgage_pct;
            refi_den[j] = 1.0
                + exp_rate(bound(
                    -p.refi_slope_per_pct * (incentive - p.refi_midpoint_pct),
                ));
            ltv_den[j] = 1.0 + exp_rate(bound(-d.ltv_slope_per_pct * (mtm - d.ltv_midpoint_pct)));
            equity[j] = exp_rate(bound(
                -p.refi_ltv_damping_per_pct * (mtm - p.refi_ltv_threshold_pct).max(0.0),
            ));
        }
    }

    /// Pass B: the shared division, burnout, the hazards, and the SMM and MDR exps.
    #[inline(always)]
    fn hazards(
        &self,
        pm: &PathMonth,
        i: [&[f64]; 9],
        burnt: &mut [f64],
        smm: &mut [f64],
        mdr: &mut [f64],
    ) {
        let (p, d) = (&self.p, &self.d);
        let n = burnt.len();
        let [
            refi_den,
            ltv_den,
            equity,
            refi_credit,
            burnout_note,
            lock_in_note,
            fico,
            pseas,
            dseas,
        ] = i.map(|c| &c[..n]);
        let (smm, mdr) = (&mut smm[..n], &mut mdr[..n]);
        let turnover = p.turnover_pct / 100.0;
        for j in 0..n {
            let inv_both = 1.0 / (refi_den[j] * ltv_den[j]);
            let refi = refi_credit[j] * equity[j] * ltv_den[j] * inv_both;
            let curve = d.max_pct * refi_den[j] * inv_both;
            let burnout = p.burnout_floor + (1.0 - p.burnout_floor) * burnt[j];
            burnt[j] *= (burnout_note[j] * pm.burnout).min(1.0);
            let mobility = pm.mobility_hpa * (lock_in_note[j] * pm.lock_in).min(1.0);
            let hazard = (turnover * mobility + refi * burnout) * pseas[j] * pm.seasonal;
            smm[j] = 1.0 - exp_rate(-hazard * MONTHS_PER_YEAR_INV);
            let dh = (d.floor_pct + curve) * fico[j] * dseas[j];
            mdr[j] = 1.0 - exp_rate(-dh * MONTHS_PER_YEAR_INV);
        }
    }

    /// Pass C: the SIFMA step with net-recovery losses, per-loan sums and the exact
    /// month sums.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn step(
        &self,
        pm: &PathMonth,
        a: &[f64],
        inv_a: &[f64],
        rem: &[f64],
        ratio: &[f64],
        omr: &[f64],
        since: &[f64],
        gross: &[f64],
        net: &[f64],
        cov: &[f64],
        mi_end: &[f64],
        vps: &[f64],
        smm: &[f64],
        mdr: &[f64],
        perf: &mut [f64],
        fcl: &mut [f64],
        rs: &mut [f64],
        rr: &mut [f64],
        pv: &mut [f64],
        loss_sum: &mut [f64],
        credit: &mut [f64],
        defaults: &mut [f64],
    ) -> [i64; SUMMED_COUNT] {
        let n = perf.len();
        let (a, inv_a, rem, ratio, omr, since) = (
            &a[..n],
            &inv_a[..n],
            &rem[..n],
            &ratio[..n],
            &omr[..n],
            &since[..n],
        );
        let (gross, net, cov, mi_end, vps, smm, mdr) = (
            &gross[..n],
            &net[..n],
            &cov[..n],
            &mi_end[..n],
            &vps[..n],
            &smm[..n],
            &mdr[..n],
        );
        let (fcl, rs, rr) = (&mut fcl[..n], &mut rs[..n], &mut rr[..n]);
        let (pv, loss_sum, credit, defaults) = (
            &mut pv[..n],
            &mut loss_sum[..n],
            &mut credit[..n],
            &mut defaults[..n],
        );
        let lag_f = self.lag as f64;
        let interest_months = lag_f + 1.0;
        let mut s = [0i64; SUMMED_COUNT];
        for j in 0..n {
            let perf0 = perf[j];
            let fcl0 = fcl[j];
            let a0 = a[j];
            let r = ratio[j];
            let m_dr = if rem[j] > lag_f { mdr[j] } else { 0.0 };
            let new_def = perf0 * m_dr;
            let (scaled, raw) = (rs[j], rr[j]);
            let adb = scaled * a0;
            let recovery = pm.recovery * vps[j];
            let loss = (raw - scaled * recovery)
                .max(self.min_severity * raw)
                .min(raw);
            rs[j] = new_def * inv_a[j];
            rr[j] = new_def;
            let int_loss = raw * interest_months * net[j];
            let recouped = scaled * since[j] * net[j];
            let fc_cost = raw * self.cost;
            let uncovered = loss + int_loss + fc_cost;
            let insured = if raw > mi_end[j] * scaled {
                cov[j]
            } else {
                0.0
            };
            let mi = ((raw + int_loss + fc_cost) * insured).min(uncovered);
            let pipe = (new_def + fcl0 - adb).max(0.0);
            let exp_am = (perf0 + fcl0 - adb) * omr[j];
            let am_def = pipe * omr[j];
            let paying = perf0 - new_def;
            let act_am = paying * omr[j];
            let vol = (perf0 * r * smm[j]).min(paying * r);
            let perf1 = paying * r - vol;
            let fcl1 = pipe * r;
            let exp_int = (perf0 + fcl0) * gross[j];
            let lost_int = (new_def + fcl0) * gross[j];
            let net_int = (perf0 + fcl0) * net[j];
            perf[j] = perf1;
            fcl[j] = fcl1;
            pv[j] +=
                pm.discount * (exp_am + vol + (adb - loss) + net_int - recouped - fc_cost + mi);
            loss_sum[j] += loss;
            credit[j] += uncovered - mi;
            defaults[j] += new_def;
            let amounts = [
                perf1, new_def, fcl1, exp_am, vol, am_def, act_am, exp_int, lost_int, net_int, adb,
                loss, int_loss, fc_cost, mi, recouped,
            ];
            for (sum, x) in s.iter_mut().zip(amounts) {
                *sum = sum.wrapping_add(usd_to_biased_units(x));
            }
        }
        let bias = rounding_bias_units(n);
        s.map(|x| x.wrapping_sub(bias))
    }
}

/// The month's path-independent columns: the annuity step and its division, the
/// pipeline's annuity sums, the LTV base and seasoning.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn shared(
    month: f64,
    [inv_ps, inv_ds]: [f64; 2],
    i: [&[f64]; 6],
    asum: &mut [f64],
    ring_asum: &mut [f64],
    a1s: &mut [f64],
    inv_a1s: &mut [f64],
    ratio: &mut [f64],
    omr: &mut [f64],
    since: &mut [f64],
    ltv_base: &mut [f64],
    pseas: &mut [f64],
    dseas: &mut [f64],
    rem: &[f64],
) {
    let n = asum.len();
    let [growth, a, inv_a, age, per_annuity, ltv_scale] = i.map(|c| &c[..n]);
    let (ring_asum, a1s, inv_a1s, ratio, omr) = (
        &mut ring_asum[..n],
        &mut a1s[..n],
        &mut inv_a1s[..n],
        &mut ratio[..n],
        &mut omr[..n],
    );
    let (since, ltv_base, pseas, dseas, rem) = (
        &mut since[..n],
        &mut ltv_base[..n],
        &mut pseas[..n],
        &mut dseas[..n],
        &rem[..n],
    );
    for j in 0..n {
        let live = rem[j] > 1.5;
        let a0 = a[j];
        let a1 = if live { a0 * growth[j] - 1.0 } else { 0.0 };
        inv_a1s[j] = if live { 1.0 / a1 } else { 0.0 };
        a1s[j] = a1;
        let r = a1 * inv_a[j];
        ratio[j] = r;
        omr[j] = 1.0 - r;
        let before = asum[j];
        let through = before + a0;
        asum[j] = through;
        since[j] = through - ring_asum[j];
        ring_asum[j] = before;
        let loan_age = age[j] + month;
        ltv_base[j] = per_annuity[j] * a0 * ltv_scale[j];
        pseas[j] = (loan_age * inv_ps).min(1.0);
        dseas[j] = (loan_age * inv_ds).min(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::ProblemSink;
    use engine::sample::{
        benchmark_deterministic_model, benchmark_loans, benchmark_stochastic_model,
    };

    fn portfolio(loans: usize) -> Portfolio {
        // 700 loans: two full chunks and a partial one.
        Portfolio::from_records(benchmark_loans(loans, 360, 7), ProblemSink::default())
            .expect("valid")
    }

    #[test]
    fn the_minimal_deterministic_kernel_gives_the_engines_bits() {
        let p = portfolio(700);
        let model = benchmark_deterministic_model();
        let engine = engine::project_deterministic(&p, &model, 360);
        assert_eq!(deterministic(&p, &model, 360), engine.table);
    }

    #[test]
    fn the_minimal_stochastic_kernel_gives_the_engines_bits() {
        let p = portfolio(700);
        // 10 scenarios: a full batch of 8 and a partial one.
        let model = benchmark_stochastic_model(360, 10);
        let engine = engine::stochastic::project_stochastic(&p, &model, 360, 0..10);
        let (tables, loan_sums) = stochastic(&p, &model, 360, 10);
        assert_eq!(tables, engine.tables);
        assert_eq!(loan_sums, engine.loan_sums);
        // Not vacuous: the projection has defaults and prepayments.
        assert!(tables[3].column_total(engine::Summed::NewDefault).units() > 0);
    }
}
