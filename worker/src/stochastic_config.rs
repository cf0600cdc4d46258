//! The stochastic sections of the run configuration ([rates], [house_prices], [prepay],
//! [default], [loss], [discount]): wire types with documented defaults, and their
//! validation into engine types.

use engine::YearMonth;
use engine::bumps::RiskBumps;
use engine::calibration::{CalibrationFit, SwaptionQuote, calibrate_hull_white};
use engine::curve::{CurveError, ZeroCurve};
use engine::kernel::Pipeline;
use engine::marks::{HpiHistory, Marks};
use engine::sampler::Sampler;
use engine::scenario::{HousePrices, HullWhite, ScenarioError, ScenarioSet, StressPath};
use engine::stochastic::{DefaultParams, LossParams, ParamError, PrepayParams, StochasticModel};
use serde::Deserialize;

/// `[model]` for `kind = "stochastic"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StochasticModelFile {
    /// Number of scenarios (even when antithetic).
    pub scenarios: u32,
    pub seed: u64,
    #[serde(default)]
    pub antithetic: bool,
    /// CSV files of deterministic stress paths (columns month, short_rate_pct,
    /// mortgage_rate_pct, hpi), relative to the config file; run after the random
    /// scenarios and reported separately.
    #[serde(default)]
    pub stress_paths: Vec<std::path::PathBuf>,
    /// Scale each month's discount factors on the random paths so that their mean is the
    /// curve's (moment matching).
    #[serde(default)]
    pub moment_matching: bool,
    /// `"pseudo"` (default) or `"sobol"`: digitally shifted Sobol points with a Brownian
    /// bridge.
    #[serde(default)]
    pub sampler: SamplerName,
}

/// `[model] sampler`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SamplerName {
    #[default]
    Pseudo,
    Sobol,
}

/// `[rates]`: Hull-White one-factor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesFile {
    pub model: RateModelName,
    /// Required unless `calibrate` fits it (then the starting guess, default 0.03).
    pub mean_reversion: Option<f64>,
    /// Required unless `calibrate` fits it (then the starting guess, default 0.01).
    pub volatility: Option<f64>,
    pub curve: CurveFile,
    pub mortgage_spread_pct: f64,
    /// `calibrate = { normal_vols_bp = [[expiry_years, tenor_years, vol_bp], ...] }`:
    /// fit mean reversion and volatility to ATM swaption normal volatilities.
    pub calibrate: Option<CalibrateFile>,
}

/// `[rates] calibrate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrateFile {
    pub normal_vols_bp: Vec<(f64, f64, f64)>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub enum RateModelName {
    #[serde(rename = "hull-white")]
    HullWhite,
}

/// `curve = { flat_pct = 4.0 }` or `curve = { zero_pct = [[1.0, 4.1], [10.0, 4.4]] }`:
/// continuously compounded zero rates in percent, tenors in years; or `curve = {
/// par_swap_pct = [[1.0, 4.0], [10.0, 4.4]] }`: par swap rates (annual fixed; a deposit
/// up to one year), bootstrapped log-linear in the discount factor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum CurveFile {
    #[serde(rename = "flat_pct")]
    FlatPct(f64),
    #[serde(rename = "zero_pct")]
    ZeroPct(Vec<(f64, f64)>),
    #[serde(rename = "par_swap_pct")]
    ParSwapPct(Vec<(f64, f64)>),
}

/// `[house_prices]`; every key optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HousePricesFile {
    pub drift_pct: f64,
    pub volatility_pct: f64,
    pub persistence: f64,
    pub rate_correlation: f64,
    /// Default: `drift_pct`.
    pub initial_hpa_pct: Option<f64>,
    /// House-price index history (CSV `month,index` national, or `month,state,index`,
    /// month `YYYY-MM`), relative to the config file: properties are marked from their
    /// origination month to the run date with it.
    pub history: Option<std::path::PathBuf>,
}

impl Default for HousePricesFile {
    fn default() -> Self {
        HousePricesFile {
            drift_pct: 3.0,
            volatility_pct: 5.0,
            persistence: 0.6,
            rate_correlation: -0.3,
            initial_hpa_pct: None,
            history: None,
        }
    }
}

/// `[loss]`; every key optional, defaults from [`LossParams::default`]. The one wire type
/// of the behaviour sections: the file keeps the pipeline's two keys beside the others,
/// where the engine groups them in a `Pipeline` (and serde cannot flatten a struct that
/// refuses unknown keys). `[prepay]` and `[default]` deserialise straight into the
/// engine's `PrepayParams` and `DefaultParams`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossFile {
    pub reo_discount_pct: f64,
    pub sale_cost_pct: f64,
    pub min_severity_pct: f64,
    pub foreclosure_cost_pct: f64,
    pub recovery_lag_months: u32,
    pub advancing: bool,
}

