//! The cloud path: the same plan -> shards -> reduce pipeline as the embedded run, with
//! SQS as the transport and S3 (or any [`Store`]) for results. `submit` writes the run
//! manifest and fans shard messages out; whoever writes the last completion marker
//! (a Lambda reducer on the S3 event, a poll-mode worker, or a person) calls
//! `try_reduce`, which claims the reduce exactly once with a create-only write.

pub mod events;
pub mod golden;
pub mod lambda;
pub mod poll;
pub mod queue;
pub mod stack;
pub mod stragglers;
pub mod sweeper;

use std::collections::BTreeSet;

use crate::run::finalize::{RunFacts, finalize};
use anyhow::{Context, Result, ensure};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use worker::aws::LazyAws;
use worker::config::{RunConfig, RunId};
use worker::layout::{
    claim_key, claims_prefix, failures_prefix, parse_claim_key, partials_prefix, shard_of_marker,
    status_key,
};
use worker::manifest::{ConfigText, RunManifest, ShardMessage};
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};
use worker::report::{InputFingerprint, RunReport, ShardCounts};
use worker::runner::FailureRecord;
use worker::shard::ShardTask;
use worker::store::Store;

use crate::run::plan::{RunShape, Sizing, plan};
use queue::Queue;

/// A run submission.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    pub config: ConfigText,
    /// `s3://bucket/key` (or a path every worker can read).
    pub portfolio: &'a str,
    pub store: &'a Store,
    pub sizing: Sizing,
    /// The business date given with the submission (a schedule's): it overrides the
    /// config's `as_of` and names the run `<config run_id>-<as_of>`.
    pub as_of: Option<NaiveDate>,
    /// The run id given with the submission; it overrides every other.
    pub run_id: Option<String>,
    /// Business date when neither the submission nor the config gives one.
    pub default_run_date: NaiveDate,
    pub submitted_at: DateTime<Utc>,
    pub dispatch: DispatchOptions,
}

/// What `submit` did.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub manifest: RunManifest,
    /// Shards sent now.
    pub sent: u32,
    /// Where to continue when the deadline stopped the dispatch.
    pub next_shard: Option<u32>,
    /// Set when the same run (same id, same inputs) had already been submitted: then
    /// nothing is sent, so a repeated delivery of a schedule is a no-op. The number is
    /// the shards that had completed.
    pub already_submitted: Option<u32>,
}

/// The run id of a submission: the one given with it, else `<config run_id>-<as_of>`
/// when a business date was given with it (each scheduled day is its own run), else
/// the config's.
pub fn run_identity(
    config: &RunConfig,
    as_of: Option<NaiveDate>,
    run_id: Option<&str>,
) -> Result<RunId> {
    let id = match (run_id, as_of) {
        (Some(id), _) => id.to_string(),
        (None, Some(d)) => format!("{}-{}", config.run_id, d.format("%Y-%m-%d")),
        (None, None) => return Ok(config.run_id.clone()),
    };
    RunId::parse(&id).map_err(|m| anyhow::anyhow!("run_id: {m}"))
}

