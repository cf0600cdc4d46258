//! The worker function's bootstrap: a thin shell that sizes the thread pool from the
//! function's memory setting and hands each event to `worker::lambda_worker`, with the
//! invocation's deadline and the dead-letter queue for poison shards.

use std::sync::Arc;

use worker::aws::{AwsSettings, LazyAws};
use worker::dead_letter::ENV_DEAD_LETTER_URL;
use worker::lambda_facts::threads_for_memory;
use worker::lambda_worker::{WorkerEvent, current_environment, handle_event};
use worker::runner::{ShardRunner, function_memory_mb};
use worker::serve::{Error, deadline, serve};

/// Time kept back from the invocation's deadline to answer with the unstarted records.
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> Result<(), Error> {
    let started = std::time::Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads_for_memory(function_memory_mb()))
        .build()?;
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    let dead_letter_url = std::env::var(ENV_DEAD_LETTER_URL).ok();
    // INIT ends when the runtime loop asks for the first event, right below.
    let runner = ShardRunner::new(aws.clone()).on_lambda(function_memory_mb(), started.elapsed());
    serve(move |event: WorkerEvent, context| {
        let send = |body: &str, reason: &str| {
            let url = dead_letter_url.as_deref().unwrap_or_default();
            worker::dead_letter::send(&aws.get(), url, body, reason)
        };
        let dead_letter = dead_letter_url.is_some().then_some(&send as _);
        let until = Some(deadline(&context, ANSWER_MARGIN));
        handle_event(
            &runner,
            &pool,
            event,
            until,
            dead_letter,
            &current_environment,
            &mut |l| println!("{l}"),
        )
        .map_err(Error::from)
    })
}
