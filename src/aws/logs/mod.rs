//! CloudWatch Logs: log groups, and what they share: error codes and tags (a map per
//! resource ARN, read per log group: CloudWatch Logs has no batch tag read).

pub mod log_group;

use super::creation_tags;
use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use std::collections::{BTreeMap, HashMap};

/// The kind of a CloudWatch Logs error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceAlreadyExistsException" => ErrorKind::Conflict,
        _ => return None,
    })
}

// OperationAbortedException: another operation on the same log group is in progress.
service_calls!(
    aws_sdk_cloudwatchlogs,
    &["OperationAbortedException"],
    codes
);

/// The tags a new log group is created with.
pub fn tags(req: &Request<'_>) -> HashMap<String, String> {
    creation_tags(req).into_iter().collect()
}

/// Every tag of the log group `arn` (the ARN without `:*`).
pub async fn list_tags(
    logs: &aws_sdk_cloudwatchlogs::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| error("ListTagsForResource", e))?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Set and remove tags on the log group `arn`.
pub async fn retag(
    logs: &aws_sdk_cloudwatchlogs::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        logs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(delta.set.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        logs.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}
