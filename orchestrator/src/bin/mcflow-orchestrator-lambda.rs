//! The orchestrator function's bootstrap: a thin shell that reads the function's
//! environment, hands each event to `orchestrator::cloud::lambda` with a deadline a
//! minute before the invocation's own, and, when the fan-out is not finished by then,
//! invokes the function again (asynchronously) with the continuation event.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use orchestrator::cloud::lambda::{
    ENV_QUEUE_URL, ENV_STORE, FunctionEnv, handle_orchestrator_event,
};
use serde_json::Value;
use worker::aws::{AwsSettings, LazyAws};

/// Time kept back from the invocation's deadline to write the answer and re-invoke.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);

fn main() -> Result<(), lambda_runtime::Error> {
    let env = Arc::new(FunctionEnv {
        store: std::env::var(ENV_STORE).map_err(|_| format!("{ENV_STORE} is not set"))?,
        queue_url: std::env::var(ENV_QUEUE_URL)
            .map_err(|_| format!("{ENV_QUEUE_URL} is not set"))?,
    });
    let function_name = Arc::new(std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default());
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let (aws, env, function_name) = (aws.clone(), env.clone(), function_name.clone());
            async move {
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
                let deadline = Instant::now() + left.saturating_sub(SAFETY_MARGIN);
                let sdk = aws.clone();
                let answer = tokio::task::spawn_blocking(move || {
                    handle_orchestrator_event(
                        &aws,
                        &env,
                        event.payload,
                        chrono::Utc::now(),
                        Some(deadline),
                    )
                    .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
                })
                .await??;
                if let Some(next) = answer.get("continuation") {
                    let client = aws_sdk_lambda::Client::new(sdk.get().sdk_config());
                    client
                        .invoke()
                        .function_name(function_name.as_str())
                        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                        .payload(aws_sdk_lambda::primitives::Blob::new(next.to_string()))
                        .send()
                        .await
                        .map_err(|e| {
                            format!(
                                "cannot continue the fan-out: {}",
                                aws_sdk_lambda::error::DisplayErrorContext(e)
                            )
                        })?;
                }
                Ok::<Value, lambda_runtime::Error>(answer)
            }
        },
    )))
}
