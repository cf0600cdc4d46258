//! The run summary printed to the terminal.

use super::{money, pct_of};
use worker::report::RunReport;

/// Width of the label column, so that lines printed after the table align with it.
pub const LABEL_WIDTH: usize = 20;

/// One line in the table's layout.
pub fn line(label: &str, value: impl std::fmt::Display) -> String {
    format!("  {label:<LABEL_WIDTH$}  {value}")
}

/// "48 random + 1 stress" (the stress paths are in no Monte Carlo figure), or the count.
fn scenarios(r: &RunReport) -> String {
    let stress = r.scenarios.saturating_sub(r.random_scenarios);
    if stress > 0 && r.random_scenarios > 0 {
        format!("{} random + {stress} stress", r.random_scenarios)
    } else {
        r.scenarios.to_string()
    }
}

/// "1.23 +/- 0.04" at `decimals`.
fn estimate(e: &engine::sensitivities::Estimate, decimals: usize) -> String {
    format!("{:.decimals$} +/- {:.decimals$}", e.value, e.std_error)
}

/// The risk section: spreads, then sensitivities, then shocks.
fn risk_rows(risk: &worker::report::RiskReport, rows: &mut Vec<(&str, String)>) {
    let oas = match (risk.price_pct, risk.price) {
        (Some(pct), Some(price)) => format!(
            "{} bp at {pct}% of UPB ({})",
            estimate(&risk.oas_bp, 1),
            money(price)
        ),
        _ => format!("{} bp (configured)", estimate(&risk.oas_bp, 1)),
    };
    rows.push(("OAS", oas));
    if let (Some(z), Some(c)) = (&risk.zero_vol_spread_bp, &risk.option_cost_bp) {
        rows.push((
            "zero-vol spread",
            format!("{} bp, option cost {} bp", estimate(z, 1), estimate(c, 1)),
        ));
    }
    if let (Some(d), Some(c)) = (&risk.effective_duration, &risk.effective_convexity) {
        rows.push((
            "eff. duration / cvx",
            format!(
                "{} years / {} (+/-{} bp)",
                estimate(d, 2),
                estimate(c, 1),
                risk.effective_shift_bp.unwrap_or_default()
            ),
        ));
    }
    if !risk.key_rate_durations.is_empty() {
        let keys = risk
            .key_rate_durations
            .0
            .iter()
            .map(|(y, e)| format!("{y}y {}", estimate(e, 2)))
            .collect::<Vec<_>>()
            .join(", ");
        let sum = risk
            .key_rate_duration_sum
            .map(|s| format!("; sum {}", estimate(&s, 2)))
            .unwrap_or_default();
        rows.push(("key-rate durations", format!("{keys}{sum}")));
    }
    for (label, value, unit) in [
        ("vega", &risk.vega, "% per bp of volatility"),
        ("prepay duration", &risk.prepay_duration, "% per 1% faster"),
        ("HPI duration", &risk.hpi_duration, "% per 1% higher HPI"),
    ] {
        if let Some(v) = value {
            rows.push((label, format!("{} {unit}", estimate(v, 3))));
        }
    }
    for s in &risk.shocks {
        rows.push((
            "rate shock",
            format!(
                "{:+} bp: PV {} ({:+.2}% +/- {:.2}), WAL {:.2} +/- {:.2}, loss {}",
                s.shift_bp,
                money(s.pv.value),
                s.pv_change_pct.value,
                s.pv_change_pct.std_error,
                s.wal_years,
                s.wal_years_std_error,
                money(s.expected_loss.value)
            ),
        ));
    }
    if risk.cost_multiplier > 1.0 {
        rows.push((
            "risk cost",
            format!(
                "{:.2}x the base run ({} bump blocks)",
                risk.cost_multiplier,
                risk.bumps.len()
            ),
        ));
    }
}

