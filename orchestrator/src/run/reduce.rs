//! The reduce: every shard's exact partial results merged into one table per scenario
//! and one set of sums per loan. Integer sums make the order and grouping invisible, so
//! any shard layout, and any grouping of the reduce, gives the same bytes.
//!
//! A run of several completion groups ([`worker::progress::GROUP_SHARDS`] shards each) is
//! reduced in two levels: each group's shards into one group partial
//! ([`reduce_group`], as the group completes), then the group partials
//! ([`reduce_by_groups`]). The final reduce of a 100,000-shard run reads 1,000 partials,
//! not 100,000.

use anyhow::{Context, Result, ensure};
use engine::CashflowTable;
use engine::risk::LoanSums;
use rayon::prelude::*;
use worker::lambda_facts::Arch;
use worker::layout::{group_prefix, shard_prefix};
use worker::progress::GROUP_SHARDS;
use worker::shard::{
    LambdaInvocation, ShardMarker, ShardPartial, ShardTask, read_partial_in, write_partial,
};
use worker::store::Store;

use super::finalize::Projected;

/// Partials merged per parallel task before the tasks' results are merged: the reduce is
/// a tree, so tasks run in parallel and memory stays bounded.
pub const REDUCE_FAN_IN: usize = 16;

/// What the markers say about the shards, for the bill: each shard's seconds, where they
/// ran (Lambda architecture and memory) and the init time billed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardFacts {
    pub seconds: Vec<f64>,
    pub deployed: Option<(Arch, u32)>,
    pub init_ms: f64,
}

impl ShardFacts {
    fn add(&mut self, m: &ShardMarker) {
        if m.shard_seconds.is_empty() {
            self.seconds.push(m.seconds);
        } else {
            self.seconds.extend(&m.shard_seconds);
        }
        if let Some(l) = m.lambda {
            self.deployed = Some((l.arch, l.memory_mb));
            self.init_ms += l.init_ms;
        }
    }

    fn merge(mut self, other: ShardFacts) -> ShardFacts {
        self.seconds.extend(other.seconds);
        self.deployed = self.deployed.or(other.deployed);
        self.init_ms += other.init_ms;
        self
    }
}

/// A partial to merge: its folder and the task (or group box) it must cover.
struct Part {
    folder: String,
    task: ShardTask,
}

/// The box a completion group covers: its shards' scenario and loan ranges' hulls.
/// `shard` is the group's number.
pub fn group_box(members: &[ShardTask], group: u32) -> ShardTask {
    let first = &members[0];
    ShardTask {
        run_id: first.run_id.clone(),
        run_date: first.run_date.clone(),
        horizon_months: first.horizon_months,
        shard: group,
        loan_start: members.iter().map(|t| t.loan_start).min().unwrap_or(0),
        loan_end: members.iter().map(|t| t.loan_end).max().unwrap_or(0),
        scenario_start: members.iter().map(|t| t.scenario_start).min().unwrap_or(0),
        scenario_end: members.iter().map(|t| t.scenario_end).max().unwrap_or(0),
    }
}

/// The shards of completion group `group`.
pub fn group_members(tasks: &[ShardTask], group: u32) -> &[ShardTask] {
    let start = (group * GROUP_SHARDS) as usize;
    &tasks[start.min(tasks.len())..(start + GROUP_SHARDS as usize).min(tasks.len())]
}

/// Merges every shard's partial results exactly: tables of the same scenario add up,
/// per-loan sums of the same loan add up. Fails if a shard has no completion marker.
pub fn reduce(
    tasks: &[ShardTask],
    store: &Store,
    advancing: bool,
    loans: usize,
) -> Result<(Projected, ShardFacts)> {
    let parts: Vec<Part> = tasks
        .iter()
        .map(|t| Part {
            folder: shard_prefix(&t.run_id, t.shard),
            task: t.clone(),
        })
        .collect();
    reduce_parts(&parts, tasks, store, advancing, loans)
}

/// [`reduce`] from the completion groups' partials, once every group is reduced.
pub fn reduce_by_groups(
    tasks: &[ShardTask],
    store: &Store,
    advancing: bool,
    loans: usize,
) -> Result<(Projected, ShardFacts)> {
    let groups = worker::progress::groups_of(tasks.len() as u32);
    let parts: Vec<Part> = (0..groups)
        .map(|g| Part {
            folder: group_prefix(&tasks[0].run_id, g),
            task: group_box(group_members(tasks, g), g),
        })
        .collect();
    reduce_parts(&parts, tasks, store, advancing, loans)
}

