//! The worker function's bootstrap: a thin shell that sizes the thread pool from the
//! function's memory setting and hands each event to `worker::lambda_worker`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use worker::aws::{AwsSettings, LazyAws};
use worker::lambda_worker::{current_environment, handle_event};
use worker::runner::{ShardRunner, threads_for_memory};

fn main() -> Result<(), lambda_runtime::Error> {
    let memory_mb = worker::runner::function_memory_mb();
    let pool = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads_for_memory(memory_mb))
            .build()?,
    );
    let runner = Arc::new(ShardRunner::new(Arc::new(LazyAws::new(
        AwsSettings::default(),
    ))));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let (runner, pool) = (runner.clone(), pool.clone());
            async move {
                // The shard is CPU work and blocking I/O: keep it off the runtime thread.
                tokio::task::spawn_blocking(move || {
                    handle_event(
                        &runner,
                        &pool,
                        event.payload,
                        &current_environment,
                        &mut |line| println!("{line}"),
                    )
                })
                .await?
                .map_err(lambda_runtime::Error::from)
            }
        },
    )))
}
