//! `report.json`: the run's summary numbers, written last so its presence means the
//! run's tables are complete.

use std::path::{Path, PathBuf};

use engine::risk::{CashflowBand, LossSummary, PvSummary};
use engine::sensitivities::{Estimate, Shock};
use engine::{CashflowTable, Money, Summed};
use serde::{Deserialize, Serialize};

use crate::layout::report_key;
use crate::store::Store;

/// `report.json`: what a finished run was, what it found and what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub mcflow_version: String,
    pub run_id: String,
    /// The `run_date` partition (YYYY-MM-DD).
    pub run_date: String,
    pub model: ModelSummary,
    pub portfolio: PortfolioSummary,
    /// Checksums of the inputs (empty when the caller did not supply them).
    #[serde(default)]
    pub inputs: InputFingerprint,
    pub loans: u64,
    /// Every scenario projected: the random ones, then the stress paths.
    pub scenarios: u32,
    /// The Monte Carlo draws behind every headline figure (`totals`, `wal_years`,
    /// `cumulative_default_pct`, `pv`, `loss`, `cashflow_bands`): scenarios
    /// `0..random_scenarios`. The rest are stress paths, reported in `stress` one by one.
    #[serde(default)]
    pub random_scenarios: u32,
    /// Months in the `portfolio_cashflows` table (the config's `horizon_months`).
    pub horizon_months: u32,
    /// Months projected: every figure but that table runs every loan to its maturity and
    /// every default to its liquidation.
    #[serde(default)]
    pub projection_months: u32,
    /// Whether the projection covered every loan's full remaining life. Always so in this
    /// version; were it ever cut short, no figure here would be a full-life figure.
    #[serde(default)]
    pub full_life: bool,
    pub loan_months: u64,
    /// Shards planned and completed (1 and 1 for a one-process run).
    pub shards: ShardCounts,
    /// Lifetime sums over the horizon, USD (cents); the mean over the random scenarios
    /// in stochastic mode (stress paths are not in it).
    pub totals: Totals,
    /// Weighted average life of the (mean) investor principal cash flow, years.
    pub wal_years: f64,
    /// Monte Carlo standard error of `wal_years` (a ratio of means; delta method, pair
    /// means when antithetic), years (stochastic mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_years_std_error: Option<f64>,
    /// (Mean) defaulted balance / starting balance, percent.
    pub cumulative_default_pct: f64,
    /// Monte Carlo standard error of `cumulative_default_pct`, percentage points
    /// (stochastic mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cumulative_default_pct_std_error: Option<f64>,
    /// Present value across scenarios, USD: mean, its Monte Carlo standard error,
    /// nearest-rank percentiles (stochastic mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pv: Option<PvSummary>,
    /// Lifetime principal loss across scenarios, USD: VaR = nearest-rank percentile,
    /// ES = mean of the worst ceil((1 - alpha) N) (stochastic mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossSummary>,
    /// Lifetime total credit loss across scenarios (principal, interest and foreclosure
    /// costs less mortgage insurance), USD, with the same statistics as `loss`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_loss: Option<LossSummary>,
    /// How each property was valued at the run date: loans marked from
    /// `current_ltv_pct`, from the house-price history, and at origination value
    /// (stochastic mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marks: Option<engine::marks::MarkCounts>,
    /// The headline Monte Carlo figures, with standard errors, over the first N/8, N/4,
    /// N/2 and N random scenarios (stochastic mode only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub convergence: Vec<engine::risk::ConvergenceRow>,
    /// The Hull-White fit to swaption volatilities (`[rates] calibrate`): the fitted mean
    /// reversion and volatility, each quote's market and model volatility, and the RMS
    /// errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<engine::calibration::CalibrationFit>,
    /// Risk figures (`[risk]`; stochastic mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskReport>,
    /// Each deterministic stress path's results (stochastic mode with stress paths).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stress: Vec<StressReport>,
    /// Monthly investor cash flow (principal, recoveries, net interest) across the
    /// random scenarios, USD: mean and nearest-rank percentiles (stochastic mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cashflow_bands: Vec<CashflowBand>,
    pub timing: Timing,
    /// What the run would cost on Lambda (one bill per architecture), from the measured
    /// shard durations at [`crate::cost::BILL_MEMORY_MB`].
    #[serde(default)]
    pub bill: Vec<crate::cost::Bill>,
    /// Output tables, as paths relative to the output directory.
    pub outputs: Vec<String>,
}

