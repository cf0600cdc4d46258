//! One module per subcommand, plus what several share: the thread count, the run
//! configuration with a hint when it is missing, shard sizing and the deployment's store
//! and queue from flags, and the mapping of the libraries' errors onto flag names.

pub(crate) mod bench;
pub(crate) mod import;
pub(crate) mod invoke;
pub(crate) mod plan;
pub(crate) mod poll_worker;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod sample;
pub(crate) mod scenarios;
pub(crate) mod status;
pub(crate) mod submit;
pub(crate) mod sweep;
pub(crate) mod validate;

use std::path::Path;

use anyhow::{Context, Result};
use orchestrator::run::plan::{Sizing, SizingError};
use worker::aws::LazyAws;
use worker::config::RunConfig;

/// The thread count from `--threads`, or every core.
pub(crate) fn threads(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// The run configuration at `path`, with a hint when there is no file there.
pub(crate) fn load_config(path: &Path) -> Result<RunConfig> {
    RunConfig::load(path).with_context(|| {
        if path.exists() {
            "invalid run configuration".to_string()
        } else {
            format!(
                "no run configuration at {} (run from the repository root for the bundled sample, or pass --config)",
                path.display()
            )
        }
    })
}

/// Shard sizing from `--shards`, `--loans-per-shard` and `--scenarios-per-shard`;
/// `default` when none is given.
pub(crate) fn sizing(
    shards: Option<u32>,
    loans_per_shard: Option<u64>,
    scenarios_per_shard: Option<u32>,
    default: Sizing,
) -> Sizing {
    match (shards, loans_per_shard, scenarios_per_shard) {
        (Some(n), _, _) => Sizing::Count(n),
        (None, None, None) => default,
        (None, loans, scenarios) => Sizing::PerShard { loans, scenarios },
    }
}

/// The store location and queue URL from `--bucket`/`--store` and `--queue`, or from a
/// stack's outputs.
pub(crate) fn deployment(
    args: &crate::cli::StoreArgs,
    queue: Option<&str>,
    aws: &LazyAws,
) -> Result<(String, Option<String>)> {
    if let Some(stack) = &args.stack {
        let d = orchestrator::cloud::stack::read_stack(&aws.get(), stack)?;
        return Ok((
            format!("s3://{}", d.bucket),
            Some(queue.map_or(d.queue_url, str::to_string)),
        ));
    }
    let location = match (&args.store, &args.bucket) {
        (Some(s), _) => s.clone(),
        (None, Some(b)) => format!("s3://{b}"),
        (None, None) => anyhow::bail!("give --bucket, --store or --stack"),
    };
    Ok((location, queue.map(str::to_string)))
}

/// The error as the user typed the command: a sizing error of the planner names the
/// flag that set it. Every other error is kept as it is.
pub(crate) fn in_flag_terms(e: anyhow::Error) -> anyhow::Error {
    if !e.chain().any(|c| c.is::<SizingError>()) {
        return e;
    }
    let parts: Vec<String> = e
        .chain()
        .map(|c| match c.downcast_ref::<SizingError>() {
            Some(s) => flag_message(s),
            None => c.to_string(),
        })
        .collect();
    anyhow::anyhow!(parts.join(": "))
}

fn flag_message(e: &SizingError) -> String {
    match e {
        SizingError::LoansPerShard => "--loans-per-shard must be at least 1".into(),
        SizingError::ScenariosPerShard => "--scenarios-per-shard must be at least 1".into(),
        SizingError::ShardCount => "--shards must be at least 1".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizing_errors_name_the_flag_and_keep_their_context() {
        let e = anyhow::Error::new(SizingError::LoansPerShard).context("run r1 failed");
        assert_eq!(
            format!("{:#}", in_flag_terms(e)),
            "run r1 failed: --loans-per-shard must be at least 1"
        );
        let other = anyhow::anyhow!("disk full").context("writing");
        assert_eq!(format!("{:#}", in_flag_terms(other)), "writing: disk full");
    }
}
