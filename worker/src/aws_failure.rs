//! A failed AWS call said in one line: the service, the operation, the bucket, key, queue
//! or stack concerned, the service's error code and message, and a hint (credentials,
//! region, `--endpoint-url`) instead of the SDK's nested debug text. The kind tells the
//! CLI which exit code to use: an unreachable service is not a failed run.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What went wrong, as far as a user can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFailureKind {
    /// No answer: the endpoint is unreachable, refused the connection or timed out.
    Unreachable,
    /// No usable credentials, or the service refused them.
    Credentials,
    /// The credentials are fine but lack a permission.
    Denied,
    /// The bucket, key, queue or stack does not exist (in this region).
    NotFound,
    /// Anything else the service said.
    Other,
}

/// One failed AWS call, said whole in its own line (`S3 GetObject on s3://b/k failed:
/// NoSuchBucket: ... (hint: ...)`): errors that wrap it are often displayed with
/// `to_string()` alone (failure records, partial-file writes), so nothing may sit in a
/// cause below it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation} on {resource} failed: {detail}{}", self.kind.hint())]
pub struct AwsFailure {
    pub service: &'static str,
    pub operation: &'static str,
    /// `s3://bucket/key`, a queue URL, a stack name.
    pub resource: String,
    pub kind: AwsFailureKind,
    /// `NoSuchBucket: The specified bucket does not exist`, or what failed on the way.
    pub detail: String,
}

/// The hint an unreachable service's failure ends with. Errors wrap failures in many
/// (often transparent) layers, so the CLI finds the kind of failure for its exit code in
/// the message a user reads, by these hints.
pub const UNREACHABLE_HINT: &str = " (hint: the service did not answer; check --endpoint-url or AWS_ENDPOINT_URL, AWS_REGION and the network)";
/// The hint a failure for want of usable credentials ends with; see [`UNREACHABLE_HINT`].
pub const CREDENTIALS_HINT: &str = " (hint: no usable AWS credentials; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values for an emulator), and AWS_REGION)";

impl AwsFailure {
    /// Summarises an SDK error of any AWS service client.
    pub fn new<E, R>(
        service: &'static str,
        operation: &'static str,
        resource: impl Into<String>,
        e: &SdkError<E, R>,
    ) -> AwsFailure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let (kind, detail) = match e {
            SdkError::ServiceError(s) => {
                let err = s.err();
                let code = err.code().unwrap_or("an error without a code");
                let detail = match err.message() {
                    Some(m) if !m.is_empty() => format!("{code}: {m}"),
                    _ => code.to_string(),
                };
                (kind_of_code(code, err.message().unwrap_or("")), detail)
            }
            SdkError::TimeoutError(_) => (
                AwsFailureKind::Unreachable,
                "no answer before the timeout".to_string(),
            ),
            SdkError::DispatchFailure(d) => {
                let cause = innermost(e);
                if mentions_credentials(&cause) {
                    (AwsFailureKind::Credentials, cause)
                } else if d.is_io() || d.is_timeout() {
                    (AwsFailureKind::Unreachable, cause)
                } else {
                    (AwsFailureKind::Other, cause)
                }
            }
            _ => {
                let cause = innermost(e);
                let kind = if mentions_credentials(&cause) {
                    AwsFailureKind::Credentials
                } else {
                    AwsFailureKind::Other
                };
                (kind, cause)
            }
        };
        AwsFailure {
            service,
            operation,
            resource: resource.into(),
            kind,
            detail,
        }
    }
}

impl AwsFailureKind {
    /// What to check, for the failures a user can fix.
    pub fn hint(&self) -> &'static str {
        match self {
            AwsFailureKind::Unreachable => UNREACHABLE_HINT,
            AwsFailureKind::Credentials => CREDENTIALS_HINT,
            AwsFailureKind::Denied => {
                " (hint: these credentials lack the permission; see the stack's IAM policies in template.yaml)"
            }
            AwsFailureKind::NotFound => {
                " (hint: check the name and AWS_REGION; `mcflow status` and the stack's outputs list what exists)"
            }
            AwsFailureKind::Other => "",
        }
    }
}

fn kind_of_code(code: &str, message: &str) -> AwsFailureKind {
    match code {
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "InvalidToken"
        | "MissingAuthenticationToken" => AwsFailureKind::Credentials,
        "AccessDenied" | "AccessDeniedException" | "AccessDenied.Unknown" => AwsFailureKind::Denied,
        "NoSuchBucket"
        | "NoSuchKey"
        | "NotFound"
        | "NoSuchUpload"
        | "QueueDoesNotExist"
        | "AWS.SimpleQueueService.NonExistentQueue"
        | "ResourceNotFoundException" => AwsFailureKind::NotFound,
        // CloudFormation says a missing stack with a generic code.
        "ValidationError" if message.contains("does not exist") => AwsFailureKind::NotFound,
        _ => AwsFailureKind::Other,
    }
}

/// The deepest cause's text: what actually failed, without the SDK's wrappers ("dispatch
/// failure: other: ...").
/// Only its first line: the credential chain lists every provider it tried below it.
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    let first = last.lines().next().unwrap_or_default();
    let first = first.split(". Attempted").next().unwrap_or(first);
    first.trim_end_matches(['.', ':', ' ']).to_string()
}

fn mentions_credentials(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("credential") || t.contains("no identity") || t.contains("identity resolver")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_sort_into_what_a_user_can_fix() {
        assert_eq!(kind_of_code("NoSuchBucket", ""), AwsFailureKind::NotFound);
        assert_eq!(
            kind_of_code("AWS.SimpleQueueService.NonExistentQueue", ""),
            AwsFailureKind::NotFound
        );
        assert_eq!(
            kind_of_code("ValidationError", "Stack with id x does not exist"),
            AwsFailureKind::NotFound
        );
        assert_eq!(
            kind_of_code("ValidationError", "Template format error"),
            AwsFailureKind::Other
        );
        assert_eq!(
            kind_of_code("InvalidAccessKeyId", ""),
            AwsFailureKind::Credentials
        );
        assert_eq!(kind_of_code("AccessDenied", ""), AwsFailureKind::Denied);
    }

    #[test]
    fn the_line_names_service_operation_resource_and_hint() {
        let f = AwsFailure {
            service: "S3",
            operation: "GetObject",
            resource: "s3://b/k".into(),
            kind: AwsFailureKind::NotFound,
            detail: "NoSuchBucket: The specified bucket does not exist".into(),
        };
        let line = f.to_string();
        assert!(
            line.starts_with(
                "S3 GetObject on s3://b/k failed: NoSuchBucket: The specified bucket does not exist (hint: check the name"
            ),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
