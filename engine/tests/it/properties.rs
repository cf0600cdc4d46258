//! Property tests of the kernel's invariants: exact split invariance, conservation of
//! principal, non-negative balances, and the closed form at zero speeds.

use engine::{
    CashflowTable, DefaultSpeed, DeterministicModel, LoanRecord, Money, Pipeline, Portfolio,
    PrepaySpeed, ProblemSink, Summed, project_deterministic,
};
use proptest::prelude::*;

fn loan() -> impl Strategy<Value = LoanRecord> {
    (
        1_000.0f64..2_000_000.0,
        0.0f64..12.0,
        0.0f64..0.5,
        prop_oneof![Just(360i64), Just(180), Just(240), 12i64..=480],
        0.0f64..1.0,
    )
        .prop_map(|(upb, rate, servicing, term, age_frac)| LoanRecord {
            loan_id: String::new(),
            current_upb: upb,
            note_rate_pct: rate,
            servicing_fee_pct: Some(servicing.min(rate)),
            orig_term_months: term,
            loan_age_months: ((term - 1) as f64 * age_frac) as i64,
            ..Default::default()
        })
}

fn portfolio_of(mut loans: Vec<LoanRecord>) -> Portfolio {
    for (i, l) in loans.iter_mut().enumerate() {
        l.loan_id = format!("L{i}");
    }
    Portfolio::from_records(loans, ProblemSink::default()).expect("valid")
}

fn model() -> impl Strategy<Value = DeterministicModel> {
    (
        prop_oneof![
            (0.0f64..800.0).prop_map(PrepaySpeed::Psa),
            (0.0f64..60.0).prop_map(PrepaySpeed::CprPct),
            (0.0f64..100.0).prop_map(PrepaySpeed::SmmPct),
        ],
        prop_oneof![
            Just(DefaultSpeed::None),
            (0.0f64..1000.0).prop_map(DefaultSpeed::Sda),
            (0.0f64..30.0).prop_map(DefaultSpeed::CdrPct),
            (0.0f64..100.0).prop_map(DefaultSpeed::MdrPct),
        ],
        0.0f64..=100.0,
        0u32..=36,
        any::<bool>(),
    )
        .prop_map(|(prepay, default, severity, lag, advancing)| {
            DeterministicModel::new(
                prepay,
                default,
                severity,
                Pipeline {
                    recovery_lag_months: lag,
                    advancing,
                },
            )
            .expect("valid model")
        })
}

