//! Lambda's limits and the price table, in one place: what the worker sizes its thread
//! pool by, what `mcflow invoke`/`sweep` enforce, what `mcflow plan` and the run report
//! price with. Figures from the AWS Lambda developer guide and the us-east-1 price pages.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Lambda's smallest configurable memory size. The local sandbox accepts less (down to
/// 1 MB) so that out-of-memory behaviour can be tested on a small shard.
pub const MIN_MEMORY_MB: u32 = 128;
/// Lambda's largest memory size.
pub const MAX_MEMORY_MB: u32 = 10_240;
/// Lambda's CPU share: 1,769 MB of memory buys one vCPU.
pub const MB_PER_VCPU: u32 = 1769;
/// Lambda never gives a function more than six vCPUs.
pub const MAX_VCPUS: u32 = 6;
/// Lambda's longest invocation.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(900);
/// Lambda's limit on the init phase.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Lambda's CPU share at `memory_mb` (1,769 MB = 1 vCPU, at most about 5.8).
pub fn vcpu_share(memory_mb: u32) -> f64 {
    (f64::from(memory_mb) / f64::from(MB_PER_VCPU))
        .min(f64::from(MAX_MEMORY_MB) / f64::from(MB_PER_VCPU))
}

/// Threads for a function of `memory_mb`: its vCPU share rounded up, between 1 and 6.
/// The visible core count is no guide: Lambda shows 2 cores even at 128 MB, where the
/// function gets 7% of one.
pub fn threads_for_memory(memory_mb: u32) -> usize {
    memory_mb.div_ceil(MB_PER_VCPU).clamp(1, MAX_VCPUS) as usize
}

/// When the prices below were read (the AWS price pages).
pub const PRICES_READ_ON: &str = "2026-11-26";

/// A Rust function's INIT phase on provided.al2023, ms (AWS's published average, arm64
/// at 512 MB); Lambda bills it. Workers measure their own; plans assume this.
pub const RUST_COLD_START_MS: f64 = 13.0;

/// A function's instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Arm64,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Arm64];

    /// The architecture this binary was built for.
    pub fn current() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::X86_64
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// us-east-1 list prices, first tier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceTable {
    pub lambda_usd_per_gb_second_x86_64: f64,
    pub lambda_usd_per_gb_second_arm64: f64,
    pub lambda_usd_per_request: f64,
    pub sqs_usd_per_request: f64,
    pub s3_usd_per_put: f64,
    pub s3_usd_per_get: f64,
    pub scheduler_usd_per_invocation: f64,
}

pub const PRICES: PriceTable = PriceTable {
    lambda_usd_per_gb_second_x86_64: 0.000_016_666_7,
    lambda_usd_per_gb_second_arm64: 0.000_013_333_4,
    lambda_usd_per_request: 0.20 / 1e6,
    sqs_usd_per_request: 0.40 / 1e6,
    s3_usd_per_put: 0.005 / 1000.0,
    s3_usd_per_get: 0.0004 / 1000.0,
    scheduler_usd_per_invocation: 1.00 / 1e6,
};

impl PriceTable {
    pub fn gb_second(&self, arch: Arch) -> f64 {
        match arch {
            Arch::X86_64 => self.lambda_usd_per_gb_second_x86_64,
            Arch::Arm64 => self.lambda_usd_per_gb_second_arm64,
        }
    }
}

/// Lambda bills duration rounded up to the millisecond.
pub fn billed_ms(duration_ms: f64) -> u64 {
    duration_ms.max(0.0).ceil() as u64
}

/// GB-seconds of `billed_ms` at `memory_mb` (1 GB = 1,024 MB).
pub fn gb_seconds(memory_mb: u32, billed_ms: u64) -> f64 {
    f64::from(memory_mb) / 1024.0 * billed_ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_follow_the_vcpu_share() {
        assert_eq!(threads_for_memory(128), 1);
        assert_eq!(threads_for_memory(1769), 1);
        assert_eq!(threads_for_memory(1770), 2);
        assert_eq!(threads_for_memory(10240), 6);
        assert!((vcpu_share(1769) - 1.0).abs() < 1e-12);
        assert_eq!(vcpu_share(20_000), vcpu_share(MAX_MEMORY_MB));
    }

    #[test]
    fn billing_rounds_up_to_the_millisecond() {
        assert_eq!(billed_ms(1466.0), 1466);
        assert_eq!(billed_ms(1465.2), 1466);
        assert_eq!(billed_ms(-1.0), 0);
        assert!((gb_seconds(1024, 1466) - 1.466).abs() < 1e-12);
    }
}
