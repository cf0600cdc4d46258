//! What a run costs on AWS: the arithmetic of a whole-run bill, Lambda GB-seconds by
//! architecture plus invocations, SQS requests, S3 requests and the scheduler, at the
//! prices of [`crate::lambda_facts`]. Pure functions; the callers supply measured
//! durations.

use serde::{Deserialize, Serialize};

use crate::lambda_facts::{Arch, PRICES_READ_ON, PriceTable, billed_ms, gb_seconds};

/// Compute plus request charge of one invocation.
pub fn invocation_usd(prices: &PriceTable, arch: Arch, memory_mb: u32, duration_ms: f64) -> f64 {
    gb_seconds(memory_mb, billed_ms(duration_ms)) * prices.gb_second(arch)
        + prices.lambda_usd_per_request
}

/// The reducer's memory (template.yaml); it runs once per run, on `run.ready`.
pub const REDUCER_MEMORY_MB: u32 = 3008;

/// Requests a run makes besides the Lambda ones, per shard and per run (the layout in
/// the README: three partial objects and a progress update per shard, ...). Deletes are
/// free.
pub const S3_PUTS_PER_SHARD: f64 = 4.0;
pub const S3_GETS_PER_SHARD: f64 = 8.0;
pub const S3_PUTS_PER_RUN: f64 = 10.0;

/// Worker memory the report's bill assumes: the template's default `WorkerMemorySize`
/// (1.70 vCPU, two threads, like a local run on two cores); a test keeps them equal.
pub const BILL_MEMORY_MB: u32 = 3008;

/// A whole run's bill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    pub arch: Arch,
    pub worker_memory_mb: u32,
    /// Whether this is the bill of the deployment the shards ran on (their architecture
    /// and memory, as their markers record them); otherwise a projection of the
    /// measured durations onto Lambda.
    #[serde(default)]
    pub deployed: bool,
    pub shards: u64,
    /// Init (cold start) time billed across the workers' environments, ms: Lambda bills
    /// the INIT phase at the function's GB-s rate.
    #[serde(default)]
    pub worker_init_ms: f64,
    pub worker_gb_seconds: f64,
    pub lambda_compute_usd: f64,
    pub lambda_requests_usd: f64,
    pub sqs_usd: f64,
    pub s3_usd: f64,
    pub scheduler_usd: f64,
    pub total_usd: f64,
    pub prices_read_on: String,
}

/// `usd` to the nearest 10^-12 USD. A price times a count carries binary noise
/// (4 x $0.0000002 is 8.000000000000001e-7); rounded, it is the nearest double to the
/// decimal amount and prints as one (8e-7). No bill line is near a picodollar.
fn picodollars(usd: f64) -> f64 {
    (usd * 1e12).round() / 1e12
}

