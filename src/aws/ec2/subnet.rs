//! `aws_subnet`: a subnet in one availability zone; checked to lie inside its VPC and
//! not to overlap its siblings before any AWS call.

use super::{deleted, error, eventually, interfaces, once, owned, owner_filters, retag, tag_spec};
use crate::aws::{live, name_blockers, prop_str, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use ipnet::Ipv4Net;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_subnet",
    doc: "A subnet of a VPC in one availability zone.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            ..Field::new("vpc_id", Kind::Str, "the VPC, e.g. ${vpc.id}")
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("EC2 cannot change a subnet's address range"),
            ..Field::new(
                "cidr_block",
                Kind::Cidr,
                "a range inside the VPC's, e.g. 10.0.1.0/24",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a subnet cannot move to another zone"),
            ..Field::new("availability_zone", Kind::Str, "e.g. eu-west-2a")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "map_public_ip_on_launch",
                Kind::Bool,
                "give instances launched here a public IP",
            )
        },
    ],
    attributes: &["id", "availability_zone", "cidr_block"],
};

pub struct Subnet {
    ec2: aws_sdk_ec2::Client,
}

impl Subnet {
    pub fn new(c: &Clients) -> Self {
        Subnet { ec2: c.ec2.clone() }
    }

    async fn set_public_ip(&self, id: &str, want: bool) -> Result<(), ProviderError> {
        self.ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(want).build())
            .customize()
            .config_override(eventually::<
                aws_sdk_ec2::operation::modify_subnet_attribute::ModifySubnetAttributeError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifySubnetAttribute", e))?;
        Ok(())
    }
}

fn cidr_of(r: &Resource) -> Option<Ipv4Net> {
    r.props.get("cidr_block")?.as_str()?.parse().ok()
}

/// The declared VPC a subnet's `vpc_id` refers to.
fn vpc_of<'a>(r: &Resource, stack: &'a Stack) -> Option<&'a Resource> {
    match r.props.get("vpc_id")? {
        Value::Ref(rf) if rf.attr == "id" => stack.resource(rf.targets.first()?),
        _ => None,
    }
}

fn outputs(v: &Props) -> Vec<(&'static str, Value)> {
    vec![
        (
            "availability_zone",
            v.get("availability_zone").cloned().unwrap_or(Value::Null),
        ),
        (
            "cidr_block",
            v.get("cidr_block").cloned().unwrap_or(Value::Null),
        ),
    ]
}

#[async_trait]
impl Provider for Subnet {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let subnets: Vec<_> = self
            .ec2
            .describe_subnets()
            .set_filters(Some(owner_filters(scope, only)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeSubnets", e))?;
        Ok(subnets
            .into_iter()
            .filter_map(|s| {
                let owned = owned(scope, s.tags())?;
                let id = s.subnet_id()?;
                let vpc_id = s.vpc_id().unwrap_or_default().to_string();
                let props = Props::from([
                    ("vpc_id".to_string(), Value::Str(vpc_id.clone())),
                    (
                        "cidr_block".to_string(),
                        Value::Str(s.cidr_block().unwrap_or_default().to_string()),
                    ),
                    (
                        "availability_zone".to_string(),
                        Value::Str(s.availability_zone().unwrap_or_default().to_string()),
                    ),
                    (
                        "map_public_ip_on_launch".to_string(),
                        Value::Bool(s.map_public_ip_on_launch().unwrap_or(false)),
                    ),
                ]);
                Some(live(
                    owned,
                    id,
                    props.clone(),
                    vec![vpc_id],
                    &outputs(&props),
                ))
            })
            .collect())
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let az = r.props.get("availability_zone").and_then(Value::as_str);
        if let (Some(region), Some(az), Some(pos)) =
            (&stack.region, az, r.field_pos.get("availability_zone"))
        {
            if !az.starts_with(region.as_str()) {
                out.push(
                    Diagnostic::new(pos.clone(), format!("availability zone `{az}` of `{}` is not in the environment's region `{region}`", r.addr))
                        .hint(format!("use a zone of {region}, such as {region}a")),
                );
            }
        }
        out.extend(super::vpc::prefix_problem(r, "subnet", "10.0.1.0/24"));
        let (Some(net), Some(pos)) = (cidr_of(r), r.field_pos.get("cidr_block")) else {
            return out;
        };
        let vpc = vpc_of(r, stack);
        if let Some(vpc) = vpc {
            if let Some(vnet) = cidr_of(vpc) {
                if !vnet.contains(&net) {
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!(
                                "subnet `{}` ({net}) is outside its VPC `{}` ({vnet})",
                                r.addr, vpc.addr
                            ),
                        )
                        .hint(format!("choose a range inside {vnet}")),
                    );
                }
            }
        }
        // Report an overlap once, on the later of the two subnets.
        for other in &stack.resources {
            if other.addr == r.addr {
                break;
            }
            if other.type_name != r.type_name
                || vpc_of(other, stack).map(|v| &v.addr) != vpc.map(|v| &v.addr)
            {
                continue;
            }
            if let Some(onet) = cidr_of(other) {
                if onet.contains(&net.network()) || net.contains(&onet.network()) {
                    let mut d = Diagnostic::new(
                        pos.clone(),
                        format!(
                            "subnet `{}` ({net}) overlaps subnet `{}` ({onet})",
                            r.addr, other.addr
                        ),
                    )
                    .hint("subnets of one VPC must not share addresses: pick a free range");
                    if let Some(p) = other.field_pos.get("cidr_block") {
                        d = d.related(p.clone(), format!("`{}` declared here", other.addr));
                    }
                    out.push(d);
                }
            }
        }
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let out = self
            .ec2
            .create_subnet()
            .vpc_id(prop_str(props, "vpc_id"))
            .cidr_block(prop_str(props, "cidr_block"))
            .availability_zone(prop_str(props, "availability_zone"))
            .tag_specifications(tag_spec(req, ResourceType::Subnet))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::create_subnet::CreateSubnetError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateSubnet", e))?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_string();
        if props
            .get("map_public_ip_on_launch")
            .and_then(Value::as_bool)
            == Some(true)
        {
            self.set_public_ip(&id, true).await?;
        }
        let refs = vec![prop_str(props, "vpc_id").to_string()];
        Ok(live(
            Owned::made(req),
            &id,
            props.clone(),
            refs,
            &outputs(props),
        ))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let props = req.props;
        let want = props
            .get("map_public_ip_on_launch")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.set_public_ip(&l.id, want).await?;
        let mut next = l.clone();
        next.props = props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let result = deleted(
            "DeleteSubnet",
            self.ec2.delete_subnet().subnet_id(&l.id).send().await,
        );
        // Network interfaces keep a subnet alive.
        let enis = interfaces(&self.ec2, "subnet-id", &l.id);
        let advice = "delete them (or what they belong to)";
        name_blockers(result, &l.id, "still holds", enis, advice).await
    }
}