/// Validates the inputs, writes the manifest and sends a message per shard. A run
/// already submitted with the same inputs sends nothing (see
/// [`Submitted::already_submitted`]; `retry` re-issues what is missing); with different
/// inputs it is refused.
pub fn submit(s: &Submission<'_>, portfolio: &PortfolioSource, queue: &Queue) -> Result<Submitted> {
    let prepared = prepare(s, portfolio)?;
    if let Some(done) = &prepared.earlier {
        // The first submission's fan-out never finished (no dispatched record) and is
        // too old to be still sending: it died, so send what has not completed. A younger
        // one may still be sending; this delivery leaves it to finish.
        let submitted = DateTime::parse_from_rfc3339(&prepared.manifest.submitted_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(s.submitted_at);
        let stale = s.submitted_at - submitted > DISPATCH_STALE;
        let dispatched = s
            .store
            .get(&worker::layout::dispatched_key(&prepared.manifest.run_id))?
            .is_some();
        if stale && !dispatched {
            let progress = dispatch(s.store, queue, &prepared.tasks, done, 0, &s.dispatch)?;
            return Ok(Submitted {
                manifest: prepared.manifest,
                sent: progress.sent,
                next_shard: (!progress.complete).then_some(progress.next_shard),
                already_submitted: Some(done.len() as u32),
            });
        }
        return Ok(Submitted {
            manifest: prepared.manifest,
            sent: 0,
            next_shard: None,
            already_submitted: Some(done.len() as u32),
        });
    }
    let progress = dispatch(
        s.store,
        queue,
        &prepared.tasks,
        &BTreeSet::new(),
        0,
        &s.dispatch,
    )?;
    Ok(Submitted {
        manifest: prepared.manifest,
        sent: progress.sent,
        next_shard: (!progress.complete).then_some(progress.next_shard),
        already_submitted: None,
    })
}

/// How old a submission without a dispatched record must be before a repeated
/// submission resumes its fan-out: longer than the orchestrator function can run (15
/// minutes), so the first fan-out is certainly over.
pub const DISPATCH_STALE: chrono::TimeDelta = chrono::TimeDelta::minutes(16);

/// A run written to its store, ready for shard messages.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub manifest: RunManifest,
    pub tasks: Vec<ShardTask>,
    /// When the same run had been submitted before: the shards it has completed.
    pub earlier: Option<BTreeSet<u32>>,
}

