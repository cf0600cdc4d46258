//! The report page's charts, drawn as SVG: the fan of monthly investor cash flow
//! (p5/p50/p95 and mean across scenarios), the histogram of scenario PV, and PV against
//! parallel rate shifts (with `[risk] shocks_bp`). Each is written beside the report and
//! inlined in `report.html`.

use engine::risk::CashflowBand;
use plotters::prelude::*;
use worker::layout::{FAN_CHART_FILE, PV_BY_SHIFT_FILE, PV_HISTOGRAM_FILE};
use worker::report::RunReport;

/// A chart plotters could not draw: which, and plotters' reason.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the {chart}: {message}")]
pub struct ChartError {
    pub chart: &'static str,
    pub message: String,
}

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// One drawn chart: its file name in the run's folder, a heading, and the SVG text.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub file: &'static str,
    pub title: &'static str,
    pub svg: String,
}

/// The charts `report` has data for, in page order; `pvs` are the random scenarios' PVs.
pub fn draw(report: &RunReport, pvs: &[f64]) -> Result<Vec<Chart>, ChartError> {
    let mut charts = Vec::new();
    if !report.cashflow_bands.is_empty() {
        let mut svg = String::new();
        fan_chart(&mut svg, &report.run_id, &report.cashflow_bands)
            .map_err(|e| failed("cash-flow fan chart", e))?;
        charts.push(Chart {
            file: FAN_CHART_FILE,
            title: "Monthly investor cash flow across random scenarios",
            svg,
        });
    }
    if pvs.len() > 1 {
        let mut svg = String::new();
        pv_histogram(&mut svg, &report.run_id, pvs).map_err(|e| failed("PV histogram", e))?;
        charts.push(Chart {
            file: PV_HISTOGRAM_FILE,
            title: "PV by random scenario",
            svg,
        });
    }
    if let Some(risk) = report.risk.as_ref().filter(|r| !r.shocks.is_empty()) {
        let mut svg = String::new();
        pv_by_shift(&mut svg, &report.run_id, risk)
            .map_err(|e| failed("PV by rate shift chart", e))?;
        charts.push(Chart {
            file: PV_BY_SHIFT_FILE,
            title: "PV by parallel rate shift",
            svg,
        });
    }
    Ok(charts)
}

fn failed(chart: &'static str, e: Box<dyn std::error::Error>) -> ChartError {
    ChartError {
        chart,
        message: e.to_string(),
    }
}

fn fan_chart(svg: &mut String, run_id: &str, bands: &[CashflowBand]) -> Drawn {
    let millions = |x: f64| x / 1e6;
    let months = bands.len() as u32;
    let top = bands.iter().map(|b| millions(b.p95)).fold(0.0, f64::max) * 1.05;
    let root = SVGBackend::with_string(svg, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{run_id}: monthly investor cash flow across scenarios"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(1u32..months.max(2), 0.0..top.max(1e-9))?;
    chart
        .configure_mesh()
        .x_desc("month")
        .y_desc("USD millions")
        .draw()?;
    let band_color = RGBColor(70, 130, 180);
    chart
        .draw_series(AreaSeries::new(
            bands.iter().map(|b| (b.month, millions(b.p95))),
            0.0,
            band_color.mix(0.25),
        ))?
        .label("p5 - p95")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 5), (x + 20, y + 5)], band_color.mix(0.25).filled())
        });
    chart.draw_series(AreaSeries::new(
        bands.iter().map(|b| (b.month, millions(b.p05))),
        0.0,
        WHITE.mix(1.0),
    ))?;
    chart
        .draw_series(LineSeries::new(
            bands.iter().map(|b| (b.month, millions(b.p50))),
            band_color.stroke_width(2),
        ))?
        .label("median")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], band_color.stroke_width(2))
        });
    chart
        .draw_series(LineSeries::new(
            bands.iter().map(|b| (b.month, millions(b.mean))),
            BLACK,
        ))?
        .label("mean")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn pv_histogram(svg: &mut String, run_id: &str, pvs: &[f64]) -> Drawn {
    let millions: Vec<f64> = pvs.iter().map(|p| p / 1e6).collect();
    let lo = millions.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = millions.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bins = 30usize;
    let width = ((hi - lo) / bins as f64).max(1e-9);
    let mut counts = vec![0u32; bins];
    for v in &millions {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let max_count = counts.iter().copied().max().unwrap_or(1);
    let root = SVGBackend::with_string(svg, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{run_id}: PV by scenario ({} scenarios)", pvs.len()),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..(lo + width * bins as f64), 0u32..max_count + 1)?;
    chart
        .configure_mesh()
        .x_desc("PV, USD millions")
        .y_desc("scenarios")
        .draw()?;
    let color = RGBColor(70, 130, 180);
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let x0 = lo + width * i as f64;
        Rectangle::new([(x0, 0), (x0 + width, c)], color.filled())
    }))?;
    root.present()?;
    Ok(())
}

/// PV (at the run's OAS) under each parallel shock and the base, with 2-standard-error
/// bars, and the effective duration and convexity's quadratic approximation beside it:
/// where the two part is where the book's optionality is.
fn pv_by_shift(svg: &mut String, run_id: &str, risk: &worker::report::RiskReport) -> Drawn {
    let millions = |x: f64| x / 1e6;
    let first = &risk.shocks[0];
    let base = first.pv.value - first.pv_change.value;
    // (shift bp, PV, standard error), the base included, in shift order.
    let mut points: Vec<(f64, f64, f64)> = risk
        .shocks
        .iter()
        .map(|s| (s.shift_bp, s.pv.value, s.pv.std_error))
        .chain(std::iter::once((0.0, base, 0.0)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (x_lo, x_hi) = (points[0].0.min(0.0), points[points.len() - 1].0.max(0.0));
    let quadratic = |bp: f64| -> Option<f64> {
        let (d, c) = (risk.effective_duration?, risk.effective_convexity?);
        let dy = bp / 10_000.0;
        Some(base * (1.0 - d.value * dy + 0.5 * c.value * dy * dy))
    };
    let curve: Vec<(f64, f64)> = (0..=100)
        .filter_map(|i| {
            let bp = x_lo + (x_hi - x_lo) * f64::from(i) / 100.0;
            quadratic(bp).map(|pv| (bp, millions(pv)))
        })
        .collect();
    let values = points
        .iter()
        .flat_map(|p| [millions(p.1 - 2.0 * p.2), millions(p.1 + 2.0 * p.2)])
        .chain(curve.iter().map(|c| c.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = ((hi - lo) * 0.05).max(1e-6);
    let root = SVGBackend::with_string(svg, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "{run_id}: PV by parallel shift at OAS {:.1} bp",
                risk.oas_bp.value
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d((x_lo - 10.0)..(x_hi + 10.0), (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("parallel shift of the initial curve, bp")
        .y_desc("PV, USD millions")
        .draw()?;
    let color = RGBColor(70, 130, 180);
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|p| (p.0, millions(p.1))),
            color.stroke_width(2),
        ))?
        .label("Monte Carlo PV (bars: +/- 2 standard errors)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    chart.draw_series(points.iter().map(|p| {
        ErrorBar::new_vertical(
            p.0,
            millions(p.1 - 2.0 * p.2),
            millions(p.1),
            millions(p.1 + 2.0 * p.2),
            color.filled(),
            8,
        )
    }))?;
    if !curve.is_empty() {
        chart
            .draw_series(LineSeries::new(curve, BLACK.stroke_width(1)))?
            .label("duration + convexity approximation")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
