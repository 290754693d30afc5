//! SQS: queues for the AI jobs, with dead-letter queues and queue policies; what the
//! queue type shares: SQS's error codes (both the JSON protocol's and the query
//! protocol's spellings), tags (a map per queue URL, read per queue: SQS has no batch tag
//! read) and retagging.

pub mod queue;

use super::creation_tags;
use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use std::collections::{BTreeMap, HashMap};

/// The kind of an SQS error code. The SDK speaks SQS's JSON protocol, whose answers
/// carry the older query-protocol code as well (`x-amzn-query-error`): both are listed.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue" => ErrorKind::NotFound,
        "QueueNameExists" | "QueueAlreadyExists" => ErrorKind::Conflict,
        // A queue of this name was deleted less than 60 s ago.
        "QueueDeletedRecently" | "AWS.SimpleQueueService.QueueDeletedRecently" => {
            ErrorKind::NotYetVisible
        }
        _ => return None,
    })
}

service_calls!(aws_sdk_sqs, &[], codes);

/// The tags a new queue is created with.
pub fn tags(req: &Request<'_>) -> HashMap<String, String> {
    creation_tags(req).into_iter().collect()
}

/// Every tag of the queue at `url` (ListQueueTags).
pub async fn list_tags(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .map_err(|e| error("ListQueueTags", e))?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Set and remove tags on the queue at `url`.
pub async fn retag(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        sqs.tag_queue()
            .queue_url(url)
            .set_tags(Some(delta.set.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| error("TagQueue", e))?;
    }
    if !delta.remove.is_empty() {
        sqs.untag_queue()
            .queue_url(url)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagQueue", e))?;
    }
    Ok(())
}
