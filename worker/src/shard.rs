//! One shard of a run: a loan range x a scenario range. `run_shard` reads only its loans,
//! projects them, and writes its partial results (exact integer sums) followed by a
//! completion marker; rerunning a shard rewrites the same files with the same bytes.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, Int32Array, Int64Array, RecordBatch,
};
use arrow::datatypes::{DataType, Decimal128Type, Field, Int32Type, Int64Type, Schema};
use chrono::NaiveDate;
use engine::cashflow::SUMMED_COUNT;
use engine::risk::LoanSums;
use engine::stochastic::project_stochastic;
use engine::{CashflowTable, project_deterministic};
use serde::{Deserialize, Serialize};

use crate::config::{Model, RunConfig, first_payment_month};
use crate::layout::{MARKER_FILE, SHARD_CASHFLOWS_FILE, SHARD_LOANS_FILE, shard_prefix};
use crate::parquet_file::Readers;
use crate::portfolio_file::{PortfolioSource, load_portfolio_range};
use crate::store::Store;

/// A unit of work, small enough to travel in a queue message. Every shard of a run
/// carries the same run-level values (horizon, date) so that all agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTask {
    pub run_id: String,
    /// YYYY-MM-DD.
    pub run_date: String,
    pub horizon_months: u32,
    pub shard: u32,
    pub loan_start: u64,
    pub loan_end: u64,
    pub scenario_start: u32,
    pub scenario_end: u32,
}

impl ShardTask {
    pub fn loans(&self) -> Range<usize> {
        self.loan_start as usize..self.loan_end as usize
    }
    pub fn scenarios(&self) -> Range<u32> {
        self.scenario_start..self.scenario_end
    }
}

/// What the completion marker records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardMarker {
    pub task: ShardTask,
    pub loan_months: u64,
    pub seconds: f64,
    /// When the shard finished, milliseconds since the Unix epoch (straggler detection
    /// compares it with the typical shard time).
    #[serde(default)]
    pub finished_at_ms: i64,
    /// Where the shard ran, when on Lambda: what its bill is priced at. A group's marker
    /// carries its shards' (init times summed).
    #[serde(default)]
    pub lambda: Option<LambdaInvocation>,
    /// A completion group's marker only (its `task` the box covering its shards): each
    /// shard's seconds, so that the final reduce needs no shard's marker.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shard_seconds: Vec<f64>,
}

/// The Lambda facts of the invocation that ran a shard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LambdaInvocation {
    pub arch: crate::lambda_facts::Arch,
    pub memory_mb: u32,
    /// The environment's INIT phase, ms, on the first shard it ran (0 on the others):
    /// from process start to the runtime loop, which Lambda bills.
    pub init_ms: f64,
}

