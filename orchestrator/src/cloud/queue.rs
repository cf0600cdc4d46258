//! SQS behind a blocking facade: batched sends with retries of the entries SQS refused,
//! receives with long polling, deletes and visibility extensions, and the queue's
//! dead-letter queue found from its redrive policy.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use worker::aws::Aws;
use worker::aws_failure::AwsFailure;

/// SQS takes at most ten messages per `SendMessageBatch`.
pub const SEND_BATCH: usize = 10;
/// Rounds of re-sending the entries of a batch that SQS did not accept.
const SEND_ROUNDS: u32 = 5;

/// One SQS queue.
#[derive(Debug, Clone)]
pub struct Queue {
    aws: Arc<Aws>,
    client: aws_sdk_sqs::Client,
    url: String,
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub body: String,
    pub receipt_handle: String,
    /// How many times SQS has delivered it, this time included.
    pub receive_count: u32,
}

impl Queue {
    pub fn new(aws: Arc<Aws>, url: &str) -> Queue {
        Queue {
            client: aws.sqs(),
            aws,
            url: url.to_string(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends every body, `concurrency` batches in flight at a time. Entries SQS refuses
    /// are sent again with backoff; the SDK already retries throttling and network errors.
    pub fn send_all(&self, bodies: &[String], concurrency: usize) -> Result<()> {
        let client = &self.client;
        let url = &self.url;
        self.aws.block_on(async {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            for (b, chunk) in bodies.chunks(SEND_BATCH).enumerate() {
                let permit = semaphore.clone().acquire_owned().await?;
                let client = client.clone();
                let url = url.clone();
                let chunk: Vec<String> = chunk.to_vec();
                tasks.spawn(async move {
                    let _permit = permit;
                    send_batch(&client, &url, b, chunk).await
                });
            }
            while let Some(done) = tasks.join_next().await {
                done??;
            }
            Ok(())
        })
    }

    /// Receives up to `max` messages, waiting up to `wait_seconds` for the first.
    pub fn receive(
        &self,
        max: i32,
        wait_seconds: i32,
        visibility_seconds: Option<i32>,
    ) -> Result<Vec<Received>> {
        let out = self
            .aws
            .block_on(
                self.client
                    .receive_message()
                    .queue_url(&self.url)
                    .max_number_of_messages(max.clamp(1, 10))
                    .wait_time_seconds(wait_seconds.clamp(0, 20))
                    .set_visibility_timeout(visibility_seconds)
                    .message_system_attribute_names(
                        MessageSystemAttributeName::ApproximateReceiveCount,
                    )
                    .send(),
            )
            .map_err(|e| sdk_error("ReceiveMessage", &self.url, &e))?;
        Ok(out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| Received {
                receive_count: m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
                message_id: m.message_id.unwrap_or_default(),
                body: m.body.unwrap_or_default(),
                receipt_handle: m.receipt_handle.unwrap_or_default(),
            })
            .collect())
    }

    pub fn delete(&self, receipt_handle: &str) -> Result<()> {
        self.aws
            .block_on(
                self.client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(receipt_handle)
                    .send(),
            )
            .map_err(|e| sdk_error("DeleteMessage", &self.url, &e))?;
        Ok(())
    }

    /// Keeps a message hidden for `seconds` more, from now.
    pub fn extend_visibility(&self, receipt_handle: &str, seconds: i32) -> Result<()> {
        self.aws
            .block_on(
                self.client
                    .change_message_visibility()
                    .queue_url(&self.url)
                    .receipt_handle(receipt_handle)
                    .visibility_timeout(seconds)
                    .send(),
            )
            .map_err(|e| sdk_error("ChangeMessageVisibility", &self.url, &e))?;
        Ok(())
    }

    /// One attribute of the queue, if set.
    fn attribute(&self, name: QueueAttributeName) -> Result<Option<String>> {
        let out = self
            .aws
            .block_on(
                self.client
                    .get_queue_attributes()
                    .queue_url(&self.url)
                    .attribute_names(name.clone())
                    .send(),
            )
            .map_err(|e| sdk_error("GetQueueAttributes", &self.url, &e))?;
        Ok(out.attributes.and_then(|mut a| a.remove(&name)))
    }

    /// Messages waiting to be received (SQS's approximate count).
    pub fn visible_messages(&self) -> Result<u64> {
        Ok(self
            .attribute(QueueAttributeName::ApproximateNumberOfMessages)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The dead-letter queue named by this queue's redrive policy, if any.
    pub fn dead_letter_queue(&self) -> Result<Option<Queue>> {
        let Some(policy) = self.attribute(QueueAttributeName::RedrivePolicy)? else {
            return Ok(None);
        };
        let policy: serde_json::Value =
            serde_json::from_str(&policy).context("the queue's redrive policy is not JSON")?;
        let Some(arn) = policy["deadLetterTargetArn"].as_str() else {
            bail!(
                "the redrive policy of {} names no deadLetterTargetArn",
                self.url
            );
        };
        let (account, name) = {
            let parts: Vec<&str> = arn.split(':').collect();
            if parts.len() != 6 {
                bail!("{arn} is not an SQS queue ARN");
            }
            (parts[4].to_string(), parts[5].to_string())
        };
        let url = self
            .aws
            .block_on(
                self.client
                    .get_queue_url()
                    .queue_name(&name)
                    .queue_owner_aws_account_id(account)
                    .send(),
            )
            .map_err(|e| sdk_error("GetQueueUrl", &name, &e))?
            .queue_url
            .with_context(|| format!("no URL for the dead-letter queue {name}"))?;
        Ok(Some(Queue::new(self.aws.clone(), &url)))
    }

    /// Every message currently in the queue, without consuming any: each is received
    /// with a zero visibility timeout, so it stays available. For small queues (a
    /// dead-letter queue); stops after `max_polls` receives without a new message.
    pub fn peek_all(&self, max_polls: u32) -> Result<Vec<Received>> {
        let mut seen = std::collections::BTreeMap::new();
        let mut idle = 0;
        while idle < max_polls {
            let batch = self.receive(10, 0, Some(0))?;
            let before = seen.len();
            for m in batch {
                seen.entry(m.message_id.clone()).or_insert(m);
            }
            if seen.len() == before {
                idle += 1;
            }
        }
        Ok(seen.into_values().collect())
    }
}

/// One line naming the SQS operation and queue, with a hint; see [`AwsFailure`].
fn sdk_error<E, R>(
    operation: &'static str,
    queue: &str,
    e: &aws_sdk_sqs::error::SdkError<E, R>,
) -> anyhow::Error
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    AwsFailure::new("SQS", operation, queue, e).into()
}

async fn send_batch(
    client: &aws_sdk_sqs::Client,
    url: &str,
    batch: usize,
    bodies: Vec<String>,
) -> Result<()> {
    let mut pending: Vec<(String, String)> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, b)| (format!("m{i}"), b))
        .collect();
    for round in 0..SEND_ROUNDS {
        let entries = pending
            .iter()
            .map(|(id, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(id)
                    .message_body(body)
                    .build()
                    .expect("id and body are set")
            })
            .collect::<Vec<_>>();
        let out = client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error("SendMessageBatch", url, &e))
            .with_context(|| format!("cannot send batch {batch} of shard messages"))?;
        let failed: std::collections::BTreeSet<String> =
            out.failed.iter().map(|f| f.id.clone()).collect();
        if failed.is_empty() {
            return Ok(());
        }
        pending.retain(|(id, _)| failed.contains(id));
        tokio::time::sleep(Duration::from_millis(100 << round)).await;
    }
    bail!(
        "SQS refused {} message(s) of batch {batch} after {SEND_ROUNDS} rounds",
        pending.len()
    )
}
