//! Capacity planning: worker memory and shard size for a run, from a throughput
//! calibration, a deadline, a budget and the concurrency available, with the whole-run
//! bill of each choice. Pure arithmetic over `worker::lambda_facts` (limits and prices)
//! and `worker::cost` (the bill).

use serde::{Deserialize, Serialize};
use worker::cost::{Bill, run_bill};
use worker::lambda_facts::{Arch, MAX_TIMEOUT, PRICES, threads_for_memory, vcpu_share};

/// Memory sizes considered, MB: whole and half vCPUs up to Lambda's maximum.
pub const MEMORY_SIZES_MB: [u32; 9] = [512, 1024, 1769, 3008, 3538, 5307, 7076, 8845, 10240];
/// A shard aims at this many seconds: long enough that per-shard overhead is small,
/// short enough that a retry is cheap and far from the 900 s limit.
pub const TARGET_SHARD_SECONDS: f64 = 120.0;
/// Shard messages the orchestrator sends per second (16 batches of 10 in flight at
/// ~33 ms a batch; an assumption, not measured on AWS).
pub const FANOUT_SHARDS_PER_SECOND: f64 = 3000.0;
/// Reducer seconds per shard (three small reads each; assumed).
pub const REDUCE_SECONDS_PER_SHARD: f64 = 0.01;
/// The least fixed time a shard costs whatever the calibration says (a sweep of one large
/// shard cannot see it): receiving the message, reading the manifest and the portfolio's
/// footer, writing two partial files and a marker, at tens of milliseconds a request.
/// Assumed, not measured on AWS.
pub const MIN_OVERHEAD_SECONDS_PER_SHARD: f64 = 0.25;
/// Splitting a run across more workers stops where a shard would compute for less than
/// this many times its fixed overhead: past that, more shards buy requests, not speed.
pub const MIN_COMPUTE_PER_OVERHEAD: f64 = 8.0;

/// Throughput and memory of the worker, as measured by `mcflow sweep` (or the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Loan-months per second per vCPU of the stochastic model.
    pub loan_months_per_vcpu_second: f64,
    /// Per-shard fixed time: start, reading inputs, writing partials.
    pub overhead_seconds_per_shard: f64,
    /// Share of each vCPU beyond the first that a shard turns into speed (1 = perfect).
    #[serde(default = "default_parallel_efficiency")]
    pub parallel_efficiency: f64,
    /// Resident memory of an initialised worker before its first shard, MB.
    #[serde(default = "default_base_memory_mb")]
    pub base_memory_mb: f64,
    /// Memory a shard holds per scenario-month besides its cash-flow tables
    /// (`engine::stochastic::working_table_bytes`): paths, partial columns, Parquet
    /// encoding buffers. Bytes.
    #[serde(default = "default_bytes_per_scenario_month")]
    pub bytes_per_scenario_month: f64,
    /// Where the numbers come from.
    pub source: String,
}

// A calibration file from before a field existed takes the reference sweep's value.
fn default_parallel_efficiency() -> f64 {
    Calibration::default().parallel_efficiency
}

fn default_base_memory_mb() -> f64 {
    Calibration::default().base_memory_mb
}

fn default_bytes_per_scenario_month() -> f64 {
    Calibration::default().bytes_per_scenario_month
}

/// The reference sweep's calibration (`data/sweep/`; the README gives the command).
const REFERENCE_CALIBRATION: &str = include_str!("../../data/sweep/calibration.json");
/// A plan leaves this share of the memory size free: Lambda kills a function at its
/// size, and the peak varies with the allocator.
pub const MEMORY_HEADROOM: f64 = 0.9;

impl Default for Calibration {
    /// The reference sweep's calibration, shipped in `data/sweep/calibration.json`.
    fn default() -> Calibration {
        // The file has every field (a test checks), so no field default, which would
        // come back here, is ever consulted.
        let c: Calibration = serde_json::from_str(REFERENCE_CALIBRATION)
            .expect("data/sweep/calibration.json is a calibration");
        Calibration {
            source: format!(
                "reference sweep (data/sweep/calibration.json): {}",
                c.source
            ),
            ..c
        }
    }
}

