//! `aws_elasticache_replication_group`: a Redis cache (cluster mode disabled) of one
//! primary and optional replicas. Creates, updates and deletes take minutes and are
//! waited for; a delete keeps a final snapshot unless told not to. An AUTH token is read
//! from its secret at create time only and never kept.

use super::subnet_group::{group_name, name_prefix};
use super::{error, eventually, once, owned, retag, tags};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
    Timeouts,
};
use async_trait::async_trait;
use aws_sdk_elasticache::types::{
    AutomaticFailoverStatus, CacheCluster, MultiAzStatus, ReplicationGroup as Group,
};
use futures_util::future::try_join_all;
use std::collections::BTreeMap;
use std::time::Duration;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_elasticache_replication_group",
    doc: "A Redis replication group: a primary and up to five replicas.",
    fields: &[
        Field {
            default: Some(Default::Str("Managed by bandup-infra")),
            ..Field::new("description", Kind::Str, "what the cache is for")
        },
        Field {
            default: Some(Default::Str("7.1")),
            ..Field::new("engine_version", Kind::Str, "Redis version, e.g. 7.1")
        },
        Field {
            required: true,
            ..Field::new("node_type", Kind::Str, "e.g. cache.t4g.micro")
        },
        Field {
            default: Some(Default::Int(1)),
            ..Field::new(
                "num_cache_clusters",
                Kind::Int,
                "nodes: the primary and its replicas (1 to 6)",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "automatic_failover",
                Kind::Bool,
                "promote a replica when the primary fails (needs 2 or more nodes)",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "multi_az",
                Kind::Bool,
                "keep replicas in other zones (needs automatic_failover)",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            force_new: true,
            replace_why: Some("ElastiCache sets encryption at rest only when a group is created"),
            ..Field::new("at_rest_encryption", Kind::Bool, "encrypt data on disk")
        },
        Field {
            default: Some(Default::Bool(true)),
            force_new: true,
            replace_why: Some("this tool sets in-transit encryption only when a group is created"),
            ..Field::new(
                "transit_encryption",
                Kind::Bool,
                "TLS between clients and the cache (needed for an AUTH token)",
            )
        },
        Field::new(
            "auth_token_secret_arn",
            Kind::Str,
            "a secret holding the AUTH token, e.g. ${redis_auth.arn}; read at create time only",
        ),
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a replication group cannot move to another subnet group"),
            ..Field::new("subnet_group_name", Kind::Str, "e.g. ${cache_subnets.name}")
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "security_group_ids",
                Kind::List(&Kind::Str),
                "e.g. [${cache_sg.id}]",
            )
        },
        Field {
            default: Some(Default::Int(0)),
            ..Field::new(
                "snapshot_retention_limit",
                Kind::Int,
                "days of daily snapshots kept (0: none)",
            )
        },
        Field::new(
            "snapshot_window",
            Kind::Str,
            "daily snapshot time (UTC), e.g. 03:00-04:00",
        ),
        Field::new(
            "maintenance_window",
            Kind::Str,
            "weekly maintenance time (UTC), e.g. sun:05:00-sun:06:00",
        ),
        Field {
            default: Some(Default::Int(6379)),
            force_new: true,
            replace_why: Some("ElastiCache cannot change a group's port"),
            ..Field::new("port", Kind::Int, "the port clients connect to")
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "apply_immediately",
                Kind::Bool,
                "apply changes now (true) or in the next maintenance window",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "final_snapshot",
                Kind::Bool,
                "keep a snapshot `<id>-final-<created>` when the cache is deleted",
            )
        },
    ],
    attributes: &["id", "arn", "primary_endpoint", "reader_endpoint", "port"],
};

/// Fields that steer what the tool does and are not part of the cache AWS describes: never
/// read back nor compared. The AUTH token is set at create time only.
const NOT_READ: &[&str] = &[
    "auth_token_secret_arn",
    "apply_immediately",
    "final_snapshot",
];

/// AWS's limit on a replication group id.
const MAX_ID: usize = 40;