/// Partial results of one shard, as read back by the reducer.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPartial {
    pub marker: ShardMarker,
    /// One table per scenario of the shard's range.
    pub tables: Vec<CashflowTable>,
    /// Per-loan sums of the shard's loans (stochastic mode).
    pub loan_sums: Option<Vec<LoanSums>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error(transparent)]
    Portfolio(#[from] crate::portfolio_file::PortfolioFileError),
    #[error(transparent)]
    Model(#[from] crate::stochastic_config::StochasticConfigError),
    #[error("shard {shard}: {message}")]
    Task { shard: u32, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
}

/// What projecting one shard's loans gives: the tables of its scenarios, the per-loan sums
/// (stochastic runs), and the loan-months computed.
#[derive(Debug)]
pub struct ShardProjection {
    pub tables: Vec<CashflowTable>,
    pub loan_sums: Option<Vec<LoanSums>>,
    pub loan_months: u64,
}

/// Runs one shard and writes its partial results, the marker last.
pub fn run_shard(
    task: &ShardTask,
    portfolio: &PortfolioSource,
    config: &RunConfig,
    store: &Store,
    lambda: Option<LambdaInvocation>,
) -> Result<ShardMarker, ShardError> {
    let started = Instant::now();
    let portfolio = load_portfolio_range(portfolio, task.loans())?;
    let ShardProjection {
        tables,
        loan_sums,
        loan_months,
    } = project_task(task, portfolio, config)?;
    let marker = ShardMarker {
        task: task.clone(),
        loan_months,
        seconds: started.elapsed().as_secs_f64(),
        finished_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        lambda,
        shard_seconds: Vec::new(),
    };
    write_partial(
        store,
        &shard_prefix(&task.run_id, task.shard),
        &marker,
        &tables,
        loan_sums.as_deref(),
    )?;
    Ok(marker)
}

/// Projects `task` over `portfolio`, which holds exactly the task's loans: the shard's
/// computation without its reading and writing (`mcflow bench --config` times it alone).
pub fn project_task(
    task: &ShardTask,
    portfolio: engine::Portfolio,
    config: &RunConfig,
) -> Result<ShardProjection, ShardError> {
    let task_error = |message: String| ShardError::Task {
        shard: task.shard,
        message,
    };
    let run_date = NaiveDate::parse_from_str(&task.run_date, "%Y-%m-%d")
        .map_err(|_| task_error(format!("run_date {:?} is not YYYY-MM-DD", task.run_date)))?;
    match &config.model {
        Model::Deterministic(m) => {
            if task.scenarios() != (0..1) {
                return Err(task_error(
                    "deterministic runs have exactly scenario 0".into(),
                ));
            }
            let p = project_deterministic(&portfolio, m, task.horizon_months);
            Ok(ShardProjection {
                tables: vec![p.table],
                loan_sums: None,
                loan_months: p.loan_months,
            })
        }
        Model::Stochastic(spec) => {
            let model = spec.model(task.horizon_months, first_payment_month(run_date))?;
            let range = task.scenarios();
            if range.is_empty() || range.end > model.scenario_count() || model.splits_a_pair(&range)
            {
                return Err(task_error(format!(
                    "scenario range {range:?} is empty, beyond {} scenarios, or splits an antithetic pair",
                    model.scenario_count()
                )));
            }
            // Properties valued at the run date; a pure function of each loan, so every
            // shard and the reducer agree on it.
            let marks = spec.marks(&portfolio, run_date);
            let portfolio = portfolio.with_marked_values(marks.value_usd);
            let p = project_stochastic(&portfolio, &model, task.horizon_months, range);
            Ok(ShardProjection {
                tables: p.tables,
                loan_sums: Some(p.loan_sums),
                loan_months: p.loan_months,
            })
        }
    }
}

/// Writes partial results into `folder`: the tables of scenarios from
/// `marker.task.scenario_start`, the per-loan sums of loans from `marker.task.loan_start`,
/// then the marker, last. A shard's folder, or a completion group's.
pub fn write_partial(
    store: &Store,
    folder: &str,
    marker: &ShardMarker,
    tables: &[CashflowTable],
    loan_sums: Option<&[LoanSums]>,
) -> Result<(), ShardError> {
    let put = |name: &str, schema, columns| {
        let key = format!("{folder}/{name}");
        crate::parquet_file::put_columns(store, &key, schema, columns, Readers::Reducer).map_err(
            |message| ShardError::Write {
                path: store.describe(&key).into(),
                message,
            },
        )
    };
    let (schema, columns) = table_columns(marker.task.scenario_start, tables);
    put(SHARD_CASHFLOWS_FILE, schema, columns)?;
    if let Some(sums) = loan_sums {
        let (schema, columns) = loan_sum_columns(marker.task.loan_start, sums);
        put(SHARD_LOANS_FILE, schema, columns)?;
    }
    let key = format!("{folder}/{MARKER_FILE}");
    let json = serde_json::to_vec_pretty(marker).expect("a marker serialises");
    store.put(&key, json).map_err(|e| ShardError::Write {
        path: store.describe(&key).into(),
        message: e.to_string(),
    })
}

fn units_field(name: &str) -> Field {
    Field::new(name, DataType::Decimal128(38, 0), false)
}

fn units_array(values: Vec<i128>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from(values)
            .with_precision_and_scale(38, 0)
            .expect("precision 38, scale 0 is valid"),
    )
}

/// Partial tables: scenario, month, and the `SUMMED_COUNT` summed columns as exact integer units
/// (DECIMAL(38,0) of 1/10,000 USD), so that merging partials is exact.
pub fn table_columns(
    first_scenario: u32,
    tables: &[CashflowTable],
) -> (Arc<Schema>, Vec<ArrayRef>) {
    let mut fields = vec![
        Field::new("scenario", DataType::Int32, false),
        Field::new("month", DataType::Int32, false),
    ];
    fields.extend((0..SUMMED_COUNT).map(|k| units_field(&format!("summed_{k}"))));
    let (mut scenario, mut month) = (Vec::new(), Vec::new());
    let mut columns: Vec<Vec<i128>> = vec![Vec::new(); SUMMED_COUNT];
    for (i, t) in tables.iter().enumerate() {
        for (m, row) in t.units().chunks(SUMMED_COUNT).enumerate() {
            scenario.push((first_scenario + i as u32) as i32);
            month.push(m as i32 + 1);
            for (c, v) in columns.iter_mut().zip(row) {
                c.push(i128::from(*v));
            }
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(scenario)),
        Arc::new(Int32Array::from(month)),
    ];
    arrays.extend(columns.into_iter().map(units_array));
    (Arc::new(Schema::new(fields)), arrays)
}

fn loan_sum_columns(first_loan: u64, sums: &[LoanSums]) -> (Arc<Schema>, Vec<ArrayRef>) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("loan_index", DataType::Int64, false),
        units_field("pv_units"),
        units_field("pv_cents"),
        units_field("pv_cents_squared"),
        units_field("loss_units"),
        units_field("default_units"),
        units_field("credit_loss_units"),
        units_field("pv_up_units"),
        units_field("pv_down_units"),
        units_field("pv_spread_up_units"),
        units_field("pv_spread_down_units"),
        Field::new("scenarios", DataType::Int32, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(
            (0..sums.len()).map(|i| (first_loan + i as u64) as i64),
        )),
        units_array(sums.iter().map(|s| s.pv_units).collect()),
        units_array(sums.iter().map(|s| s.pv_cents).collect()),
        units_array(sums.iter().map(|s| s.pv_cents_squared).collect()),
        units_array(sums.iter().map(|s| s.loss_units).collect()),
        units_array(sums.iter().map(|s| s.default_units).collect()),
        units_array(sums.iter().map(|s| s.credit_loss_units).collect()),
        units_array(sums.iter().map(|s| s.pv_up_units).collect()),
        units_array(sums.iter().map(|s| s.pv_down_units).collect()),
        units_array(sums.iter().map(|s| s.pv_spread_up_units).collect()),
        units_array(sums.iter().map(|s| s.pv_spread_down_units).collect()),
        Arc::new(Int32Array::from_iter_values(
            sums.iter().map(|s| s.scenarios as i32),
        )),
    ];
    (schema, columns)
}

