//! mcflow's orchestration layer and command-line front end: argument parsing, thread
//! pools, benchmarks and the terminal summary. Later layers (shard planning, dispatch,
//! reduction) live here too; the computing happens in `worker` and `engine`.

pub mod bench;
pub mod charts;
pub mod cli;
pub mod local;
pub mod plan;
pub mod summary;
