//! The stochastic result tables: `scenario_results` (one row per scenario) and
//! `loan_results` (one row per loan), Hive-partitioned like `portfolio_cashflows`, and
//! the scenario-path export of `mcflow scenarios`.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Float64Array, Int32Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use engine::Portfolio;
use engine::risk::{LoanSums, ScenarioResult};

use crate::cashflow_parquet::{CashflowFileError, MONEY_PRECISION, MONEY_SCALE};
use crate::parquet_file::Readers;
use crate::store::Store;

pub const SCENARIO_TABLE: &str = "scenario_results";
pub const LOAN_TABLE: &str = "loan_results";
pub const LOAN_RISK_TABLE: &str = "loan_risk";

fn put_batch(
    store: &Store,
    key: &str,
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
) -> Result<(), CashflowFileError> {
    let write_error = |message: String| CashflowFileError::Write {
        path: store.describe(key).into(),
        message,
    };
    crate::parquet_file::put_columns(store, key, schema, columns, Readers::Queries)
        .map_err(write_error)
}

fn write_batch(
    path: &Path,
    schema: Arc<Schema>,
    columns: Vec<ArrayRef>,
) -> Result<(), CashflowFileError> {
    let write_error = |message: String| CashflowFileError::Write {
        path: path.to_path_buf(),
        message,
    };
    crate::parquet_file::write_columns(path, schema, columns).map_err(write_error)
}

fn money(values: Vec<i128>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
            .expect("precision 18, scale 2 is valid"),
    )
}

fn money_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
        false,
    )
}

/// Columns: scenario INT32, kind STRING ("random" for Monte Carlo draws, "stress" for
/// stress paths: scenarios from `random` on), pv DOUBLE (USD), lifetime_loss,
/// credit_loss, new_default, voluntary_prepayment DECIMAL(18,2), wal_years DOUBLE.
pub fn write_scenario_results(
    store: &Store,
    key: &str,
    results: &[ScenarioResult],
    random: usize,
) -> Result<(), CashflowFileError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("scenario", DataType::Int32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("pv", DataType::Float64, false),
        money_field("lifetime_loss"),
        money_field("credit_loss"),
        money_field("new_default"),
        money_field("voluntary_prepayment"),
        Field::new("wal_years", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(
            results.iter().map(|r| r.scenario as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..results.len()).map(|i| if i < random { "random" } else { "stress" }),
        )),
        Arc::new(Float64Array::from_iter_values(results.iter().map(|r| r.pv))),
        money(results.iter().map(|r| r.lifetime_loss.to_cents()).collect()),
        money(results.iter().map(|r| r.credit_loss.to_cents()).collect()),
        money(results.iter().map(|r| r.new_default.to_cents()).collect()),
        money(
            results
                .iter()
                .map(|r| r.voluntary_prepayment.to_cents())
                .collect(),
        ),
        Arc::new(Float64Array::from_iter_values(
            results.iter().map(|r| r.wal_years),
        )),
    ];
    put_batch(store, key, schema, columns)
}

