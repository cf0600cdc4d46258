//! The emulated cloud every cloud test stands on: a moto server (S3, SQS and
//! CloudFormation) of the test's own on 127.0.0.1, started and stopped by the test, with
//! a bucket, a shard queue and its dead-letter queue; and the inputs of a small run.
//! Shared by the orchestrator's and the CLI's test binaries (`#[path]`), so both drive
//! the same emulator the same way.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator::cloud::poll::PollOptions;
use orchestrator::cloud::queue::Queue;
use worker::aws::{AwsSettings, LazyAws};
use worker::store::Store;

use super::repo;

/// A moto server of this test's own, on a free loopback port; killed on drop.
pub(crate) struct Moto {
    child: Child,
    pub(crate) url: String,
}

impl Moto {
    pub(crate) fn start() -> Moto {
        Moto::start_with_env(&[])
    }

    /// A moto server with extra environment, e.g. `INITIAL_NO_AUTH_ACTION_COUNT` for IAM
    /// enforcement.
    pub(crate) fn start_with_env(env: &[(&str, &str)]) -> Moto {
        let bin = std::env::var_os("MCFLOW_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join(".tools/venv/bin/moto_server"));
        assert!(
            bin.exists(),
            "moto server not found at {}: run `scripts/setup-tools.sh` (it creates .tools/venv with moto[server]), or set MCFLOW_MOTO_SERVER to a moto_server binary",
            bin.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !moto.ready(port) {
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn ready(&self, port: u16) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
        let mut head = [0u8; 12];
        s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
    }

    pub(crate) fn settings(&self) -> AwsSettings {
        AwsSettings {
            endpoint_url: Some(self.url.clone()),
            static_credentials: Some(("testing".into(), "testing".into())),
            session_token: None,
        }
    }

    /// Stops the server now (the emulator going away mid-run).
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A bucket, a queue and its dead-letter queue on the emulator.
pub(crate) struct Cloud {
    pub(crate) moto: Moto,
    pub(crate) aws: Arc<LazyAws>,
    pub(crate) bucket: String,
    pub(crate) queue: Queue,
}

impl Cloud {
    pub(crate) fn new(max_receive_count: u32, visibility_seconds: u32) -> Cloud {
        let moto = Moto::start();
        let aws = Arc::new(LazyAws::new(moto.settings()));
        let a = aws.get();
        let bucket = "mcflow-it".to_string();
        a.block_on(a.s3().create_bucket().bucket(&bucket).send())
            .expect("create bucket");
        let sqs = aws_sdk_sqs::Client::new(a.sdk_config());
        let dlq_url = a
            .block_on(sqs.create_queue().queue_name("shards-dlq").send())
            .expect("dlq")
            .queue_url
            .expect("url");
        let dlq_arn = a
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&dlq_url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .send(),
            )
            .expect("attrs")
            .attributes
            .expect("attrs")[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let url = a
            .block_on(
                sqs.create_queue()
                    .queue_name("shards")
                    .attributes(
                        aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                        visibility_seconds.to_string(),
                    )
                    .attributes(
                        aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                        serde_json::json!({
                            "deadLetterTargetArn": dlq_arn,
                            "maxReceiveCount": max_receive_count.to_string()
                        })
                        .to_string(),
                    )
                    .send(),
            )
            .expect("queue")
            .queue_url
            .expect("url");
        let queue = Queue::new(a.clone(), &url);
        Cloud {
            moto,
            aws,
            bucket,
            queue,
        }
    }

    pub(crate) fn store(&self, prefix: &str) -> Store {
        Store::s3(self.aws.get(), &self.bucket, prefix).expect("store")
    }

    /// Uploads a local file and returns its `s3://` URI.
    pub(crate) fn upload(&self, path: &Path, key: &str) -> String {
        let bytes = std::fs::read(path).expect("read");
        self.store("").put(key, bytes).expect("upload");
        format!("s3://{}/{key}", self.bucket)
    }
}

pub(crate) const CONFIG: &str = r#"
run_id = "cloud-it"
as_of = "2026-11-25"
horizon_months = 120

[model]
kind = "stochastic"
scenarios = 8
seed = 7
antithetic = true
stress_paths = ["stress.csv"]

[rates]
model = "hull-white"
mean_reversion = 0.03
volatility = 0.01
curve = { flat_pct = 4.0 }
mortgage_spread_pct = 1.7
"#;

/// Inputs on disk: a synthetic portfolio and the config (with a stress path).
pub(crate) fn inputs(dir: &Path, loans: usize) -> (PathBuf, PathBuf) {
    let portfolio = dir.join("portfolio.parquet");
    worker::portfolio_file::write_portfolio_parquet(
        &portfolio,
        &engine::sample::synthetic_loans(loans, 5),
    )
    .expect("portfolio");
    std::fs::copy(
        repo().join("data/stress/severely_adverse.csv"),
        dir.join("stress.csv"),
    )
    .expect("stress");
    let config = dir.join("run.toml");
    std::fs::write(&config, CONFIG).expect("config");
    (portfolio, config)
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

pub(crate) fn poll_options(id: &str) -> PollOptions {
    PollOptions {
        wait_seconds: 1,
        visibility_seconds: 30,
        idle_polls_before_exit: Some(2),
        max_messages: None,
        worker_id: id.to_string(),
        stragglers: None,
    }
}
