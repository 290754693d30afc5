//! `aws_ecs_service`: a Fargate service (`<stack>-<env>-<address>`) in awsvpc mode,
//! registered with its target group, with a deployment circuit breaker that rolls back.
//! Creates and updates wait (bounded) until the PRIMARY deployment is COMPLETED; a
//! rolled-back deployment fails the resource with the service's recent events. Deletes
//! force the service down and wait until it is INACTIVE, since its target group, task
//! definition and log group can go only after.

use super::{arn_name, deleted, error, eventually, once, owned, owned_clusters, retag, tags};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta, Timeouts,
};
use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    DeploymentRolloutState, LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags,
    Service as EcsService, ServiceField,
};
use std::time::Duration;

static LOAD_BALANCER: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "target_group_arn",
            Kind::Str,
            "the target group the tasks register with",
        )
    },
    Field {
        required: true,
        ..Field::new(
            "container_name",
            Kind::Str,
            "the container that receives the traffic",
        )
    },
    Field {
        required: true,
        ..Field::new("container_port", Kind::Int, "its port")
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_ecs_service",
    doc: "A Fargate service: keeps its task definition's tasks running behind a target group.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("ECS cannot move a service to another cluster"),
            ..Field::new("cluster", Kind::Str, "the cluster, e.g. ${cluster.arn}")
        },
        Field {
            required: true,
            ..Field::new(
                "task_definition",
                Kind::Str,
                "the task definition revision, e.g. ${api_task.arn}",
            )
        },
        Field {
            default: Some(Default::Str("FARGATE")),
            force_new: true,
            replace_why: Some("ECS cannot change a service's launch type"),
            ..Field::new("launch_type", Kind::OneOf(&["FARGATE", "EC2"]), "where the tasks run")
        },
        Field {
            default: Some(Default::Int(1)),
            ..Field::new("desired_count", Kind::Int, "how many tasks to keep running")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "desired_count_managed_by_scaling",
                Kind::Bool,
                "an aws_ecs_service_scaling owns the count: `desired_count` is only the count it starts with, and the live count is never changed back",
            )
        },
        Field {
            required: true,
            ..Field::new("subnets", Kind::List(&Kind::Str), "the (private) subnets the tasks run in")
        },
        Field {
            required: true,
            ..Field::new("security_groups", Kind::List(&Kind::Str), "the tasks' security groups")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new("assign_public_ip", Kind::Bool, "give tasks public IPs (public subnets only)")
        },
        Field::new(
            "load_balancer",
            Kind::Object(LOAD_BALANCER),
            "the target group the service's tasks register with",
        ),
        Field::new(
            "health_check_grace_period",
            Kind::Int,
            "seconds load balancer health checks are ignored after a task starts",
        ),
        Field {
            default: Some(Default::Int(100)),
            ..Field::new("min_healthy_percent", Kind::Int, "tasks kept running during a deployment, % of desired")
        },
        Field {
            default: Some(Default::Int(200)),
            ..Field::new("max_percent", Kind::Int, "tasks allowed during a deployment, % of desired")
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "circuit_breaker_rollback",
                Kind::Bool,
                "stop a deployment whose tasks keep failing and roll back to the previous revision",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "wait_for_steady_state",
                Kind::Bool,
                "after a create or update, wait until the deployment completes",
            )
        },
    ],
    attributes: &["id", "arn", "name", "cluster"],
};

/// Settings of this tool rather than of the service: never read back from AWS.
const LOCAL: &[&str] = &["desired_count_managed_by_scaling", "wait_for_steady_state"];

pub struct Service {
    ecs: aws_sdk_ecs::Client,
}

impl Service {
    pub fn new(c: &Clients) -> Self {
        Service { ecs: c.ecs.clone() }
    }

