//! Every key of a store, built and parsed here and nowhere else. Workers, the reducer,
//! the CLI, the hooks and the template checks all name objects through these functions,
//! so the layout the README documents (and the IAM policies grant) is this one module.
//!
//! ```text
//! runs/<run_id>/manifest.json            the run as submitted (config, inputs, sizes)
//! runs/<run_id>/shards.json              the planned shard tasks
//! runs/<run_id>/failures/shard-NNNNN.json  a failed shard's record
//! runs/<run_id>/progress/group-NNNNN.json  which shards of one completion group are done
//! runs/<run_id>/progress/groups.json     which completion groups are done
//! runs/<run_id>/run.ready                created once every shard is done: the reduce's trigger
//! runs/<run_id>/claims/claim-NNNNN.json  reduce claims, one per lease generation
//! runs/<run_id>/status.json              the reduce's verdict
//! runs/<run_id>/reissued.json            straggler re-issues
//! runs/<run_id>/report.json              the finished run's report (written last)
//! runs/<run_id>/<chart>.svg              the CLI's charts
//! _partials/run_id=<id>/shard-NNNNN/{cashflows.parquet, loans.parquet, _SUCCESS.json}
//! <table>/run_date=YYYY-MM-DD/run_id=<id>/part-00000.parquet   final tables (Hive)
//! ```

use chrono::NaiveDate;

/// The folder of every run's own documents.
pub const RUNS: &str = "runs";
/// A run's report, the last file a run writes.
pub const REPORT_FILE: &str = "report.json";
/// A shard's completion marker, written after its partial files.
pub const MARKER_FILE: &str = "_SUCCESS.json";
/// A shard's partial cash-flow tables (one per scenario).
pub const SHARD_CASHFLOWS_FILE: &str = "cashflows.parquet";
/// A shard's partial per-loan sums (stochastic runs).
pub const SHARD_LOANS_FILE: &str = "loans.parquet";
/// The one data file of a final table's partition.
pub const PART_FILE: &str = "part-00000.parquet";

/// `runs/<run_id>`.
pub fn run_prefix(run_id: &str) -> String {
    format!("{RUNS}/{run_id}")
}

/// `runs/<run_id>/manifest.json`.
pub fn manifest_key(run_id: &str) -> String {
    format!("{}/manifest.json", run_prefix(run_id))
}

/// `runs/<run_id>/shards.json`: the planned shard tasks, in shard order.
pub fn shards_key(run_id: &str) -> String {
    format!("{}/shards.json", run_prefix(run_id))
}

/// `runs/<run_id>/report.json`.
pub fn report_key(run_id: &str) -> String {
    format!("{}/{REPORT_FILE}", run_prefix(run_id))
}

/// `runs/<run_id>/<file>`: a chart or other document of the finished run.
pub fn run_file_key(run_id: &str, file: &str) -> String {
    format!("{}/{file}", run_prefix(run_id))
}

/// `runs/<run_id>/failures`: the failed shards' records.
pub fn failures_prefix(run_id: &str) -> String {
    format!("{}/failures", run_prefix(run_id))
}

/// `runs/<run_id>/failures/shard-NNNNN.json`.
pub fn failure_key(run_id: &str, shard: u32) -> String {
    format!("{}/shard-{shard:05}.json", failures_prefix(run_id))
}

/// `runs/<run_id>/claims`: the reduce claims, one per lease generation.
pub fn claims_prefix(run_id: &str) -> String {
    format!("{}/claims", run_prefix(run_id))
}

/// `runs/<run_id>/claims/claim-NNNNN.json`: generation `generation` of the reduce claim.
pub fn claim_key(run_id: &str, generation: u32) -> String {
    format!("{}/claim-{generation:05}.json", claims_prefix(run_id))
}

/// The generation of a claim key, if `key` is one of `run_id`'s.
pub fn parse_claim_key(run_id: &str, key: &str) -> Option<u32> {
    key.strip_prefix(&claims_prefix(run_id))?
        .strip_prefix("/claim-")?
        .strip_suffix(".json")?
        .parse()
        .ok()
}

/// `runs/<run_id>/progress/group-NNNNN.json`: the done shards of one completion group.
pub fn progress_group_key(run_id: &str, group: u32) -> String {
    format!("{}/progress/group-{group:05}.json", run_prefix(run_id))
}

/// `runs/<run_id>/progress/groups.json`: the done completion groups.
pub fn progress_groups_key(run_id: &str) -> String {
    format!("{}/progress/groups.json", run_prefix(run_id))
}

/// The suffix of the objects that trigger the reducer.
pub const READY_SUFFIX: &str = ".ready";