fn reduce_parts(
    parts: &[Part],
    tasks: &[ShardTask],
    store: &Store,
    advancing: bool,
    loans: usize,
) -> Result<(Projected, ShardFacts)> {
    ensure!(!tasks.is_empty(), "no shards to reduce");
    // Every parallel task starts from the run's empty tables: one per scenario.
    let scenarios = tasks.iter().map(|t| t.scenario_end).max().unwrap_or(0) as usize;
    let empty = Projected {
        tables: (0..scenarios)
            .map(|_| CashflowTable::new(tasks[0].horizon_months, advancing))
            .collect(),
        loan_sums: None,
        loan_months: 0,
    };
    parts
        .par_chunks(REDUCE_FAN_IN)
        .map(|chunk| {
            let mut acc = (empty.clone(), ShardFacts::default());
            for part in chunk {
                add_part(&mut acc, part, store, advancing, (0, 0), loans)?;
            }
            Ok(acc)
        })
        .try_reduce_with(|a, b| Ok((merge(a.0, b.0), a.1.merge(b.1))))
        .expect("at least one part")
}

/// Adds one partial onto `acc`, whose tables start at scenario `first.0` and whose loan
/// sums (when any) start at loan `first.1`, `loans` long. Returns when the partial's
/// marker says it finished.
fn add_part(
    acc: &mut (Projected, ShardFacts),
    part: &Part,
    store: &Store,
    advancing: bool,
    first: (u32, u64),
    loans: usize,
) -> Result<i64> {
    let (first_scenario, first_loan) = first;
    let ShardPartial {
        marker,
        tables,
        loan_sums,
    } = read_partial_in(store, &part.folder, advancing)
        .with_context(|| format!("{} is not complete", store.describe(&part.folder)))?;
    ensure!(
        marker.task == part.task,
        "{} holds another task's results",
        store.describe(&part.folder)
    );
    for (k, t) in tables.iter().enumerate() {
        acc.0.tables[(part.task.scenario_start - first_scenario) as usize + k].merge(t);
    }
    if let Some(sums) = loan_sums {
        let all = acc
            .0
            .loan_sums
            .get_or_insert_with(|| vec![LoanSums::default(); loans]);
        let start = (part.task.loan_start - first_loan) as usize;
        for (a, s) in all[start..start + sums.len()].iter_mut().zip(&sums) {
            a.merge(s);
        }
    }
    acc.0.loan_months += marker.loan_months;
    acc.1.add(&marker);
    Ok(marker.finished_at_ms)
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

/// Reduces completion group `group` of a run into one partial in its group folder, the
/// marker last (its task is the group's box; it lists its shards' seconds). Rerunning it
/// rewrites the same bytes.
pub fn reduce_group(
    tasks: &[ShardTask],
    group: u32,
    store: &Store,
    advancing: bool,
) -> Result<ShardMarker> {
    let members = group_members(tasks, group);
    ensure!(
        !members.is_empty(),
        "the run has no completion group {group}"
    );
    let bx = group_box(members, group);
    let scenarios = (bx.scenario_end - bx.scenario_start) as usize;
    let loans = (bx.loan_end - bx.loan_start) as usize;
    let mut acc = (
        Projected {
            tables: (0..scenarios)
                .map(|_| CashflowTable::new(bx.horizon_months, advancing))
                .collect(),
            loan_sums: None,
            loan_months: 0,
        },
        ShardFacts::default(),
    );
    let mut finished_at_ms = 0;
    for t in members {
        let part = Part {
            folder: shard_prefix(&t.run_id, t.shard),
            task: t.clone(),
        };
        let finished = add_part(
            &mut acc,
            &part,
            store,
            advancing,
            (bx.scenario_start, bx.loan_start),
            loans,
        )?;
        finished_at_ms = finished_at_ms.max(finished);
    }
    let (projected, facts) = acc;
    let marker = ShardMarker {
        task: bx,
        loan_months: projected.loan_months,
        seconds: facts.seconds.iter().sum(),
        finished_at_ms,
        lambda: facts.deployed.map(|(arch, memory_mb)| LambdaInvocation {
            arch,
            memory_mb,
            init_ms: facts.init_ms,
        }),
        shard_seconds: facts.seconds,
    };
    write_partial(
        store,
        &group_prefix(&marker.task.run_id, group),
        &marker,
        &projected.tables,
        projected.loan_sums.as_deref(),
    )?;
    Ok(marker)
}
