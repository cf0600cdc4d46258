//! `report.html`: one self-contained page per run, written beside `report.json` by the
//! embedded run and the cloud reducer alike (both end in `run::finalize`). It holds the
//! run's facts, its Monte Carlo figures (random scenarios only), each stress path on its
//! own, the risk measures, the charts (inline SVG), the input fingerprints and the bill.
//!
//! Nothing on the page loads from anywhere: no script, no stylesheet, no font, no image
//! file. Its content security policy says so, so a browser reports anything that tries.
//! Every figure taken from `report.json` carries that figure's JSON pointer in a
//! `data-key` attribute, so a test (or a reviewer's script) can check the page against
//! the report it was written from.

pub mod charts;
pub mod figures;

use maud::{DOCTYPE, Markup, PreEscaped, html};
use worker::report::{RiskReport, RunReport};

use charts::Chart;
use figures::{count, grouped, money, pct_of};

/// Nothing loads: styles are inline, and there is nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'";

/// Plain, printable, and readable without any web font.
const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
p.note { color: #555; margin-top: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { padding: 0.2rem 0.8rem 0.2rem 0; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.grid th, table.grid td { border-bottom: 1px solid #eee; }
code { font-size: 0.85rem; word-break: break-all; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
";

/// A figure from `report.json`: its text as shown, tagged with its JSON pointer.
fn fig(pointer: &str, text: impl AsRef<str>) -> Markup {
    html! { span data-key=(pointer) { (text.as_ref()) } }
}

/// `value +/- std_error`, both tagged.
fn estimate(pointer: &str, value: f64, std_error: f64, decimals: usize) -> Markup {
    html! {
        (fig(&format!("{pointer}/value"), format!("{value:.decimals$}")))
        " ± "
        (fig(&format!("{pointer}/std_error"), format!("{std_error:.decimals$}")))
    }
}

/// The page for `report`, with `charts` inlined in order.
pub fn render(report: &RunReport, charts: &[Chart]) -> String {
    let r = report;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(CONTENT_SECURITY_POLICY);
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "mcflow run " (r.run_id) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { "mcflow run " (fig("/run_id", &r.run_id)) }
                p.note {
                    "Business date " (fig("/run_date", &r.run_date))
                    " · mcflow " (fig("/mcflow_version", &r.mcflow_version))
                }
                // The model's description is a sentence: on its own line, it leaves the
                // table below narrow enough to read across.
                p { (fig("/model/description", &r.model.description)) }
                (run_section(r))
                (monte_carlo_section(r))
                @if let Some(risk) = &r.risk { (risk_section(risk)) }
                (stress_section(r))
                @if !charts.is_empty() {
                    h2 { "Charts" }
                    @for chart in charts {
                        figure {
                            figcaption { (chart.title) " (" code { (chart.file) } ")" }
                            (PreEscaped(inline_svg(&chart.svg)))
                        }
                    }
                }
                (inputs_section(r))
                (bill_section(r))
            }
        }
    };
    page.into_string()
}

/// The SVG element of a chart, without any XML prolog (an HTML page takes the element).
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

fn run_section(r: &RunReport) -> Markup {
    let stress = r.scenarios.saturating_sub(r.random_scenarios);
    html! {
        h2 { "Run" }
        table {
            tr { th { "Loans" } td.num { (fig("/loans", grouped(r.loans))) } }
            tr { th { "Balance (USD)" } td.num { (fig("/portfolio/total_upb", money(r.portfolio.total_upb))) } }
            tr {
                th { "Scenarios" }
                td.num {
                    @if stress > 0 && r.random_scenarios > 0 {
                        (fig("/random_scenarios", r.random_scenarios.to_string())) " random + "
                        (stress) " stress"
                    } @else {
                        (fig("/scenarios", r.scenarios.to_string()))
                    }
                }
            }
            tr {
                th { "Horizon (months)" }
                td.num {
                    (fig("/horizon_months", r.horizon_months.to_string()))
                    @if r.projection_months != r.horizon_months {
                        " shown of " (fig("/projection_months", r.projection_months.to_string())) " projected"
                    }
                }
            }
            tr { th { "Loan-months" } td.num { (fig("/loan_months", grouped(r.loan_months))) } }
            tr {
                th { "Shards" }
                td.num {
                    (fig("/shards/completed", r.shards.completed.to_string())) " of "
                    (fig("/shards/planned", r.shards.planned.to_string())) " completed"
                }
            }
            tr { th { "Wall time (s)" } td.num { (fig("/timing/wall_seconds", format!("{:.3}", r.timing.wall_seconds))) } }
        }
    }
}

