//! The pre-traffic hook's bootstrap: CodeDeploy calls it before shifting traffic to a
//! new worker version; it runs the golden shard on that version (a direct invocation),
//! compares the output's digest with the one shipped in the build, and reports the
//! verdict to CodeDeploy, which rolls the deployment back on failure.

use std::sync::Arc;

use orchestrator::cloud::lambda::{
    ENV_STORE, HookEvent, HookVerdict, Invocation, invoke_function, pretraffic_check,
    report_hook_verdict,
};
use worker::aws::{AwsSettings, LazyAws};
use worker::serve::{Error, env_var, serve};
use worker::store::Store;

fn main() -> Result<(), Error> {
    let store_root = env_var(ENV_STORE)?;
    let version = env_var("MCFLOW_WORKER_VERSION")?;
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    serve(move |event: HookEvent, _| {
        let sdk = aws.get();
        let store = Store::open(&store_root, || sdk.clone())?;
        let verdict = pretraffic_check(&store, chrono::Utc::now(), &|payload| {
            invoke_function(&sdk, &version, &payload, Invocation::Wait)
        });
        if let HookVerdict::Failed(reason) = &verdict {
            let line = serde_json::json!({"level": "ERROR", "message": "golden shard check failed", "reason": reason});
            println!("{line}");
        }
        report_hook_verdict(&sdk, &event, &verdict).map_err(|e| format!("{e:#}"))?;
        Ok(serde_json::json!({"verdict": format!("{verdict:?}")}))
    })
}
