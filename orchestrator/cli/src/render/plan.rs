//! `mcflow plan`'s table: each memory size's shards, times, bill on both architectures
//! and predicted peak memory, with the recommended plan marked.

use std::fmt::Write as _;

use orchestrator::capacity::{Calibration, Limits, PlanPoint, Workload};
use worker::lambda_facts::{Arch, PRICES_READ_ON};

/// The workload line, the price date and one row per memory size (`*` marks `best`).
pub fn table(
    workload: &Workload,
    calibration: &Calibration,
    limits: &Limits,
    points: &[PlanPoint],
    best: Option<usize>,
) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "{} x {} = {:.3e} loan-months; concurrency {}; calibration: {}",
        super::count(workload.loans, "loan"),
        super::count(u64::from(workload.scenarios), "scenario"),
        workload.loan_months,
        limits.concurrency,
        calibration.source
    )
    .expect("a String takes writes");
    if workload.risk_multiplier > 1.0 {
        writeln!(
            out,
            "[risk] bump blocks: {:.2}x the base run's scenarios (included above)",
            workload.risk_multiplier
        )
        .expect("a String takes writes");
    }
    writeln!(out, "prices: us-east-1, read {}", PRICES_READ_ON).expect("a String takes writes");
    writeln!(
        out,
        "  {:>9} {:>5} {:>9} {:>11} {:>9} {:>9} {:>12} {:>12} {:>9}",
        "memory MB",
        "vCPU",
        "shards",
        "loans/shard",
        "shard s",
        "wall s",
        "x86_64 USD",
        "arm64 USD",
        "peak MB"
    )
    .expect("a String takes writes");
    for (i, p) in points.iter().enumerate() {
        writeln!(
            out,
            "{} {:>9} {:>5.2} {:>9} {:>11} {:>9.1} {:>9.1} {:>12.4} {:>12.4} {:>9.0}{}",
            if Some(i) == best { "*" } else { " " },
            p.memory_mb,
            p.vcpu,
            p.shards,
            p.loans_per_shard,
            p.shard_seconds,
            p.wall_seconds,
            p.bill(Arch::X86_64).total_usd,
            p.bill(Arch::Arm64).total_usd,
            p.peak_memory_mb,
            if p.fits_memory { "" } else { "  out of memory" }
        )
        .expect("a String takes writes");
    }
    out
}

/// The recommended plan and its bill, on one line.
pub fn recommendation(p: &PlanPoint, arch: Arch) -> String {
    let b = p.bill(arch);
    format!(
        "recommended: {} MB on {}, --loans-per-shard {} ({} shards): about {:.0} s wall, {:.4} USD (Lambda compute {:.4}, requests {:.4}, SQS {:.4}, S3 {:.4}, scheduler {:.6})",
        p.memory_mb,
        arch.name(),
        p.loans_per_shard,
        p.shards,
        p.wall_seconds,
        b.total_usd,
        b.lambda_compute_usd,
        b.lambda_requests_usd,
        b.sqs_usd,
        b.s3_usd,
        b.scheduler_usd
    )
}