/// What to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub loans: u64,
    pub scenarios: u32,
    /// Loan-months of the whole run (loans x scenarios x remaining months).
    pub loan_months: f64,
    /// Months projected (the longest remaining term, or the configured horizon).
    pub horizon_months: u32,
    /// `scenarios` over the base run's (random plus stress): what the `[risk]` bump
    /// blocks multiply the run by (1 without them). `scenarios` and `loan_months`
    /// already include them.
    pub risk_multiplier: f64,
}

impl Calibration {
    /// The vCPUs a shard turns into speed: its share up to one, then each further vCPU
    /// at the parallel efficiency, never more than its threads.
    pub fn effective_vcpu(&self, vcpu: f64, threads: usize) -> f64 {
        let usable = vcpu.min(threads as f64);
        usable.min(1.0) + (usable - 1.0).max(0.0) * self.parallel_efficiency
    }

    /// Predicted peak memory of a worker with `threads` threads running a shard of
    /// `loans` x `scenarios` over `horizon_months`, MB.
    pub fn shard_peak_memory_mb(
        &self,
        loans: u64,
        scenarios: u32,
        horizon_months: u32,
        threads: usize,
    ) -> f64 {
        let tables = engine::stochastic::working_table_bytes(
            loans as usize,
            scenarios as usize,
            horizon_months,
            threads,
        ) as f64;
        let other =
            self.bytes_per_scenario_month * f64::from(scenarios) * f64::from(horizon_months);
        self.base_memory_mb + (tables + other) / (1024.0 * 1024.0)
    }
}

/// One memory size's plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanPoint {
    pub memory_mb: u32,
    pub vcpu: f64,
    pub shards: u64,
    pub loans_per_shard: u64,
    pub shard_seconds: f64,
    pub wall_seconds: f64,
    /// Predicted peak memory of a shard, MB, and whether it fits the size with headroom.
    pub peak_memory_mb: f64,
    pub fits_memory: bool,
    pub bills: Vec<Bill>,
}

impl PlanPoint {
    pub fn bill(&self, arch: Arch) -> &Bill {
        self.bills
            .iter()
            .find(|b| b.arch == arch)
            .expect("a bill per architecture")
    }
}

/// The plan at one memory size with `concurrency` workers at a time.
pub fn plan_point(w: &Workload, c: &Calibration, memory_mb: u32, concurrency: u64) -> PlanPoint {
    let vcpu = vcpu_share(memory_mb);
    let rate =
        c.loan_months_per_vcpu_second * c.effective_vcpu(vcpu, threads_for_memory(memory_mb));
    let per_shard = rate * (TARGET_SHARD_SECONDS - c.overhead_seconds_per_shard).max(1.0);
    let mut shards = (w.loan_months / per_shard).ceil().max(1.0) as u64;
    // Fewer shards than workers leaves workers idle: split further, down to one loan, but
    // never into shards that compute for less than a few times their own overhead (a
    // small run gets few shards, not one per worker).
    let overhead = c
        .overhead_seconds_per_shard
        .max(MIN_OVERHEAD_SECONDS_PER_SHARD);
    let worth_splitting =
        (w.loan_months / rate / (MIN_COMPUTE_PER_OVERHEAD * overhead)).floor() as u64;
    shards = shards
        .max(concurrency.min(w.loans).min(worth_splitting))
        .min(w.loans.max(1));
    let loans_per_shard = w.loans.div_ceil(shards).max(1);
    let shards = w.loans.div_ceil(loans_per_shard).max(1);
    let shard_seconds = w.loan_months / shards as f64 / rate + overhead;
    let waves = shards.div_ceil(concurrency.max(1));
    let wall_seconds = shards as f64 / FANOUT_SHARDS_PER_SECOND
        + waves as f64 * shard_seconds
        + shards as f64 * REDUCE_SECONDS_PER_SHARD;
    let durations_ms = vec![shard_seconds * 1000.0; shards as usize];
    let bills = Arch::ALL
        .iter()
        .map(|&arch| {
            run_bill(
                &PRICES,
                arch,
                memory_mb,
                &durations_ms,
                // One cold start per worker environment.
                concurrency.min(shards) as f64 * worker::lambda_facts::RUST_COLD_START_MS,
                shards as f64 * REDUCE_SECONDS_PER_SHARD * 1000.0,
            )
        })
        .collect();
    let peak_memory_mb = c.shard_peak_memory_mb(
        loans_per_shard,
        w.scenarios,
        w.horizon_months,
        threads_for_memory(memory_mb),
    );
    PlanPoint {
        memory_mb,
        vcpu,
        shards,
        loans_per_shard,
        shard_seconds,
        wall_seconds,
        peak_memory_mb,
        fits_memory: peak_memory_mb <= MEMORY_HEADROOM * f64::from(memory_mb),
        bills,
    }
}

