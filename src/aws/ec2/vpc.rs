//! `aws_vpc`: a VPC with its DNS attributes.

use super::{deleted, error, eventually, once, owned, owner_filters, retag, tag_map, tag_spec};
use crate::aws::{live, name_blockers, prop_str, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, Tag, VpcAttributeName};
use std::time::Duration;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_vpc",
    doc: "A virtual private cloud.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            ..Field::new(
                "cidr_block",
                Kind::Cidr,
                "the VPC's IPv4 range, e.g. 10.0.0.0/16",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "enable_dns_support",
                Kind::Bool,
                "resolve DNS through the Amazon resolver",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "enable_dns_hostnames",
                Kind::Bool,
                "give instances public DNS names",
            )
        },
    ],
    attributes: &["id", "cidr_block"],
};

pub struct Vpc {
    ec2: aws_sdk_ec2::Client,
}

impl Vpc {
    pub fn new(c: &Clients) -> Self {
        Vpc { ec2: c.ec2.clone() }
    }

    async fn attribute(&self, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
        let out = self
            .ec2
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(name.clone())
            .send()
            .await
            .map_err(|e| error("DescribeVpcAttribute", e))?;
        let v = match name {
            VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
            _ => out.enable_dns_support(),
        };
        Ok(v.and_then(|a| a.value()).unwrap_or(false))
    }

    /// Why `vpc` cannot be deleted: what is still inside it, ours or not.
    async fn blockers(&self, scope: &Scope, vpc: &str) -> Result<Vec<String>, ProviderError> {
        let in_vpc = || Filter::builder().name("vpc-id").values(vpc).build();
        let (subnets, groups, tables, gateways, nats, enis) = tokio::try_join!(
            async {
                self.ec2
                    .describe_subnets()
                    .filters(in_vpc())
                    .send()
                    .await
                    .map_err(|e| error("DescribeSubnets", e))
            },
            async {
                self.ec2
                    .describe_security_groups()
                    .filters(in_vpc())
                    .send()
                    .await
                    .map_err(|e| error("DescribeSecurityGroups", e))
            },
            async {
                self.ec2
                    .describe_route_tables()
                    .filters(in_vpc())
                    .send()
                    .await
                    .map_err(|e| error("DescribeRouteTables", e))
            },
            async {
                self.ec2
                    .describe_internet_gateways()
                    .filters(
                        Filter::builder()
                            .name("attachment.vpc-id")
                            .values(vpc)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| error("DescribeInternetGateways", e))
            },
            async {
                self.ec2
                    .describe_nat_gateways()
                    .filter(in_vpc())
                    .filter(
                        Filter::builder()
                            .name("state")
                            .values("pending")
                            .values("available")
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| error("DescribeNatGateways", e))
            },
            async {
                self.ec2
                    .describe_network_interfaces()
                    .filters(in_vpc())
                    .send()
                    .await
                    .map_err(|e| error("DescribeNetworkInterfaces", e))
            },
        )?;
        let who = |tags: &[Tag]| match owned(scope, tags) {
            Some(o) => format!("`{}` of this stack", o.addr),
            None => match tag_map(tags).get("Name") {
                Some(n) => format!("named {n:?}, not managed by this stack"),
                None => "not managed by this stack".to_string(),
            },
        };
        let mut out = Vec::new();
        for s in subnets.subnets() {
            out.push(format!(
                "subnet {} ({}, {})",
                s.subnet_id().unwrap_or_default(),
                s.cidr_block().unwrap_or_default(),
                who(s.tags())
            ));
        }
        for g in groups.security_groups() {
            if g.group_name() == Some("default") {
                continue;
            }
            out.push(format!(
                "security group {} ({:?}, {})",
                g.group_id().unwrap_or_default(),
                g.group_name().unwrap_or_default(),
                who(g.tags())
            ));
        }
        for t in tables.route_tables() {
            if t.associations().iter().any(|a| a.main() == Some(true)) {
                continue;
            }
            out.push(format!(
                "route table {} ({})",
                t.route_table_id().unwrap_or_default(),
                who(t.tags())
            ));
        }
        for g in gateways.internet_gateways() {
            out.push(format!(
                "internet gateway {} ({})",
                g.internet_gateway_id().unwrap_or_default(),
                who(g.tags())
            ));
        }
        for n in nats.nat_gateways() {
            // Some endpoints ignore the vpc-id filter here: check it.
            if n.vpc_id() == Some(vpc) {
                out.push(format!(
                    "NAT gateway {} ({})",
                    n.nat_gateway_id().unwrap_or_default(),
                    who(n.tags())
                ));
            }
        }
        for i in enis.network_interfaces() {
            out.push(format!(
                "network interface {} ({}{})",
                i.network_interface_id().unwrap_or_default(),
                i.description()
                    .filter(|d| !d.is_empty())
                    .map(|d| format!("{d:?}, "))
                    .unwrap_or_default(),
                who(i.tag_set())
            ));
        }
        Ok(out)
    }

