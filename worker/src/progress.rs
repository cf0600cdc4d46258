//! Completion at a bounded cost per shard: which shards of a run are done, kept in small
//! compare-and-swap documents instead of found by listing every marker.
//!
//! A run's shards fall into completion groups of [`GROUP_SHARDS`]. After writing its
//! marker, a worker adds its shard to its group's document
//! (`runs/<id>/progress/group-NNNNN.json`) with a conditional write, retrying on a
//! conflict. In a run of one group, the worker that completes it creates
//! `runs/<id>/run.ready`, whose creation notifies the reducer. In a run of several, it
//! creates `runs/<id>/progress/group-NNNNN.ready` instead: the reducer reduces that
//! group's partials into one, then adds the group to `runs/<id>/progress/groups.json`
//! the same way, and the reduce that completes the last group creates `run.ready`. The
//! final reduce then reads one partial per group, not one per shard.
//!
//! Every step is idempotent, so a shard redelivered after a crash between two steps
//! finishes the steps its first attempt did not. A shard costs one read and one write
//! (plus one of each per conflict); a group adds one more of each, the run one create:
//! the same per shard at 100 shards or 100,000, where listing the markers on every
//! completion grew with the run.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::layout::{group_ready_key, progress_group_key, progress_groups_key, ready_key};
use crate::store::{Store, StoreError};

/// Shards per completion group: small enough that a group's document stays a few hundred
/// bytes and conflicts stay rare, large enough that the groups' document of a
/// 100,000-shard run has only 1,000 entries.
pub const GROUP_SHARDS: u32 = 100;

/// How long a writer keeps retrying a conflicting update, with exponential backoff and
/// jitter: a group's shards tend to finish together, so one document can see many
/// writers at once. Past it the update is left to the sweeper's reconciliation.
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// The members done of one set (a group's shards, or the run's groups).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub done: BTreeSet<u32>,
}

/// Where a run stands after recording a shard (or a reduced group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Other shards (or groups) are still running.
    Pending,
    /// Every shard of this group is done, and `group-NNNNN.ready` exists: the group is
    /// to be reduced (a run of several groups).
    GroupComplete(u32),
    /// Every shard is done and `run.ready` exists (created now or before).
    RunComplete,
}

/// The number of completion groups of a run of `shards` shards.
pub fn groups_of(shards: u32) -> u32 {
    shards.div_ceil(GROUP_SHARDS)
}

/// The shards of `group` in a run of `shards` shards.
fn group_size(shards: u32, group: u32) -> u32 {
    (shards - group * GROUP_SHARDS).min(GROUP_SHARDS)
}

/// Adds `member` to the set at `key` with compare-and-swap; returns the set after.
fn add(store: &Store, key: &str, member: u32) -> Result<Done, StoreError> {
    let started = std::time::Instant::now();
    let mut backoff_ms = 10u64;
    loop {
        let (mut set, version) = match store.get_versioned(key)? {
            Some((bytes, v)) => {
                let set: Done = serde_json::from_slice(&bytes).map_err(|e| StoreError::Failed {
                    op: "read",
                    location: store.describe(key),
                    message: format!("not a progress document: {e}"),
                })?;
                (set, Some(v))
            }
            None => (Done::default(), None),
        };
        if !set.done.insert(member) {
            return Ok(set);
        }
        let bytes = serde_json::to_vec(&set).expect("a set serialises");
        if store.put_if_version(key, bytes, version.as_ref())? {
            return Ok(set);
        }
        if started.elapsed() >= RETRY_BUDGET {
            return Err(StoreError::Failed {
                op: "update",
                location: store.describe(key),
                message: format!("conflicting writers for {} s", RETRY_BUDGET.as_secs()),
            });
        }
        // Full jitter: a random share of the backoff (timing only; no output depends
        // on it), so that writers that collided do not collide again in step.
        let jitter = u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos()),
        ) % backoff_ms.max(1);
        std::thread::sleep(std::time::Duration::from_millis(jitter));
        backoff_ms = (backoff_ms * 2).min(2_000);
    }
}

