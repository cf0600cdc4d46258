//! mcflow's orchestration layer and command-line front end: shard planning, the
//! embedded executor, the cloud path (SQS dispatch, poll-mode workers, the exactly-once
//! reduce, status and retry), capacity planning, the Lambda-like local invoke and the
//! memory/cost sweep, benchmarks and the terminal summary. The computing happens
//! in `worker` and `engine`.

pub mod bench;
pub mod capacity;
pub mod charts;
pub mod cli;
pub mod cloud;
pub mod local;
pub mod plan;
pub mod sandbox;
pub mod summary;
pub mod sweep;
