//! The orchestrator function's bootstrap: a thin shell that reads the function's
//! environment and hands each event to `orchestrator::cloud::lambda`.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use orchestrator::cloud::lambda::{
    ENV_QUEUE_URL, ENV_STORE, FunctionEnv, handle_orchestrator_event,
};
use serde_json::Value;
use worker::aws::{AwsSettings, LazyAws};

fn main() -> Result<(), lambda_runtime::Error> {
    let env = Arc::new(FunctionEnv {
        store: std::env::var(ENV_STORE).map_err(|_| format!("{ENV_STORE} is not set"))?,
        queue_url: std::env::var(ENV_QUEUE_URL)
            .map_err(|_| format!("{ENV_QUEUE_URL} is not set"))?,
    });
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let (aws, env) = (aws.clone(), env.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    handle_orchestrator_event(&aws, &env, event.payload, chrono::Utc::now())
                        .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
                })
                .await?
            }
        },
    )))
}