    async fn describe(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<EcsService>, ProviderError> {
        let out = self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .customize()
            .config_override(eventually::<
                aws_sdk_ecs::operation::describe_services::DescribeServicesError,
            >())
            .send()
            .await;
        match out.map_err(|e| error("DescribeServices", e)) {
            Ok(o) => Ok(o.services().first().cloned()),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Wait (bounded) until the deployment of `task_definition` has completed.
    async fn settle(
        &self,
        req: &Request<'_>,
        cluster: &str,
        arn: &str,
        doing: &str,
    ) -> Result<EcsService, ProviderError> {
        let td = req.str("task_definition").to_string();
        let td = td.as_str();
        wait::until(req, doing, || async move {
            Ok(match self.describe(cluster, arn).await? {
                None => Poll::Failed("MISSING".into()),
                Some(s) => match steadiness(&s, td) {
                    Poll::Ready(()) => Poll::Ready(s),
                    Poll::Pending(p) => Poll::Pending(p),
                    Poll::Failed(f) => Poll::Failed(f),
                },
            })
        })
        .await
    }
}

/// Where the deployment of `task_definition` stands in a described service: done
/// (the PRIMARY deployment is COMPLETED, or without a rollout state the only one with
/// every task running), still going (running/desired and the rollout state), or failed
/// (the circuit breaker stopped it, or rolled the service back to another revision),
/// with the service's recent events.
pub fn steadiness(s: &EcsService, task_definition: &str) -> Poll<()> {
    let events = || {
        let recent: Vec<&str> = s
            .events()
            .iter()
            .take(5)
            .filter_map(|e| e.message())
            .collect();
        if recent.is_empty() {
            String::new()
        } else {
            format!("; recent events: {}", recent.join(" | "))
        }
    };
    if s.status() != Some("ACTIVE") {
        return Poll::Failed(format!("service is {}", s.status().unwrap_or("unknown")));
    }
    let ours = s
        .deployments()
        .iter()
        .find(|d| d.task_definition() == Some(task_definition));
    if let Some(d) = ours.filter(|d| d.rollout_state() == Some(&DeploymentRolloutState::Failed)) {
        return Poll::Failed(format!(
            "deployment of {} FAILED: {}{}",
            arn_name(task_definition),
            d.rollout_state_reason()
                .unwrap_or("the circuit breaker stopped it"),
            events()
        ));
    }
    let Some(primary) = s
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
    else {
        return Poll::Pending("no PRIMARY deployment yet".into());
    };
    if primary.task_definition() != Some(task_definition) && ours.is_none() {
        return Poll::Failed(format!(
            "rolled back to {} (the deployment of {} failed){}",
            arn_name(primary.task_definition().unwrap_or_default()),
            arn_name(task_definition),
            events()
        ));
    }
    let running = format!(
        "{}/{} running",
        primary.running_count(),
        primary.desired_count()
    );
    match primary.rollout_state() {
        Some(DeploymentRolloutState::Completed)
            if primary.task_definition() == Some(task_definition)
                && primary.running_count() == primary.desired_count() =>
        {
            Poll::Ready(())
        }
        None if s.deployments().len() == 1
            && primary.running_count() == primary.desired_count() =>
        {
            Poll::Ready(())
        }
        Some(state) => Poll::Pending(format!("{running}, rollout {}", state.as_str())),
        None => Poll::Pending(format!("{running}, {} deployments", s.deployments().len())),
    }
}

fn strs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn str_list(l: &[String]) -> Value {
    Value::List(l.iter().map(|s| Value::Str(s.clone())).collect())
}

fn network(props: &Props) -> Result<NetworkConfiguration, ProviderError> {
    let public = props.get("assign_public_ip").and_then(Value::as_bool) == Some(true);
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(strs(props.get("subnets"))))
        .set_security_groups(Some(strs(props.get("security_groups"))))
        .assign_public_ip(if public {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| ProviderError::new("networkConfiguration", e.to_string()))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

fn deployment(props: &Props) -> DeploymentConfiguration {
    let int = |k: &str| {
        props
            .get(k)
            .and_then(Value::as_int)
            .and_then(|i| i32::try_from(i).ok())
    };
    let rollback = props
        .get("circuit_breaker_rollback")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(rollback)
                .rollback(rollback)
                .build(),
        )
        .set_maximum_percent(int("max_percent"))
        .set_minimum_healthy_percent(int("min_healthy_percent"))
        .build()
}

fn load_balancers(props: &Props) -> Vec<LoadBalancer> {
    match props.get("load_balancer") {
        Some(Value::Map(m)) => vec![LoadBalancer::builder()
            .set_target_group_arn(
                m.get("target_group_arn")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_container_name(
                m.get("container_name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_container_port(
                m.get("container_port")
                    .and_then(Value::as_int)
                    .and_then(|i| i32::try_from(i).ok()),
            )
            .build()],
        _ => Vec::new(),
    }
}

fn grace(props: &Props) -> Option<i32> {
    props
        .get("health_check_grace_period")
        .and_then(Value::as_int)
        .and_then(|i| i32::try_from(i).ok())
}

fn props_of(s: &EcsService) -> Props {
    let vpc = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let mut p = Props::from([
        (
            "cluster".to_string(),
            crate::aws::str_value(s.cluster_arn()),
        ),
        (
            "task_definition".to_string(),
            crate::aws::str_value(s.task_definition()),
        ),
        (
            "launch_type".to_string(),
            crate::aws::str_value(s.launch_type().map(LaunchType::as_str)),
        ),
        (
            "desired_count".to_string(),
            Value::Int(s.desired_count().into()),
        ),
        (
            "subnets".to_string(),
            str_list(vpc.map(|v| v.subnets()).unwrap_or_default()),
        ),
        (
            "security_groups".to_string(),
            str_list(vpc.map(|v| v.security_groups()).unwrap_or_default()),
        ),
        (
            "assign_public_ip".to_string(),
            Value::Bool(vpc.and_then(|v| v.assign_public_ip()) == Some(&AssignPublicIp::Enabled)),
        ),
    ]);
    if let Some(lb) = s.load_balancers().first() {
        p.insert(
            "load_balancer".into(),
            Value::Map(
                [
                    (
                        "target_group_arn".to_string(),
                        crate::aws::str_value(lb.target_group_arn()),
                    ),
                    (
                        "container_name".to_string(),
                        crate::aws::str_value(lb.container_name()),
                    ),
                    (
                        "container_port".to_string(),
                        lb.container_port()
                            .map(|p| Value::Int(p.into()))
                            .unwrap_or(Value::Null),
                    ),
                ]
                .into(),
            ),
        );
    }
    if let Some(g) = s.health_check_grace_period_seconds() {
        p.insert("health_check_grace_period".into(), Value::Int(g.into()));
    }
    if let Some(d) = s.deployment_configuration() {
        if let Some(m) = d.minimum_healthy_percent() {
            p.insert("min_healthy_percent".into(), Value::Int(m.into()));
        }
        if let Some(m) = d.maximum_percent() {
            p.insert("max_percent".into(), Value::Int(m.into()));
        }
        let cb = d.deployment_circuit_breaker();
        p.insert(
            "circuit_breaker_rollback".into(),
            Value::Bool(cb.is_some_and(|c| c.enable() && c.rollback())),
        );
    }
    p
}

/// The cluster, task definition, subnets, security groups and target group it uses.
fn refs_of(props: &Props) -> Vec<String> {
    let mut refs: Vec<String> = ["cluster", "task_definition"]
        .iter()
        .filter_map(|f| props.get(*f).and_then(Value::as_str).map(str::to_string))
        .collect();
    refs.extend(strs(props.get("subnets")));
    refs.extend(strs(props.get("security_groups")));
    if let Some(Value::Map(m)) = props.get("load_balancer") {
        refs.extend(
            m.get("target_group_arn")
                .and_then(Value::as_str)
                .map(str::to_string),
        );
    }
    refs
}

fn to_live(owned: Owned, s: &EcsService) -> Live {
    let props = props_of(s);
    let arn = s.service_arn().unwrap_or_default();
    live(
        owned,
        arn,
        props.clone(),
        refs_of(&props),
        &[
            ("arn", Value::Str(arn.to_string())),
            ("name", crate::aws::str_value(s.service_name())),
            ("cluster", crate::aws::str_value(s.cluster_arn())),
        ],
    )
}

#[async_trait]
impl Provider for Service {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// The owned clusters (ListClusters + DescribeClusters with tags), then per cluster
    /// one paginated ListServices and DescribeServices with tags, 10 services a call.
    async fn read(&self, scope: &Scope, _only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let mut found = Vec::new();
        for (cluster, _) in owned_clusters(&self.ecs, scope).await? {
            let name = cluster.cluster_name().unwrap_or_default();
            let arns: Vec<String> = self
                .ecs
                .list_services()
                .cluster(name)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| error("ListServices", e))?;
            for chunk in arns.chunks(10) {
                let out = self
                    .ecs
                    .describe_services()
                    .cluster(name)
                    .set_services(Some(chunk.to_vec()))
                    .include(ServiceField::Tags)
                    .send()
                    .await
                    .map_err(|e| error("DescribeServices", e))?;
                for s in out.services() {
                    // DRAINING: being deleted; INACTIVE: deleted, still described a while.
                    if s.status() != Some("ACTIVE") {
                        continue;
                    }
                    if let Some(o) = owned(scope, s.tags()) {
                        let o = o.or_created(s.created_at().and_then(crate::aws::millis));
                        found.push(to_live(o, s));
                    }
                }
            }
        }
        Ok(found)
    }

    /// Auto scaling and the declared count agree on who owns the count: a service an
    /// `aws_ecs_service_scaling` scales must say `desired_count_managed_by_scaling`, or
    /// every plan would change the count back; one that says so must be scaled. The
    /// target group's container is one of the task definition's, on its port.
    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let at = |f: &str| r.field_pos.get(f).cloned().unwrap_or_else(|| r.pos.clone());
        let refers_to = |v: Option<&Value>, addr: &Addr| {
            let mut to = Vec::new();
            if let Some(v) = v {
                v.refs(&mut to);
            }
            to.contains(addr)
        };
        let scaled_by: Vec<&Resource> = stack
            .resources
            .iter()
            .filter(|s| {
                s.type_name == crate::aws::appautoscaling::service_scaling::SCHEMA.type_name
            })
            .filter(|s| refers_to(s.props.get("service"), &r.addr))
            .collect();
        let managed = r
            .props
            .get("desired_count_managed_by_scaling")
            .and_then(Value::as_bool)
            == Some(true);
        if let (Some(s), false) = (scaled_by.first(), managed) {
            out.push(
                Diagnostic::new(
                    at("desired_count"),
                    format!("service `{}` is scaled by `{}` but its desired_count would be set back on every apply", r.addr, s.addr),
                )
                .hint("add `desired_count_managed_by_scaling: true`: desired_count is then only the count the service starts with"),
            );
        }
        if managed && scaled_by.is_empty() {
            out.push(
                Diagnostic::new(
                    at("desired_count_managed_by_scaling"),
                    format!("service `{}` leaves its count to auto scaling, but no aws_ecs_service_scaling scales it", r.addr),
                )
                .hint("declare an aws_ecs_service_scaling with `service: ${<this service>.arn}`, or remove the field"),
            );
        }
        if r.props
            .get("health_check_grace_period")
            .is_some_and(|v| !matches!(v, Value::Null))
            && r.props
                .get("load_balancer")
                .is_none_or(|v| matches!(v, Value::Null))
        {
            out.push(
                Diagnostic::new(
                    at("health_check_grace_period"),
                    format!("service `{}` has a health_check_grace_period but no load_balancer: ECS accepts one only with a load balancer", r.addr),
                )
                .hint("declare load_balancer, or remove health_check_grace_period"),
            );
        }
        let mut tds = Vec::new();
        if let Some(v) = r.props.get("task_definition") {
            v.refs(&mut tds);
        }
        let td = tds.first().and_then(|a| stack.resource(a));
        if let (Some(td), Some(Value::Map(lb))) = (td, r.props.get("load_balancer")) {
            let name = lb.get("container_name").and_then(Value::as_str);
            let port = lb.get("container_port").and_then(Value::as_int);
            let containers = td
                .props
                .get("containers")
                .and_then(Value::as_list)
                .unwrap_or_default();
            let container = containers.iter().find_map(|c| match c {
                Value::Map(m) if m.get("name").and_then(Value::as_str) == name => Some(m),
                _ => None,
            });
            match (name, container) {
                (Some(n), None) => out.push(
                    Diagnostic::new(
                        at("load_balancer"),
                        format!("service `{}` sends its target group's traffic to container `{n}`, which task definition `{}` does not have", r.addr, td.addr),
                    )
                    .hint("name one of the task definition's containers"),
                ),
                (_, Some(c)) => {
                    let theirs = c.get("port").and_then(Value::as_int);
                    if let (Some(p), Some(t)) = (port, theirs) {
                        if p != t {
                            out.push(Diagnostic::new(
                                at("load_balancer"),
                                format!("service `{}` sends traffic to port {p} of container `{}`, which listens on {t}", r.addr, name.unwrap_or_default()),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The cluster compares by name (`${cluster.arn}` or `${cluster.name}`); the count
    /// is left alone when auto scaling owns it; this tool's own settings are not AWS's.
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut want = desired.clone();
        for k in LOCAL {
            want.remove(*k);
        }
        if desired
            .get("desired_count_managed_by_scaling")
            .and_then(Value::as_bool)
            == Some(true)
        {
            want.remove("desired_count");
        }
        let have = live
            .props
            .get("cluster")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(Value::Str(c)) = want.get("cluster") {
            if arn_name(c) == arn_name(have) {
                want.insert("cluster".into(), Value::Str(have.to_string()));
            }
        }
        default_diff(&SCHEMA, &want, live)
    }

    fn timeouts(&self) -> Timeouts {
        let twenty = Duration::from_secs(20 * 60);
        Timeouts {
            create: twenty,
            update: twenty,
            delete: twenty,
        }
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let cluster = req.str("cluster");
        let launch = LaunchType::from(req.str("launch_type"));
        let out = self
            .ecs
            .create_service()
            .cluster(cluster)
            .service_name(req.name())
            .task_definition(req.str("task_definition"))
            .desired_count(
                req.int("desired_count")
                    .and_then(|i| i32::try_from(i).ok())
                    .unwrap_or(1),
            )
            .launch_type(launch)
            .network_configuration(network(req.props)?)
            .set_load_balancers(Some(load_balancers(req.props)).filter(|l| !l.is_empty()))
            .set_health_check_grace_period_seconds(grace(req.props))
            .deployment_configuration(deployment(req.props))
            .propagate_tags(PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .set_tags(Some(tags(req)))
            .client_token(req.scope.client_token(req.addr, req.props))
            .customize()
            .config_override(once::<
                aws_sdk_ecs::operation::create_service::CreateServiceError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateService", e))?;
        let mut s = out
            .service()
            .cloned()
            .unwrap_or_else(|| EcsService::builder().build());
        let arn = s.service_arn().unwrap_or_default().to_string();
        if req.bool("wait_for_steady_state") != Some(false) {
            s = self.settle(req, cluster, &arn, "creating").await?;
        }
        Ok(to_live(Owned::made(req), &s))
    }

    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        let cluster = l
            .props
            .get("cluster")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if req.bool("wait_for_steady_state") == Some(false) {
            return Ok(l);
        }
        let s = self.settle(req, &cluster, &l.id, "creating").await?;
        let mut next = to_live(Owned::made(req), &s);
        next.tags = l.tags;
        next.created = l.created;
        Ok(next)
    }

    /// UpdateService with what changed: task definition, count (unless auto scaling owns
    /// it), deployment settings, network, target group, grace period.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed = |k: &str| match (req.get(k), l.props.get(k)) {
            // Subnets and security groups are sets.
            (Some(Value::List(a)), Some(Value::List(b))) => {
                let key = |l: &[Value]| {
                    let mut v: Vec<String> = l.iter().map(|x| format!("{x:?}")).collect();
                    v.sort();
                    v
                };
                key(a) != key(b)
            }
            (a, b) => a != b,
        };
        let cluster = l
            .props
            .get("cluster")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let scaled = req.bool("desired_count_managed_by_scaling") == Some(true);
        let mut call = self.ecs.update_service().cluster(&cluster).service(&l.id);
        if changed("task_definition") {
            call = call.task_definition(req.str("task_definition"));
        }
        if !scaled && changed("desired_count") {
            call = call
                .set_desired_count(req.int("desired_count").and_then(|i| i32::try_from(i).ok()));
        }
        if [
            "min_healthy_percent",
            "max_percent",
            "circuit_breaker_rollback",
        ]
        .iter()
        .any(|k| changed(k))
        {
            call = call.deployment_configuration(deployment(req.props));
        }
        if ["subnets", "security_groups", "assign_public_ip"]
            .iter()
            .any(|k| changed(k))
        {
            call = call.network_configuration(network(req.props)?);
        }
        if changed("load_balancer") {
            call = call.set_load_balancers(Some(load_balancers(req.props)));
        }
        if changed("health_check_grace_period") {
            call = call.set_health_check_grace_period_seconds(grace(req.props));
        }
        let out = call
            .customize()
            .config_override(eventually::<
                aws_sdk_ecs::operation::update_service::UpdateServiceError,
            >())
            .send()
            .await
            .map_err(|e| error("UpdateService", e))?;
        let mut s = out
            .service()
            .cloned()
            .unwrap_or_else(|| EcsService::builder().build());
        if req.bool("wait_for_steady_state") != Some(false) {
            s = self.settle(req, &cluster, &l.id, "updating").await?;
        }
        let mut next = to_live(Owned::made(req), &s);
        next.tags = l.tags.clone();
        next.created = l.created;
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ecs, l, delta).await
    }

    /// DeleteService with `force` (no scale-down to wait for first), then wait until
    /// it is INACTIVE: until then its tasks still hold the target group, the task
    /// definition, the log group and the security groups' network interfaces.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let cluster = l
            .props
            .get("cluster")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        deleted(
            "DeleteService",
            self.ecs
                .delete_service()
                .cluster(&cluster)
                .service(&l.id)
                .force(true)
                .send()
                .await,
        )?;
        let cluster = cluster.as_str();
        wait::until(req, "deleting", || async move {
            Ok(match self.describe(cluster, &l.id).await? {
                None => Poll::Ready(()),
                Some(s) if s.status() == Some("INACTIVE") => Poll::Ready(()),
                Some(s) => Poll::Pending(format!(
                    "{}, {} tasks running",
                    s.status().unwrap_or("unknown"),
                    s.running_count()
                )),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Deployment, ServiceEvent};

    const NEW: &str = "arn:aws:ecs:eu-west-2:1:task-definition/b-dev-api:2";
    const OLD: &str = "arn:aws:ecs:eu-west-2:1:task-definition/b-dev-api:1";

    fn deployment(
        td: &str,
        status: &str,
        state: Option<DeploymentRolloutState>,
        running: i32,
    ) -> Deployment {
        Deployment::builder()
            .task_definition(td)
            .status(status)
            .set_rollout_state(state)
            .rollout_state_reason("ECS deployment circuit breaker: tasks failed to start.")
            .desired_count(2)
            .running_count(running)
            .build()
    }

    fn service(deployments: Vec<Deployment>) -> EcsService {
        EcsService::builder()
            .status("ACTIVE")
            .set_deployments(Some(deployments))
            .events(
                ServiceEvent::builder()
                    .message("(service api) has started 1 tasks: (task 1).")
                    .build(),
            )
            .events(
                ServiceEvent::builder()
                    .message("(service api) task 1 failed container health checks.")
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_completed_primary_deployment_with_every_task_running_is_steady() {
        let s = service(vec![deployment(
            NEW,
            "PRIMARY",
            Some(DeploymentRolloutState::Completed),
            2,
        )]);
        assert!(matches!(steadiness(&s, NEW), Poll::Ready(())));
        // A count raised without a new deployment: the new tasks are still starting.
        let s = service(vec![deployment(
            NEW,
            "PRIMARY",
            Some(DeploymentRolloutState::Completed),
            1,
        )]);
        match steadiness(&s, NEW) {
            Poll::Pending(p) => assert_eq!(p, "1/2 running, rollout COMPLETED"),
            _ => panic!("pending"),
        }
    }

    #[test]
    fn a_rollout_in_progress_says_running_of_desired() {
        let s = service(vec![
            deployment(NEW, "PRIMARY", Some(DeploymentRolloutState::InProgress), 1),
            deployment(OLD, "ACTIVE", Some(DeploymentRolloutState::Completed), 2),
        ]);
        match steadiness(&s, NEW) {
            Poll::Pending(p) => assert_eq!(p, "1/2 running, rollout IN_PROGRESS"),
            _ => panic!("pending"),
        }
    }

    #[test]
    fn a_failed_deployment_fails_with_the_recent_events() {
        let s = service(vec![
            deployment(OLD, "PRIMARY", Some(DeploymentRolloutState::InProgress), 1),
            deployment(NEW, "ACTIVE", Some(DeploymentRolloutState::Failed), 0),
        ]);
        match steadiness(&s, NEW) {
            Poll::Failed(f) => {
                assert!(f.contains("deployment of b-dev-api:2 FAILED"), "{f}");
                assert!(f.contains("circuit breaker"), "{f}");
                assert!(f.contains("failed container health checks"), "{f}");
            }
            _ => panic!("failed"),
        }
    }

    #[test]
    fn a_service_rolled_back_to_the_previous_revision_fails() {
        let s = service(vec![deployment(
            OLD,
            "PRIMARY",
            Some(DeploymentRolloutState::Completed),
            2,
        )]);
        match steadiness(&s, NEW) {
            Poll::Failed(f) => {
                assert!(f.contains("rolled back to b-dev-api:1"), "{f}");
                assert!(f.contains("recent events"), "{f}");
            }
            _ => panic!("failed"),
        }
    }

    #[test]
    fn without_a_rollout_state_all_tasks_running_is_steady() {
        let s = service(vec![deployment(NEW, "PRIMARY", None, 2)]);
        assert!(matches!(steadiness(&s, NEW), Poll::Ready(())));
        let s = service(vec![deployment(NEW, "PRIMARY", None, 1)]);
        assert!(matches!(steadiness(&s, NEW), Poll::Pending(_)));
    }
}
