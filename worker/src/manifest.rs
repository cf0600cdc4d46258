//! A cloud run's manifest: everything a worker anywhere needs to run any shard of the
//! run (the configuration text and the files it names, the portfolio's location and
//! checksum), written once by the orchestrator before any shard is sent. The shard list
//! is kept beside it, so workers fetch a small document and only the reducer the list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, RunConfig, RunId};
use crate::layout::{manifest_key, shards_key};
use crate::shard::ShardTask;
use crate::store::{Pin, Store, StoreError};

/// A configuration as submitted: the file's name and text, and the text of every file
/// it refers to (stress paths), keyed by the path the parser resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigText {
    pub name: String,
    pub text: String,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

impl ConfigText {
    /// Reads and validates a configuration file, capturing the files it names.
    pub fn capture(path: &Path) -> Result<(ConfigText, RunConfig), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        ConfigText::capture_text(path, text)
    }

    /// Validates configuration `text` named `path` (files it names resolve against
    /// `path`'s folder; a bare name such as `<stdin>` resolves against the working
    /// directory), capturing the files it names.
    pub fn capture_text(path: &Path, text: String) -> Result<(ConfigText, RunConfig), ConfigError> {
        let files = std::cell::RefCell::new(BTreeMap::new());
        let config = RunConfig::parse_with(&text, path, &|p| {
            let bytes = std::fs::read(p)?;
            let s = String::from_utf8(bytes.clone()).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
            })?;
            files.borrow_mut().insert(p.display().to_string(), s);
            Ok(bytes)
        })?;
        let captured = ConfigText {
            name: path.display().to_string(),
            text,
            files: files.into_inner(),
        };
        Ok((captured, config))
    }

    /// SHA-256 of the run's settings: the config as TOML (so comments and layout do not
    /// count) without `run_id` and `as_of`, which name the run and its business date
    /// (reported apart) rather than what it computes. The same for a local run and a
    /// cloud run of the same config, and for yesterday's and today's run of it.
    pub fn config_sha256(&self) -> String {
        let canonical = match self.text.parse::<toml::Table>() {
            Ok(mut document) => {
                document.remove("run_id");
                document.remove("as_of");
                toml::to_string(&document).unwrap_or_else(|_| self.text.clone())
            }
            Err(_) => self.text.clone(),
        };
        crate::report::sha256_bytes(canonical.as_bytes())
    }

    /// SHA-256 of the market inputs: the `[rates]` and `[house_prices]` sections (as
    /// TOML, so comments and layout do not count) and the contents of every file the
    /// config names, wherever they were read from.
    pub fn market_sha256(&self) -> String {
        let mut market = toml::Table::new();
        if let Ok(mut document) = self.text.parse::<toml::Table>() {
            for section in ["rates", "house_prices"] {
                if let Some(v) = document.remove(section) {
                    market.insert(section.to_string(), v);
                }
            }
        }
        let mut text = toml::to_string(&market).unwrap_or_default();
        let mut files: Vec<&String> = self.files.values().collect();
        files.sort();
        for f in files {
            text.push('\u{0}');
            text.push_str(f);
        }
        crate::report::sha256_bytes(text.as_bytes())
    }

    /// Validates the captured configuration again, its files read from the capture.
    pub fn parse(&self) -> Result<RunConfig, ConfigError> {
        RunConfig::parse_with(&self.text, &PathBuf::from(&self.name), &|p| {
            self.files
                .get(&p.display().to_string())
                .map(|s| s.as_bytes().to_vec())
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not captured in the run manifest",
                    )
                })
        })
    }
}

/// What a cloud run is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    pub run_id: String,
    /// YYYY-MM-DD.
    pub run_date: String,
    /// When the run was submitted, RFC 3339.
    pub submitted_at: String,
    /// Where the portfolio is: `s3://bucket/key` or a path every worker can read.
    pub portfolio: String,
    pub portfolio_sha256: String,
    /// The version of the portfolio object the checksum is of; workers and the reducer
    /// read exactly it (absent for a local file).
    #[serde(default)]
    pub portfolio_pin: Option<Pin>,
    pub config: ConfigText,
    pub config_sha256: String,
    pub loans: u64,
    pub scenarios: u32,
    /// Months every shard projects (the full life).
    pub horizon_months: u32,
    /// Months the `portfolio_cashflows` table keeps (0 in manifests from before it: the
    /// whole projection).
    #[serde(default)]
    pub table_months: u32,
    pub shards: u32,
    pub planned_loan_months: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
    #[error("no run {run_id} in {root} (no {key})")]
    Missing {
        run_id: String,
        root: String,
        key: String,
    },
}

