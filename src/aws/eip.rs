//! `aws_eip`: an Elastic IP address for use in a VPC (a NAT gateway's public address).

use super::{aws_error, deleted, live, once, owned, owner_filters, tag_spec, Clients};
use crate::model::schema::Schema;
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Scope};
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
            .map_err(|e| aws_error("DescribeAddresses", e))?;
        Ok(out
            .addresses()
            .iter()
            .filter_map(|a| {
                let (addr, created) = owned(scope, a.tags())?;
                let id = a.allocation_id()?;
                let ip = Value::Str(a.public_ip().unwrap_or_default().to_string());
                Some(
                    live(addr, id, Props::new(), Vec::new(), &[("public_ip", ip)])
                        .created_at(created),
                )
            })
            .collect())
    }

    async fn create(
        &self,
        scope: &Scope,
        addr: &Addr,
        props: &Props,
    ) -> Result<Live, ProviderError> {
        let out = self
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tag_spec(scope, addr, ResourceType::ElasticIp))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::allocate_address::AllocateAddressError,
            >())
            .send()
            .await
            .map_err(|e| aws_error("AllocateAddress", e))?;
        let id = out.allocation_id().unwrap_or_default();
        let ip = Value::Str(out.public_ip().unwrap_or_default().to_string());
        Ok(live(
            addr.clone(),
            id,
            props.clone(),
            Vec::new(),
            &[("public_ip", ip)],
        ))
    }

    async fn delete(&self, _scope: &Scope, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "ReleaseAddress",
            self.ec2.release_address().allocation_id(&l.id).send().await,
        )
    }
}