fn monte_carlo_section(r: &RunReport) -> Markup {
    let t = &r.totals;
    let par = r.portfolio.total_upb;
    let random = r.random_scenarios.max(1);
    html! {
        @if r.pv.is_some() {
            h2 { "Monte Carlo" }
            p.note {
                "Means over " (count(u64::from(random), "random scenario"))
                ". The stress paths are in no figure of this section: each is reported on its own, below."
            }
        } @else {
            h2 { "Cash flows" }
            @if random > 1 {
                p.note { "Means over " (count(u64::from(random), "scenario")) "." }
            } @else {
                p.note { "The deterministic projection." }
            }
        }
        table {
            @if let Some(pv) = &r.pv {
                tr {
                    th { "PV (USD)" }
                    td.num {
                        (fig("/pv/mean", money(pv.mean))) " ± " (fig("/pv/std_error", money(pv.std_error)))
                        " (" (pct_of(pv.mean, par)) " of par)"
                    }
                }
                tr {
                    th { "PV p1 / p5 / p50 / p95 / p99" }
                    td.num {
                        (fig("/pv/p01", money(pv.p01))) " / " (fig("/pv/p05", money(pv.p05))) " / "
                        (fig("/pv/p50", money(pv.p50))) " / " (fig("/pv/p95", money(pv.p95))) " / "
                        (fig("/pv/p99", money(pv.p99)))
                    }
                }
            }
            @if let Some(loss) = &r.loss {
                tr {
                    th { "Expected loss (USD)" }
                    td.num {
                        (fig("/loss/expected", money(loss.expected))) " ± " (fig("/loss/std_error", money(loss.std_error)))
                        " (" (fig("/loss/expected_pct_upb", format!("{:.3}", loss.expected_pct_upb))) "% of UPB)"
                    }
                }
                tr {
                    th { "Loss VaR 95% / 99%" }
                    td.num { (fig("/loss/var_95", money(loss.var_95))) " / " (fig("/loss/var_99", money(loss.var_99))) }
                }
                tr {
                    th { "Loss ES 95% / 99%" }
                    td.num { (fig("/loss/es_95", money(loss.es_95))) " / " (fig("/loss/es_99", money(loss.es_99))) }
                }
                tr {
                    th { "95% bootstrap intervals" }
                    td.num {
                        "VaR 99% " (fig("/loss/intervals/var_99/0", money(loss.intervals.var_99[0])))
                        " to " (fig("/loss/intervals/var_99/1", money(loss.intervals.var_99[1])))
                        "; ES 99% " (fig("/loss/intervals/es_99/0", money(loss.intervals.es_99[0])))
                        " to " (fig("/loss/intervals/es_99/1", money(loss.intervals.es_99[1])))
                    }
                }
            }
            @if let Some(credit) = &r.credit_loss {
                tr {
                    th { "Expected credit loss (USD)" }
                    td.num {
                        (fig("/credit_loss/expected", money(credit.expected))) " ± "
                        (fig("/credit_loss/std_error", money(credit.std_error)))
                        ", ES 99% " (fig("/credit_loss/es_99", money(credit.es_99)))
                    }
                }
            }
            tr {
                th { "Cumulative default rate" }
                td.num {
                    (fig("/cumulative_default_pct", format!("{:.2}", r.cumulative_default_pct))) "%"
                    @if let Some(se) = r.cumulative_default_pct_std_error {
                        " ± " (fig("/cumulative_default_pct_std_error", format!("{se:.2}")))
                    }
                }
            }
            tr {
                th { "WAL (years)" }
                td.num {
                    (fig("/wal_years", format!("{:.2}", r.wal_years)))
                    @if let Some(se) = r.wal_years_std_error {
                        " ± " (fig("/wal_years_std_error", format!("{se:.2}")))
                    }
                }
            }
            tr { th { "Scheduled principal (USD)" } td.num { (fig("/totals/scheduled_principal", money(t.scheduled_principal))) } }
            tr { th { "Prepayments (USD)" } td.num { (fig("/totals/voluntary_prepayment", money(t.voluntary_prepayment))) } }
            tr { th { "Defaults (USD)" } td.num { (fig("/totals/new_default", money(t.new_default))) } }
            tr { th { "Recoveries (USD)" } td.num { (fig("/totals/principal_recovery", money(t.principal_recovery))) } }
            tr {
                th { "Principal loss (USD)" }
                td.num {
                    (fig("/totals/principal_loss", money(t.principal_loss)))
                    " (" (fig("/totals/loss_pct", format!("{:.2}", t.loss_pct))) "%)"
                }
            }
            tr {
                th { "Credit loss (USD)" }
                td.num {
                    (fig("/totals/credit_loss", money(t.credit_loss)))
                    " (" (fig("/totals/credit_loss_pct", format!("{:.2}", t.credit_loss_pct))) "%)"
                }
            }
            tr { th { "Net interest (USD)" } td.num { (fig("/totals/net_interest", money(t.net_interest))) } }
        }
    }
}

