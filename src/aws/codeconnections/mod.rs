//! CodeConnections: the connection to the source repository host (created here, approved
//! once by the operator); what its type shares: the service's error codes, tags (a list
//! per connection ARN, read per connection: no batch tag read) and retagging.

pub mod connection;

use super::retry::service_calls;
use super::tags_by_arn;
use crate::provider::{ErrorKind, ProviderError};
use std::collections::BTreeMap;

/// The kind of a CodeConnections error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceAlreadyExistsException" => ErrorKind::Conflict,
        "ConflictException" | "ResourceUnavailableException" => ErrorKind::InUse,
        _ => return None,
    })
}

service_calls!(aws_sdk_codeconnections, &[], codes);

tags_by_arn!(aws_sdk_codeconnections);

/// Every tag of the connection `arn` (ListTagsForResource).
pub async fn list_tags(
    c: &aws_sdk_codeconnections::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| error("ListTagsForResource", e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}
