//! The run configuration file (TOML): wire types that mirror the file exactly, and their
//! validation into the engine's domain types.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use engine::deterministic::ModelError;
use engine::{DefaultSpeed, DeterministicModel, Pipeline, PrepaySpeed};
use serde::Deserialize;

use crate::stochastic_config::{
    DiscountFile, HousePricesFile, LossFile, RatesFile, RiskFile, StochasticConfigError,
    StochasticModelFile, StochasticSections, StochasticSpec,
};

/// Why a run configuration could not be used. Every message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read run config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run config {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("run config {path}: {source}")]
    Model { path: PathBuf, source: ModelError },
    #[error("run config {path}: {source}")]
    Stochastic {
        path: PathBuf,
        source: StochasticConfigError,
    },
    #[error("run config {path}: {key}: {message}")]
    Value {
        path: PathBuf,
        key: &'static str,
        message: String,
    },
}

/// The file as written. Unknown keys are errors so that a typo never silently falls
/// back to a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfigFile {
    pub run_id: String,
    /// Projection months; default: the longest remaining term in the portfolio.
    pub horizon_months: Option<u32>,
    /// Business date of the run (YYYY-MM-DD), used for the `run_date` partition; default:
    /// today (UTC).
    pub as_of: Option<String>,
    pub model: ModelConfigFile,
    pub rates: Option<RatesFile>,
    pub house_prices: Option<HousePricesFile>,
    pub prepay: Option<engine::stochastic::PrepayParams>,
    pub default: Option<engine::stochastic::DefaultParams>,
    pub loss: Option<LossFile>,
    pub discount: Option<DiscountFile>,
    pub risk: Option<RiskFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelConfigFile {
    Deterministic(DeterministicConfigFile),
    Stochastic(StochasticModelFile),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterministicConfigFile {
    pub prepay: PrepayConfigFile,
    pub default: Option<DefaultConfigFile>,
    #[serde(default)]
    pub severity_pct: f64,
    #[serde(default)]
    pub recovery_lag_months: u32,
    #[serde(default)]
    pub advancing: bool,
    /// Foreclosure and REO costs at liquidation, percent of the liquidated balance;
    /// default 0 (the SIFMA standard's cash flow has none).
    #[serde(default)]
    pub foreclosure_cost_pct: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum PrepayConfigFile {
    #[serde(rename = "psa")]
    Psa(f64),
    #[serde(rename = "cpr_pct")]
    CprPct(f64),
    #[serde(rename = "smm_pct")]
    SmmPct(f64),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum DefaultConfigFile {
    #[serde(rename = "sda")]
    Sda(f64),
    #[serde(rename = "cdr_pct")]
    CdrPct(f64),
    #[serde(rename = "mdr_pct")]
    MdrPct(f64),
}

/// A validated run configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    pub run_id: RunId,
    pub horizon_months: Option<u32>,
    pub as_of: Option<NaiveDate>,
    pub model: Model,
}

/// The model a run uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Model {
    Deterministic(DeterministicModel),
    Stochastic(Box<StochasticSpec>),
}

impl Model {
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Deterministic(_) => "deterministic",
            Model::Stochastic(_) => "stochastic",
        }
    }

    pub fn scenarios(&self) -> u32 {
        match self {
            Model::Deterministic(_) => 1,
            Model::Stochastic(s) => s.scenarios,
        }
    }

    pub fn advancing(&self) -> bool {
        match self {
            Model::Deterministic(m) => m.pipeline().advancing,
            Model::Stochastic(s) => s.loss.pipeline.advancing,
        }
    }

    /// One line describing the assumptions, for reports.
    pub fn describe(&self) -> String {
        match self {
            Model::Deterministic(m) => format!(
                "deterministic: {}, {}, severity {}%, {}-month recovery lag, P&I {}",
                m.prepay(),
                m.default_speed(),
                m.severity_pct(),
                m.pipeline().recovery_lag_months,
                if m.pipeline().advancing {
                    "advanced"
                } else {
                    "not advanced"
                }
            ),
            Model::Stochastic(s) => format!(
                "stochastic: {} scenarios{}{}{} (seed {}), Hull-White a={} sigma={}, mortgage spread {}%, {}-month recovery lag, P&I {}",
                s.scenarios,
                if s.antithetic {
                    " in antithetic pairs"
                } else {
                    ""
                },
                match s.sampler {
                    engine::sampler::Sampler::Sobol => ", Sobol with a Brownian bridge",
                    engine::sampler::Sampler::Pseudo => "",
                },
                if s.moment_matching {
                    ", discount factors moment-matched"
                } else {
                    ""
                },
                s.seed,
                s.hull_white.mean_reversion(),
                s.hull_white.volatility(),
                s.mortgage_spread_pct,
                s.loss.pipeline.recovery_lag_months,
                if s.loss.pipeline.advancing {
                    "advanced"
                } else {
                    "not advanced"
                }
            ),
        }
    }
}

