//! The `mcflow run` progress bar.

/// A progress bar on stderr (hidden when stderr is not a terminal) counting loan-months,
/// with throughput and ETA.
#[derive(Debug)]
pub struct ProgressDisplay {
    bar: indicatif::ProgressBar,
}

impl Default for ProgressDisplay {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressDisplay {
    pub fn new() -> ProgressDisplay {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:>10} [{bar:40}] {percent:>3}% {per_sec} loan-months, ETA {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        ProgressDisplay { bar }
    }

    pub fn update(&self, event: orchestrator::run::local::Progress) {
        use orchestrator::run::local::Progress;
        match event {
            Progress::Planned {
                shards,
                loan_months,
            } => {
                self.bar.set_length(loan_months);
                self.bar.set_message(format!("{shards} shards"));
            }
            Progress::Resumed { shards } => {
                self.bar.set_message(format!("{shards} kept"));
            }
            Progress::ShardDone { loan_months } => self.bar.inc(loan_months),
            Progress::Reducing => self.bar.set_message("reducing"),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
