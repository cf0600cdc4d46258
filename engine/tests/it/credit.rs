//! Total credit loss on a hand-worked loan, and refinancing constrained by equity, credit,
//! lock-in and burnout, each against closed forms computed here from the documented
//! formulas rather than copied from output.

use engine::kernel::{
    Behaviour, ChunkLoans, Isa, LoanBalances, LossRule, MonthRates, Pipeline, Scratch,
    project_chunk,
};
use engine::risk::{LoanSums, ScenarioResult};
use engine::scenario::{HousePrices, HullWhite, ScenarioSet, StressPath};
use engine::stochastic::{
    DefaultParams, LossParams, PrepayParams, StochasticModel, project_stochastic,
};
use engine::{CashflowTable, LoanRecord, Portfolio, ProblemSink, Summed};

const UPB: f64 = 100_000.0;
const NOTE_PCT: f64 = 6.0;
const SERVICING_PCT: f64 = 0.5;
const TERM: u32 = 360;
const LAG: u32 = 12;
/// Net sale proceeds of the house: 80,000 x (1 - 10% REO discount) x (1 - 8% sale cost).
const PROCEEDS: f64 = 80_000.0 * 0.9 * 0.92;
const FORECLOSURE_COST: f64 = 0.05;
const MI_COVERAGE: f64 = 0.25;

/// The whole loan defaults in month 1; nothing prepays; liquidation sells the house for
/// `PROCEEDS` (a property-based loss: the rule the stochastic model uses).
struct DefaultsAtOnce {
    /// Net proceeds per unit of (balance at default / annuity factor at default).
    recovery_per_scaled: f64,
}

impl Behaviour for DefaultsAtOnce {
    const LOSS_RULE: LossRule = LossRule::NetRecovery;
    type State = ();
    fn start_chunk(&self, _loans: &ChunkLoans<'_>) {}
    fn month_rates(
        &self,
        _state: &mut (),
        month: u32,
        _loans: &ChunkLoans<'_>,
        _balances: LoanBalances<'_>,
        rates: &mut MonthRates,
    ) {
        rates.smm.fill(0.0);
        rates.mdr.fill(if month == 1 { 1.0 } else { 0.0 });
        rates.recovery.fill(self.recovery_per_scaled);
        rates.min_severity = 0.1;
        rates.foreclosure_cost = FORECLOSURE_COST;
        rates.discount = 1.0;
    }
}

fn one_loan(orig_ltv_pct: Option<f64>) -> Portfolio {
    Portfolio::from_records(
        vec![LoanRecord {
            loan_id: "hand".into(),
            current_upb: UPB,
            note_rate_pct: NOTE_PCT,
            servicing_fee_pct: Some(SERVICING_PCT),
            orig_term_months: i64::from(TERM),
            loan_age_months: 0,
            orig_ltv_pct,
            mi_pct: Some(MI_COVERAGE * 100.0),
            ..Default::default()
        }],
        ProblemSink::default(),
    )
    .expect("valid")
}

/// Scheduled balance after k payments of a level-payment loan: P ((1+c)^n - (1+c)^k) /
/// ((1+c)^n - 1).
fn scheduled_balance(k: u32) -> f64 {
    let g = 1.0 + NOTE_PCT / 1200.0;
    UPB * (g.powi(TERM as i32) - g.powi(k as i32)) / (g.powi(TERM as i32) - 1.0)
}

fn project(advancing: bool, orig_ltv_pct: Option<f64>) -> (CashflowTable, LoanSums) {
    let portfolio = one_loan(orig_ltv_pct);
    let c = NOTE_PCT / 1200.0;
    let annuity = (1.0 - (1.0 + c).powi(-(TERM as i32))) / c;
    let pipeline = Pipeline {
        recovery_lag_months: LAG,
        advancing,
    };
    let behaviour = DefaultsAtOnce {
        // The whole loan defaults at UPB with annuity factor a(360): x (UPB / a) = PROCEEDS.
        recovery_per_scaled: PROCEEDS * annuity / UPB,
    };
    let mut table = CashflowTable::new(TERM, advancing);
    let mut sums = [LoanSums::default()];
    project_chunk(
        Isa::Baseline,
        &ChunkLoans::new(&portfolio, 0..1),
        TERM,
        pipeline,
        &behaviour,
        &mut Scratch::new(pipeline),
        &mut table,
        Some(&mut sums[..]),
    );
    (table, sums[0])
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 0.02,
        "{what}: kernel {got} vs hand-worked {want}"
    );
}

