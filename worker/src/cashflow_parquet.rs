//! The `portfolio_cashflows` table: monthly cash-flow rows written as Hive-partitioned
//! Parquet that Athena and other SQL engines read, and read back for reports and tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Decimal128Array, Int32Array};
use arrow::datatypes::{DataType, Decimal128Type, Field, Int32Type, Schema};
use engine::{CashflowRow, CashflowTable, Money};

use crate::parquet_file::Readers;
use crate::store::Store;

/// Name of the table folder under the output directory.
pub const TABLE: &str = "portfolio_cashflows";

/// Money columns are DECIMAL(18,2): exact cents, read natively by Athena and DuckDB.
pub const MONEY_PRECISION: u8 = 18;
pub const MONEY_SCALE: i8 = 2;

/// Reads one money column from a row.
pub type ColumnGetter = fn(&CashflowRow) -> Money;

/// The money columns in file order, with how each is read from a row.
pub const MONEY_COLUMNS: [(&str, ColumnGetter); 20] = [
    ("performing_balance", |r| r.performing_balance),
    ("new_default", |r| r.new_default),
    ("foreclosure_balance", |r| r.foreclosure_balance),
    ("expected_amortization", |r| r.expected_amortization),
    ("voluntary_prepayment", |r| r.voluntary_prepayment),
    ("defaulted_amortization", |r| r.defaulted_amortization),
    ("actual_amortization", |r| r.actual_amortization),
    ("expected_interest", |r| r.expected_interest),
    ("lost_interest", |r| r.lost_interest),
    ("actual_interest", |r| r.actual_interest),
    ("net_interest", |r| r.net_interest),
    ("servicing_fee", |r| r.servicing_fee),
    ("principal_recovery", |r| r.principal_recovery),
    ("principal_loss", |r| r.principal_loss),
    ("liquidated_balance", |r| r.liquidated_balance),
    ("interest_loss", |r| r.interest_loss),
    ("recouped_interest", |r| r.recouped_interest),
    ("foreclosure_cost", |r| r.foreclosure_cost),
    ("mi_recovery", |r| r.mi_recovery),
    ("credit_loss", |r| r.credit_loss),
];

/// Why the table could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CashflowFileError {
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
}

pub fn schema() -> Arc<Schema> {
    let mut fields = vec![
        Field::new("scenario", DataType::Int32, false),
        Field::new("month", DataType::Int32, false),
    ];
    fields.extend(MONEY_COLUMNS.iter().map(|(name, _)| {
        Field::new(
            *name,
            DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
            false,
        )
    }));
    Arc::new(Schema::new(fields))
}

/// Writes scenarios' tables as one Parquet file (atomically). `tables` yields
/// `(scenario, table)` pairs; rows are ordered by scenario then month.
pub fn write_cashflows<'a>(
    store: &Store,
    key: &str,
    tables: impl IntoIterator<Item = (i32, &'a CashflowTable)>,
) -> Result<(), CashflowFileError> {
    let write_error = |message: String| CashflowFileError::Write {
        path: store.describe(key).into(),
        message,
    };
    let mut scenario = Vec::new();
    let mut month = Vec::new();
    let mut money: Vec<Vec<i128>> = vec![Vec::new(); MONEY_COLUMNS.len()];
    for (s, table) in tables {
        for row in table.rows() {
            scenario.push(s);
            month.push(row.month as i32);
            for (values, (_, get)) in money.iter_mut().zip(MONEY_COLUMNS.iter()) {
                values.push(get(&row).to_cents());
            }
        }
    }
    let schema = schema();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(scenario)),
        Arc::new(Int32Array::from(month)),
    ];
    for values in money {
        let array = Decimal128Array::from(values)
            .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
            .map_err(|e| write_error(e.to_string()))?;
        columns.push(Arc::new(array));
    }
    crate::parquet_file::put_columns(store, key, schema, columns, Readers::Queries)
        .map_err(write_error)
}

/// One row read back from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    pub scenario: i32,
    pub month: i32,
    /// Cents, in [`MONEY_COLUMNS`] order.
    pub cents: Vec<i128>,
}

/// Reads every row of one file.
pub fn read_cashflows(path: &Path) -> Result<Vec<StoredRow>, CashflowFileError> {
    let read_error = |message: String| CashflowFileError::Read {
        path: path.to_path_buf(),
        message,
    };
    let mut rows = Vec::new();
    for batch in crate::parquet_file::read_batches(path).map_err(read_error)? {
        if batch.schema().fields() != schema().fields() {
            return Err(read_error(format!(
                "unexpected schema {:?}",
                batch.schema()
            )));
        }
        let scenario = batch.column(0).as_primitive::<Int32Type>();
        let month = batch.column(1).as_primitive::<Int32Type>();
        for i in 0..batch.num_rows() {
            rows.push(StoredRow {
                scenario: scenario.value(i),
                month: month.value(i),
                cents: (2..batch.num_columns())
                    .map(|c| {
                        let col = batch.column(c).as_primitive::<Decimal128Type>();
                        debug_assert!(!col.is_null(i));
                        col.value(i)
                    })
                    .collect(),
            });
        }
    }
    Ok(rows)
}