impl Default for LossFile {
    fn default() -> Self {
        let d = LossParams::default();
        LossFile {
            reo_discount_pct: d.reo_discount_pct,
            sale_cost_pct: d.sale_cost_pct,
            min_severity_pct: d.min_severity_pct,
            foreclosure_cost_pct: d.foreclosure_cost_pct,
            recovery_lag_months: d.pipeline.recovery_lag_months,
            advancing: d.pipeline.advancing,
        }
    }
}

/// `[discount]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscountFile {
    /// Spread over the path's short rates, basis points.
    pub oas_bp: f64,
}

/// `[risk]`; every key optional, and a config without it runs as before.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskFile {
    /// The portfolio's price, percent of its current balance: the run then solves the
    /// option-adjusted spread that prices the random scenarios' mean PV to it.
    pub price_pct: Option<f64>,
    /// `effective = { shift_bp = 25 }`: effective duration and convexity from parallel
    /// +/- shifts of the initial curve.
    pub effective: Option<EffectiveFile>,
    /// Key-rate tenors, years: triangular bumps of the zero curve by the effective shift.
    pub key_rates_years: Vec<f64>,
    /// `vega = { volatility_shift = 0.001 }`: +/- the Hull-White volatility.
    pub vega: Option<VegaFile>,
    /// Parallel shocks, bp: PV, WAL and expected loss under each.
    pub shocks_bp: Vec<f64>,
    /// `prepay_duration = { shift_pct = 10 }`: prepayment speed x (1 +/- 10%).
    pub prepay_duration: Option<ShiftPctFile>,
    /// `hpi_duration = { shift_pct = 5 }`: house-price level x (1 +/- 5%).
    pub hpi_duration: Option<ShiftPctFile>,
    /// Solve each loan's OAS from the portfolio's `price_pct` column (adds two spread
    /// blocks).
    pub loan_oas: bool,
}

/// `[risk] effective`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EffectiveFile {
    #[serde(default = "default_effective_shift_bp")]
    pub shift_bp: f64,
}

fn default_effective_shift_bp() -> f64 {
    25.0
}

/// `[risk] vega`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VegaFile {
    #[serde(default = "default_volatility_shift")]
    pub volatility_shift: f64,
}

fn default_volatility_shift() -> f64 {
    0.001
}

/// `[risk] prepay_duration` and `hpi_duration`: `shift_pct` is required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftPctFile {
    pub shift_pct: f64,
}

impl RiskFile {
    /// The bumps these keys ask for. The zero-volatility path comes with any of them.
    pub fn bumps(&self) -> RiskBumps {
        let mut b = RiskBumps {
            effective_shift_bp: self.effective.as_ref().map(|e| e.shift_bp),
            key_rates_years: self.key_rates_years.clone(),
            vega_shift: self.vega.as_ref().map(|v| v.volatility_shift),
            shocks_bp: self.shocks_bp.clone(),
            prepay_shift_pct: self.prepay_duration.as_ref().map(|p| p.shift_pct),
            hpi_shift_pct: self.hpi_duration.as_ref().map(|p| p.shift_pct),
            zero_volatility: false,
            loan_oas: self.loan_oas,
        };
        b.zero_volatility = self.price_pct.is_some() || !b.is_empty();
        b
    }
}