/// Columns: loan_id STRING, state STRING (nullable), current_upb DOUBLE, pv_mean,
/// pv_std, expected_loss, expected_credit_loss DOUBLE (USD), default_probability DOUBLE
/// (0-1), scenarios INT32, mark_method STRING (how the property was valued at the run
/// date: current_ltv, history or origination), property_value DOUBLE (USD, that value).
pub fn write_loan_results(
    store: &Store,
    key: &str,
    portfolio: &Portfolio,
    sums: &[LoanSums],
    marks: &engine::marks::Marks,
) -> Result<(), CashflowFileError> {
    assert_eq!(portfolio.len(), sums.len());
    assert_eq!(portfolio.len(), marks.method.len());
    let results: Vec<_> = sums
        .iter()
        .zip(portfolio.current_upb())
        .map(|(s, &upb)| s.result(upb))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("loan_id", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, true),
        Field::new("current_upb", DataType::Float64, false),
        Field::new("pv_mean", DataType::Float64, false),
        Field::new("pv_std", DataType::Float64, false),
        Field::new("expected_loss", DataType::Float64, false),
        Field::new("expected_credit_loss", DataType::Float64, false),
        Field::new("default_probability", DataType::Float64, false),
        Field::new("scenarios", DataType::Int32, false),
        Field::new("mark_method", DataType::Utf8, false),
        Field::new("property_value", DataType::Float64, false),
    ]));
    let states: Vec<Option<String>> = portfolio
        .state()
        .iter()
        .map(|s| s.map(|b| String::from_utf8_lossy(&b).into_owned()))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(portfolio.loan_id().iter())),
        Arc::new(StringArray::from(states)),
        Arc::new(Float64Array::from_iter_values(
            portfolio.current_upb().iter().copied(),
        )),
        Arc::new(Float64Array::from_iter_values(
            results.iter().map(|r| r.pv_mean),
        )),
        Arc::new(Float64Array::from_iter_values(
            results.iter().map(|r| r.pv_std),
        )),
        Arc::new(Float64Array::from_iter_values(
            results.iter().map(|r| r.expected_loss),
        )),
        Arc::new(Float64Array::from_iter_values(
            results.iter().map(|r| r.expected_credit_loss),
        )),
        Arc::new(Float64Array::from_iter_values(
            results.iter().map(|r| r.default_probability),
        )),
        Arc::new(Int32Array::from_iter_values(
            sums.iter().map(|s| s.scenarios as i32),
        )),
        Arc::new(StringArray::from_iter_values(
            marks.method.iter().map(|m| m.name()),
        )),
        Arc::new(Float64Array::from_iter_values(
            marks.value_usd.iter().copied(),
        )),
    ];
    put_batch(store, key, schema, columns)
}

/// Columns: loan_id STRING; pv_mean DOUBLE (USD, at the configured spread);
/// effective_duration DOUBLE (years) and effective_convexity DOUBLE from the loan's PV
/// under +/- `shift_bp` over the same draws (NULL without `[risk] effective` or for a loan
/// worth nothing); shift_bp DOUBLE (NULL without it); price_pct DOUBLE (the portfolio's,
/// NULL when none); oas_bp DOUBLE (with `[risk] loan_oas` and a price, else NULL).
pub fn write_loan_risk(
    store: &Store,
    key: &str,
    portfolio: &Portfolio,
    sums: &[LoanSums],
    effective_shift_bp: Option<f64>,
    loan_oas_base_bp: Option<f64>,
) -> Result<(), CashflowFileError> {
    assert_eq!(portfolio.len(), sums.len());
    let risk: Vec<Option<(f64, f64)>> = sums
        .iter()
        .map(|s| effective_shift_bp.and_then(|shift| s.effective_risk(shift)))
        .collect();
    let oas: Vec<Option<f64>> = sums
        .iter()
        .zip(portfolio.price_pct())
        .zip(portfolio.current_upb())
        .map(|((s, price_pct), upb)| {
            let base = loan_oas_base_bp?;
            s.oas_bp(price_pct.as_ref()? / 100.0 * upb, base)
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("loan_id", DataType::Utf8, false),
        Field::new("pv_mean", DataType::Float64, false),
        Field::new("effective_duration", DataType::Float64, true),
        Field::new("effective_convexity", DataType::Float64, true),
        Field::new("shift_bp", DataType::Float64, true),
        Field::new("price_pct", DataType::Float64, true),
        Field::new("oas_bp", DataType::Float64, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(portfolio.loan_id().iter())),
        Arc::new(Float64Array::from_iter_values(
            sums.iter()
                .zip(portfolio.current_upb())
                .map(|(s, &upb)| s.result(upb).pv_mean),
        )),
        Arc::new(Float64Array::from_iter(risk.iter().map(|r| r.map(|r| r.0)))),
        Arc::new(Float64Array::from_iter(risk.iter().map(|r| r.map(|r| r.1)))),
        Arc::new(Float64Array::from_iter(std::iter::repeat_n(
            effective_shift_bp,
            sums.len(),
        ))),
        Arc::new(Float64Array::from_iter(
            portfolio.price_pct().iter().copied(),
        )),
        Arc::new(Float64Array::from_iter(oas)),
    ];
    put_batch(store, key, schema, columns)
}

/// Writes the scenario set's paths (`mcflow scenarios`): scenario INT32, month INT32
/// (0 = today), short_rate, mortgage_rate (percent, continuously compounded), hpi
/// (1.0 at month 0), discount_factor (exp of minus the integrated short rate).
pub fn write_scenario_paths(
    path: &Path,
    set: &engine::scenario::ScenarioSet,
) -> Result<(), CashflowFileError> {
    let months = set.months() as usize;
    let rows = set.count() as usize * (months + 1);
    let (mut scenario, mut month) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let (mut short, mut mortgage, mut hpi, mut df) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for k in 0..set.count() {
        let p = set.path(k);
        for m in 0..=months {
            scenario.push(k as i32);
            month.push(m as i32);
            short.push(p.short_rate[m] * 100.0);
            mortgage.push(p.mortgage_rate[m] * 100.0);
            hpi.push(p.hpi[m]);
            df.push(p.discount[m]);
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("scenario", DataType::Int32, false),
        Field::new("month", DataType::Int32, false),
        Field::new("short_rate", DataType::Float64, false),
        Field::new("mortgage_rate", DataType::Float64, false),
        Field::new("hpi", DataType::Float64, false),
        Field::new("discount_factor", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(scenario)),
        Arc::new(Int32Array::from(month)),
        Arc::new(Float64Array::from(short)),
        Arc::new(Float64Array::from(mortgage)),
        Arc::new(Float64Array::from(hpi)),
        Arc::new(Float64Array::from(df)),
    ];
    write_batch(path, schema, columns)
}

/// A column of `batch` by name, as the array type the table's schema gives it.
fn column<'a, T: 'static>(
    batch: &'a arrow::record_batch::RecordBatch,
    name: &str,
) -> Result<&'a T, String> {
    batch
        .column_by_name(name)
        .ok_or_else(|| format!("no column {name}"))?
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| format!("column {name} has an unexpected type"))
}

