//! The cash-flow kernel: projects chunks of loans month by month through the SIFMA
//! standard default cash flow (chapter SF, section C.3) and sums the results exactly.
//!
//! It serves any model written as a [`Behaviour`], which supplies each loan's SMM, MDR and
//! loss severity for the month; the kernel owns amortization, the foreclosure pipeline,
//! recovery lag, advancing, interest and the exact aggregation. The deterministic model
//! runs through it; the stochastic model has its own batch kernel with the same step
//! ([`crate::path_kernel`]), whose bits the golden digest and the stochastic tests pin.
//!
//! Layout: structure-of-arrays state for [`CHUNK_LOANS`] loans, so that one month of a
//! chunk is a pair of branch-free loops the compiler vectorises (per-element choices are
//! selects, the amortization factor comes from a recurrence rather than `pow`). The chunk
//! step is compiled for the baseline and, on x86_64, also for AVX2 and AVX-512, picked at
//! run time; all variants use the same IEEE operations in the same order (Rust never
//! fuses multiply-adds by itself), so they produce the same bits.

use std::ops::Range;

use rayon::prelude::*;

use crate::cashflow::{CashflowTable, SUMMED_COUNT, Summed};
use crate::money::{rounding_bias_units, usd_to_biased_units};
use crate::portfolio::Portfolio;
use crate::risk::LoanSums;

/// Scheduled LTV (of the original value) at which borrower-paid mortgage insurance ends
/// automatically (Homeowners Protection Act of 1998, 12 U.S.C. 4902(b)).
pub const MI_TERMINATION_LTV: f64 = 0.78;

/// Loans per chunk: large enough to amortise per-month overhead, small enough that a
/// chunk's state and one month of outputs stay in the first two cache levels.
pub const CHUNK_LOANS: usize = 256;

/// The foreclosure pipeline settings shared by all loans of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipeline {
    /// Months from default to liquidation (SIFMA "months to liquidation"); 0 liquidates in
    /// the month of default. Also the number of final months with no new defaults.
    pub recovery_lag_months: u32,
    /// Whether the servicer advances principal and interest on loans in foreclosure.
    pub advancing: bool,
}

/// A view of a contiguous range of a portfolio's loans.
#[derive(Debug, Clone, Copy)]
pub struct ChunkLoans<'a> {
    portfolio: &'a Portfolio,
    start: usize,
    end: usize,
}

impl<'a> ChunkLoans<'a> {
    pub fn new(portfolio: &'a Portfolio, range: Range<usize>) -> ChunkLoans<'a> {
        assert!(range.end <= portfolio.len() && range.start <= range.end);
        ChunkLoans {
            portfolio,
            start: range.start,
            end: range.end,
        }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
    /// Positions of these loans in the portfolio.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
    pub fn current_upb(&self) -> &'a [f64] {
        &self.portfolio.current_upb()[self.start..self.end]
    }
    pub fn note_rate_pct(&self) -> &'a [f64] {
        &self.portfolio.note_rate_pct()[self.start..self.end]
    }
    pub fn servicing_fee_pct(&self) -> &'a [f64] {
        &self.portfolio.servicing_fee_pct()[self.start..self.end]
    }
    pub fn orig_term_months(&self) -> &'a [u32] {
        &self.portfolio.orig_term_months()[self.start..self.end]
    }
    pub fn loan_age_months(&self) -> &'a [u32] {
        &self.portfolio.loan_age_months()[self.start..self.end]
    }
    pub fn orig_ltv_pct(&self) -> &'a [Option<f64>] {
        &self.portfolio.orig_ltv_pct()[self.start..self.end]
    }
    pub fn fico(&self) -> &'a [Option<u16>] {
        &self.portfolio.fico()[self.start..self.end]
    }
    pub fn orig_upb(&self) -> &'a [Option<f64>] {
        &self.portfolio.orig_upb()[self.start..self.end]
    }
    pub fn mi_pct(&self) -> &'a [f64] {
        &self.portfolio.mi_pct()[self.start..self.end]
    }
    pub fn current_ltv_pct(&self) -> &'a [Option<f64>] {
        &self.portfolio.current_ltv_pct()[self.start..self.end]
    }
    pub fn orig_date(&self) -> &'a [Option<crate::portfolio::YearMonth>] {
        &self.portfolio.orig_date()[self.start..self.end]
    }
    pub fn state(&self) -> &'a [Option<[u8; 2]>] {
        &self.portfolio.state()[self.start..self.end]
    }
    pub fn marked_value(&self) -> &'a [Option<f64>] {
        &self.portfolio.marked_value()[self.start..self.end]
    }
    /// Loan `j`'s balance at origination (see [`crate::marks::origination_balance`]).
    pub fn origination_balance(&self, j: usize) -> f64 {
        crate::marks::origination_balance(self.portfolio, self.start + j)
    }
    /// Loan `j`'s property value at origination (see [`crate::marks::origination_value`]).
    pub fn origination_value(&self, j: usize, missing_ltv_pct: f64) -> f64 {
        crate::marks::origination_value(self.portfolio, self.start + j, missing_ltv_pct)
    }
}

