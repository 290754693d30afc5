//! CodeConnections: the connection to the source repository host (created here, approved
//! once by the operator); what its type shares: the service's error codes, tags (a list
//! per connection ARN, read per connection: no batch tag read) and retagging.

pub mod connection;

use super::creation_tags;
use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use aws_sdk_codeconnections::types::Tag;
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

/// The tags a new connection is created with.
pub fn tags(req: &Request<'_>) -> Result<Vec<Tag>, ProviderError> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| tag(k, v))
        .collect()
}

fn tag(k: String, v: String) -> Result<Tag, ProviderError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProviderError::new("TagResource", e.to_string()))
}

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

/// Set and remove tags on the connection `arn`.
pub async fn retag(
    c: &aws_sdk_codeconnections::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| tag(k.clone(), v.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        c.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        c.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}