/// Records that `shard` of `run_id` (a run of `shards` shards) is done, after its marker
/// was written. Idempotent.
pub fn record_done(
    store: &Store,
    run_id: &str,
    shard: u32,
    shards: u32,
) -> Result<Recorded, StoreError> {
    let group = shard / GROUP_SHARDS;
    let in_group = add(store, &progress_group_key(run_id, group), shard)?;
    if (in_group.done.len() as u32) < group_size(shards, group) {
        return Ok(Recorded::Pending);
    }
    if groups_of(shards) > 1 {
        // Whoever gets here first creates it; a repeat finds it there.
        store.put_if_absent(&group_ready_key(run_id, group), Vec::new())?;
        return Ok(Recorded::GroupComplete(group));
    }
    record_group_reduced(store, run_id, group, shards)
}

/// Records that `group` of `run_id` is reduced (or, in a run of one group, that its
/// shards are all done). Idempotent.
pub fn record_group_reduced(
    store: &Store,
    run_id: &str,
    group: u32,
    shards: u32,
) -> Result<Recorded, StoreError> {
    let groups = add(store, &progress_groups_key(run_id), group)?;
    if (groups.done.len() as u32) < groups_of(shards) {
        return Ok(Recorded::Pending);
    }
    store.put_if_absent(&ready_key(run_id), Vec::new())?;
    Ok(Recorded::RunComplete)
}

/// Brings the progress documents up to date with the markers in `marked` (the shards
/// whose completion markers exist): records every marked shard its group's document
/// lacks, and pushes on each group whose shards are all recorded (its `.ready` object,
/// or its place in `groups.json`, may be missing after a crash between two steps).
/// Idempotent; the sweeper runs it on quiet runs, so a progress update that failed after
/// its marker was written delays the run by one sweep instead of blocking it.
pub fn reconcile(
    store: &Store,
    run_id: &str,
    shards: u32,
    marked: &BTreeSet<u32>,
) -> Result<Vec<Recorded>, StoreError> {
    let mut out = Vec::new();
    for group in 0..groups_of(shards) {
        let members = group * GROUP_SHARDS..group * GROUP_SHARDS + group_size(shards, group);
        let recorded: Done = match store.get(&progress_group_key(run_id, group))? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            None => Done::default(),
        };
        let missing: Vec<u32> = members
            .clone()
            .filter(|s| marked.contains(s) && !recorded.done.contains(s))
            .collect();
        for &shard in &missing {
            out.push(record_done(store, run_id, shard, shards)?);
        }
        // Every shard recorded: one more (idempotent) record finishes the group's steps.
        if missing.is_empty() && members.clone().all(|s| recorded.done.contains(&s)) {
            out.push(record_done(store, run_id, members.start, shards)?);
        }
    }
    Ok(out)
}

/// Whether `group` of `run_id` is recorded as reduced.
pub fn group_reduced(store: &Store, run_id: &str, group: u32) -> Result<bool, StoreError> {
    Ok(match store.get(&progress_groups_key(run_id))? {
        Some(bytes) => serde_json::from_slice::<Done>(&bytes)
            .map(|d| d.done.contains(&group))
            .unwrap_or(false),
        None => false,
    })
}

/// The groups of `run_id` whose shards are all done (their ready object exists) but
/// which are not recorded as reduced: for the sweeper, when a notification was lost.
pub fn groups_awaiting_reduce(store: &Store, run_id: &str) -> Result<Vec<u32>, StoreError> {
    let reduced: Done = match store.get(&progress_groups_key(run_id))? {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        None => Done::default(),
    };
    let prefix = format!("{}/progress", crate::layout::run_prefix(run_id));
    Ok(store
        .list(&prefix)?
        .iter()
        .filter_map(|k| crate::layout::parse_group_ready_key(k))
        .filter(|(id, g)| *id == run_id && !reduced.done.contains(g))
        .map(|(_, g)| g)
        .collect())
}

