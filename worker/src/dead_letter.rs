//! Poison shards straight to the dead-letter queue. A message whose failure cannot be
//! fixed by running it again (malformed, a task that contradicts its manifest, an invalid
//! configuration) is sent to the shard queue's dead-letter queue with its reason, and
//! then removed from the shard queue, instead of being delivered again until the redrive
//! policy's `maxReceiveCount` runs out.

use aws_sdk_sqs::types::MessageAttributeValue;

use crate::aws::Aws;

/// The worker function's environment variable naming the dead-letter queue's URL (the
/// template sets it); without it, poison shards are retried like any failure.
pub const ENV_DEAD_LETTER_URL: &str = "MCFLOW_DEAD_LETTER_URL";

/// The message attribute that carries the failure's reason.
pub const REASON_ATTRIBUTE: &str = "reason";

/// Sends `body` to the queue at `url` with `reason` as a message attribute.
pub fn send(aws: &Aws, url: &str, body: &str, reason: &str) -> Result<(), String> {
    let client = aws.sqs();
    // SQS caps an attribute at the message size limit; a reason is a line or two.
    let reason: String = reason.chars().take(4096).collect();
    let attribute = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(reason)
        .build()
        .map_err(|e| e.to_string())?;
    let call = client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_attributes(REASON_ATTRIBUTE, attribute)
        .send();
    aws.block_on(call).map(|_| ()).map_err(|e| {
        format!(
            "cannot send to the dead-letter queue {url}: {}",
            aws_sdk_sqs::error::DisplayErrorContext(e)
        )
    })
}
