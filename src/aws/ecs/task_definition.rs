//! `aws_ecs_task_definition`: a Fargate task definition family
//! (`<stack>-<env>-<address>`). The live resource is the family's newest ACTIVE
//! revision; a change registers a new revision (its `arn` is renewed, so the services
//! that name it are updated to it) and keeps the previous one ACTIVE, for the
//! deployment circuit breaker to roll back to; older ones are deregistered and deleted.
//! Only the declared fields are compared: AWS fills in many defaults.

use super::{deleted, error, eventually, once, owned, retag, tags};
use crate::aws::{live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, CpuArchitecture, HealthCheck, KeyValuePair,
    LogConfiguration, LogDriver, NetworkMode, OsFamily, PortMapping, RuntimePlatform, Secret,
    SortOrder, TaskDefinition as EcsTaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
    TransportProtocol,
};
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

static HEALTH_CHECK: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "command",
            Kind::List(&Kind::Str),
            "e.g. [CMD-SHELL, \"curl -f http://localhost:8080/actuator/health || exit 1\"]",
        )
    },
    Field {
        default: Some(Default::Int(30)),
        ..Field::new("interval", Kind::Int, "seconds between checks (5-300)")
    },
    Field {
        default: Some(Default::Int(5)),
        ..Field::new("timeout", Kind::Int, "seconds a check may take (2-60)")
    },
    Field {
        default: Some(Default::Int(3)),
        ..Field::new(
            "retries",
            Kind::Int,
            "failures before the container is unhealthy (1-10)",
        )
    },
    Field {
        default: Some(Default::Int(0)),
        ..Field::new(
            "start_period",
            Kind::Int,
            "seconds of grace at start-up during which failures do not count (0-300)",
        )
    },
];

