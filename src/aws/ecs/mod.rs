//! ECS: clusters, Fargate task definitions and services (one file each), and what they
//! share: ECS's error codes (`ClusterNotFoundException`, `ServiceNotActiveException`,
//! `ClusterContainsServicesException`...), tags (`key`/`value`, read with
//! `include=TAGS`) and retagging by ARN.

pub mod cluster;
pub mod rollback;
pub mod service;
pub mod task_definition;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::provider::{ErrorKind, Live, ProviderError, Request, Scope, TagDelta};
use aws_sdk_ecs::types::Tag;
use std::collections::BTreeMap;

/// The kind of an ECS error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        c if c.contains("NotFound") || c == "ServiceNotActiveException" => ErrorKind::NotFound,
        "ClusterContainsServicesException"
        | "ClusterContainsTasksException"
        | "ClusterContainsContainerInstancesException"
        | "ResourceInUseException"
        | "UpdateInProgressException" => ErrorKind::InUse,
        _ => return None,
    })
}

service_calls!(aws_sdk_ecs, &[], codes);

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

/// What the tags of an ECS resource say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

/// The tags a new resource (or task definition revision) is created with.
pub fn tags(req: &Request<'_>) -> Vec<Tag> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The prefix every ECS name of `scope` starts with: `<stack>-<env>-`.
pub fn name_prefix(scope: &Scope) -> String {
    scope.name_prefix()
}

/// The last `/`-separated part of an ARN (a cluster's or service's name), or the
/// string itself when it is already a name.
pub fn arn_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Set and remove tags on an ECS resource by its ARN.
pub async fn retag_arn(
    ecs: &aws_sdk_ecs::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build());
        ecs.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        ecs.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}

/// Set and remove tags on an ECS resource, by the ARN among its outputs.
pub async fn retag(
    ecs: &aws_sdk_ecs::Client,
    live: &Live,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    let arn = live
        .outputs
        .get("arn")
        .and_then(crate::model::Value::as_str)
        .ok_or_else(|| ProviderError::new("retag", format!("`{}` has no ARN to tag", live.addr)))?;
    retag_arn(ecs, arn, delta).await
}

/// Every cluster whose name starts with `scope`'s prefix and whose tags say `scope`
/// owns it, with those tags: one paginated ListClusters, then DescribeClusters with
/// `include=TAGS`, 100 clusters per call.
pub async fn owned_clusters(
    ecs: &aws_sdk_ecs::Client,
    scope: &Scope,
) -> Result<Vec<(aws_sdk_ecs::types::Cluster, Owned)>, ProviderError> {
    let arns: Vec<String> = ecs
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| error("ListClusters", e))?;
    let prefix = name_prefix(scope);
    let ours: Vec<String> = arns
        .into_iter()
        .filter(|a| arn_name(a).starts_with(&prefix))
        .collect();
    let mut out = Vec::new();
    for chunk in ours.chunks(100) {
        let described = ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(aws_sdk_ecs::types::ClusterField::Tags)
            .send()
            .await
            .map_err(|e| error("DescribeClusters", e))?;
        for c in described.clusters() {
            if c.status() == Some("INACTIVE") {
                continue;
            }
            if let Some(o) = owned(scope, c.tags()) {
                out.push((c.clone(), o));
            }
        }
    }
    Ok(out)
}
