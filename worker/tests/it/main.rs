//! The worker's integration tests, on a local store: one shard's partial files and
//! marker ([`shard`]), the shard runner that runs a message from any transport
//! ([`runner`]), and the worker function's event handling ([`handler`]).

mod handler;
mod runner;
mod shard;

use std::path::{Path, PathBuf};

use worker::manifest::{ConfigText, RunManifest, ShardMessage};
use worker::shard::ShardTask;
use worker::store::Store;

pub(crate) const RUN_ID: &str = "it-run";
pub(crate) const RUN_DATE: &str = "2026-11-25";
pub(crate) const HORIZON_MONTHS: u32 = 120;
pub(crate) const SCENARIOS: u32 = 6;

/// A small stochastic run, so that both partial files exist (written with dotted keys,
/// which the config accepts like tables).
pub(crate) const CONFIG: &str = r#"
run_id = "it-run"
as_of = "2026-11-25"
horizon_months = 120
model = { kind = "stochastic", scenarios = 6, seed = 11, antithetic = true }
rates.model = "hull-white"
rates.mean_reversion = 0.03
rates.volatility = 0.01
rates.curve.flat_pct = 4.0
rates.mortgage_spread_pct = 1.7
"#;

/// A run written to a local store as a submission would write it: the portfolio, the
/// manifest and its shard tasks (`loans_per_shard` loans each, all scenarios).
pub(crate) struct Fixture {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) portfolio: PathBuf,
    pub(crate) tasks: Vec<ShardTask>,
}

impl Fixture {
    pub(crate) fn new(loans: u64, loans_per_shard: u64) -> Fixture {
        let dir = tempfile::tempdir().expect("tmp");
        let portfolio = dir.path().join("portfolio.parquet");
        worker::portfolio_file::write_portfolio_parquet(
            &portfolio,
            &engine::sample::synthetic_loans(loans as usize, 5),
        )
        .expect("portfolio");
        let store = Store::local(dir.path().join("store"));
        let tasks: Vec<ShardTask> = (0..loans.div_ceil(loans_per_shard))
            .map(|i| ShardTask {
                run_id: RUN_ID.into(),
                run_date: RUN_DATE.into(),
                horizon_months: HORIZON_MONTHS,
                shard: i as u32,
                loan_start: i * loans_per_shard,
                loan_end: ((i + 1) * loans_per_shard).min(loans),
                scenario_start: 0,
                scenario_end: SCENARIOS,
            })
            .collect();
        let config = ConfigText {
            name: "run.toml".into(),
            text: CONFIG.into(),
            files: Default::default(),
        };
        let manifest = RunManifest {
            run_id: RUN_ID.into(),
            run_date: RUN_DATE.into(),
            submitted_at: "2026-11-25T00:00:00Z".into(),
            portfolio: portfolio.display().to_string(),
            portfolio_sha256: worker::report::sha256_file(&portfolio).expect("sha"),
            portfolio_pin: None,
            config_sha256: worker::report::sha256_bytes(CONFIG.as_bytes()),
            config,
            loans,
            scenarios: SCENARIOS,
            horizon_months: HORIZON_MONTHS,
            table_months: HORIZON_MONTHS,
            shards: tasks.len() as u32,
            planned_loan_months: 0,
        };
        manifest.put(&store, &tasks).expect("manifest");
        Fixture {
            _dir: dir,
            store,
            portfolio,
            tasks,
        }
    }

    pub(crate) fn message(&self, shard: u32) -> ShardMessage {
        ShardMessage {
            store: self.store.root(),
            task: self.tasks[shard as usize].clone(),
        }
    }

    pub(crate) fn config(&self) -> worker::config::RunConfig {
        worker::config::RunConfig::parse(CONFIG, Path::new("run.toml")).expect("config")
    }
}
