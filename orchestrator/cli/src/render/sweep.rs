//! `mcflow sweep`'s terminal table and its SVG chart (duration and cost against memory,
//! both architectures, failures as red crosses).

use anyhow::{Context, Result};
use plotters::prelude::*;
use worker::lambda_facts::Arch;

use crate::sweep::{SweepPoint, SweepReport};

/// The terminal table: memory, duration, cost.
pub fn table(report: &SweepReport) -> String {
    let mut out = format!(
        "shard: {} loans x {} scenarios ({} loan-months); {} repeat(s); prices us-east-1, read {}\n",
        report.shard.loans,
        report.shard.scenarios,
        report.shard.loan_months,
        report.repeats,
        report.prices_read_on
    );
    out.push_str(&format!(
        "{:>9} {:>5} {:>7} {:>6} {:>11} {:>17} {:>9} {:>8} {:>13} {:>13} {:>11} {:>11}  {}\n",
        "memory MB",
        "vCPU",
        "threads",
        "cpu",
        "duration ms",
        "min - max ms",
        "billed ms",
        "peak MB",
        "x86_64 $/shard",
        "arm64 $/shard",
        "x86_64 $/M",
        "arm64 $/M",
        "status"
    ));
    let pairs = report.points.chunks(2);
    for pair in pairs {
        let (x, a) = (&pair[0], pair.get(1).unwrap_or(&pair[0]));
        let status = if x.out_of_memory {
            "OUT OF MEMORY".to_string()
        } else if x.timed_out {
            "TIMED OUT".to_string()
        } else if let Some(e) = &x.error {
            format!("ERROR {e}")
        } else {
            "ok".to_string()
        };
        out.push_str(&format!(
            "{:>9} {:>5.2} {:>7} {:>6} {:>11.1} {:>17} {:>9} {:>8.1} {:>13.8} {:>13.8} {:>11.5} {:>11.5}  {}\n",
            x.memory_mb,
            x.vcpu,
            x.threads,
            x.cpu_limit.name(),
            x.duration_ms_median,
            format!("{:.1} - {:.1}", x.duration_ms_min, x.duration_ms_max),
            x.billed_ms,
            x.peak_rss_mb,
            x.cost_usd,
            a.cost_usd,
            x.cost_per_million_loan_scenarios_usd,
            a.cost_per_million_loan_scenarios_usd,
            status
        ));
    }
    let r = &report.recommendations;
    out.push_str(&format!("recommendations, from the {}:\n", r.basis));
    for (name, rec) in [
        ("cheapest", &r.cheapest),
        ("fastest", &r.fastest),
        (
            &format!("balanced (cost weight {})", r.cost_weight),
            &r.balanced,
        ),
    ] {
        match rec {
            Some(rec) => out.push_str(&format!(
                "  {name}: {} MB on {}, {:.1} ms, {:.8} USD per shard\n",
                rec.memory_mb,
                rec.arch.name(),
                rec.duration_ms,
                rec.cost_usd
            )),
            None => out.push_str(&format!("  {name}: no memory size succeeded\n")),
        }
    }
    out
}

/// An axis tick with three significant digits: costs per million loan-scenarios of a small
/// shard are fractions of a cent, which plotters' default format printed as identical
/// zeros, leaving the axis unreadable.
fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".to_string();
    }
    let magnitude = v.abs().log10().floor();
    if (-3.0..5.0).contains(&magnitude) {
        let decimals = (2.0 - magnitude).max(0.0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// `sweep.svg`: duration and cost per million loan-scenarios against memory, both
/// architectures; failed points are red crosses at their measured duration.
pub fn chart(report: &SweepReport) -> Result<String> {
    let mut svg = String::new();
    draw_chart(&mut svg, report).context("cannot draw the sweep chart")?;
    Ok(svg)
}

fn draw_chart(svg: &mut String, report: &SweepReport) -> Result<()> {
    let root = SVGBackend::with_string(svg, (1100, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let memories: Vec<u32> = report.points.iter().map(|p| p.memory_mb).collect();
    let (lo, hi) = (
        memories.iter().copied().min().unwrap_or(128),
        memories.iter().copied().max().unwrap_or(10240),
    );
    let x_range = (f64::from(lo) * 0.8)..(f64::from(hi) * 1.25);
    let series = |arch: Arch, value: &dyn Fn(&SweepPoint) -> f64| -> Vec<(f64, f64)> {
        report
            .points
            .iter()
            .filter(|p| p.arch == arch && p.succeeded())
            .map(|p| (f64::from(p.memory_mb), value(p)))
            .collect()
    };
    let failed: Vec<(f64, f64)> = report
        .points
        .iter()
        .filter(|p| p.arch == Arch::X86_64 && !p.succeeded())
        .map(|p| (f64::from(p.memory_mb), p.duration_ms_median.max(1.0)))
        .collect();
    let durations = series(Arch::X86_64, &|p| p.duration_ms_median);
    let top_ms = durations
        .iter()
        .chain(&failed)
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 2.0;
    let bottom_ms = durations.iter().map(|p| p.1).fold(top_ms, f64::min) / 2.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("shard duration (median)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            x_range.clone().log_scale(),
            (bottom_ms.max(0.1)..top_ms).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("memory, MB")
        .y_desc("ms")
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    let blue = RGBColor(70, 130, 180);
    let orange = RGBColor(230, 120, 30);
    chart
        .draw_series(LineSeries::new(durations.clone(), blue.stroke_width(2)))?
        .label("x86_64 measured (arm64 assumed equal)")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    chart.draw_series(durations.iter().map(|&p| Circle::new(p, 3, blue.filled())))?;
    chart
        .draw_series(
            failed
                .iter()
                .map(|&p| Cross::new(p, 6, RED.stroke_width(2))),
        )?
        .label("out of memory / timed out")
        .legend(|(x, y)| Cross::new((x + 10, y), 5, RED.stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    let costs_x86 = series(Arch::X86_64, &|p| p.cost_per_million_loan_scenarios_usd);
    let costs_arm = series(Arch::Arm64, &|p| p.cost_per_million_loan_scenarios_usd);
    let top_cost = costs_x86
        .iter()
        .chain(&costs_arm)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(&right)
        .caption("cost per million loan-scenarios", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.log_scale(), 0.0..top_cost.max(1e-9))?;
    chart
        .configure_mesh()
        .x_desc("memory, MB")
        .y_desc("USD")
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    for (points, color, label) in [(costs_x86, blue, "x86_64"), (costs_arm, orange, "arm64")] {
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tick_tests {
    #[test]
    fn ticks_keep_three_significant_digits_at_any_scale() {
        assert_eq!(super::tick(0.0), "0");
        assert_eq!(super::tick(1234.0), "1234");
        assert_eq!(super::tick(12.5), "12.5");
        assert_eq!(super::tick(0.0123), "0.0123");
        assert_eq!(super::tick(0.00012), "1.20e-4");
        // Neighbouring ticks of a small cost axis stay distinct.
        assert_ne!(super::tick(0.000002), super::tick(0.000004));
    }
}
