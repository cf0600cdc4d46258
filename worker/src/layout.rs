//! Every key of a store, built and parsed here and nowhere else. Workers, the reducer,
//! the CLI, the hooks and the template checks all name objects through these functions,
//! so the layout the README documents (and the IAM policies grant) is this one module.
//!
//! ```text
//! runs/<run_id>/manifest.json            the run as submitted (config, inputs, sizes)
//! runs/<run_id>/shards.json              the planned shard tasks
//! runs/<run_id>/dispatched.json          written once every shard message has been sent
//! runs/<run_id>/failures/shard-NNNNN.json  a failed shard's record
//! runs/<run_id>/progress/group-NNNNN.json  which shards of one completion group are done
//! runs/<run_id>/progress/groups.json     which completion groups are done (reduced, in a run
//!                                        of several groups)
//! runs/<run_id>/progress/group-NNNNN.ready  created once a group's shards are all done: the
//!                                        group reduce's trigger
//! runs/<run_id>/run.ready                created once every shard is done: the reduce's trigger
//! runs/<run_id>/claims/claim-NNNNN.json  reduce claims, one per lease generation
//! runs/<run_id>/status.json              the reduce's verdict
//! runs/<run_id>/reissued.json            straggler re-issues
//! runs/<run_id>/report.json              the finished run's report (written last)
//! runs/<run_id>/<chart>.svg              the CLI's charts
//! _partials/run_id=<id>/shard-NNNNN/{cashflows.parquet, loans.parquet, _SUCCESS.json}
//! _partials/run_id=<id>/group-NNNNN/{cashflows.parquet, loans.parquet, _SUCCESS.json}
//!                                        a completion group's shards, reduced
//! <table>/run_date=YYYY-MM-DD/run_id=<id>/part-00000.parquet   final tables (Hive)
//! ```

use chrono::NaiveDate;

/// The folder of every run's own documents.
pub const RUNS: &str = "runs";
/// A run's report, the last file a run writes.
pub const REPORT_FILE: &str = "report.json";
/// The run's report page, beside `report.json` (written just before it).
pub const PAGE_FILE: &str = "report.html";
/// The run's charts, beside its page (which inlines them): the cash-flow fan, the PV
/// histogram and PV by parallel shift.
pub const FAN_CHART_FILE: &str = "cashflow_fan.svg";
pub const PV_HISTOGRAM_FILE: &str = "pv_histogram.svg";
pub const PV_BY_SHIFT_FILE: &str = "pv_by_shift.svg";
pub const CHART_FILES: [&str; 3] = [FAN_CHART_FILE, PV_HISTOGRAM_FILE, PV_BY_SHIFT_FILE];
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