fn risk_section(risk: &RiskReport) -> Markup {
    html! {
        h2 { "Risk" }
        table {
            tr {
                th { "OAS (bp)" }
                td.num {
                    (estimate("/risk/oas_bp", risk.oas_bp.value, risk.oas_bp.std_error, 1))
                    @if let Some(pct) = risk.price_pct { " at a price of " (fig("/risk/price_pct", pct.to_string())) "% of UPB" }
                    @else { " (configured)" }
                }
            }
            @if let Some(d) = &risk.effective_duration {
                tr { th { "Effective duration (years)" } td.num { (estimate("/risk/effective_duration", d.value, d.std_error, 2)) } }
            }
            @if let Some(c) = &risk.effective_convexity {
                tr { th { "Effective convexity" } td.num { (estimate("/risk/effective_convexity", c.value, c.std_error, 1)) } }
            }
        }
        @if !risk.shocks.is_empty() {
            table.grid {
                tr {
                    th.num { "Parallel shift (bp)" } th.num { "PV (USD)" } th.num { "PV change (%)" }
                    th.num { "WAL (years)" } th.num { "Expected loss (USD)" }
                }
                @for (i, s) in risk.shocks.iter().enumerate() {
                    tr {
                        td.num { (fig(&format!("/risk/shocks/{i}/shift_bp"), format!("{:+}", s.shift_bp))) }
                        td.num { (fig(&format!("/risk/shocks/{i}/pv/value"), money(s.pv.value))) }
                        td.num { (estimate(&format!("/risk/shocks/{i}/pv_change_pct"), s.pv_change_pct.value, s.pv_change_pct.std_error, 2)) }
                        td.num { (fig(&format!("/risk/shocks/{i}/wal_years"), format!("{:.2}", s.wal_years))) }
                        td.num { (fig(&format!("/risk/shocks/{i}/expected_loss/value"), money(s.expected_loss.value))) }
                    }
                }
            }
        }
    }
}

