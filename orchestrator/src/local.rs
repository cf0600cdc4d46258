//! The embedded executor: plan -> shards -> reduce in one process, the same pipeline the
//! cloud runs with SQS and S3. Shards run on the caller's rayon pool and write their
//! partial results under `_partials/`; the reducer merges them exactly and writes the
//! final tables and `report.json` through the same code as any other run.

use std::time::Instant;

use anyhow::{Context, Result, ensure};
use chrono::NaiveDate;
use engine::CashflowTable;
use engine::risk::LoanSums;
use rayon::prelude::*;
use worker::config::RunConfig;
use worker::job::{JobResult, Projected, RunFacts, finalize};
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};
use worker::report::{InputFingerprint, RunReport, ShardCounts};
use worker::shard::{ShardPartial, ShardTask, partials_prefix, read_partial, run_shard};
use worker::store::Store;

use crate::plan::{RunShape, Sizing, plan};

/// Events for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Planned { shards: u32, loan_months: u64 },
    ShardDone { loan_months: u64 },
    Reducing,
}

/// What a local run needs.
#[derive(Debug, Clone)]
pub struct LocalRun<'a> {
    pub portfolio: &'a PortfolioSource,
    pub config: &'a RunConfig,
    /// Where partial and final results go: a local directory or `s3://`.
    pub store: &'a Store,
    /// Business date when the config has no `as_of`.
    pub default_run_date: NaiveDate,
    pub sizing: Sizing,
    pub inputs: InputFingerprint,
    /// Replace an earlier run of the same id whose inputs differ.
    pub overwrite: bool,
}