    async fn set_dns(
        &self,
        id: &str,
        props: &Props,
        live: Option<&Props>,
    ) -> Result<(), ProviderError> {
        for (field, hostnames) in [
            ("enable_dns_support", false),
            ("enable_dns_hostnames", true),
        ] {
            let Some(want) = props.get(field).and_then(Value::as_bool) else {
                continue;
            };
            if live.and_then(|l| l.get(field)).and_then(Value::as_bool) == Some(want) {
                continue;
            }
            let v = AttributeBooleanValue::builder().value(want).build();
            let req = self.ec2.modify_vpc_attribute().vpc_id(id);
            let req = if hostnames {
                req.enable_dns_hostnames(v)
            } else {
                req.enable_dns_support(v)
            };
            req.customize()
                .config_override(eventually::<
                    aws_sdk_ec2::operation::modify_vpc_attribute::ModifyVpcAttributeError,
                >())
                .send()
                .await
                .map_err(|e| error("ModifyVpcAttribute", e))?;
        }
        Ok(())
    }
}

/// AWS accepts VPC and subnet blocks from /16 to /28: a block outside that range is
/// refused with `what` (VPC, subnet) and an `example` of an accepted one.
pub(super) fn prefix_problem(
    r: &crate::config::Resource,
    what: &str,
    example: &str,
) -> Option<crate::config::Diagnostic> {
    let net: ipnet::Ipv4Net = r.props.get("cidr_block")?.as_str()?.parse().ok()?;
    let pos = r.field_pos.get("cidr_block")?;
    let size = match net.prefix_len() {
        16..=28 => return None,
        0..=15 => "larger",
        _ => "smaller",
    };
    Some(
        crate::config::Diagnostic::new(
            pos.clone(),
            format!(
                "{what} `{}` has cidr_block {net}, {size} than AWS allows: the prefix length must be /16 to /28",
                r.addr
            ),
        )
        .hint(format!(
            "use a block from /16 (65,536 addresses) to /28 (16 addresses), for example {example}"
        )),
    )
}

#[async_trait]
impl Provider for Vpc {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// A new VPC may overlap the old one's range, so a replacement is made beside it:
    /// what lives in it can then be made first too where it must (a target group a
    /// listener uses, a security group a service runs in), instead of having to go
    /// before its new VPC may exist.
    fn create_before_delete(&self) -> bool {
        true
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let vpcs: Vec<_> = self
            .ec2
            .describe_vpcs()
            .set_filters(Some(owner_filters(scope, only)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeVpcs", e))?;
        let mut out = Vec::new();
        for v in vpcs {
            let (Some(owned), Some(id)) = (owned(scope, v.tags()), v.vpc_id()) else {
                continue;
            };
            // DescribeVpcs does not return the DNS attributes: one call each, at once.
            let (support, hostnames) = tokio::try_join!(
                self.attribute(id, VpcAttributeName::EnableDnsSupport),
                self.attribute(id, VpcAttributeName::EnableDnsHostnames),
            )?;
            let cidr = Value::Str(v.cidr_block().unwrap_or_default().to_string());
            let props = Props::from([
                ("cidr_block".to_string(), cidr.clone()),
                ("enable_dns_support".to_string(), Value::Bool(support)),
                ("enable_dns_hostnames".to_string(), Value::Bool(hostnames)),
            ]);
            out.push(live(owned, id, props, Vec::new(), &[("cidr_block", cidr)]));
        }
        Ok(out)
    }

    fn check(
        &self,
        r: &crate::config::Resource,
        _stack: &crate::config::Stack,
    ) -> Vec<crate::config::Diagnostic> {
        prefix_problem(r, "VPC", "10.0.0.0/16")
            .into_iter()
            .collect()
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let cidr = prop_str(props, "cidr_block");
        let out = self
            .ec2
            .create_vpc()
            .cidr_block(cidr)
            .tag_specifications(tag_spec(req, ResourceType::Vpc))
            .customize()
            .config_override(once::<aws_sdk_ec2::operation::create_vpc::CreateVpcError>())
            .send()
            .await
            .map_err(|e| error("CreateVpc", e))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        self.ec2
            .wait_until_vpc_available()
            .vpc_ids(&id)
            .wait(Duration::from_secs(300))
            .await
            .map_err(|e| ProviderError::new("wait for VPC available", e.to_string()))?;
        // A new VPC has DNS support on and hostnames off.
        let fresh = Props::from([
            ("enable_dns_support".to_string(), Value::Bool(true)),
            ("enable_dns_hostnames".to_string(), Value::Bool(false)),
        ]);
        self.set_dns(&id, props, Some(&fresh)).await?;
        let cidr = Value::Str(cidr.to_string());
        Ok(live(
            Owned::made(req),
            &id,
            props.clone(),
            Vec::new(),
            &[("cidr_block", cidr)],
        ))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let props = req.props;
        self.set_dns(&l.id, props, Some(&l.props)).await?;
        let mut next = l.clone();
        next.props = props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let scope = req.scope;
        let result = deleted(
            "DeleteVpc",
            self.ec2.delete_vpc().vpc_id(&l.id).send().await,
        );
        let advice = "delete or move those resources";
        name_blockers(
            result,
            &l.id,
            "still holds",
            self.blockers(scope, &l.id),
            advice,
        )
        .await
    }
}