/// The loan defaults whole in month 1 and is liquidated in month 13. Its borrower owes
/// the balance at default throughout: the principal loss is that balance less the sale
/// proceeds, the interest loss the net rate on it over the 13 months of lost interest,
/// the costs 5% of it, and MI pays 25% of the claim (balance + interest + costs). None
/// of that depends on whether the servicer advances; advancing only changes when the
/// investor is paid: the interest it advanced on the amortising balance (the net rate on
/// each of the 13 months' scheduled balances) is recouped from the proceeds.
#[test]
fn total_credit_loss_of_a_hand_worked_loan() {
    let net = (NOTE_PCT - SERVICING_PCT) / 1200.0;
    let principal_loss = (UPB - PROCEEDS).max(0.1 * UPB);
    let interest_loss = net * UPB * f64::from(LAG + 1);
    let cost = FORECLOSURE_COST * UPB;
    let mi =
        (MI_COVERAGE * (UPB + interest_loss + cost)).min(principal_loss + interest_loss + cost);
    let credit_loss = principal_loss + interest_loss + cost - mi;
    for advancing in [true, false] {
        let (table, sums) = project(advancing, None);
        let liquidated = if advancing {
            scheduled_balance(LAG)
        } else {
            UPB
        };
        let recouped: f64 = if advancing {
            net * (0..=LAG).map(scheduled_balance).sum::<f64>()
        } else {
            0.0
        };
        let row = table.row(LAG + 1);
        let label = |s: &str| format!("{s} (advancing {advancing})");
        close(
            &label("liquidated"),
            row.liquidated_balance.to_usd(),
            liquidated,
        );
        close(
            &label("principal loss"),
            row.principal_loss.to_usd(),
            principal_loss,
        );
        close(
            &label("interest loss"),
            row.interest_loss.to_usd(),
            interest_loss,
        );
        close(
            &label("recouped interest"),
            row.recouped_interest.to_usd(),
            recouped,
        );
        close(
            &label("foreclosure cost"),
            row.foreclosure_cost.to_usd(),
            cost,
        );
        close(&label("MI"), row.mi_recovery.to_usd(), mi);
        close(&label("credit loss"), row.credit_loss.to_usd(), credit_loss);
        assert!(mi > 0.0 && interest_loss > 1000.0, "every component counts");
        for column in [
            Summed::InterestLoss,
            Summed::RecoupedInterest,
            Summed::ForeclosureCost,
            Summed::MortgageInsurance,
        ] {
            assert_eq!(
                table.column_total(column),
                table.summed(LAG + 1, column),
                "{column:?} is booked in the liquidation month only"
            );
        }
        let result = sums.result(UPB);
        close(
            &label("per-loan credit loss"),
            result.expected_credit_loss,
            credit_loss,
        );
        close(
            &label("per-loan principal loss"),
            result.expected_loss,
            principal_loss,
        );
        let scenario = ScenarioResult::from_table(0, &table, &vec![1.0; TERM as usize + 1]);
        close(
            &label("scenario credit loss"),
            scenario.credit_loss.to_usd(),
            credit_loss,
        );

        // The investor gets the balance less principal loss and costs, plus MI: what it
        // was advanced along the way (principal and interest) comes back out of the
        // proceeds. Undiscounted, the same with or without advancing.
        let received: f64 = table
            .rows()
            .map(|r| r.investor_cash_flow(advancing).to_usd())
            .sum();
        close(
            &label("investor cash"),
            received,
            UPB - (credit_loss - interest_loss),
        );
        close(&label("PV at zero rates"), result.pv_mean, received);
    }
}

/// Borrower-paid MI ends once the scheduled balance reaches 78% of the original value:
/// at 77% original LTV it has already ended, at 79% it is still in force at default.
#[test]
fn mortgage_insurance_ends_at_78_percent_of_the_original_value() {
    let (ended, _) = project(true, Some(77.0));
    assert_eq!(
        ended.column_total(Summed::MortgageInsurance),
        engine::Money::ZERO
    );
    let (in_force, _) = project(true, Some(79.0));
    assert!(in_force.column_total(Summed::MortgageInsurance).to_usd() > 10_000.0);
}

fn flat_path(name: &str, mortgage_pct: f64, months: usize) -> StressPath {
    StressPath::new(
        name,
        vec![4.0; months + 1],
        vec![mortgage_pct; months + 1],
        vec![1.0; months + 1],
    )
    .expect("path")
}

fn loan(id: &str, note_pct: f64, current_ltv_pct: f64, fico: i64) -> LoanRecord {
    LoanRecord {
        loan_id: id.into(),
        current_upb: 200_000.0,
        note_rate_pct: note_pct,
        orig_term_months: 360,
        loan_age_months: 60,
        fico: Some(fico),
        current_ltv_pct: Some(current_ltv_pct),
        ..Default::default()
    }
}

