//! The library half of the `mcflow` command-line tool: what its subcommands compute or
//! draw beyond the orchestrator and worker libraries. The binary (`src/main.rs`,
//! `src/cli.rs`, `src/commands/`) parses flags and calls into these; nothing here knows
//! about flags.
//!
//! A guided tour:
//! - [`render`]: everything printed or drawn for a person: the run summary
//!   ([`render::summary`]), the run's charts ([`render::charts`]), the progress bar, and
//!   the status, plan and sweep tables.
//! - [`sandbox`]: one local invocation of the worker handler under Lambda's limits, in a
//!   child process ([`sandbox::invoke`]), reported as Lambda reports it.
//! - [`sweep`]: the memory/cost sweep's summary, recommendations and calibration, built
//!   on [`sandbox`] invocations.
//! - [`bench`]: kernel throughput on a synthetic portfolio, or on a run's own inputs.
//! - [`diff`]: two runs' headline figures compared, with standard errors.
//!
//! None of this is linked into the Lambda functions: they live in the `worker` and
//! `orchestrator` packages, which depend on no CLI, chart or sandbox code.

pub mod bench;
pub mod diff;
pub mod render;
pub mod sandbox;
pub mod sweep;