static CONTAINER: &[Field] = &[
    Field {
        required: true,
        ..Field::new("name", Kind::Str, "the container's name (a service's load balancer names it)")
    },
    Field {
        required: true,
        ..Field::new(
            "image",
            Kind::Str,
            "repository URI and tag, e.g. ${backend_repo.repository_url}:${param.backend_tag}",
        )
    },
    Field::new("port", Kind::Int, "the TCP port the container listens on"),
    Field::new(
        "environment",
        Kind::Document,
        "environment variables, a mapping NAME: value (never secrets: use `secrets`)",
    ),
    Field::new(
        "secrets",
        Kind::Document,
        "environment variables injected from Secrets Manager at start: NAME: secret ARN (optionally with `:json-key::`)",
    ),
    Field::new("log_group", Kind::Str, "CloudWatch log group for the awslogs driver"),
    Field::new("log_region", Kind::Str, "the log group's region (default: the stack's)"),
    Field {
        default: Some(Default::Str("ecs")),
        ..Field::new("log_stream_prefix", Kind::Str, "awslogs stream prefix")
    },
    Field::new("health_check", Kind::Object(HEALTH_CHECK), "container health check"),
    Field {
        default: Some(Default::Bool(true)),
        ..Field::new("essential", Kind::Bool, "the task stops when this container stops")
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_ecs_task_definition",
    doc: "A Fargate task definition family; a change registers a new revision.",
    fields: &[
        Field {
            required: true,
            ..Field::new(
                "cpu",
                Kind::Int,
                "CPU units for the task: 256, 512, 1024, 2048, 4096...",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "memory",
                Kind::Int,
                "MiB for the task, valid for the CPU (512-30720)",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "execution_role_arn",
                Kind::Str,
                "role ECS uses to pull the image, read the secrets and write the logs",
            )
        },
        Field::new(
            "task_role_arn",
            Kind::Str,
            "role the application's code runs as",
        ),
        Field {
            default: Some(Default::Str("X86_64")),
            ..Field::new(
                "cpu_architecture",
                Kind::OneOf(&["X86_64", "ARM64"]),
                "the image's CPU architecture",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "containers",
                Kind::List(&Kind::Object(CONTAINER)),
                "the task's containers",
            )
        },
    ],
    attributes: &["id", "arn", "family", "revision"],
};

pub struct TaskDefinition {
    ecs: aws_sdk_ecs::Client,
    /// The region logs go to when a container does not say.
    region: String,
}

impl TaskDefinition {
    pub fn new(c: &Clients) -> Self {
        TaskDefinition {
            ecs: c.ecs.clone(),
            region: c
                .ecs
                .config()
                .region()
                .map(|r| r.to_string())
                .unwrap_or_default(),
        }
    }

    /// The newest ACTIVE revision of `family` with its tags, if it has one.
    async fn latest(
        &self,
        family: &str,
    ) -> Result<Option<(EcsTaskDefinition, Vec<aws_sdk_ecs::types::Tag>)>, ProviderError> {
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out
                .task_definition()
                .filter(|t| t.status() == Some(&TaskDefinitionStatus::Active))
                .map(|t| (t.clone(), out.tags().to_vec()))),
            // A family whose every revision is deregistered: AWS answers ClientException
            // ("Unable to describe task definition").
            Err(e) => {
                let e = error("DescribeTaskDefinition", e);
                if e.is_not_found() || e.code.as_deref() == Some("ClientException") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// The revision ARNs of `family` with `status`, newest first.
    async fn revisions(
        &self,
        family: &str,
        status: TaskDefinitionStatus,
    ) -> Result<Vec<String>, ProviderError> {
        let arns: Vec<String> = self
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(status)
            .sort(SortOrder::Desc)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListTaskDefinitions", e))?;
        // `familyPrefix` is a prefix: `web` also lists `web-admin`.
        let mut arns: Vec<String> = arns
            .into_iter()
            .filter(|a| family_of(a) == family)
            .collect();
        arns.sort_by_key(|a| std::cmp::Reverse(revision_of(a)));
        Ok(arns)
    }

    /// Deregister the ACTIVE revisions `arns` and delete them for good, with the
    /// INACTIVE ones `inactive` (DeleteTaskDefinitions takes 10 a call).
    async fn retire(&self, arns: &[String], inactive: &[String]) -> Result<(), ProviderError> {
        try_join_all(arns.iter().map(|arn| async move {
            deleted(
                "DeregisterTaskDefinition",
                self.ecs
                    .deregister_task_definition()
                    .task_definition(arn)
                    .customize()
                    .config_override(eventually::<
                        aws_sdk_ecs::operation::deregister_task_definition::DeregisterTaskDefinitionError,
                    >())
                    .send()
                    .await,
            )
        }))
        .await?;
        let all: Vec<String> = arns.iter().chain(inactive).cloned().collect();
        for chunk in all.chunks(10) {
            deleted(
                "DeleteTaskDefinitions",
                self.ecs
                    .delete_task_definitions()
                    .set_task_definitions(Some(chunk.to_vec()))
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }

    async fn register(&self, req: &Request<'_>, family: &str) -> Result<Live, ProviderError> {
        let containers = list(req.props, "containers")
            .iter()
            .map(|c| container(c, &self.region))
            .collect::<Result<Vec<_>, _>>()?;
        let arch = match req.str("cpu_architecture") {
            "ARM64" => CpuArchitecture::Arm64,
            _ => CpuArchitecture::X8664,
        };
        let out = self
            .ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(req.int("cpu").unwrap_or_default().to_string())
            .memory(req.int("memory").unwrap_or_default().to_string())
            .execution_role_arn(req.str("execution_role_arn"))
            .set_task_role_arn(Some(req.str("task_role_arn").to_string()).filter(|s| !s.is_empty()))
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(arch)
                    .operating_system_family(OsFamily::Linux)
                    .build(),
            )
            .set_container_definitions(Some(containers))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionError,
            >())
            .send()
            .await
            .map_err(|e| error("RegisterTaskDefinition", e))?;
        let td = out
            .task_definition()
            .cloned()
            .unwrap_or_else(|| EcsTaskDefinition::builder().build());
        Ok(to_live(Owned::made(req), &td, &self.region))
    }
}

/// The memory sizes (MiB) Fargate runs with `cpu` units, if `cpu` is a Fargate size.
pub fn fargate_memory(cpu: i64) -> Option<Vec<i64>> {
    let gib = |from: i64, to: i64, step: i64| {
        (from..=to)
            .step_by(step as usize)
            .map(|g| g * 1024)
            .collect()
    };
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1),
        1024 => gib(2, 8, 1),
        2048 => gib(4, 16, 1),
        4096 => gib(8, 30, 1),
        8192 => gib(16, 60, 4),
        16384 => gib(32, 120, 8),
        _ => return None,
    })
}

