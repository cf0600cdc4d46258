//! The worker function's bootstrap: a thin shell that sizes the thread pool from the
//! function's memory setting and hands each event to `worker::lambda_worker`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use worker::aws::{AwsSettings, LazyAws};
use worker::lambda_worker::{Environment, handle_event, peak_memory_mb};
use worker::runner::{ShardRunner, threads_for_memory};

fn main() -> Result<(), lambda_runtime::Error> {
    // 1,769 MB (one vCPU) when run outside Lambda without the variable.
    let memory_mb = std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(worker::runner::MB_PER_VCPU);
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
                    handle_event(&runner, &pool, event.payload, &environment, &mut |line| {
                        println!("{line}")
                    })
                })
                .await?
                .map_err(lambda_runtime::Error::from)
            }
        },
    )))
}

fn environment() -> Environment {
    Environment {
        now_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        peak_memory_mb: peak_memory_mb(),
    }
}
