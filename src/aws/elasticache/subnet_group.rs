//! `aws_elasticache_subnet_group`: the private subnets a cache may place its nodes in.
//! ElastiCache names hold only lowercase letters, digits and hyphens: the deterministic
//! name is lowercased and its `_` become `-` (see `cache_name`).

use super::{deleted, error, eventually, once, retag, tag_map, tags};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, name_blockers, tag_index, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_elasticache::types::CacheSubnetGroup;
use futures_util::future::try_join_all;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_elasticache_subnet_group",
    doc: "The subnets an ElastiCache cache places its nodes in.",
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
                "private subnets of one VPC, e.g. ${private_subnet[*].id}",
            )
        },
    ],
    attributes: &["id", "name", "arn"],
};

pub struct SubnetGroup {
    cache: aws_sdk_elasticache::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl SubnetGroup {
    pub fn new(c: &Clients) -> Self {
        SubnetGroup {
            cache: c.elasticache.clone(),
            tagging: c.tagging.clone(),
        }
    }

    /// The caches (cluster and replication group) that still use group `name`.
    async fn users(&self, name: &str) -> Result<Vec<String>, ProviderError> {
        Ok(self
            .holders(name)
            .await?
            .into_iter()
            .map(|(who, _)| who)
            .collect())
    }

    /// The caches that still use group `name`, each with its status.
    async fn holders(&self, name: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let clusters: Vec<_> = self
            .cache
            .describe_cache_clusters()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeCacheClusters", e))?;
        Ok(clusters
            .iter()
            .filter(|c| c.cache_subnet_group_name() == Some(name))
            .map(|c| {
                let who = match c.replication_group_id() {
                    Some(g) => format!(
                        "cache cluster {} of replication group {g}",
                        c.cache_cluster_id().unwrap_or_default()
                    ),
                    None => format!("cache cluster {}", c.cache_cluster_id().unwrap_or_default()),
                };
                (
                    who,
                    c.cache_cluster_status().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }
}

/// An ElastiCache name (subnet group, replication group) for `<stack>-<env>-<address>`:
/// lowercased, as ElastiCache stores names, with `_` (which it refuses) as `-`.
pub fn cache_name(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

/// The name of the subnet group at `addr`.
pub fn group_name(scope: &Scope, addr: &Addr) -> String {
    cache_name(&scope.name_for(addr))
}

/// The prefix every ElastiCache name of `scope` starts with: `<stack>-<env>-`.
pub fn name_prefix(scope: &Scope) -> String {
    cache_name(&scope.name_prefix())
}

fn props_of(g: &CacheSubnetGroup) -> Props {
    let subnets = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .map(|s| Value::Str(s.to_string()))
        .collect();
    Props::from([
        (
            "description".to_string(),
            Value::Str(
                g.cache_subnet_group_description()
                    .unwrap_or_default()
                    .to_string(),
            ),
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

fn to_live(owned: Owned, name: &str, arn: &str, props: Props) -> Live {
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

    /// One paginated DescribeCacheSubnetGroups narrowed to this stack's name prefix, then
    /// one ListTagsForResource per group left (ElastiCache lists no tags), concurrently.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let groups: Vec<CacheSubnetGroup> = match only {
            Some(a) => {
                let out = self
                    .cache
                    .describe_cache_subnet_groups()
                    .cache_subnet_group_name(group_name(scope, a))
                    .send()
                    .await
                    .map_err(|e| error("DescribeCacheSubnetGroups", e));
                match out {
                    Ok(out) => out.cache_subnet_groups().to_vec(),
                    Err(e) if e.is_not_found() => Vec::new(),
                    Err(e) => return Err(e),
                }
            }
            None => self
                .cache
                .describe_cache_subnet_groups()
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| error("DescribeCacheSubnetGroups", e))?,
        };
        let prefix = name_prefix(scope);
        let ours = groups.iter().filter(|g| {
            g.cache_subnet_group_name()
                .is_some_and(|n| n.to_lowercase().starts_with(&prefix))
        });
        let found = try_join_all(ours.map(|g| async move {
            let arn = g.arn().unwrap_or_default();
            let direct = async {
                let t = self
                    .cache
                    .list_tags_for_resource()
                    .resource_name(arn)
                    .send()
                    .await
                    .map_err(|e| error("ListTagsForResource", e))?;
                Ok(tag_map(t.tag_list()))
            };
            match tag_index::tags(&self.tagging, scope, Some(arn), direct).await {
                Ok(t) => Ok(crate::aws::owned(scope, t).map(|o| {
                    to_live(
                        o,
                        g.cache_subnet_group_name().unwrap_or_default(),
                        arn,
                        props_of(g),
                    )
                })),
                // Deleted between the two calls.
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = group_name(req.scope, req.addr);
        let out = self
            .cache
            .create_cache_subnet_group()
            .cache_subnet_group_name(&name)
            .cache_subnet_group_description(req.str("description"))
            .set_subnet_ids(Some(subnet_ids(req.props)))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_elasticache::operation::create_cache_subnet_group::CreateCacheSubnetGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateCacheSubnetGroup", e))?;
        let arn = out
            .cache_subnet_group()
            .and_then(|g| g.arn())
            .unwrap_or_default();
        let props = Props::from([
            (
                "description".to_string(),
                Value::Str(req.str("description").to_string()),
            ),
            (
                "subnet_ids".to_string(),
                req.get("subnet_ids").cloned().unwrap_or(Value::Null),
            ),
        ]);
        Ok(to_live(Owned::made(req), &name, arn, props))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let out = self
            .cache
            .modify_cache_subnet_group()
            .cache_subnet_group_name(&l.id)
            .cache_subnet_group_description(req.str("description"))
            .set_subnet_ids(Some(subnet_ids(req.props)))
            .customize()
            .config_override(eventually::<
                aws_sdk_elasticache::operation::modify_cache_subnet_group::ModifyCacheSubnetGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifyCacheSubnetGroup", e))?;
        let mut next = l.clone();
        if let Some(g) = out.cache_subnet_group() {
            next.props = props_of(g);
            next.refs = subnet_ids(&next.props);
        }
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.cache, l, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let send = || async {
            deleted(
                "DeleteCacheSubnetGroup",
                self.cache
                    .delete_cache_subnet_group()
                    .cache_subnet_group_name(&l.id)
                    .send()
                    .await,
            )
        };
        let mut result = send().await;
        // A cache being deleted (by an earlier, interrupted destroy) still holds the group
        // until it is gone: wait for it rather than fail.
        if matches!(&result, Err(e) if e.kind == ErrorKind::InUse) {
            let holders = self.holders(&l.id).await?;
            if !holders.is_empty() && holders.iter().all(|(_, s)| s == "deleting") {
                wait::until(req, "waiting for caches being deleted", || async {
                    Ok(match self.holders(&l.id).await?.first() {
                        None => Poll::Ready(()),
                        Some((_, status)) => Poll::Pending(status.clone()),
                    })
                })
                .await?;
                result = send().await;
            }
        }
        let advice = "delete those caches first";
        name_blockers(result, &l.id, "is still used by", self.users(&l.id), advice).await
    }
}