/// The family of a revision ARN (`...:task-definition/<family>:<revision>`).
pub fn family_of(arn: &str) -> &str {
    let last = arn.rsplit('/').next().unwrap_or(arn);
    last.rsplit_once(':').map(|(f, _)| f).unwrap_or(last)
}

pub fn revision_of(arn: &str) -> i64 {
    arn.rsplit_once(':')
        .and_then(|(_, r)| r.parse().ok())
        .unwrap_or_default()
}

fn list<'a>(props: &'a Props, field: &str) -> &'a [Value] {
    props
        .get(field)
        .and_then(Value::as_list)
        .unwrap_or_default()
}

fn map_of(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Map(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// An environment value as ECS stores it: a string.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn field<'a>(m: &'a BTreeMap<String, Value>, k: &str) -> Option<&'a Value> {
    m.get(k).filter(|v| !matches!(v, Value::Null))
}

/// One declared container as ECS's container definition.
fn container(v: &Value, region: &str) -> Result<ContainerDefinition, ProviderError> {
    let Value::Map(m) = v else {
        return Err(ProviderError::new(
            "RegisterTaskDefinition",
            "a container must be a mapping",
        ));
    };
    let s = |k: &str| field(m, k).and_then(Value::as_str).map(str::to_string);
    let i = |k: &str| {
        field(m, k)
            .and_then(Value::as_int)
            .and_then(|i| i32::try_from(i).ok())
    };
    let name = s("name").unwrap_or_default();
    let mut b = ContainerDefinition::builder()
        .name(&name)
        .set_image(s("image"))
        .essential(
            field(m, "essential")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        );
    if let Some(port) = i("port") {
        b = b.port_mappings(
            PortMapping::builder()
                .container_port(port)
                .protocol(TransportProtocol::Tcp)
                .build(),
        );
    }
    for (k, v) in map_of(field(m, "environment")) {
        b = b.environment(KeyValuePair::builder().name(k).value(v).build());
    }
    for (k, v) in map_of(field(m, "secrets")) {
        let secret = Secret::builder()
            .name(k)
            .value_from(v)
            .build()
            .map_err(|e| ProviderError::new("RegisterTaskDefinition", e.to_string()))?;
        b = b.secrets(secret);
    }
    if let Some(group) = s("log_group") {
        let logs = LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .options("awslogs-group", group)
            .options(
                "awslogs-region",
                s("log_region").unwrap_or_else(|| region.to_string()),
            )
            .options(
                "awslogs-stream-prefix",
                s("log_stream_prefix").unwrap_or_else(|| "ecs".into()),
            )
            .build()
            .map_err(|e| ProviderError::new("RegisterTaskDefinition", e.to_string()))?;
        b = b.log_configuration(logs);
    }
    if let Some(Value::Map(h)) = field(m, "health_check") {
        let hi = |k: &str| {
            field(h, k)
                .and_then(Value::as_int)
                .and_then(|i| i32::try_from(i).ok())
        };
        let command = field(h, "command")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect();
        let check = HealthCheck::builder()
            .set_command(Some(command))
            .set_interval(hi("interval"))
            .set_timeout(hi("timeout"))
            .set_retries(hi("retries"))
            .set_start_period(hi("start_period"))
            .build()
            .map_err(|e| ProviderError::new("RegisterTaskDefinition", e.to_string()))?;
        b = b.health_check(check);
    }
    Ok(b.build())
}

/// A container definition in the stack's vocabulary: every field this type knows.
fn container_props(c: &ContainerDefinition) -> Value {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("name", Value::Str(c.name().unwrap_or_default().to_string()));
    put(
        "image",
        Value::Str(c.image().unwrap_or_default().to_string()),
    );
    if let Some(p) = c.port_mappings().first().and_then(|p| p.container_port()) {
        put("port", Value::Int(p.into()));
    }
    let env: BTreeMap<String, Value> = c
        .environment()
        .iter()
        .filter_map(|kv| Some((kv.name()?.to_string(), Value::Str(kv.value()?.to_string()))))
        .collect();
    if !env.is_empty() {
        put("environment", Value::Map(env));
    }
    let secrets: BTreeMap<String, Value> = c
        .secrets()
        .iter()
        .map(|s| (s.name().to_string(), Value::Str(s.value_from().to_string())))
        .collect();
    if !secrets.is_empty() {
        put("secrets", Value::Map(secrets));
    }
    if let Some(l) = c
        .log_configuration()
        .filter(|l| l.log_driver() == &LogDriver::Awslogs)
    {
        let opt = |k: &str| {
            l.options()
                .and_then(|o| o.get(k))
                .map(|v| Value::Str(v.clone()))
        };
        for (k, o) in [
            ("log_group", "awslogs-group"),
            ("log_region", "awslogs-region"),
            ("log_stream_prefix", "awslogs-stream-prefix"),
        ] {
            if let Some(v) = opt(o) {
                put(k, v);
            }
        }
    }
    if let Some(h) = c.health_check() {
        let mut hm = BTreeMap::new();
        hm.insert(
            "command".to_string(),
            Value::List(h.command().iter().map(|c| Value::Str(c.clone())).collect()),
        );
        for (k, v) in [
            ("interval", h.interval()),
            ("timeout", h.timeout()),
            ("retries", h.retries()),
            ("start_period", h.start_period()),
        ] {
            if let Some(v) = v {
                hm.insert(k.to_string(), Value::Int(v.into()));
            }
        }
        put("health_check", Value::Map(hm));
    }
    put("essential", Value::Bool(c.essential().unwrap_or(true)));
    Value::Map(m)
}

fn props_of(t: &EcsTaskDefinition) -> Props {
    let int = |s: Option<&str>| s.and_then(|s| s.parse::<i64>().ok()).map(Value::Int);
    let arch = t
        .runtime_platform()
        .and_then(|p| p.cpu_architecture())
        .map(|a| a.as_str().to_string())
        .unwrap_or_else(|| "X86_64".into());
    let mut p = Props::from([
        ("cpu".to_string(), int(t.cpu()).unwrap_or(Value::Null)),
        ("memory".to_string(), int(t.memory()).unwrap_or(Value::Null)),
        (
            "execution_role_arn".to_string(),
            crate::aws::str_value(t.execution_role_arn()),
        ),
        ("cpu_architecture".to_string(), Value::Str(arch)),
        (
            "containers".to_string(),
            Value::List(
                t.container_definitions()
                    .iter()
                    .map(container_props)
                    .collect(),
            ),
        ),
    ]);
    if let Some(r) = t.task_role_arn() {
        p.insert("task_role_arn".into(), Value::Str(r.to_string()));
    }
    p
}

/// The ARN of the secret a `valueFrom` names (without a `:json-key:version-stage:version-id` tail).
fn secret_arn(value_from: &str) -> String {
    value_from.split(':').take(7).collect::<Vec<_>>().join(":")
}

/// The roles and secrets the task definition names (and its log groups, by name).
fn refs_of(props: &Props) -> Vec<String> {
    let mut refs: Vec<String> = ["execution_role_arn", "task_role_arn"]
        .iter()
        .filter_map(|f| props.get(*f).and_then(Value::as_str).map(str::to_string))
        .collect();
    for c in list(props, "containers") {
        if let Value::Map(m) = c {
            refs.extend(map_of(m.get("secrets")).values().map(|v| secret_arn(v)));
            if let Some(g) = field(m, "log_group").and_then(Value::as_str) {
                refs.push(g.to_string());
            }
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

fn to_live(owned: Owned, t: &EcsTaskDefinition, _region: &str) -> Live {
    let family = t.family().unwrap_or_default();
    let props = props_of(t);
    let refs = refs_of(&props);
    live(
        owned,
        family,
        props,
        refs,
        &[
            (
                "arn",
                Value::Str(t.task_definition_arn().unwrap_or_default().to_string()),
            ),
            ("family", Value::Str(family.to_string())),
            ("revision", Value::Int(t.revision().into())),
        ],
    )
}

/// A declared container as it compares: environment values as the strings ECS keeps.
fn normalized(c: &Value) -> Value {
    let Value::Map(m) = c else { return c.clone() };
    let mut m: BTreeMap<String, Value> = m
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Null))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(Value::Map(env)) = m.get("environment") {
        if !env.values().any(Value::has_unknown) {
            let env = map_of(Some(&Value::Map(env.clone())))
                .into_iter()
                .map(|(k, v)| (k, Value::Str(v)))
                .collect();
            m.insert("environment".into(), Value::Map(env));
        }
    }
    // An empty mapping is no variables at all, as ECS reports it.
    for k in ["environment", "secrets"] {
        if matches!(m.get(k), Some(Value::Map(e)) if e.is_empty()) {
            m.remove(k);
        }
    }
    Value::Map(m)
}

/// `have` reduced to the keys `want` declares (nested in `health_check` too).
fn projected(want: &Value, have: &Value) -> Value {
    match (want, have) {
        (Value::Map(w), Value::Map(h)) => Value::Map(
            w.iter()
                .filter_map(|(k, wv)| {
                    let hv = h.get(k)?;
                    let hv = if k == "health_check" {
                        projected(wv, hv)
                    } else {
                        hv.clone()
                    };
                    Some((k.clone(), hv))
                })
                .collect(),
        ),
        _ => have.clone(),
    }
}

/// Whether the declared containers differ from the live ones, compared by name on
/// the declared keys only; and the live containers as they compare.
pub fn containers_differ(want: &[Value], have: &[Value]) -> Option<(Value, Value)> {
    let name = |v: &Value| match v {
        Value::Map(m) => m.get("name").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    let want: Vec<Value> = want.iter().map(normalized).collect();
    let by_name: BTreeMap<String, &Value> =
        have.iter().filter_map(|h| Some((name(h)?, h))).collect();
    let seen: Vec<Value> = want
        .iter()
        .filter_map(|w| Some(projected(w, by_name.get(&name(w)?)?)))
        .collect();
    let differs = want.len() != have.len()
        || seen.len() != want.len()
        || want.iter().any(Value::has_unknown)
        || want != seen;
    if !differs {
        return None;
    }
    if want.len() != have.len() || seen.len() != want.len() {
        return Some((Value::List(have.to_vec()), Value::List(want)));
    }
    // Containers by name with only what changes in each, as the plan shows them.
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (w, h) in want.iter().zip(&seen) {
        if let (Value::Map(wm), Value::Map(hm)) = (w, h) {
            if w == h && !w.has_unknown() {
                continue;
            }
            let keep =
                |k: &String, v: &Value| k == "name" || hm.get(k) != Some(v) || v.has_unknown();
            let b: BTreeMap<String, Value> = hm
                .iter()
                .filter(|(k, _)| *k == "name" || wm.get(*k).is_some_and(|v| keep(k, v)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let a: BTreeMap<String, Value> = wm
                .iter()
                .filter(|(k, v)| keep(k, v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            before.push(Value::Map(b));
            after.push(Value::Map(a));
        }
    }
    Some((Value::List(before), Value::List(after)))
}

#[async_trait]
impl Provider for TaskDefinition {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// ListTaskDefinitionFamilies (ACTIVE, the stack's prefix), then one
    /// DescribeTaskDefinition with tags per family (ECS has no batch), concurrently.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let families: Vec<String> = match only {
            Some(a) => vec![scope.name_for(a)],
            None => self
                .ecs
                .list_task_definition_families()
                .family_prefix(super::name_prefix(scope))
                .status(aws_sdk_ecs::types::TaskDefinitionFamilyStatus::Active)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| error("ListTaskDefinitionFamilies", e))?,
        };
        let found = try_join_all(families.iter().map(|f| async move {
            Ok::<_, ProviderError>(self.latest(f).await?.and_then(|(t, tags)| {
                let o = owned(scope, &tags)?;
                let o = o.or_created(t.registered_at().and_then(crate::aws::millis));
                Some(to_live(o, &t, &self.region))
            }))
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut rest = desired.clone();
        let containers = rest.remove("containers");
        let mut out = default_diff(&SCHEMA, &rest, live);
        if let Some(want) = containers.as_ref().and_then(Value::as_list) {
            let have = list(&live.props, "containers");
            if let Some((before, after)) = containers_differ(want, have) {
                out.push(Change {
                    field: "containers".into(),
                    before,
                    after,
                    forces_replace: false,
                    why: None,
                });
            }
        } else if matches!(containers, Some(Value::Unknown | Value::Ref(_))) {
            out.push(Change {
                field: "containers".into(),
                before: live.props.get("containers").cloned().unwrap_or(Value::Null),
                after: Value::Unknown,
                forces_replace: false,
                why: None,
            });
        }
        out
    }

    /// Fargate's CPU and memory pairs, unique container names, and secrets named by
    /// ARN (a literal that is not an ARN would be a secret's value in the stack).
    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let at = |f: &str| r.field_pos.get(f).cloned().unwrap_or_else(|| r.pos.clone());
        let int = |f: &str| r.props.get(f).and_then(Value::as_int);
        if let (Some(cpu), Some(memory)) = (int("cpu"), int("memory")) {
            if let Some(valid) = fargate_memory(cpu) {
                if !valid.contains(&memory) {
                    out.push(
                        Diagnostic::new(
                            at("memory"),
                            format!("task definition `{}`: Fargate does not run {cpu} CPU units with {memory} MiB", r.addr),
                        )
                        .hint(format!(
                            "with cpu {cpu}, memory is one of {}",
                            valid.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                        )),
                    );
                }
            } else {
                out.push(
                    Diagnostic::new(
                        at("cpu"),
                        format!(
                            "task definition `{}`: Fargate has no task size of {cpu} CPU units",
                            r.addr
                        ),
                    )
                    .hint("cpu is one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
                );
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, c) in list(&r.props, "containers").iter().enumerate() {
            let Value::Map(m) = c else { continue };
            let here = |f: &str| {
                r.field_pos
                    .get(&format!("containers[{i}].{f}"))
                    .or_else(|| r.field_pos.get(&format!("containers[{i}]")))
                    .cloned()
                    .unwrap_or_else(|| at("containers"))
            };
            if let Some(n) = m.get("name").and_then(Value::as_str) {
                if !names.insert(n.to_string()) {
                    out.push(Diagnostic::new(
                        here("name"),
                        format!(
                            "task definition `{}` has two containers named `{n}`",
                            r.addr
                        ),
                    ));
                }
            }
            if let Some(Value::Map(secrets)) = m.get("secrets") {
                for (k, v) in secrets {
                    if matches!(v, Value::Str(s) if !s.starts_with("arn:")) {
                        out.push(
                            Diagnostic::new(
                                here("secrets"),
                                format!("task definition `{}`: secret `{k}` must name a Secrets Manager secret by ARN, not hold a value", r.addr),
                            )
                            .hint("write its ARN, e.g. ${db_password.arn}; values in the stack end up in plans and in the task definition"),
                        );
                    }
                }
            }
        }
        out.extend(secret_access(r, stack));
        out.extend(undeclared_secrets(r));
        out
    }

    fn renewed_on_update(&self) -> &'static [&'static str] {
        &["arn", "revision"]
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        self.register(req, &req.scope.name_for(req.addr)).await
    }

    /// Registers a new revision; keeps it and the one before it ACTIVE (a service rolls
    /// back to that one), deregisters and deletes the older ones.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let mut next = self.register(req, &l.id).await?;
        next.created = l.created;
        let active = self.revisions(&l.id, TaskDefinitionStatus::Active).await?;
        let current = revision_of(
            next.outputs
                .get("arn")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
        let old: Vec<String> = active
            .into_iter()
            .filter(|a| revision_of(a) < current)
            .skip(1)
            .collect();
        if !old.is_empty() {
            (req.note)(format!("deregistering {} old revision(s)", old.len()));
            self.retire(&old, &[]).await?;
        }
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ecs, l, delta).await
    }

    /// Deregisters every ACTIVE revision of the family and deletes them (and the
    /// INACTIVE ones left) with DeleteTaskDefinitions.
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let active = self.revisions(&l.id, TaskDefinitionStatus::Active).await?;
        let inactive = self
            .revisions(&l.id, TaskDefinitionStatus::Inactive)
            .await?;
        self.retire(&active, &inactive).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn containers_compare_on_declared_keys_by_name() {
        let live = vec![c(&[
            ("name", Value::Str("api".into())),
            ("image", Value::Str("repo:1".into())),
            ("essential", Value::Bool(true)),
            ("log_region", Value::Str("eu-west-2".into())),
            ("environment", c(&[("PORT", Value::Str("8080".into()))])),
        ])];
        let want = vec![c(&[
            ("name", Value::Str("api".into())),
            ("image", Value::Str("repo:1".into())),
            ("essential", Value::Bool(true)),
            ("environment", c(&[("PORT", Value::Int(8080))])),
        ])];
        assert_eq!(containers_differ(&want, &live), None);
        let newer = vec![c(&[
            ("name", Value::Str("api".into())),
            ("image", Value::Str("repo:2".into())),
        ])];
        assert!(containers_differ(&newer, &live).is_some());
    }

    #[test]
    fn revision_arns_split_into_family_and_revision() {
        let arn = "arn:aws:ecs:eu-west-2:1:task-definition/bandup-dev-api:12";
        assert_eq!(family_of(arn), "bandup-dev-api");
        assert_eq!(revision_of(arn), 12);
        assert_eq!(
            secret_arn("arn:aws:secretsmanager:eu-west-2:1:secret:db-AbCdEf:password::"),
            "arn:aws:secretsmanager:eu-west-2:1:secret:db-AbCdEf"
        );
    }
}

/// Every secret a container names must be one the stack declares (a reference such as
/// `${redis_auth.arn}` or `${db.master_secret_arn}`): a secret written out as an ARN is
/// one nobody here creates, rotates or deletes, and a typo in it only shows when a task
/// fails to start.
fn undeclared_secrets(r: &Resource) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, c) in list(&r.props, "containers").iter().enumerate() {
        let Some(Value::Map(secrets)) = c.as_map().and_then(|m| m.get("secrets")) else {
            continue;
        };
        for (name, v) in secrets {
            // A value that is no ARN at all is refused on its own, as a secret written
            // into the stack.
            if let Some(arn) = v.as_str().filter(|a| a.starts_with("arn:")) {
                let at = r
                    .field_pos
                    .get(&format!("containers[{i}].secrets.{name}"))
                    .or_else(|| r.field_pos.get("containers"))
                    .cloned()
                    .unwrap_or_else(|| r.pos.clone());
                out.push(
                    Diagnostic::new(
                        at,
                        format!(
                            "task definition `{}`: the secret of `{name}` ({arn}) is not one this stack declares",
                            r.addr
                        ),
                    )
                    .hint("declare it as an aws_secretsmanager_secret and refer to it (`${name.arn}`); an operator fills in its value"),
                );
            }
        }
    }
    out
}

/// The secrets a task definition's containers name must be readable by its execution role
/// (ECS injects them with that role), and that role should read no others: checked
/// where both are in the stack, by reference (`${redis_auth.arn}`) or literal ARN.
fn secret_access(r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
    let Some(Value::Ref(role_ref)) = r.props.get("execution_role_arn") else {
        return Vec::new();
    };
    let Some(role) = role_ref.targets.first().and_then(|a| stack.resource(a)) else {
        return Vec::new();
    };
    if role.type_name != "aws_iam_role" {
        return Vec::new();
    }
    let readable = readable_secrets(&role.props);
    let mut out = Vec::new();
    let mut named: Vec<Target> = Vec::new();
    for (i, c) in list(&r.props, "containers").iter().enumerate() {
        let Some(Value::Map(secrets)) = c.as_map().and_then(|m| m.get("secrets")) else {
            continue;
        };
        let at = r
            .field_pos
            .get(&format!("containers[{i}].secrets"))
            .or_else(|| r.field_pos.get("containers"))
            .cloned()
            .unwrap_or_else(|| r.pos.clone());
        for (name, v) in secrets {
            let Some(t) = target_of(v) else { continue };
            if !readable.iter().any(|(x, _)| x.covers(&t)) {
                let at = r
                    .field_pos
                    .get(&format!("containers[{i}].secrets.{name}"))
                    .cloned()
                    .unwrap_or_else(|| at.clone());
                out.push(
                    Diagnostic::new(
                        at,
                        format!(
                            "task definition `{}`: its execution role `{}` may not read the secret of `{name}` ({t}), so ECS could not start the task",
                            r.addr, role.addr
                        ),
                    )
                    .hint(format!(
                        "allow secretsmanager:GetSecretValue on {t} in a policy of `{}`",
                        role.addr
                    )),
                );
            }
            named.push(t);
        }
    }
    // Least privilege: what the role may read that no container of any task definition
    // run with it names.
    let users: Vec<&Resource> = stack
        .resources
        .iter()
        .filter(|x| x.type_name == r.type_name)
        .filter(|x| matches!(x.props.get("execution_role_arn"), Some(Value::Ref(q)) if q.targets == role_ref.targets))
        .collect();
    let first_user = users.first().map(|u| &u.addr);
    if first_user == Some(&r.addr) {
        let all_named: Vec<Target> = users
            .iter()
            .flat_map(|u| list(&u.props, "containers"))
            .filter_map(|c| c.as_map().and_then(|m| m.get("secrets")))
            .filter_map(Value::as_map)
            .flat_map(|m| m.values().filter_map(target_of))
            .collect();
        for (t, policy) in readable.iter().filter(|(t, _)| !matches!(t, Target::Any)) {
            if !all_named.iter().any(|n| t.covers(n)) {
                let at = role
                    .field_pos
                    .get(&format!("policies.{policy}"))
                    .cloned()
                    .unwrap_or_else(|| role.pos.clone());
                out.push(Diagnostic::warning(
                    at,
                    format!(
                        "`{}` may read the secret {t}, which no container it starts names: an execution role should read exactly the secrets its containers name",
                        role.addr
                    ),
                ));
            }
        }
    }
    out
}

/// A secret as the stack names it.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// `${name.attr}` (a JSON key after it does not matter).
    Ref(Addr, String),
    /// A literal ARN, without a JSON key.
    Arn(String),
    /// `*`.
    Any,
}

impl Target {
    fn covers(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Any, _) => true,
            (Target::Arn(a), Target::Arn(b)) => {
                b == a || a.strip_suffix('*').is_some_and(|p| b.starts_with(p))
            }
            (a, b) => a == b,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Ref(a, attr) => write!(f, "${{{a}.{attr}}}"),
            Target::Arn(a) => f.write_str(a),
            Target::Any => f.write_str("*"),
        }
    }
}

/// The secret a container's `secrets` value names.
fn target_of(v: &Value) -> Option<Target> {
    match v {
        Value::Ref(r) => Some(Target::Ref(r.targets.first()?.clone(), r.attr.clone())),
        Value::Template(t) => t.parts.iter().find_map(|p| match p {
            crate::model::TemplatePart::Ref(r) => {
                Some(Target::Ref(r.targets.first()?.clone(), r.attr.clone()))
            }
            crate::model::TemplatePart::Lit(_) => None,
        }),
        Value::Str(s) if s.starts_with("arn:") => {
            // arn:aws:secretsmanager:region:account:secret:name[:json-key:stage:version]
            let base: Vec<&str> = s.splitn(8, ':').take(7).collect();
            Some(Target::Arn(base.join(":")))
        }
        _ => None,
    }
}

/// What a role's inline policies let it read with GetSecretValue, and in which policy.
fn readable_secrets(role: &Props) -> Vec<(Target, String)> {
    let mut out = Vec::new();
    let Some(Value::Map(policies)) = role.get("policies") else {
        return out;
    };
    for (name, policy) in policies {
        let statements = match policy.as_map().and_then(|p| p.get("Statement")) {
            Some(Value::List(l)) => l.clone(),
            Some(one) => vec![one.clone()],
            None => continue,
        };
        for st in statements.iter().filter_map(Value::as_map) {
            if st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let actions = strings(st.get("Action"));
            let reads = actions.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a == "*" || a == "secretsmanager:*" || a == "secretsmanager:getsecretvalue"
            });
            if !reads {
                continue;
            }
            let resources = match st.get("Resource") {
                Some(Value::List(l)) => l.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            };
            for res in &resources {
                let t = match res {
                    Value::Str(s) if s == "*" => Some(Target::Any),
                    other => target_of(other),
                };
                out.extend(t.map(|t| (t, name.clone())));
            }
        }
    }
    out
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::List(l)) => l
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}
