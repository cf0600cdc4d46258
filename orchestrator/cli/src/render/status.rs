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
        println!(
            "{}",
            line(
                "failed shard",
                format!(
                    "{}{}: {}",
                    f.shard,
                    if f.dead_lettered {
                        " (dead-lettered)"
                    } else {
                        ""
                    },
                    f.error
                )
            )
        );
    }
    if let Some(e) = &st.error {
        out += &format!("{}\n", line("error", e));
    }
    out
}
