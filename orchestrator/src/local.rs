//! The embedded executor: plan -> shards -> reduce in one process, the same pipeline the
//! cloud runs with SQS and S3. Shards run on the caller's rayon pool and write their
//! partial results under `_partials/`; the reducer merges them exactly and writes the
//! final tables and `report.json` through the same code as any other run.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use chrono::NaiveDate;
use engine::CashflowTable;
use engine::risk::LoanSums;
use rayon::prelude::*;
use worker::config::{Model, RunConfig};
use worker::job::{JobResult, Projected, RunFacts, finalize, first_payment_month, horizon_of};
use worker::portfolio_file::load_portfolio;
use worker::report::ShardCounts;
use worker::shard::{ShardPartial, ShardTask, partials_dir, read_partial, run_shard, shard_dir};

use crate::plan::{RunShape, Sizing, plan};

/// Runs a whole job through shards on the current rayon pool.
pub fn run_sharded(
    portfolio_path: &Path,
    config: &RunConfig,
    out_dir: &Path,
    default_run_date: NaiveDate,
    sizing: Sizing,
) -> Result<JobResult> {
    let started = Instant::now();
    // Validate everything once, up front: a bad row fails the run before any shard.
    let portfolio = load_portfolio(portfolio_path)?;
    let horizon = horizon_of(config, &portfolio);
    let run_date = config.as_of.unwrap_or(default_run_date);
    let (scenarios, antithetic) = match &config.model {
        Model::Deterministic(_) => (1, false),
        Model::Stochastic(spec) => {
            let model = spec.model(horizon, first_payment_month(run_date))?;
            (model.scenarios().count(), spec.antithetic)
        }
    };
    let shape = RunShape {
        run_id: config.run_id.to_string(),
        run_date: run_date.format("%Y-%m-%d").to_string(),
        horizon_months: horizon,
        loans: portfolio.len() as u64,
        scenarios,
        antithetic,
    };
    let tasks = plan(&shape, sizing)?;
    // Stale partials of an earlier attempt must not be mistaken for this run's.
    let partials = partials_dir(out_dir, config.run_id.as_str());
    if partials.exists() {
        std::fs::remove_dir_all(&partials)
            .with_context(|| format!("cannot clear old partial results {}", partials.display()))?;
    }
    tasks
        .par_iter()
        .map(|task| {
            run_shard(task, portfolio_path, config, out_dir)
                .map(|_| ())
                .with_context(|| format!("shard {} failed", task.shard))
        })
        .collect::<Result<Vec<()>>>()?;
    let projected = reduce(&tasks, out_dir, config.model.advancing(), portfolio.len())?;
    let facts = RunFacts {
        portfolio_path,
        portfolio: &portfolio,
        config,
        out_dir,
        run_date,
        horizon_months: horizon,
        shards: ShardCounts {
            planned: tasks.len() as u32,
            completed: tasks.len() as u32,
        },
        wall_seconds: started.elapsed().as_secs_f64(),
    };
    let result = finalize(&facts, projected)?;
    std::fs::remove_dir_all(&partials)
        .with_context(|| format!("cannot remove partial results {}", partials.display()))?;
    Ok(result)
}

/// Merges every shard's partial results exactly: tables of the same scenario add up,
/// per-loan sums of the same loan add up. Fails if a shard has no completion marker.
pub fn reduce(
    tasks: &[ShardTask],
    out_dir: &Path,
    advancing: bool,
    loans: usize,
) -> Result<Projected> {
    ensure!(!tasks.is_empty(), "no shards to reduce");
    let scenarios = tasks.iter().map(|t| t.scenario_end).max().unwrap_or(0) as usize;
    let horizon = tasks[0].horizon_months;
    let mut tables: Vec<CashflowTable> = (0..scenarios)
        .map(|_| CashflowTable::new(horizon, advancing))
        .collect();
    let mut loan_sums: Option<Vec<LoanSums>> = None;
    let mut loan_months = 0;
    for task in tasks {
        let dir = shard_dir(out_dir, &task.run_id, task.shard);
        let ShardPartial {
            marker,
            tables: partial_tables,
            loan_sums: partial_sums,
        } = read_partial(&dir, advancing)
            .with_context(|| format!("shard {} is not complete", task.shard))?;
        ensure!(
            &marker.task == task,
            "shard {} marker belongs to another task",
            task.shard
        );
        for (k, t) in partial_tables.iter().enumerate() {
            tables[task.scenario_start as usize + k].merge(t);
        }
        if let Some(sums) = partial_sums {
            let all = loan_sums.get_or_insert_with(|| vec![LoanSums::default(); loans]);
            for (acc, s) in all[task.loans()].iter_mut().zip(&sums) {
                acc.merge(s);
            }
        }
        loan_months += marker.loan_months;
    }
    Ok(Projected {
        tables,
        loan_sums,
        loan_months,
    })
}