/// The first half of `submit`: validates the inputs, plans the shards and writes the
/// manifest (or checks an earlier one matches), without sending anything.
pub fn prepare(s: &Submission<'_>, portfolio: &PortfolioSource) -> Result<Prepared> {
    let mut config = s.config.parse().context("invalid run configuration")?;
    config.run_id = run_identity(&config, s.as_of, s.run_id.as_deref())?;
    config.as_of = s.as_of.or(config.as_of);
    let run_id = config.run_id.to_string();
    let store = s.store;
    let config_sha256 = s.config.config_sha256();
    let run_date = config
        .as_of
        .unwrap_or(s.default_run_date)
        .format("%Y-%m-%d")
        .to_string();
    // The same run submitted again (a repeated delivery, a second click) is that run,
    // pinned to the portfolio version of its first submission: it is not read again.
    let same_run = |earlier: RunManifest| -> Result<Prepared> {
        ensure!(
            earlier.config_sha256 == config_sha256
                // The settings' checksum leaves out the files the config names (a stress
                // path, the house-price history): they are the market inputs.
                && earlier.config.market_sha256() == s.config.market_sha256()
                && earlier.run_date == run_date
                && earlier.portfolio == portfolio.location(),
            "run {run_id} was already submitted to {} with a different config, business date or portfolio; choose another run_id",
            store.root()
        );
        let done = completed_shards(store, &earlier)?;
        let tasks = earlier.shard_tasks(store)?;
        Ok(Prepared {
            manifest: earlier,
            tasks,
            earlier: Some(done),
        })
    };
    match RunManifest::get(store, &run_id) {
        Ok(earlier) => return same_run(earlier),
        Err(worker::manifest::ManifestError::Missing { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    // One read gives the checksum and the version it is of; everything after reads that
    // version, so the portfolio cannot change under the run.
    let (portfolio_sha256, portfolio_pin) = portfolio.fingerprint()?;
    let portfolio = &portfolio.clone().pinned(portfolio_pin.clone());
    let loans = load_portfolio_from(portfolio)?;
    let shape = RunShape::of(&config, &loans, s.default_run_date)?;
    let (horizon, scenarios) = (shape.horizon_months, shape.scenarios);
    let tasks = plan(&shape, s.sizing)?;
    let manifest = RunManifest {
        run_id: run_id.clone(),
        run_date: shape.run_date.clone(),
        submitted_at: s.submitted_at.to_rfc3339(),
        portfolio: portfolio.location(),
        portfolio_sha256,
        portfolio_pin,
        config_sha256: config_sha256.clone(),
        config: s.config.clone(),
        loans: loans.len() as u64,
        scenarios,
        horizon_months: horizon,
        table_months: shape.table_months,
        shards: tasks.len() as u32,
        planned_loan_months: shape.planned_loan_months,
    };
    // Create-only: of two deliveries racing here, one writes the manifest and sends the
    // shards; the other finds the run submitted.
    if !manifest.create(store, &tasks)? {
        return same_run(RunManifest::get(store, &run_id)?);
    }
    Ok(Prepared {
        manifest,
        tasks,
        earlier: None,
    })
}

/// How shard messages are sent.
#[derive(Debug, Clone, Copy)]
pub struct DispatchOptions {
    /// `SendMessageBatch` calls in flight.
    pub concurrency: usize,
    /// Shards sent between deadline checks.
    pub chunk_shards: usize,
    /// Stop (between chunks) once this instant has passed; the caller continues from
    /// the returned shard, in a follow-up invocation when it is a Lambda function. Every
    /// call sends at least one chunk, so a chain of invocations always progresses.
    pub deadline: Option<std::time::Instant>,
}

impl Default for DispatchOptions {
    fn default() -> DispatchOptions {
        DispatchOptions {
            concurrency: 16,
            chunk_shards: 1000,
            deadline: None,
        }
    }
}

/// How far a dispatch got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchProgress {
    /// Messages sent by this call.
    pub sent: u32,
    /// The first shard not yet considered.
    pub next_shard: u32,
    pub complete: bool,
}

/// Sends the messages of shards `from_shard..` that have not completed, in chunks, until
/// done or past the deadline.
pub fn dispatch(
    store: &Store,
    queue: &Queue,
    tasks: &[ShardTask],
    done: &BTreeSet<u32>,
    from_shard: u32,
    options: &DispatchOptions,
) -> Result<DispatchProgress> {
    let mut sent = 0u32;
    let mut next = from_shard as usize;
    while next < tasks.len() {
        if next > from_shard as usize
            && options
                .deadline
                .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Ok(DispatchProgress {
                sent,
                next_shard: next as u32,
                complete: false,
            });
        }
        let end = (next + options.chunk_shards.max(1)).min(tasks.len());
        let bodies = message_bodies(
            store,
            tasks[next..end].iter().filter(|t| !done.contains(&t.shard)),
        );
        queue
            .send_all(&bodies, options.concurrency)
            .with_context(|| format!("sending the messages of shards {next}..{end}"))?;
        sent += bodies.len() as u32;
        next = end;
    }
    // Every message is out: a repeated submission has nothing to resume.
    if let Some(task) = tasks.first() {
        store.put(
            &worker::layout::dispatched_key(&task.run_id),
            serde_json::to_vec(&serde_json::json!({ "shards": tasks.len() }))?,
        )?;
    }
    Ok(DispatchProgress {
        sent,
        next_shard: next as u32,
        complete: true,
    })
}

/// Continues a dispatch that stopped at `next_shard` (a follow-up invocation).
pub fn continue_dispatch(
    store: &Store,
    queue: &Queue,
    run_id: &str,
    next_shard: u32,
    options: &DispatchOptions,
) -> Result<DispatchProgress> {
    let manifest = RunManifest::get(store, run_id)?;
    let tasks = manifest.shard_tasks(store)?;
    let done = completed_shards(store, &manifest)?;
    dispatch(store, queue, &tasks, &done, next_shard, options)
}

fn message_bodies<'a>(store: &Store, tasks: impl Iterator<Item = &'a ShardTask>) -> Vec<String> {
    tasks
        .map(|task| {
            serde_json::to_string(&ShardMessage {
                store: store.root(),
                task: task.clone(),
            })
            .expect("a message serialises")
        })
        .collect()
}

/// Shards of the run with a completion marker.
pub fn completed_shards(store: &Store, manifest: &RunManifest) -> Result<BTreeSet<u32>> {
    Ok(store
        .list(&partials_prefix(&manifest.run_id))?
        .iter()
        .filter_map(|k| shard_of_marker(&manifest.run_id, k))
        .filter(|&s| s < manifest.shards)
        .collect())
}