/// `runs/<run_id>/dispatched.json`: written once every shard message has been sent.
pub fn dispatched_key(run_id: &str) -> String {
    format!("{}/dispatched.json", run_prefix(run_id))
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

/// `runs/<run_id>/progress/group-NNNNN.ready`: created once every shard of the group is
/// done; its creation notifies the reducer, which reduces the group.
pub fn group_ready_key(run_id: &str, group: u32) -> String {
    format!(
        "{}/progress/group-{group:05}{READY_SUFFIX}",
        run_prefix(run_id)
    )
}

/// The run id and group of a group-ready key, if `key` is one.
pub fn parse_group_ready_key(key: &str) -> Option<(&str, u32)> {
    let rest = key.strip_prefix(RUNS)?.strip_prefix('/')?;
    let (run_id, rest) = rest.split_once('/')?;
    let number = rest
        .strip_prefix("progress/group-")?
        .strip_suffix(READY_SUFFIX)?;
    (!run_id.is_empty()).then_some(())?;
    Some((run_id, number.parse().ok()?))
}

/// `_partials/run_id=<id>/group-NNNNN`: one completion group's reduced partials.
pub fn group_prefix(run_id: &str, group: u32) -> String {
    format!("{}/group-{group:05}", partials_prefix(run_id))
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

/// What a local run's partials belong to (build, inputs, shard plan), written before any
/// shard runs, so an interrupted attempt is resumed only into the same run.
pub fn partials_plan_key(run_id: &str) -> String {
    format!("{}/plan.json", partials_prefix(run_id))
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

/// A component of a deployment, as IAM sees it: each runs under its own role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Submits runs (the scheduled function) and sweeps them.
    Orchestrator,
    /// Runs shards (the Lambda handler; a poll-mode worker that also reduces needs the
    /// reducer's grants too).
    Worker,
    Reducer,
    PreTrafficHook,
    PostTrafficHook,
    /// A person or CI job using `mcflow submit`, `status`, `retry` and `report`.
    Operator,
}

impl Component {
    pub const ALL: [Component; 6] = [
        Component::Orchestrator,
        Component::Worker,
        Component::Reducer,
        Component::PreTrafficHook,
        Component::PostTrafficHook,
        Component::Operator,
    ];
}

/// One S3 request a component makes, as IAM authorises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub action: &'static str,
    /// The object key, bucket-relative; for `s3:ListBucket` the listed prefix, and `None`
    /// for the check S3 makes when a GET finds no object: with `s3:ListBucket` (in a
    /// request that has no `s3:prefix`) the caller gets 404, without it 403.
    pub key: Option<String>,
}

/// The golden shard's store prefix, under the deployment's bucket.
pub const GOLDEN_PREFIX: &str = "_golden";

/// Every S3 request `component` makes, for a sample run (`r`, shard 0, completion group 0,
/// reduce claim generation 0) whose portfolio is `inputs/portfolio.parquet` and whose
/// config is `configs/run.toml`, with every key built by the functions above. The
/// template's policies must allow each one, conditions included (a test checks), and the
/// IAM-enforced emulator run exercises them.
pub fn accesses(component: Component) -> Vec<Access> {
    let run = "r";
    let date = NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date");
    let portfolio = "inputs/portfolio.parquet".to_string();
    let get = |k: String| Access {
        action: "s3:GetObject",
        key: Some(k),
    };
    let get_version = |k: String| Access {
        action: "s3:GetObjectVersion",
        key: Some(k),
    };
    let put = |k: String| Access {
        action: "s3:PutObject",
        key: Some(k),
    };
    let delete = |k: String| Access {
        action: "s3:DeleteObject",
        key: Some(k),
    };
    let list = |prefix: String| Access {
        action: "s3:ListBucket",
        key: Some(format!("{prefix}/")),
    };
    // A GET of a key that may not exist yet.
    let maybe_missing = Access {
        action: "s3:ListBucket",
        key: None,
    };
    let shard_files = |run: &str| {
        [SHARD_CASHFLOWS_FILE, SHARD_LOANS_FILE, MARKER_FILE].map(|f| shard_file_key(run, 0, f))
    };
    let tables = [
        "portfolio_cashflows",
        "scenario_results",
        "loan_results",
        "loan_risk",
    ]
    .map(|t| table_key(t, date, run));
    // The worker, in any store (the deployment's, or the golden one under a prefix).
    let worker_in = |root: &str, portfolio: &str| {
        let at = |k: String| {
            if root.is_empty() {
                k
            } else {
                format!("{root}/{k}")
            }
        };
        let run = if root.is_empty() { run } else { "golden" };
        let mut a = vec![
            get(at(manifest_key(run))),
            get(portfolio.to_string()),
            get_version(portfolio.to_string()),
            delete(at(failure_key(run, 0))),
            put(at(failure_key(run, 0))),
            get(at(progress_group_key(run, 0))),
            put(at(progress_group_key(run, 0))),
            get(at(progress_groups_key(run))),
            put(at(progress_groups_key(run))),
            put(at(group_ready_key(run, 0))),
            put(at(ready_key(run))),
            maybe_missing.clone(),
        ];
        a.extend(shard_files(run).map(|k| put(at(k))));
        a
    };
    // The golden check's own requests, as either hook makes them.
    let golden = || {
        let at = |k: String| format!("{GOLDEN_PREFIX}/{k}");
        let mut a = vec![
            put(at("inputs/portfolio.csv".into())),
            put(at(shards_key("golden"))),
            put(at(manifest_key("golden"))),
            list(at(shard_prefix("golden", 0))),
            list(at(format!("{}/progress", run_prefix("golden")))),
            delete(at(progress_group_key("golden", 0))),
            delete(at(progress_groups_key("golden"))),
            delete(at(ready_key("golden"))),
            maybe_missing.clone(),
        ];
        for k in shard_files("golden") {
            a.push(get(at(k.clone())));
            a.push(delete(at(k)));
        }
        a
    };
    match component {
        Component::Worker => {
            let mut a = worker_in("", &portfolio);
            a.extend(worker_in(
                GOLDEN_PREFIX,
                &format!("{GOLDEN_PREFIX}/inputs/portfolio.csv"),
            ));
            a
        }
        Component::Orchestrator => vec![
            get("configs/run.toml".into()),
            get("configs/stress.csv".into()),
            get(portfolio.clone()),
            get_version(portfolio),
            get(manifest_key(run)),
            maybe_missing,
            put(shards_key(run)),
            put(manifest_key(run)),
            get(dispatched_key(run)),
            put(dispatched_key(run)),
            get(shards_key(run)),
            list(partials_prefix(run)),
            get(marker_key(run, 0)),
            // The sweeper: every run folder, each run's report, ready object, progress
            // (reconciled with the markers) and straggler record.
            list(RUNS.into()),
            get(report_key(run)),
            get(ready_key(run)),
            list(format!("{}/progress", run_prefix(run))),
            get(progress_group_key(run, 0)),
            put(progress_group_key(run, 0)),
            get(progress_groups_key(run)),
            put(progress_groups_key(run)),
            put(group_ready_key(run, 0)),
            put(ready_key(run)),
            get(failure_key(run, 0)),
            get(reissued_key(run)),
            put(reissued_key(run)),
        ],
        Component::Reducer => {
            let mut a = vec![
                get(manifest_key(run)),
                get(shards_key(run)),
                get(report_key(run)),
                get(ready_key(run)),
                maybe_missing,
                get(portfolio.clone()),
                get_version(portfolio),
                list(partials_prefix(run)),
                list(claims_prefix(run)),
                get(claim_key(run, 0)),
                put(claim_key(run, 0)),
                put(claim_key(run, 1)),
                list(failures_prefix(run)),
                get(failure_key(run, 0)),
                get(status_key(run)),
                put(status_key(run)),
                delete(report_key(run)),
                put(report_key(run)),
            ];
            for k in shard_files(run) {
                a.push(get(k.clone()));
                a.push(delete(k));
            }
            // A completion group's reduce: its partials written, then recorded.
            for f in [SHARD_CASHFLOWS_FILE, SHARD_LOANS_FILE, MARKER_FILE] {
                let k = format!("{}/{f}", group_prefix(run, 0));
                a.push(put(k.clone()));
                a.push(get(k.clone()));
                a.push(delete(k));
            }
            a.extend([
                get(progress_groups_key(run)),
                put(progress_groups_key(run)),
                put(ready_key(run)),
            ]);
            a.extend(tables.clone().map(put));
            a
        }
        Component::PreTrafficHook => golden(),
        Component::PostTrafficHook => golden(),
        Component::Operator => {
            let mut a = vec![
                // submit
                get(portfolio.clone()),
                get_version(portfolio),
                get(manifest_key(run)),
                maybe_missing,
                put(shards_key(run)),
                put(manifest_key(run)),
                get(dispatched_key(run)),
                put(dispatched_key(run)),
                // status and retry
                get(shards_key(run)),
                get(status_key(run)),
                put(status_key(run)),
                get(report_key(run)),
                list(partials_prefix(run)),
                get(marker_key(run, 0)),
                list(failures_prefix(run)),
                get(failure_key(run, 0)),
                delete(failure_key(run, 0)),
                // report
                list(RUNS.into()),
            ];
            a.extend(tables.map(get));
            a
        }
    }
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
        assert_eq!(
            parse_group_ready_key(&group_ready_key("day-1", 12)),
            Some(("day-1", 12))
        );
        assert_eq!(parse_group_ready_key(&ready_key("day-1")), None);
        assert_eq!(parse_ready_key(&group_ready_key("day-1", 12)), None);
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