pub struct ReplicationGroup {
    cache: aws_sdk_elasticache::Client,
    sm: aws_sdk_secretsmanager::Client,
}

impl ReplicationGroup {
    pub fn new(c: &Clients) -> Self {
        ReplicationGroup {
            cache: c.elasticache.clone(),
            sm: c.secretsmanager.clone(),
        }
    }

    /// The group `id`, or `None` if there is none.
    async fn group(&self, id: &str) -> Result<Option<Group>, ProviderError> {
        let out = self
            .cache
            .describe_replication_groups()
            .replication_group_id(id)
            .send()
            .await
            .map_err(|e| error("DescribeReplicationGroups", e));
        match out {
            Ok(out) => Ok(out.replication_groups().first().cloned()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Wait until group `id` is `available`, telling the user its status meanwhile.
    async fn wait_available(
        &self,
        req: &Request<'_>,
        id: &str,
        doing: &str,
    ) -> Result<(), ProviderError> {
        wait::until(req, doing, || async {
            Ok(match self.group(id).await? {
                None => Poll::Failed("gone".into()),
                Some(g) => match g.status().unwrap_or_default() {
                    "available" => Poll::Ready(()),
                    s @ ("create-failed" | "deleting") => Poll::Failed(s.to_string()),
                    s => Poll::Pending(s.to_string()),
                },
            })
        })
        .await
    }

    /// The live view of `id`, read again (after a create, an adoption, an update).
    async fn reread(&self, req: &Request<'_>, id: &str) -> Result<Live, ProviderError> {
        self.read(req.scope, Some(req.addr))
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| {
                ProviderError::new(
                    format!("read {}", req.addr),
                    format!("replication group {id} is not found with this stack's tags"),
                )
            })
    }

    /// The AUTH token held by the secret `arn`: read only here, passed on, never kept.
    async fn auth_token(&self, arn: &str) -> Result<String, ProviderError> {
        let out = self
            .sm
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| crate::aws::secretsmanager::error("GetSecretValue", e))?;
        out.secret_string().map(str::to_string).ok_or_else(|| {
            ProviderError::new(
                "GetSecretValue",
                format!("secret {arn} holds no string value to use as the AUTH token: set one, then apply again"),
            )
        })
    }

    async fn modify(
        &self,
        req: &Request<'_>,
        id: &str,
        set: impl FnOnce(
            aws_sdk_elasticache::operation::modify_replication_group::builders::ModifyReplicationGroupFluentBuilder,
        ) -> aws_sdk_elasticache::operation::modify_replication_group::builders::ModifyReplicationGroupFluentBuilder,
    ) -> Result<(), ProviderError> {
        let call = self
            .cache
            .modify_replication_group()
            .replication_group_id(id)
            .apply_immediately(req.bool("apply_immediately").unwrap_or(true));
        set(call)
            .customize()
            .config_override(eventually::<
                aws_sdk_elasticache::operation::modify_replication_group::ModifyReplicationGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifyReplicationGroup", e))?;
        self.wait_available(req, id, "modifying").await
    }

    async fn replicas(&self, req: &Request<'_>, id: &str, nodes: i64) -> Result<(), ProviderError> {
        let replicas = i32::try_from(nodes - 1).unwrap_or(0);
        let have = self
            .group(id)
            .await?
            .map_or(0, |g| g.member_clusters().len());
        let op = if usize::try_from(nodes).unwrap_or(0) > have {
            self.cache
                .increase_replica_count()
                .replication_group_id(id)
                .new_replica_count(replicas)
                .apply_immediately(true)
                .customize()
                .config_override(eventually::<
                    aws_sdk_elasticache::operation::increase_replica_count::IncreaseReplicaCountError,
                >())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| error("IncreaseReplicaCount", e))
        } else {
            self.cache
                .decrease_replica_count()
                .replication_group_id(id)
                .new_replica_count(replicas)
                .apply_immediately(true)
                .customize()
                .config_override(eventually::<
                    aws_sdk_elasticache::operation::decrease_replica_count::DecreaseReplicaCountError,
                >())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| error("DecreaseReplicaCount", e))
        };
        op?;
        self.wait_available(req, id, "changing replicas").await
    }
}

