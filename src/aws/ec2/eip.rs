//! `aws_eip`: an Elastic IP address for use in a VPC (a NAT gateway's public address).

use super::{deleted, error, once, owned, owner_filters, retag, tag_spec};
use crate::aws::{live, Clients, Owned};
use crate::model::schema::Schema;
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, ResourceType};

pub static SCHEMA: Schema = Schema {
    type_name: "aws_eip",
    doc: "An Elastic IP address in the VPC domain.",
    fields: &[],
    attributes: &["id", "public_ip"],
};

pub struct Eip {
    ec2: aws_sdk_ec2::Client,
}

impl Eip {
    pub fn new(c: &Clients) -> Self {
        Eip { ec2: c.ec2.clone() }
    }
}

#[async_trait]
impl Provider for Eip {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // DescribeAddresses is not paginated: one call returns every address.
        let out = self
            .ec2
            .describe_addresses()
            .set_filters(Some(owner_filters(scope, only)))
            .send()
            .await
            .map_err(|e| error("DescribeAddresses", e))?;
        Ok(out
            .addresses()
            .iter()
            .filter_map(|a| {
                let owned = owned(scope, a.tags())?;
                let id = a.allocation_id()?;
                let ip = Value::Str(a.public_ip().unwrap_or_default().to_string());
                Some(live(
                    owned,
                    id,
                    Props::new(),
                    Vec::new(),
                    &[("public_ip", ip)],
                ))
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let out = self
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(req, ResourceType::ElasticIp))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::allocate_address::AllocateAddressError,
            >())
            .send()
            .await
            .map_err(|e| error("AllocateAddress", e))?;
        let id = out.allocation_id().unwrap_or_default();
        let ip = Value::Str(out.public_ip().unwrap_or_default().to_string());
        Ok(live(
            Owned::made(req),
            id,
            props.clone(),
            Vec::new(),
            &[("public_ip", ip)],
        ))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "ReleaseAddress",
            self.ec2.release_address().allocation_id(&l.id).send().await,
        )
    }
}
