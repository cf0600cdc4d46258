//! The Lambda runtime loop every function's bootstrap shares: a typed event in, a
//! serialisable answer out, the handler run off the runtime thread. The handlers are
//! blocking (CPU work, and the store's blocking facade over the SDK), so each invocation
//! moves to `spawn_blocking` and the one-thread runtime only talks to the Runtime API.

use std::sync::Arc;

use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use lambda_runtime::Error;

/// Serves `handler` until the Lambda environment stops the process. An event that does
/// not deserialise as `E` is answered by the runtime with the serde error, and the
/// handler is not called.
pub fn serve<E, R, F>(handler: F) -> Result<(), Error>
where
    E: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(E, Context) -> Result<R, Error> + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<E>| {
            let handler = handler.clone();
            async move {
                tokio::task::spawn_blocking(move || handler(event.payload, event.context)).await?
            }
        },
    )))
}

/// The invocation's deadline as an `Instant`, `margin` early: the time a handler may
/// work before it must answer.
pub fn deadline(context: &Context, margin: std::time::Duration) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let left = std::time::Duration::from_millis(context.deadline.saturating_sub(now_ms));
    std::time::Instant::now() + left.saturating_sub(margin)
}

/// The two shapes of event a function may take: a batch of `Records` (an SQS batch, an S3
/// notification) or, without that key, one direct request.
#[derive(Debug, Clone)]
pub enum RecordsOr<R, D> {
    Records(R),
    Direct(D),
}

/// Reads `event` as the shape its `Records` key says it is, so that an error says what is
/// wrong with that shape rather than "matches no shape". `records` and `direct` name the
/// shapes in messages ("an SQS batch", "a shard message").
pub fn records_or<R: DeserializeOwned, D: DeserializeOwned>(
    event: serde_json::Value,
    records: &str,
    direct: &str,
) -> Result<RecordsOr<R, D>, String> {
    if event.get("Records").is_some() {
        serde_json::from_value(event)
            .map(RecordsOr::Records)
            .map_err(|e| format!("not {records}: {e}"))
    } else {
        serde_json::from_value(event)
            .map(RecordsOr::Direct)
            .map_err(|e| format!("neither {records} nor {direct}: {e}"))
    }
}

/// A required environment variable of the function (the template sets it).
pub fn env_var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}