/// Refuses a partial file whose columns are not the ones this version writes (a shard
/// written by another mcflow version, say), instead of misreading it.
fn same_layout(batch: &RecordBatch, expected: &Schema, path: &str) -> Result<(), ShardError> {
    if batch.schema().fields() == expected.fields() {
        return Ok(());
    }
    let names = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| format!("{} {}", f.name(), f.data_type()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(ShardError::Read {
        path: path.into(),
        message: format!(
            "its columns ({}) are not this version's ({}); rerun the shard",
            names(&batch.schema()),
            names(expected)
        ),
    })
}

/// Reads a completion marker; `None` when the shard has not completed.
pub fn read_marker(
    store: &Store,
    run_id: &str,
    shard: u32,
) -> Result<Option<ShardMarker>, ShardError> {
    read_marker_in(store, &shard_prefix(run_id, shard))
}

/// Reads the marker in a partial folder; `None` when there is none.
pub fn read_marker_in(store: &Store, folder: &str) -> Result<Option<ShardMarker>, ShardError> {
    let key = format!("{folder}/{MARKER_FILE}");
    let read_error = |message: String| ShardError::Read {
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

/// Reads a completed shard's partial results; fails when the marker is missing.
pub fn read_partial(
    store: &Store,
    run_id: &str,
    shard: u32,
    advancing: bool,
) -> Result<ShardPartial, ShardError> {
    read_partial_in(store, &shard_prefix(run_id, shard), advancing)
}

/// Reads the partial results in `folder` (a shard's or a completion group's); fails
/// when its marker is missing.
pub fn read_partial_in(
    store: &Store,
    folder: &str,
    advancing: bool,
) -> Result<ShardPartial, ShardError> {
    let marker_location = store.describe(&format!("{folder}/{MARKER_FILE}"));
    let read_error = |path: &str, message: String| ShardError::Read {
        path: path.into(),
        message,
    };
    let marker = read_marker_in(store, folder)?
        .ok_or_else(|| read_error(&marker_location, "no completion marker".into()))?;
    let read_batches = |key: &str| -> Result<Option<Vec<RecordBatch>>, ShardError> {
        let location = store.describe(key);
        match store
            .get(key)
            .map_err(|e| read_error(&location, e.to_string()))?
        {
            None => Ok(None),
            Some(bytes) => crate::parquet_file::decode_batches(bytes)
                .map(Some)
                .map_err(|m| read_error(&location, m)),
        }
    };
    let task = &marker.task;
    let horizon = task.horizon_months as usize;
    let scenarios = (task.scenario_end - task.scenario_start) as usize;
    let mut units: Vec<Vec<i64>> = vec![vec![0; horizon * SUMMED_COUNT]; scenarios];
    let table_key = format!("{folder}/{SHARD_CASHFLOWS_FILE}");
    let table_path = store.describe(&table_key);
    let batches = read_batches(&table_key)?
        .ok_or_else(|| read_error(&table_path, "missing although the marker exists".into()))?;
    let expected = table_columns(0, &[]).0;
    for batch in batches {
        same_layout(&batch, &expected, &table_path)?;
        let scenario = batch.column(0).as_primitive::<Int32Type>();
        let month = batch.column(1).as_primitive::<Int32Type>();
        for i in 0..batch.num_rows() {
            let s = (scenario.value(i) as u32)
                .checked_sub(task.scenario_start)
                .map(|s| s as usize)
                .filter(|&s| s < scenarios);
            let m = (month.value(i) as usize)
                .checked_sub(1)
                .filter(|&m| m < horizon);
            let (Some(s), Some(m)) = (s, m) else {
                return Err(read_error(
                    &table_path,
                    format!("row {} is outside the shard's task", i + 1),
                ));
            };
            for k in 0..SUMMED_COUNT {
                let value = batch
                    .column(2 + k)
                    .as_primitive::<Decimal128Type>()
                    .value(i);
                // No month total of a valid portfolio leaves i64 (see `CashflowTable`).
                units[s][m * SUMMED_COUNT + k] = i64::try_from(value).map_err(|_| {
                    read_error(
                        &table_path,
                        format!(
                            "row {}, column summed_{k}: {value} units is beyond any valid month total",
                            i + 1
                        ),
                    )
                })?;
            }
        }
    }
    let tables = units
        .into_iter()
        .map(|u| {
            CashflowTable::from_units(task.horizon_months, advancing, u)
                .expect("sized to the horizon")
        })
        .collect();
    let loans_key = format!("{folder}/{SHARD_LOANS_FILE}");
    let loans_path = store.describe(&loans_key);
    let loan_sums = if let Some(batches) = read_batches(&loans_key)? {
        let mut sums = vec![LoanSums::default(); (task.loan_end - task.loan_start) as usize];
        let expected = loan_sum_columns(0, &[]).0;
        for batch in batches {
            same_layout(&batch, &expected, &loans_path)?;
            let index = batch.column(0).as_primitive::<Int64Type>();
            let col = |c: usize| batch.column(c).as_primitive::<Decimal128Type>().clone();
            let (pv, cents, sq, loss, default) = (col(1), col(2), col(3), col(4), col(5));
            let (credit_loss, pv_up, pv_down) = (col(6), col(7), col(8));
            let (spread_up, spread_down) = (col(9), col(10));
            let count = batch.column(11).as_primitive::<Int32Type>();
            for i in 0..batch.num_rows() {
                let Some(slot) = (index.value(i) as u64)
                    .checked_sub(task.loan_start)
                    .and_then(|j| sums.get_mut(j as usize))
                else {
                    return Err(read_error(
                        &loans_path,
                        format!("row {} is outside the shard's loans", i + 1),
                    ));
                };
                debug_assert!(!pv.is_null(i));
                *slot = LoanSums {
                    pv_units: pv.value(i),
                    pv_cents: cents.value(i),
                    pv_cents_squared: sq.value(i),
                    loss_units: loss.value(i),
                    default_units: default.value(i),
                    credit_loss_units: credit_loss.value(i),
                    pv_up_units: pv_up.value(i),
                    pv_down_units: pv_down.value(i),
                    pv_spread_up_units: spread_up.value(i),
                    pv_spread_down_units: spread_down.value(i),
                    scenarios: count.value(i) as u32,
                };
            }
        }
        Some(sums)
    } else {
        None
    };
    Ok(ShardPartial {
        marker,
        tables,
        loan_sums,
    })
}