/// Limits a plan must respect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub deadline_seconds: Option<f64>,
    pub budget_usd: Option<f64>,
    pub concurrency: u64,
    pub arch: Arch,
}

/// Every memory size's plan, and the cheapest one within the limits (the faster on a
/// tie), if any. A shard must also finish within half of Lambda's longest invocation.
pub fn plan_run(w: &Workload, c: &Calibration, limits: &Limits) -> (Vec<PlanPoint>, Option<usize>) {
    let points: Vec<PlanPoint> = MEMORY_SIZES_MB
        .iter()
        .map(|&m| plan_point(w, c, m, limits.concurrency))
        .collect();
    let fits = |p: &PlanPoint| {
        p.shard_seconds <= MAX_TIMEOUT.as_secs_f64() / 2.0
            && p.fits_memory
            && limits.deadline_seconds.is_none_or(|d| p.wall_seconds <= d)
            && limits
                .budget_usd
                .is_none_or(|b| p.bill(limits.arch).total_usd <= b)
    };
    let best = points
        .iter()
        .enumerate()
        .filter(|(_, p)| fits(p))
        .min_by(|(_, a), (_, b)| {
            let (ca, cb) = (a.bill(limits.arch).total_usd, b.bill(limits.arch).total_usd);
            ca.total_cmp(&cb)
                .then(a.wall_seconds.total_cmp(&b.wall_seconds))
        })
        .map(|(i, _)| i);
    (points, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fannie() -> Workload {
        Workload {
            loans: 20_000_000,
            scenarios: 500,
            loan_months: 20_000_000.0 * 500.0 * 300.0,
            horizon_months: 360,
            risk_multiplier: 1.0,
        }
    }

    #[test]
    fn a_fannie_scale_run_fits_ten_minutes_on_a_thousand_workers() {
        let limits = Limits {
            deadline_seconds: Some(600.0),
            budget_usd: None,
            concurrency: 1000,
            arch: Arch::Arm64,
        };
        let calibration = Calibration::default();
        let (points, best) = plan_run(&fannie(), &calibration, &limits);
        let best = &points[best.expect("a plan fits")];
        assert!(best.wall_seconds <= 600.0);
        // 3e12 loan-months at 1e8 per vCPU-second are 30,000 vCPU-seconds of work. Compute
        // cost is then about the same at any memory (GB-s per vCPU-s is fixed): ~$0.70 on
        // arm64 at 1.73 GB per vCPU, scaled by the calibration's own rate, plus requests.
        let expected_usd = 0.70 * 1e8 / calibration.loan_months_per_vcpu_second;
        let b = best.bill(Arch::Arm64);
        assert!(
            b.lambda_compute_usd > 0.85 * expected_usd
                && b.lambda_compute_usd < 1.45 * expected_usd,
            "{b:?}, expected about {expected_usd}"
        );
        assert!(b.total_usd < b.lambda_compute_usd + 0.1, "{b:?}");
        assert!(best.shards * best.loans_per_shard >= 20_000_000);
    }

    #[test]
    fn a_small_run_gets_few_shards_that_each_outweigh_their_overhead() {
        let c = Calibration::default();
        // 10,000 loans x 1 scenario x 360 months: a fraction of a second of work.
        let small = Workload {
            loans: 10_000,
            scenarios: 1,
            loan_months: 10_000.0 * 360.0,
            horizon_months: 360,
            risk_multiplier: 1.0,
        };
        for memory_mb in MEMORY_SIZES_MB {
            let p = plan_point(&small, &c, memory_mb, 1000);
            assert_eq!(p.shards, 1, "{memory_mb} MB: {p:?}");
        }
        // A run with a minute of work splits, but each shard still computes for at least
        // MIN_COMPUTE_PER_OVERHEAD times its overhead.
        let medium = Workload {
            loan_months: c.loan_months_per_vcpu_second * 60.0,
            loans: 1_000_000,
            ..small
        };
        let p = plan_point(&medium, &c, 1769, 1000);
        let compute = p.shard_seconds - c.overhead_seconds_per_shard;
        assert!(p.shards > 1 && p.shards < 1000, "{p:?}");
        assert!(
            compute >= MIN_COMPUTE_PER_OVERHEAD * MIN_OVERHEAD_SECONDS_PER_SHARD * 0.99,
            "{p:?}"
        );
    }

    #[test]
    fn more_memory_means_shorter_shards_and_an_impossible_deadline_has_no_plan() {
        let w = fannie();
        let c = Calibration::default();
        let small = plan_point(&w, &c, 1024, 1000);
        let large = plan_point(&w, &c, 10240, 1000);
        assert!(large.wall_seconds < small.wall_seconds);
        let limits = Limits {
            deadline_seconds: Some(1.0),
            budget_usd: None,
            concurrency: 10,
            arch: Arch::X86_64,
        };
        assert_eq!(plan_run(&w, &c, &limits).1, None);
        let broke = Limits {
            deadline_seconds: None,
            budget_usd: Some(0.01),
            ..limits
        };
        assert_eq!(plan_run(&w, &c, &broke).1, None);
    }

    #[test]
    fn a_shard_that_cannot_fit_its_memory_is_not_planned() {
        // 5,000 scenarios x 360 months: 1 thread at 512 MB holds 5 groups of tables
        // (5 x 5,000 x 360 x 12 x 16 B = 1.6 GiB) and cannot fit; 10,240 MB can.
        let w = Workload {
            loans: 100_000,
            scenarios: 5000,
            loan_months: 100_000.0 * 5000.0 * 300.0,
            horizon_months: 360,
            risk_multiplier: 1.0,
        };
        let c = Calibration::default();
        let small = plan_point(&w, &c, 512, 100);
        assert!(!small.fits_memory, "{small:?}");
        assert!(small.peak_memory_mb > 1500.0, "{}", small.peak_memory_mb);
        let limits = Limits {
            deadline_seconds: None,
            budget_usd: None,
            concurrency: 100,
            arch: Arch::Arm64,
        };
        let (points, best) = plan_run(&w, &c, &limits);
        let best = &points[best.expect("a size fits")];
        assert!(best.fits_memory && best.memory_mb >= 3008, "{best:?}");
        // The prediction follows the engine's table layout exactly.
        let tables = engine::stochastic::working_table_bytes(256, 10, 12, 1) as f64;
        assert_eq!(
            tables,
            2.0 * 10.0 * 12.0 * engine::cashflow::SUMMED_COUNT as f64 * 8.0
        );
    }

    #[test]
    fn the_reference_calibration_has_every_field() {
        let file: serde_json::Value =
            serde_json::from_str(REFERENCE_CALIBRATION).expect("calibration JSON");
        let written = serde_json::to_value(Calibration::default()).expect("serialises");
        for key in written.as_object().expect("object").keys() {
            assert!(
                file.get(key).is_some(),
                "data/sweep/calibration.json lacks {key}"
            );
        }
    }
}