/// The replication group id a resource gets: `<stack>-<env>-<address>` as ElastiCache
/// spells names (lowercase, `-` for `_`).
fn group_id(scope: &Scope, addr: &Addr) -> String {
    group_name(scope, addr)
}

/// What is wrong with `id` as a replication group id, if anything.
fn id_problem(id: &str) -> Option<String> {
    if id.len() > MAX_ID {
        return Some(format!(
            "is {} characters long; AWS allows at most {MAX_ID}",
            id.len()
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || id.contains("--")
        || id.ends_with('-')
        || !id.starts_with(|c: char| c.is_ascii_lowercase())
    {
        return Some(
            "may hold only letters, digits and single hyphens, starting with a letter".into(),
        );
    }
    None
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// A replication group and its primary's cache cluster (engine version, subnet group,
/// security groups and maintenance window are described only there) as a `Live`.
fn to_live(owned: Owned, g: &Group, primary: Option<&CacheCluster>) -> Option<Live> {
    let id = g.replication_group_id()?;
    let node_group = g.node_groups().first();
    let primary_ep = node_group.and_then(|n| n.primary_endpoint());
    let reader_ep = node_group.and_then(|n| n.reader_endpoint());
    let port = primary_ep
        .and_then(|e| e.port())
        .or_else(|| reader_ep.and_then(|e| e.port()));
    let failover = matches!(
        g.automatic_failover(),
        Some(AutomaticFailoverStatus::Enabled | AutomaticFailoverStatus::Enabling)
    );
    let str_v = |s: Option<&str>| s.map(|s| Value::Str(s.to_string()));
    let mut props = Props::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            props.insert(k.to_string(), v);
        }
    };
    put("description", str_v(g.description()));
    put("node_type", str_v(g.cache_node_type()));
    // The members AWS lists: the primary and each replica.
    put(
        "num_cache_clusters",
        Some(Value::Int(
            i64::try_from(g.member_clusters().len()).unwrap_or(0),
        )),
    );
    put("automatic_failover", Some(Value::Bool(failover)));
    put(
        "multi_az",
        Some(Value::Bool(matches!(
            g.multi_az(),
            Some(MultiAzStatus::Enabled)
        ))),
    );
    put(
        "at_rest_encryption",
        Some(Value::Bool(g.at_rest_encryption_enabled().unwrap_or(false))),
    );
    put(
        "transit_encryption",
        Some(Value::Bool(g.transit_encryption_enabled().unwrap_or(false))),
    );
    put(
        "snapshot_retention_limit",
        g.snapshot_retention_limit().map(|n| Value::Int(n.into())),
    );
    put("snapshot_window", str_v(g.snapshot_window()));
    put("port", port.map(|p| Value::Int(p.into())));
    let mut refs = Vec::new();
    if let Some(c) = primary {
        put("engine_version", str_v(c.engine_version()));
        put("subnet_group_name", str_v(c.cache_subnet_group_name()));
        put(
            "maintenance_window",
            str_v(c.preferred_maintenance_window()),
        );
        let sgs: Vec<String> = c
            .security_groups()
            .iter()
            .filter_map(|s| s.security_group_id())
            .map(str::to_string)
            .collect();
        refs.extend(c.cache_subnet_group_name().map(str::to_string));
        refs.extend(sgs.iter().cloned());
        put(
            "security_group_ids",
            Some(Value::List(sgs.into_iter().map(Value::Str).collect())),
        );
    }
    let endpoint = |e: Option<&aws_sdk_elasticache::types::Endpoint>| {
        str_v(e.and_then(|e| e.address())).unwrap_or(Value::Null)
    };
    let owned = owned.or_created(g.replication_group_create_time().and_then(millis));
    let mut l = live(
        owned,
        id,
        props,
        refs,
        &[
            ("arn", str_v(g.arn()).unwrap_or(Value::Null)),
            ("primary_endpoint", endpoint(primary_ep)),
            ("reader_endpoint", endpoint(reader_ep)),
            ("port", port.map_or(Value::Null, |p| Value::Int(p.into()))),
        ],
    );
    // Still being made (an apply stopped while AWS was creating it): the plan says so
    // and the next apply waits for it (`adopt`) instead of making another.
    l.pending = (g.status() == Some("creating")).then(|| "creating".to_string());
    Some(l)
}

/// The name of the snapshot kept when `l` is deleted: `<id>-final-<created>`, so that
/// deletes of two incarnations of one cache never collide.
pub fn final_snapshot_name(l: &Live) -> String {
    match l.created {
        Some(ms) => format!("{}-final-{}", l.id, ms / 1000),
        None => format!("{}-final", l.id),
    }
}

/// True when AWS reports `live_version` for a declared `want` ("7.1" is running "7.1.0").
fn same_version(want: &str, live_version: &str) -> bool {
    live_version == want
        || live_version
            .strip_prefix(want)
            .is_some_and(|rest| rest.starts_with('.'))
}

#[async_trait]
impl Provider for ReplicationGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn timeouts(&self) -> Timeouts {
        let min = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            create: min(60),
            update: min(60),
            delete: min(40),
        }
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let scope = Scope {
            stack: stack.name.clone(),
            env: stack.env.clone(),
            tags: BTreeMap::new(),
            run: String::new(),
            ..std::default::Default::default()
        };
        let id = group_id(&scope, &r.addr);
        if let Some(problem) = id_problem(&id) {
            out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!("replication group `{}` would be named `{id}`, which {problem}", r.addr),
                )
                .hint("the id is <stack>-<env>-<resource name>: give the resource a shorter name of letters, digits and hyphens"),
            );
        }
        let int = |f: &str| r.props.get(f).and_then(Value::as_int);
        let on = |f: &str| r.props.get(f).and_then(Value::as_bool) == Some(true);
        let at = |f: &str| r.field_pos.get(f).cloned().unwrap_or_else(|| r.pos.clone());
        let nodes = int("num_cache_clusters").unwrap_or(1);
        if !(1..=6).contains(&nodes) {
            out.push(
                Diagnostic::new(
                    at("num_cache_clusters"),
                    format!("replication group `{}` has num_cache_clusters {nodes}: a Redis replication group has 1 to 6 nodes (a primary and up to 5 replicas)", r.addr),
                )
                .hint("use 1 for a single node, 2 or more for failover"),
            );
        }
        if on("automatic_failover") && nodes < 2 {
            out.push(
                Diagnostic::new(
                    at("automatic_failover"),
                    format!("replication group `{}` has automatic_failover but {nodes} node: failover needs a replica to promote", r.addr),
                )
                .hint("set num_cache_clusters: 2 or more, or automatic_failover: false"),
            );
        }
        if on("multi_az") && !on("automatic_failover") {
            out.push(
                Diagnostic::new(
                    at("multi_az"),
                    format!(
                        "replication group `{}` has multi_az without automatic_failover",
                        r.addr
                    ),
                )
                .hint("Multi-AZ needs automatic_failover: true"),
            );
        }
        if r.props.contains_key("auth_token_secret_arn")
            && !matches!(r.props.get("auth_token_secret_arn"), Some(Value::Null))
            && !on("transit_encryption")
        {
            out.push(
                Diagnostic::new(
                    at("auth_token_secret_arn"),
                    format!("replication group `{}` has an AUTH token without transit_encryption: AWS accepts a token only over TLS", r.addr),
                )
                .hint("set transit_encryption: true"),
            );
        }
        out
    }

    /// One paginated DescribeReplicationGroups narrowed to this stack's id prefix, one
    /// ListTagsForResource per group left (concurrently), and one paginated
    /// DescribeCacheClusters for what only the members describe.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let groups: Vec<Group> = match only {
            Some(a) => self.group(&group_id(scope, a)).await?.into_iter().collect(),
            None => self
                .cache
                .describe_replication_groups()
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| error("DescribeReplicationGroups", e))?,
        };
        let prefix = name_prefix(scope);
        // A group being deleted is on its way out: it is no longer a live copy.
        let ours: Vec<&Group> = groups
            .iter()
            .filter(|g| {
                g.replication_group_id()
                    .is_some_and(|id| id.starts_with(&prefix))
                    && g.status() != Some("deleting")
            })
            .collect();
        if ours.is_empty() {
            return Ok(Vec::new());
        }
        let tagged = try_join_all(ours.into_iter().map(|g| async move {
            let arn = g.arn().unwrap_or_default();
            let t = self
                .cache
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .map_err(|e| error("ListTagsForResource", e));
            match t {
                Ok(t) => Ok(owned(scope, t.tag_list()).map(|o| (o, g))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .await?;
        let tagged: Vec<_> = tagged.into_iter().flatten().collect();
        if tagged.is_empty() {
            return Ok(Vec::new());
        }
        let clusters: Vec<CacheCluster> = self
            .cache
            .describe_cache_clusters()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeCacheClusters", e))?;
        Ok(tagged
            .into_iter()
            .filter_map(|(o, g)| {
                let primary = g
                    .node_groups()
                    .first()
                    .and_then(|n| {
                        n.node_group_members()
                            .iter()
                            .find(|m| m.current_role() == Some("primary"))
                    })
                    .and_then(|m| m.cache_cluster_id())
                    .or_else(|| g.member_clusters().first().map(String::as_str));
                let cluster =
                    primary.and_then(|p| clusters.iter().find(|c| c.cache_cluster_id() == Some(p)));
                to_live(o, g, cluster)
            })
            .collect())
    }

    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        default_diff(self.schema(), desired, l)
            .into_iter()
            .filter(|c| !NOT_READ.contains(&c.field.as_str()))
            .filter(|c| match (c.field.as_str(), &c.after, &c.before) {
                ("engine_version", Value::Str(want), Value::Str(have)) => !same_version(want, have),
                // AWS reports windows in lower case.
                ("maintenance_window", Value::Str(want), Value::Str(have)) => {
                    !want.eq_ignore_ascii_case(have)
                }
                _ => true,
            })
            .collect()
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let id = group_id(req.scope, req.addr);
        let token = match req.get("auth_token_secret_arn").and_then(Value::as_str) {
            Some(arn) if !arn.is_empty() => Some(self.auth_token(arn).await?),
            _ => None,
        };
        let opt = |f: &str| req.get(f).and_then(Value::as_str).map(str::to_string);
        let int = |f: &str, d: i64| i32::try_from(req.int(f).unwrap_or(d)).unwrap_or_default();
        self.cache
            .create_replication_group()
            .replication_group_id(&id)
            .replication_group_description(req.str("description"))
            .engine("redis")
            .engine_version(req.str("engine_version"))
            .cache_node_type(req.str("node_type"))
            .num_cache_clusters(int("num_cache_clusters", 1))
            .automatic_failover_enabled(req.bool("automatic_failover").unwrap_or(false))
            .multi_az_enabled(req.bool("multi_az").unwrap_or(false))
            .at_rest_encryption_enabled(req.bool("at_rest_encryption").unwrap_or(true))
            .transit_encryption_enabled(req.bool("transit_encryption").unwrap_or(true))
            .cache_subnet_group_name(req.str("subnet_group_name"))
            .set_security_group_ids(Some(strings(req.get("security_group_ids"))))
            .snapshot_retention_limit(int("snapshot_retention_limit", 0))
            .set_snapshot_window(opt("snapshot_window"))
            .set_preferred_maintenance_window(opt("maintenance_window"))
            .port(int("port", 6379))
            .set_auth_token(token)
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_elasticache::operation::create_replication_group::CreateReplicationGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateReplicationGroup", e))?;
        self.wait_available(req, &id, "creating").await?;
        self.reread(req, &id).await
    }

    /// A group found instead of created (an interrupted apply, another run) may still be
    /// creating or modifying: wait for it rather than make a second.
    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        self.wait_available(req, &l.id, "creating").await?;
        self.reread(req, &l.id).await
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let has = |f: &str| changed.iter().any(|c| c == f);
        let want_nodes = req.int("num_cache_clusters").unwrap_or(1);
        let have_nodes = l
            .props
            .get("num_cache_clusters")
            .and_then(Value::as_int)
            .unwrap_or(1);
        // More nodes first (failover may need them), fewer last (after failover is off).
        if has("num_cache_clusters") && want_nodes > have_nodes {
            self.replicas(req, &l.id, want_nodes).await?;
        }
        if has("node_type") {
            // Scaling is a change of its own in AWS.
            let node_type = req.str("node_type").to_string();
            self.modify(req, &l.id, |c| c.cache_node_type(node_type))
                .await?;
        }
        let rest = [
            "description",
            "engine_version",
            "automatic_failover",
            "multi_az",
            "security_group_ids",
            "snapshot_retention_limit",
            "snapshot_window",
            "maintenance_window",
        ];
        if rest.iter().any(|f| has(f)) {
            let opt = |f: &str| {
                has(f)
                    .then(|| req.get(f).and_then(Value::as_str).map(str::to_string))
                    .flatten()
            };
            let bool_if = |f: &str| has(f).then(|| req.bool(f).unwrap_or(false));
            let sgs = has("security_group_ids").then(|| strings(req.get("security_group_ids")));
            let retention = has("snapshot_retention_limit").then(|| {
                i32::try_from(req.int("snapshot_retention_limit").unwrap_or(0)).unwrap_or(0)
            });
            let (desc, version, window, maint) = (
                opt("description"),
                opt("engine_version"),
                opt("snapshot_window"),
                opt("maintenance_window"),
            );
            let (failover, multi_az) = (bool_if("automatic_failover"), bool_if("multi_az"));
            self.modify(req, &l.id, |c| {
                c.set_replication_group_description(desc)
                    .set_engine_version(version)
                    .set_automatic_failover_enabled(failover)
                    .set_multi_az_enabled(multi_az)
                    .set_security_group_ids(sgs)
                    .set_snapshot_retention_limit(retention)
                    .set_snapshot_window(window)
                    .set_preferred_maintenance_window(maint)
            })
            .await?;
        }
        if has("num_cache_clusters") && want_nodes < have_nodes {
            self.replicas(req, &l.id, want_nodes).await?;
        }
        self.reread(req, &l.id).await
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.cache, l, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let keep = req.bool("final_snapshot").unwrap_or(true);
        let snapshot = final_snapshot_name(l);
        let send = || {
            self.cache
                .delete_replication_group()
                .replication_group_id(&l.id)
                .set_final_snapshot_identifier(keep.then(|| snapshot.clone()))
                .send()
        };
        let mut waited = false;
        loop {
            match send().await.map_err(|e| error("DeleteReplicationGroup", e)) {
                Ok(_) => break,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) if e.kind == ErrorKind::InUse => {
                    match self.group(&l.id).await?.as_ref().and_then(|g| g.status()) {
                        None => return Ok(()),
                        // A repeat of a delete already under way: wait for it like the first.
                        Some("deleting") => break,
                        // Busy (modifying, snapshotting): let it finish, then delete once more.
                        Some(_) if !waited => {
                            self.wait_available(req, &l.id, "finishing a change before deletion")
                                .await?;
                            waited = true;
                        }
                        Some(_) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if keep {
            (req.note)(format!("keeping final snapshot {snapshot}"));
        }
        wait::until(req, "deleting", || async {
            Ok(match self.group(&l.id).await? {
                None => Poll::Ready(()),
                Some(g) => Poll::Pending(g.status().unwrap_or("deleting").to_string()),
            })
        })
        .await
    }

    /// A delete takes a final snapshot unless the stack declares `final_snapshot: false`.
    fn data_loss(&self, l: &Live, declared: Option<&Props>) -> Option<String> {
        let keep = declared
            .and_then(|d| d.get("final_snapshot"))
            .and_then(Value::as_bool)
            != Some(false);
        Some(if keep {
            format!(
                "the cache's data is lost; final snapshot {} is kept",
                final_snapshot_name(l)
            )
        } else {
            "the cache's data is lost: no final snapshot (final_snapshot: false)".to_string()
        })
    }
}
