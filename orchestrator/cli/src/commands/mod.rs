//! One module per subcommand, plus what several share: the thread count, the run
//! configuration with a hint when it is missing, the deployment's store and queue from
//! flags, and the mapping of the libraries' errors onto flag names.

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
use orchestrator::run::local::ExistingRunError;
use orchestrator::run::plan::SizingError;
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

/// The error as the user typed the command: a library error that a flag controls names
/// that flag. Every other error is kept as it is.
pub(crate) fn in_flag_terms(e: anyhow::Error) -> anyhow::Error {
    if !e.chain().any(|c| flag_message(c).is_some()) {
        return e;
    }
    let parts: Vec<String> = e
        .chain()
        .map(|c| flag_message(c).unwrap_or_else(|| c.to_string()))
        .collect();
    anyhow::anyhow!(parts.join(": "))
}

/// The error as one message, each cause said once: a cause whose text the message
/// already holds (a library error that prints its source, say) is left out, so a chain
/// never repeats itself and a problem list stays one line per problem.
pub(crate) fn render(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The message of `e` in flag terms, if a flag controls it.
fn flag_message(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(s) = e.downcast_ref::<SizingError>() {
        return match s {
            SizingError::LoansPerShard => Some("--loans-per-shard must be at least 1".into()),
            SizingError::ScenariosPerShard => {
                Some("--scenarios-per-shard must be at least 1".into())
            }
            SizingError::ShardCount => Some("--shards must be at least 1".into()),
            SizingError::Empty => None,
        };
    }
    let existing = e.downcast_ref::<ExistingRunError>()?;
    let remedy = match existing {
        ExistingRunError::DifferentInputs { .. } => "choose another run_id or pass --overwrite",
        ExistingRunError::Unreadable { .. } => "pass --overwrite to replace it",
    };
    Some(format!("{existing}; {remedy}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_the_message_already_says_is_said_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("reading loans.csv: {0}")]
        struct Reading(#[source] std::io::Error);
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Reading(io)).context("run r1 failed");
        assert_eq!(render(&e), "run r1 failed: reading loans.csv: no such file");
        // A cause the message does not hold is kept.
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(io).context("reading loans.csv");
        assert_eq!(render(&e), "reading loans.csv: no such file");
    }

    #[test]
    fn sizing_errors_name_the_flag_and_keep_their_context() {
        let e = anyhow::Error::new(SizingError::LoansPerShard).context("run r1 failed");
        assert_eq!(
            format!("{:#}", in_flag_terms(e)),
            "run r1 failed: --loans-per-shard must be at least 1"
        );
        let existing = anyhow::Error::new(ExistingRunError::Unreadable {
            run_id: "r1".into(),
            root: "out".into(),
            reason: "not JSON".into(),
        });
        assert!(
            format!("{:#}", in_flag_terms(existing)).ends_with("pass --overwrite to replace it")
        );
        let other = anyhow::anyhow!("disk full").context("writing");
        assert_eq!(format!("{:#}", in_flag_terms(other)), "writing: disk full");
    }
}
