//! The memory/cost sweep: the worker measured on one real shard at each memory size,
//! repeated, summarised per memory size and architecture (median and spread, billed
//! duration, GB-seconds, cost), with out-of-memory and timed-out points reported as such,
//! the cheapest / fastest / balanced recommendations, a throughput calibration for
//! `mcflow plan`, and the CSV and JSON outputs (the table and chart are in
//! `render::sweep`). The measuring itself is
//! `sandbox::invoke`, passed in, so the summary is tested without processes.

use anyhow::Result;
use orchestrator::capacity::Calibration;
use serde::{Deserialize, Serialize};
use worker::cost::invocation_usd;
use worker::lambda_facts::{Arch, PRICES, billed_ms, gb_seconds};

use crate::sandbox::{CpuLimit, Invocation, Outcome, SandboxError};

/// The memory sizes swept by default, MB: Lambda's range, with 1,769 MB (one vCPU).
pub const DEFAULT_MEMORY_SIZES_MB: [u32; 12] = [
    128, 256, 512, 1024, 1536, 1769, 2048, 3008, 4096, 6144, 8192, 10240,
];

/// The shard measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShardShape {
    pub loans: u64,
    pub scenarios: u32,
    pub horizon_months: u32,
    pub loan_months: u64,
}

impl ShardShape {
    fn loan_scenarios(&self) -> f64 {
        self.loans as f64 * f64::from(self.scenarios)
    }
}

/// One memory size on one architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub memory_mb: u32,
    pub arch: Arch,
    pub vcpu: f64,
    pub threads: usize,
    /// "cgroup" (enforced and measured) or "model" (scaled from an unlimited run).
    pub cpu_limit: CpuLimit,
    pub cpu_limit_note: Option<String>,
    /// Invocations summarised (a failed point is not repeated).
    pub repeats: usize,
    pub duration_ms_median: f64,
    pub duration_ms_min: f64,
    pub duration_ms_max: f64,
    pub billed_ms: u64,
    pub peak_rss_mb: f64,
    /// Resident memory once initialised, before the handler.
    pub init_rss_mb: f64,
    pub gb_seconds: f64,
    /// Compute plus request charge of one shard at the median duration.
    pub cost_usd: f64,
    pub cost_per_million_loan_scenarios_usd: f64,
    pub out_of_memory: bool,
    pub timed_out: bool,
    /// Any other failure, with its message.
    pub error: Option<String>,
    /// Where the durations come from: arm64 cannot run here, so its points carry the
    /// x86_64 durations at arm64 prices.
    pub duration_source: String,
}

impl SweepPoint {
    pub fn succeeded(&self) -> bool {
        !self.out_of_memory && !self.timed_out && self.error.is_none()
    }
}

/// A recommended setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    pub memory_mb: u32,
    pub arch: Arch,
    pub duration_ms: f64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendations {
    pub cheapest: Option<Recommendation>,
    pub fastest: Option<Recommendation>,
    pub balanced: Option<Recommendation>,
    /// Weight of cost in `balanced` (duration gets the rest); each is taken relative to
    /// its best value among the points considered.
    pub cost_weight: f64,
    /// The points considered: the cgroup-measured ones that succeeded when there are
    /// any (a model is shown, not acted on), otherwise every point that succeeded.
    pub basis: String,
}

/// Everything the sweep found; `sweep.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub shard: ShardShape,
    pub repeats: usize,
    pub timeout_seconds: f64,
    pub host_cores: usize,
    pub prices_read_on: String,
    pub points: Vec<SweepPoint>,
    pub recommendations: Recommendations,
    pub calibration: Option<Calibration>,
}

/// Median, min and max.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return (0.0, 0.0, 0.0);
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (median, v[0], v[n - 1])
}