fn get_json<T: serde::de::DeserializeOwned>(
    store: &Store,
    key: &str,
    run_id: &str,
) -> Result<T, ManifestError> {
    let bytes = store.get(key)?.ok_or_else(|| ManifestError::Missing {
        run_id: run_id.to_string(),
        root: store.root(),
        key: key.to_string(),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ManifestError::Invalid {
        location: store.describe(key),
        message: e.to_string(),
    })
}

impl RunManifest {
    /// Writes the shard list, then the manifest.
    pub fn put(&self, store: &Store, shards: &[ShardTask]) -> Result<(), StoreError> {
        let list = serde_json::to_vec(shards).expect("tasks serialise");
        store.put(&shards_key(&self.run_id), list)?;
        let json = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        store.put(&manifest_key(&self.run_id), json)
    }

    /// Creates the manifest only if the run has none yet (of concurrent submissions of the
    /// same run, exactly one gets `true`), then, if it did, the shard list. No shard
    /// message may be sent before this returns.
    pub fn create(&self, store: &Store, shards: &[ShardTask]) -> Result<bool, StoreError> {
        let json = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        if !store.put_if_absent(&manifest_key(&self.run_id), json)? {
            return Ok(false);
        }
        let list = serde_json::to_vec(shards).expect("tasks serialise");
        store.put(&shards_key(&self.run_id), list)?;
        Ok(true)
    }

    pub fn get(store: &Store, run_id: &str) -> Result<RunManifest, ManifestError> {
        get_json(store, &manifest_key(run_id), run_id)
    }

    /// The run's configuration as it runs: the captured file, with the run id and
    /// business date the submission settled on (a scheduled run is
    /// `<config run_id>-<as_of>`, whatever the file says).
    pub fn run_config(&self) -> Result<RunConfig, ConfigError> {
        let mut config = self.config.parse()?;
        let invalid = |key: &'static str, message: String| ConfigError::Value {
            path: PathBuf::from(&self.config.name),
            key,
            message,
        };
        config.run_id = RunId::parse(&self.run_id).map_err(|m| invalid("run_id", m))?;
        config.as_of = Some(
            chrono::NaiveDate::parse_from_str(&self.run_date, "%Y-%m-%d")
                .map_err(|e| invalid("as_of", format!("{:?}: {e}", self.run_date)))?,
        );
        Ok(config)
    }

    /// The planned shard tasks; their count must match the manifest's.
    pub fn shard_tasks(&self, store: &Store) -> Result<Vec<ShardTask>, ManifestError> {
        let key = shards_key(&self.run_id);
        let tasks: Vec<ShardTask> = get_json(store, &key, &self.run_id)?;
        let in_order = tasks.iter().enumerate().all(|(i, t)| t.shard as usize == i);
        if tasks.len() != self.shards as usize || !in_order {
            return Err(ManifestError::Invalid {
                location: store.describe(&key),
                message: format!(
                    "expected shards 0..{} in order, found {} tasks",
                    self.shards,
                    tasks.len()
                ),
            });
        }
        Ok(tasks)
    }
}

/// The body of a shard's queue message: where the run lives and which shard to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardMessage {
    /// The run's store root, `s3://bucket/prefix` (or a shared directory).
    pub store: String,
    pub task: ShardTask,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_checksum_is_of_the_settings_not_the_run_name_date_or_layout() {
        let text = |t: &str| ConfigText {
            name: "c.toml".into(),
            text: t.into(),
            files: BTreeMap::new(),
        };
        let base = text("run_id = \"a\"\n[model]\nkind = \"stochastic\"\nseed = 1\n");
        let renamed = text(
            "# daily\nrun_id = \"b\"\nas_of = \"2026-12-01\"\n\n[model]\nkind = \"stochastic\"\nseed   = 1\n",
        );
        assert_eq!(base.config_sha256(), renamed.config_sha256());
        let reseeded = text("run_id = \"a\"\n[model]\nkind = \"stochastic\"\nseed = 2\n");
        assert_ne!(base.config_sha256(), reseeded.config_sha256());
    }

    #[test]
    fn a_captured_config_parses_without_the_disk() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/run.toml");
        let (captured, config) = ConfigText::capture(&root).expect("bundled config");
        assert!(
            captured.files.keys().any(|k| k.ends_with(".csv")),
            "stress path captured: {:?}",
            captured.files.keys()
        );
        let again = captured.parse().expect("parses from the capture");
        assert_eq!(again.run_id, config.run_id);
        assert_eq!(again.model.describe(), config.model.describe());
        let mut broken = captured.clone();
        broken.files.clear();
        let e = broken.parse().expect_err("file missing").to_string();
        assert!(e.contains("not captured in the run manifest"), "{e}");
    }
}
