//! The pre-traffic hook's bootstrap: CodeDeploy calls it before shifting traffic to a
//! new worker version; it runs the golden shard on that version (a direct invocation),
//! compares the output's digest with the one shipped in the build, and reports the
//! verdict to CodeDeploy, which rolls the deployment back on failure.

use std::sync::Arc;

use anyhow::{Context, bail};
use lambda_runtime::{LambdaEvent, service_fn};
use orchestrator::cloud::lambda::{ENV_STORE, HookVerdict, pretraffic_check};
use serde_json::Value;
use worker::aws::{AwsSettings, LazyAws};
use worker::store::Store;

fn main() -> Result<(), lambda_runtime::Error> {
    let store_root = std::env::var(ENV_STORE).map_err(|_| format!("{ENV_STORE} is not set"))?;
    let version = Arc::new(
        std::env::var("MCFLOW_WORKER_VERSION")
            .map_err(|_| "MCFLOW_WORKER_VERSION is not set".to_string())?,
    );
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Value>| {
            let (aws, version, store_root) = (aws.clone(), version.clone(), store_root.clone());
            async move {
                tokio::task::spawn_blocking(move || -> anyhow::Result<Value> {
                    let deployment = event.payload["DeploymentId"]
                        .as_str()
                        .context("no DeploymentId")?
                        .to_string();
                    let execution = event.payload["LifecycleEventHookExecutionId"]
                        .as_str()
                        .context("no LifecycleEventHookExecutionId")?
                        .to_string();
                    let sdk = aws.get();
                    let store = Store::open(&store_root, || sdk.clone())?;
                    let lambda = aws_sdk_lambda::Client::new(sdk.sdk_config());
                    let verdict = pretraffic_check(&store, chrono::Utc::now(), &|payload| {
                        let out = sdk
                            .block_on(
                                lambda
                                    .invoke()
                                    .function_name(version.as_str())
                                    .payload(aws_sdk_lambda::primitives::Blob::new(
                                        payload.to_string(),
                                    ))
                                    .send(),
                            )
                            .map_err(|e| {
                                anyhow::anyhow!("{}", aws_sdk_lambda::error::DisplayErrorContext(e))
                            })?;
                        let body = out.payload.map(|b| b.into_inner()).unwrap_or_default();
                        if let Some(kind) = out.function_error {
                            bail!("{kind}: {}", String::from_utf8_lossy(&body));
                        }
                        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
                    });
                    let status = match &verdict {
                        HookVerdict::Succeeded => {
                            aws_sdk_codedeploy::types::LifecycleEventStatus::Succeeded
                        }
                        HookVerdict::Failed(reason) => {
                            println!(
                                "{}",
                                serde_json::json!({"level": "ERROR", "message": "golden shard check failed", "reason": reason})
                            );
                            aws_sdk_codedeploy::types::LifecycleEventStatus::Failed
                        }
                    };
                    let codedeploy = aws_sdk_codedeploy::Client::new(sdk.sdk_config());
                    sdk.block_on(
                        codedeploy
                            .put_lifecycle_event_hook_execution_status()
                            .deployment_id(deployment)
                            .lifecycle_event_hook_execution_id(execution)
                            .status(status)
                            .send(),
                    )
                    .map_err(|e| {
                        anyhow::anyhow!("{}", aws_sdk_codedeploy::error::DisplayErrorContext(e))
                    })?;
                    Ok(serde_json::json!({"verdict": format!("{verdict:?}")}))
                })
                .await?
                .map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
            }
        },
    )))
}
