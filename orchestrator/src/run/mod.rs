//! A run, top-down: [`plan`] cuts it into shard tasks; each shard runs in the worker
//! (`worker::shard::run_shard`, from any transport) and leaves exact partial results;
//! [`reduce`] merges them; [`finalize`] derives the risk measures and writes the final
//! tables and `report.json`. [`local`] drives the four steps in one process; the cloud
//! path (`crate::cloud`) drives the same steps over a queue and an object store.
//!
//! The types that describe a run, and why each exists:
//! - [`plan::RunShape`]: what a run is, derived once from config and portfolio (id,
//!   business date, horizon, loans, scenarios, pairing, planned loan-months).
//! - `worker::shard::ShardTask`: one shard's slice of it (loan range x scenario range),
//!   the unit that crosses a queue.
//! - `worker::manifest::RunManifest`: the run as submitted to a store, for workers and
//!   the reducer that were not there when it was planned.
//! - [`finalize::Projected`]: what the reduce hands on, the exact tables and sums.
//! - [`finalize::RunFacts`]: what finalize needs besides them (inputs, timings).
//! - [`finalize::RunOutputs`] and `worker::report::RunReport`: what a run leaves.

pub mod finalize;
pub mod local;
pub mod plan;
pub mod reduce;
pub mod risk;
