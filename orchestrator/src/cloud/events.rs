//! Sample events for each function trigger, as `sam local generate-event` prints them:
//! the copies in `data/events/` that the tests drive the handlers with.

/// A function trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// SQS batch for the worker function.
    Sqs,
    /// EventBridge scheduled event for the orchestrator function.
    Schedule,
    /// S3 notification of a run's ready object for the reducer function.
    S3,
    /// Direct invocation of the worker with one shard message.
    Direct,
}

/// The sample event of `kind`, as JSON text.
pub fn sample(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Sqs => include_str!("../../../data/events/sqs.json"),
        EventKind::Schedule => include_str!("../../../data/events/schedule.json"),
        EventKind::S3 => include_str!("../../../data/events/s3.json"),
        EventKind::Direct => include_str!("../../../data/events/direct.json"),
    }
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::eventbridge::EventBridgeEvent;
    use aws_lambda_events::event::s3::S3Event;
    use aws_lambda_events::event::sqs::SqsEvent;
    use worker::manifest::ShardMessage;

    use super::*;

    #[test]
    fn samples_parse_as_the_events_and_messages_they_claim_to_be() {
        let sqs: SqsEvent = serde_json::from_str(sample(EventKind::Sqs)).expect("sqs");
        for r in &sqs.records {
            let _: ShardMessage =
                serde_json::from_str(r.body.as_deref().expect("body")).expect("shard message");
        }
        let s3: S3Event = serde_json::from_str(sample(EventKind::S3)).expect("s3");
        assert!(
            s3.records[0]
                .s3
                .object
                .key
                .as_deref()
                .expect("key")
                .ends_with(worker::layout::READY_SUFFIX)
        );
        let schedule: EventBridgeEvent<serde_json::Value> =
            serde_json::from_str(sample(EventKind::Schedule)).expect("schedule");
        let _: crate::cloud::lambda::SubmitRequest =
            serde_json::from_value(schedule.detail).expect("submit request");
        let _: ShardMessage = serde_json::from_str(sample(EventKind::Direct)).expect("direct");
    }
}