/// How a model states the principal loss of the loans liquidated in a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossRule {
    /// The SIFMA standard (chapter SF, C.3): `PRIN LOSS = min(NEW DEF(i-L) x severity,
    /// ADB(i))`, severity a fraction of the balance at default. Deterministic mode keeps it
    /// so the standard's worked tables reproduce.
    SeverityOfDefaulted,
    /// From the property: `loss = clamp(D - net recovery, min_severity x D, D)`, D the
    /// borrower's unpaid balance at default (`NEW DEF(i-L)`), so severity is computed on
    /// the balance it is applied to, whoever advanced. `MonthRates::recovery` holds the
    /// net recovery per unit of (balance at default / annuity factor at default): the
    /// defaulted share of the loan's house.
    NetRecovery,
}

/// One month's behaviour of every loan of a chunk, as fractions in [0, 1].
#[derive(Debug, Clone, Default)]
pub struct MonthRates {
    /// Single monthly mortality (voluntary prepayment rate).
    pub smm: Vec<f64>,
    /// Monthly default rate, before the pipeline's last-months rule.
    pub mdr: Vec<f64>,
    /// [`LossRule::SeverityOfDefaulted`]: loss severity of loans liquidated this month, as
    /// a fraction of their balance at default.
    pub severity: Vec<f64>,
    /// [`LossRule::NetRecovery`]: net sale proceeds of the loans liquidated this month per
    /// unit of scaled default (see [`LossRule::NetRecovery`]), USD.
    pub recovery: Vec<f64>,
    /// [`LossRule::NetRecovery`]: the smallest severity, a fraction of the balance at
    /// default.
    pub min_severity: f64,
    /// Foreclosure and REO costs (legal, taxes, upkeep) paid at liquidation, as a fraction
    /// of the balance at default.
    pub foreclosure_cost: f64,
    /// Discount factor of this month's cash flows (the same for every loan of a path);
    /// used only for per-loan present values.
    pub discount: f64,
}

/// Each loan's state at the start of a month, as a behaviour model sees it.
#[derive(Debug, Clone, Copy)]
pub struct LoanBalances<'a> {
    /// Performing balance, USD.
    pub performing_upb: &'a [f64],
    /// Annuity factor of the remaining schedule (see [`annuity_factor`]); the scheduled
    /// balance of a loan is proportional to it, and it is 0 once the loan has matured.
    pub annuity: &'a [f64],
    /// 1 / annuity (0 once matured): shared so models need not divide again.
    pub inv_annuity: &'a [f64],
}

/// Supplies loan behaviour to the kernel. Implementations must be pure functions of their
/// inputs so that results do not depend on how loans are chunked.
pub trait Behaviour: Sync {
    /// How the model's losses are stated.
    const LOSS_RULE: LossRule;

    /// Per-chunk state a model carries from month to month (for example burnout).
    type State: Send;

    /// Called once before a chunk's first month.
    fn start_chunk(&self, loans: &ChunkLoans<'_>) -> Self::State;

    /// Fills `rates` (each vector already sized to the chunk) for projection month `month`
    /// (1-based) from each loan's balances at the start of the month. Implementations
    /// should be `#[inline(always)]` so they are compiled into each kernel variant.
    fn month_rates(
        &self,
        state: &mut Self::State,
        month: u32,
        loans: &ChunkLoans<'_>,
        balances: LoanBalances<'_>,
        rates: &mut MonthRates,
    );
}

/// A whole-portfolio projection of one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    pub table: CashflowTable,
    /// Loan-months actually projected (each loan counts its months up to maturity or the
    /// horizon, whichever is first).
    pub loan_months: u64,
}

/// Working memory of one chunk; reused across chunks by each thread.
#[derive(Debug)]
pub struct Scratch {
    perf: Vec<f64>,
    fcl: Vec<f64>,
    annuity: Vec<f64>,
    inv_annuity: Vec<f64>,
    growth: Vec<f64>,
    gross_monthly: Vec<f64>,
    net_monthly: Vec<f64>,
    remaining: Vec<f64>,
    /// Defaults of the last `lag` months divided by the annuity factor at default, so
    /// that multiplying by a later annuity factor amortises them on schedule.
    ring_scaled: Vec<f64>,
    /// Defaults of the last `lag` months as defaulted (severity applies to these).
    ring_raw: Vec<f64>,
    /// `annuity_sum` when each of the last `lag` months' defaults happened: the
    /// difference at liquidation is the sum of the annuity factors the cohort spent in the
    /// pipeline, so its carried interest needs no per-cohort loop.
    ring_annuity_sum: Vec<f64>,
    /// Sum of each loan's annuity factors over the months before the current one.
    annuity_sum: Vec<f64>,
    /// Mortgage insurance coverage, a fraction of the claim.
    mi_coverage: Vec<f64>,
    /// The annuity factor at or below which the loan's mortgage insurance has ended: its
    /// scheduled balance has reached 78% of the original property value (the Homeowners
    /// Protection Act's automatic termination); 0 when the original LTV is unknown.
    mi_end_annuity: Vec<f64>,
    /// Per-loan present value, principal loss, total credit loss and defaults of the
    /// current scenario (only filled when loan results are requested).
    loan_pv: Vec<f64>,
    loan_loss: Vec<f64>,
    loan_credit_loss: Vec<f64>,
    loan_default: Vec<f64>,
    rates: MonthRates,
}

