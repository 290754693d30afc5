//! `aws_ecs_service_scaling`: an ECS service's desired count kept between a minimum and
//! a maximum by a target-tracking policy on its average CPU: the scalable target
//! (`service/<cluster>/<service>`, `ecs:service:DesiredCount`) and its one policy,
//! named `<stack>-<env>-<address>`, are one resource since neither is useful alone.
//!
//! Identity: the policy's name, on a target whose cluster and service carry the
//! stack's name prefix (the service's own ownership tags make that name ours); the
//! address comes from the stack's declared scalings (`Scope::declared_of`). The target
//! is tagged at registration where AWS supports it, but discovery does not depend on it.

use super::{deleted, error, eventually};
use crate::aws::{creation_tags, live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTarget,
    ScalingPolicy, ServiceNamespace, TargetTrackingScalingPolicyConfiguration,
};
use std::collections::BTreeMap;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_ecs_service_scaling",
    doc: "Target-tracking auto scaling of an ECS service's task count on its average CPU.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a scalable target belongs to one service"),
            ..Field::new(
                "service",
                Kind::Str,
                "the service's ARN, e.g. ${api_service.arn}",
            )
        },
        Field {
            required: true,
            ..Field::new("min_capacity", Kind::Int, "fewest tasks")
        },
        Field {
            required: true,
            ..Field::new("max_capacity", Kind::Int, "most tasks")
        },
        Field {
            default: Some(Default::Int(60)),
            ..Field::new(
                "cpu_target",
                Kind::Int,
                "average CPU utilisation to hold, in percent",
            )
        },
        Field {
            default: Some(Default::Int(300)),
            ..Field::new(
                "scale_in_cooldown",
                Kind::Int,
                "seconds after a scale-in before the next",
            )
        },
        Field {
            default: Some(Default::Int(60)),
            ..Field::new(
                "scale_out_cooldown",
                Kind::Int,
                "seconds after a scale-out before the next",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new("disable_scale_in", Kind::Bool, "only ever add tasks")
        },
    ],
    attributes: &["id", "arn", "policy_arn"],
};

pub struct ServiceScaling {
    scaling: aws_sdk_applicationautoscaling::Client,
}

impl ServiceScaling {
    pub fn new(c: &Clients) -> Self {
        ServiceScaling {
            scaling: c.autoscaling.clone(),
        }
    }

    async fn put(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let resource = resource_id(req.str("service"));
        let int = |k: &str| req.int(k).and_then(|i| i32::try_from(i).ok());
        let target = self
            .scaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .set_min_capacity(int("min_capacity"))
            .set_max_capacity(int("max_capacity"))
            .set_tags(Some(creation_tags(req).into_iter().collect()))
            .customize()
            .config_override(eventually::<
                aws_sdk_applicationautoscaling::operation::register_scalable_target::RegisterScalableTargetError,
            >())
            .send()
            .await
            .map_err(|e| error("RegisterScalableTarget", e))?;
        let metric = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
            .build()
            .map_err(|e| ProviderError::new("PutScalingPolicy", e.to_string()))?;
        let tracking = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(req.int("cpu_target").unwrap_or(60) as f64)
            .predefined_metric_specification(metric)
            .set_scale_in_cooldown(int("scale_in_cooldown"))
            .set_scale_out_cooldown(int("scale_out_cooldown"))
            .set_disable_scale_in(req.bool("disable_scale_in"))
            .build()
            .map_err(|e| ProviderError::new("PutScalingPolicy", e.to_string()))?;
        let policy = self
            .scaling
            .put_scaling_policy()
            .policy_name(req.scope.name_for(req.addr))
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(tracking)
            .customize()
            .config_override(eventually::<
                aws_sdk_applicationautoscaling::operation::put_scaling_policy::PutScalingPolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("PutScalingPolicy", e))?;
        let mut props = Props::new();
        for f in SCHEMA.fields {
            if let Some(v) = req.get(f.name) {
                props.insert(f.name.to_string(), v.clone());
            }
        }
        let service = req.str("service").to_string();
        let mut owned = Owned::made(req);
        owned.tags = req
            .scope
            .desired_tags(req.addr, false)
            .into_iter()
            .collect();
        Ok(live(
            owned,
            &resource,
            props,
            vec![service],
            &[
                (
                    "arn",
                    Value::Str(target.scalable_target_arn().unwrap_or_default().to_string()),
                ),
                ("policy_arn", Value::Str(policy.policy_arn().to_string())),
            ],
        ))
    }
}

