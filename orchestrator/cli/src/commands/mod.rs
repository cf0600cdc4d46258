//! One module per subcommand, plus what several share: the thread count, the run
//! configuration with a hint when it is missing, the deployment's store and queue from
//! flags, and the mapping of the libraries' errors onto flag names.

pub(crate) mod bench;
pub(crate) mod diff;
pub(crate) mod import;
pub(crate) mod init;
pub(crate) mod invoke;
pub(crate) mod manual;
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
use worker::config_override::{ConfigOverride, apply_overrides};
use worker::manifest::ConfigText;

/// The thread count from `--threads`, or every core.
pub(crate) fn threads(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// A run configuration as the user gave it: `--config` (a file, or `-` for standard
/// input) with the `--set` overrides applied, validated.
pub(crate) struct LoadedConfig {
    pub config: RunConfig,
    /// The effective text and the files it names, as a cloud run's manifest carries them.
    pub text: ConfigText,
    /// Checksum of the run's settings ([`ConfigText::config_sha256`]): the same for a
    /// cloud run of this config, and for any run id or business date.
    pub sha256: String,
}

/// The name standard input goes by in messages; files a config read from it names
/// resolve against the working directory.
const STDIN_NAME: &str = "<stdin>";

/// Reads `--config` (`-` is standard input), applies `set` in order and validates the
/// result, with a hint when there is no file at `path`.
pub(crate) fn load_config(path: &Path, set: &[ConfigOverride]) -> Result<LoadedConfig> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("cannot read the run configuration from standard input (--config -)")?;
        (Path::new(STDIN_NAME), text)
    } else {
        let text = std::fs::read_to_string(path).with_context(|| {
            if path.exists() {
                format!("cannot read run config {}", path.display())
            } else {
                format!(
                    "no run configuration at {} (run from the repository root for the bundled sample, or pass --config)",
                    path.display()
                )
            }
        })?;
        (path, text)
    };
    let effective = apply_overrides(&text, set)
        .with_context(|| format!("cannot override run config {}", name.display()))?;
    let (text, config) =
        ConfigText::capture_text(name, effective).context("invalid run configuration")?;
    let sha256 = text.config_sha256();
    Ok(LoadedConfig {
        config,
        text,
        sha256,
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

/// The exit codes (README, "Exit codes"). Usage errors exit 2 through clap.
pub(crate) mod exit {
    /// The run, or the command's work, failed.
    pub(crate) const FAILED: u8 = 1;
    /// An input is wrong: the config, a `--set`, the portfolio, a missing file.
    pub(crate) const BAD_INPUT: u8 = 3;
    /// AWS (or the emulator at `--endpoint-url`) could not be reached or would not accept
    /// the credentials.
    pub(crate) const UNREACHABLE: u8 = 4;
}

/// Problems with the inputs, already rendered (for example both of `validate`'s inputs'
/// problems together): exit code 3 like the typed input errors it was made from.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadInput(pub String);

/// The exit code for `e`: the first cause that says what kind of failure it is.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    use worker::aws_failure::{CREDENTIALS_HINT, UNREACHABLE_HINT};
    // An AWS failure is found by the hint it carries, whatever wraps it.
    let said = render(e);
    if said.contains(UNREACHABLE_HINT) || said.contains(CREDENTIALS_HINT) {
        return exit::UNREACHABLE;
    }
    for cause in e.chain() {
        let bad_input = cause.is::<BadInput>()
            || cause.is::<worker::config::ConfigError>()
            || cause.is::<worker::config_override::OverrideError>()
            || cause.is::<worker::portfolio_file::PortfolioFileError>()
            || cause.is::<engine::PortfolioError>()
            || cause
                .downcast_ref::<worker::store::StoreError>()
                .is_some_and(|s| matches!(s, worker::store::StoreError::Location { .. }))
            || cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound);
        if bad_input {
            return exit::BAD_INPUT;
        }
    }
    exit::FAILED
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