/// Month-1 and month-2 SMM of one loan on a flat stress path, read back from the table:
/// SMM = voluntary prepayment / (performing balance x scheduled balance ratio).
fn smm_months_1_and_2(record: LoanRecord, prepay: PrepayParams) -> (f64, f64) {
    let p = Portfolio::from_records(vec![record], ProblemSink::default()).expect("valid");
    let marks = engine::marks::mark(
        &p,
        None,
        engine::YearMonth::new(2026, 11).expect("month"),
        80.0,
    );
    let p = p.with_marked_values(marks.value_usd);
    let hw =
        HullWhite::new(0.03, 0.01, engine::curve::ZeroCurve::flat(4.0).expect("c")).expect("hw");
    let houses = HousePrices {
        drift_pct: 0.0,
        volatility_pct: 5.0,
        persistence: 0.6,
        rate_correlation: -0.3,
        initial_hpa_pct: 0.0,
    };
    let scenarios = ScenarioSet::new(hw, houses, 1.7, 24, 3, 2, false)
        .expect("set")
        .with_stress_paths(vec![flat_path("flat", 5.0, 24)]);
    let model = StochasticModel::new(
        scenarios,
        prepay,
        DefaultParams {
            floor_pct: 0.0,
            max_pct: 0.0,
            ..DefaultParams::default()
        },
        LossParams::default(),
        0.0,
        1,
    )
    .expect("model");
    let table = &project_stochastic(&p, &model, 24, 2..3).tables[0];
    let c = p.note_rate_pct()[0] / 1200.0;
    let a = |n: i32| (1.0 - (1.0 + c).powi(-n)) / c;
    let smm = |month: u32, perf_before: f64| {
        let remaining = 300 - month as i32 + 1;
        let ratio = a(remaining - 1) / a(remaining);
        table.row(month).voluntary_prepayment.to_usd() / (perf_before * ratio)
    };
    let perf1 = table.row(1).performing_balance.to_usd();
    (smm(1, 200_000.0), smm(2, perf1))
}

/// The documented prepayment hazard, written out independently of the engine.
fn documented_smm(
    p: &PrepayParams,
    note_pct: f64,
    ltv_pct: f64,
    fico: f64,
    accumulated: f64,
) -> f64 {
    let incentive = note_pct - 5.0;
    let refi = p.refi_max_pct
        / 100.0
        / (1.0 + (-p.refi_slope_per_pct * (incentive - p.refi_midpoint_pct)).exp())
        * (-p.refi_ltv_damping_per_pct * (ltv_pct - p.refi_ltv_threshold_pct).max(0.0)).exp()
        * (-p.refi_fico_damping_per_100 * (740.0 - fico).max(0.0) / 100.0).exp();
    let burnout =
        p.burnout_floor + (1.0 - p.burnout_floor) * (-p.burnout_per_pct_year * accumulated).exp();
    let mobility = (p.lock_in_per_pct * incentive.min(0.0)).exp();
    let hazard = p.turnover_pct / 100.0 * mobility + refi * burnout;
    1.0 - (-hazard / 12.0).exp()
}

/// On the same in-the-money path (note 7%, mortgage rate 5%), a borrower at 130% MTM LTV
/// or with a 620 FICO refinances far less than one at 60% with a 760 FICO; an
/// out-of-the-money borrower (4%) is locked in; and burnout follows the accumulated
/// incentive (five years at the run date's 1.3 points seeded, then each month's 2 points).
#[test]
fn an_underwater_loan_prepays_less_than_one_with_equity() {
    let p = PrepayParams {
        seasonality: false,
        seasoning_months: 1.0,
        ..PrepayParams::default()
    };
    // The run date's incentive: against the random paths' month-0 mortgage rate, the
    // flat 4% curve's 10-year yield + 1.7%, held over the loan's five years.
    let seed = |note: f64| 60.0 / 12.0 * (note - 5.7f64).max(0.0);
    let cases = [
        ("equity", 7.0, 60.0, 760),
        ("underwater", 7.0, 130.0, 760),
        ("weak credit", 7.0, 60.0, 620),
        ("locked in", 4.0, 60.0, 760),
    ];
    let mut month1 = Vec::new();
    for (id, note, ltv, fico) in cases {
        let (smm1, smm2) = smm_months_1_and_2(loan(id, note, ltv, fico), p);
        let accumulated = seed(note);
        let want1 = documented_smm(&p, note, ltv, fico as f64, accumulated);
        assert!(
            ((smm1 - want1) / want1).abs() < 1e-6,
            "{id}: month-1 SMM {smm1} vs documented {want1}"
        );
        // Month 2: MTM LTV follows the scheduled balance; accumulated incentive grows
        // by one month of the positive incentive.
        let c = note / 1200.0;
        let a = |n: i32| (1.0 - (1.0f64 + c).powi(-n)) / c;
        let ltv2 = ltv * a(299) / a(300);
        let accumulated2 = accumulated + (note - 5.0f64).max(0.0) / 12.0;
        let want2 = documented_smm(&p, note, ltv2, fico as f64, accumulated2);
        assert!(
            ((smm2 - want2) / want2).abs() < 1e-6,
            "{id}: month-2 SMM {smm2} vs documented {want2}"
        );
        month1.push(smm1);
    }
    assert!(
        month1[1] < 0.5 * month1[0],
        "underwater {} vs equity {}",
        month1[1],
        month1[0]
    );
    assert!(month1[2] < 0.6 * month1[0], "weak credit {}", month1[2]);
    assert!(month1[3] < 0.06 / 12.0, "locked in {}", month1[3]);
}