fn run(p: &Portfolio, m: &DeterministicModel, threads: usize) -> (CashflowTable, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    let horizon = p.max_remaining_term_months();
    let projection = pool.install(|| project_deterministic(p, m, horizon));
    (projection.table, projection.loan_months)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any partition of the loans into sub-portfolios, projected separately and merged,
    /// gives bit-identical totals to the whole, on one thread or two.
    #[test]
    fn split_in_any_way_gives_identical_totals(
        loans in prop::collection::vec(loan(), 1..700),
        model in model(),
        assignment_seed in any::<u64>(),
        parts in 1usize..5,
    ) {
        let whole = portfolio_of(loans.clone());
        let (reference, lm) = run(&whole, &model, 1);
        let (two_threads, lm2) = run(&whole, &model, 2);
        prop_assert_eq!(&reference, &two_threads);
        prop_assert_eq!(lm, lm2);

        // Deal loans to parts by a cheap hash so parts interleave and chunk boundaries move.
        let mut split: Vec<Vec<LoanRecord>> = vec![Vec::new(); parts];
        for (i, l) in loans.into_iter().enumerate() {
            let h = (i as u64 ^ assignment_seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
            split[(h % parts as u64) as usize].push(l);
        }
        let horizon = whole.max_remaining_term_months();
        let mut merged = CashflowTable::new(horizon, model.pipeline().advancing);
        let mut merged_lm = 0;
        for part in split.into_iter().filter(|p| !p.is_empty()) {
            let p = portfolio_of(part);
            let projection = project_deterministic(&p, &model, horizon);
            merged.merge(&projection.table);
            merged_lm += projection.loan_months;
        }
        prop_assert_eq!(&merged, &reference);
        prop_assert_eq!(merged_lm, lm);
    }

    /// Over the life of the loans, principal is conserved and balances never go negative.
    #[test]
    fn principal_is_conserved_and_balances_stay_non_negative(
        loans in prop::collection::vec(loan(), 1..40),
        model in model(),
    ) {
        let p = portfolio_of(loans);
        let (t, loan_months) = run(&p, &model, 1);
        let start = p.current_upb().iter().map(|&b| Money::from_usd(b)).fold(Money::ZERO, |a, b| a + b);
        let paid = t.column_total(Summed::ActualAmortization)
            + t.column_total(Summed::VoluntaryPrepayment)
            + t.column_total(Summed::NewDefault);
        // Each loan-month's amounts are rounded once to 1/10,000 of a dollar.
        let slack = 4 * loan_months as i128 + 4;
        prop_assert!((paid.units() - start.units()).abs() <= slack,
            "start {} paid {}", start, paid);

        // Everything that defaults leaves the pipeline by maturity: liquidated, or (when
        // the servicer advances) amortized while in foreclosure.
        let mut left = t.column_total(Summed::LiquidatedBalance);
        if model.pipeline().advancing {
            left += t.column_total(Summed::DefaultedAmortization);
        }
        prop_assert!((left.units() - t.column_total(Summed::NewDefault).units()).abs() <= slack);

        let mut recovered_and_lost = Money::ZERO;
        for row in t.rows() {
            for v in [row.performing_balance, row.foreclosure_balance, row.new_default,
                      row.voluntary_prepayment, row.actual_amortization, row.liquidated_balance,
                      row.principal_loss, row.principal_recovery, row.net_interest] {
                prop_assert!(v.units() >= 0, "negative amount in month {}: {:?}", row.month, row);
            }
            recovered_and_lost += row.principal_recovery + row.principal_loss;
        }
        prop_assert_eq!(recovered_and_lost, t.column_total(Summed::LiquidatedBalance));
        let last = t.row(t.horizon_months());
        prop_assert_eq!(last.performing_balance, Money::ZERO);
        prop_assert_eq!(last.foreclosure_balance, Money::ZERO);
    }

    /// With no prepayments and no defaults every loan follows its level-payment schedule:
    /// balance after k payments = B * BAL(age+k)/BAL(age) (SIFMA SF-4), interest = balance
    /// times the monthly note rate.
    #[test]
    fn zero_speeds_reduce_to_plain_amortization(l in loan()) {
        let p = portfolio_of(vec![l.clone()]);
        let m = DeterministicModel::new(PrepaySpeed::SmmPct(0.0), DefaultSpeed::None, 0.0,
            Pipeline { recovery_lag_months: 0, advancing: false }).expect("valid");
        let (t, _) = run(&p, &m, 1);
        let c = l.note_rate_pct / 1200.0;
        let term = l.orig_term_months as f64;
        let bal = |k: f64| if c == 0.0 { (term - k) / term } else {
            (1.0 - (1.0 + c).powf(-(term - k))) / (1.0 - (1.0 + c).powf(-term))
        };
        let age = l.loan_age_months as f64;
        let mut previous = l.current_upb;
        for row in t.rows() {
            let k = f64::from(row.month);
            let expected = l.current_upb * bal(age + k) / bal(age);
            let got = row.performing_balance.to_usd();
            prop_assert!((got - expected).abs() <= 1e-9 * l.current_upb + 1e-3,
                "month {}: {} vs {}", row.month, got, expected);
            prop_assert!((row.expected_interest.to_usd() - previous * c).abs() <= 1e-9 * l.current_upb + 1e-3);
            prop_assert_eq!(row.voluntary_prepayment, Money::ZERO);
            prop_assert_eq!(row.new_default, Money::ZERO);
            previous = got;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Every compiled kernel variant this CPU can run (baseline, AVX2, AVX-512) produces
    /// the same bits, so results do not depend on the machine's instruction set.
    #[test]
    fn every_instruction_set_gives_identical_totals(
        loans in prop::collection::vec(loan(), 1..600),
        model in model(),
    ) {
        let p = portfolio_of(loans);
        let horizon = p.max_remaining_term_months();
        let reference = engine::project_deterministic_on(engine::Isa::Baseline, &p, &model, horizon);
        for isa in engine::Isa::available() {
            let other = engine::project_deterministic_on(isa, &p, &model, horizon);
            prop_assert_eq!(&other, &reference, "{:?}", isa);
        }
    }

    /// The same for the stochastic model's batch kernel, with per-loan sums, over any
    /// pipeline (a lag of 0 included), with and without advancing, and scenario counts
    /// that fill a batch, part of one, or several.
    #[test]
    fn every_instruction_set_gives_identical_stochastic_results(
        loans in prop::collection::vec(loan(), 1..300),
        lag in prop_oneof![Just(0u32), 1u32..30],
        advancing in any::<bool>(),
        scenarios in 1u32..19,
    ) {
        use engine::stochastic::{LossParams, StochasticModel, project_stochastic_on};
        let p = portfolio_of(loans);
        let horizon = p.max_remaining_term_months();
        let base = engine::sample::benchmark_stochastic_model(480, scenarios);
        let loss = LossParams {
            pipeline: Pipeline { recovery_lag_months: lag, advancing },
            ..LossParams::default()
        };
        let model = StochasticModel::new(
            base.scenarios().clone(),
            *base.prepay(),
            *base.default_params(),
            loss,
            25.0,
            7,
        )
        .expect("valid");
        let reference = project_stochastic_on(engine::Isa::Baseline, &p, &model, horizon, 0..scenarios);
        for isa in engine::Isa::available() {
            let other = project_stochastic_on(isa, &p, &model, horizon, 0..scenarios);
            prop_assert_eq!(&other.tables, &reference.tables, "{:?}", isa);
            prop_assert_eq!(&other.loan_sums, &reference.loan_sums, "{:?}", isa);
        }
    }
}

/// The 64-bit month totals at the validator's limits: 1,000 rows of the largest balance
/// (the portfolio's total limit) at the highest note rate, no servicing strip, the longest
/// recovery lag, full mortgage insurance and foreclosure costs, and a default rate that
/// keeps the pipeline full. The totals must equal 1,000 times one row's, computed in
/// 128 bits, so a wrapped total fails.
#[test]
fn month_totals_hold_at_the_portfolio_limits() {
    use engine::portfolio::{MAX_PORTFOLIO_UPB_USD, MAX_ROW_UPB_USD};
    let rows = (MAX_PORTFOLIO_UPB_USD / MAX_ROW_UPB_USD) as usize;
    let row = LoanRecord {
        loan_id: String::new(),
        current_upb: MAX_ROW_UPB_USD,
        note_rate_pct: 29.99,
        servicing_fee_pct: Some(0.0),
        orig_term_months: 480,
        loan_age_months: 0,
        orig_ltv_pct: Some(100.0),
        mi_pct: Some(100.0),
        ..Default::default()
    };
    let mut largest = 0i128;
    for advancing in [true, false] {
        let model = DeterministicModel::new(
            PrepaySpeed::SmmPct(0.0),
            DefaultSpeed::MdrPct(5.0),
            100.0,
            Pipeline {
                recovery_lag_months: 120,
                advancing,
            },
        )
        .and_then(|m| m.with_foreclosure_cost_pct(100.0))
        .expect("valid model");
        let one = project_deterministic(&portfolio_of(vec![row.clone()]), &model, 480).table;
        let all = project_deterministic(&portfolio_of(vec![row.clone(); rows]), &model, 480).table;
        for (a, o) in all.units().iter().zip(one.units()) {
            assert_eq!(i128::from(*a), rows as i128 * i128::from(*o));
            largest = largest.max(i128::from(*a));
        }
    }
    // The bound in `CashflowTable`'s documentation holds with room to spare.
    let bound = 5.1 * MAX_PORTFOLIO_UPB_USD * 1e4;
    assert!((largest as f64) < bound, "{largest} units");
    assert!(
        largest > i128::from(i64::MAX) / 100,
        "not near the limit: {largest}"
    );
}

#[test]
fn a_portfolio_beyond_the_total_limit_is_refused_at_the_row_that_passes_it() {
    use engine::portfolio::{MAX_PORTFOLIO_UPB_USD, MAX_ROW_UPB_USD};
    let rows = (MAX_PORTFOLIO_UPB_USD / MAX_ROW_UPB_USD) as usize + 1;
    let row = LoanRecord {
        current_upb: MAX_ROW_UPB_USD,
        note_rate_pct: 5.0,
        orig_term_months: 360,
        ..Default::default()
    };
    let mut loans = vec![row; rows];
    for (i, l) in loans.iter_mut().enumerate() {
        l.loan_id = format!("L{i}");
    }
    let e = Portfolio::from_records(loans, ProblemSink::default()).expect_err("too large");
    assert_eq!(e, engine::PortfolioError::TooLarge { row: rows });
    assert!(
        e.to_string()
            .starts_with(&format!("row {rows}, column current_upb"))
    );
}
