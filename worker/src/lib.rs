//! mcflow's shard runner: reads inputs (portfolio files, run configuration), calls the
//! engine, and writes Parquet tables and the run report.
//!
//! The central entry point is [`job::run_job`]; inputs are validated into engine types by
//! [`config::RunConfig`] and [`portfolio_file::load_portfolio`].

pub mod atomic;
pub mod aws;
pub mod cashflow_parquet;
pub mod config;
pub mod cost;
pub mod fannie;
pub mod job;
pub mod lambda_worker;
pub mod manifest;
pub mod parquet_file;
pub mod portfolio_file;
pub mod remote_parquet;
pub mod report;
pub mod results_parquet;
pub mod runner;
pub mod shard;
pub mod stochastic_config;
pub mod store;
