//! Shard planning: a run's loans x scenarios cut into shard tasks. Loan ranges are
//! contiguous rows of the portfolio file; scenario ranges never split an antithetic pair.

use anyhow::Result;
use chrono::NaiveDate;
use engine::Portfolio;
use worker::config::{Model, RunConfig, first_payment_month};
use worker::shard::ShardTask;

/// How shards are sized: by the CLI's flags or a submit request's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// Loans and/or scenarios per shard (missing = all).
    PerShard {
        loans: Option<u64>,
        scenarios: Option<u32>,
    },
    /// N loan ranges of (nearly) equal size, all scenarios each.
    Count(u32),
}

impl Sizing {
    /// One shard of every loan and scenario.
    pub const WHOLE: Sizing = Sizing::PerShard {
        loans: None,
        scenarios: None,
    };

    /// Sizing from a shard count or per-shard sizes, as flags and submit requests give
    /// them (a count wins); `default` when none is given.
    pub fn from_counts(
        shards: Option<u32>,
        loans_per_shard: Option<u64>,
        scenarios_per_shard: Option<u32>,
        default: Sizing,
    ) -> Sizing {
        match (shards, loans_per_shard, scenarios_per_shard) {
            (Some(n), _, _) => Sizing::Count(n),
            (None, None, None) => default,
            (None, loans, scenarios) => Sizing::PerShard { loans, scenarios },
        }
    }
}

/// Why a run cannot be planned as asked. The CLI names its flags for these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SizingError {
    #[error("loans per shard must be at least 1")]
    LoansPerShard,
    #[error("scenarios per shard must be at least 1")]
    ScenariosPerShard,
    #[error("the shard count must be at least 1")]
    ShardCount,
    #[error("nothing to plan: the run has no loans or no scenarios")]
    Empty,
}

/// The run-level values every task carries.
#[derive(Debug, Clone)]
pub struct RunShape {
    pub run_id: String,
    pub run_date: String,
    /// Months every shard projects: the portfolio's full remaining life (the kernel
    /// liquidates every default by then), or the config's horizon when that is longer.
    /// PV, WAL, losses, default rates and loan results are always full-life figures.
    pub horizon_months: u32,
    /// Months the `portfolio_cashflows` table keeps: the config's `horizon_months`,
    /// else the full life. It bounds that table and nothing else.
    pub table_months: u32,
    pub loans: u64,
    /// All scenarios: the base (random, then stress), then each risk bump's block.
    pub scenarios: u32,
    /// The blocks of the scenario index space (the base, then one per risk bump), in
    /// order: a shard range that does not cover everything stays inside one block, so
    /// that each block's antithetic pairs stay whole.
    pub blocks: Vec<std::ops::Range<u32>>,
    /// With antithetic pairs, scenario ranges start at even indices.
    pub antithetic: bool,
    /// Loan-months the run computes: each loan's remaining months within the horizon,
    /// times the scenarios. Shards cover each loan-scenario once, so this is the run's
    /// work however it is split.
    pub planned_loan_months: u64,
}

impl RunShape {
    /// The shape of `config`'s run over `portfolio` on `run_date` (the config's `as_of`
    /// when it has one): horizon, scenario count (random plus stress) and pairing.
    pub fn of(
        config: &RunConfig,
        portfolio: &Portfolio,
        default_run_date: NaiveDate,
    ) -> Result<RunShape> {
        // Every loan runs to its maturity; the config's horizon only cuts the table.
        let full_life = portfolio.max_remaining_term_months();
        let table_months = config.horizon_months.unwrap_or(full_life);
        let horizon = full_life.max(table_months);
        let run_date = config.as_of.unwrap_or(default_run_date);
        let (scenarios, antithetic, blocks) = match &config.model {
            Model::Deterministic(_) => (1, false, std::iter::once(0..1).collect()),
            Model::Stochastic(spec) => {
                let model = spec.model(horizon, first_payment_month(run_date))?;
                let blocks = model.blocks().into_iter().map(|b| b.scenarios).collect();
                (model.scenario_count(), spec.antithetic, blocks)
            }
        };
        Ok(RunShape {
            run_id: config.run_id.to_string(),
            run_date: run_date.format("%Y-%m-%d").to_string(),
            horizon_months: horizon,
            table_months,
            loans: portfolio.len() as u64,
            scenarios,
            blocks,
            antithetic,
            planned_loan_months: portfolio.remaining_terms_up_to(0..portfolio.len(), horizon)
                * u64::from(scenarios),
        })
    }
}

