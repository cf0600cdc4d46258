//! The reduce: every shard's exact partial results merged into one table per scenario
//! and one set of sums per loan. Integer sums make the order and grouping invisible, so
//! any shard layout reduces to the same bytes.

use anyhow::{Context, Result, ensure};
use engine::CashflowTable;
use engine::risk::LoanSums;
use rayon::prelude::*;
use worker::shard::{ShardPartial, ShardTask, read_partial};
use worker::store::Store;

use super::finalize::Projected;

/// Partials merged per group before the groups are merged: the reduce is a tree, so
/// groups run in parallel and memory stays bounded however many shards a run has.
pub const REDUCE_FAN_IN: usize = 16;

/// Merges every shard's partial results exactly: tables of the same scenario add up,
/// per-loan sums of the same loan add up. Groups of [`REDUCE_FAN_IN`] shards are reduced
/// in parallel, then the groups are merged; integer sums make the grouping invisible.
/// Fails if a shard has no completion marker.
pub fn reduce(
    tasks: &[ShardTask],
    store: &Store,
    advancing: bool,
    loans: usize,
) -> Result<Projected> {
    ensure!(!tasks.is_empty(), "no shards to reduce");
    // Every group starts from the run's empty tables: one per scenario of the plan.
    let scenarios = tasks.iter().map(|t| t.scenario_end).max().unwrap_or(0) as usize;
    let empty = Projected {
        tables: (0..scenarios)
            .map(|_| CashflowTable::new(tasks[0].horizon_months, advancing))
            .collect(),
        loan_sums: None,
        loan_months: 0,
    };
    tasks
        .par_chunks(REDUCE_FAN_IN)
        .map(|group| reduce_group(group, store, empty.clone(), advancing, loans))
        .try_reduce_with(|a, b| Ok(merge(a, b)))
        .expect("at least one group")
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

/// Adds one group's partials onto `acc`, the run's empty tables.
fn reduce_group(
    tasks: &[ShardTask],
    store: &Store,
    mut acc: Projected,
    advancing: bool,
    loans: usize,
) -> Result<Projected> {
    for task in tasks {
        let ShardPartial {
            marker,
            tables: partial_tables,
            loan_sums: partial_sums,
        } = read_partial(store, &task.run_id, task.shard, advancing)
            .with_context(|| format!("shard {} is not complete", task.shard))?;
        ensure!(
            &marker.task == task,
            "shard {} marker belongs to another task",
            task.shard
        );
        for (k, t) in partial_tables.iter().enumerate() {
            acc.tables[task.scenario_start as usize + k].merge(t);
        }
        if let Some(sums) = partial_sums {
            let all = acc
                .loan_sums
                .get_or_insert_with(|| vec![LoanSums::default(); loans]);
            for (a, s) in all[task.loans()].iter_mut().zip(&sums) {
                a.merge(s);
            }
        }
        acc.loan_months += marker.loan_months;
    }
    Ok(acc)
}
