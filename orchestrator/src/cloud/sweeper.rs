//! The periodic sweeper (a schedule invokes the orchestrator with `{"sweep": {}}`): for
//! every run in the store without a report, it re-triggers the reduce of a run whose
//! shards are all done (its `run.ready` notification was lost, or its reducer died and
//! the claim's lease has expired), re-triggers the reduce of completion groups done but
//! not recorded as reduced, and re-issues the stragglers of a run that has gone quiet. Each run costs one listing page per 1,000 runs plus a read or two, so the
//! sweep's cost does not grow with the runs' shard counts.

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
    /// Shards re-issued, by run.
    pub reissued: BTreeMap<String, Vec<u32>>,
}

/// Sweeps every run of `store`. `trigger_reduce` asks for a run's reduce (the Lambda
/// function invokes the reducer asynchronously; tests call it directly).
pub fn sweep(
    store: &Store,
    queue: &Queue,
    now_ms: i64,
    policy: &StragglerPolicy,
    trigger_reduce: &dyn Fn(&ReduceRequest) -> Result<()>,
) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    for run_id in store.list_folders(RUNS)? {
        if RunReport::get(store, &run_id)?.is_some() {
            continue;
        }
        match RunManifest::get(store, &run_id) {
            Ok(_) => {}
            // A folder without a manifest is not a run (or not one yet).
            Err(ManifestError::Missing { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
        report.open_runs.push(run_id.clone());
        if worker::progress::run_complete(store, &run_id)? {
            let request = ReduceRequest {
                run_id: run_id.clone(),
                group: None,
            };
            trigger_reduce(&request)
                .with_context(|| format!("triggering the reduce of {run_id}"))?;
            report.reduce_triggered.push(run_id);
            continue;
        }
        let groups = worker::progress::groups_awaiting_reduce(store, &run_id)?;
        for &group in &groups {
            let request = ReduceRequest {
                run_id: run_id.clone(),
                group: Some(group),
            };
            trigger_reduce(&request)
                .with_context(|| format!("triggering the reduce of group {group} of {run_id}"))?;
        }
        if !groups.is_empty() {
            report
                .group_reduces_triggered
                .insert(run_id.clone(), groups);
        }
        let shards = reissue_stragglers(store, &run_id, queue, now_ms, policy)?;
        if !shards.is_empty() {
            report.reissued.insert(run_id, shards);
        }
    }
    Ok(report)
}