/// Why the stochastic sections were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StochasticConfigError {
    #[error("rates.curve: {0}")]
    Curve(#[from] CurveError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("[rates] is required when model.kind = \"stochastic\"")]
    MissingRates,
    #[error("rates.{0} is required unless rates.calibrate fits it")]
    MissingRateKey(&'static str),
    #[error(transparent)]
    Calibration(#[from] engine::calibration::CalibrationError),
    #[error("model.stress_paths: {path}: {message}")]
    StressFile {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("risk.price_pct: {0} must be above 0 and at most 500")]
    Price(f64),
    #[error(transparent)]
    Bump(#[from] engine::stochastic::BumpModelError),
    #[error("house_prices.history: {path}: {message}")]
    HistoryFile {
        path: std::path::PathBuf,
        message: String,
    },
}

/// Validated stochastic settings; the engine model is built once the horizon and the
/// first payment month are known (they depend on the portfolio and the run date).
#[derive(Debug, Clone, PartialEq)]
pub struct StochasticSpec {
    pub scenarios: u32,
    pub seed: u64,
    pub antithetic: bool,
    /// `[model] moment_matching`.
    pub moment_matching: bool,
    /// `[model] sampler`.
    pub sampler: Sampler,
    pub hull_white: HullWhite,
    pub mortgage_spread_pct: f64,
    pub house_prices: HousePrices,
    pub prepay: PrepayParams,
    pub default: DefaultParams,
    pub loss: LossParams,
    pub oas_bp: f64,
    pub stress: Vec<StressPath>,
    /// The house-price history properties are marked with, when configured.
    pub hpi_history: Option<HpiHistory>,
    /// `[risk] price_pct`: the price the OAS is solved for.
    pub price_pct: Option<f64>,
    /// The `[risk]` bumps: scenario blocks after the base scenarios.
    pub risk: RiskBumps,
    /// The Hull-White fit, when `[rates] calibrate` asked for one.
    pub calibration: Option<CalibrationFit>,
}

/// All the stochastic sections of one file.
#[derive(Debug, Clone, Default)]
pub struct StochasticSections {
    pub rates: Option<RatesFile>,
    pub house_prices: Option<HousePricesFile>,
    pub prepay: Option<PrepayParams>,
    pub default: Option<DefaultParams>,
    pub loss: Option<LossFile>,
    pub discount: Option<DiscountFile>,
    pub risk: Option<RiskFile>,
}

impl StochasticSpec {
    /// `base_dir` is the config file's folder, against which stress paths resolve;
    /// `read` fetches their bytes (from disk, or from a run manifest in the cloud).
    pub fn from_file(
        model: &StochasticModelFile,
        s: StochasticSections,
        base_dir: &std::path::Path,
        read: ReadFile<'_>,
    ) -> Result<StochasticSpec, StochasticConfigError> {
        let rates = s.rates.ok_or(StochasticConfigError::MissingRates)?;
        let RateModelName::HullWhite = rates.model;
        let curve = match &rates.curve {
            CurveFile::FlatPct(z) => ZeroCurve::flat(*z)?,
            CurveFile::ZeroPct(points) => ZeroCurve::from_points(points)?,
            CurveFile::ParSwapPct(points) => ZeroCurve::bootstrap_par(points)?,
        };
        let (hull_white, calibration) = match &rates.calibrate {
            None => {
                let a = rates
                    .mean_reversion
                    .ok_or(StochasticConfigError::MissingRateKey("mean_reversion"))?;
                let sigma = rates
                    .volatility
                    .ok_or(StochasticConfigError::MissingRateKey("volatility"))?;
                (HullWhite::new(a, sigma, curve)?, None)
            }
            Some(c) => {
                let quotes: Vec<SwaptionQuote> =
                    c.normal_vols_bp.iter().copied().map(Into::into).collect();
                let start = (
                    rates.mean_reversion.unwrap_or(0.03),
                    rates.volatility.unwrap_or(0.01),
                );
                let fit = calibrate_hull_white(&curve, &quotes, start)?;
                (
                    HullWhite::new(fit.mean_reversion, fit.volatility, curve)?,
                    Some(fit),
                )
            }
        };
        let hp = s.house_prices.unwrap_or_default();
        let house_prices = HousePrices {
            drift_pct: hp.drift_pct,
            volatility_pct: hp.volatility_pct,
            persistence: hp.persistence,
            rate_correlation: hp.rate_correlation,
            initial_hpa_pct: hp.initial_hpa_pct.unwrap_or(hp.drift_pct),
        };
        let l = s.loss.unwrap_or_default();
        let risk = s.risk.unwrap_or_default();
        let spec = StochasticSpec {
            scenarios: model.scenarios,
            seed: model.seed,
            antithetic: model.antithetic,
            moment_matching: model.moment_matching,
            sampler: match model.sampler {
                SamplerName::Pseudo => Sampler::Pseudo,
                SamplerName::Sobol => Sampler::Sobol,
            },
            hull_white,
            mortgage_spread_pct: rates.mortgage_spread_pct,
            house_prices,
            prepay: s.prepay.unwrap_or_default(),
            default: s.default.unwrap_or_default(),
            loss: LossParams {
                reo_discount_pct: l.reo_discount_pct,
                sale_cost_pct: l.sale_cost_pct,
                min_severity_pct: l.min_severity_pct,
                foreclosure_cost_pct: l.foreclosure_cost_pct,
                pipeline: Pipeline {
                    recovery_lag_months: l.recovery_lag_months,
                    advancing: l.advancing,
                },
            },
            oas_bp: s.discount.unwrap_or_default().oas_bp,
            stress: model
                .stress_paths
                .iter()
                .map(|p| read_stress_path_with(&base_dir.join(p), read))
                .collect::<Result<_, _>>()?,
            risk: risk.bumps(),
            calibration,
            price_pct: match risk.price_pct {
                Some(p) if !(p.is_finite() && p > 0.0 && p <= 500.0) => {
                    return Err(StochasticConfigError::Price(p));
                }
                price => price,
            },
            hpi_history: hp
                .history
                .as_ref()
                .map(|p| read_hpi_history_with(&base_dir.join(p), read))
                .transpose()?,
        };
        // Validate everything now, with a one-month grid, so a bad key fails before any
        // input is read.
        spec.model(1, 1)?;
        Ok(spec)
    }

    /// The engine model for `months` of projection starting in calendar month
    /// `first_month_of_year` (1-12).
    pub fn model(
        &self,
        months: u32,
        first_month_of_year: u32,
    ) -> Result<StochasticModel, StochasticConfigError> {
        let scenarios = ScenarioSet::new(
            self.hull_white.clone(),
            self.house_prices,
            self.mortgage_spread_pct,
            months,
            self.seed,
            self.scenarios,
            self.antithetic,
        )?
        .with_stress_paths(self.stress.clone())
        .with_sampler(self.sampler);
        let scenarios = if self.moment_matching {
            scenarios.with_moment_matching()
        } else {
            scenarios
        };
        Ok(StochasticModel::new(
            scenarios,
            self.prepay,
            self.default,
            self.loss,
            self.oas_bp,
            first_month_of_year,
        )?
        .with_bumps(&self.risk)?)
    }
}

impl StochasticSpec {
    /// Each property's value at the run date (see [`engine::marks::mark`]).
    pub fn marks(&self, portfolio: &engine::Portfolio, as_of: chrono::NaiveDate) -> Marks {
        use chrono::Datelike;
        let month = YearMonth::new(as_of.year(), as_of.month()).expect("a calendar date");
        engine::marks::mark(
            portfolio,
            self.hpi_history.as_ref(),
            month,
            self.default.missing_ltv_pct,
        )
    }
}

/// Reads a house-price history CSV: header `month,index` (national) or
/// `month,state,index` (a blank state is national), months `YYYY-MM` in any order.
/// Problems name the file, the data row and the column.
pub fn read_hpi_history_with(
    path: &std::path::Path,
    read: ReadFile<'_>,
) -> Result<HpiHistory, StochasticConfigError> {
    let fail = |message: String| StochasticConfigError::HistoryFile {
        path: path.to_path_buf(),
        message,
    };
    let (mut reader, headers) = open_csv(path, read).map_err(fail)?;
    let find = |c: &str| headers.iter().position(|h| h == c);
    let (Some(month_at), Some(index_at)) = (find("month"), find("index")) else {
        return Err(fail(
            "needs columns \"month\" and \"index\" (and optionally \"state\")".into(),
        ));
    };
    let state_at = find("state");
    let mut history = HpiHistory::default();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| fail(format!("row {row}: {e}")))?;
        let cell = |c: usize| record.get(c).unwrap_or("");
        let month = YearMonth::parse(cell(month_at)).ok_or_else(|| {
            fail(format!(
                "row {row}, column month: {:?} is not a month written YYYY-MM",
                cell(month_at)
            ))
        })?;
        let index: f64 = cell(index_at).parse().map_err(|_| {
            fail(format!(
                "row {row}, column index: {:?} is not a number",
                cell(index_at)
            ))
        })?;
        let state = match state_at.map(cell).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) if engine::portfolio::is_us_state(s) => {
                Some([s.as_bytes()[0], s.as_bytes()[1]])
            }
            Some(s) => {
                return Err(fail(format!(
                    "row {row}, column state: {s:?} is not a two-letter US state code"
                )));
            }
        };
        history
            .insert(month, state, index)
            .map_err(|e| fail(format!("row {row}: {e}")))?;
    }
    if history.is_empty() {
        return Err(fail("has no rows".into()));
    }
    Ok(history)
}

