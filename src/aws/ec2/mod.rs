//! EC2: the network layer's types (one file each) and what they share: EC2's error
//! codes, tag filters for discovery, tags set atomically on create, and retagging.

pub mod eip;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod route_table;
pub mod security_group;
pub mod subnet;
pub mod untagged;
pub mod vpc;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::model::Addr;
use crate::provider::{
    ErrorKind, ProviderError, Request, Scope, TagDelta, TAG_ENV, TAG_RESOURCE, TAG_STACK,
};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use std::collections::BTreeMap;

/// Error codes EC2 answers for an id it has just returned but does not show everywhere yet.
const NOT_YET_VISIBLE: &[&str] = &[
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidGatewayID.NotFound",
    "InvalidNatGatewayID.NotFound",
    "InvalidAllocationID.NotFound",
    "InvalidRouteTableID.NotFound",
];

/// The kind of an EC2 error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        c if c.ends_with(".NotFound") || c.ends_with("NotFound") => ErrorKind::NotFound,
        "DependencyViolation" | "InvalidIPAddress.InUse" => ErrorKind::InUse,
        "RequestLimitExceeded" => ErrorKind::Throttled,
        c if c.ends_with("Duplicate")
            || c.contains("AlreadyExists")
            || c.ends_with("Conflict")
            || c.ends_with("AlreadyAssociated") =>
        {
            ErrorKind::Conflict
        }
        _ => return None,
    })
}

service_calls!(aws_sdk_ec2, NOT_YET_VISIBLE, codes);

/// EC2 filters selecting what `scope` owns; with `addr`, only the copies of that resource.
pub fn owner_filters(scope: &Scope, addr: Option<&Addr>) -> Vec<Filter> {
    let tag = |k: &str, v: &str| Filter::builder().name(format!("tag:{k}")).values(v).build();
    let mut f = vec![tag(TAG_STACK, &scope.stack), tag(TAG_ENV, &scope.env)];
    if let Some(a) = addr {
        f.push(tag(TAG_RESOURCE, a.as_str()));
    }
    f
}

/// The tags a new resource is created with (atomically, in the create call).
pub fn tag_spec(req: &Request<'_>, rt: ResourceType) -> TagSpecification {
    let tags = creation_tags(req)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags))
        .build()
}

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

/// What the tags of an EC2 resource say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

/// Set and remove tags on any EC2 resource.
pub async fn retag(
    ec2: &aws_sdk_ec2::Client,
    id: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(tags))
            .customize()
            .config_override(eventually::<
                aws_sdk_ec2::operation::create_tags::CreateTagsError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateTags", e))?;
    }
    if !delta.remove.is_empty() {
        let tags = delta
            .remove
            .iter()
            .map(|k| Tag::builder().key(k).build())
            .collect();
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error("DeleteTags", e))?;
    }
    Ok(())
}

/// The network interfaces matching one EC2 filter (`subnet-id`, `group-id`...), described
/// for a person: what blocks a delete is usually an interface of something else.
/// The network interfaces whose `filter` is `value`, each described, and whether AWS
/// manages it for a service (a load balancer's, a Fargate task's, a Lambda function's):
/// those go by themselves some minutes after their owner is deleted.
pub async fn interfaces_managed(
    ec2: &aws_sdk_ec2::Client,
    filter: &str,
    value: &str,
) -> Result<Vec<(String, bool)>, ProviderError> {
    let out = ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name(filter).values(value).build())
        .send()
        .await
        .map_err(|e| error("DescribeNetworkInterfaces", e))?;
    Ok(out
        .network_interfaces()
        .iter()
        .map(|i| {
            let what = i
                .description()
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d:?})"))
                .unwrap_or_default();
            let name = format!(
                "network interface {}{what}",
                i.network_interface_id().unwrap_or_default()
            );
            (name, i.requester_managed().unwrap_or(false))
        })
        .collect())
}

pub async fn interfaces(
    ec2: &aws_sdk_ec2::Client,
    filter: &str,
    value: &str,
) -> Result<Vec<String>, ProviderError> {
    let out = ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name(filter).values(value).build())
        .send()
        .await
        .map_err(|e| error("DescribeNetworkInterfaces", e))?;
    Ok(out
        .network_interfaces()
        .iter()
        .map(|i| {
            let what = i
                .description()
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d:?})"))
                .unwrap_or_default();
            format!(
                "network interface {}{what}",
                i.network_interface_id().unwrap_or_default()
            )
        })
        .collect())
}
