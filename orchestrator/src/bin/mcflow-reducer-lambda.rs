//! The reducer function's bootstrap: a thin shell that reads the function's environment
//! and hands each event to `orchestrator::cloud::lambda`.

use std::sync::Arc;

use orchestrator::cloud::lambda::{
    ENV_QUEUE_URL, ENV_STORE, FunctionEnv, ReducerEvent, handle_reducer_event,
};
use worker::aws::{AwsSettings, LazyAws};
use worker::serve::{Error, env_var, serve};

fn main() -> Result<(), Error> {
    let env = FunctionEnv {
        store: env_var(ENV_STORE)?,
        queue_url: std::env::var(ENV_QUEUE_URL).unwrap_or_default(),
        reducer_function: None,
    };
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    serve(move |event: ReducerEvent, context| {
        let claimant = format!("lambda:{}", context.request_id);
        handle_reducer_event(&aws, &env, event, &claimant, chrono::Utc::now())
            .map_err(|e| Error::from(format!("{e:#}")))
    })
}
