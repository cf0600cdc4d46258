//! Runs shard messages whatever carried them (SQS through Lambda, SQS through a
//! poll-mode worker, a direct invocation): parses the message, fetches the run's
//! manifest (cached per run), runs the shard, and on failure leaves a failure record
//! naming the shard, so that a run's status can say which shard failed and why.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::aws::LazyAws;
use crate::config::{ConfigError, RunConfig};
use crate::lambda_facts::MB_PER_VCPU;
use crate::layout::failure_key;
use crate::manifest::{ManifestError, RunManifest, ShardMessage};
use crate::portfolio_file::PortfolioSource;
use crate::shard::{ShardError, ShardMarker, run_shard};
use crate::store::{Store, StoreError};

/// The function's memory setting, from `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; one vCPU's
/// worth (1,769 MB) outside Lambda.
pub fn function_memory_mb() -> u32 {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MB_PER_VCPU)
}

/// Why a shard message could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("malformed shard message: {0}")]
    Malformed(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("run configuration in the manifest: {0}")]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shard(#[from] ShardError),
    #[error("shard {shard} of run {run_id}: {message}")]
    Mismatch {
        run_id: String,
        shard: u32,
        message: String,
    },
}

impl RunnerError {
    /// Whether running the same message again could succeed: storage and network errors
    /// can pass; a malformed message or an invalid input will fail the same way (until
    /// somebody fixes the input and re-issues the shard).
    pub fn retryable(&self) -> bool {
        match self {
            RunnerError::Malformed(_) | RunnerError::Config(_) | RunnerError::Mismatch { .. } => {
                false
            }
            RunnerError::Manifest(ManifestError::Store(_)) | RunnerError::Store(_) => true,
            RunnerError::Manifest(_) => false,
            RunnerError::Shard(ShardError::Write { .. } | ShardError::Read { .. }) => true,
            RunnerError::Shard(_) => false,
        }
    }
}

/// A shard's failure, kept at `runs/<run_id>/failures/shard-NNNNN.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    pub shard: u32,
    pub error: String,
    pub retryable: bool,
}

/// A run's inputs, as every shard of it needs them.
#[derive(Debug)]
struct RunInputs {
    manifest: RunManifest,
    config: RunConfig,
    portfolio: PortfolioSource,
}

/// A completed shard and where its run lives.
#[derive(Debug, Clone)]
pub struct ShardDone {
    pub marker: ShardMarker,
    pub store: Store,
    /// Where the run stands after recording this shard: its group or the whole run may
    /// now be complete.
    pub recorded: crate::progress::Recorded,
    /// Why recording the shard failed, when it did. The shard itself is done (its marker
    /// is written), so it does not fail: the sweeper's reconciliation records it.
    pub progress_error: Option<String>,
}

/// Runs shard messages, caching stores and manifests between messages (a warm Lambda
/// environment or a poll-mode worker serves many shards of the same run).
#[derive(Debug)]
pub struct ShardRunner {
    aws: Arc<LazyAws>,
    stores: Mutex<HashMap<String, Store>>,
    runs: Mutex<HashMap<(String, String), Arc<RunInputs>>>,
    /// Set in a Lambda environment: every marker records it, the first with the
    /// environment's init time (taken once).
    lambda: Mutex<Option<crate::shard::LambdaInvocation>>,
}

impl ShardRunner {
    pub fn new(aws: Arc<LazyAws>) -> ShardRunner {
        ShardRunner {
            aws,
            stores: Mutex::default(),
            runs: Mutex::default(),
            lambda: Mutex::default(),
        }
    }

    /// A runner in a Lambda environment of `memory_mb` whose INIT phase took `init`:
    /// its markers carry what the run's bill is priced at.
    pub fn on_lambda(self, memory_mb: u32, init: std::time::Duration) -> ShardRunner {
        *self.lambda.lock().expect("not poisoned") = Some(crate::shard::LambdaInvocation {
            arch: crate::lambda_facts::Arch::current(),
            memory_mb,
            init_ms: init.as_secs_f64() * 1000.0,
        });
        self
    }