/// Reduces completion group `group` of `run_id` (once its shards are all done) into one
/// partial, and records it; the record that completes the last group creates `run.ready`.
/// Idempotent: a repeat rewrites the same bytes.
pub fn reduce_group(store: &Store, run_id: &str, group: u32) -> Result<worker::progress::Recorded> {
    let manifest = RunManifest::get(store, run_id)?;
    // A duplicate trigger (S3 delivers at least once; the sweeper re-triggers groups that
    // look unreduced) finds the work done and does nothing.
    if RunReport::get(store, run_id)?.is_some() {
        return Ok(worker::progress::Recorded::RunComplete);
    }
    if worker::progress::group_reduced(store, run_id, group)? {
        return Ok(worker::progress::record_group_reduced(
            store,
            run_id,
            group,
            manifest.shards,
        )?);
    }
    let config = manifest.run_config()?;
    let tasks = manifest.shard_tasks(store)?;
    crate::run::reduce::reduce_group(&tasks, group, store, config.model.advancing())
        .with_context(|| format!("reducing completion group {group} of run {run_id}"))?;
    Ok(worker::progress::record_group_reduced(
        store,
        run_id,
        group,
        manifest.shards,
    )?)
}

/// What `try_reduce` found or did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReduceOutcome {
    /// Not every shard has completed yet.
    NotReady { done: u32, planned: u32 },
    /// Another reducer holds an unexpired claim.
    AlreadyClaimed,
    /// The run has been reduced already (its report exists).
    AlreadyReduced,
    /// This call reduced the run.
    Reduced(Box<RunReport>),
}

/// Who claims a reduce, and until when the claim holds: a reducer that dies mid-reduce
/// (killed at its Lambda timeout, its host lost) is taken over once the lease expires.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    pub claimant: String,
    pub claimed_at: String,
    pub lease_expires_at: String,
    pub generation: u32,
}

/// How long a claim holds: a Lambda reducer cannot outlive its 15-minute timeout, so a
/// claim older than that plus a minute belongs to a reducer that is gone.
pub const REDUCE_LEASE: chrono::TimeDelta = chrono::TimeDelta::minutes(16);

/// Whether this caller now holds the reduce claim.
enum Claimed {
    Yes(u32),
    No,
}

/// Claims the reduce of `run_id`: generation 0 if nobody has, else the next generation
/// once the latest claim's lease has expired. Each generation is a create-only write, so
/// of several callers exactly one wins it.
fn claim(
    store: &Store,
    run_id: &str,
    claimant: &str,
    now: DateTime<Utc>,
    lease: chrono::TimeDelta,
) -> Result<Claimed> {
    let latest = store
        .list(&claims_prefix(run_id))?
        .iter()
        .filter_map(|k| parse_claim_key(run_id, k))
        .max();
    let generation = match latest {
        None => 0,
        Some(g) => {
            let key = claim_key(run_id, g);
            let bytes = store
                .get(&key)?
                .with_context(|| format!("{} was listed but is gone", store.describe(&key)))?;
            let c: Claim = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a claim", store.describe(&key)))?;
            let held = DateTime::parse_from_rfc3339(&c.lease_expires_at)
                .map(|t| now < t.with_timezone(&Utc))
                .unwrap_or(false);
            if held {
                return Ok(Claimed::No);
            }
            g + 1
        }
    };
    let claim = Claim {
        claimant: claimant.to_string(),
        claimed_at: now.to_rfc3339(),
        lease_expires_at: (now + lease).to_rfc3339(),
        generation,
    };
    Ok(
        if store.put_if_absent(&claim_key(run_id, generation), serde_json::to_vec(&claim)?)? {
            Claimed::Yes(generation)
        } else {
            Claimed::No
        },
    )
}

/// Reduces the run if every shard has completed and nobody holds an unexpired claim,
/// with the claim's lease [`REDUCE_LEASE`]. `aws` serves a portfolio on S3 when the
/// run's own store is local.
pub fn try_reduce(
    store: &Store,
    run_id: &str,
    claimant: &str,
    now: DateTime<Utc>,
    aws: &LazyAws,
) -> Result<ReduceOutcome> {
    try_reduce_leased(store, run_id, claimant, now, REDUCE_LEASE, aws)
}