/// Summarises one memory size's invocations into a point per architecture.
pub fn summarize(memory_mb: u32, runs: &[Invocation], shard: &ShardShape) -> Vec<SweepPoint> {
    let durations: Vec<f64> = runs.iter().map(|r| r.duration_ms).collect();
    let (median, min, max) = spread(&durations);
    let billed = billed_ms(median);
    let first = runs.first();
    let failure = runs.iter().find(|r| !r.outcome.is_success());
    let error = failure.and_then(|r| match &r.outcome {
        Outcome::HandlerError {
            error_type,
            message,
        } => Some(format!("{error_type}: {message}")),
        Outcome::Crashed(why) => Some(why.clone()),
        _ => None,
    });
    Arch::ALL
        .iter()
        .map(|&arch| {
            let cost_usd = invocation_usd(&PRICES, arch, memory_mb, median);
            SweepPoint {
                memory_mb,
                arch,
                vcpu: first.map_or(0.0, |r| r.vcpu),
                threads: first.map_or(0, |r| r.threads),
                cpu_limit: runs
                    .iter()
                    .map(|r| r.cpu_limit)
                    .find(|&c| c == CpuLimit::Model)
                    .unwrap_or(CpuLimit::Cgroup),
                cpu_limit_note: runs.iter().find_map(|r| r.cpu_limit_note.clone()),
                repeats: runs.len(),
                duration_ms_median: median,
                duration_ms_min: min,
                duration_ms_max: max,
                billed_ms: billed,
                peak_rss_mb: runs.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max),
                init_rss_mb: runs.iter().map(|r| r.init_rss_mb).fold(0.0, f64::max),
                gb_seconds: gb_seconds(memory_mb, billed),
                cost_usd,
                cost_per_million_loan_scenarios_usd: cost_usd / shard.loan_scenarios().max(1.0)
                    * 1e6,
                out_of_memory: runs.iter().any(|r| r.outcome == Outcome::OutOfMemory),
                timed_out: runs.iter().any(|r| r.outcome == Outcome::TimedOut),
                error: error.clone(),
                duration_source: match arch {
                    Arch::X86_64 => "measured on x86_64".into(),
                    Arch::Arm64 => {
                        "x86_64 durations at arm64 prices (arm64 cannot run here)".into()
                    }
                },
            }
        })
        .collect()
}

/// Measures each memory size `repeats` times with `measure`; a point that fails (out of
/// memory, timed out, an error) is not repeated, and the sweep goes on. `progress` sees
/// each invocation.
pub fn run_sweep(
    memory_sizes_mb: &[u32],
    repeats: usize,
    shard: &ShardShape,
    mut measure: impl FnMut(u32) -> Result<Invocation, SandboxError>,
    progress: &mut dyn FnMut(&Invocation),
) -> Result<Vec<SweepPoint>, SandboxError> {
    let mut points = Vec::new();
    for &memory_mb in memory_sizes_mb {
        let mut runs = Vec::new();
        for _ in 0..repeats.max(1) {
            let run = measure(memory_mb)?;
            progress(&run);
            let failed = !run.outcome.is_success();
            runs.push(run);
            if failed {
                break;
            }
        }
        points.extend(summarize(memory_mb, &runs, shard));
    }
    Ok(points)
}

/// Cheapest, fastest and balanced among the points that succeeded, measured under a
/// cgroup when any were. Ties go to the faster, then the cheaper, then the smaller
/// memory.
pub fn recommend(points: &[SweepPoint], cost_weight: f64) -> Recommendations {
    let succeeded = points.iter().filter(|p| p.succeeded());
    let measured: Vec<&SweepPoint> = succeeded
        .clone()
        .filter(|p| p.cpu_limit == CpuLimit::Cgroup)
        .collect();
    let (ok, basis) = if measured.is_empty() {
        (
            succeeded.collect::<Vec<_>>(),
            "all points that succeeded (none was cgroup-measured)",
        )
    } else {
        (measured, "cgroup-measured points that succeeded")
    };
    let pick = |score: &dyn Fn(&SweepPoint) -> f64| {
        ok.iter()
            .min_by(|a, b| {
                score(a)
                    .total_cmp(&score(b))
                    .then(a.duration_ms_median.total_cmp(&b.duration_ms_median))
                    .then(a.cost_usd.total_cmp(&b.cost_usd))
                    .then(a.memory_mb.cmp(&b.memory_mb))
            })
            .map(|p| Recommendation {
                memory_mb: p.memory_mb,
                arch: p.arch,
                duration_ms: p.duration_ms_median,
                cost_usd: p.cost_usd,
            })
    };
    let best_cost = ok.iter().map(|p| p.cost_usd).fold(f64::INFINITY, f64::min);
    let best_ms = ok
        .iter()
        .map(|p| p.duration_ms_median)
        .fold(f64::INFINITY, f64::min);
    let w = cost_weight.clamp(0.0, 1.0);
    Recommendations {
        cheapest: pick(&|p| p.cost_usd),
        fastest: pick(&|p| p.duration_ms_median),
        balanced: pick(&|p| {
            w * p.cost_usd / best_cost.max(f64::MIN_POSITIVE)
                + (1.0 - w) * p.duration_ms_median / best_ms.max(f64::MIN_POSITIVE)
        }),
        cost_weight: w,
        basis: basis.to_string(),
    }
}