fn ensure(ok: bool, e: SizingError) -> Result<(), SizingError> {
    if ok { Ok(()) } else { Err(e) }
}

/// Cuts `0..total` into pieces of `size` (the last may be shorter).
fn ranges(total: u64, size: u64) -> Vec<(u64, u64)> {
    (0..total.div_ceil(size))
        .map(|i| (i * size, ((i + 1) * size).min(total)))
        .collect()
}

/// Plans the shard tasks of a run, loan-range-major.
pub fn plan(shape: &RunShape, sizing: Sizing) -> Result<Vec<ShardTask>, SizingError> {
    ensure(shape.loans > 0 && shape.scenarios > 0, SizingError::Empty)?;
    let (loans_per, scenarios_per) = match sizing {
        Sizing::PerShard { loans, scenarios } => {
            ensure(loans != Some(0), SizingError::LoansPerShard)?;
            ensure(scenarios != Some(0), SizingError::ScenariosPerShard)?;
            (
                loans.unwrap_or(shape.loans),
                scenarios.unwrap_or(shape.scenarios),
            )
        }
        Sizing::Count(n) => {
            ensure(n > 0, SizingError::ShardCount)?;
            (shape.loans.div_ceil(u64::from(n)), shape.scenarios)
        }
    };
    // An antithetic pair is one draw: keep both halves in the same shard.
    let scenarios_per =
        if shape.antithetic && scenarios_per % 2 == 1 && scenarios_per < shape.scenarios {
            scenarios_per + 1
        } else {
            scenarios_per
        };
    // All scenarios in one range, or each block cut on its own.
    let scenario_ranges: Vec<(u64, u64)> = if scenarios_per >= shape.scenarios {
        vec![(0, u64::from(shape.scenarios))]
    } else {
        shape
            .blocks
            .iter()
            .flat_map(|b| {
                let start = u64::from(b.start);
                ranges(u64::from(b.end - b.start), u64::from(scenarios_per))
                    .into_iter()
                    .map(move |(s0, s1)| (start + s0, start + s1))
            })
            .collect()
    };
    let mut tasks = Vec::new();
    for (loan_start, loan_end) in ranges(shape.loans, loans_per) {
        for &(s0, s1) in &scenario_ranges {
            tasks.push(ShardTask {
                run_id: shape.run_id.clone(),
                run_date: shape.run_date.clone(),
                horizon_months: shape.horizon_months,
                shard: tasks.len() as u32,
                loan_start,
                loan_end,
                scenario_start: s0 as u32,
                scenario_end: s1 as u32,
            });
        }
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(loans: u64, scenarios: u32, antithetic: bool) -> RunShape {
        RunShape {
            run_id: "r".into(),
            run_date: "2026-11-26".into(),
            horizon_months: 360,
            table_months: 360,
            loans,
            scenarios,
            blocks: std::iter::once(0..scenarios).collect(),
            antithetic,
            planned_loan_months: loans * u64::from(scenarios) * 360,
        }
    }

    #[test]
    fn covers_every_loan_and_scenario_exactly_once() {
        let tasks = plan(
            &shape(10_000, 201, false),
            Sizing::PerShard {
                loans: Some(1_429),
                scenarios: Some(67),
            },
        )
        .expect("plan");
        assert_eq!(tasks.len(), 7 * 3);
        let mut covered = vec![0u8; 10_000 * 201];
        for t in &tasks {
            for l in t.loan_start..t.loan_end {
                for s in t.scenario_start..t.scenario_end {
                    covered[l as usize * 201 + s as usize] += 1;
                }
            }
        }
        assert!(covered.iter().all(|&c| c == 1));
        assert_eq!(
            tasks.iter().map(|t| t.shard).collect::<Vec<_>>(),
            (0..21).collect::<Vec<_>>()
        );
    }

    #[test]
    fn never_splits_an_antithetic_pair() {
        let tasks = plan(
            &shape(10, 200, true),
            Sizing::PerShard {
                loans: None,
                scenarios: Some(67),
            },
        )
        .expect("plan");
        assert!(tasks.iter().all(|t| t.scenario_start % 2 == 0));
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[0].scenario_end, 68);
    }

    #[test]
    fn shard_count_splits_loans() {
        let tasks = plan(&shape(10, 4, false), Sizing::Count(3)).expect("plan");
        let loans: Vec<_> = tasks.iter().map(|t| (t.loan_start, t.loan_end)).collect();
        assert_eq!(loans, vec![(0, 4), (4, 8), (8, 10)]);
        assert!(plan(&shape(10, 4, false), Sizing::Count(0)).is_err());
    }
}