/// `report.json` `risk`: what `[risk]` asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskReport {
    /// The configured price, percent of the current balance, and in USD (when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// The option-adjusted spread every risk figure is discounted at, bp: with a price,
    /// the spread over each path's short rates that prices the random scenarios' mean PV
    /// to it (Newton on the stored cash flows; standard error by the delta method, pair
    /// means when antithetic); without one, `[discount] oas_bp` (standard error 0).
    pub oas_bp: Estimate,
    /// Newton steps taken, when solved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oas_iterations: Option<u32>,
    /// The spread over the initial curve at which the zero-volatility path's cash flows
    /// are worth the price (or, without one, the mean PV), bp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_vol_spread_bp: Option<Estimate>,
    /// `zero_vol_spread_bp - oas_bp`: the cost of the borrowers' options, bp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option_cost_bp: Option<Estimate>,
    /// Effective duration (years) and convexity from +/- `effective_shift_bp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_shift_bp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_duration: Option<Estimate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_convexity: Option<Estimate>,
    /// Key-rate durations by tenor in years, in tenor order.
    #[serde(default, skip_serializing_if = "KeyRateDurations::is_empty")]
    pub key_rate_durations: KeyRateDurations,
    /// Their sum, which equals the effective duration within Monte Carlo error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rate_duration_sum: Option<Estimate>,
    /// Percent change of PV per +1 bp of Hull-White volatility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vega: Option<Estimate>,
    /// Percent fall of PV per 1% faster prepayment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_duration: Option<Estimate>,
    /// Percent fall of PV per 1% higher house prices (negative: the book gains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hpi_duration: Option<Estimate>,
    /// Parallel shocks: PV, its change from the base, WAL and expected loss.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shocks: Vec<Shock>,
    /// The bump blocks the run projected, in scenario order after the base scenarios.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bumps: Vec<String>,
    /// All scenarios projected over the base run's: what the risk figures cost.
    pub cost_multiplier: f64,
}

/// Key-rate durations, written as a JSON object `{"2": {...}, "10": {...}}` in tenor
/// order (a map keyed by tenor, which serde would otherwise sort as text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyRateDurations(pub Vec<(f64, Estimate)>);

