//! `aws_db_subnet_group`: the private subnets a database may be placed in. Named
//! `<stack>-<env>-<address>` in lowercase (RDS keeps the names lowercase); description and
//! subnets change in place.

use super::{deleted, error, eventually, instances_using, list_tags, once, retag, tags};
use crate::aws::{live, name_blockers, tag_index, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use futures_util::future::try_join_all;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_db_subnet_group",
    doc: "The subnets (at least two availability zones) an RDS database may use.",
    fields: &[
        Field {
            default: Some(Default::Str("Managed by bandup-infra")),
            ..Field::new("description", Kind::Str, "what the group is for")
        },
        Field {
            required: true,
            ..Field::new(
                "subnet_ids",
                Kind::List(&Kind::Str),
                "subnets in at least two availability zones, e.g. ${private_subnet[*].id}",
            )
        },
    ],
    attributes: &["id", "name", "arn"],
};

/// The provider of `aws_db_subnet_group`.
pub struct SubnetGroup {
    rds: aws_sdk_rds::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl SubnetGroup {
    pub fn new(c: &Clients) -> Self {
        SubnetGroup {
            rds: c.rds.clone(),
            tagging: c.tagging.clone(),
        }
    }
}

/// The group's name for `req`: its deterministic name, lowercase as RDS keeps it.
fn name_of(scope: &Scope, addr: &Addr) -> String {
    scope.name_for(addr).to_lowercase()
}

/// What every group of `scope` is named after: `<stack>-<env>-`.
fn prefix(scope: &Scope) -> String {
    scope.name_prefix().to_lowercase()
}

fn props_of(g: &DbSubnetGroup) -> Props {
    let subnets = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .map(|s| Value::Str(s.to_string()))
        .collect();
    Props::from([
        (
            "description".to_string(),
            Value::Str(g.db_subnet_group_description().unwrap_or_default().into()),
        ),
        ("subnet_ids".to_string(), Value::List(subnets)),
    ])
}

fn subnet_ids(props: &Props) -> Vec<String> {
    match props.get("subnet_ids") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn made(owned: Owned, name: &str, arn: &str, props: Props) -> Live {
    let refs = subnet_ids(&props);
    live(
        owned,
        name,
        props,
        refs,
        &[
            ("name", Value::Str(name.to_string())),
            ("arn", Value::Str(arn.to_string())),
        ],
    )
}

#[async_trait]
impl Provider for SubnetGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One paginated DescribeDBSubnetGroups (RDS filters neither by tag nor by name
    /// prefix), narrowed to `<stack>-<env>-` names, then ListTagsForResource for each of
    /// those, concurrently: 1 + n calls.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let want = only.map(|a| name_of(scope, a));
        let prefix = prefix(scope);
        let groups: Vec<DbSubnetGroup> = self
            .rds
            .describe_db_subnet_groups()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeDBSubnetGroups", e))?;
        let ours = groups.into_iter().filter(|g| {
            let name = g.db_subnet_group_name().unwrap_or_default().to_lowercase();
            match &want {
                Some(w) => &name == w,
                None => name.starts_with(&prefix),
            }
        });
        let found = try_join_all(ours.map(|g| async move {
            let arn = g.db_subnet_group_arn().unwrap_or_default().to_string();
            let direct = list_tags(&self.rds, &arn);
            let tags = tag_index::tags(&self.tagging, scope, Some(&arn), direct).await?;
            Ok::<_, ProviderError>((g, arn, tags))
        }))
        .await?;
        Ok(found
            .into_iter()
            .filter_map(|(g, arn, tags)| {
                let owned = crate::aws::owned(scope, tags)?;
                let name = g.db_subnet_group_name()?.to_string();
                Some(made(owned, &name, &arn, props_of(&g)))
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = name_of(req.scope, req.addr);
        let out = self
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(req.str("description"))
            .set_subnet_ids(Some(subnet_ids(req.props)))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_rds::operation::create_db_subnet_group::CreateDBSubnetGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateDBSubnetGroup", e))?;
        let g = out.db_subnet_group();
        let arn = g
            .and_then(|g| g.db_subnet_group_arn())
            .unwrap_or_default()
            .to_string();
        Ok(made(Owned::made(req), &name, &arn, req.props.clone()))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        self.rds
            .modify_db_subnet_group()
            .db_subnet_group_name(&l.id)
            .db_subnet_group_description(req.str("description"))
            .set_subnet_ids(Some(subnet_ids(req.props)))
            .customize()
            .config_override(eventually::<
                aws_sdk_rds::operation::modify_db_subnet_group::ModifyDBSubnetGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifyDBSubnetGroup", e))?;
        let mut next = l.clone();
        next.props = req.props.clone();
        next.refs = subnet_ids(req.props);
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.rds, l, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        // Refused (InvalidDBSubnetGroupStateFault) while a database is in it: the
        // stack's own are deleted first (they reference the group); others are named.
        let result = deleted(
            "DeleteDBSubnetGroup",
            self.rds
                .delete_db_subnet_group()
                .db_subnet_group_name(&l.id)
                .send()
                .await,
        );
        let users = instances_using(&self.rds, req.scope, |db| {
            db.db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .is_some_and(|n| n.eq_ignore_ascii_case(&l.id))
        });
        let advice = "delete them or move them to another subnet group";
        name_blockers(result, &l.id, "still holds", users, advice).await
    }
}
