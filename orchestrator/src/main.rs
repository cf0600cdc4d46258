//! The `mcflow` binary: parses arguments and wires the libraries together.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use orchestrator::cli::{BenchArgs, Cli, Command, InputArgs, RunArgs, SampleArgs, ScenariosArgs};
use orchestrator::plan::Sizing;
use worker::config::RunConfig;
use worker::job::JobRequest;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Validate(args) => validate(&args),
        Command::Bench(args) => bench(&args),
        Command::Sample(args) => sample(&args),
        Command::Scenarios(args) => scenarios(&args),
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

fn run(args: &RunArgs) -> Result<()> {
    let config = load_config(&args.inputs.config)?;
    let threads = threads(args.threads)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("building the thread pool")?;
    let today = chrono::Utc::now().date_naive();
    let request = JobRequest {
        portfolio_path: &args.inputs.portfolio,
        config: &config,
        out_dir: &args.out,
        default_run_date: today,
    };
    let sizing = match (args.shards, args.loans_per_shard, args.scenarios_per_shard) {
        (Some(n), _, _) => Sizing::Count(n),
        (None, None, None) => Sizing::Count(threads as u32),
        (None, loans, scenarios) => Sizing::PerShard { loans, scenarios },
    };
    let result = pool
        .install(|| {
            orchestrator::local::run_sharded(
                request.portfolio_path,
                request.config,
                request.out_dir,
                request.default_run_date,
                sizing,
            )
        })
        .with_context(|| format!("run {} failed", config.run_id))?;
    println!("mcflow run {} on {threads} thread(s)", config.run_id);
    print!("{}", orchestrator::summary::render(&result.report));
    println!("  {:<19}  {}", "report", result.report_path.display());
    Ok(())
}

fn validate(args: &InputArgs) -> Result<()> {
    let config = load_config(&args.config)?;
    let portfolio = worker::job::check_inputs(&args.portfolio)?;
    println!(
        "ok: {} loans in {}, run {} ({})",
        portfolio.len(),
        args.portfolio.display(),
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