/// Whether every shard of the run has been recorded (one read).
pub fn run_complete(store: &Store, run_id: &str) -> Result<bool, StoreError> {
    Ok(store.get(&ready_key(run_id))?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_shard_completes_a_one_group_run_in_any_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        let shards = GROUP_SHARDS - 3;
        // Reverse order, then every shard again (redeliveries).
        let mut seen = Vec::new();
        for shard in (0..shards).rev().chain(0..shards) {
            seen.push(record_done(&store, "r", shard, shards).expect("record"));
            let complete = run_complete(&store, "r").expect("read");
            assert_eq!(complete, seen.last() == Some(&Recorded::RunComplete));
        }
        let first = seen
            .iter()
            .position(|r| *r == Recorded::RunComplete)
            .expect("completes");
        assert_eq!(first, shards as usize - 1);
        assert!(seen[first..].iter().all(|r| *r == Recorded::RunComplete));
    }

    #[test]
    fn groups_complete_one_by_one_and_their_reduces_complete_the_run() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        let shards = 2 * GROUP_SHARDS + 7;
        let mut completed_groups = Vec::new();
        for shard in (0..shards).rev() {
            match record_done(&store, "r", shard, shards).expect("record") {
                Recorded::GroupComplete(g) => completed_groups.push(g),
                Recorded::Pending => {}
                Recorded::RunComplete => panic!("complete before any group was reduced"),
            }
        }
        assert_eq!(completed_groups, vec![2, 1, 0]);
        assert_eq!(
            groups_awaiting_reduce(&store, "r").expect("list"),
            vec![0, 1, 2]
        );
        assert!(!run_complete(&store, "r").expect("read"));
        assert_eq!(
            record_group_reduced(&store, "r", 1, shards).expect("g1"),
            Recorded::Pending
        );
        assert_eq!(
            record_group_reduced(&store, "r", 0, shards).expect("g0"),
            Recorded::Pending
        );
        assert_eq!(groups_awaiting_reduce(&store, "r").expect("list"), vec![2]);
        assert_eq!(
            record_group_reduced(&store, "r", 2, shards).expect("g2"),
            Recorded::RunComplete
        );
        assert!(run_complete(&store, "r").expect("read"));
    }

    #[test]
    fn reconciling_records_the_marked_shards_a_crash_left_out() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        let shards = 2 * GROUP_SHARDS;
        // Every shard has its marker, but group 1's last shard never got recorded, and
        // group 0's .ready was never created.
        for shard in (0..shards).filter(|s| *s != shards - 1) {
            record_done(&store, "r", shard, shards).expect("record");
        }
        store.delete(&group_ready_key("r", 0)).expect("rm");
        assert_eq!(
            groups_awaiting_reduce(&store, "r").expect("list"),
            Vec::<u32>::new()
        );
        let marked: BTreeSet<u32> = (0..shards).collect();
        reconcile(&store, "r", shards, &marked).expect("reconcile");
        assert_eq!(
            groups_awaiting_reduce(&store, "r").expect("list"),
            vec![0, 1]
        );
    }

    #[test]
    fn concurrent_writers_lose_no_shard() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        let shards = GROUP_SHARDS - 1;
        std::thread::scope(|s| {
            for t in 0..4 {
                let store = store.clone();
                s.spawn(move || {
                    for shard in (t..shards).step_by(4) {
                        record_done(&store, "r", shard, shards).expect("record");
                    }
                });
            }
        });
        assert!(run_complete(&store, "r").expect("read"));
        let group0: Done = serde_json::from_slice(
            &store
                .get(&progress_group_key("r", 0))
                .expect("get")
                .expect("group 0"),
        )
        .expect("json");
        assert_eq!(group0.done, (0..shards).collect());
    }
}
