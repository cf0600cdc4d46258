//! Stragglers: shards still unfinished well after the typical shard time, with nothing
//! left waiting in the queue. They are re-issued; the duplicate is harmless (identical
//! keys and bytes, counted once), and whichever copy finishes first completes the run.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use worker::layout::reissued_key;
use worker::manifest::RunManifest;
use worker::store::Store;

use super::queue::Queue;
use super::{completed_shards, message_bodies};

/// When a quiet run counts as stuck.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StragglerPolicy {
    /// Quiet for longer than `factor` x the median shard time (plus the grace) ...
    pub factor: f64,
    pub grace_seconds: f64,
    /// ... once at least this many shards have finished (the median means something).
    pub min_done: u32,
}

impl Default for StragglerPolicy {
    fn default() -> StragglerPolicy {
        StragglerPolicy {
            factor: 3.0,
            grace_seconds: 60.0,
            min_done: 1,
        }
    }
}

/// The facts a decision needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunProgress {
    pub planned: u32,
    /// (shard, seconds, finished_at_ms) of finished shards.
    pub finished: Vec<(u32, f64, i64)>,
    /// Messages waiting in the queue: while any wait, unfinished shards may not have
    /// started, so nothing is a straggler.
    pub waiting_messages: u64,
    /// The last re-issue, milliseconds since the epoch.
    pub last_reissue_ms: Option<i64>,
}

/// The shards to re-issue now (none if the run is progressing).
pub fn stragglers(progress: &RunProgress, now_ms: i64, policy: &StragglerPolicy) -> Vec<u32> {
    let done = progress.finished.len() as u32;
    if progress.waiting_messages > 0 || done < policy.min_done.max(1) || done >= progress.planned {
        return Vec::new();
    }
    let mut seconds: Vec<f64> = progress.finished.iter().map(|f| f.1).collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    let last_activity = progress
        .finished
        .iter()
        .map(|f| f.2)
        .chain(progress.last_reissue_ms)
        .max()
        .unwrap_or(now_ms);
    let quiet_seconds = (now_ms - last_activity) as f64 / 1000.0;
    if quiet_seconds <= policy.factor * median + policy.grace_seconds {
        return Vec::new();
    }
    let finished: std::collections::BTreeSet<u32> = progress.finished.iter().map(|f| f.0).collect();
    (0..progress.planned)
        .filter(|s| !finished.contains(s))
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reissued {
    at_ms: i64,
    shards: Vec<u32>,
}

/// Re-issues the run's stragglers, if any, and records when. Returns their numbers.
pub fn reissue_stragglers(
    store: &Store,
    run_id: &str,
    queue: &Queue,
    now_ms: i64,
    policy: &StragglerPolicy,
) -> Result<Vec<u32>> {
    let manifest = RunManifest::get(store, run_id)?;
    if worker::report::RunReport::get(store, run_id)?.is_some() {
        return Ok(Vec::new());
    }
    // While messages wait, nothing is a straggler: one request, before reading markers.
    let waiting_messages = queue.visible_messages()?;
    if waiting_messages > 0 {
        return Ok(Vec::new());
    }
    let mut finished = Vec::new();
    for shard in completed_shards(store, &manifest)? {
        if let Some(m) = worker::shard::read_marker(store, run_id, shard)? {
            finished.push((shard, m.seconds, m.finished_at_ms));
        }
    }
    let last_reissue_ms = store
        .get(&reissued_key(run_id))?
        .and_then(|b| serde_json::from_slice::<Reissued>(&b).ok())
        .map(|r| r.at_ms);
    let progress = RunProgress {
        planned: manifest.shards,
        finished,
        waiting_messages,
        last_reissue_ms,
    };
    let mut shards = stragglers(&progress, now_ms, policy);
    // A shard that failed in a way no retry fixes (its failure record says so) waits in
    // the dead-letter queue for a person, not for another copy.
    shards.retain(|&s| {
        let record = store
            .get(&worker::layout::failure_key(run_id, s))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice::<worker::runner::FailureRecord>(&b).ok());
        record.is_none_or(|r| r.retryable)
    });
    if shards.is_empty() {
        return Ok(shards);
    }
    let tasks = manifest.shard_tasks(store)?;
    let bodies = message_bodies(store, shards.iter().map(|&s| &tasks[s as usize]));
    queue.send_all(&bodies, 4)?;
    let record = Reissued {
        at_ms: now_ms,
        shards: shards.clone(),
    };
    store.put(&reissued_key(run_id), serde_json::to_vec_pretty(&record)?)?;
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(waiting: u64, last_reissue_ms: Option<i64>) -> RunProgress {
        RunProgress {
            planned: 4,
            finished: vec![(0, 10.0, 100_000), (1, 12.0, 110_000), (3, 11.0, 105_000)],
            waiting_messages: waiting,
            last_reissue_ms,
        }
    }

    #[test]
    fn a_quiet_run_with_an_empty_queue_reissues_its_unfinished_shards() {
        let policy = StragglerPolicy {
            factor: 3.0,
            grace_seconds: 10.0,
            min_done: 1,
        };
        // Median 11 s: quiet for more than 3 x 11 + 10 = 43 s after the last marker.
        assert_eq!(
            stragglers(&progress(0, None), 110_000 + 43_000, &policy),
            Vec::<u32>::new()
        );
        assert_eq!(
            stragglers(&progress(0, None), 110_000 + 43_001, &policy),
            vec![2]
        );
        // Messages still waiting: shards may simply not have started.
        assert!(stragglers(&progress(5, None), 999_000, &policy).is_empty());
        // A recent re-issue restarts the clock.
        assert!(stragglers(&progress(0, Some(150_000)), 160_000, &policy).is_empty());
        // Nothing finished yet: no typical time to compare with.
        let none = RunProgress {
            finished: vec![],
            ..progress(0, None)
        };
        assert!(stragglers(&none, 999_000, &policy).is_empty());
    }
}