/// USD of a DECIMAL(18,2) cell.
fn usd(column: &Decimal128Array, row: usize) -> f64 {
    column.value(row) as f64 / 100.0
}

/// One random scenario of a `scenario_results` file, as `mcflow diff` pairs them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScenarioRow {
    pub pv: f64,
    pub lifetime_loss: f64,
}

/// The random scenarios of a `scenario_results` file, in scenario order (stress paths
/// are left out: they are in no Monte Carlo figure).
pub fn read_random_scenarios(bytes: bytes::Bytes) -> Result<Vec<ScenarioRow>, String> {
    let mut rows = Vec::new();
    for batch in crate::parquet_file::decode_batches(bytes)? {
        let scenario = column::<Int32Array>(&batch, "scenario")?;
        let kind = column::<StringArray>(&batch, "kind")?;
        let pv = column::<Float64Array>(&batch, "pv")?;
        let loss = column::<Decimal128Array>(&batch, "lifetime_loss")?;
        for i in 0..batch.num_rows() {
            if kind.value(i) == "random" {
                rows.push((
                    scenario.value(i),
                    ScenarioRow {
                        pv: pv.value(i),
                        lifetime_loss: usd(loss, i),
                    },
                ));
            }
        }
    }
    rows.sort_by_key(|&(k, _)| k);
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// One loan of a `loan_results` file: the columns `mcflow diff --by state` sums.
#[derive(Debug, Clone, PartialEq)]
pub struct LoanRow {
    pub state: Option<String>,
    pub current_upb: f64,
    pub pv_mean: f64,
    pub pv_std: f64,
    pub expected_loss: f64,
    pub default_probability: f64,
}

/// Every loan of a `loan_results` file.
pub fn read_loan_results(bytes: bytes::Bytes) -> Result<Vec<LoanRow>, String> {
    use arrow::array::Array;
    let mut rows = Vec::new();
    for batch in crate::parquet_file::decode_batches(bytes)? {
        let state = column::<StringArray>(&batch, "state")?;
        let upb = column::<Float64Array>(&batch, "current_upb")?;
        let pv_mean = column::<Float64Array>(&batch, "pv_mean")?;
        let pv_std = column::<Float64Array>(&batch, "pv_std")?;
        let loss = column::<Float64Array>(&batch, "expected_loss")?;
        let default = column::<Float64Array>(&batch, "default_probability")?;
        for i in 0..batch.num_rows() {
            rows.push(LoanRow {
                state: (!state.is_null(i)).then(|| state.value(i).to_string()),
                current_upb: upb.value(i),
                pv_mean: pv_mean.value(i),
                pv_std: pv_std.value(i),
                expected_loss: loss.value(i),
                default_probability: default.value(i),
            });
        }
    }
    Ok(rows)
}
