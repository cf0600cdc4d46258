//! The embedded executor: plan -> shards -> reduce in one process, the same pipeline the
//! cloud runs with SQS and S3. Shards run on the caller's rayon pool and write their
//! partial results under `_partials/`; the reducer merges them exactly and writes the
//! final tables and `report.json` through the same code as any other run.

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rayon::prelude::*;
use worker::config::RunConfig;
use worker::layout::{partials_plan_key, partials_prefix, run_prefix};
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};
use worker::report::{InputFingerprint, RunReport, ShardCounts};
use worker::shard::{ShardMarker, ShardTask, read_marker, run_shard};
use worker::store::Store;

use super::finalize::{RunFacts, RunOutputs, finalize};
use super::plan::{RunShape, Sizing, plan};
use super::reduce::reduce;

/// Events for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Planned {
        shards: u32,
        loan_months: u64,
    },
    /// Shards an interrupted attempt with the same inputs completed, kept, not rerun.
    Resumed {
        shards: u32,
    },
    ShardDone {
        loan_months: u64,
    },
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
    /// Recompute every shard, even those an interrupted attempt with the same inputs
    /// completed.
    pub fresh: bool,
}

/// Which inputs and shard plan the partial results under `_partials/` belong to, written
/// before any shard runs: a later attempt keeps the completed shards only when all of it
/// matches (same build, same portfolio and config checksums, same shards).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct PartialsPlan {
    build: String,
    inputs: InputFingerprint,
    tasks: Vec<ShardTask>,
}

/// The running binary: its version, size and modification time. The version alone would
/// let a rebuilt binary with a changed model reuse an older build's shards.
fn build_identity() -> String {
    let binary = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} bytes, modified {modified}", m.len())
        })
        .unwrap_or_default();
    format!("mcflow {} ({binary})", env!("CARGO_PKG_VERSION"))
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
        fresh,
    } = run;
    let started = Instant::now();
    // Validate everything once, up front: a bad row fails the run before any shard.
    let portfolio = load_portfolio_from(source)?;
    let run_date = config.as_of.unwrap_or(default_run_date);
    let earlier = check_existing_run(
        store,
        config.run_id.as_str(),
        &inputs,
        &run_date.format("%Y-%m-%d").to_string(),
        overwrite,
    )?;
    let shape = RunShape::of(config, &portfolio, default_run_date)?;
    let horizon = shape.horizon_months;
    let tasks = plan(&shape, sizing)?;
    let partials = partials_prefix(config.run_id.as_str());
    let kept = kept_shards(store, config.run_id.as_str(), &inputs, &tasks, fresh)?;
    // An interrupted attempt's half-written files; readers never list them.
    for folder in [partials.as_str(), &run_prefix(config.run_id.as_str())] {
        store
            .remove_temporaries(folder)
            .context("cannot remove the temporary files of an interrupted run")?;
    }
    progress(Progress::Planned {
        shards: tasks.len() as u32,
        loan_months: shape.planned_loan_months,
    });
    let resumed = kept.iter().flatten().count() as u32;
    if resumed > 0 {
        progress(Progress::Resumed { shards: resumed });
    }
    let shard_seconds = tasks
        .par_iter()
        .zip(kept)
        .map(|(task, kept)| {
            let marker = match kept {
                Some(marker) => marker,
                None => run_shard(task, source, config, store, None)
                    .with_context(|| format!("shard {} failed", task.shard))?,
            };
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

/// The markers of shards an interrupted attempt completed, task by task (`None`: run it),
/// when its partials belong to the same build, inputs and shard plan and `fresh` is not
/// set. Otherwise the partials are cleared, so that stale results are never mistaken for
/// this run's, and this attempt's plan is written before any shard runs.
fn kept_shards(
    store: &Store,
    run_id: &str,
    inputs: &InputFingerprint,
    tasks: &[ShardTask],
    fresh: bool,
) -> Result<Vec<Option<ShardMarker>>> {
    let plan = PartialsPlan {
        build: build_identity(),
        inputs: inputs.clone(),
        tasks: tasks.to_vec(),
    };
    let key = partials_plan_key(run_id);
    let earlier = store
        .get(&key)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<PartialsPlan>(&bytes).ok());
    if !fresh && earlier.as_ref() == Some(&plan) {
        return Ok(tasks
            .iter()
            .map(|t| {
                read_marker(store, &t.run_id, t.shard)
                    .ok()
                    .flatten()
                    .filter(|m| m.task == *t)
            })
            .collect());
    }
    store
        .delete_folder(&partials_prefix(run_id))
        .context("cannot clear old partial results")?;
    store
        .put(
            &key,
            serde_json::to_vec_pretty(&plan).expect("a plan serialises"),
        )
        .context("cannot write the run's shard plan")?;
    Ok(vec![None; tasks.len()])
}

/// Why an earlier run of the same id blocks this one; [`LocalRun::overwrite`] lets the
/// new run replace it (the CLI says which flag sets it).
#[derive(Debug, thiserror::Error)]
pub enum ExistingRunError {
    #[error(
        "run {run_id} already exists in {root} with different inputs (business date {old_date}, portfolio sha256 {old_portfolio}, config sha256 {old_config}, market sha256 {old_market}; now {new_date}, {new_portfolio}, {new_config} and {new_market})"
    )]
    DifferentInputs {
        run_id: String,
        root: String,
        old_date: String,
        new_date: String,
        old_portfolio: String,
        old_config: String,
        old_market: String,
        new_portfolio: String,
        new_config: String,
        new_market: String,
    },
    #[error("run {run_id} already exists in {root} but its report cannot be read ({reason})")]
    Unreadable {
        run_id: String,
        root: String,
        reason: String,
    },
}

/// Guards an existing run of the same id in the same output directory. A rerun with the
/// same inputs and business date `run_date` is allowed (it rewrites the same bytes);
/// different ones are refused unless `overwrite`. Returns the earlier report, whose outputs the caller removes once
/// the new run has succeeded.
pub fn check_existing_run(
    store: &Store,
    run_id: &str,
    inputs: &InputFingerprint,
    run_date: &str,
    overwrite: bool,
) -> Result<Option<RunReport>> {
    let earlier = RunReport::get(store, run_id);
    match earlier {
        Ok(None) => Ok(None),
        Ok(Some(r)) if (r.inputs.same_as(inputs) && r.run_date == run_date) || overwrite => {
            Ok(Some(r))
        }
        Ok(Some(r)) => Err(ExistingRunError::DifferentInputs {
            run_id: run_id.to_string(),
            root: store.root(),
            old_date: r.run_date,
            new_date: run_date.to_string(),
            old_portfolio: r.inputs.portfolio_sha256,
            old_config: r.inputs.config_sha256,
            old_market: r.inputs.market_sha256,
            new_portfolio: inputs.portfolio_sha256.clone(),
            new_config: inputs.config_sha256.clone(),
            new_market: inputs.market_sha256.clone(),
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