/// `runs/<run_id>/run.ready`: created once every shard is done; its creation notifies
/// the reducer.
pub fn ready_key(run_id: &str) -> String {
    format!("{}/run{READY_SUFFIX}", run_prefix(run_id))
}

/// The run id of a ready key, if `key` is one.
pub fn parse_ready_key(key: &str) -> Option<&str> {
    key.strip_prefix(RUNS)?
        .strip_prefix('/')?
        .strip_suffix(READY_SUFFIX)?
        .strip_suffix("/run")
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

/// `runs/<run_id>/status.json`.
pub fn status_key(run_id: &str) -> String {
    format!("{}/status.json", run_prefix(run_id))
}

/// `runs/<run_id>/reissued.json`: when stragglers were last re-issued.
pub fn reissued_key(run_id: &str) -> String {
    format!("{}/reissued.json", run_prefix(run_id))
}

/// `_partials/run_id=<id>`: intermediate results, safe to delete once reduced.
pub fn partials_prefix(run_id: &str) -> String {
    format!("_partials/run_id={run_id}")
}

/// `_partials/run_id=<id>/shard-NNNNN`: one shard's folder.
pub fn shard_prefix(run_id: &str, shard: u32) -> String {
    format!("{}/shard-{shard:05}", partials_prefix(run_id))
}

/// A file of one shard's folder.
pub fn shard_file_key(run_id: &str, shard: u32, file: &str) -> String {
    format!("{}/{file}", shard_prefix(run_id, shard))
}

/// The completion marker's key of a shard.
pub fn marker_key(run_id: &str, shard: u32) -> String {
    shard_file_key(run_id, shard, MARKER_FILE)
}

/// The Hive partition folder of one run of `table`: `table/run_date=D/run_id=ID`.
pub fn partition_prefix(table: &str, run_date: NaiveDate, run_id: &str) -> String {
    format!(
        "{table}/run_date={}/run_id={run_id}",
        run_date.format("%Y-%m-%d")
    )
}

/// The data file of one run's partition of `table`.
pub fn table_key(table: &str, run_date: NaiveDate, run_id: &str) -> String {
    format!("{}/{PART_FILE}", partition_prefix(table, run_date, run_id))
}

/// The run id and shard number of a completion-marker key, if `key` is one.
pub fn parse_marker_key(key: &str) -> Option<(&str, u32)> {
    let rest = key.strip_prefix("_partials/run_id=")?;
    let (run_id, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("shard-")?;
    let (number, file) = rest.split_once('/')?;
    if file != MARKER_FILE || run_id.is_empty() {
        return None;
    }
    Some((run_id, number.parse().ok()?))
}

/// The shard number of a completion-marker key of `run_id`, if `key` is one.
pub fn shard_of_marker(run_id: &str, key: &str) -> Option<u32> {
    parse_marker_key(key).and_then(|(id, shard)| (id == run_id).then_some(shard))
}

/// The run id of a report key (`runs/<run_id>/report.json`), if `key` is one.
pub fn parse_report_key(key: &str) -> Option<&str> {
    key.strip_prefix(RUNS)?
        .strip_prefix('/')?
        .strip_suffix(REPORT_FILE)?
        .strip_suffix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_to_what_built_them() {
        assert_eq!(
            marker_key("r1", 3),
            "_partials/run_id=r1/shard-00003/_SUCCESS.json"
        );
        assert_eq!(parse_marker_key(&marker_key("r1", 3)), Some(("r1", 3)));
        assert_eq!(shard_of_marker("r1", &marker_key("r1", 3)), Some(3));
        assert_eq!(shard_of_marker("r2", &marker_key("r1", 3)), None);
        assert_eq!(
            parse_marker_key(&shard_file_key("r1", 3, SHARD_LOANS_FILE)),
            None
        );
        assert_eq!(parse_report_key(&report_key("day-1")), Some("day-1"));
        assert_eq!(parse_ready_key(&ready_key("day-1")), Some("day-1"));
        assert_eq!(parse_ready_key("runs/a/b/run.ready"), None);
        assert_eq!(parse_claim_key("r1", &claim_key("r1", 7)), Some(7));
        assert_eq!(parse_claim_key("r1", &claim_key("r12", 7)), None);
        assert_eq!(parse_report_key("runs/a/b/report.json"), None);
        assert_eq!(parse_report_key(&manifest_key("day-1")), None);
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        assert_eq!(
            table_key("loan_results", d, "r1"),
            "loan_results/run_date=2026-11-30/run_id=r1/part-00000.parquet"
        );
    }
}