/// Runs a whole job through shards on the current rayon pool.
pub fn run_sharded(run: LocalRun<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<JobResult> {
    let LocalRun {
        portfolio: source,
        config,
        store,
        default_run_date,
        sizing,
        inputs,
        overwrite,
    } = run;
    let started = Instant::now();
    // Validate everything once, up front: a bad row fails the run before any shard.
    let portfolio = load_portfolio_from(source)?;
    let earlier = check_existing_run(store, config.run_id.as_str(), &inputs, overwrite)?;
    let shape = RunShape::of(config, &portfolio, default_run_date)?;
    let (horizon, run_date) = (
        shape.horizon_months,
        config.as_of.unwrap_or(default_run_date),
    );
    let tasks = plan(&shape, sizing)?;
    // Stale partials of an earlier attempt must not be mistaken for this run's.
    let partials = partials_prefix(config.run_id.as_str());
    store
        .delete_folder(&partials)
        .context("cannot clear old partial results")?;
    let planned_loan_months: u64 = tasks
        .iter()
        .map(|t| {
            let loans = portfolio.remaining_terms_up_to(t.loans(), horizon);
            loans * u64::from(t.scenario_end - t.scenario_start)
        })
        .sum();
    progress(Progress::Planned {
        shards: tasks.len() as u32,
        loan_months: planned_loan_months,
    });
    let shard_seconds = tasks
        .par_iter()
        .map(|task| {
            let marker = run_shard(task, source, config, store)
                .with_context(|| format!("shard {} failed", task.shard))?;
            progress(Progress::ShardDone {
                loan_months: marker.loan_months,
            });
            Ok(marker.seconds)
        })
        .collect::<Result<Vec<f64>>>()?;
    progress(Progress::Reducing);
    let reduce_started = Instant::now();
    let projected = reduce(&tasks, store, config.model.advancing(), portfolio.len())?;
    let reduce_seconds = reduce_started.elapsed().as_secs_f64();
    let facts = RunFacts {
        portfolio_location: source.location(),
        portfolio: &portfolio,
        config,
        store,
        run_date,
        horizon_months: horizon,
        shards: ShardCounts {
            planned: tasks.len() as u32,
            completed: tasks.len() as u32,
        },
        shard_seconds,
        reduce_seconds,
        wall_seconds: started.elapsed().as_secs_f64(),
        inputs,
    };
    let result = finalize(&facts, projected)?;
    store
        .delete_folder(&partials)
        .context("cannot remove partial results")?;
    if let Some(earlier) = earlier {
        remove_stale_outputs(store, &earlier, &result.report)?;
    }
    Ok(result)
}

/// Partials merged per group before the groups are merged: the reduce is a tree, so
/// groups run in parallel and memory stays bounded however many shards a run has.
pub const REDUCE_FAN_IN: usize = 16;

/// Merges every shard's partial results exactly: tables of the same scenario add up,
/// per-loan sums of the same loan add up. Groups of [`REDUCE_FAN_IN`] shards are reduced
/// in parallel, then the groups are merged; integer sums make the grouping invisible.
/// Fails if a shard has no completion marker.
pub fn reduce(
    tasks: &[ShardTask],
    store: &Store,
    advancing: bool,
    loans: usize,
) -> Result<Projected> {
    ensure!(!tasks.is_empty(), "no shards to reduce");
    let scenarios = tasks.iter().map(|t| t.scenario_end).max().unwrap_or(0) as usize;
    let shape = (scenarios, tasks[0].horizon_months, advancing, loans);
    tasks
        .par_chunks(REDUCE_FAN_IN)
        .map(|group| reduce_group(group, store, shape))
        .try_reduce_with(|a, b| Ok(merge(a, b)))
        .expect("at least one group")
}

/// (scenarios, horizon, advancing, loans) of the run.
type RunDims = (usize, u32, bool, usize);

fn empty(dims: RunDims) -> Projected {
    let (scenarios, horizon, advancing, _) = dims;
    Projected {
        tables: (0..scenarios)
            .map(|_| CashflowTable::new(horizon, advancing))
            .collect(),
        loan_sums: None,
        loan_months: 0,
    }
}

fn merge(mut a: Projected, b: Projected) -> Projected {
    for (x, y) in a.tables.iter_mut().zip(&b.tables) {
        x.merge(y);
    }
    a.loan_sums = match (a.loan_sums, b.loan_sums) {
        (Some(mut x), Some(y)) => {
            for (p, q) in x.iter_mut().zip(&y) {
                p.merge(q);
            }
            Some(x)
        }
        (x, y) => x.or(y),
    };
    a.loan_months += b.loan_months;
    a
}

fn reduce_group(tasks: &[ShardTask], store: &Store, dims: RunDims) -> Result<Projected> {
    let (_, _, advancing, loans) = dims;
    let mut acc = empty(dims);
    for task in tasks {
        let ShardPartial {
            marker,
            tables: partial_tables,
            loan_sums: partial_sums,
        } = read_partial(store, &task.run_id, task.shard, advancing)
            .with_context(|| format!("shard {} is not complete", task.shard))?;
        ensure!(
            &marker.task == task,
            "shard {} marker belongs to another task",
            task.shard
        );
        for (k, t) in partial_tables.iter().enumerate() {
            acc.tables[task.scenario_start as usize + k].merge(t);
        }
        if let Some(sums) = partial_sums {
            let all = acc
                .loan_sums
                .get_or_insert_with(|| vec![LoanSums::default(); loans]);
            for (a, s) in all[task.loans()].iter_mut().zip(&sums) {
                a.merge(s);
            }
        }
        acc.loan_months += marker.loan_months;
    }
    Ok(acc)
}

/// Guards an existing run of the same id in the same output directory. A rerun with the
/// same inputs is allowed (it rewrites the same bytes); different inputs are refused
/// unless `overwrite`. Returns the earlier report, whose outputs the caller removes once
/// the new run has succeeded.
pub fn check_existing_run(
    store: &Store,
    run_id: &str,
    inputs: &InputFingerprint,
    overwrite: bool,
) -> Result<Option<RunReport>> {
    let earlier = RunReport::get(store, run_id);
    match earlier {
        Ok(None) => Ok(None),
        Ok(Some(r)) if r.inputs == *inputs || overwrite => Ok(Some(r)),
        Ok(Some(r)) => anyhow::bail!(
            "run {run_id} already exists in {} with different inputs (portfolio sha256 {}, config sha256 {}; now {} and {}); choose another run_id or pass --overwrite",
            store.root(),
            r.inputs.portfolio_sha256,
            r.inputs.config_sha256,
            inputs.portfolio_sha256,
            inputs.config_sha256
        ),
        Err(_) if overwrite => Ok(None),
        Err(e) => Err(anyhow::anyhow!(e)).context(format!(
            "run {run_id} already exists in {} but its report cannot be read; pass --overwrite to replace it",
            store.root()
        )),
    }
}

/// After a successful rerun, deletes the earlier run's output files that the new run did
/// not rewrite (for example a partition of an older `as_of` date).
pub fn remove_stale_outputs(store: &Store, earlier: &RunReport, current: &RunReport) -> Result<()> {
    for old in &earlier.outputs {
        if !current.outputs.contains(old) {
            store.delete(old).context("cannot remove a stale output")?;
        }
    }
    Ok(())
}