impl Scratch {
    pub fn new(pipeline: Pipeline) -> Scratch {
        let ring = pipeline.recovery_lag_months.max(1) as usize * CHUNK_LOANS;
        let v = || vec![0.0; CHUNK_LOANS];
        Scratch {
            perf: v(),
            fcl: v(),
            annuity: v(),
            inv_annuity: v(),
            growth: v(),
            gross_monthly: v(),
            net_monthly: v(),
            remaining: v(),
            ring_scaled: vec![0.0; ring],
            ring_raw: vec![0.0; ring],
            ring_annuity_sum: vec![0.0; ring],
            annuity_sum: v(),
            mi_coverage: v(),
            mi_end_annuity: v(),
            loan_pv: v(),
            loan_loss: v(),
            loan_credit_loss: v(),
            loan_default: v(),
            rates: MonthRates {
                smm: v(),
                mdr: v(),
                severity: v(),
                recovery: v(),
                min_severity: 0.0,
                foreclosure_cost: 0.0,
                discount: 1.0,
            },
        }
    }
}

/// Present value of 1 paid monthly for `n` months at monthly rate `c`: the annuity factor
/// `(1 - (1+c)^-n) / c` (`n` when `c` is 0). The SIFMA scheduled balance factor is
/// `BAL(k) = a(M0-k) / a(M0)`, so one month's ratio `BAL(i)/BAL(i-1)` is
/// `a(n-1)/a(n)`, and `a(n-1) = a(n)(1+c) - 1` lets the kernel step it without `pow`.
pub fn annuity_factor(c: f64, n: u32) -> f64 {
    if c == 0.0 {
        f64::from(n)
    } else {
        (1.0 - libm::pow(1.0 + c, -f64::from(n))) / c
    }
}

/// Projects loans `loans` for up to `horizon_months` and adds the sums to `table`.
/// With `loan_sums` (one entry per loan of the chunk), also adds each loan's present
/// value, loss and defaults for this scenario. Returns the loan-months projected.
#[allow(clippy::too_many_arguments)]
pub fn project_chunk<B: Behaviour>(
    isa: Isa,
    loans: &ChunkLoans<'_>,
    horizon_months: u32,
    pipeline: Pipeline,
    behaviour: &B,
    scratch: &mut Scratch,
    table: &mut CashflowTable,
    loan_sums: Option<&mut [LoanSums]>,
) -> u64 {
    let n = loans.len();
    assert!(n <= CHUNK_LOANS, "chunk of {n} loans exceeds {CHUNK_LOANS}");
    assert_eq!(table.advancing(), pipeline.advancing);
    assert!(table.horizon_months() >= horizon_months);
    let lag = pipeline.recovery_lag_months as usize;
    assert!(
        scratch.ring_raw.len() >= lag.max(1) * CHUNK_LOANS,
        "scratch built for a shorter lag"
    );

    let mut last_month = 0u32;
    let mut loan_months = 0u64;
    for j in 0..n {
        let rate_pct = loans.note_rate_pct()[j];
        let c = rate_pct / 1200.0;
        let net = (rate_pct - loans.servicing_fee_pct()[j]) / 1200.0;
        let rem = loans.orig_term_months()[j] - loans.loan_age_months()[j];
        scratch.perf[j] = loans.current_upb()[j];
        scratch.fcl[j] = 0.0;
        scratch.annuity[j] = annuity_factor(c, rem);
        scratch.inv_annuity[j] = 1.0 / scratch.annuity[j];
        scratch.growth[j] = 1.0 + c;
        scratch.gross_monthly[j] = c;
        scratch.net_monthly[j] = net;
        scratch.remaining[j] = f64::from(rem);
        scratch.annuity_sum[j] = 0.0;
        scratch.mi_coverage[j] = loans.mi_pct()[j] / 100.0;
        scratch.mi_end_annuity[j] = loans.orig_ltv_pct()[j].map_or(0.0, |ltv_pct| {
            let original_value = loans.origination_balance(j) / (ltv_pct / 100.0);
            MI_TERMINATION_LTV * original_value * scratch.annuity[j] / loans.current_upb()[j]
        });
        last_month = last_month.max(rem);
        loan_months += u64::from(rem.min(horizon_months));
    }
    scratch.loan_pv[..n].fill(0.0);
    scratch.loan_loss[..n].fill(0.0);
    scratch.loan_credit_loss[..n].fill(0.0);
    scratch.loan_default[..n].fill(0.0);
    scratch.ring_scaled[..lag.max(1) * CHUNK_LOANS].fill(0.0);
    scratch.ring_raw[..lag.max(1) * CHUNK_LOANS].fill(0.0);
    scratch.ring_annuity_sum[..lag.max(1) * CHUNK_LOANS].fill(0.0);
    for v in [
        &mut scratch.rates.smm,
        &mut scratch.rates.mdr,
        &mut scratch.rates.severity,
        &mut scratch.rates.recovery,
    ] {
        v.resize(n, 0.0);
    }

    let mut state = behaviour.start_chunk(loans);
    // No loan pays after its maturity and the last-months rule empties the pipeline by
    // then, so months past the chunk's longest remaining term are all zero.
    let months = horizon_months.min(last_month);
    let per_loan = loan_sums.is_some();
    for month in 1..=months {
        let slot = if lag == 0 {
            0
        } else {
            (month as usize - 1) % lag
        };
        let step = Step {
            pipeline,
            n,
            slot,
            month,
        };
        let sums = month_step(isa, per_loan, step, behaviour, &mut state, loans, scratch);
        table.add_month(month, &sums);
    }
    if let Some(loan_sums) = loan_sums {
        assert_eq!(loan_sums.len(), n);
        for (j, acc) in loan_sums.iter_mut().enumerate() {
            acc.add_scenario(
                scratch.loan_pv[j],
                scratch.loan_loss[j],
                scratch.loan_credit_loss[j],
                scratch.loan_default[j],
            );
        }
    }
    loan_months
}

