//! `aws_nat_gateway`: a public NAT gateway in a public subnet with an Elastic IP. Creation
//! and deletion wait for AWS to finish (up to 10 minutes, as AWS documents).

use super::{deleted, error, once, owned, owner_filters, retag, tag_spec};
use crate::aws::{live, millis, prop_str, Clients, Owned};
use crate::model::schema::{Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::types::{Filter, NatGatewayState, ResourceType};
use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use std::time::Duration;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_nat_gateway",
    doc: "A public NAT gateway.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            ..Field::new(
                "subnet_id",
                Kind::Str,
                "a public subnet, e.g. ${public_subnet[each.key].id}",
            )
        },
        Field {
            required: true,
            force_new: true,
            ..Field::new(
                "allocation_id",
                Kind::Str,
                "the Elastic IP, e.g. ${nat_eip[each.key].id}",
            )
        },
    ],
    attributes: &["id"],
};

pub struct NatGateway {
    ec2: aws_sdk_ec2::Client,
}

impl NatGateway {
    pub fn new(c: &Clients) -> Self {
        NatGateway { ec2: c.ec2.clone() }
    }

    async fn wait_available(&self, id: &str, timeout: Duration) -> Result<(), ProviderError> {
        self.ec2
            .wait_until_nat_gateway_available()
            .nat_gateway_ids(id)
            .wait(timeout)
            .await
            .map_err(|e| waited("available", e))?;
        Ok(())
    }
}

/// A NAT waiter's failure: the time ran out, or AWS says the gateway failed.
fn waited<O, E>(state: &str, e: WaiterError<O, E>) -> ProviderError
where
    WaiterError<O, E>: std::error::Error,
{
    let timeout = matches!(e, WaiterError::ExceededMaxWait(_));
    let err = ProviderError::new(format!("wait for NAT gateway {state}"), e.to_string());
    if timeout {
        err.kind(ErrorKind::Timeout)
    } else {
        err
    }
}

#[async_trait]
impl Provider for NatGateway {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // Deleted gateways stay visible for about an hour: only live states count.
        let state = Filter::builder()
            .name("state")
            .values("pending")
            .values("available")
            .build();
        let mut filters = owner_filters(scope, only);
        filters.push(state);
        let nats: Vec<_> = self
            .ec2
            .describe_nat_gateways()
            .set_filter(Some(filters))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeNatGateways", e))?;
        Ok(nats
            .into_iter()
            .filter_map(|n| {
                let owned = owned(scope, n.tags())?;
                let id = n.nat_gateway_id()?;
                let subnet = n.subnet_id().unwrap_or_default().to_string();
                let alloc = n
                    .nat_gateway_addresses()
                    .iter()
                    .find_map(|a| a.allocation_id())
                    .unwrap_or_default()
                    .to_string();
                let props = Props::from([
                    ("subnet_id".to_string(), Value::Str(subnet.clone())),
                    ("allocation_id".to_string(), Value::Str(alloc.clone())),
                ]);
                let owned = owned.or_created(n.create_time().and_then(millis));
                let mut l = live(owned, id, props, vec![subnet, alloc], &[]);
                // Still starting (an apply stopped while waiting for it): wait for it.
                if n.state() == Some(&NatGatewayState::Pending) {
                    l.pending = Some("pending".into());
                }
                Some(l)
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let (subnet, alloc) = (
            prop_str(props, "subnet_id"),
            prop_str(props, "allocation_id"),
        );
        let out = self
            .ec2
            .create_nat_gateway()
            .subnet_id(subnet)
            .allocation_id(alloc)
            // The same token on every attempt of this create: AWS answers a repeat with
            // the gateway it already made.
            .client_token(req.scope.client_token(req.addr, props))
            .tag_specifications(tag_spec(req, ResourceType::Natgateway))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::create_nat_gateway::CreateNatGatewayError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateNatGateway", e))?;
        let id = out
            .nat_gateway()
            .and_then(|n| n.nat_gateway_id())
            .unwrap_or_default()
            .to_string();
        self.wait_available(&id, req.timeout).await?;
        Ok(live(
            Owned::made(req),
            &id,
            props.clone(),
            vec![subnet.to_string(), alloc.to_string()],
            &[],
        ))
    }

    /// A gateway found instead of created may still be starting: wait for it.
    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        self.wait_available(&l.id, req.timeout).await?;
        Ok(l)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeleteNatGateway",
            self.ec2
                .delete_nat_gateway()
                .nat_gateway_id(&l.id)
                .send()
                .await,
        )?;
        // Its Elastic IP and the internet gateway can only go once it is gone.
        self.ec2
            .wait_until_nat_gateway_deleted()
            .nat_gateway_ids(&l.id)
            .wait(req.timeout)
            .await
            .map_err(|e| waited("deleted", e))?;
        Ok(())
    }
}
