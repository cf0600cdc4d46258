//! The deployment hooks' bootstrap, one binary for both stages. CodeDeploy calls the
//! pre-traffic hook before shifting traffic to a new worker version: it runs the golden
//! shard on that version (a direct invocation). With `MCFLOW_HOOK_STAGE=post` it is the
//! post-traffic hook, called after the shift: it sends the golden shard through the live
//! path (the shard queue, then the `live` alias). Either compares every partial file's
//! digest with the one shipped in the build and reports the verdict to CodeDeploy, which
//! rolls the deployment back on failure.

use std::sync::Arc;
use std::time::Duration;

use orchestrator::cloud::lambda::{
    ENV_HOOK_STAGE, ENV_QUEUE_URL, ENV_STORE, HookEvent, HookVerdict, Invocation, invoke_function,
    posttraffic_check, pretraffic_check, report_hook_verdict,
};
use orchestrator::cloud::queue::Queue;
use worker::aws::{AwsSettings, LazyAws};
use worker::serve::{Error, deadline, env_var, serve};
use worker::store::Store;

/// Time kept back from the invocation's deadline to report the verdict.
const REPORT_MARGIN: Duration = Duration::from_secs(30);

fn main() -> Result<(), Error> {
    let store_root = env_var(ENV_STORE)?;
    let post = std::env::var(ENV_HOOK_STAGE).is_ok_and(|s| s == "post");
    let target = if post {
        env_var(ENV_QUEUE_URL)?
    } else {
        env_var("MCFLOW_WORKER_VERSION")?
    };
    let aws = Arc::new(LazyAws::new(AwsSettings::default()));
    serve(move |event: HookEvent, context| {
        let sdk = aws.get();
        let store = Store::open(&store_root, || sdk.clone())?;
        let now = chrono::Utc::now();
        let verdict = if post {
            let queue = Queue::new(sdk.clone(), &target);
            posttraffic_check(&store, &queue, now, deadline(&context, REPORT_MARGIN))
        } else {
            pretraffic_check(&store, now, &|payload| {
                invoke_function(&sdk, &target, &payload, Invocation::Wait)
            })
        };
        if let HookVerdict::Failed(reason) = &verdict {
            let stage = if post { "post-traffic" } else { "pre-traffic" };
            let line = serde_json::json!({"level": "ERROR", "message": format!("{stage} golden shard check failed"), "reason": reason});
            println!("{line}");
        }
        report_hook_verdict(&sdk, &event, &verdict).map_err(|e| format!("{e:#}"))?;
        Ok(serde_json::json!({"verdict": format!("{verdict:?}")}))
    })
}