    /// The store at `root`, opened once.
    pub fn store(&self, root: &str) -> Result<Store, StoreError> {
        let mut stores = self.stores.lock().expect("not poisoned");
        if let Some(s) = stores.get(root) {
            return Ok(s.clone());
        }
        let store = Store::open(root, || self.aws.get())?;
        stores.insert(root.to_string(), store.clone());
        Ok(store)
    }

    fn inputs(&self, store: &Store, run_id: &str) -> Result<Arc<RunInputs>, RunnerError> {
        let cache_key = (store.root(), run_id.to_string());
        if let Some(r) = self.runs.lock().expect("not poisoned").get(&cache_key) {
            return Ok(r.clone());
        }
        let manifest = RunManifest::get(store, run_id)?;
        let config = manifest.run_config()?;
        let portfolio = PortfolioSource::open(&manifest.portfolio, || self.aws.get())?
            .pinned(manifest.portfolio_pin.clone());
        let inputs = Arc::new(RunInputs {
            manifest,
            config,
            portfolio,
        });
        self.runs
            .lock()
            .expect("not poisoned")
            .insert(cache_key, inputs.clone());
        Ok(inputs)
    }

    /// Parses a message body and runs it.
    pub fn run_body(&self, body: &str) -> Result<ShardDone, RunnerError> {
        let message: ShardMessage =
            serde_json::from_str(body).map_err(|e| RunnerError::Malformed(e.to_string()))?;
        self.run(&message)
    }

    /// Runs one shard on the current rayon pool. On failure the error is also recorded
    /// in the run's store (best effort: the store may be what failed).
    pub fn run(&self, message: &ShardMessage) -> Result<ShardDone, RunnerError> {
        let store = self.store(&message.store)?;
        let task = &message.task;
        let result = self.run_in(&store, message);
        match &result {
            Ok(_) => {
                // An earlier attempt's failure no longer describes the shard.
                let _ = store.delete(&failure_key(&task.run_id, task.shard));
            }
            Err(e) => {
                let record = FailureRecord {
                    shard: task.shard,
                    error: e.to_string(),
                    retryable: e.retryable(),
                };
                let json = serde_json::to_vec_pretty(&record).expect("serialises");
                let _ = store.put(&failure_key(&task.run_id, task.shard), json);
            }
        }
        result
    }

    fn run_in(&self, store: &Store, message: &ShardMessage) -> Result<ShardDone, RunnerError> {
        let task = &message.task;
        let inputs = self.inputs(store, &task.run_id)?;
        let m = &inputs.manifest;
        let mismatch = |message: String| RunnerError::Mismatch {
            run_id: task.run_id.clone(),
            shard: task.shard,
            message,
        };
        if task.shard >= m.shards {
            return Err(mismatch(format!("the run has {} shards", m.shards)));
        }
        if task.run_date != m.run_date || task.horizon_months != m.horizon_months {
            return Err(mismatch(
                "run date or horizon differs from the manifest".into(),
            ));
        }
        let lambda = self.lambda.lock().expect("not poisoned").as_mut().map(|l| {
            // The init time is billed once per environment: on its first shard.
            let first = *l;
            l.init_ms = 0.0;
            first
        });
        let marker = run_shard(task, &inputs.portfolio, &inputs.config, store, lambda)?;
        // Only after the marker: a crash in between leaves the message to be retried,
        // and the retry records the shard.
        let (recorded, progress_error) =
            match crate::progress::record_done(store, &task.run_id, task.shard, m.shards) {
                Ok(r) => (r, None),
                Err(e) => (crate::progress::Recorded::Pending, Some(e.to_string())),
            };
        Ok(ShardDone {
            marker,
            store: store.clone(),
            recorded,
            progress_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_messages_are_not_retryable() {
        let runner = ShardRunner::new(Arc::new(LazyAws::default()));
        let e = runner
            .run_body("{\"not\": \"a task\"}")
            .expect_err("malformed");
        assert!(!e.retryable());
        assert!(e.to_string().starts_with("malformed shard message"), "{e}");
    }
}
