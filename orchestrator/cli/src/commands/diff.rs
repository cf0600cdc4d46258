//! `mcflow diff RUN_A RUN_B`: two stored runs compared, local or `s3://`.

use anyhow::{Context, Result};
use worker::aws::LazyAws;
use worker::layout::{RUNS, parse_report_key};
use worker::report::RunReport;
use worker::store::Store;

use worker::results_parquet::{
    LOAN_TABLE, LoanRow, SCENARIO_TABLE, ScenarioRow, read_loan_results, read_random_scenarios,
};

use crate::cli::{DiffArgs, DiffBy};

pub(crate) fn diff(args: &DiffArgs, aws: &LazyAws) -> Result<()> {
    let (a, a_store) = load(&args.run_a, aws)?;
    let (b, b_store) = load(&args.run_b, aws)?;
    // Paired standard errors need both runs' scenario tables; without them (a
    // deterministic run, a table removed) the errors treat the runs as independent.
    let scenarios = |r: &RunReport, store: &Store| -> Option<Vec<ScenarioRow>> {
        match table(r, store, SCENARIO_TABLE, read_random_scenarios) {
            Ok(rows) => rows,
            Err(e) => {
                eprintln!("warning: {e:#}; the standard errors treat the runs as independent");
                None
            }
        }
    };
    let (a_rows, b_rows) = (scenarios(&a, &a_store), scenarios(&b, &b_store));
    let paired = match (&a_rows, &b_rows) {
        (Some(x), Some(y)) => Some(mcflow::diff::Paired { a: x, b: y }),
        _ => None,
    };
    let mut d = mcflow::diff::diff(&a, &b, paired);
    if args.by == Some(DiffBy::State) {
        let loans = |r: &RunReport, store: &Store| -> Result<Vec<LoanRow>> {
            table(r, store, LOAN_TABLE, read_loan_results)?.with_context(|| {
                format!(
                    "run {} has no {LOAN_TABLE} table (a deterministic run has none): --by state needs one in both runs",
                    r.run_id
                )
            })
        };
        let (a_loans, b_loans) = (loans(&a, &a_store)?, loans(&b, &b_store)?);
        d.by_state = Some(mcflow::diff::state_rows(&a, &a_loans, &b, &b_loans));
    }
    if args.json {
        println!("{}", serde_json::to_string(&d)?);
    } else {
        print!("{}", mcflow::diff::text(&d));
    }
    Ok(())
}

/// The run's `table` (its key from the report's outputs), read with `read`; `None` when
/// the run wrote no such table.
fn table<T>(
    report: &RunReport,
    store: &Store,
    table: &str,
    read: fn(bytes::Bytes) -> Result<T, String>,
) -> Result<Option<T>> {
    let prefix = format!("{table}/");
    let Some(key) = report.outputs.iter().find(|k| k.starts_with(&prefix)) else {
        return Ok(None);
    };
    let Some(bytes) = store.get(key)? else {
        return Ok(None);
    };
    read(bytes)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", store.describe(key)))
}

/// A run named as `LOC/runs/RUN_ID` (`LOC` a directory or `s3://bucket/prefix`), or as an
/// output location that holds exactly one run.
fn load(run: &str, aws: &LazyAws) -> Result<(RunReport, Store)> {
    let trimmed = run.trim_end_matches('/');
    // `runs` must be a whole path component: `myruns/x` is not a run.
    let named = match trimmed.rsplit_once(&format!("/{RUNS}/")) {
        Some((root, id)) => Some((root, id)),
        None => trimmed
            .strip_prefix(&format!("{RUNS}/"))
            .map(|id| (".", id)),
    };
    let (location, run_id) = match named {
        Some((root, id)) if !id.is_empty() && !id.contains('/') => {
            (if root.is_empty() { "/" } else { root }, Some(id))
        }
        _ => (trimmed, None),
    };
    let store = Store::open(location, || aws.get())?;
    let run_id = match run_id {
        Some(id) => id.to_string(),
        None => {
            let ids: Vec<String> = store
                .list(RUNS)?
                .iter()
                .filter_map(|k| parse_report_key(k).map(str::to_string))
                .collect();
            match ids.as_slice() {
                [one] => one.clone(),
                [] => {
                    anyhow::bail!("no completed run in {run} (expected runs/<run_id>/report.json)")
                }
                many => anyhow::bail!(
                    "{run} holds {} runs ({}); name one as {}/runs/<run_id>",
                    many.len(),
                    many.join(", "),
                    location
                ),
            }
        }
    };
    let report = RunReport::get(&store, &run_id)?.with_context(|| {
        format!(
            "no run {run_id} in {} (no runs/{run_id}/report.json)",
            store.root()
        )
    })?;
    Ok((report, store))
}