/// Throughput and memory for `mcflow plan`, from the successful x86_64 points.
///
/// Rate and overhead come from one-thread points, where the share is the whole story:
/// `duration = overhead + loan_months / (rate x vcpu)`, fitted by least squares. Points
/// at a share of at least half a vCPU are preferred: at tiny quotas the scheduler's
/// throttling costs more than the share (128 MB measured about 15x slower than 1 vCPU,
/// not 13.8x), which would bend the line. The parallel efficiency comes from the
/// multi-thread cgroup points: the share of each vCPU beyond the first that the shard
/// turned into speed. `None` with fewer than two usable one-thread points.
pub fn calibrate(points: &[SweepPoint], shard: &ShardShape) -> Option<Calibration> {
    let ok = |p: &&SweepPoint| p.arch == Arch::X86_64 && p.succeeded();
    let one_thread = |min_vcpu: f64, limit: Option<CpuLimit>| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter(ok)
            .filter(|p| p.threads == 1 && p.vcpu >= min_vcpu)
            .filter(|p| limit.is_none_or(|l| p.cpu_limit == l))
            .map(|p| (1.0 / p.vcpu.min(1.0), p.duration_ms_median / 1000.0))
            .collect()
    };
    let tiers = [
        (
            one_thread(0.5, Some(CpuLimit::Cgroup)),
            "cgroup-enforced one-thread points at 0.5 vCPU or more",
        ),
        (
            one_thread(0.0, Some(CpuLimit::Cgroup)),
            "cgroup-enforced one-thread points",
        ),
        (one_thread(0.0, None), "one-thread points (modelled)"),
    ];
    let (xy, source) = tiers.into_iter().find(|(xy, _)| xy.len() >= 2)?;
    let (mut overhead, mut slope) = least_squares(&xy)?;
    if overhead < 0.0 || slope <= 0.0 {
        // A negative intercept is noise around zero overhead: fit through the origin.
        overhead = 0.0;
        slope =
            xy.iter().map(|p| p.0 * p.1).sum::<f64>() / xy.iter().map(|p| p.0 * p.0).sum::<f64>();
    }
    if slope <= 0.0 || shard.loan_months == 0 {
        return None;
    }
    // `slope` is the shard's seconds at one vCPU, less the overhead.
    let rate = shard.loan_months as f64 / slope;
    let efficiencies: Vec<f64> = points
        .iter()
        .filter(ok)
        .filter(|p| p.threads > 1 && p.cpu_limit == CpuLimit::Cgroup)
        .map(|p| {
            let parallelism = p.vcpu.min(p.threads as f64);
            let achieved = slope / (p.duration_ms_median / 1000.0 - overhead).max(1e-9);
            ((achieved - 1.0) / (parallelism - 1.0)).clamp(0.0, 1.0)
        })
        .collect();
    let parallel_efficiency = if efficiencies.is_empty() {
        Calibration::default().parallel_efficiency
    } else {
        efficiencies.iter().sum::<f64>() / efficiencies.len() as f64
    };
    // Memory: the base is the initialised worker; the rest per scenario-month is what
    // the peak holds beyond the engine's tables, at the most demanding point.
    let measured: Vec<&SweepPoint> = points
        .iter()
        .filter(ok)
        .filter(|p| p.peak_rss_mb > 0.0)
        .collect();
    let base_memory_mb = measured.iter().map(|p| p.init_rss_mb).fold(0.0, f64::max);
    let scenario_months = f64::from(shard.scenarios) * f64::from(shard.horizon_months);
    let bytes_per_scenario_month = measured
        .iter()
        .map(|p| {
            let tables = engine::stochastic::working_table_bytes(
                shard.loans as usize,
                shard.scenarios as usize,
                shard.horizon_months,
                p.threads,
            ) as f64;
            ((p.peak_rss_mb - base_memory_mb) * 1024.0 * 1024.0 - tables).max(0.0)
                / scenario_months.max(1.0)
        })
        .fold(0.0, f64::max);
    Some(Calibration {
        loan_months_per_vcpu_second: rate,
        overhead_seconds_per_shard: overhead,
        parallel_efficiency,
        base_memory_mb,
        bytes_per_scenario_month,
        source: format!(
            "mcflow sweep: {} {source}, {} multi-thread point(s) for the parallel efficiency, of a {} loans x {} scenarios shard ({} loan-months)",
            xy.len(),
            efficiencies.len(),
            shard.loans,
            shard.scenarios,
            shard.loan_months
        ),
    })
}