/// Formats a report as an aligned two-column table.
pub fn render(r: &RunReport) -> String {
    let t = &r.totals;
    let rows: Vec<(&str, String)> = vec![
        ("run", format!("{} ({})", r.run_id, r.run_date)),
        ("model", r.model.description.clone()),
        ("loans", super::grouped(r.loans)),
        ("balance (USD)", money(r.portfolio.total_upb)),
        ("scenarios", scenarios(r)),
        ("horizon (months)", r.horizon_months.to_string()),
        ("loan-months", super::grouped(r.loan_months)),
        (
            "shards",
            format!(
                "{} planned, {} completed",
                r.shards.planned, r.shards.completed
            ),
        ),
        ("wall time (s)", format!("{:.3}", r.timing.wall_seconds)),
        (
            "loan-months/s",
            format!("{:.3e}", r.timing.loan_months_per_second),
        ),
    ];
    let mut rows = rows;
    // Every figure from here to the stress section is a Monte Carlo statistic: said once,
    // so that no one reads a stress path into a mean.
    // A deterministic run has no Monte Carlo figures (and no PV): nothing to say.
    if r.random_scenarios > 0 && r.pv.is_some() {
        rows.push((
            "Monte Carlo",
            format!(
                "means over {}; stress paths are apart, below",
                super::count(u64::from(r.random_scenarios), "random scenario")
            ),
        ));
    }
    rows.extend([
        ("scheduled principal", money(t.scheduled_principal)),
        ("prepayments", money(t.voluntary_prepayment)),
        (
            "defaults",
            format!(
                "{} ({:.2}%{})",
                money(t.new_default),
                t.cumulative_default_pct,
                r.cumulative_default_pct_std_error
                    .map_or(String::new(), |se| format!(" +/- {se:.2}"))
            ),
        ),
        ("recoveries", money(t.principal_recovery)),
        (
            "principal loss",
            format!("{} ({:.2}%)", money(t.principal_loss), t.loss_pct),
        ),
        (
            "credit loss",
            format!(
                "{} ({:.2}%): + interest {}, + costs {}, - MI {}",
                money(t.credit_loss),
                t.credit_loss_pct,
                money(t.interest_loss),
                money(t.foreclosure_cost),
                money(t.mi_recovery)
            ),
        ),
        ("net interest", money(t.net_interest)),
        (
            "WAL (years)",
            match r.wal_years_std_error {
                Some(se) => format!("{:.2} +/- {se:.2}", t.wal_years),
                None => format!("{:.2}", t.wal_years),
            },
        ),
    ]);
    let par = r.portfolio.total_upb;
    if let Some(pv) = &r.pv {
        rows.push((
            "PV mean +/- SE",
            format!(
                "{} +/- {} ({} of par)",
                money(pv.mean),
                money(pv.std_error),
                pct_of(pv.mean, par)
            ),
        ));
        rows.push((
            "PV p1/p5/p50/p95/p99",
            [pv.p01, pv.p05, pv.p50, pv.p95, pv.p99]
                .map(money)
                .join(" / "),
        ));
    }
    if let Some(loss) = &r.loss {
        rows.push((
            "expected loss",
            format!(
                "{} +/- {} ({:.3}% of UPB)",
                money(loss.expected),
                money(loss.std_error),
                loss.expected_pct_upb
            ),
        ));
        rows.push((
            "loss VaR95 / VaR99",
            format!("{} / {}", money(loss.var_95), money(loss.var_99)),
        ));
        rows.push((
            "loss ES95 / ES99",
            format!("{} / {}", money(loss.es_95), money(loss.es_99)),
        ));
        let [lo, hi] = loss.intervals.es_99;
        let [var_lo, var_hi] = loss.intervals.var_99;
        rows.push((
            "95% bootstrap CI",
            format!(
                "VaR99 {} .. {}, ES99 {} .. {}",
                money(var_lo),
                money(var_hi),
                money(lo),
                money(hi)
            ),
        ));
    }
    if let Some(credit) = &r.credit_loss {
        rows.push((
            "expected credit loss",
            format!(
                "{} +/- {} ({:.3}% of UPB), ES99 {}",
                money(credit.expected),
                money(credit.std_error),
                credit.expected_pct_upb,
                money(credit.es_99)
            ),
        ));
    }
    if let Some(c) = &r.calibration {
        rows.push((
            "Hull-White fit",
            format!(
                "a = {:.5}, sigma = {:.6} to {} swaptions, RMS error {:.2} bp of normal vol",
                c.mean_reversion,
                c.volatility,
                c.instruments.len(),
                c.rms_error_bp
            ),
        ));
    }
    if let Some(risk) = &r.risk {
        risk_rows(risk, &mut rows);
    }
    if let Some(m) = &r.marks {
        rows.push(("marks", marks_line(m)));
    }
    if !r.stress.is_empty() {
        rows.push((
            "stress paths",
            format!(
                "{}, each on its own and in no figure above",
                super::count(r.stress.len() as u64, "path")
            ),
        ));
    }
    for st in &r.stress {
        let mut line = format!(
            "PV {} ({} of par), loss {}, credit loss {}",
            money(st.pv),
            pct_of(st.pv, par),
            money(st.lifetime_loss),
            money(st.credit_loss)
        );
        if let Some(t) = &st.totals {
            line += &format!(
                " ({:.2}%), defaults {:.2}%, WAL {:.2}",
                t.loss_pct, t.cumulative_default_pct, t.wal_years
            );
        }
        rows.push(("stress path", format!("{}: {line}", st.name)));
    }
    if !r.bill.is_empty() {
        rows.push((
            "Lambda bill (USD)",
            r.bill
                .iter()
                .map(|b| {
                    let basis = if b.deployed { " (as deployed)" } else { "" };
                    format!("{} {:.6}{basis}", b.arch.name(), b.total_usd)
                })
                .collect::<Vec<_>>()
                .join(", ")
                + &format!(" at {} MB", r.bill[0].worker_memory_mb),
        ));
    }
    let width = LABEL_WIDTH;
    let mut out = String::new();
    for (k, v) in rows {
        out.push_str(&format!("  {k:<width$}  {v}\n"));
    }
    for o in &r.outputs {
        out.push_str(&format!("  {:<width$}  {o}\n", "table"));
    }
    out
}

/// How many loans were marked each way, with separators like every other count.
fn marks_line(m: &engine::marks::MarkCounts) -> String {
    format!(
        "{} current LTV, {} HPI history, {} origination value",
        super::grouped(m.current_ltv),
        super::grouped(m.history),
        super::grouped(m.origination)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_counts_carry_thousands_separators() {
        let m = engine::marks::MarkCounts {
            current_ltv: 0,
            history: 10_000,
            origination: 1_234_567,
        };
        assert_eq!(
            marks_line(&m),
            "0 current LTV, 10,000 HPI history, 1,234,567 origination value"
        );
    }
}