/// What one month step needs besides the scratch state.
#[derive(Debug, Clone, Copy)]
struct Step {
    pipeline: Pipeline,
    n: usize,
    slot: usize,
    month: u32,
}

/// Projects a whole portfolio on the current rayon pool. The result is bit-identical for
/// any number of threads: chunks are fixed by position and their sums are integers.
pub fn project_portfolio<B: Behaviour>(
    portfolio: &Portfolio,
    horizon_months: u32,
    pipeline: Pipeline,
    behaviour: &B,
) -> Projection {
    project_portfolio_on(
        Isa::detect(),
        portfolio,
        horizon_months,
        pipeline,
        behaviour,
    )
}

/// [`project_portfolio`] with an explicit kernel variant (for benchmarks and the test
/// that all variants agree).
///
/// # Panics
/// When `isa` is not among [`Isa::available`].
pub fn project_portfolio_on<B: Behaviour>(
    isa: Isa,
    portfolio: &Portfolio,
    horizon_months: u32,
    pipeline: Pipeline,
    behaviour: &B,
) -> Projection {
    assert!(
        Isa::available().contains(&isa),
        "{isa:?} is not supported by this CPU"
    );
    let (sorted, _) = portfolio.sorted_by_remaining_term();
    let portfolio = &sorted;
    let chunks = portfolio.len().div_ceil(CHUNK_LOANS);
    let empty = || (CashflowTable::new(horizon_months, pipeline.advancing), 0u64);
    let (table, loan_months) = (0..chunks)
        .into_par_iter()
        .fold(
            || (Scratch::new(pipeline), empty()),
            |(mut scratch, (mut table, lm)), c| {
                let start = c * CHUNK_LOANS;
                let end = (start + CHUNK_LOANS).min(portfolio.len());
                let loans = ChunkLoans::new(portfolio, start..end);
                let added = project_chunk(
                    isa,
                    &loans,
                    horizon_months,
                    pipeline,
                    behaviour,
                    &mut scratch,
                    &mut table,
                    None,
                );
                (scratch, (table, lm + added))
            },
        )
        .map(|(_, acc)| acc)
        .reduce(empty, |(mut a, la), (b, lb)| {
            a.merge(&b);
            (a, la + lb)
        });
    Projection { table, loan_months }
}

/// Which compiled variant of the month step runs. Every variant gives the same bits;
/// they differ only in speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// The target's baseline (SSE2 on x86_64, NEON on aarch64).
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// Every variant this CPU can run, slowest first.
    pub fn available() -> Vec<Isa> {
        let mut all = vec![Isa::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(Isa::Avx2);
            }
            if Isa::detect() == Isa::Avx512 {
                all.push(Isa::Avx512);
            }
        }
        all
    }

    /// Short name for reports ("baseline", "avx2", "avx512").
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => "avx512",
        }
    }

    /// The fastest variant this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    }
}

