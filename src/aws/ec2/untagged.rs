//! What lives inside the stack's VPCs without anyone's ownership tags: security groups,
//! instances and network interfaces nobody declared and nobody tagged. `drift` lists
//! them as unmanaged beside what carries the stack's tags without being declared.
//!
//! Left out because AWS makes them: each VPC's `default` security group, and network
//! interfaces a service manages for itself (`RequesterManaged`: NAT gateways, load
//! balancers, databases, caches, Lambda and Fargate tasks). An interface attached to a
//! listed instance is the instance's. Anything tagged by any stack is someone's.

use super::error;
use crate::provider::{ProviderError, TAG_STACK};
use aws_sdk_ec2::types::{Filter, Tag};
use std::collections::BTreeSet;

/// One untagged resource inside a VPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stray {
    /// The resource type, in the stack's vocabulary (`aws_security_group`).
    pub type_name: &'static str,
    pub id: String,
    /// What it is, for the report: `a security group "debug" inside the stack's VPC vpc-...`.
    pub what: String,
}

fn tagged(tags: &[Tag]) -> bool {
    tags.iter().any(|t| t.key() == Some(TAG_STACK))
}

/// The untagged security groups, instances and network interfaces in `vpcs`, except
/// the ids in `known` (what the stack owns).
pub async fn in_vpcs(
    ec2: &aws_sdk_ec2::Client,
    vpcs: &[String],
    known: &BTreeSet<String>,
) -> Result<Vec<Stray>, ProviderError> {
    if vpcs.is_empty() {
        return Ok(Vec::new());
    }
    let in_vpc = || {
        Filter::builder()
            .name("vpc-id")
            .set_values(Some(vpcs.to_vec()))
            .build()
    };
    let (groups, reservations, interfaces) = tokio::try_join!(
        async {
            ec2.describe_security_groups()
                .filters(in_vpc())
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| error("DescribeSecurityGroups", e))
        },
        async {
            ec2.describe_instances()
                .filters(in_vpc())
                .filters(
                    Filter::builder()
                        .name("instance-state-name")
                        .values("pending")
                        .values("running")
                        .values("stopping")
                        .values("stopped")
                        .build(),
                )
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| error("DescribeInstances", e))
        },
        async {
            ec2.describe_network_interfaces()
                .filters(in_vpc())
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .map_err(|e| error("DescribeNetworkInterfaces", e))
        },
    )?;
    let mut out = Vec::new();
    for g in &groups {
        let (Some(id), name) = (g.group_id(), g.group_name().unwrap_or_default()) else {
            continue;
        };
        if name == "default" || known.contains(id) || tagged(g.tags()) {
            continue;
        }
        out.push(Stray {
            type_name: "aws_security_group",
            id: id.to_string(),
            what: format!(
                "a security group \"{name}\" inside the stack's VPC {}, tagged by no stack",
                g.vpc_id().unwrap_or("?")
            ),
        });
    }
    let mut instances = BTreeSet::new();
    for i in reservations.iter().flat_map(|r| r.instances()) {
        let Some(id) = i.instance_id() else { continue };
        if known.contains(id) || tagged(i.tags()) {
            continue;
        }
        instances.insert(id.to_string());
        out.push(Stray {
            type_name: "aws_instance",
            id: id.to_string(),
            what: format!(
                "an instance ({}) inside the stack's VPC {}, tagged by no stack",
                i.instance_type().map(|t| t.as_str()).unwrap_or("?"),
                i.vpc_id().unwrap_or("?")
            ),
        });
    }
    for n in &interfaces {
        let Some(id) = n.network_interface_id() else {
            continue;
        };
        let of_instance = n
            .attachment()
            .and_then(|a| a.instance_id())
            .is_some_and(|i| instances.contains(i) || known.contains(i));
        if n.requester_managed() == Some(true)
            || of_instance
            || known.contains(id)
            || tagged(n.tag_set())
        {
            continue;
        }
        out.push(Stray {
            type_name: "aws_network_interface",
            id: id.to_string(),
            what: format!(
                "a network interface \"{}\" of an unknown owner inside the stack's VPC {}, tagged by no stack",
                n.description().unwrap_or_default(),
                n.vpc_id().unwrap_or("?")
            ),
        });
    }
    Ok(out)
}
