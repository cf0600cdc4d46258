//! The run's `risk` figures from the reduced tables: the OAS (solved for `[risk]
//! price_pct`, or the configured spread), the zero-volatility spread and option cost, and
//! the sensitivities of every bump block, all discounted at that one spread. A function
//! of the exact per-scenario tables in scenario order, so every shard layout, local or
//! cloud, gives the same bits.

use engine::bumps::Bump;
use engine::risk::{ScenarioResult, solve_oas, standard_error};
use engine::sensitivities::{Estimate, sensitivities};
use engine::stochastic::StochasticModel;
use engine::{CashflowTable, Money, Portfolio};
use worker::report::{KeyRateDurations, RiskReport, Totals};
use worker::stochastic_config::StochasticSpec;

/// Each scenario's investor cash flows, month 1 first, USD.
fn investor_flows(table: &CashflowTable) -> Vec<f64> {
    table
        .rows()
        .map(|r| r.investor_cash_flow(table.advancing()).to_usd())
        .collect()
}

/// Discount factors at `oas_bp` from factors that include `base_bp`.
fn respread(discount: &[f64], base_bp: f64, oas_bp: f64) -> Vec<f64> {
    if oas_bp == base_bp {
        return discount.to_vec();
    }
    let extra = (oas_bp - base_bp) / 10_000.0;
    discount
        .iter()
        .enumerate()
        .map(|(m, df)| df * libm::exp(-extra * m as f64 / 12.0))
        .collect()
}

/// The `risk` section, when `[risk]` asks for anything. `tables` holds every scenario
/// of the run (the base, then each bump block's), `discount` their discount factors at
/// the configured spread.
pub fn risk_report(
    spec: &StochasticSpec,
    model: &StochasticModel,
    tables: &[CashflowTable],
    discount: &[Vec<f64>],
    portfolio: &Portfolio,
    start_upb: Money,
) -> Result<Option<RiskReport>, engine::risk::OasError> {
    if spec.price_pct.is_none() && spec.risk.is_empty() {
        return Ok(None);
    }
    let blocks = model.blocks();
    let base = &blocks[0];
    let random = base.random as usize;
    let configured_bp = model.oas_bp();
    // The configured price, else the portfolio's `price_pct` column when every loan has
    // one (the loans' prices in USD, added up).
    let column_price: Option<f64> = portfolio
        .price_pct()
        .iter()
        .zip(portfolio.current_upb())
        .map(|(p, upb)| p.map(|p| p / 100.0 * upb))
        .sum();
    let price = spec
        .price_pct
        .map(|p| p / 100.0 * start_upb.to_usd())
        .or(column_price.filter(|_| !portfolio.is_empty()));
    let price_pct = spec
        .price_pct
        .or(price.map(|p| 100.0 * p / start_upb.to_usd()));
    let (oas, iterations) = match price {
        Some(price) => {
            let flows: Vec<Vec<f64>> = tables[..random].iter().map(investor_flows).collect();
            let s = solve_oas(
                &flows,
                &discount[..random],
                configured_bp,
                price,
                spec.antithetic,
            )?;
            (
                Estimate {
                    value: s.oas_bp,
                    std_error: s.std_error_bp,
                },
                Some(s.iterations),
            )
        }
        None => (Estimate::exact(configured_bp), None),
    };
    // Every scenario's results at the one spread.
    let results: Vec<ScenarioResult> = tables
        .iter()
        .zip(discount)
        .enumerate()
        .map(|(k, (t, df))| {
            ScenarioResult::from_table(k as u32, t, &respread(df, configured_bp, oas.value))
        })
        .collect();
    let base_results = &results[..random];
    let base_pvs: Vec<f64> = base_results.iter().map(|r| r.pv).collect();
    let base_pv = base_pvs.iter().sum::<f64>() / random as f64;
    let mut block_results: Vec<(Bump, Vec<ScenarioResult>)> = Vec::new();
    let mut zero_vol = None;
    for block in &blocks[1..] {
        let bump = model.bumps()[block.bump.expect("a bump block")].clone();
        let range = block.scenarios.start as usize..block.scenarios.end as usize;
        if bump == Bump::ZeroVolatility {
            // The spread over the initial curve that prices the forward path's flows to
            // the price, or to the mean PV at the OAS.
            let k = range.start;
            let s = solve_oas(
                &[investor_flows(&tables[k])],
                &[discount[k].clone()],
                configured_bp,
                price.unwrap_or(base_pv),
                false,
            )?;
            // With a price, the zero-volatility spread is exact and the option cost
            // inherits the OAS's error; without one, the target (the mean PV) carries
            // the error.
            let target_error_bp = if price.is_some() {
                0.0
            } else {
                standard_error(&base_pvs, spec.antithetic) / s.pv_per_bp.abs()
            };
            zero_vol = Some(Estimate {
                value: s.oas_bp,
                std_error: target_error_bp,
            });
        }
        block_results.push((bump, results[range].to_vec()));
    }
    let mut sens = sensitivities(&spec.risk, base_results, &block_results, spec.antithetic);
    for shock in &mut sens.shocks {
        let block = blocks[1..]
            .iter()
            .find(|b| {
                model.bumps()[b.bump.expect("a bump block")]
                    == Bump::Parallel {
                        shift_bp: shock.shift_bp,
                    }
            })
            .expect("every shock has its block");
        let range = block.scenarios.start as usize..block.scenarios.end as usize;
        let mut sum = tables[range.start].clone();
        for t in &tables[range.start + 1..range.end] {
            sum.merge(t);
        }
        shock.wal_years = Totals::of(&sum, start_upb).wal_years;
        shock.wal_years_std_error =
            engine::sensitivities::wal_estimate(&tables[range], spec.antithetic).std_error;
    }
    let option_cost = zero_vol.map(|z| Estimate {
        value: z.value - oas.value,
        std_error: if price.is_some() {
            oas.std_error
        } else {
            z.std_error
        },
    });
    Ok(Some(RiskReport {
        price_pct,
        price,
        oas_bp: oas,
        oas_iterations: iterations,
        zero_vol_spread_bp: zero_vol,
        option_cost_bp: option_cost,
        effective_shift_bp: spec.risk.effective_shift_bp,
        effective_duration: sens.effective_duration,
        effective_convexity: sens.effective_convexity,
        key_rate_durations: KeyRateDurations(sens.key_rate_durations),
        key_rate_duration_sum: sens.key_rate_duration_sum,
        vega: sens.vega,
        prepay_duration: sens.prepay_duration,
        hpi_duration: sens.hpi_duration,
        shocks: sens.shocks,
        bumps: model.bumps().iter().map(Bump::label).collect(),
        cost_multiplier: f64::from(model.scenario_count()) / f64::from(base.scenarios.end),
    }))
}