/// The bill of a run whose shards took `shard_durations_ms` on workers of `memory_mb`
/// (one shard per invocation), whose worker environments spent `worker_init_ms` in
/// their INIT phase, plus its reduce taking `reduce_ms` on the reducer.
pub fn run_bill(
    prices: &PriceTable,
    arch: Arch,
    memory_mb: u32,
    shard_durations_ms: &[f64],
    worker_init_ms: f64,
    reduce_ms: f64,
) -> Bill {
    let shards = shard_durations_ms.len() as u64;
    let worker_gb_seconds: f64 = shard_durations_ms
        .iter()
        .map(|&d| gb_seconds(memory_mb, billed_ms(d)))
        .sum::<f64>()
        + gb_seconds(memory_mb, billed_ms(worker_init_ms));
    // The reducer runs once, when the last shard's record creates `run.ready`.
    let reducer_gb_seconds = gb_seconds(REDUCER_MEMORY_MB, billed_ms(reduce_ms));
    let lambda_compute_usd = (worker_gb_seconds + reducer_gb_seconds) * prices.gb_second(arch);
    // A worker per shard (at most: a batch carries up to ten), the reducer once per
    // completion group in a run of several (their compute is not measured, so not billed
    // here) and once for the run, the orchestrator once.
    let groups = crate::progress::groups_of(shards as u32);
    let invocations = shards + 2 + if groups > 1 { u64::from(groups) } else { 0 };
    let lambda_requests_usd = invocations as f64 * prices.lambda_usd_per_request;
    // SendMessageBatch of ten, then a receive and a delete per shard.
    let sqs_requests = shards.div_ceil(10) + 2 * shards;
    let sqs_usd = sqs_requests as f64 * prices.sqs_usd_per_request;
    let s3_usd = (S3_PUTS_PER_SHARD * shards as f64 + S3_PUTS_PER_RUN) * prices.s3_usd_per_put
        + S3_GETS_PER_SHARD * shards as f64 * prices.s3_usd_per_get;
    let scheduler_usd = prices.scheduler_usd_per_invocation;
    let [
        lambda_compute_usd,
        lambda_requests_usd,
        sqs_usd,
        s3_usd,
        scheduler_usd,
    ] = [
        lambda_compute_usd,
        lambda_requests_usd,
        sqs_usd,
        s3_usd,
        scheduler_usd,
    ]
    .map(picodollars);
    Bill {
        arch,
        worker_memory_mb: memory_mb,
        deployed: false,
        shards,
        worker_init_ms,
        worker_gb_seconds,
        lambda_compute_usd,
        lambda_requests_usd,
        sqs_usd,
        s3_usd,
        scheduler_usd,
        total_usd: picodollars(
            lambda_compute_usd + lambda_requests_usd + sqs_usd + s3_usd + scheduler_usd,
        ),
        prices_read_on: PRICES_READ_ON.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lambda_facts::PRICES;

    #[test]
    fn a_1024_mb_invocation_costs_what_the_price_page_says() {
        // 1,024 MB for 1.466 s on x86_64: 1.466 GB-s x $0.0000166667 = $0.0000244334,
        // plus $0.0000002 for the request.
        let usd = invocation_usd(&PRICES, Arch::X86_64, 1024, 1466.0);
        assert!(
            (usd - (0.000_024_433_4 + 0.000_000_2)).abs() < 1e-10,
            "{usd}"
        );
        // 128 MB for 11.7 s: 1.4625 GB-s, about the same.
        let small = invocation_usd(&PRICES, Arch::X86_64, 128, 11_700.0);
        assert!((small - (1.4625 * 0.000_016_666_7 + 0.000_000_2)).abs() < 1e-10);
        // arm64 is 20% cheaper per GB-s.
        let arm = invocation_usd(&PRICES, Arch::Arm64, 1024, 1466.0) - 0.000_000_2;
        assert!((arm - 1.466 * 0.000_013_333_4).abs() < 1e-12);
    }

    #[test]
    fn bill_amounts_print_as_the_decimal_amounts_they_are() {
        let bill = run_bill(&PRICES, Arch::X86_64, 3008, &[1000.0; 2], 0.0, 0.0);
        let json = serde_json::to_string(&bill).expect("json");
        assert!(json.contains("\"lambda_requests_usd\":8e-7"), "{json}");
        assert!(json.contains("\"sqs_usd\":2e-6"), "{json}");
        assert!(!json.contains("00000000"), "{json}");
    }

    #[test]
    fn a_run_bill_adds_every_service() {
        // 20 shards of 1 s, 250 ms of cold starts between them.
        let bill = run_bill(&PRICES, Arch::X86_64, 1769, &[1000.0; 20], 250.0, 2000.0);
        assert_eq!(bill.shards, 20);
        let worker = 20.25 * 1769.0 / 1024.0;
        assert!((bill.worker_gb_seconds - worker).abs() < 1e-9);
        let reducer = 3008.0 / 1024.0 * 2.0;
        assert!((bill.lambda_compute_usd - (worker + reducer) * 0.000_016_666_7).abs() < 1e-12);
        assert!((bill.lambda_requests_usd - 22.0 * 0.2e-6).abs() < 1e-15);
        assert!((bill.sqs_usd - 42.0 * 0.4e-6).abs() < 1e-15);
        let s3 = 90.0 * 0.005 / 1000.0 + 160.0 * 0.0004 / 1000.0;
        assert!((bill.s3_usd - s3).abs() < 1e-15);
        let sum = bill.lambda_compute_usd
            + bill.lambda_requests_usd
            + bill.sqs_usd
            + bill.s3_usd
            + bill.scheduler_usd;
        assert!((bill.total_usd - sum).abs() < 1e-15);
    }
}
