//! ElastiCache: the cache types (one file each) and what they share: ElastiCache's error
//! codes (`ReplicationGroupNotFoundFault`, `CacheSubnetGroupInUse`...), tags (listed per
//! resource) and retagging by ARN.

pub mod replication_group;
pub mod subnet_group;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::model::Value;
use crate::provider::{ErrorKind, Live, ProviderError, Request, Scope, TagDelta};
use aws_sdk_elasticache::types::Tag;
use std::collections::BTreeMap;

/// The kind of an ElastiCache error code (`ReplicationGroupNotFoundFault`,
/// `CacheSubnetGroupAlreadyExists`, `CacheSubnetGroupInUse`, `InvalidReplicationGroupState`).
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        c if c.contains("NotFound") => ErrorKind::NotFound,
        c if c.contains("AlreadyExists") => ErrorKind::Conflict,
        c if c.contains("InUse") || (c.starts_with("Invalid") && c.contains("State")) => {
            ErrorKind::InUse
        }
        _ => return None,
    })
}

service_calls!(aws_sdk_elasticache, &[], codes);

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// What the tags of an ElastiCache resource say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

/// The tags a new resource is created with.
pub fn tags(req: &Request<'_>) -> Vec<Tag> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Set and remove tags on any ElastiCache resource, by the ARN among its outputs.
pub async fn retag(
    cache: &aws_sdk_elasticache::Client,
    live: &Live,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    let arn = live
        .outputs
        .get("arn")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::new("retag", format!("`{}` has no ARN to tag", live.addr)))?;
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build());
        cache
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .map_err(|e| error("AddTagsToResource", e))?;
    }
    if !delta.remove.is_empty() {
        cache
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("RemoveTagsFromResource", e))?;
    }
    Ok(())
}
