//! The golden shard: fixed inputs shipped with the build (`data/golden/`) and the SHA-256
//! of every partial file they must produce. The deployment's pre-traffic hook runs it on
//! a new worker version (invoked directly), the post-traffic hook through the live path
//! (the shard queue, then the `live` alias); both compare. `tests` pin the digest against
//! the local worker.

use anyhow::{Context, Result, ensure};
use chrono::{DateTime, Utc};
use worker::layout::{
    MARKER_FILE, SHARD_CASHFLOWS_FILE, ready_key, run_prefix, shard_file_key, shard_prefix,
};
use worker::manifest::{ConfigText, RunManifest, ShardMessage};
use worker::shard::ShardTask;
use worker::store::Store;

const CONFIG: &str = include_str!("../../../data/golden/run.toml");
const PORTFOLIO: &[u8] = include_bytes!("../../../data/golden/portfolio.csv");
/// The expected digest, as shipped with the build.
pub const EXPECTED_SHA256: &str = include_str!("../../../data/golden/partials.sha256");

pub const RUN_ID: &str = "golden";
const PORTFOLIO_KEY: &str = "inputs/portfolio.csv";
const LOANS: u64 = 200;
const SCENARIOS: u32 = 8;
const HORIZON_MONTHS: u32 = 360;

/// Writes the golden inputs and manifest into `store` and returns the shard message.
pub fn prepare(store: &Store, now: DateTime<Utc>) -> Result<ShardMessage> {
    let config = ConfigText {
        name: "golden/run.toml".into(),
        text: CONFIG.to_string(),
        files: Default::default(),
    };
    let parsed = config.parse().context("the golden config")?;
    ensure!(
        parsed.run_id.as_str() == RUN_ID,
        "the golden config's run_id"
    );
    store.put(PORTFOLIO_KEY, PORTFOLIO.to_vec())?;
    let task = ShardTask {
        run_id: RUN_ID.into(),
        run_date: "2026-01-02".into(),
        horizon_months: HORIZON_MONTHS,
        shard: 0,
        loan_start: 0,
        loan_end: LOANS,
        scenario_start: 0,
        scenario_end: SCENARIOS,
    };
    let manifest = RunManifest {
        run_id: RUN_ID.into(),
        run_date: task.run_date.clone(),
        submitted_at: now.to_rfc3339(),
        portfolio: store.describe(PORTFOLIO_KEY),
        portfolio_sha256: worker::report::sha256_bytes(PORTFOLIO),
        // Written just now by this check, which then waits for its own shard.
        portfolio_pin: None,
        config_sha256: config.config_sha256(),
        config,
        loans: LOANS,
        scenarios: SCENARIOS,
        horizon_months: HORIZON_MONTHS,
        table_months: HORIZON_MONTHS,
        shards: 1,
        planned_loan_months: 0,
    };
    // A previous check's partials and progress must not pass for this one's.
    store.delete_folder(&shard_prefix(RUN_ID, 0))?;
    store.delete_folder(&format!("{}/progress", run_prefix(RUN_ID)))?;
    store.delete(&ready_key(RUN_ID))?;
    manifest.put(store, std::slice::from_ref(&task))?;
    Ok(ShardMessage {
        store: store.root(),
        task,
    })
}

/// SHA-256 over every partial file of the golden shard but its marker (which holds
/// timings): each file's name and digest, one line each, in key order.
pub fn digest(store: &Store) -> Result<String> {
    let mut lines = String::new();
    for key in store.list(&shard_prefix(RUN_ID, 0))? {
        let name = key.rsplit('/').next().unwrap_or_default();
        if name == MARKER_FILE {
            continue;
        }
        let bytes = store.get_required(&key)?;
        lines.push_str(&format!(
            "{name} {}\n",
            worker::report::sha256_bytes(&bytes)
        ));
    }
    ensure!(
        lines.contains(SHARD_CASHFLOWS_FILE),
        "the golden shard wrote no {}",
        store.describe(&shard_file_key(RUN_ID, 0, SHARD_CASHFLOWS_FILE))
    );
    Ok(worker::report::sha256_bytes(lines.as_bytes()))
}

/// Whether `store`'s golden output matches the shipped digest; the error says how not.
pub fn verify(store: &Store) -> Result<()> {
    let actual = digest(store)?;
    ensure!(
        actual == EXPECTED_SHA256.trim(),
        "golden shard digest {actual} differs from the expected {}",
        EXPECTED_SHA256.trim()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use worker::aws::LazyAws;
    use worker::runner::ShardRunner;

    use super::*;
    use crate::cloud::lambda::{HookVerdict, pretraffic_check};

    #[test]
    fn the_local_worker_reproduces_the_shipped_golden_digest() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::local(dir.path());
        let runner = ShardRunner::new(Arc::new(LazyAws::default()));
        let verdict = pretraffic_check(&store, Utc::now(), &|event| {
            let message: ShardMessage = serde_json::from_value(event)?;
            let done = runner.run(&message)?;
            Ok(serde_json::to_value(&done.marker)?)
        });
        assert_eq!(
            verdict,
            HookVerdict::Succeeded,
            "if the engine's results changed on purpose, update data/golden/partials.sha256 to {}",
            digest(&store).unwrap_or_default()
        );
        // A worker whose output differs by one byte fails the check.
        let key = shard_file_key(RUN_ID, 0, SHARD_CASHFLOWS_FILE);
        let verdict = pretraffic_check(&store, Utc::now(), &|event| {
            let message: ShardMessage = serde_json::from_value(event)?;
            runner.run(&message)?;
            let mut bytes = store.get_required(&key)?.to_vec();
            let last = bytes.len() - 10;
            bytes[last] ^= 1;
            store.put(&key, bytes)?;
            Ok(Value::Null)
        });
        assert!(
            matches!(verdict, HookVerdict::Failed(ref m) if m.contains("differs")),
            "{verdict:?}"
        );
        // A worker that fails fails the check.
        let verdict = pretraffic_check(&store, Utc::now(), &|_| anyhow::bail!("boom"));
        assert!(
            matches!(verdict, HookVerdict::Failed(ref m) if m.contains("boom")),
            "{verdict:?}"
        );
    }

    use serde_json::Value;
}
