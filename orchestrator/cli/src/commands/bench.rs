//! `mcflow bench`: kernel throughput, as text or one JSON object.

use anyhow::Result;

use super::threads;
use crate::cli::BenchArgs;

pub(crate) fn bench(args: &BenchArgs) -> Result<()> {
    let threads = threads(args.threads)?;
    let r = mcflow::bench::bench(
        args.model.into(),
        args.loans as usize,
        args.months,
        args.scenarios,
        threads,
        args.repeat as usize,
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{}: {} loans x {} months x {} scenario(s) on {} thread(s) [{}]: {} loan-months in {:.4} s (median of {}) = {:.3e} loan-months/s",
            r.model,
            r.loans,
            r.months,
            r.scenarios,
            r.threads,
            r.isa,
            r.loan_months,
            r.seconds,
            r.repetitions_seconds.len(),
            r.loan_months_per_second
        );
    }
    Ok(())
}
