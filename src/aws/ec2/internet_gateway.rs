//! `aws_internet_gateway`: an internet gateway attached to one VPC.

use super::{deleted, error, once, owned, owner_filters, retag, tag_spec};
use crate::aws::{live, prop_str, Clients, Owned};
use crate::model::schema::{Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_internet_gateway",
    doc: "An internet gateway attached to a VPC.",
    fields: &[Field {
        required: true,
        force_new: true,
        ..Field::new("vpc_id", Kind::Str, "the VPC to attach to, e.g. ${vpc.id}")
    }],
    attributes: &["id"],
};

pub struct InternetGateway {
    ec2: aws_sdk_ec2::Client,
}

impl InternetGateway {
    pub fn new(c: &Clients) -> Self {
        InternetGateway { ec2: c.ec2.clone() }
    }

    async fn attach(&self, id: &str, vpc: &str) -> Result<(), ProviderError> {
        self.ec2
            .attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::attach_internet_gateway::AttachInternetGatewayError,
            >())
            .send()
            .await
            .map_err(|e| error("AttachInternetGateway", e))?;
        Ok(())
    }

    async fn detach(&self, id: &str, vpc: &str) -> Result<(), ProviderError> {
        let r = deleted(
            "DetachInternetGateway",
            self.ec2
                .detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(vpc)
                .send()
                .await,
        );
        match r {
            // Detached already (a repeated call whose first answer was lost).
            Err(e) if e.code.as_deref() == Some("Gateway.NotAttached") => Ok(()),
            other => other,
        }
    }
}

#[async_trait]
impl Provider for InternetGateway {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let igws: Vec<_> = self
            .ec2
            .describe_internet_gateways()
            .set_filters(Some(owner_filters(scope, only)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeInternetGateways", e))?;
        Ok(igws
            .into_iter()
            .filter_map(|g| {
                let owned = owned(scope, g.tags())?;
                let id = g.internet_gateway_id()?;
                let vpc = g
                    .attachments()
                    .iter()
                    .find_map(|a| a.vpc_id())
                    .map(str::to_string);
                let props = Props::from([(
                    "vpc_id".to_string(),
                    vpc.clone().map(Value::Str).unwrap_or(Value::Null),
                )]);
                Some(live(owned, id, props, vpc.into_iter().collect(), &[]))
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let out = self
            .ec2
            .create_internet_gateway()
            .tag_specifications(tag_spec(req, ResourceType::InternetGateway))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::create_internet_gateway::CreateInternetGatewayError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateInternetGateway", e))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        let vpc = prop_str(props, "vpc_id");
        self.attach(&id, vpc).await?;
        Ok(live(
            Owned::made(req),
            &id,
            props.clone(),
            vec![vpc.to_string()],
            &[],
        ))
    }

    /// Moving a gateway to another VPC replaces it (the old VPC's delete needs it gone
    /// first); attaching a gateway that is attached nowhere (a create interrupted between
    /// its two calls) is done in place.
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut changes = default_diff(&SCHEMA, desired, live);
        for c in &mut changes {
            if c.field == "vpc_id" && c.before == Value::Null {
                c.forces_replace = false;
            }
        }
        changes
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let props = req.props;
        let want = prop_str(props, "vpc_id");
        match l.props.get("vpc_id").and_then(Value::as_str) {
            Some(old) if old == want => {}
            Some(old) => {
                self.detach(&l.id, old).await?;
                self.attach(&l.id, want).await?;
            }
            None => self.attach(&l.id, want).await?,
        }
        let mut next = l.clone();
        next.props = props.clone();
        next.refs = vec![want.to_string()];
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        if let Some(vpc) = l.props.get("vpc_id").and_then(Value::as_str) {
            self.detach(&l.id, vpc).await?;
        }
        deleted(
            "DeleteInternetGateway",
            self.ec2
                .delete_internet_gateway()
                .internet_gateway_id(&l.id)
                .send()
                .await,
        )
    }

    /// AWS refuses to detach a gateway while the VPC has mapped public addresses.
    fn delete_after(&self) -> &'static [&'static str] {
        &["aws_nat_gateway", "aws_eip"]
    }
}