/// The scalable target's resource id for a service ARN
/// (`arn:aws:ecs:<region>:<account>:service/<cluster>/<service>` ->
/// `service/<cluster>/<service>`).
pub fn resource_id(service: &str) -> String {
    match service.find(":service/") {
        Some(i) => service[i + 1..].to_string(),
        None => service.to_string(),
    }
}

/// The service ARN for a resource id, in the partition, region and account of `arn`
/// (any Application Auto Scaling ARN).
fn service_arn(resource: &str, arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        [_, partition, _, region, account, ..] => {
            format!("arn:{partition}:ecs:{region}:{account}:{resource}")
        }
        _ => resource.to_string(),
    }
}

fn props_of(target: &ScalableTarget, policy: &ScalingPolicy) -> Props {
    let tt = policy.target_tracking_scaling_policy_configuration();
    let mut p = Props::from([
        (
            "service".to_string(),
            Value::Str(service_arn(target.resource_id(), policy.policy_arn())),
        ),
        (
            "min_capacity".to_string(),
            Value::Int(target.min_capacity().into()),
        ),
        (
            "max_capacity".to_string(),
            Value::Int(target.max_capacity().into()),
        ),
    ]);
    if let Some(tt) = tt {
        p.insert(
            "cpu_target".into(),
            Value::Int(tt.target_value().round() as i64),
        );
        for (k, v) in [
            ("scale_in_cooldown", tt.scale_in_cooldown()),
            ("scale_out_cooldown", tt.scale_out_cooldown()),
        ] {
            if let Some(v) = v {
                p.insert(k.into(), Value::Int(v.into()));
            }
        }
        p.insert(
            "disable_scale_in".into(),
            Value::Bool(tt.disable_scale_in().unwrap_or(false)),
        );
    }
    p
}

#[async_trait]
impl Provider for ServiceScaling {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// DescribeScalableTargets and DescribeScalingPolicies (namespace `ecs`, paginated):
    /// two calls, however many services scale.
    async fn read(&self, scope: &Scope, _only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let targets: Vec<ScalableTarget> = self
            .scaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeScalableTargets", e))?;
        let prefix = scope.name_prefix();
        let ours = |resource: &str| {
            let mut parts = resource.split('/');
            parts.next() == Some("service")
                && parts.next().is_some_and(|c| c.starts_with(&prefix))
                && parts.next().is_some_and(|s| s.starts_with(&prefix))
        };
        let targets: BTreeMap<&str, &ScalableTarget> = targets
            .iter()
            .filter(|t| ours(t.resource_id()))
            .map(|t| (t.resource_id(), t))
            .collect();
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        let policies: Vec<ScalingPolicy> = self
            .scaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeScalingPolicies", e))?;
        let declared: BTreeMap<String, &Addr> = scope
            .declared_of(SCHEMA.type_name)
            .iter()
            .map(|(a, _)| (scope.name_for(a), a))
            .collect();
        let mut found = Vec::new();
        for p in &policies {
            let Some(target) = targets.get(p.resource_id()) else {
                continue;
            };
            let Some(rest) = p.policy_name().strip_prefix(&prefix) else {
                continue;
            };
            // A scaling no longer declared keeps the name it was given.
            let addr = declared
                .get(p.policy_name())
                .map(|a| (*a).clone())
                .unwrap_or_else(|| Addr(rest.to_string()));
            let owned = Owned {
                tags: scope.desired_tags(&addr, false).into_iter().collect(),
                addr,
                created: crate::aws::millis(target.creation_time()),
            };
            let props = props_of(target, p);
            let service = service_arn(target.resource_id(), p.policy_arn());
            found.push(live(
                owned,
                target.resource_id(),
                props,
                vec![service],
                &[
                    (
                        "arn",
                        Value::Str(target.scalable_target_arn().unwrap_or_default().to_string()),
                    ),
                    ("policy_arn", Value::Str(p.policy_arn().to_string())),
                ],
            ));
        }
        Ok(found)
    }

