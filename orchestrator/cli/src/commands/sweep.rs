//! `mcflow sweep`: the worker measured at each memory size on one real shard.

use std::path::Path;

use anyhow::{Context, Result};
use mcflow::render::sweep::{chart, table};
use mcflow::sandbox::{InvokeRequest, Limits, Outcome, invoke, new_request_id};
use mcflow::sweep::{
    DEFAULT_MEMORY_SIZES_MB, ShardShape, SweepReport, calibrate, recommend, run_sweep, to_csv,
};
use orchestrator::cloud::Submission;
use orchestrator::run::plan::Sizing;
use worker::aws::LazyAws;
use worker::lambda_facts::{MAX_MEMORY_MB, PRICES_READ_ON};
use worker::manifest::ShardMessage;
use worker::portfolio_file::PortfolioSource;
use worker::store::Store;

use super::invoke::function_env;
use crate::cli::SweepArgs;

pub(crate) fn sweep(args: &SweepArgs, aws: &LazyAws, endpoint_url: Option<&str>) -> Result<()> {
    mcflow::sandbox::clean_up_on_interrupt().context("cannot install the interrupt handler")?;
    let sizes: Vec<u32> = if args.memory.is_empty() {
        DEFAULT_MEMORY_SIZES_MB.to_vec()
    } else {
        args.memory.clone()
    };
    for &m in &sizes {
        anyhow::ensure!(
            (1..=MAX_MEMORY_MB).contains(&m),
            "--memory: {m} MB is outside 1..={MAX_MEMORY_MB}"
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
    let timeout = args.timeout;
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
    let config = super::load_config(&args.config, &args.set.set)?.text;
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
        &Submission {
            config,
            portfolio: &portfolio,
            store: &store,
            sizing: Sizing::PerShard {
                loans: Some(args.loans_per_shard),
                scenarios: args.scenarios_per_shard,
            },
            as_of: None,
            run_id: None,
            default_run_date: now.date_naive(),
            submitted_at: now,
            dispatch: Default::default(),
        },
        &source,
    )?;
    let task = prepared.tasks[0].clone();
    let event_path = out.join("event.json");
    let message = ShardMessage {
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
    let shard_dir = worker::layout::shard_prefix(&task.run_id, task.shard);
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
                        cpu: args.cpu_limit.into(),
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
        prices_read_on: PRICES_READ_ON.into(),
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
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", table(&report));
    }
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