/// A run identifier: it becomes a Hive partition value and part of object keys, so it is
/// restricted to characters that are safe in both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunId(String);

impl RunId {
    pub const MAX_LEN: usize = 128;

    pub fn parse(s: &str) -> Result<RunId, String> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(format!(
                "{s:?} must be 1 to {} characters long",
                Self::MAX_LEN
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            || s.starts_with('.')
        {
            return Err(format!(
                "{s:?} may only hold ASCII letters, digits, '-', '_' and '.' (not first)"
            ));
        }
        Ok(RunId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl RunConfigFile {
    /// The first stochastic-only section present, if any.
    fn stochastic_section(&self) -> Option<&'static str> {
        [
            ("rates", self.rates.is_some()),
            ("house_prices", self.house_prices.is_some()),
            ("prepay", self.prepay.is_some()),
            ("default", self.default.is_some()),
            ("loss", self.loss.is_some()),
            ("discount", self.discount.is_some()),
            ("risk", self.risk.is_some()),
        ]
        .into_iter()
        .find(|(_, present)| *present)
        .map(|(name, _)| name)
    }
}

/// Calendar month (1-12) of the first payment after the business date: where the
/// stochastic model's seasonality starts.
pub fn first_payment_month(run_date: NaiveDate) -> u32 {
    run_date.month() % 12 + 1
}

/// The full key and message of an error inside `[model]`, found by reading the table
/// as the model its `kind` names; `None` when that finds nothing more precise.
fn model_error(text: &str) -> Option<(String, String)> {
    let mut model = text.parse::<toml::Table>().ok()?.remove("model")?;
    let table = model.as_table_mut()?;
    let kind = table.remove("kind")?;
    let result = match kind.as_str()? {
        "deterministic" => {
            serde_path_to_error::deserialize::<_, DeterministicConfigFile>(model).map(|_| ())
        }
        "stochastic" => {
            serde_path_to_error::deserialize::<_, StochasticModelFile>(model).map(|_| ())
        }
        _ => return None,
    };
    let e = result.err()?;
    let inner = e.path().to_string();
    let key = if inner.is_empty() || inner == "." {
        "model".to_string()
    } else {
        format!("model.{inner}")
    };
    Some((key, e.inner().message().trim().to_string()))
}

impl RunConfig {
    /// Reads and validates a run configuration file.
    pub fn load(path: &Path) -> Result<RunConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        RunConfig::parse(&text, path)
    }

    /// Validates configuration text; `path` names it in messages, and files it refers to
    /// (stress paths) resolve against `path`'s folder on disk.
    pub fn parse(text: &str, path: &Path) -> Result<RunConfig, ConfigError> {
        RunConfig::parse_with(text, path, &|p| std::fs::read(p))
    }

    /// [`RunConfig::parse`] with the referenced files fetched by `read`.
    pub fn parse_with(
        text: &str,
        path: &Path,
        read: crate::stochastic_config::ReadFile<'_>,
    ) -> Result<RunConfig, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let document = toml::Deserializer::parse(text).map_err(|e| parse_error(e.to_string()))?;
        // A value of the wrong type or shape is reported with its full key
        // (`model.scenarios`), not only the table it sits in.
        let file: RunConfigFile = serde_path_to_error::deserialize(document).map_err(|e| {
            let key = e.path().to_string();
            let message = e.inner().message().trim().to_string();
            // `[model]` is tagged by `kind`: serde buffers a tagged table, so the error
            // stops at `model`; reading the table again as its kind finds the key.
            let (key, message) = if key == "model" {
                model_error(text).unwrap_or((key, message))
            } else {
                (key, message)
            };
            parse_error(if key.is_empty() || key == "." {
                message
            } else {
                format!("{key}: {message}")
            })
        })?;
        let value_error = |key, message| ConfigError::Value {
            path: path.to_path_buf(),
            key,
            message,
        };
        let run_id = RunId::parse(&file.run_id).map_err(|m| value_error("run_id", m))?;
        if let Some(h) = file.horizon_months
            && !(1..=engine::portfolio::MAX_TERM_MONTHS).contains(&h)
        {
            return Err(value_error(
                "horizon_months",
                format!("{h} must be between 1 and 480"),
            ));
        }
        let as_of = file
            .as_of
            .as_deref()
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| value_error("as_of", format!("{s:?} is not a YYYY-MM-DD date")))
            })
            .transpose()?;
        let model = match file.model {
            ModelConfigFile::Deterministic(ref d) => {
                let prepay = match d.prepay {
                    PrepayConfigFile::Psa(v) => PrepaySpeed::Psa(v),
                    PrepayConfigFile::CprPct(v) => PrepaySpeed::CprPct(v),
                    PrepayConfigFile::SmmPct(v) => PrepaySpeed::SmmPct(v),
                };
                let default = match d.default {
                    None => DefaultSpeed::None,
                    Some(DefaultConfigFile::Sda(v)) => DefaultSpeed::Sda(v),
                    Some(DefaultConfigFile::CdrPct(v)) => DefaultSpeed::CdrPct(v),
                    Some(DefaultConfigFile::MdrPct(v)) => DefaultSpeed::MdrPct(v),
                };
                let pipeline = Pipeline {
                    recovery_lag_months: d.recovery_lag_months,
                    advancing: d.advancing,
                };
                if let Some(section) = file.stochastic_section() {
                    return Err(value_error(
                        section,
                        "applies only to model.kind = \"stochastic\"".to_string(),
                    ));
                }
                Model::Deterministic(
                    DeterministicModel::new(prepay, default, d.severity_pct, pipeline)
                        .and_then(|m| m.with_foreclosure_cost_pct(d.foreclosure_cost_pct))
                        .map_err(|source| ConfigError::Model {
                            path: path.to_path_buf(),
                            source,
                        })?,
                )
            }
            ModelConfigFile::Stochastic(ref m) => {
                let sections = StochasticSections {
                    rates: file.rates.clone(),
                    house_prices: file.house_prices.clone(),
                    prepay: file.prepay,
                    default: file.default,
                    loss: file.loss.clone(),
                    discount: file.discount.clone(),
                    risk: file.risk.clone(),
                };
                let base_dir = path.parent().unwrap_or(Path::new("."));
                let spec =
                    StochasticSpec::from_file(m, sections, base_dir, read).map_err(|source| {
                        ConfigError::Stochastic {
                            path: path.to_path_buf(),
                            source,
                        }
                    })?;
                Model::Stochastic(Box::new(spec))
            }
        };
        Ok(RunConfig {
            run_id,
            horizon_months: file.horizon_months,
            as_of,
            model,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RunConfig, ConfigError> {
        RunConfig::parse(text, Path::new("run.toml"))
    }

    const SIFMA_B: &str = r#"
run_id = "sifma-b"
horizon_months = 360
[model]
kind = "deterministic"
prepay = { psa = 150.0 }
default = { sda = 100 }
severity_pct = 20.0
recovery_lag_months = 12
advancing = true
"#;

    #[test]
    fn parses_the_documented_example() {
        let c = parse(SIFMA_B).expect("valid");
        assert_eq!(c.run_id.as_str(), "sifma-b");
        assert_eq!(c.horizon_months, Some(360));
        let Model::Deterministic(m) = c.model else {
            panic!("deterministic expected")
        };
        assert_eq!(m.prepay(), PrepaySpeed::Psa(150.0));
        assert_eq!(m.default_speed(), DefaultSpeed::Sda(100.0));
        assert_eq!(m.pipeline().recovery_lag_months, 12);
        assert!(m.pipeline().advancing);
    }

    const STOCHASTIC: &str = r#"
run_id = "daily"
[model]
kind = "stochastic"
scenarios = 100
seed = 42
antithetic = true
[rates]
model = "hull-white"
mean_reversion = 0.03
volatility = 0.01
curve = { zero_pct = [[1.0, 4.1], [10.0, 4.4], [30.0, 4.6]] }
mortgage_spread_pct = 1.7
[loss]
recovery_lag_months = 18
"#;

    #[test]
    fn parses_a_stochastic_config_with_defaults() {
        let c = parse(STOCHASTIC).expect("valid");
        let Model::Stochastic(s) = &c.model else {
            panic!("stochastic expected")
        };
        assert_eq!((s.scenarios, s.seed, s.antithetic), (100, 42, true));
        assert_eq!(s.loss.pipeline.recovery_lag_months, 18);
        assert_eq!(s.prepay, engine::stochastic::PrepayParams::default());
        assert!((s.hull_white.curve().zero(5.5) - 0.0425).abs() < 1e-15);
        assert_eq!(c.model.scenarios(), 100);
    }

    #[test]
    fn stochastic_errors_name_the_key() {
        for (from, to, needle) in [
            ("scenarios = 100", "scenarios = 101", "model.scenarios: 101"),
            ("volatility = 0.01", "volatility = -1", "rates.volatility"),
            (
                "recovery_lag_months = 18",
                "recovery_lag_month = 18",
                "recovery_lag_month",
            ),
            (
                "recovery_lag_months = 18",
                "recovery_lag_months = 500",
                "loss.recovery_lag_months",
            ),
            (
                "[1.0, 4.1], [10.0, 4.4]",
                "[10.0, 4.1], [1.0, 4.4]",
                "rates.curve",
            ),
            ("\"hull-white\"", "\"vasicek\"", "vasicek"),
            // A value of the wrong type names its full key.
            (
                "recovery_lag_months = 18",
                "recovery_lag_months = \"18\"",
                "loss.recovery_lag_months: invalid type: string \"18\"",
            ),
            // Inside the `kind`-tagged `[model]` table too.
            (
                "scenarios = 100",
                "scenarios = \"100\"",
                "model.scenarios: invalid type: string \"100\"",
            ),
        ] {
            let e = parse(&STOCHASTIC.replace(from, to))
                .expect_err(needle)
                .to_string();
            assert!(
                e.contains(needle) && e.contains("run.toml"),
                "{needle}: {e}"
            );
        }
        let e = parse(&format!("{SIFMA_B}\n[prepay]\nturnover_pct = 5.0\n"))
            .expect_err("section")
            .to_string();
        assert!(e.contains("prepay") && e.contains("stochastic"), "{e}");
        let no_rates = STOCHASTIC
            .split("[rates]")
            .next()
            .expect("head")
            .to_string();
        let e = parse(&no_rates).expect_err("rates").to_string();
        assert!(e.contains("[rates] is required"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let text = SIFMA_B.replace("severity_pct", "severity");
        let e = parse(&text).expect_err("typo").to_string();
        assert!(e.contains("run.toml") && e.contains("severity"), "{e}");
        let e = parse(&SIFMA_B.replace("run_id", "run_name"))
            .expect_err("typo")
            .to_string();
        assert!(e.contains("run_name"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = parse(&SIFMA_B.replace("psa = 150.0", "cpr_pct = 150"))
            .expect_err("range")
            .to_string();
        assert!(e.contains("model.prepay.cpr_pct: 150"), "{e}");
        let e = parse(&SIFMA_B.replace("\"sifma-b\"", "\"a/b\""))
            .expect_err("id")
            .to_string();
        assert!(e.contains("run_id"), "{e}");
        let e = parse(&SIFMA_B.replace("horizon_months = 360", "horizon_months = 0"))
            .expect_err("horizon")
            .to_string();
        assert!(e.contains("horizon_months"), "{e}");
        let e = parse(&format!("as_of = \"2026-13-01\"\n{SIFMA_B}"))
            .expect_err("date")
            .to_string();
        assert!(e.contains("as_of"), "{e}");
        let e = parse(&SIFMA_B.replace("deterministic", "magic"))
            .expect_err("kind")
            .to_string();
        assert!(e.contains("magic"), "{e}");
    }
}