impl KeyRateDurations {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for KeyRateDurations {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (years, e) in &self.0 {
            map.serialize_entry(&years.to_string(), e)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for KeyRateDurations {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = KeyRateDurations;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map from tenor in years to an estimate")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((years, e)) = map.next_entry::<String, Estimate>()? {
                    let years = years.parse::<f64>().map_err(|_| {
                        serde::de::Error::custom(format!("{years:?} is not a tenor in years"))
                    })?;
                    out.push((years, e));
                }
                Ok(KeyRateDurations(out))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCounts {
    pub planned: u32,
    pub completed: u32,
}

/// One stress path's results, USD, apart from every Monte Carlo figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressReport {
    pub scenario: u32,
    pub name: String,
    /// Investor cash flows discounted along the path's own short rates, month by month
    /// (see `discounting`).
    pub pv: f64,
    pub lifetime_loss: f64,
    /// Total credit loss (principal, interest and costs less mortgage insurance).
    #[serde(default)]
    pub credit_loss: f64,
    /// The path's lifetime totals, percentages of the starting balance and WAL.
    #[serde(default)]
    pub totals: Option<Totals>,
    /// How the path's cash flows are discounted.
    #[serde(default)]
    pub discounting: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub kind: String,
    pub description: String,
    /// Whether the random scenarios are antithetic pairs (2k, 2k+1): standard errors are
    /// then those of the pair means. False in reports written before it.
    #[serde(default)]
    pub antithetic: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    pub path: String,
    pub total_upb: f64,
}

/// SHA-256 of the input files, so a rerun can tell whether its inputs changed and an
/// auditor can tie the report to exact files.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InputFingerprint {
    pub portfolio_sha256: String,
    pub config_sha256: String,
    /// The market inputs alone: the config's `[rates]` and `[house_prices]` sections and
    /// the files it names (house-price history, stress paths), so that `mcflow diff` can
    /// tell a market move from a model change. Empty in reports written before it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub market_sha256: String,
}

impl InputFingerprint {
    /// Whether two runs had the same inputs. The market checksum counts only when both
    /// have one: reports written before it existed leave it empty, and their portfolio
    /// and config checksums already cover the market files' names and sections.
    pub fn same_as(&self, other: &InputFingerprint) -> bool {
        self.portfolio_sha256 == other.portfolio_sha256
            && self.config_sha256 == other.config_sha256
            && (self.market_sha256.is_empty()
                || other.market_sha256.is_empty()
                || self.market_sha256 == other.market_sha256)
    }
}

/// Hex SHA-256 of a file's bytes, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Hex SHA-256 of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Totals over all months of the (single or mean) scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub scheduled_principal: f64,
    pub voluntary_prepayment: f64,
    pub new_default: f64,
    pub liquidated_balance: f64,
    pub principal_recovery: f64,
    pub principal_loss: f64,
    /// Net-rate interest lost on defaulted loans from default to liquidation.
    #[serde(default)]
    pub interest_loss: f64,
    /// Interest advanced on defaulted loans and recouped from liquidation proceeds.
    #[serde(default)]
    pub recouped_interest: f64,
    /// Foreclosure and REO costs paid at liquidation.
    #[serde(default)]
    pub foreclosure_cost: f64,
    /// Mortgage insurance claims paid.
    #[serde(default)]
    pub mi_recovery: f64,
    /// principal_loss + interest_loss + foreclosure_cost - mi_recovery.
    #[serde(default)]
    pub credit_loss: f64,
    pub net_interest: f64,
    pub servicing_fee: f64,
    /// new_default / starting balance, percent.
    pub cumulative_default_pct: f64,
    /// principal_loss / starting balance, percent.
    pub loss_pct: f64,
    /// credit_loss / starting balance, percent.
    #[serde(default)]
    pub credit_loss_pct: f64,
    /// Weighted average life of investor principal, years:
    /// sum(t x principal_t) / sum(principal_t) / 12, on the projected cash flow.
    pub wal_years: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub wall_seconds: f64,
    pub loan_months_per_second: f64,
}

fn usd(m: Money) -> f64 {
    m.to_cents() as f64 / 100.0
}

