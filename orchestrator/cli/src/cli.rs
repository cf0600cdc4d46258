//! Command-line arguments of `mcflow`: the clap types, their value parsers, and the
//! mapping of flag values onto the libraries' own types (the libraries never see clap).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use worker::config_override::ConfigOverride;
use worker::lambda_facts::MAX_TIMEOUT;

/// Monte Carlo cash-flow projections for mortgage portfolios.
#[derive(Debug, Parser)]
#[command(name = "mcflow", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Send every AWS call here (an emulator such as moto); the SDK also reads
    /// `AWS_ENDPOINT_URL`.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Project a portfolio under a run configuration and write tables and a report.
    Run(RunArgs),
    /// Check a portfolio and a run configuration without running.
    Validate(ValidateArgs),
    /// Start a new run in a directory: a commented run configuration, the files it names
    /// and a sample portfolio.
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Write the man pages, one per command, into a directory.
    #[command(name = "man")]
    Man(ManArgs),
    /// Measure kernel throughput on a synthetic portfolio.
    Bench(BenchArgs),
    /// Write a seeded synthetic portfolio (Parquet, or CSV when the name ends in .csv).
    Sample(SampleArgs),
    /// Export a stochastic configuration's scenario paths as Parquet.
    Scenarios(ScenariosArgs),
    /// Reprint the summary of stored runs in an output directory.
    Report(ReportArgs),
    /// Compare two runs: PV, losses and their tails, WAL and default rate, with each
    /// difference's Monte Carlo standard error, and which inputs changed.
    Diff(DiffArgs),
    /// Turn loan-level data from public datasets into a portfolio file.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Submit a run to a deployment: validate, write the manifest, send shard messages.
    Submit(SubmitArgs),
    /// Show a submitted run's progress, failures and estimated cost.
    Status(StatusArgs),
    /// Re-issue only the shards of a run that have not completed.
    Retry(RetryArgs),
    /// Poll-mode worker: run shards from the queue (EC2, ECS, on-premises hosts).
    Worker(WorkerArgs),
    /// Print a sample event for one of the functions' triggers.
    GenerateEvent(GenerateEventArgs),
    /// Pick worker memory and shard size for a run, with its wall time and whole bill.
    Plan(PlanArgs),
    /// Run a function once locally under Lambda's memory, CPU and time limits, and print
    /// Lambda's REPORT line.
    #[command(subcommand)]
    Invoke(InvokeCommand),
    /// Measure the worker on a real shard at each memory size: duration, peak memory,
    /// billed GB-s and cost on both architectures, and the settings to use.
    Sweep(SweepArgs),
    /// The handler side of `invoke` and `sweep` (run by them, not by people).
    #[command(name = "__invoke-child", hide = true)]
    InvokeChild(InvokeChildArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum InvokeCommand {
    /// The worker function, with an SQS batch or a direct shard message.
    Worker(InvokeArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct InvokeArgs {
    /// The event (JSON): e.g. `mcflow generate-event sqs` or data/events/direct.json.
    #[arg(long)]
    pub event: PathBuf,
    /// The function's memory size, MB (1..=10240; Lambda accepts 128 and up); the
    /// default is one vCPU's worth.
    // Checked while parsing, so a bad size is refused before the invocation's START line.
    #[arg(long, default_value_t = worker::lambda_facts::MB_PER_VCPU,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(worker::lambda_facts::MAX_MEMORY_MB)))]
    pub memory: u32,
    /// The function's timeout: 60, 90s, 15m (at most Lambda's 900 s).
    #[arg(long, default_value = "300", value_parser = lambda_timeout)]
    pub timeout: Duration,
    /// How to apply the CPU share: a cgroup of its own where possible, or the model.
    #[arg(long, value_enum, default_value_t = CpuLimitArg::Auto)]
    pub cpu_limit: CpuLimitArg,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SweepArgs {
    /// Portfolio to take the shard from (default: the bundled sample).
    #[arg(long, default_value = "data/sample_portfolio.parquet")]
    pub portfolio: String,
    /// Run configuration (default: the bundled sample run).
    #[arg(long, default_value = "data/run.toml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
    /// Loans in the measured shard (the portfolio's first rows); 2,000 of the sample
    /// take about 1.4 s at one vCPU.
    #[arg(long, default_value_t = 2000)]
    pub loans_per_shard: u64,
    /// Scenarios in the measured shard (default: all of the run's).
    #[arg(long)]
    pub scenarios_per_shard: Option<u32>,
    /// Memory sizes, MB, comma-separated (default: 128 to 10240, twelve sizes).
    #[arg(long, value_delimiter = ',',
          value_parser = clap::value_parser!(u32).range(1..=i64::from(worker::lambda_facts::MAX_MEMORY_MB)))]
    pub memory: Vec<u32>,
    /// Invocations per memory size; the median and the spread are reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// The function timeout each invocation gets: 900, 60s, 15m (at most 900 s).
    #[arg(long, default_value = "900", value_parser = lambda_timeout)]
    pub timeout: Duration,
    /// How to apply the CPU share: a cgroup of its own where possible, or the model.
    #[arg(long, value_enum, default_value_t = CpuLimitArg::Auto)]
    pub cpu_limit: CpuLimitArg,
    /// Weight of cost against duration in the balanced recommendation, 0 to 1.
    #[arg(long, default_value_t = 0.5)]
    pub cost_weight: f64,
    /// Directory for sweep.json, sweep.csv, sweep.svg and calibration.json.
    #[arg(long, default_value = "mcflow-sweep")]
    pub out: PathBuf,
    /// Print the sweep (sweep.json) on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct InvokeChildArgs {
    #[arg(long)]
    pub event: PathBuf,
    #[arg(long)]
    pub result: PathBuf,
}

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ArchArg {
    #[value(name = "x86_64")]
    X86_64,
    Arm64,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct PlanArgs {
    /// Portfolio to plan for (default: the bundled sample); or give --loans and
    /// --scenarios.
    #[arg(long, conflicts_with = "loans")]
    pub portfolio: Option<String>,
    /// Run configuration (TOML) of the portfolio's run (default: data/run.toml).
    #[arg(long, conflicts_with = "loans")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub set: SetArgs,
    /// Loans of a hypothetical run (e.g. 20000000). A hypothetical run reads no
    /// configuration, so `--set` is refused beside it.
    #[arg(long, requires = "scenarios", conflicts_with = "set")]
    pub loans: Option<u64>,
    /// Scenarios of a hypothetical run.
    #[arg(long)]
    pub scenarios: Option<u32>,
    /// Remaining months per loan of a hypothetical run.
    #[arg(long, default_value_t = 360)]
    pub months: u32,
    /// Wall-time limit: 90s, 10m, 2h, 1h 30m.
    #[arg(long, value_parser = duration)]
    pub deadline: Option<Duration>,
    /// Cost limit of the whole run, USD.
    #[arg(long)]
    pub budget_usd: Option<f64>,
    /// Workers running at once (the queue mapping's MaximumConcurrency).
    #[arg(long, default_value_t = 1000)]
    pub concurrency: u64,
    /// Architecture whose price decides.
    #[arg(long, value_enum, default_value_t = ArchArg::Arm64)]
    pub arch: ArchArg,
    /// Calibration JSON from `mcflow sweep` {loan_months_per_vcpu_second,
    /// overhead_seconds_per_shard, parallel_efficiency, base_memory_mb,
    /// bytes_per_scenario_month, source} (default: the reference sweep's,
    /// data/sweep/calibration.json).
    #[arg(long)]
    pub calibration: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Where a deployment keeps runs, and its shard queue.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false, id = "location")]
pub(crate) struct StoreArgs {
    /// The deployment's bucket (runs go under s3://BUCKET/).
    #[arg(long, group = "location")]
    pub bucket: Option<String>,
    /// Or any store location: s3://bucket/prefix, or a directory every worker shares.
    #[arg(long, group = "location")]
    pub store: Option<String>,
    /// Or a deployed mcflow stack: its bucket and queue come from the stack's outputs.
    #[arg(long, group = "location")]
    pub stack: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SubmitArgs {
    /// Run configuration (TOML); it and the files it names travel in the run manifest.
    /// `-` reads it from standard input.
    #[arg(long)]
    pub config: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
    /// Portfolio: s3://bucket/key (or a path every worker can read).
    #[arg(long)]
    pub portfolio: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The shard queue's URL (given by --stack otherwise).
    #[arg(long)]
    pub queue: Option<String>,
    /// Loans per shard.
    #[arg(long, conflicts_with = "shards")]
    pub loans_per_shard: Option<u64>,
    /// Scenarios per shard; rounded up to keep antithetic pairs together.
    #[arg(long, conflicts_with = "shards")]
    pub scenarios_per_shard: Option<u32>,
    /// Number of shards, splitting the loans.
    #[arg(long)]
    pub shards: Option<u32>,
    /// SendMessageBatch calls in flight.
    #[arg(long, default_value_t = 16)]
    pub send_concurrency: usize,
    /// Business date (YYYY-MM-DD, or an RFC 3339 timestamp read in UTC); it overrides
    /// the config's `as_of` and names the run `<config run_id>-<as_of>`.
    #[arg(long, value_parser = as_of_date)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Run id, overriding the config's (and the `<config run_id>-<as_of>` naming).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

fn as_of_date(s: &str) -> Result<chrono::NaiveDate, String> {
    orchestrator::cloud::lambda::business_date(s, None).map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub(crate) struct StatusArgs {
    /// The run id.
    pub run_id: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The shard queue's URL: lets `status` look in the dead-letter queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RetryArgs {
    /// The run id.
    pub run_id: String,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The shard queue's URL (given by --stack otherwise).
    #[arg(long)]
    pub queue: Option<String>,
    /// Re-issue just the stragglers (unfinished shards of a run that has been quiet for
    /// 3 x the median shard time plus 60 s, with no message waiting).
    #[arg(long)]
    pub stragglers: bool,
    /// Print one JSON object (`run_id`, `reissued`) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct WorkerArgs {
    /// The shard queue's URL.
    #[arg(long)]
    pub queue: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Seconds a received message stays hidden; renewed while the shard runs.
    #[arg(long, default_value_t = 300)]
    pub visibility_seconds: i32,
    /// Long-poll wait per receive, seconds (at most 20).
    #[arg(long, default_value_t = 20)]
    pub wait_seconds: i32,
    /// Exit after this many empty receives in a row (default: poll until stopped).
    #[arg(long)]
    pub exit_when_idle: Option<u32>,
}

/// A function trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EventKindArg {
    /// SQS batch for the worker function.
    Sqs,
    /// EventBridge scheduled event for the orchestrator function.
    Schedule,
    /// S3 notification of a completion marker for the reducer function.
    S3,
    /// Direct invocation of the worker with one shard message.
    Direct,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct GenerateEventArgs {
    #[arg(value_enum)]
    pub kind: EventKindArg,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Fannie Mae Single-Family Loan Performance files (pipe-delimited, 110 columns).
    Fannie(FannieArgs),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct FannieArgs {
    /// One or more performance files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output portfolio (Parquet, or CSV when the name ends in .csv).
    #[arg(long)]
    pub out: PathBuf,
    /// Keep adjustable-rate loans (their current rate is used as a fixed rate).
    #[arg(long)]
    pub include_arm: bool,
    /// Servicing fee to assign to every loan, percent a year (the files carry none).
    #[arg(long)]
    pub servicing_fee_pct: Option<f64>,
    /// Print one JSON object on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ReportArgs {
    /// Output location of earlier runs: a local directory or `s3://bucket/prefix`.
    #[arg(default_value = "mcflow-out")]
    pub dir: String,
    /// Only this run (default: every run in the directory).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Print the reports as one JSON array (each run's report.json) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ScenariosArgs {
    /// Run configuration (TOML) with model.kind = "stochastic"; `-` reads standard input.
    #[arg(long, default_value = "data/run.toml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
    /// Output Parquet file.
    #[arg(long)]
    pub out: PathBuf,
    /// Months per path (default: the config's horizon_months, else 360).
    #[arg(long)]
    pub months: Option<u32>,
}

/// Which model `mcflow bench` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BenchModelArg {
    /// SIFMA standard assumptions: 150% PSA, 100% SDA.
    Deterministic,
    /// The full stochastic model with default parameters (Hull-White, house prices, every
    /// behaviour model on).
    Stochastic,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct InputArgs {
    /// Portfolio file, Parquet or CSV: a local path or `s3://bucket/key`.
    #[arg(long, default_value = "data/sample_portfolio.parquet")]
    pub portfolio: String,
    /// Run configuration (TOML); `-` reads it from standard input, and the files it
    /// names then resolve against the working directory.
    #[arg(long, default_value = "data/run.toml")]
    pub config: PathBuf,
    #[command(flatten)]
    pub set: SetArgs,
}

/// `--set key=value`, for every command that reads a run configuration.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct SetArgs {
    /// Override a run-configuration key before it is validated, e.g. `--set
    /// model.scenarios=500` (repeatable; a later one wins). Numbers, booleans, quoted
    /// strings and arrays are read as TOML; anything else is a string.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = config_override)]
    pub set: Vec<ConfigOverride>,
}

fn config_override(s: &str) -> Result<ConfigOverride, String> {
    s.parse()
        .map_err(|e: worker::config_override::OverrideError| e.to_string())
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Output location: a local directory or `s3://bucket/prefix`.
    #[arg(long, default_value = "mcflow-out")]
    pub out: String,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Loans per shard (default: all loans, or as --shards gives).
    #[arg(long, conflicts_with = "shards")]
    pub loans_per_shard: Option<u64>,
    /// Scenarios per shard (default: all); rounded up to keep antithetic pairs together.
    #[arg(long, conflicts_with = "shards")]
    pub scenarios_per_shard: Option<u32>,
    /// Number of shards, splitting the loans (default: one per thread).
    #[arg(long)]
    pub shards: Option<u32>,
    /// Replace an existing run of the same run_id whose inputs differ.
    #[arg(long)]
    pub overwrite: bool,
    /// Run id, overriding the config's `run_id` (the same as `--set run_id=ID`).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Business date, YYYY-MM-DD, overriding the config's `as_of` (the same as `--set
    /// as_of=DATE`).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Recompute every shard. Without it, a run interrupted with the same inputs and
    /// shards resumes: the shards it completed are kept.
    #[arg(long)]
    pub fresh: bool,
    /// Print the run's report (report.json) on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Print one JSON object: `ok`, and `loans`, `run_id` and `model`, or `problems`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    /// Loans in the synthetic portfolio.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub loans: u64,
    /// Months per loan (every loan is new with this term).
    #[arg(long, default_value_t = 360, value_parser = clap::value_parser!(u32).range(1..=480))]
    pub months: u32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Timed repetitions; the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub repeat: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Model to measure.
    #[arg(long, value_enum, default_value_t = BenchModelArg::Deterministic)]
    pub model: BenchModelArg,
    /// Scenarios per run (stochastic model).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub scenarios: u32,
    /// Measure this run configuration's own work instead of a synthetic portfolio: the
    /// kernel alone and the whole local run, alternated, and the share of the kernel's
    /// speed the run keeps.
    #[arg(long, conflicts_with_all = ["loans", "months", "model", "scenarios"])]
    pub config: Option<PathBuf>,
    /// The portfolio for `--config` (default: the bundled sample).
    #[arg(
        long,
        requires = "config",
        default_value = "data/sample_portfolio.parquet"
    )]
    pub portfolio: String,
    /// Override a key of `--config`'s run configuration, as `mcflow run --set` does
    /// (repeatable; a later one wins). Needs `--config`: the synthetic bench reads none.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = config_override, requires = "config")]
    pub set: Vec<ConfigOverride>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct DiffArgs {
    /// The first run: `DIR/runs/RUN_ID` or `s3://bucket/prefix/runs/RUN_ID`, or an output
    /// location holding one run.
    pub run_a: String,
    /// The second run, named the same ways; differences are B - A.
    pub run_b: String,
    /// Also compare per state (`--by state`): PV, expected loss and default rate, from
    /// the runs' `loan_results` tables.
    #[arg(long, value_enum)]
    pub by: Option<DiffBy>,
    /// Print one JSON object (`a, b, inputs, rows, paired_scenarios`, and `by_state`)
    /// instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// What `mcflow diff --by` breaks the comparison down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DiffBy {
    /// The loan's state (`loan_results.state`).
    State,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct InitArgs {
    /// The directory (created if missing; existing files in it are never replaced).
    pub dir: PathBuf,
    /// Loans in the sample portfolio.
    #[arg(long, default_value_t = 1000)]
    pub loans: usize,
    /// The sample portfolio's seed.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell, e.g. `mcflow completions bash > ~/.local/share/bash-completion/completions/mcflow`.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ManArgs {
    /// Directory for mcflow.1 and one mcflow-COMMAND.1 per command.
    #[arg(long, default_value = "man")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct SampleArgs {
    /// Number of loans.
    #[arg(long)]
    pub loans: usize,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed; the same seed gives the same portfolio on every machine.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

/// How `invoke` and `sweep` apply the CPU share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CpuLimitArg {
    /// A cgroup where the host allows it and the share fits its cores, else the model.
    Auto,
    /// A cgroup or an error.
    Cgroup,
    /// The model, never a cgroup.
    Model,
}

impl From<CpuLimitArg> for mcflow::sandbox::CpuLimitMode {
    fn from(a: CpuLimitArg) -> Self {
        match a {
            CpuLimitArg::Auto => Self::Auto,
            CpuLimitArg::Cgroup => Self::Cgroup,
            CpuLimitArg::Model => Self::Model,
        }
    }
}

impl From<EventKindArg> for orchestrator::cloud::events::EventKind {
    fn from(a: EventKindArg) -> Self {
        match a {
            EventKindArg::Sqs => Self::Sqs,
            EventKindArg::Schedule => Self::Schedule,
            EventKindArg::S3 => Self::S3,
            EventKindArg::Direct => Self::Direct,
        }
    }
}

impl From<BenchModelArg> for mcflow::bench::Model {
    fn from(a: BenchModelArg) -> Self {
        match a {
            BenchModelArg::Deterministic => Self::Deterministic,
            BenchModelArg::Stochastic => Self::Stochastic,
        }
    }
}

impl From<ArchArg> for worker::lambda_facts::Arch {
    fn from(a: ArchArg) -> Self {
        match a {
            ArchArg::X86_64 => Self::X86_64,
            ArchArg::Arm64 => Self::Arm64,
        }
    }
}

/// A positive duration: a number with an optional unit `s`, `m` or `h` (fractions
/// allowed: `0.5`, `0.001s`, `1.5h`), else humantime's forms (`1h 30m`, `90sec`).
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, scale) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 1.0),
    };
    let d = match number.parse::<f64>() {
        Ok(v) => Duration::try_from_secs_f64(v * scale)
            .map_err(|_| format!("{text:?} is not a duration of zero or more seconds"))?,
        Err(_) => humantime::parse_duration(t)
            .map_err(|e| format!("{text:?} is not a duration like 90s, 10m or 2h ({e})"))?,
    };
    if d.is_zero() {
        return Err(format!("{text:?} must be positive"));
    }
    Ok(d)
}

/// A function timeout: a [`duration`] no longer than Lambda's limit.
pub(crate) fn lambda_timeout(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d > MAX_TIMEOUT {
        return Err(format!(
            "{text} is longer than Lambda's {} s limit",
            MAX_TIMEOUT.as_secs()
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("0.001s"), Ok(Duration::from_millis(1)));
        assert_eq!(duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(
            duration("1e20").is_err(),
            "too long for a Duration, not a panic"
        );
        assert!(duration("ten").is_err());
        assert!(duration("-3s").is_err());
        assert!(duration("0").is_err());
        assert!(lambda_timeout("15m").is_ok());
        assert!(
            lambda_timeout("901")
                .expect_err("too long")
                .contains("900 s limit")
        );
    }

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
