//! ECR: container image repositories, and what they share: error codes, tags (read per
//! repository: ECR lists no tags) and retagging by ARN.

pub mod images;
pub mod repository;

use super::creation_tags;
use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use aws_sdk_ecr::types::Tag;
use std::collections::BTreeMap;

/// The kind of an ECR error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "RepositoryNotFoundException" | "LifecyclePolicyNotFoundException" => ErrorKind::NotFound,
        "RepositoryAlreadyExistsException" => ErrorKind::Conflict,
        "RepositoryNotEmptyException" => ErrorKind::InUse,
        _ => return None,
    })
}

service_calls!(aws_sdk_ecr, &[], codes);

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn to_tags(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new("tag", e.to_string()))
        })
        .collect()
}

/// The tags a new repository is created with.
pub fn tags(req: &Request<'_>) -> Result<Vec<Tag>, ProviderError> {
    to_tags(creation_tags(req))
}

/// Every tag of the repository `arn`.
pub async fn list_tags(
    ecr: &aws_sdk_ecr::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = ecr
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| error("ListTagsForResource", e))?;
    Ok(tag_map(out.tags()))
}

/// Set and remove tags on the repository `arn`.
pub async fn retag(
    ecr: &aws_sdk_ecr::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        ecr.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(to_tags(delta.set.clone())?))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        ecr.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}