impl Totals {
    /// Lifetime totals of a table; `start_upb` is the portfolio's starting balance.
    pub fn of(table: &CashflowTable, start_upb: Money) -> Totals {
        let advancing = table.advancing();
        let mut principal_sum = 0f64;
        let mut weighted = 0f64;
        let mut scheduled = Money::ZERO;
        let mut recovery = Money::ZERO;
        let mut servicing = Money::ZERO;
        for row in table.rows() {
            let sched = if advancing {
                row.expected_amortization
            } else {
                row.actual_amortization
            };
            scheduled += sched;
            recovery += row.principal_recovery;
            servicing += row.servicing_fee;
            let principal = (sched + row.voluntary_prepayment + row.principal_recovery).to_usd();
            principal_sum += principal;
            weighted += f64::from(row.month) * principal;
        }
        let total = |c| table.column_total(c);
        let credit_loss = total(Summed::PrincipalLoss)
            + total(Summed::InterestLoss)
            + total(Summed::ForeclosureCost)
            - total(Summed::MortgageInsurance);
        let pct = |m: Money| {
            if start_upb == Money::ZERO {
                0.0
            } else {
                100.0 * m.to_usd() / start_upb.to_usd()
            }
        };
        Totals {
            scheduled_principal: usd(scheduled),
            voluntary_prepayment: usd(total(Summed::VoluntaryPrepayment)),
            new_default: usd(total(Summed::NewDefault)),
            liquidated_balance: usd(total(Summed::LiquidatedBalance)),
            principal_recovery: usd(recovery),
            principal_loss: usd(total(Summed::PrincipalLoss)),
            interest_loss: usd(total(Summed::InterestLoss)),
            recouped_interest: usd(total(Summed::RecoupedInterest)),
            foreclosure_cost: usd(total(Summed::ForeclosureCost)),
            mi_recovery: usd(total(Summed::MortgageInsurance)),
            credit_loss: usd(credit_loss),
            net_interest: usd(total(Summed::NetInterest)),
            servicing_fee: usd(servicing),
            cumulative_default_pct: pct(total(Summed::NewDefault)),
            loss_pct: pct(total(Summed::PrincipalLoss)),
            credit_loss_pct: pct(credit_loss),
            wal_years: if principal_sum > 0.0 {
                weighted / principal_sum / 12.0
            } else {
                0.0
            },
        }
    }
}

impl Totals {
    /// Every amount divided by `count` (for the mean over scenarios); percentages of the
    /// starting balance scale too, the WAL does not.
    pub fn mean_of(self, count: u32) -> Totals {
        let f = 1.0 / f64::from(count.max(1));
        let r = |x: f64| (x * f * 100.0).round() / 100.0;
        Totals {
            scheduled_principal: r(self.scheduled_principal),
            voluntary_prepayment: r(self.voluntary_prepayment),
            new_default: r(self.new_default),
            liquidated_balance: r(self.liquidated_balance),
            principal_recovery: r(self.principal_recovery),
            principal_loss: r(self.principal_loss),
            interest_loss: r(self.interest_loss),
            recouped_interest: r(self.recouped_interest),
            foreclosure_cost: r(self.foreclosure_cost),
            mi_recovery: r(self.mi_recovery),
            credit_loss: r(self.credit_loss),
            net_interest: r(self.net_interest),
            servicing_fee: r(self.servicing_fee),
            cumulative_default_pct: self.cumulative_default_pct * f,
            loss_pct: self.loss_pct * f,
            credit_loss_pct: self.credit_loss_pct * f,
            wal_years: self.wal_years,
        }
    }
}

/// Why a report could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write report {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot read report {path}: {message}")]
    Read { path: PathBuf, message: String },
}

impl RunReport {
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        let write_error = |message: String| ReportError::Write {
            path: path.to_path_buf(),
            message,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| write_error(e.to_string()))?;
        json.push(b'\n');
        crate::atomic::write_bytes_atomically(path, &json).map_err(|e| write_error(e.to_string()))
    }

    /// Writes the report at its key in `store`.
    pub fn put(&self, store: &Store) -> Result<(), ReportError> {
        let key = report_key(&self.run_id);
        let write_error = |message: String| ReportError::Write {
            path: store.describe(&key).into(),
            message,
        };
        let mut json = serde_json::to_vec_pretty(self).map_err(|e| write_error(e.to_string()))?;
        json.push(b'\n');
        store
            .put(&key, json)
            .map_err(|e| write_error(e.to_string()))
    }

    /// The report of `run_id` in `store`, if there is one.
    pub fn get(store: &Store, run_id: &str) -> Result<Option<RunReport>, ReportError> {
        let key = report_key(run_id);
        let read_error = |message: String| ReportError::Read {
            path: store.describe(&key).into(),
            message,
        };
        match store.get(&key).map_err(|e| read_error(e.to_string()))? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| read_error(e.to_string())),
        }
    }

    pub fn read(path: &Path) -> Result<RunReport, ReportError> {
        let read_error = |message: String| ReportError::Read {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
        serde_json::from_slice(&bytes).map_err(|e| read_error(e.to_string()))
    }
}