/// [`try_reduce`] with a lease of the caller's choosing.
pub fn try_reduce_leased(
    store: &Store,
    run_id: &str,
    claimant: &str,
    now: DateTime<Utc>,
    lease: chrono::TimeDelta,
    aws: &LazyAws,
) -> Result<ReduceOutcome> {
    let manifest = RunManifest::get(store, run_id)?;
    if RunReport::get(store, run_id)?.is_some() {
        return Ok(ReduceOutcome::AlreadyReduced);
    }
    // A run of several groups is ready once run.ready exists (its groups are reduced);
    // one of a single group, once every marker is there (one listing of at most 100
    // shards' files).
    let ready = if worker::progress::groups_of(manifest.shards) > 1 {
        worker::progress::run_complete(store, run_id)?
    } else {
        completed_shards(store, &manifest)?.len() as u32 == manifest.shards
    };
    if !ready {
        let done = completed_shards(store, &manifest)?.len() as u32;
        return Ok(ReduceOutcome::NotReady {
            done,
            planned: manifest.shards,
        });
    }
    let Claimed::Yes(generation) = claim(store, run_id, claimant, now, lease)? else {
        return Ok(ReduceOutcome::AlreadyClaimed);
    };
    match reduce_claimed(store, &manifest, now, aws) {
        Ok(report) => Ok(ReduceOutcome::Reduced(Box::new(report))),
        // A reducer taken over while it was only slow finished first and removed the
        // partials under this one: the run is reduced, and identically.
        Err(_) if RunReport::get(store, run_id)?.is_some() => Ok(ReduceOutcome::AlreadyReduced),
        Err(e) => {
            // Give the claim back, so that a retry (after the cause is fixed) can reduce.
            let status = RunStatus {
                state: RunState::Failed,
                error: Some(format!("reduce failed: {e:#}")),
                ..derive_status(store, &manifest, &[])?
            };
            let _ = put_status(store, &status);
            // Claims are never deleted (a deleted generation could be created again
            // while a later one is held): the next generation, already expired, gives
            // the claim back.
            let release = Claim {
                claimant: format!("{claimant} (released after a failed reduce)"),
                claimed_at: now.to_rfc3339(),
                lease_expires_at: now.to_rfc3339(),
                generation: generation + 1,
            };
            let _ = store.put_if_absent(
                &claim_key(run_id, generation + 1),
                serde_json::to_vec(&release)?,
            );
            Err(e)
        }
    }
}

fn reduce_claimed(
    store: &Store,
    manifest: &RunManifest,
    now: DateTime<Utc>,
    aws: &LazyAws,
) -> Result<RunReport> {
    let config = manifest.run_config()?;
    let source = PortfolioSource::open(&manifest.portfolio, || {
        store.aws().unwrap_or_else(|| aws.get())
    })?
    .pinned(manifest.portfolio_pin.clone());
    let portfolio = load_portfolio_from(&source)?;
    let tasks = manifest.shard_tasks(store)?;
    let reduce_started = std::time::Instant::now();
    let advancing = config.model.advancing();
    // A run of several completion groups reads one partial per group.
    let (projected, shards_ran) = if worker::progress::groups_of(manifest.shards) > 1 {
        crate::run::reduce::reduce_by_groups(&tasks, store, advancing, portfolio.len())?
    } else {
        crate::run::reduce::reduce(&tasks, store, advancing, portfolio.len())?
    };
    let reduce_seconds = reduce_started.elapsed().as_secs_f64();
    let submitted = DateTime::parse_from_rfc3339(&manifest.submitted_at)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let facts = RunFacts {
        portfolio_location: manifest.portfolio.clone(),
        portfolio: &portfolio,
        config: &config,
        store,
        run_date: NaiveDate::parse_from_str(&manifest.run_date, "%Y-%m-%d")?,
        horizon_months: manifest.horizon_months,
        table_months: manifest.table_months,
        shards: ShardCounts {
            planned: manifest.shards,
            completed: manifest.shards,
        },
        shard_seconds: shards_ran.seconds,
        reduce_seconds,
        deployed: shards_ran.deployed,
        worker_init_ms: shards_ran.init_ms,
        wall_seconds: (now - submitted).as_seconds_f64().max(0.0),
        inputs: InputFingerprint {
            portfolio_sha256: manifest.portfolio_sha256.clone(),
            config_sha256: manifest.config_sha256.clone(),
            market_sha256: manifest.config.market_sha256(),
        },
    };
    let result = finalize(&facts, projected)?;
    // The run is complete (its report is written); what follows is bookkeeping, and a
    // failure in it is recorded, not a failed run.
    // From what the reduce already holds: reading every marker again would cost a GET
    // per shard (30-50 minutes at 100,000 shards).
    let report = &result.report;
    let mut status = RunStatus {
        run_id: manifest.run_id.clone(),
        state: RunState::Succeeded,
        planned: manifest.shards,
        done: manifest.shards,
        failed: Vec::new(),
        submitted_at: manifest.submitted_at.clone(),
        finished_at: Some(now.to_rfc3339()),
        loan_months_planned: manifest.planned_loan_months,
        loan_months_done: report.loan_months,
        estimated_cost_usd: report.bill.first().map_or(0.0, |b| b.total_usd),
        error: None,
    };
    if let Err(e) = store.delete_folder(&partials_prefix(&manifest.run_id)) {
        status.error = Some(format!(
            "the partial results were not removed (the bucket's lifecycle rule expires them): {e}"
        ));
    }
    put_status(store, &status)?;
    Ok(result.report)
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
}

