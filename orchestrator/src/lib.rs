//! mcflow's orchestration layer: it plans a run into shards, dispatches them (in this
//! process, or over SQS to Lambda or poll-mode workers), detects completion and reduces
//! the shards' partial results exactly once. The computing happens in `worker` and
//! `engine`; the `mcflow` command line is the `mcflow` package beside this one.
//!
//! A guided tour, in the order a run goes:
//! - [`run`]: a run top-down: [`run::plan`] (the run's shape, cut into shard tasks),
//!   the shards (`worker::shard`), [`run::reduce`] (exact merge) and [`run::finalize`]
//!   (risk measures, final tables, `report.json`); [`run::local`] runs all four in
//!   this process.
//! - [`cloud`]: the same run over a queue and an object store: [`cloud::submit`]
//!   (manifest and fan-out), [`cloud::try_reduce`] (the exactly-once claim), status and
//!   retry, poll-mode workers ([`cloud::poll`]), and the Lambda event handling
//!   ([`cloud::lambda`]) whose shells are `src/bin/`.
//! - [`page`]: `report.html` and its charts, written by [`run::finalize`] before
//!   `report.json`, so local and cloud runs both have them.
//! - [`capacity`]: worker memory and shard size for a deadline and budget (pure).

pub mod capacity;
pub mod cloud;
pub mod page;
pub mod run;
