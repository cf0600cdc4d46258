//! The `mcflow` binary: parses arguments and wires the libraries together.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use orchestrator::cli::{
    BenchArgs, Cli, Command, FannieArgs, ImportCommand, InputArgs, InvokeArgs, InvokeChildArgs,
    InvokeCommand, ReportArgs, RunArgs, SampleArgs, ScenariosArgs, StatusArgs, SubmitArgs,
    SweepArgs, WorkerArgs,
};
use orchestrator::cloud::queue::Queue;
use orchestrator::plan::Sizing;
use worker::aws::{AwsSettings, LazyAws};
use worker::config::RunConfig;
use worker::manifest::ConfigText;
use worker::portfolio_file::PortfolioSource;
use worker::report::InputFingerprint;
use worker::store::Store;

fn main() -> ExitCode {
    // An invoked function's init phase counts from here.
    let process_started = std::time::Instant::now();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let aws = LazyAws::new(AwsSettings {
        endpoint_url: cli.endpoint_url.clone(),
        static_credentials: None,
    });
    let result = match cli.command {
        Command::Run(args) => run(&args, &aws),
        Command::Validate(args) => validate(&args),
        Command::Bench(args) => bench(&args),
        Command::Sample(args) => sample(&args),
        Command::Scenarios(args) => scenarios(&args),
        Command::Report(args) => report(&args, &aws),
        Command::Import(ImportCommand::Fannie(args)) => import_fannie(&args),
        Command::Submit(args) => submit(&args, &aws),
        Command::Status(args) => status(&args, &aws),
        Command::Retry(args) => retry(&args, &aws),
        Command::Worker(args) => poll_worker(&args, aws),
        Command::Plan(args) => plan_capacity(&args, &aws),
        Command::Invoke(InvokeCommand::Worker(args)) => invoke_worker(&args, &cli.endpoint_url),
        Command::Sweep(args) => sweep(&args, &aws, &cli.endpoint_url),
        Command::InvokeChild(args) => invoke_child(&args, aws, process_started),
        Command::GenerateEvent(args) => {
            print!("{}", orchestrator::cloud::events::sample(args.kind));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn threads(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => anyhow::bail!("--threads must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

fn load_config(path: &Path) -> Result<RunConfig> {
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

fn run(args: &RunArgs, aws: &LazyAws) -> Result<()> {
    let config = load_config(&args.inputs.config)?;
    let threads = threads(args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let today = chrono::Utc::now().date_naive();
    let sizing = match (args.shards, args.loans_per_shard, args.scenarios_per_shard) {
        (Some(n), _, _) => Sizing::Count(n),
        (None, None, None) => Sizing::Count(threads as u32),
        (None, loans, scenarios) => Sizing::PerShard { loans, scenarios },
    };
    let bar = ProgressDisplay::new();
    let source = PortfolioSource::open(&args.inputs.portfolio, || aws.get())?;
    let store = Store::open(&args.out, || aws.get())?;
    let inputs = InputFingerprint {
        portfolio_sha256: source.sha256()?,
        config_sha256: worker::report::sha256_file(&args.inputs.config)
            .with_context(|| format!("cannot read config {}", args.inputs.config.display()))?,
    };
    let result = pool
        .install(|| {
            orchestrator::local::run_sharded(
                orchestrator::local::LocalRun {
                    portfolio: &source,
                    config: &config,
                    store: &store,
                    default_run_date: today,
                    sizing,
                    inputs,
                    overwrite: args.overwrite,
                },
                &|event| bar.update(event),
            )
        })
        .with_context(|| format!("run {} failed", config.run_id))?;
    bar.finish();
    let charts = orchestrator::charts::write_charts(&store, &result.report, &result.random_pvs)?;
    println!("mcflow run {} on {threads} thread(s)", config.run_id);
    print!("{}", orchestrator::summary::render(&result.report));
    println!(
        "{}",
        orchestrator::summary::line("report", store.describe(&result.report_key))
    );
    for chart in &charts {
        println!(
            "{}",
            orchestrator::summary::line("chart", store.describe(chart))
        );
    }
    Ok(())
}

fn validate(args: &InputArgs) -> Result<()> {
    let config = load_config(&args.config)?;
    let portfolio = worker::job::check_inputs(Path::new(&args.portfolio))?;
    println!(
        "ok: {} loans in {}, run {} ({})",
        portfolio.len(),
        args.portfolio,
        config.run_id,
        config.model.describe()
    );
    Ok(())
}

fn bench(args: &BenchArgs) -> Result<()> {
    let threads = threads(args.threads)?;
    let r = orchestrator::bench::bench(
        args.model,
        args.loans,
        args.months,
        args.scenarios,
        threads,
        args.repeat,
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

fn scenarios(args: &ScenariosArgs) -> Result<()> {
    let config = load_config(&args.config)?;
    let worker::config::Model::Stochastic(spec) = &config.model else {
        anyhow::bail!(
            "{}: model.kind is {:?}; scenario paths need model.kind = \"stochastic\"",
            args.config.display(),
            config.model.kind()
        );
    };
    let months = args.months.or(config.horizon_months).unwrap_or(360);
    anyhow::ensure!(
        (1..=480).contains(&months),
        "--months must be between 1 and 480"
    );
    let model = spec
        .model(months, 1)
        .with_context(|| format!("run config {}", args.config.display()))?;
    worker::results_parquet::write_scenario_paths(&args.out, model.scenarios())?;
    println!(
        "wrote {} scenarios x {} months to {}",
        model.scenarios().count(),
        months + 1,
        args.out.display()
    );
    Ok(())
}

fn report(args: &ReportArgs, aws: &LazyAws) -> Result<()> {
    let store = Store::open(&args.dir, || aws.get())?;
    let mut ids: Vec<String> = match &args.run_id {
        Some(id) => vec![id.clone()],
        None => store
            .list("runs")?
            .iter()
            .filter_map(|k| {
                k.strip_prefix("runs/")?
                    .strip_suffix(&format!("/{}", worker::report::REPORT_FILE))
                    .filter(|id| !id.contains('/'))
                    .map(str::to_string)
            })
            .collect(),
    };
    ids.sort();
    anyhow::ensure!(
        !ids.is_empty(),
        "no completed runs in {} (expected runs/<run_id>/report.json)",
        args.dir
    );
    for id in ids {
        let key = worker::report::report_key(&id);
        let report = worker::report::RunReport::get(&store, &id)?
            .with_context(|| format!("no report at {}", store.describe(&key)))?;
        println!("mcflow run {id} ({})", store.describe(&key));
        print!("{}", orchestrator::summary::render(&report));
    }
    Ok(())
}

fn import_fannie(args: &FannieArgs) -> Result<()> {
    use worker::fannie::{ImportError, ImportOptions, ImportSummary, import};
    let options = ImportOptions {
        include_arm: args.include_arm,
        servicing_fee_pct: args.servicing_fee_pct,
    };
    let print_summary = |s: &ImportSummary| {
        println!(
            "read {} rows, {} loans; kept {}; skipped: {} terminated (zero-balance code), {} not fixed-rate, {} invalid; {} malformed rows",
            s.rows_read,
            s.loans_seen,
            s.loans_kept,
            s.skipped_terminated,
            s.skipped_not_fixed_rate,
            s.skipped_invalid,
            s.malformed_rows
        );
        for m in &s.malformed {
            println!(
                "  malformed: {}, line {}: {}",
                m.file.display(),
                m.line,
                m.message
            );
        }
        for i in &s.invalid {
            println!("  invalid: {i}");
        }
    };
    let (records, summary) = match import(&args.files, options) {
        Ok(ok) => ok,
        Err(ImportError::Empty(summary)) => {
            print_summary(&summary);
            anyhow::bail!("no active loans to import from {:?}", args.files);
        }
        Err(e) => return Err(e.into()),
    };
    let is_csv = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        worker::portfolio_file::write_portfolio_csv(&args.out, &records)?;
    } else {
        worker::portfolio_file::write_portfolio_parquet(&args.out, &records)?;
    }
    print_summary(&summary);
    println!("wrote {} loans to {}", records.len(), args.out.display());
    Ok(())
}

fn sample(args: &SampleArgs) -> Result<()> {
    anyhow::ensure!(args.loans > 0, "--loans must be at least 1");
    let loans = engine::sample::synthetic_loans(args.loans, args.seed);
    let is_csv = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        worker::portfolio_file::write_portfolio_csv(&args.out, &loans)?;
    } else {
        worker::portfolio_file::write_portfolio_parquet(&args.out, &loans)?;
    }
    println!("wrote {} loans to {}", loans.len(), args.out.display());
    Ok(())
}

/// A progress bar on stderr (hidden when stderr is not a terminal) counting loan-months,
/// with throughput and ETA.
struct ProgressDisplay {
    bar: indicatif::ProgressBar,
}

impl ProgressDisplay {
    fn new() -> ProgressDisplay {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {percent:>3}% {per_sec} loan-months, ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        ProgressDisplay { bar }
    }

    fn update(&self, event: orchestrator::local::Progress) {
        use orchestrator::local::Progress;
        match event {
            Progress::Planned {
                shards,
                loan_months,
            } => {
                self.bar.set_length(loan_months);
                self.bar.set_message(format!("{shards} shards"));
            }
            Progress::ShardDone { loan_months } => self.bar.inc(loan_months),
            Progress::Reducing => self.bar.set_message("reducing"),
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn submit(args: &SubmitArgs, aws: &LazyAws) -> Result<()> {
    let (config, _) = ConfigText::capture(&args.config)
        .with_context(|| format!("invalid run configuration {}", args.config.display()))?;
    let (location, queue_url) = deployment(&args.store, args.queue.as_deref(), aws)?;
    let store = Store::open(&location, || aws.get())?;
    let source = PortfolioSource::open(&args.portfolio, || aws.get())?;
    let queue_url = queue_url.context("submit needs --queue URL (or --stack NAME)")?;
    let queue = Queue::new(aws.get(), &queue_url);
    let now = chrono::Utc::now();
    let sizing = match (args.shards, args.loans_per_shard, args.scenarios_per_shard) {
        (Some(n), _, _) => Sizing::Count(n),
        (None, loans, scenarios) => Sizing::PerShard { loans, scenarios },
    };
    let submitted = orchestrator::cloud::submit(
        &orchestrator::cloud::Submission {
            config,
            portfolio: &args.portfolio,
            store: &store,
            sizing,
            default_run_date: now.date_naive(),
            submitted_at: now,
            dispatch: orchestrator::cloud::DispatchOptions {
                concurrency: args.send_concurrency,
                ..Default::default()
            },
        },
        &source,
        &queue,
    )?;
    let m = &submitted.manifest;
    eprintln!(
        "submitted {} shards ({} sent now), {} loans x {} scenarios, {} loan-months",
        m.shards, submitted.sent, m.loans, m.scenarios, m.planned_loan_months
    );
    println!("{}", m.run_id);
    Ok(())
}

fn status(args: &StatusArgs, aws: &LazyAws) -> Result<()> {
    let (location, queue_url) = deployment(&args.store, args.queue.as_deref(), aws)?;
    let store = Store::open(&location, || aws.get())?;
    let queue = queue_url.as_deref().map(|q| Queue::new(aws.get(), q));
    let st = orchestrator::cloud::status(&store, &args.run_id, queue.as_ref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        use orchestrator::summary::line;
        println!("{}", line("run", &st.run_id));
        println!(
            "{}",
            line("state", format!("{:?}", st.state).to_lowercase())
        );
        println!(
            "{}",
            line("shards done", format!("{} / {}", st.done, st.planned))
        );
        println!(
            "{}",
            line(
                "loan-months done",
                format!("{} / {}", st.loan_months_done, st.loan_months_planned)
            )
        );
        println!("{}", line("submitted", &st.submitted_at));
        if let Some(f) = &st.finished_at {
            println!("{}", line("finished", f));
        }
        println!(
            "{}",
            line("est. cost USD", format!("{:.6}", st.estimated_cost_usd))
        );
        for f in &st.failed {
            println!(
                "{}",
                line(
                    "failed shard",
                    format!(
                        "{}{}: {}",
                        f.shard,
                        if f.dead_lettered {
                            " (dead-lettered)"
                        } else {
                            ""
                        },
                        f.error
                    )
                )
            );
        }
        if let Some(e) = &st.error {
            println!("{}", line("error", e));
        }
    }
    // A failed run is an error for scripts that wait on it.
    anyhow::ensure!(
        st.state != orchestrator::cloud::RunState::Failed,
        "run {} failed; fix the cause, then `mcflow retry {}`",
        st.run_id,
        st.run_id
    );
    Ok(())
}

fn retry(args: &StatusArgs, aws: &LazyAws) -> Result<()> {
    let (location, queue_url) = deployment(&args.store, args.queue.as_deref(), aws)?;
    let queue_url = queue_url.context("retry needs --queue URL (or --stack NAME)")?;
    let store = Store::open(&location, || aws.get())?;
    let queue = Queue::new(aws.get(), &queue_url);
    let shards = if args.stragglers {
        orchestrator::cloud::stragglers::reissue_stragglers(
            &store,
            &args.run_id,
            &queue,
            chrono::Utc::now().timestamp_millis(),
            &orchestrator::cloud::stragglers::StragglerPolicy::default(),
        )?
    } else {
        orchestrator::cloud::retry(&store, &args.run_id, &queue, 16)?
    };
    println!(
        "re-issued {} shard(s) of run {}: {:?}",
        shards.len(),
        args.run_id,
        shards
    );
    Ok(())
}

fn poll_worker(args: &WorkerArgs, aws: LazyAws) -> Result<()> {
    let threads = threads(args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let aws = std::sync::Arc::new(aws);
    let queue = Queue::new(aws.get(), &args.queue);
    let runner = worker::runner::ShardRunner::new(aws.clone());
    let options = orchestrator::cloud::poll::PollOptions {
        wait_seconds: args.wait_seconds,
        visibility_seconds: args.visibility_seconds,
        idle_polls_before_exit: args.exit_when_idle,
        max_messages: None,
        worker_id: format!("worker:{}", std::process::id()),
        stragglers: Some(orchestrator::cloud::stragglers::StragglerPolicy::default()),
    };
    let summary = pool.install(|| {
        orchestrator::cloud::poll::run_poll_worker(
            &queue,
            &runner,
            &aws,
            &options,
            &chrono::Utc::now,
            &|event| {
                eprintln!(
                    "{}",
                    serde_json::to_string(&PollLog(&event)).unwrap_or_default()
                )
            },
        )
    })?;
    println!(
        "shards done {}, failed {}, runs reduced {}, stragglers re-issued {}",
        summary.shards_done, summary.shards_failed, summary.runs_reduced, summary.shards_reissued
    );
    Ok(())
}

/// A poll-worker event as one JSON log line.
struct PollLog<'a>(&'a orchestrator::cloud::poll::PollEvent);

impl serde::Serialize for PollLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use orchestrator::cloud::poll::PollEvent as E;
        let v = match self.0 {
            E::ShardDone {
                run_id,
                shard,
                loan_months,
                seconds,
            } => serde_json::json!({
                "message": "shard done", "run_id": run_id, "shard": shard,
                "loan_months": loan_months, "seconds": seconds
            }),
            E::ShardFailed {
                message_id,
                error,
                retryable,
            } => serde_json::json!({
                "level": "ERROR", "message": "shard failed", "message_id": message_id,
                "error": error, "retryable": retryable
            }),
            E::Reduced { run_id } => {
                serde_json::json!({"message": "run reduced", "run_id": run_id})
            }
            E::Reissued { run_id, shards } => serde_json::json!({
                "message": "stragglers re-issued", "run_id": run_id, "shards": shards
            }),
            E::ReduceFailed { run_id, error } => serde_json::json!({
                "level": "ERROR", "message": "reduce failed", "run_id": run_id, "error": error
            }),
        };
        v.serialize(s)
    }
}

/// The store location and queue URL from `--bucket`/`--store` and `--queue`, or from a
/// stack's outputs.
fn deployment(
    args: &orchestrator::cli::StoreArgs,
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

fn plan_capacity(args: &orchestrator::cli::PlanArgs, aws: &LazyAws) -> Result<()> {
    use orchestrator::capacity::{Calibration, Limits, Workload, parse_duration_seconds, plan_run};
    use worker::cost::Arch;
    // Without sizes, plan the bundled sample, as `mcflow run` runs it.
    let (portfolio, config) = match args.loans {
        None => (
            Some(
                args.portfolio
                    .clone()
                    .unwrap_or_else(|| "data/sample_portfolio.parquet".into()),
            ),
            Some(
                args.config
                    .clone()
                    .unwrap_or_else(|| "data/run.toml".into()),
            ),
        ),
        Some(_) => (None, None),
    };
    let workload = match (&portfolio, &config, args.loans, args.scenarios) {
        (Some(p), Some(c), _, _) => {
            let config = load_config(c)?;
            let source = PortfolioSource::open(p, || aws.get())?;
            let portfolio = worker::portfolio_file::load_portfolio_from(&source)?;
            let shape = orchestrator::plan::RunShape::of(
                &config,
                &portfolio,
                chrono::Utc::now().date_naive(),
            )?;
            let (horizon, scenarios) = (shape.horizon_months, shape.scenarios);
            let months = portfolio.remaining_terms_up_to(0..portfolio.len(), horizon);
            Workload {
                loans: portfolio.len() as u64,
                scenarios,
                loan_months: months as f64 * f64::from(scenarios),
                horizon_months: horizon,
            }
        }
        (None, None, Some(loans), Some(scenarios)) => {
            anyhow::ensure!(
                loans > 0 && scenarios > 0,
                "--loans and --scenarios must be positive"
            );
            Workload {
                loans,
                scenarios,
                loan_months: loans as f64 * f64::from(scenarios) * f64::from(args.months),
                horizon_months: args.months,
            }
        }
        _ => anyhow::bail!("give --portfolio and --config, or --loans and --scenarios"),
    };
    let calibration = match &args.calibration {
        Some(path) => serde_json::from_slice::<Calibration>(
            &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a calibration file", path.display()))?,
        None => Calibration::default(),
    };
    let calibration_name = args
        .calibration
        .as_ref()
        .map_or("the default calibration".to_string(), |p| {
            p.display().to_string()
        });
    anyhow::ensure!(
        calibration.loan_months_per_vcpu_second > 0.0
            && calibration.loan_months_per_vcpu_second.is_finite(),
        "{calibration_name}: loan_months_per_vcpu_second must be a positive number"
    );
    anyhow::ensure!(
        calibration.overhead_seconds_per_shard >= 0.0
            && calibration.base_memory_mb >= 0.0
            && calibration.bytes_per_scenario_month >= 0.0,
        "{calibration_name}: overhead_seconds_per_shard, base_memory_mb and bytes_per_scenario_month must not be negative"
    );
    let arch = match args.arch {
        orchestrator::cli::ArchArg::X86_64 => Arch::X86_64,
        orchestrator::cli::ArchArg::Arm64 => Arch::Arm64,
    };
    let limits = Limits {
        deadline_seconds: args
            .deadline
            .as_deref()
            .map(parse_duration_seconds)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--deadline: {e}"))?,
        budget_usd: args.budget_usd,
        concurrency: args.concurrency.max(1),
        arch,
    };
    let (points, best) = plan_run(&workload, &calibration, &limits);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "workload": {"loans": workload.loans, "scenarios": workload.scenarios, "loan_months": workload.loan_months},
                "calibration": calibration,
                "prices_read_on": worker::cost::PRICES_READ_ON,
                "points": points,
                "recommended": best.map(|i| &points[i]),
            }))?
        );
    } else {
        println!(
            "{} loans x {} scenarios = {:.3e} loan-months; concurrency {}; calibration: {}",
            workload.loans,
            workload.scenarios,
            workload.loan_months,
            limits.concurrency,
            calibration.source
        );
        println!("prices: us-east-1, read {}", worker::cost::PRICES_READ_ON);
        println!(
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
        );
        for (i, p) in points.iter().enumerate() {
            println!(
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
            );
        }
    }
    let Some(best) = best else {
        anyhow::bail!(
            "no memory size meets the deadline, the budget and the shard's memory at concurrency {}; raise one of them",
            limits.concurrency
        );
    };
    let p = &points[best];
    if !args.json {
        let b = p.bill(arch);
        println!(
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
        );
    }
    Ok(())
}

/// The environment an invoked function gets besides Lambda's own variables.
fn function_env(endpoint_url: &Option<String>) -> Vec<(String, String)> {
    endpoint_url
        .iter()
        .map(|u| ("AWS_ENDPOINT_URL".to_string(), u.clone()))
        .collect()
}

fn timeout_arg(flag: &str, text: &str) -> Result<std::time::Duration> {
    let seconds = orchestrator::capacity::parse_duration_seconds(text)
        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    anyhow::ensure!(
        seconds <= 900.0,
        "{flag}: {text} is longer than Lambda's 900 s limit"
    );
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Reads an event file and checks it is JSON, naming the file when not.
fn read_event(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read event file {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("event file {} is not a JSON document", path.display()))
}

fn invoke_worker(args: &InvokeArgs, endpoint_url: &Option<String>) -> Result<()> {
    use orchestrator::sandbox::{InvokeRequest, Limits, invoke, new_request_id};
    read_event(&args.event)?;
    let request = InvokeRequest {
        exe: std::env::current_exe().context("cannot find the mcflow executable")?,
        event: args.event.clone(),
        limits: Limits {
            memory_mb: args.memory,
            timeout: timeout_arg("--timeout", &args.timeout)?,
            cpu: args.cpu_limit,
        },
        env: function_env(endpoint_url),
        request_id: new_request_id(),
    };
    // Logs and the START/END/REPORT lines go to stderr, the response to stdout, as
    // `sam local invoke` does.
    eprintln!("START RequestId: {} Version: $LATEST", request.request_id);
    let inv = invoke(&request, &mut |line| eprintln!("{line}"))?;
    if let Some(doc) = inv.error_document() {
        // Lambda's own log line: timestamp, request id, what happened.
        let message = doc["errorMessage"].as_str().unwrap_or_default();
        let prefix = format!("RequestId: {} Error: ", inv.request_id);
        eprintln!(
            "{} {} {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            inv.request_id,
            message.strip_prefix(&prefix).unwrap_or(message)
        );
    }
    eprintln!("END RequestId: {}", inv.request_id);
    eprintln!("{}", inv.report_line());
    eprintln!(
        "cpu limit: {} ({:.3} vCPU, {} thread(s)){}",
        inv.cpu_limit.name(),
        inv.vcpu,
        inv.threads,
        inv.cpu_limit_note
            .as_deref()
            .map(|n| format!("; model because {n}; measured {:.2} ms", inv.measured_ms))
            .unwrap_or_default()
    );
    match (&inv.outcome, inv.error_document()) {
        (orchestrator::sandbox::Outcome::Success(response), _) => {
            println!("{}", serde_json::to_string_pretty(response)?);
            Ok(())
        }
        (_, Some(doc)) => {
            println!("{}", serde_json::to_string_pretty(&doc)?);
            anyhow::bail!(
                "invocation failed: {}: {}",
                doc["errorType"].as_str().unwrap_or_default(),
                doc["errorMessage"].as_str().unwrap_or_default()
            )
        }
        (_, None) => unreachable!("a failed outcome has an error document"),
    }
}

/// The child side of `invoke`: set up like the worker bootstrap, then run the handler
/// once under the parent's watch.
fn invoke_child(
    args: &InvokeChildArgs,
    aws: LazyAws,
    init_started: std::time::Instant,
) -> Result<()> {
    use worker::lambda_worker::{current_environment, handle_event};
    use worker::runner::{ShardRunner, function_memory_mb, threads_for_memory};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads_for_memory(function_memory_mb()))
        .build()?;
    let runner = ShardRunner::new(std::sync::Arc::new(aws));
    let event = read_event(&args.event)?;
    orchestrator::sandbox::child_main(&args.result, init_started, || {
        handle_event(&runner, &pool, event, &current_environment, &mut |line| {
            println!("{line}")
        })
        .map_err(|e| orchestrator::sandbox::ChildError {
            error_type: std::any::type_name::<worker::runner::RunnerError>().to_string(),
            message: e.to_string(),
        })
    })
    .context("the invocation's result could not be written")
}

fn sweep(args: &SweepArgs, aws: &LazyAws, endpoint_url: &Option<String>) -> Result<()> {
    use orchestrator::sandbox::{InvokeRequest, Limits, Outcome, invoke, new_request_id};
    use orchestrator::sweep::{
        DEFAULT_MEMORY_SIZES_MB, ShardShape, SweepReport, calibrate, chart, recommend, run_sweep,
        table, to_csv,
    };
    let sizes: Vec<u32> = if args.memory.is_empty() {
        DEFAULT_MEMORY_SIZES_MB.to_vec()
    } else {
        args.memory.clone()
    };
    for &m in &sizes {
        anyhow::ensure!(
            (1..=orchestrator::sandbox::MAX_MEMORY_MB).contains(&m),
            "--memory: {m} MB is outside 1..=10240"
        );
    }
    anyhow::ensure!(args.repeats >= 1, "--repeats must be at least 1");
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.cost_weight),
        "--cost-weight must be between 0 and 1"
    );
    anyhow::ensure!(
        args.loans_per_shard >= 1,
        "--loans-per-shard must be at least 1"
    );
    let timeout = timeout_arg("--timeout", &args.timeout)?;
    // The sweep's own run lives in OUT/store, replaced each time: only its manifest and
    // one shard's partials.
    let out = &args.out;
    let store_dir = out.join("store");
    if store_dir.exists() {
        std::fs::remove_dir_all(&store_dir)
            .with_context(|| format!("cannot clear {}", store_dir.display()))?;
    }
    std::fs::create_dir_all(&store_dir)
        .with_context(|| format!("cannot create {}", store_dir.display()))?;
    let store_dir = store_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", store_dir.display()))?;
    let store = Store::local(&store_dir);
    let (config, _) = ConfigText::capture(&args.config)
        .with_context(|| format!("invalid run configuration {}", args.config.display()))?;
    let portfolio = match worker::store::is_s3(&args.portfolio) {
        true => args.portfolio.clone(),
        false => Path::new(&args.portfolio)
            .canonicalize()
            .with_context(|| format!("cannot open portfolio {}", args.portfolio))?
            .display()
            .to_string(),
    };
    let source = PortfolioSource::open(&portfolio, || aws.get())?;
    let now = chrono::Utc::now();
    let prepared = orchestrator::cloud::prepare(
        &orchestrator::cloud::Submission {
            config,
            portfolio: &portfolio,
            store: &store,
            sizing: Sizing::PerShard {
                loans: Some(args.loans_per_shard),
                scenarios: args.scenarios_per_shard,
            },
            default_run_date: now.date_naive(),
            submitted_at: now,
            dispatch: Default::default(),
        },
        &source,
    )?;
    let task = prepared.tasks[0].clone();
    let event_path = out.join("event.json");
    let message = worker::manifest::ShardMessage {
        store: store.root(),
        task: task.clone(),
    };
    std::fs::write(&event_path, serde_json::to_vec_pretty(&message)?)
        .with_context(|| format!("cannot write {}", event_path.display()))?;
    let mut shard = ShardShape {
        loans: task.loan_end - task.loan_start,
        scenarios: task.scenario_end - task.scenario_start,
        horizon_months: task.horizon_months,
        loan_months: 0,
    };
    eprintln!(
        "sweeping {} memory sizes x {} repeat(s) on shard 0 of run {}: {} loans x {} scenarios (event: {})",
        sizes.len(),
        args.repeats,
        task.run_id,
        shard.loans,
        shard.scenarios,
        event_path.display()
    );
    let exe = std::env::current_exe().context("cannot find the mcflow executable")?;
    let shard_dir = worker::shard::shard_prefix(&task.run_id, task.shard);
    let mut loan_months = 0u64;
    let points = run_sweep(
        &sizes,
        args.repeats,
        &shard,
        |memory_mb| {
            // Each invocation does the whole shard: nothing left from the last one.
            let _ = store.delete_folder(&shard_dir);
            let inv = invoke(
                &InvokeRequest {
                    exe: exe.clone(),
                    event: event_path.clone(),
                    limits: Limits {
                        memory_mb,
                        timeout,
                        cpu: args.cpu_limit,
                    },
                    env: function_env(endpoint_url),
                    request_id: new_request_id(),
                },
                &mut |_| {},
            )?;
            if let Outcome::Success(response) = &inv.outcome {
                loan_months = response["loan_months"].as_u64().unwrap_or(loan_months);
            }
            Ok(inv)
        },
        &mut |inv| {
            let status = match &inv.outcome {
                Outcome::Success(_) => "ok".to_string(),
                Outcome::OutOfMemory => "OUT OF MEMORY".to_string(),
                Outcome::TimedOut => "TIMED OUT".to_string(),
                Outcome::HandlerError { message, .. } => format!("ERROR {message}"),
                Outcome::Crashed(why) => format!("CRASHED {why}"),
            };
            eprintln!(
                "  {:>5} MB: {:>10.1} ms, peak {:>6.1} MB, cpu limit {}: {status}",
                inv.memory_mb,
                inv.duration_ms,
                inv.peak_rss_mb,
                inv.cpu_limit.name()
            );
        },
    )?;
    shard.loan_months = loan_months;
    let report = SweepReport {
        shard,
        repeats: args.repeats,
        timeout_seconds: timeout.as_secs_f64(),
        host_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        prices_read_on: worker::cost::PRICES_READ_ON.into(),
        recommendations: recommend(&points, args.cost_weight),
        calibration: calibrate(&points, &shard),
        points,
    };
    let write = |name: &str, bytes: Vec<u8>| -> Result<()> {
        let path = out.join(name);
        worker::atomic::write_bytes_atomically(&path, &bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    };
    write("sweep.json", serde_json::to_vec_pretty(&report)?)?;
    write("sweep.csv", to_csv(&report.points)?.into_bytes())?;
    write("sweep.svg", chart(&report)?.into_bytes())?;
    if let Some(c) = &report.calibration {
        write("calibration.json", serde_json::to_vec_pretty(c)?)?;
    }
    print!("{}", table(&report));
    eprintln!(
        "wrote {}/sweep.json, sweep.csv, sweep.svg{}",
        out.display(),
        if report.calibration.is_some() {
            ", calibration.json (for mcflow plan --calibration)"
        } else {
            ""
        }
    );
    anyhow::ensure!(
        report.recommendations.cheapest.is_some(),
        "no memory size succeeded; see the table above"
    );
    Ok(())
}
