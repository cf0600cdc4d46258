//! `mcflow bench`: kernel throughput, as text or one JSON object.

use anyhow::Result;

use std::path::Path;

use worker::aws::LazyAws;
use worker::portfolio_file::PortfolioSource;

use super::{load_config, threads};
use crate::cli::BenchArgs;

pub(crate) fn bench(args: &BenchArgs, aws: &LazyAws) -> Result<()> {
    let threads = threads(args.threads)?;
    if let Some(config_path) = &args.config {
        return bench_inputs(args, config_path, threads, aws);
    }
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

fn bench_inputs(args: &BenchArgs, config_path: &Path, threads: usize, aws: &LazyAws) -> Result<()> {
    let loaded = load_config(config_path, &args.set)?;
    let source = PortfolioSource::open(&args.portfolio, || aws.get())?;
    let r = mcflow::bench::bench_inputs(
        &source,
        &loaded.config,
        config_path,
        worker::report::InputFingerprint {
            portfolio_sha256: source.sha256()?,
            config_sha256: loaded.sha256.clone(),
            market_sha256: loaded.text.market_sha256(),
        },
        chrono::Utc::now().date_naive(),
        threads,
        args.repeat as usize,
    )?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{} on {}: {} loans x {} scenario(s) on {} thread(s) [{}], {} loan-months (medians of {})",
            r.config,
            r.portfolio,
            r.loans,
            r.scenarios,
            r.threads,
            r.isa,
            r.loan_months,
            r.kernel_repetitions_seconds.len()
        );
        println!(
            "  kernel alone   {:.4} s = {:.3e} loan-months/s",
            r.kernel_seconds, r.kernel_loan_months_per_second
        );
        println!(
            "  whole run      {:.4} s = {:.3e} loan-months/s",
            r.run_seconds, r.run_loan_months_per_second
        );
        println!(
            "  end to end     {:.3} of the kernel's speed",
            r.end_to_end_ratio
        );
    }
    Ok(())
}