/// Intercept and slope of the least-squares line through `xy`.
fn least_squares(xy: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = xy.len() as f64;
    let (mx, my) = (
        xy.iter().map(|p| p.0).sum::<f64>() / n,
        xy.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = xy.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = xy.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| {
        let slope = sxy / sxx;
        (my - slope * mx, slope)
    })
}

/// `sweep.csv`: one row per point, the JSON's fields.
pub fn to_csv(points: &[SweepPoint]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "memory_mb",
        "arch",
        "vcpu",
        "threads",
        "cpu_limit",
        "repeats",
        "duration_ms_median",
        "duration_ms_min",
        "duration_ms_max",
        "billed_ms",
        "peak_rss_mb",
        "gb_seconds",
        "cost_usd",
        "cost_per_million_loan_scenarios_usd",
        "out_of_memory",
        "timed_out",
        "error",
    ])?;
    for p in points {
        w.write_record([
            p.memory_mb.to_string(),
            p.arch.name().to_string(),
            format!("{:.4}", p.vcpu),
            p.threads.to_string(),
            p.cpu_limit.name().to_string(),
            p.repeats.to_string(),
            format!("{:.3}", p.duration_ms_median),
            format!("{:.3}", p.duration_ms_min),
            format!("{:.3}", p.duration_ms_max),
            p.billed_ms.to_string(),
            format!("{:.1}", p.peak_rss_mb),
            format!("{:.6}", p.gb_seconds),
            format!("{:.10}", p.cost_usd),
            format!("{:.8}", p.cost_per_million_loan_scenarios_usd),
            p.out_of_memory.to_string(),
            p.timed_out.to_string(),
            p.error.clone().unwrap_or_default(),
        ])?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use worker::lambda_facts::{PRICES_READ_ON, vcpu_share};

    fn shard() -> ShardShape {
        ShardShape {
            loans: 1000,
            scenarios: 20,
            horizon_months: 360,
            loan_months: 1000 * 20 * 300,
        }
    }

    /// An invocation whose duration follows `overhead + work / share`, as a CPU-bound
    /// shard under a cgroup would.
    fn fake(memory_mb: u32, outcome: Outcome, jitter_ms: f64) -> Invocation {
        let vcpu = vcpu_share(memory_mb);
        let threads = worker::lambda_facts::threads_for_memory(memory_mb);
        let parallelism = vcpu.min(threads as f64);
        Invocation {
            request_id: "r".into(),
            memory_mb,
            vcpu,
            threads,
            cpu_limit: CpuLimit::Cgroup,
            cpu_limit_note: None,
            timeout: Duration::from_secs(60),
            init_ms: 5.0,
            init_rss_mb: 20.0,
            duration_ms: 50.0 + 1000.0 / parallelism + jitter_ms,
            measured_ms: 0.0,
            cpu_ms: 0.0,
            peak_rss_mb: 40.0,
            outcome,
        }
    }

    #[test]
    fn out_of_memory_and_timed_out_points_are_reported_not_hidden() {
        let sizes = [128, 256, 1024, 1769];
        let mut calls = Vec::new();
        let points = run_sweep(
            &sizes,
            3,
            &shard(),
            |m| {
                calls.push(m);
                Ok(match m {
                    128 => fake(m, Outcome::OutOfMemory, 0.0),
                    256 => fake(m, Outcome::TimedOut, 0.0),
                    _ => fake(
                        m,
                        Outcome::Success(serde_json::Value::Null),
                        calls.len() as f64,
                    ),
                })
            },
            &mut |_| {},
        )
        .expect("sweeps");
        // A failed point is tried once; the others three times; the sweep goes on.
        assert_eq!(calls, [128, 256, 1024, 1024, 1024, 1769, 1769, 1769]);
        assert_eq!(points.len(), 8, "a point per memory size and architecture");
        let at = |m: u32, a: Arch| {
            points
                .iter()
                .find(|p| p.memory_mb == m && p.arch == a)
                .expect("point")
        };
        assert!(at(128, Arch::X86_64).out_of_memory && !at(128, Arch::X86_64).succeeded());
        assert!(at(256, Arch::Arm64).timed_out && !at(256, Arch::Arm64).succeeded());
        let ok = at(1024, Arch::X86_64);
        assert!(ok.succeeded() && ok.repeats == 3);
        // Jitter 3, 4, 5 ms around 50 + 1000 / 0.579.
        let base = 50.0 + 1000.0 / vcpu_share(1024);
        assert!((ok.duration_ms_median - (base + 4.0)).abs() < 1e-9);
        assert!((ok.duration_ms_min - (base + 3.0)).abs() < 1e-9);
        assert!((ok.duration_ms_max - (base + 5.0)).abs() < 1e-9);
        let r = recommend(&points, 0.5);
        for rec in [&r.cheapest, &r.fastest, &r.balanced] {
            let m = rec.as_ref().expect("a recommendation").memory_mb;
            assert!(
                m == 1024 || m == 1769,
                "failed points are never recommended: {m}"
            );
        }
        let csv = to_csv(&points).expect("csv");
        assert!(
            csv.lines()
                .any(|l| l.starts_with("128,x86_64,") && l.contains(",true,false,"))
        );
        assert!(
            csv.lines()
                .any(|l| l.starts_with("256,arm64,") && l.contains(",false,true,"))
        );
        let report = SweepReport {
            shard: shard(),
            repeats: 3,
            timeout_seconds: 60.0,
            host_cores: 2,
            prices_read_on: PRICES_READ_ON.into(),
            recommendations: r,
            calibration: calibrate(&points, &shard()),
            points,
        };
        let text = crate::render::sweep::table(&report);
        assert!(
            text.contains("OUT OF MEMORY") && text.contains("TIMED OUT"),
            "{text}"
        );
        assert!(
            crate::render::sweep::chart(&report)
                .expect("chart")
                .contains("<svg")
        );
    }

    #[test]
    fn costs_follow_the_billing_arithmetic() {
        // 1,024 MB for 1,466 ms on x86_64, priced by hand from the price page.
        let mut run = fake(1024, Outcome::Success(serde_json::Value::Null), 0.0);
        run.duration_ms = 1466.0;
        let points = summarize(1024, &[run], &shard());
        let x86 = &points[0];
        assert_eq!(x86.arch, Arch::X86_64);
        assert_eq!(x86.billed_ms, 1466);
        assert!((x86.gb_seconds - 1.466).abs() < 1e-12);
        // 1.466 GB-s x $0.0000166667 + $0.0000002 per request.
        let expected = 1.466 * 0.0000166667 + 0.0000002;
        assert!((x86.cost_usd - expected).abs() < 1e-12, "{}", x86.cost_usd);
        assert!(
            (x86.cost_per_million_loan_scenarios_usd - expected / 20_000.0 * 1e6).abs() < 1e-12
        );
        let arm = &points[1];
        assert!(arm.cost_usd < x86.cost_usd);
        assert_eq!(arm.duration_ms_median, x86.duration_ms_median);
    }

    #[test]
    fn recommendations_trade_cost_against_time() {
        let mk = |memory_mb: u32, duration_ms: f64, cost_usd: f64| SweepPoint {
            memory_mb,
            arch: Arch::X86_64,
            vcpu: vcpu_share(memory_mb),
            threads: 1,
            cpu_limit: CpuLimit::Cgroup,
            cpu_limit_note: None,
            repeats: 1,
            duration_ms_median: duration_ms,
            duration_ms_min: duration_ms,
            duration_ms_max: duration_ms,
            billed_ms: duration_ms as u64,
            peak_rss_mb: 1.0,
            init_rss_mb: 1.0,
            gb_seconds: 0.0,
            cost_usd,
            cost_per_million_loan_scenarios_usd: cost_usd,
            out_of_memory: false,
            timed_out: false,
            error: None,
            duration_source: String::new(),
        };
        let mut points = vec![
            mk(128, 10_000.0, 1.0),
            mk(1024, 1_300.0, 1.05),
            mk(8192, 500.0, 4.0),
        ];
        let r = recommend(&points, 0.5);
        assert_eq!(r.cheapest.expect("cheapest").memory_mb, 128);
        assert_eq!(r.fastest.expect("fastest").memory_mb, 8192);
        assert_eq!(r.balanced.expect("balanced").memory_mb, 1024);
        assert_eq!(recommend(&points, 1.0).balanced.expect("b").memory_mb, 128);
        assert_eq!(recommend(&points, 0.0).balanced.expect("b").memory_mb, 8192);
        // A faster modelled point is shown but not recommended over measured ones...
        let mut modelled = mk(10240, 100.0, 4.0);
        modelled.cpu_limit = CpuLimit::Model;
        points.push(modelled);
        let r = recommend(&points, 0.0);
        assert_eq!(r.fastest.expect("fastest").memory_mb, 8192);
        assert!(r.basis.starts_with("cgroup-measured"));
        // ...unless nothing was measured.
        for p in &mut points {
            p.cpu_limit = CpuLimit::Model;
        }
        let r = recommend(&points, 0.0);
        assert_eq!(r.fastest.expect("fastest").memory_mb, 10240);
        assert!(r.basis.starts_with("all points"));
    }

    #[test]
    fn calibration_recovers_overhead_rate_and_parallel_efficiency() {
        // One-thread points follow 0.05 + 1.0 / vcpu exactly; at 3,008 MB (1.70 vCPU,
        // two threads) the shard ran as if on 1 + 0.7 x 0.5 vCPU: efficiency 0.5.
        let mut points: Vec<SweepPoint> = [512, 1024, 1536, 1769]
            .iter()
            .flat_map(|&m| {
                summarize(
                    m,
                    &[fake(m, Outcome::Success(serde_json::Value::Null), 0.0)],
                    &shard(),
                )
            })
            .collect();
        let mut wide = fake(3008, Outcome::Success(serde_json::Value::Null), 0.0);
        wide.duration_ms = 50.0 + 1000.0 / (1.0 + (vcpu_share(3008) - 1.0) * 0.5);
        points.extend(summarize(3008, &[wide], &shard()));
        let c = calibrate(&points, &shard()).expect("calibrates");
        assert!((c.overhead_seconds_per_shard - 0.05).abs() < 1e-9, "{c:?}");
        assert!(
            (c.loan_months_per_vcpu_second - shard().loan_months as f64).abs() < 1e-3,
            "{c:?}"
        );
        assert!((c.parallel_efficiency - 0.5).abs() < 1e-9, "{c:?}");
        assert!(c.source.contains("at 0.5 vCPU or more"), "{}", c.source);
        // The 512 MB point (0.29 vCPU) is left out of the preferred fit.
        assert!(c.source.starts_with("mcflow sweep: 3 "), "{}", c.source);
    }
}
