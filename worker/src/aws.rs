//! The AWS SDK behind a blocking facade: one shared SDK configuration (region,
//! credentials, an endpoint override for emulators) and a private tokio runtime that runs
//! the SDK's futures, so the synchronous worker and reducer can call S3 and SQS from any
//! thread that is not itself running async code (rayon threads, `spawn_blocking`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

/// Attempts per AWS call, first one included: transient errors and throttling are
/// retried with exponential backoff and jitter by the SDK before an error is returned.
pub const MAX_ATTEMPTS: u32 = 5;

/// Where AWS calls go.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// `--endpoint-url`; when unset the SDK also honours `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// Fixed (access key, secret) instead of the standard credential chain: for
    /// emulators, which accept any.
    pub static_credentials: Option<(String, String)>,
    /// The session token that goes with temporary `static_credentials` (an assumed
    /// role's).
    pub session_token: Option<String>,
}

/// A loaded SDK configuration plus the runtime that drives it.
#[derive(Debug)]
pub struct Aws {
    config: aws_config::SdkConfig,
    /// Emulators and S3-compatible stores want path-style addressing.
    path_style: bool,
    runtime: Option<tokio::runtime::Runtime>,
    requests: CountRequests,
}

/// Counts every HTTP request the S3 and SQS clients send (retries included), so that
/// what a run costs in requests can be measured, not estimated.
#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicU64>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "mcflow::CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl Aws {
    /// Loads the configuration the standard way (environment, profile, instance role).
    /// The region defaults to `us-east-1` when none is configured.
    pub fn new(settings: &AwsSettings) -> std::io::Result<Aws> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mcflow-aws")
            .enable_all()
            .build()?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .region(
                aws_config::meta::region::RegionProviderChain::default_provider()
                    .or_else(Region::new("us-east-1")),
            );
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((key, secret)) = &settings.static_credentials {
            loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                key,
                secret,
                settings.session_token.clone(),
                None,
                "static",
            ));
        }
        let config = runtime.block_on(loader.load());
        let path_style = config.endpoint_url().is_some();
        Ok(Aws {
            config,
            path_style,
            runtime: Some(runtime),
            requests: CountRequests::default(),
        })
    }

    /// Runs an SDK future to completion. Must not be called from async code.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .block_on(future)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.path_style)
            .interceptor(self.requests.clone())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let conf = aws_sdk_sqs::config::Builder::from(&self.config)
            .interceptor(self.requests.clone())
            .build();
        aws_sdk_sqs::Client::from_conf(conf)
    }

    /// HTTP requests sent so far by the S3 and SQS clients made here, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.requests.0.load(Ordering::Relaxed)
    }

    /// The SDK configuration, for clients of other services.
    pub fn sdk_config(&self) -> &aws_config::SdkConfig {
        &self.config
    }
}

impl Drop for Aws {
    fn drop(&mut self) {
        // Dropping a runtime blocks until its tasks end, which tokio forbids inside async
        // code (a Lambda handler); shutting down in the background is allowed anywhere.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// An [`Aws`] built on first use, so that purely local commands never load AWS
/// configuration.
#[derive(Debug, Default)]
pub struct LazyAws {
    settings: AwsSettings,
    aws: std::sync::OnceLock<std::sync::Arc<Aws>>,
}

impl LazyAws {
    pub fn new(settings: AwsSettings) -> LazyAws {
        LazyAws {
            settings,
            aws: std::sync::OnceLock::new(),
        }
    }

    /// The shared client configuration. Panics only if no tokio runtime can be built
    /// (no threads can be spawned), which nothing here could recover from.
    pub fn get(&self) -> std::sync::Arc<Aws> {
        self.aws
            .get_or_init(|| {
                std::sync::Arc::new(Aws::new(&self.settings).expect("cannot start the AWS runtime"))
            })
            .clone()
    }
}
