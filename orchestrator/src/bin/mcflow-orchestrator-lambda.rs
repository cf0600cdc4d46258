//! The orchestrator function's bootstrap: a thin shell that reads the function's
//! environment, hands each event to `orchestrator::cloud::lambda` with a deadline a
//! minute before the invocation's own, and, when the fan-out is not finished by then,
//! invokes the function again (asynchronously) with the continuation event.

use std::sync::Arc;
use std::time::Duration;

use orchestrator::cloud::lambda::{
    ENV_QUEUE_URL, ENV_REDUCER_FUNCTION, ENV_STORE, FunctionEnv, Invocation, OrchestratorEvent,
    handle_orchestrator_event, invoke_function,
};
use worker::aws::{AwsSettings, LazyAws};
use worker::serve::{Error, deadline, env_var, serve};

/// Time kept back from the invocation's deadline to write the answer and re-invoke.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);

fn main() -> Result<(), Error> {
    let env = FunctionEnv {
        store: env_var(ENV_STORE)?,
        queue_url: env_var(ENV_QUEUE_URL)?,
        reducer_function: std::env::var(ENV_REDUCER_FUNCTION).ok(),
    };
    let function_name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    serve(move |event: OrchestratorEvent, context| {
        let until = deadline(&context, SAFETY_MARGIN);
        let answer = handle_orchestrator_event(&aws, &env, event, chrono::Utc::now(), Some(until))
            .map_err(|e| format!("{e:#}"))?;
        if let Some(next) = answer.get("continuation") {
            invoke_function(&aws.get(), &function_name, next, Invocation::Queue)
                .map_err(|e| format!("cannot continue the fan-out: {e:#}"))?;
        }
        Ok(answer)
    })
}
