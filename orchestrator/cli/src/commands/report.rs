//! `mcflow report`: the summaries of stored runs, reprinted from their `report.json`.

use anyhow::{Context, Result};
use mcflow::render::summary::{line, render};
use worker::aws::LazyAws;
use worker::layout::{PAGE_FILE, RUNS, parse_report_key, report_key, run_file_key};
use worker::store::Store;

use crate::cli::ReportArgs;

pub(crate) fn report(args: &ReportArgs, aws: &LazyAws) -> Result<()> {
    let store = Store::open(&args.dir, || aws.get())?;
    let mut ids: Vec<String> = match &args.run_id {
        Some(id) => vec![id.clone()],
        None => store
            .list(RUNS)?
            .iter()
            .filter_map(|k| parse_report_key(k).map(str::to_string))
            .collect(),
    };
    ids.sort();
    anyhow::ensure!(
        !ids.is_empty(),
        "no completed runs in {} (expected runs/<run_id>/report.json)",
        args.dir
    );
    let mut reports = Vec::with_capacity(ids.len());
    for id in ids {
        let key = report_key(&id);
        let report = worker::report::RunReport::get(&store, &id)?
            .with_context(|| format!("no report at {}", store.describe(&key)))?;
        if !args.json {
            println!("mcflow run {id} ({})", store.describe(&key));
            print!("{}", render(&report));
            // Runs from before the page have none.
            let page = run_file_key(&id, PAGE_FILE);
            if store.size(&page)?.is_some() {
                println!("{}", line("page", store.describe(&page)));
            }
        }
        reports.push(report);
    }
    if args.json {
        println!("{}", serde_json::to_string(&reports)?);
    }
    Ok(())
}
