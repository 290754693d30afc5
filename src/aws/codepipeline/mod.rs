//! CodePipeline: one pipeline per app, from the source connection through CodeBuild to
//! the ECS service; what its type shares: CodePipeline's error codes, tags (read per
//! pipeline ARN: no batch tag read) and retagging.

pub mod pipeline;

use super::creation_tags;
use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use aws_sdk_codepipeline::types::Tag;
use std::collections::BTreeMap;

/// The kind of a CodePipeline error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "PipelineNotFoundException" | "ResourceNotFoundException" => ErrorKind::NotFound,
        "PipelineNameInUseException" => ErrorKind::Conflict,
        "ConcurrentModificationException" => ErrorKind::InUse,
        _ => return None,
    })
}

service_calls!(aws_sdk_codepipeline, &[], codes);

fn tag(k: String, v: String) -> Result<Tag, ProviderError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProviderError::new("TagResource", e.to_string()))
}

/// The tags a new pipeline is created with.
pub fn tags(req: &Request<'_>) -> Result<Vec<Tag>, ProviderError> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| tag(k, v))
        .collect()
}

/// Every tag of the pipeline `arn` (ListTagsForResource).
pub async fn list_tags(
    c: &aws_sdk_codepipeline::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let pages: Vec<_> = c
        .list_tags_for_resource()
        .resource_arn(arn)
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| error("ListTagsForResource", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.tags())
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Set and remove tags on the pipeline `arn`.
pub async fn retag(
    c: &aws_sdk_codepipeline::Client,
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
