//! `--set key=value`: one run-configuration key replaced before the configuration is
//! validated, so a run can be varied without editing its TOML. The overridden text is what
//! the run validates, hashes into its input fingerprint and (for cloud runs) ships in its
//! manifest, so a rerun with the same overrides is recognised as the same run.

use std::str::FromStr;

/// One override: a dotted key (`model.scenarios`) and its new value.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigOverride {
    /// The key's parts, outermost first.
    pub key: Vec<String>,
    pub value: toml::Value,
}

/// Why an override cannot be applied. Each names the `--set` key concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("--set {0:?}: expected key=value, such as model.scenarios=500")]
    NoEquals(String),
    #[error("--set {0:?}: the key is empty or has an empty part")]
    EmptyKey(String),
    #[error("--set {key}: {path} is a value, not a table, so it has no key {next}")]
    NotATable {
        key: String,
        path: String,
        next: String,
    },
    #[error("the run config is not valid TOML: {0}")]
    Document(String),
    #[error("--set {key}: the overridden config cannot be written as TOML: {message}")]
    Write { key: String, message: String },
}

impl FromStr for ConfigOverride {
    type Err = OverrideError;

    /// `key=value`. The value is read as TOML when it is a number, a boolean, a quoted
    /// string, an array or an inline table (`model.scenarios=500`, `model.antithetic=false`,
    /// `key_rates_years=[2,10]`); anything else, dates included, is taken as a plain string
    /// (`run_id=daily-2026-11-30`, `as_of=2026-11-30`), because every date in the config
    /// is a string.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, raw) = s
            .split_once('=')
            .ok_or_else(|| OverrideError::NoEquals(s.to_string()))?;
        let key: Vec<String> = key
            .trim()
            .split('.')
            .map(|p| p.trim().to_string())
            .collect();
        if key.iter().any(String::is_empty) {
            return Err(OverrideError::EmptyKey(s.to_string()));
        }
        let raw = raw.trim();
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => match t.remove("v") {
                Some(toml::Value::Datetime(_)) | None => toml::Value::String(raw.to_string()),
                Some(v) => v,
            },
            Err(_) => toml::Value::String(raw.to_string()),
        };
        Ok(ConfigOverride { key, value })
    }
}

impl ConfigOverride {
    /// A top-level key set to a string whatever it looks like (`--run-id 2026`).
    pub fn string(key: &str, value: &str) -> ConfigOverride {
        ConfigOverride {
            key: vec![key.to_string()],
            value: toml::Value::String(value.to_string()),
        }
    }

    /// The dotted key, as typed.
    pub fn dotted_key(&self) -> String {
        self.key.join(".")
    }
}

/// `text` with every override applied in order (a later one wins), written back as TOML.
/// Without overrides the text is returned unchanged, comments and all, so a run's config
/// fingerprint is the file's own checksum.
pub fn apply_overrides(text: &str, overrides: &[ConfigOverride]) -> Result<String, OverrideError> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let mut document: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| OverrideError::Document(e.message().trim().to_string()))?;
    for o in overrides {
        let (leaf, tables) = o.key.split_last().expect("a parsed key has a part");
        let mut table = &mut document;
        for (depth, part) in tables.iter().enumerate() {
            let entry = table
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = match entry {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(OverrideError::NotATable {
                        key: o.dotted_key(),
                        path: o.key[..=depth].join("."),
                        next: o.key[depth + 1].clone(),
                    });
                }
            };
        }
        table.insert(leaf.clone(), o.value.clone());
    }
    toml::to_string(&document).map_err(|e| OverrideError::Write {
        key: overrides
            .last()
            .map(ConfigOverride::dotted_key)
            .unwrap_or_default(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> ConfigOverride {
        s.parse().expect("a valid override")
    }

    #[test]
    fn values_are_typed_as_toml_and_everything_else_is_a_string() {
        assert_eq!(set("model.scenarios=500").value, toml::Value::Integer(500));
        assert_eq!(
            set("model.antithetic=false").value,
            toml::Value::Boolean(false)
        );
        assert_eq!(
            set("rates.volatility = 0.02").value,
            toml::Value::Float(0.02)
        );
        assert_eq!(
            set("as_of=2026-11-30").value,
            toml::Value::String("2026-11-30".into())
        );
        assert_eq!(
            set("run_id=daily-a").value,
            toml::Value::String("daily-a".into())
        );
        assert_eq!(
            set("run_id=\"500\"").value,
            toml::Value::String("500".into())
        );
        assert_eq!(set("model.scenarios=500").key, vec!["model", "scenarios"]);
    }

    #[test]
    fn malformed_overrides_name_what_was_typed() {
        let e = "model.scenarios"
            .parse::<ConfigOverride>()
            .expect_err("refused");
        assert!(e.to_string().contains("expected key=value"), "{e}");
        let e = "model..scenarios=3"
            .parse::<ConfigOverride>()
            .expect_err("refused");
        assert!(e.to_string().contains("empty part"), "{e}");
    }

    #[test]
    fn overrides_replace_and_create_keys_and_the_last_wins() {
        let text = "run_id = \"a\"\n[model]\nkind = \"stochastic\"\nscenarios = 200\n";
        let out = apply_overrides(
            text,
            &[
                set("model.scenarios=10"),
                set("model.scenarios=500"),
                set("loss.recovery_lag_months=6"),
            ],
        )
        .expect("valid");
        let t: toml::Table = out.parse().expect("valid");
        assert_eq!(t["model"]["scenarios"].as_integer(), Some(500));
        assert_eq!(t["model"]["kind"].as_str(), Some("stochastic"));
        assert_eq!(t["loss"]["recovery_lag_months"].as_integer(), Some(6));
        assert_eq!(t["run_id"].as_str(), Some("a"));
    }

    #[test]
    fn no_overrides_keeps_the_text_byte_for_byte() {
        let text = "# a comment\nrun_id = \"a\"\n";
        assert_eq!(apply_overrides(text, &[]).expect("valid"), text);
    }

    #[test]
    fn a_key_below_a_value_is_refused_with_the_path() {
        let e = apply_overrides("run_id = \"a\"\n", &[set("run_id.x=1")]).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "--set run_id.x: run_id is a value, not a table, so it has no key x"
        );
    }
}
