//! The periodic sweeper (a schedule invokes the orchestrator with `{"sweep": {}}`). For
//! every run in the store without a report it:
//! - re-triggers the reduce of a run whose `run.ready` exists (its notification was
//!   lost, or its reducer died and the claim's lease has expired);
//! - re-triggers the reduce of completion groups done but not recorded as reduced;
//! - on a quiet queue, brings the run's progress documents up to date with its markers
//!   (a progress update that failed after its marker, a crash between two steps) and
//!   re-issues stragglers (never a shard whose failure no retry can fix).
//!
//! An open run costs a few reads per sweep; a quiet one also a listing of its markers
//! (one request per 1,000 partial files) and a read per completion group. One run's
//! error is recorded in the answer and the sweep goes on to the next.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use worker::layout::RUNS;
use worker::manifest::{ManifestError, RunManifest};
use worker::report::RunReport;
use worker::store::Store;

use super::lambda::ReduceRequest;
use super::queue::Queue;
use super::stragglers::{StragglerPolicy, reissue_stragglers};

/// The sweep request: `{"sweep": {}}` (no options yet; unknown keys are refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SweepReport {
    /// Runs without a report that were looked at.
    pub open_runs: Vec<String>,
    /// Runs whose reduce was triggered.
    pub reduce_triggered: Vec<String>,
    /// Completion groups whose reduce was triggered, by run.
    pub group_reduces_triggered: BTreeMap<String, Vec<u32>>,
    /// Runs whose progress documents lagged their markers and were brought up to date.
    pub reconciled: Vec<String>,
    /// Shards re-issued, by run.
    pub reissued: BTreeMap<String, Vec<u32>>,
    /// Runs the sweep could not handle, with why; the others are swept regardless.
    pub errors: BTreeMap<String, String>,
}

/// Sweeps every run of `store`. `trigger_reduce` asks for a run's (or a group's) reduce:
/// the Lambda function invokes the reducer asynchronously; tests reduce in-process.
pub fn sweep(
    store: &Store,
    queue: &Queue,
    now_ms: i64,
    policy: &StragglerPolicy,
    trigger_reduce: &dyn Fn(&ReduceRequest) -> Result<()>,
) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    // One look at the queue for every run: while messages wait, shards may not have
    // started, so no run is quiet.
    let quiet = queue.visible_messages()? == 0;
    for run_id in store.list_folders(RUNS)? {
        let swept = sweep_run(
            store,
            queue,
            &run_id,
            quiet,
            now_ms,
            policy,
            trigger_reduce,
            &mut report,
        );
        if let Err(e) = swept {
            report.errors.insert(run_id, format!("{e:#}"));
        }
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn sweep_run(
    store: &Store,
    queue: &Queue,
    run_id: &str,
    quiet: bool,
    now_ms: i64,
    policy: &StragglerPolicy,
    trigger_reduce: &dyn Fn(&ReduceRequest) -> Result<()>,
    report: &mut SweepReport,
) -> Result<()> {
    if RunReport::get(store, run_id)?.is_some() {
        return Ok(());
    }
    let manifest = match RunManifest::get(store, run_id) {
        Ok(m) => m,
        // A folder without a manifest is not a run (or not one yet).
        Err(ManifestError::Missing { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    report.open_runs.push(run_id.to_string());
    let trigger = |group: Option<u32>| -> Result<()> {
        let request = ReduceRequest {
            run_id: run_id.to_string(),
            group,
        };
        trigger_reduce(&request).with_context(|| match group {
            Some(g) => format!("triggering the reduce of group {g} of {run_id}"),
            None => format!("triggering the reduce of {run_id}"),
        })
    };
    if worker::progress::run_complete(store, run_id)? {
        trigger(None)?;
        report.reduce_triggered.push(run_id.to_string());
        return Ok(());
    }
    let groups = worker::progress::groups_awaiting_reduce(store, run_id)?;
    for &group in &groups {
        trigger(Some(group))?;
    }
    if !groups.is_empty() {
        report
            .group_reduces_triggered
            .insert(run_id.to_string(), groups);
    }
    if !quiet {
        return Ok(());
    }
    // A quiet run: bring its progress up to date with its markers (a progress update
    // that failed after its marker, a crash between two steps, a run from before
    // progress documents), then look for stragglers.
    let marked = super::completed_shards(store, &manifest)?;
    let recorded = worker::progress::reconcile(store, run_id, manifest.shards, &marked)?;
    if recorded.contains(&worker::progress::Recorded::RunComplete) {
        report.reconciled.push(run_id.to_string());
        trigger(None)?;
        report.reduce_triggered.push(run_id.to_string());
        return Ok(());
    }
    let newly_complete: Vec<u32> = recorded
        .iter()
        .filter_map(|r| match r {
            worker::progress::Recorded::GroupComplete(g) => Some(*g),
            _ => None,
        })
        .collect();
    if !newly_complete.is_empty() {
        report.reconciled.push(run_id.to_string());
        for &g in &newly_complete {
            trigger(Some(g))?;
        }
    }
    let shards = reissue_stragglers(store, run_id, queue, now_ms, policy)?;
    if !shards.is_empty() {
        report.reissued.insert(run_id.to_string(), shards);
    }
    Ok(())
}
