//! `mcflow status`'s text: the run's state, progress, cost so far and failures.

use orchestrator::cloud::RunStatus;

use super::summary::line;

/// The status as labelled lines.
pub fn text(st: &RunStatus) -> String {
    let mut out = String::new();
    out += &format!("{}\n", line("run", &st.run_id));
    out += &format!(
        "{}\n",
        line("state", format!("{:?}", st.state).to_lowercase())
    );
    out += &format!(
        "{}\n",
        line("shards done", format!("{} / {}", st.done, st.planned))
    );
    out += &format!(
        "{}\n",
        line(
            "loan-months done",
            format!("{} / {}", st.loan_months_done, st.loan_months_planned)
        )
    );
    out += &format!("{}\n", line("submitted", &st.submitted_at));
    if let Some(f) = &st.finished_at {
        out += &format!("{}\n", line("finished", f));
    }
    out += &format!(
        "{}\n",
        line("est. cost USD", format!("{:.6}", st.estimated_cost_usd))
    );
    for f in &st.failed {
        let dead = if f.dead_lettered {
            " (dead-lettered)"
        } else {
            ""
        };
        let failure = format!("{}{dead}: {}", f.shard, f.error);
        out += &format!("{}\n", line("failed shard", failure));
    }
    if let Some(e) = &st.error {
        out += &format!("{}\n", line("error", e));
    }
    out
}

#[cfg(test)]
mod tests {
    use orchestrator::cloud::{FailedShard, RunState};

    use super::*;

    #[test]
    fn failures_are_listed_after_the_cost_and_before_the_error() {
        let st = RunStatus {
            run_id: "r1".into(),
            state: RunState::Failed,
            planned: 2,
            done: 1,
            failed: vec![FailedShard {
                shard: 1,
                error: "boom".into(),
                retryable: false,
                dead_lettered: true,
            }],
            submitted_at: "2026-11-30T00:00:00Z".into(),
            finished_at: None,
            loan_months_planned: 10,
            loan_months_done: 5,
            estimated_cost_usd: 0.5,
            error: Some("shard 1 failed".into()),
        };
        let text = text(&st);
        let labels: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start().split("  ").next().unwrap_or_default())
            .collect();
        assert_eq!(
            labels,
            [
                "run",
                "state",
                "shards done",
                "loan-months done",
                "submitted",
                "est. cost USD",
                "failed shard",
                "error"
            ],
            "{text}"
        );
        assert!(text.contains("1 (dead-lettered): boom"), "{text}");
    }
}
