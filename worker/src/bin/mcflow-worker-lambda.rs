//! The worker function's bootstrap: a thin shell that sizes the thread pool from the
//! function's memory setting and hands each event to `worker::lambda_worker`.

use std::sync::Arc;

use worker::aws::{AwsSettings, LazyAws};
use worker::lambda_facts::threads_for_memory;
use worker::lambda_worker::{WorkerEvent, current_environment, handle_event};
use worker::runner::{ShardRunner, function_memory_mb};
use worker::serve::{Error, deadline, serve};

/// Time kept back from the invocation's deadline to answer with the unstarted records.
const ANSWER_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> Result<(), Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads_for_memory(function_memory_mb()))
        .build()?;
    let runner = ShardRunner::new(Arc::new(LazyAws::new(AwsSettings::default())));
    serve(move |event: WorkerEvent, context| {
        let until = deadline(&context, ANSWER_MARGIN);
        handle_event(
            &runner,
            &pool,
            event,
            Some(until),
            &current_environment,
            &mut |line| println!("{line}"),
        )
        .map_err(Error::from)
    })
}
