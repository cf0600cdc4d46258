//! The embedded executor: plan -> shards -> reduce in one process, the same pipeline the
//! cloud runs with SQS and S3. Shards run on the caller's rayon pool and write their
//! partial results under `_partials/`; the reducer merges them exactly and writes the
//! final tables and `report.json` through the same code as any other run.

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rayon::prelude::*;
use worker::config::RunConfig;
use worker::layout::partials_prefix;
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};
use worker::report::{InputFingerprint, RunReport, ShardCounts};
use worker::shard::run_shard;
use worker::store::Store;

use super::finalize::{RunFacts, RunOutputs, finalize};
use super::plan::{RunShape, Sizing, plan};
use super::reduce::reduce;

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

/// Runs a whole run through shards on the current rayon pool: plan, shards, reduce,
/// finalize.
pub fn run_sharded(run: LocalRun<'_>, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunOutputs> {
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
    progress(Progress::Planned {
        shards: tasks.len() as u32,
        loan_months: shape.planned_loan_months,
    });
    let shard_seconds = tasks
        .par_iter()
        .map(|task| {
            let marker = run_shard(task, source, config, store, None)
                .with_context(|| format!("shard {} failed", task.shard))?;
            progress(Progress::ShardDone {
                loan_months: marker.loan_months,
            });
            Ok(marker.seconds)
        })
        .collect::<Result<Vec<f64>>>()?;
    progress(Progress::Reducing);
    let reduce_started = Instant::now();
    let (projected, _) = reduce(&tasks, store, config.model.advancing(), portfolio.len())?;
    let reduce_seconds = reduce_started.elapsed().as_secs_f64();
    let facts = RunFacts {
        portfolio_location: source.location(),
        portfolio: &portfolio,
        config,
        store,
        run_date,
        horizon_months: horizon,
        table_months: shape.table_months,
        shards: ShardCounts {
            planned: tasks.len() as u32,
            completed: tasks.len() as u32,
        },
        shard_seconds,
        reduce_seconds,
        deployed: None,
        worker_init_ms: 0.0,
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

/// Why an earlier run of the same id blocks this one; [`LocalRun::overwrite`] lets the
/// new run replace it (the CLI says which flag sets it).
#[derive(Debug, thiserror::Error)]
pub enum ExistingRunError {
    #[error(
        "run {run_id} already exists in {root} with different inputs (portfolio sha256 {old_portfolio}, config sha256 {old_config}; now {new_portfolio} and {new_config})"
    )]
    DifferentInputs {
        run_id: String,
        root: String,
        old_portfolio: String,
        old_config: String,
        new_portfolio: String,
        new_config: String,
    },
    #[error("run {run_id} already exists in {root} but its report cannot be read ({reason})")]
    Unreadable {
        run_id: String,
        root: String,
        reason: String,
    },
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
        Ok(Some(r)) => Err(ExistingRunError::DifferentInputs {
            run_id: run_id.to_string(),
            root: store.root(),
            old_portfolio: r.inputs.portfolio_sha256,
            old_config: r.inputs.config_sha256,
            new_portfolio: inputs.portfolio_sha256.clone(),
            new_config: inputs.config_sha256.clone(),
        }
        .into()),
        Err(_) if overwrite => Ok(None),
        Err(e) => Err(ExistingRunError::Unreadable {
            run_id: run_id.to_string(),
            root: store.root(),
            reason: e.to_string(),
        }
        .into()),
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
