//! mcflow's shard runner: it reads a shard's inputs, validates them into engine types,
//! calls the engine, and writes the shard's exact partial results and, last, its
//! completion marker. It also owns the files and stores every other crate writes
//! through, and the worker function's Lambda shell.
//!
//! A guided tour:
//! - Inputs, validated at the boundary: [`config`] (`RunConfigFile` -> [`config::RunConfig`],
//!   with [`stochastic_config`]; [`config_override`] applies `--set key=value`),
//!   [`portfolio_file`] (CSV or Parquet -> `engine::Portfolio`),
//!   [`fannie`] (Fannie Mae loan-level import).
//! - One shard: [`shard`] ([`shard::ShardTask`], [`shard::run_shard`], [`shard::read_partial`]),
//!   run from any transport by [`runner::ShardRunner`]; [`manifest`] is what a cloud run
//!   carries to its workers ([`manifest::RunManifest`], [`manifest::ShardMessage`]).
//! - Outputs: [`cashflow_parquet`] and [`results_parquet`] (the final tables), [`report`]
//!   (`report.json`), [`parquet_file`] and [`atomic`] (whole-or-nothing writes).
//! - Where things live: [`layout`] (every store key), [`store`] (a local directory or
//!   `s3://`, one blocking interface), [`aws`] (the SDK behind it), [`remote_parquet`]
//!   (ranged reads of a portfolio in S3).
//! - Lambda: [`lambda_facts`] (limits and prices), [`cost`] (a run's bill),
//!   [`lambda_worker`] (the worker function's events), [`dead_letter`] (poison shards
//!   straight to the dead-letter queue), [`serve`] (the runtime loop every
//!   function shell uses), [`process_memory`] (peak memory).

pub mod atomic;
pub mod aws;
pub mod aws_failure;
pub mod cashflow_parquet;
pub mod config;
pub mod config_override;
pub mod cost;
pub mod dead_letter;
pub mod fannie;
pub mod lambda_facts;
pub mod lambda_worker;
pub mod layout;
pub mod manifest;
pub mod parquet_file;
pub mod portfolio_file;
pub mod process_memory;
pub mod progress;
pub mod remote_parquet;
pub mod report;
pub mod results_parquet;
pub mod runner;
pub mod serve;
pub mod shard;
pub mod stochastic_config;
pub mod store;
