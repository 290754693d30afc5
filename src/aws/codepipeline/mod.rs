//! CodePipeline: one pipeline per app, from the source connection through CodeBuild to
//! the ECS service; what its type shares: CodePipeline's error codes, tags (read per
//! pipeline ARN: no batch tag read) and retagging.

pub mod pipeline;

use super::retry::service_calls;
use super::tags_by_arn;
use crate::provider::{ErrorKind, ProviderError};
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

tags_by_arn!(aws_sdk_codepipeline);

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