/// A shard that failed, with the last error recorded for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedShard {
    pub shard: u32,
    pub error: String,
    pub retryable: bool,
    /// Whether its message reached the dead-letter queue (no more automatic retries).
    pub dead_lettered: bool,
}

/// `runs/<run_id>/status.json`, also derived on demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStatus {
    pub run_id: String,
    pub state: RunState,
    pub planned: u32,
    pub done: u32,
    pub failed: Vec<FailedShard>,
    pub submitted_at: String,
    pub finished_at: Option<String>,
    pub loan_months_planned: u64,
    pub loan_months_done: u64,
    /// The bill so far: compute (init included) of the finished shards plus their
    /// requests, at the architecture and memory they ran on (Lambda), else x86_64 at
    /// [`worker::cost::BILL_MEMORY_MB`].
    pub estimated_cost_usd: f64,
    pub error: Option<String>,
}

/// The run's status from its manifest, markers, failure records and the shards found in
/// the dead-letter queue.
pub fn derive_status(
    store: &Store,
    manifest: &RunManifest,
    dead_lettered: &[u32],
) -> Result<RunStatus> {
    let run_id = &manifest.run_id;
    let done = completed_shards(store, manifest)?;
    let mut loan_months_done = 0;
    let mut durations_ms = Vec::with_capacity(done.len());
    // Priced at what the shards ran on, when their markers say (Lambda).
    let mut deployed = (
        worker::lambda_facts::Arch::X86_64,
        worker::cost::BILL_MEMORY_MB,
    );
    let mut init_ms = 0.0;
    for &shard in &done {
        if let Some(m) = worker::shard::read_marker(store, run_id, shard)? {
            loan_months_done += m.loan_months;
            durations_ms.push(m.seconds * 1000.0);
            if let Some(l) = m.lambda {
                deployed = (l.arch, l.memory_mb);
                init_ms += l.init_ms;
            }
        }
    }
    let mut failed = Vec::new();
    for key in store.list(&failures_prefix(run_id))? {
        let Some(bytes) = store.get(&key)? else {
            continue;
        };
        let Ok(record) = serde_json::from_slice::<FailureRecord>(&bytes) else {
            continue;
        };
        if !done.contains(&record.shard) {
            failed.push(FailedShard {
                dead_lettered: dead_lettered.contains(&record.shard),
                shard: record.shard,
                error: record.error,
                retryable: record.retryable,
            });
        }
    }
    for &shard in dead_lettered {
        if !done.contains(&shard) && !failed.iter().any(|f| f.shard == shard) {
            failed.push(FailedShard {
                shard,
                error: "its message reached the dead-letter queue".into(),
                retryable: true,
                dead_lettered: true,
            });
        }
    }
    failed.sort_by_key(|f| f.shard);
    let reported = RunReport::get(store, run_id)?.is_some();
    let state = if reported {
        RunState::Succeeded
    } else if failed.iter().any(|f| f.dead_lettered) {
        RunState::Failed
    } else {
        RunState::Running
    };
    let estimated_cost_usd = worker::cost::run_bill(
        &worker::lambda_facts::PRICES,
        deployed.0,
        deployed.1,
        &durations_ms,
        init_ms,
        0.0,
    )
    .total_usd;
    Ok(RunStatus {
        run_id: run_id.clone(),
        state,
        planned: manifest.shards,
        done: done.len() as u32,
        failed,
        submitted_at: manifest.submitted_at.clone(),
        finished_at: None,
        loan_months_planned: manifest.planned_loan_months,
        loan_months_done,
        estimated_cost_usd,
        error: None,
    })
}