fn month_step<B: Behaviour>(
    isa: Isa,
    per_loan: bool,
    step: Step,
    behaviour: &B,
    state: &mut B::State,
    loans: &ChunkLoans<'_>,
    s: &mut Scratch,
) -> [i64; SUMMED_COUNT] {
    macro_rules! variants {
        ($f:ident) => {
            match (step.pipeline.advancing, per_loan) {
                (true, true) => $f::<B, true, true>(step, behaviour, state, loans, s),
                (true, false) => $f::<B, true, false>(step, behaviour, state, loans, s),
                (false, true) => $f::<B, false, true>(step, behaviour, state, loans, s),
                (false, false) => $f::<B, false, false>(step, behaviour, state, loans, s),
            }
        };
    }
    match isa {
        Isa::Baseline => variants!(month_step_generic),
        // SAFETY: `Isa::detect`/`Isa::available` offer these variants only after checking
        // that the CPU supports every feature the called function is compiled with, and
        // `project_portfolio_on` rejects any other.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { variants!(month_step_avx2) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { variants!(month_step_avx512) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn month_step_avx2<B: Behaviour, const ADVANCING: bool, const PER_LOAN: bool>(
    step: Step,
    behaviour: &B,
    state: &mut B::State,
    loans: &ChunkLoans<'_>,
    s: &mut Scratch,
) -> [i64; SUMMED_COUNT] {
    month_step_generic::<B, ADVANCING, PER_LOAN>(step, behaviour, state, loans, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl")]
fn month_step_avx512<B: Behaviour, const ADVANCING: bool, const PER_LOAN: bool>(
    step: Step,
    behaviour: &B,
    state: &mut B::State,
    loans: &ChunkLoans<'_>,
    s: &mut Scratch,
) -> [i64; SUMMED_COUNT] {
    month_step_generic::<B, ADVANCING, PER_LOAN>(step, behaviour, state, loans, s)
}

/// One month of one chunk: SIFMA chapter SF, section C.3 ("Standard Formulas for the
/// Analysis of Mortgage-Backed Securities with Defaults"), per loan, with `i` the
/// current month, `L` the months to liquidation and `r = BAL(i)/BAL(i-1)`:
///
/// ```text
/// NEW DEF(i)    = PERF(i-1) * MDR(i)                 (MDR = 0 in the last L months)
/// ADB(i)        = NEW DEF(i-L) * BAL(i-1)/BAL(i-1-L)  advancing; NEW DEF(i-L) otherwise
/// EXP AM(i)     = (PERF(i-1) + FCL(i-1) - ADB(i)) * (1 - r)
/// AM DEF(i)     = (NEW DEF(i) + FCL(i-1) - ADB(i)) * (1 - r)   advancing; 0 otherwise
/// ACT AM(i)     = (PERF(i-1) - NEW DEF(i)) * (1 - r)
/// VOL PREPAY(i) = PERF(i-1) * r * SMM(i), capped so PERF(i) >= 0 (C.2.e)
/// PERF(i)       = PERF(i-1) - NEW DEF - VOL PREPAY - ACT AM
/// FCL(i)        = NEW DEF(i) + FCL(i-1) - ADB(i) - AM DEF(i)
/// EXP INT(i)    = (PERF(i-1) + FCL(i-1)) * rate;  LOST INT(i) = (NEW DEF(i) + FCL(i-1)) * rate
/// PRIN LOSS(i)  = min(NEW DEF(i-L) * severity, ADB(i));  PRIN RECOV = ADB - PRIN LOSS
/// ```
///
/// Beyond the standard, the credit loss of the loans liquidated in month i (see
/// [`LossRule`] for the principal loss of property-based models):
///
/// ```text
/// INT LOSS(i)   = net rate x NEW DEF(i-L) x (L+1): the interest the borrower did not pay
///                 on the unpaid balance over LOST INT's months
/// FCL COST(i)   = NEW DEF(i-L) x foreclosure cost
/// MI(i)         = min(coverage x (NEW DEF(i-L) + INT LOSS + FCL COST),
///                     PRIN LOSS + INT LOSS + FCL COST), 0 once MI has ended by schedule
/// CREDIT LOSS   = PRIN LOSS + INT LOSS + FCL COST - MI
/// RECOUPED(i)   = net rate x NEW DEF(i-L) x sum a(k)/a(i-L) over the same months, with
///                 advancing only: the interest the servicer advanced on the amortising
///                 balance, repaid from the proceeds
/// ```
///
/// The investor's cash flow is principal + prepayments + (ADB - PRIN LOSS) + net
/// interest + MI, less RECOUPED and FCL COST, so a cohort returns
/// NEW DEF - (CREDIT LOSS - INT LOSS)
/// whether or not the servicer advances: advancing changes when cash arrives, not how
/// much is lost. Under [`LossRule::NetRecovery`] the principal loss can exceed ADB (the
/// servicer recoups the principal it advanced), and the recovery column is then negative.
#[inline(always)]
fn month_step_generic<B: Behaviour, const ADVANCING: bool, const PER_LOAN: bool>(
    step: Step,
    behaviour: &B,
    state: &mut B::State,
    loans: &ChunkLoans<'_>,
    s: &mut Scratch,
) -> [i64; SUMMED_COUNT] {
    let Step {
        pipeline,
        n,
        slot,
        month,
    } = step;
    behaviour.month_rates(
        state,
        month,
        loans,
        LoanBalances {
            performing_upb: &s.perf[..n],
            annuity: &s.annuity[..n],
            inv_annuity: &s.inv_annuity[..n],
        },
        &mut s.rates,
    );
    let lag = f64::from(pipeline.recovery_lag_months);
    let ring = slot * CHUNK_LOANS..slot * CHUNK_LOANS + n;
    let constants = StepConstants {
        lag,
        lag_zero: pipeline.recovery_lag_months == 0,
        // Months of lost interest of a cohort: its default month, the months in
        // foreclosure and its liquidation month (SIFMA's LOST INT months), accrued on the
        // borrower's unpaid balance, which stops amortising at default whoever advances.
        interest_months: lag + 1.0,
        min_severity: s.rates.min_severity,
        foreclosure_cost: s.rates.foreclosure_cost,
        discount: s.rates.discount,
        rule: B::LOSS_RULE,
    };
    // Every column is its own slice argument: the compiler then knows none of them
    // overlap and vectorises the loop without run-time alias checks.
    step_loans::<ADVANCING, PER_LOAN>(
        constants,
        State {
            perf: &mut s.perf[..n],
            fcl: &mut s.fcl[..n],
            annuity: &mut s.annuity[..n],
            inv_annuity: &mut s.inv_annuity[..n],
            remaining: &mut s.remaining[..n],
            annuity_sum: &mut s.annuity_sum[..n],
        },
        Ring {
            scaled: &mut s.ring_scaled[ring.clone()],
            raw: &mut s.ring_raw[ring.clone()],
            annuity_sum: &mut s.ring_annuity_sum[ring],
        },
        PerLoan {
            pv: &mut s.loan_pv[..n],
            loss: &mut s.loan_loss[..n],
            credit_loss: &mut s.loan_credit_loss[..n],
            default: &mut s.loan_default[..n],
        },
        Terms {
            growth: &s.growth[..n],
            gross: &s.gross_monthly[..n],
            net: &s.net_monthly[..n],
            mi_coverage: &s.mi_coverage[..n],
            mi_end_annuity: &s.mi_end_annuity[..n],
            smm: &s.rates.smm[..n],
            mdr: &s.rates.mdr[..n],
            severity: &s.rates.severity[..n],
            recovery: &s.rates.recovery[..n],
        },
    )
}

/// The month's constants of [`step_loans`].
#[derive(Clone, Copy)]
pub(crate) struct StepConstants {
    pub(crate) lag: f64,
    pub(crate) lag_zero: bool,
    pub(crate) interest_months: f64,
    pub(crate) min_severity: f64,
    pub(crate) foreclosure_cost: f64,
    pub(crate) discount: f64,
    pub(crate) rule: LossRule,
}

/// The loan state [`step_loans`] carries from month to month.
struct State<'a> {
    perf: &'a mut [f64],
    fcl: &'a mut [f64],
    annuity: &'a mut [f64],
    inv_annuity: &'a mut [f64],
    remaining: &'a mut [f64],
    annuity_sum: &'a mut [f64],
}

/// The pipeline slot of the month: the cohort liquidated now, replaced by this month's.
struct Ring<'a> {
    scaled: &'a mut [f64],
    raw: &'a mut [f64],
    annuity_sum: &'a mut [f64],
}

/// Per-loan sums of the scenario.
struct PerLoan<'a> {
    pv: &'a mut [f64],
    loss: &'a mut [f64],
    credit_loss: &'a mut [f64],
    default: &'a mut [f64],
}

