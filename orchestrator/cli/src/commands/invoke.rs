//! `mcflow invoke worker` and its hidden child side: the worker handler run once under
//! Lambda's limits.

use std::path::Path;

use anyhow::{Context, Result};
use mcflow::sandbox::{InvokeRequest, Limits, invoke, new_request_id};
use worker::aws::LazyAws;

use crate::cli::{InvokeArgs, InvokeChildArgs};

pub(crate) fn invoke_worker(args: &InvokeArgs, endpoint_url: Option<&str>) -> Result<()> {
    read_event(&args.event)?;
    mcflow::sandbox::clean_up_on_interrupt().context("cannot install the interrupt handler")?;
    let request = InvokeRequest {
        exe: std::env::current_exe().context("cannot find the mcflow executable")?,
        event: args.event.clone(),
        limits: Limits {
            memory_mb: args.memory,
            timeout: args.timeout,
            cpu: args.cpu_limit.into(),
        },
        env: function_env(endpoint_url),
        request_id: new_request_id(),
    };
    // Logs and the START/END/REPORT lines go to stderr, the response to stdout, as
    // `sam local invoke` does.
    eprintln!("START RequestId: {} Version: $LATEST", request.request_id);
    let inv = invoke(&request, &mut |line| eprintln!("{line}"))?;
    if let Some(doc) = inv.error_document() {
        // Lambda's own log line: timestamp, request id, what happened.
        let message = doc["errorMessage"].as_str().unwrap_or_default();
        let prefix = format!("RequestId: {} Error: ", inv.request_id);
        eprintln!(
            "{} {} {}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            inv.request_id,
            message.strip_prefix(&prefix).unwrap_or(message)
        );
    }
    eprintln!("END RequestId: {}", inv.request_id);
    eprintln!("{}", inv.report_line());
    eprintln!(
        "cpu limit: {} ({:.3} vCPU, {} thread(s)){}",
        inv.cpu_limit.name(),
        inv.vcpu,
        inv.threads,
        inv.cpu_limit_note
            .as_deref()
            .map(|n| format!("; model because {n}; measured {:.2} ms", inv.measured_ms))
            .unwrap_or_default()
    );
    match (&inv.outcome, inv.error_document()) {
        (mcflow::sandbox::Outcome::Success(response), _) => {
            println!("{}", serde_json::to_string_pretty(response)?);
            Ok(())
        }
        (_, Some(doc)) => {
            println!("{}", serde_json::to_string_pretty(&doc)?);
            anyhow::bail!(
                "invocation failed: {}: {}",
                doc["errorType"].as_str().unwrap_or_default(),
                doc["errorMessage"].as_str().unwrap_or_default()
            )
        }
        (_, None) => unreachable!("a failed outcome has an error document"),
    }
}

/// The child side of `invoke`: set up like the worker bootstrap, then run the handler
/// once under the parent's watch.
pub(crate) fn invoke_child(
    args: &InvokeChildArgs,
    aws: LazyAws,
    init_started: std::time::Instant,
) -> Result<()> {
    use worker::lambda_facts::threads_for_memory;
    use worker::lambda_worker::{WorkerEvent, current_environment, handle_event};
    use worker::runner::{ShardRunner, function_memory_mb};
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads_for_memory(function_memory_mb()))
        .build()?;
    let runner = ShardRunner::new(std::sync::Arc::new(aws));
    let event = read_event(&args.event)?;
    mcflow::sandbox::child_main(&args.result, init_started, || {
        WorkerEvent::from_json(event)
            .and_then(|event| {
                // The sandbox kills the child at the timeout, as Lambda does; poison
                // records are reported, not sent to a queue.
                handle_event(
                    &runner,
                    &pool,
                    event,
                    None,
                    None,
                    &current_environment,
                    &mut |line| println!("{line}"),
                )
            })
            .map_err(|e| mcflow::sandbox::ChildError {
                error_type: std::any::type_name::<worker::runner::RunnerError>().to_string(),
                message: e.to_string(),
            })
    })
    .context("the invocation's result could not be written")
}

/// The environment an invoked function gets besides Lambda's own variables.
pub(crate) fn function_env(endpoint_url: Option<&str>) -> Vec<(String, String)> {
    endpoint_url
        .iter()
        .map(|u| ("AWS_ENDPOINT_URL".to_string(), u.to_string()))
        .collect()
}

/// Reads an event file and checks it is JSON, naming the file when not.
fn read_event(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read event file {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("event file {} is not a JSON document", path.display()))
}
