//! RDS: the database types (one file each) and what they share: RDS's error codes, tags
//! (listed with each instance; per resource for groups), names and retagging by ARN.

pub mod instance;
pub mod parameter_group;
pub mod subnet_group;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::model::Value;
use crate::provider::{ErrorKind, Live, ProviderError, Request, Scope, TagDelta};
use aws_sdk_rds::types::Tag;
use std::collections::BTreeMap;

/// The kind of an RDS error code (`DBInstanceNotFound`, `DBSubnetGroupNotFoundFault`,
/// `DBParameterGroupAlreadyExists`, `InvalidDBInstanceState`...).
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        c if c.contains("NotFound") => ErrorKind::NotFound,
        c if c.contains("AlreadyExists") => ErrorKind::Conflict,
        c if c.starts_with("Invalid") && c.contains("State") => ErrorKind::InUse,
        _ => return None,
    })
}

service_calls!(aws_sdk_rds, &[], codes);

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

/// What the tags of an RDS resource say, if `scope` owns it.
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

/// An RDS name for `name`: RDS keeps names lowercase, and instance identifiers and
/// parameter group names allow only letters, digits and single hyphens.
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

/// Every tag of the RDS resource `arn` (groups do not list their tags: one call each).
pub async fn list_tags(
    rds: &aws_sdk_rds::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| error("ListTagsForResource", e))?;
    Ok(tag_map(out.tag_list()))
}

/// The database instances that use a group (`uses` says whether one does), named with
/// whose they are: what is in the way when RDS refuses to delete the group.
pub async fn instances_using(
    rds: &aws_sdk_rds::Client,
    scope: &Scope,
    uses: impl Fn(&aws_sdk_rds::types::DbInstance) -> bool,
) -> Result<Vec<String>, ProviderError> {
    let dbs: Vec<aws_sdk_rds::types::DbInstance> = rds
        .describe_db_instances()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| error("DescribeDBInstances", e))?;
    Ok(dbs
        .iter()
        .filter(|db| uses(db))
        .map(|db| {
            let whose = match owned(scope, db.tag_list()) {
                Some(o) => format!("`{}` of this stack", o.addr),
                None => "not owned by this stack".to_string(),
            };
            format!(
                "database instance {} ({whose})",
                db.db_instance_identifier().unwrap_or_default()
            )
        })
        .collect())
}

/// Set and remove tags on any RDS resource, by the ARN among its outputs.
pub async fn retag(
    rds: &aws_sdk_rds::Client,
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
        rds.add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .map_err(|e| error("AddTagsToResource", e))?;
    }
    if !delta.remove.is_empty() {
        rds.remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("RemoveTagsFromResource", e))?;
    }
    Ok(())
}