/// Per-loan inputs of the month, read only.
struct Terms<'a> {
    growth: &'a [f64],
    gross: &'a [f64],
    net: &'a [f64],
    mi_coverage: &'a [f64],
    mi_end_annuity: &'a [f64],
    smm: &'a [f64],
    mdr: &'a [f64],
    severity: &'a [f64],
    recovery: &'a [f64],
}

/// The loan loop of [`month_step_generic`]. The structs are taken apart into plain slices
/// at the top so that each is a distinct borrow the optimiser can see.
#[inline(always)]
fn step_loans<const ADVANCING: bool, const PER_LOAN: bool>(
    k: StepConstants,
    state: State<'_>,
    ring: Ring<'_>,
    per_loan: PerLoan<'_>,
    terms: Terms<'_>,
) -> [i64; SUMMED_COUNT] {
    let n = state.perf.len();
    step_slices::<ADVANCING, PER_LOAN>(
        k,
        state.perf,
        &mut state.fcl[..n],
        &mut state.annuity[..n],
        &mut state.inv_annuity[..n],
        &mut state.remaining[..n],
        &mut state.annuity_sum[..n],
        &mut ring.scaled[..n],
        &mut ring.raw[..n],
        &mut ring.annuity_sum[..n],
        &mut per_loan.pv[..n],
        &mut per_loan.loss[..n],
        &mut per_loan.credit_loss[..n],
        &mut per_loan.default[..n],
        &terms.growth[..n],
        &terms.gross[..n],
        &terms.net[..n],
        &terms.mi_coverage[..n],
        &terms.mi_end_annuity[..n],
        &terms.smm[..n],
        &terms.mdr[..n],
        &terms.severity[..n],
        &terms.recovery[..n],
    )
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn step_slices<const ADVANCING: bool, const PER_LOAN: bool>(
    k: StepConstants,
    perf: &mut [f64],
    fcl: &mut [f64],
    annuity: &mut [f64],
    inv_annuity: &mut [f64],
    remaining: &mut [f64],
    annuity_sum: &mut [f64],
    ring_scaled: &mut [f64],
    ring_raw: &mut [f64],
    ring_annuity_sum: &mut [f64],
    loan_pv: &mut [f64],
    loan_loss: &mut [f64],
    loan_credit_loss: &mut [f64],
    loan_default: &mut [f64],
    growth: &[f64],
    gross: &[f64],
    net: &[f64],
    mi_coverage: &[f64],
    mi_end_annuity: &[f64],
    smm: &[f64],
    mdr_in: &[f64],
    severity: &[f64],
    recovery: &[f64],
) -> [i64; SUMMED_COUNT] {
    let n = perf.len();
    let mut sums = [0i64; SUMMED_COUNT];
    for j in 0..n {
        let rem = remaining[j];
        let a0 = annuity[j];
        // Annuity factor after this payment; exactly zero once the loan has matured.
        let a1 = if rem > 1.5 { a0 * growth[j] - 1.0 } else { 0.0 };
        // The one division per loan-month: next month's 1/annuity, shared with models.
        let inv_a1 = if rem > 1.5 { 1.0 / a1 } else { 0.0 };
        let inv_a0 = inv_annuity[j];
        // C.3.j: no new defaults in the last L months before maturity.
        let mdr = if rem > k.lag { mdr_in[j] } else { 0.0 };
        let sum_before = annuity_sum[j];
        let sum_through = sum_before + a0;
        annuity_sum[j] = sum_through;
        // With a lag of 0 the cohort liquidated is this month's own.
        let sum_at_default = if k.lag_zero {
            sum_before
        } else {
            ring_annuity_sum[j]
        };
        ring_annuity_sum[j] = sum_before;
        let o = loan_month::<ADVANCING>(
            &k,
            LoanMonthIn {
                perf0: perf[j],
                fcl0: fcl[j],
                a0,
                inv_a0,
                ratio: a1 * inv_a0,
                smm: smm[j],
                mdr,
                ring_scaled: ring_scaled[j],
                ring_raw: ring_raw[j],
                since_default: sum_through - sum_at_default,
                gross: gross[j],
                net: net[j],
                mi_coverage: mi_coverage[j],
                mi_end_annuity: mi_end_annuity[j],
                severity: severity[j],
                recovery: recovery[j],
            },
        );
        ring_scaled[j] = o.ring_scaled;
        ring_raw[j] = o.new_default;
        perf[j] = o.perf;
        fcl[j] = o.fcl;
        annuity[j] = a1;
        inv_annuity[j] = inv_a1;
        remaining[j] = rem - 1.0;
        if PER_LOAN {
            loan_pv[j] += k.discount * o.cash_flow;
            loan_loss[j] += o.loss;
            loan_credit_loss[j] += o.credit_loss;
            loan_default[j] += o.new_default;
        }
        add_biased_units(&mut sums, o.amounts);
    }
    // The rounding's bias once per column, not once per loan.
    let bias = rounding_bias_units(n);
    for sum in &mut sums {
        *sum = sum.wrapping_sub(bias);
    }
    debug_assert_eq!(Summed::RecoupedInterest as usize, SUMMED_COUNT - 1);
    sums
}

/// One loan's inputs to a month of the SIFMA step (see [`month_step_generic`]), once the
/// month's rates and the schedule ratio are known.
#[derive(Clone, Copy)]
pub(crate) struct LoanMonthIn {
    pub(crate) perf0: f64,
    pub(crate) fcl0: f64,
    /// Annuity factor at the start of the month and its inverse.
    pub(crate) a0: f64,
    pub(crate) inv_a0: f64,
    /// `BAL(i)/BAL(i-1)`: next month's annuity factor over this month's.
    pub(crate) ratio: f64,
    /// The month's prepayment rate, and its default rate (already 0 in the last L
    /// months).
    pub(crate) smm: f64,
    pub(crate) mdr: f64,
    /// The pipeline slot: the cohort of month i-L, scaled (balance / annuity factor at
    /// default) and raw.
    pub(crate) ring_scaled: f64,
    pub(crate) ring_raw: f64,
    /// Sum of the annuity factors from that cohort's default month through this one.
    pub(crate) since_default: f64,
    pub(crate) gross: f64,
    pub(crate) net: f64,
    pub(crate) mi_coverage: f64,
    pub(crate) mi_end_annuity: f64,
    /// [`LossRule::SeverityOfDefaulted`]'s severity, or [`LossRule::NetRecovery`]'s net
    /// recovery per unit of scaled default; the other is ignored.
    pub(crate) severity: f64,
    pub(crate) recovery: f64,
}

/// What one loan's month of the step gives.
#[derive(Clone, Copy)]
pub(crate) struct LoanMonthOut {
    pub(crate) perf: f64,
    pub(crate) fcl: f64,
    pub(crate) new_default: f64,
    /// This month's defaults for the pipeline slot, scaled.
    pub(crate) ring_scaled: f64,
    /// The investor's cash flow, undiscounted.
    pub(crate) cash_flow: f64,
    pub(crate) loss: f64,
    pub(crate) credit_loss: f64,
    /// The summed amounts, in [`Summed`] order.
    pub(crate) amounts: [f64; SUMMED_COUNT],
}

/// One loan-month of the SIFMA step and the credit loss (the formulas are on
/// [`month_step_generic`]): the one place both kernels compute them, so they cannot
/// drift apart. Inlined into each kernel's loop, where it vectorises.
#[inline(always)]
pub(crate) fn loan_month<const ADVANCING: bool>(k: &StepConstants, x: LoanMonthIn) -> LoanMonthOut {
    let LoanMonthIn {
        perf0,
        fcl0,
        a0,
        inv_a0,
        ratio: r,
        smm,
        mdr,
        ring_scaled,
        ring_raw,
        since_default,
        gross,
        net,
        mi_coverage,
        mi_end_annuity,
        severity,
        recovery,
    } = x;
    let one_minus_r = 1.0 - r;
    let new_def = perf0 * mdr;
    // Liquidation of the defaults of month i-L. With a lag of 0 they are this month's.
    let (scaled, raw) = if k.lag_zero {
        (new_def * inv_a0, new_def)
    } else {
        (ring_scaled, ring_raw)
    };
    let adb = if ADVANCING && !k.lag_zero {
        scaled * a0
    } else {
        raw
    };
    let loss = match k.rule {
        LossRule::SeverityOfDefaulted => (raw * severity).min(adb),
        LossRule::NetRecovery => (raw - scaled * recovery).max(k.min_severity * raw).min(raw),
    };
    let interest_loss = raw * k.interest_months * net;
    // What the servicer advanced on the cohort's amortising balance, recouped now.
    let recouped = if ADVANCING {
        scaled * since_default * net
    } else {
        0.0
    };
    let cost = raw * k.foreclosure_cost;
    let uncovered = loss + interest_loss + cost;
    // MI in force at default: the scheduled balance then (raw / scaled is the annuity
    // factor at default) was still above the termination LTV.
    let insured = if raw > mi_end_annuity * scaled {
        mi_coverage
    } else {
        0.0
    };
    let mi = ((raw + interest_loss + cost) * insured).min(uncovered);

    let in_pipeline = (new_def + fcl0 - adb).max(0.0);
    let exp_am = (perf0 + fcl0 - adb) * one_minus_r;
    let am_def = if ADVANCING {
        in_pipeline * one_minus_r
    } else {
        0.0
    };
    let paying = perf0 - new_def;
    let act_am = paying * one_minus_r;
    let vol = (perf0 * r * smm).min(paying * r);
    let perf1 = paying * r - vol;
    let fcl1 = if ADVANCING {
        in_pipeline * r
    } else {
        in_pipeline
    };
    let exp_int = (perf0 + fcl0) * gross;
    let lost_int = (new_def + fcl0) * gross;
    let interest_base = if ADVANCING { perf0 + fcl0 } else { paying };
    let net_int = interest_base * net;
    let principal = if ADVANCING { exp_am } else { act_am };
    LoanMonthOut {
        perf: perf1,
        fcl: fcl1,
        new_default: new_def,
        ring_scaled: new_def * inv_a0,
        cash_flow: principal + vol + (adb - loss) + net_int - recouped - cost + mi,
        loss,
        credit_loss: uncovered - mi,
        amounts: [
            perf1,
            new_def,
            fcl1,
            exp_am,
            vol,
            am_def,
            act_am,
            exp_int,
            lost_int,
            net_int,
            adb,
            loss,
            interest_loss,
            cost,
            mi,
            recouped,
        ],
    }
}

/// Adds one loan-month's amounts to the month's sums as biased fixed-point bits; the
/// caller takes [`rounding_bias_units`] off once per column.
#[inline(always)]
pub(crate) fn add_biased_units(sums: &mut [i64; SUMMED_COUNT], amounts: [f64; SUMMED_COUNT]) {
    for (sum, amount) in sums.iter_mut().zip(amounts) {
        *sum = sum.wrapping_add(usd_to_biased_units(amount));
    }
}