pub fn put_status(store: &Store, status: &RunStatus) -> Result<()> {
    store.put(
        &status_key(&status.run_id),
        serde_json::to_vec_pretty(status)?,
    )?;
    Ok(())
}

/// The status as stored by the reducer if the run has finished, else derived now, with
/// the dead-letter queue's shards of this run (when a queue is given).
pub fn status(store: &Store, run_id: &str, queue: Option<&Queue>) -> Result<RunStatus> {
    let manifest = RunManifest::get(store, run_id)?;
    if let Some(bytes) = store.get(&status_key(run_id))? {
        let stored: RunStatus = serde_json::from_slice(&bytes)?;
        if stored.state == RunState::Succeeded {
            return Ok(stored);
        }
    }
    let dead = match queue {
        Some(q) => dead_lettered_shards(q, run_id)?
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
        None => Vec::new(),
    };
    let status = derive_status(store, &manifest, &dead)?;
    if status.state == RunState::Failed {
        put_status(store, &status)?;
    }
    Ok(status)
}

/// Shards of `run_id` whose messages sit in the queue's dead-letter queue, with the
/// receipt handles to delete them by.
fn dead_lettered_shards(queue: &Queue, run_id: &str) -> Result<Vec<(u32, String)>> {
    let Some(dlq) = queue.dead_letter_queue()? else {
        return Ok(Vec::new());
    };
    Ok(dlq
        .peek_all(2)?
        .into_iter()
        .filter_map(|m| {
            let msg: ShardMessage = serde_json::from_str(&m.body).ok()?;
            (msg.task.run_id == run_id).then_some((msg.task.shard, m.receipt_handle))
        })
        .collect())
}

/// Re-issues the shards of a run that have no completion marker (failed, dead-lettered
/// or lost), and removes this run's messages from the dead-letter queue. Returns the
/// re-issued shard numbers.
pub fn retry(store: &Store, run_id: &str, queue: &Queue, concurrency: usize) -> Result<Vec<u32>> {
    let manifest = RunManifest::get(store, run_id)?;
    ensure!(
        RunReport::get(store, run_id)?.is_none(),
        "run {run_id} has already succeeded; nothing to retry"
    );
    let done = completed_shards(store, &manifest)?;
    let tasks = manifest.shard_tasks(store)?;
    let missing: Vec<&ShardTask> = tasks.iter().filter(|t| !done.contains(&t.shard)).collect();
    let dlq = queue.dead_letter_queue()?;
    let stale = match &dlq {
        Some(_) => dead_lettered_shards(queue, run_id)?,
        None => Vec::new(),
    };
    for t in &missing {
        store.delete(&worker::layout::failure_key(run_id, t.shard))?;
    }
    let bodies = message_bodies(store, missing.iter().copied());
    queue.send_all(&bodies, concurrency)?;
    if let Some(dlq) = dlq {
        for (_, receipt) in stale {
            // The receipt came from a zero-visibility peek; a failed delete only leaves
            // a stale copy that `retry` would skip next time (its shard is done).
            let _ = dlq.delete(&receipt);
        }
    }
    let mut status = derive_status(store, &manifest, &[])?;
    status.state = RunState::Running;
    put_status(store, &status)?;
    Ok(missing.iter().map(|t| t.shard).collect())
}