fn stress_section(r: &RunReport) -> Markup {
    let par = r.portfolio.total_upb;
    html! {
        @if !r.stress.is_empty() {
            h2 { "Stress paths" }
            p.note { (count(r.stress.len() as u64, "deterministic path")) ", each on its own and in no Monte Carlo figure." }
            table.grid {
                tr {
                    th { "Path" } th.num { "PV (USD)" } th.num { "of par" } th.num { "Loss (USD)" }
                    th.num { "Credit loss (USD)" } th.num { "Default rate" } th.num { "WAL (years)" }
                }
                @for (i, s) in r.stress.iter().enumerate() {
                    tr {
                        td { (fig(&format!("/stress/{i}/name"), &s.name)) }
                        td.num { (fig(&format!("/stress/{i}/pv"), money(s.pv))) }
                        td.num { (pct_of(s.pv, par)) }
                        td.num { (fig(&format!("/stress/{i}/lifetime_loss"), money(s.lifetime_loss))) }
                        td.num { (fig(&format!("/stress/{i}/credit_loss"), money(s.credit_loss))) }
                        @if let Some(t) = &s.totals {
                            td.num { (fig(&format!("/stress/{i}/totals/cumulative_default_pct"), format!("{:.2}", t.cumulative_default_pct))) "%" }
                            td.num { (fig(&format!("/stress/{i}/totals/wal_years"), format!("{:.2}", t.wal_years))) }
                        } @else {
                            td.num { "n/a" } td.num { "n/a" }
                        }
                    }
                }
            }
        }
    }
}

fn inputs_section(r: &RunReport) -> Markup {
    let i = &r.inputs;
    html! {
        h2 { "Inputs" }
        p.note { "SHA-256 of each input as read: two runs with the same three ran on the same inputs." }
        table {
            tr { th { "Portfolio" } td { code { (fig("/portfolio/path", &r.portfolio.path)) } } }
            tr { th { "Portfolio SHA-256" } td { code { (fig("/inputs/portfolio_sha256", &i.portfolio_sha256)) } } }
            tr { th { "Config SHA-256" } td { code { (fig("/inputs/config_sha256", &i.config_sha256)) } } }
            tr {
                th { "Market files SHA-256" }
                td {
                    @if i.market_sha256.is_empty() { "not recorded" }
                    @else { code { (fig("/inputs/market_sha256", &i.market_sha256)) } }
                }
            }
        }
        @if !r.outputs.is_empty() {
            h2 { "Tables" }
            ul { @for (k, o) in r.outputs.iter().enumerate() { li { code { (fig(&format!("/outputs/{k}"), o)) } } } }
        }
    }
}

fn bill_section(r: &RunReport) -> Markup {
    html! {
        @if !r.bill.is_empty() {
            h2 { "Lambda bill" }
            p.note {
                "The measured shard durations priced on Lambda (prices read on "
                (r.bill[0].prices_read_on) "). A run elsewhere is a projection."
            }
            table.grid {
                tr {
                    th { "Architecture" } th.num { "Memory (MB)" } th.num { "Shards" } th.num { "GB-s" }
                    th.num { "Total (USD)" } th { "Basis" }
                }
                @for (k, b) in r.bill.iter().enumerate() {
                    tr {
                        td { (b.arch.name()) }
                        td.num { (fig(&format!("/bill/{k}/worker_memory_mb"), b.worker_memory_mb.to_string())) }
                        td.num { (fig(&format!("/bill/{k}/shards"), b.shards.to_string())) }
                        td.num { (fig(&format!("/bill/{k}/worker_gb_seconds"), format!("{:.3}", b.worker_gb_seconds))) }
                        td.num { (fig(&format!("/bill/{k}/total_usd"), format!("{:.6}", b.total_usd))) }
                        td { @if b.deployed { "as deployed" } @else { "projection" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_inlined_without_its_xml_prolog() {
        assert_eq!(
            inline_svg("<?xml version=\"1.0\"?>\n<svg width=\"1\"></svg>"),
            "<svg width=\"1\"></svg>"
        );
        assert_eq!(inline_svg("<svg/>"), "<svg/>");
    }

    #[test]
    fn figures_are_escaped_and_tagged_with_their_pointer() {
        let markup = fig("/stress/0/name", "<b>&").into_string();
        assert_eq!(
            markup,
            "<span data-key=\"/stress/0/name\">&lt;b&gt;&amp;</span>"
        );
    }
}