    /// At least one task, a minimum not above the maximum, a CPU target in (0, 100], and
    /// no `protect: true` (ownership is by name: there is no tag to carry it).
    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let at = |f: &str| r.field_pos.get(f).cloned().unwrap_or_else(|| r.pos.clone());
        let int = |f: &str| r.props.get(f).and_then(Value::as_int);
        if let (Some(min), Some(max)) = (int("min_capacity"), int("max_capacity")) {
            if min > max || max < 1 || min < 0 {
                out.push(
                    Diagnostic::new(
                        at("max_capacity"),
                        format!("service scaling `{}`: min_capacity {min} and max_capacity {max} leave no task count to scale within", r.addr),
                    )
                    .hint("0 <= min_capacity <= max_capacity, and max_capacity >= 1"),
                );
            }
        }
        if r.protect {
            out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!(
                        "service scaling `{}` cannot be protected: it carries no tags to say so",
                        r.addr
                    ),
                )
                .hint("protect the service it scales instead"),
            );
        }
        if let Some(t) = int("cpu_target").filter(|t| !(1..=100).contains(t)) {
            out.push(
                Diagnostic::new(
                    at("cpu_target"),
                    format!(
                        "service scaling `{}`: cpu_target {t} is not a percentage",
                        r.addr
                    ),
                )
                .hint("an average CPU utilisation between 1 and 100, e.g. 60"),
            );
        }
        out
    }

    /// The service compares by its resource id (`service/<cluster>/<service>`).
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut want = desired.clone();
        let have = live
            .props
            .get("service")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(Value::Str(s)) = want.get("service") {
            if resource_id(s) == resource_id(have) {
                want.insert("service".into(), Value::Str(have.to_string()));
            }
        }
        default_diff(&SCHEMA, &want, live)
    }

    /// RegisterScalableTarget and PutScalingPolicy, both of which create or update.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        self.put(req).await
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let mut next = self.put(req).await?;
        next.created = l.created;
        Ok(next)
    }

    fn taggable(&self) -> bool {
        false
    }

    /// Ownership is by name (see the module): tags are not read back, so there is
    /// nothing to converge.
    async fn retag(&self, _l: &Live, _delta: &TagDelta) -> Result<(), ProviderError> {
        Ok(())
    }

    /// DeleteScalingPolicy, then DeregisterScalableTarget (which would also remove the
    /// policy); both already gone count as success.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let gone_service = |r: Result<(), ProviderError>| match r {
            // The service itself is already gone, and its target with it.
            Err(e)
                if e.code.as_deref() == Some("ValidationException")
                    && e.message.contains("exist") =>
            {
                Ok(())
            }
            other => other,
        };
        let policy = req.scope.name_for(&l.addr);
        gone_service(deleted(
            "DeleteScalingPolicy",
            self.scaling
                .delete_scaling_policy()
                .policy_name(policy)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&l.id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send()
                .await,
        ))?;
        gone_service(deleted(
            "DeregisterScalableTarget",
            self.scaling
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&l.id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send()
                .await,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids_come_from_service_arns_and_back() {
        let arn = "arn:aws:ecs:eu-west-2:123:service/b-dev-cluster/b-dev-api";
        assert_eq!(resource_id(arn), "service/b-dev-cluster/b-dev-api");
        let policy = "arn:aws:autoscaling:eu-west-2:123:scalingPolicy:x:resource/ecs/service/c/s:policyName/p";
        assert_eq!(service_arn("service/b-dev-cluster/b-dev-api", policy), arn);
    }
}
