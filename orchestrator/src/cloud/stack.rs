//! A deployment's CloudFormation stack: the output names `template.yaml` must export
//! (one source of truth for the template and the CLI), and `--stack NAME` reading them.

use anyhow::{Context, Result};
use worker::aws::Aws;
use worker::aws_failure::AwsFailure;

/// The results bucket's name.
pub const OUTPUT_BUCKET: &str = "ResultsBucketName";
/// The shard queue's URL.
pub const OUTPUT_QUEUE_URL: &str = "ShardQueueUrl";
/// The dead-letter queue's URL.
pub const OUTPUT_DLQ_URL: &str = "DeadLetterQueueUrl";

/// What the CLI needs from a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub bucket: String,
    pub queue_url: String,
}

/// Reads the outputs of stack `name`.
pub fn read_stack(aws: &Aws, name: &str) -> Result<Deployment> {
    let client = aws_sdk_cloudformation::Client::new(aws.sdk_config());
    let out = aws
        .block_on(client.describe_stacks().stack_name(name).send())
        .map_err(|e| AwsFailure::new("CloudFormation", "DescribeStacks", name, &e))?;
    let stack = out
        .stacks()
        .first()
        .with_context(|| format!("no stack {name}"))?;
    let output = |key: &str| -> Result<String> {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::to_string)
            .with_context(|| format!("stack {name} has no output {key}; is it an mcflow stack?"))
    };
    Ok(Deployment {
        bucket: output(OUTPUT_BUCKET)?,
        queue_url: output(OUTPUT_QUEUE_URL)?,
    })
}