/// Reads a stress path CSV: header `month,short_rate_pct,mortgage_rate_pct,hpi`, months
/// 0, 1, 2, ... in order. Problems name the file, the data row and the column.
pub fn read_stress_path(path: &std::path::Path) -> Result<StressPath, StochasticConfigError> {
    read_stress_path_with(path, &|p| std::fs::read(p))
}

/// A CSV file a configuration names, open: the reader and the header row.
type OpenCsv = (csv::Reader<std::io::Cursor<Vec<u8>>>, csv::StringRecord);

/// Opens a CSV file a configuration names: its bytes fetched by `read`, cells trimmed,
/// `#` lines skipped.
fn open_csv(path: &std::path::Path, read: ReadFile<'_>) -> Result<OpenCsv, String> {
    let bytes = read(path).map_err(|e| e.to_string())?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(std::io::Cursor::new(bytes));
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    Ok((reader, headers))
}

/// How a configuration reads the files it names: from disk, or from a run manifest.
pub type ReadFile<'a> = &'a dyn Fn(&std::path::Path) -> std::io::Result<Vec<u8>>;

/// [`read_stress_path`] with the bytes fetched by `read`.
pub fn read_stress_path_with(
    path: &std::path::Path,
    read: ReadFile<'_>,
) -> Result<StressPath, StochasticConfigError> {
    let fail = |message: String| StochasticConfigError::StressFile {
        path: path.to_path_buf(),
        message,
    };
    let (mut reader, headers) = open_csv(path, read).map_err(fail)?;
    let columns = ["month", "short_rate_pct", "mortgage_rate_pct", "hpi"];
    let index: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h == *c)
                .ok_or_else(|| fail(format!("no column {c:?} (need {})", columns.join(", "))))
        })
        .collect::<Result<_, _>>()?;
    let (mut short, mut mortgage, mut hpi) = (Vec::new(), Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| fail(format!("row {row}: {e}")))?;
        let value = |c: usize| -> Result<f64, StochasticConfigError> {
            let text = record.get(index[c]).unwrap_or("");
            text.parse::<f64>().map_err(|_| {
                fail(format!(
                    "row {row}, column {}: {text:?} is not a number",
                    columns[c]
                ))
            })
        };
        let month = value(0)?;
        if month != i as f64 {
            return Err(fail(format!(
                "row {row}, column month: {month} should be {i} (months start at 0, one row each)"
            )));
        }
        short.push(value(1)?);
        mortgage.push(value(2)?);
        hpi.push(value(3)?);
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    StressPath::new(&name, short, mortgage, hpi).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bundled_stress_path() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/stress/severely_adverse.csv");
        let stress = read_stress_path(&path).expect("valid");
        assert_eq!(stress.name(), "severely_adverse");
    }

    #[test]
    fn stress_file_problems_name_file_row_and_column() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("s.csv");
        std::fs::write(
            &path,
            "month,short_rate_pct,mortgage_rate_pct,hpi\n0,4,6,100\n1,abc,6,99\n",
        )
        .expect("write");
        let e = read_stress_path(&path).expect_err("bad").to_string();
        assert!(
            e.contains("s.csv") && e.contains("row 2, column short_rate_pct: \"abc\""),
            "{e}"
        );
        std::fs::write(
            &path,
            "month,short_rate_pct,mortgage_rate_pct,hpi\n0,4,6,100\n2,4,6,99\n",
        )
        .expect("write");
        let e = read_stress_path(&path).expect_err("gap").to_string();
        assert!(e.contains("row 2, column month"), "{e}");
        std::fs::write(&path, "month,short_rate,mortgage_rate_pct,hpi\n").expect("write");
        let e = read_stress_path(&path).expect_err("header").to_string();
        assert!(e.contains("no column \"short_rate_pct\""), "{e}");
    }

    #[test]
    fn history_file_problems_name_file_row_and_column() {
        let read = |text: &'static str| {
            let path = std::path::Path::new("h.csv");
            read_hpi_history_with(path, &move |_| Ok(text.as_bytes().to_vec()))
                .map_err(|e| e.to_string())
        };
        let good = read("month,state,index\n2020-01,,100\n2020-01,CA,200\n2021-01,CA,220\n")
            .expect("valid");
        let (from, to) = (
            YearMonth::parse("2020-01").expect("m"),
            YearMonth::parse("2021-01").expect("m"),
        );
        assert!((good.growth(Some(*b"CA"), from, to).expect("CA") - 1.1).abs() < 1e-12);
        for (text, wanted) in [
            (
                "month,index\n2020-13,100\n",
                "row 1, column month: \"2020-13\"",
            ),
            ("month,index\n2020-01,abc\n", "row 1, column index: \"abc\""),
            (
                "month,index\n2020-01,-3\n",
                "row 1: index -3 must be a positive number",
            ),
            (
                "month,state,index\n2020-01,XX,1\n",
                "row 1, column state: \"XX\"",
            ),
            (
                "month,index\n2020-01,1\n2020-01,2\n",
                "row 2: 2020-01 appears twice",
            ),
            ("month,value\n", "needs columns"),
            ("month,index\n", "has no rows"),
        ] {
            let e = read(text).expect_err(wanted);
            assert!(
                e.contains("house_prices.history: h.csv") && e.contains(wanted),
                "{e}"
            );
        }
    }
}
