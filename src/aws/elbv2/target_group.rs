//! `aws_lb_target_group`: where a load balancer sends requests (IP targets by default:
//! Fargate tasks), its health check and deregistration delay. Port, protocol, target
//! type and VPC cannot change: a replacement is made beside the old group (a listener
//! still forwards to it, and AWS refuses to delete a group in use), the listeners and
//! rules move to it, then the old group is deleted.

use super::{
    arn_suffix, deleted, describe_tags, error, int, name_prefix, once, retag, short_name, tags,
    whose,
};
use crate::aws::wait::{self, Pace, Poll};
use crate::aws::{live, name_blockers, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;
use std::time::Duration;

static HEALTH_CHECK: &[Field] = &[
    Field {
        default: Some(Default::Str("/")),
        ..Field::new("path", Kind::Str, "the path asked (/ by default)")
    },
    Field {
        default: Some(Default::Str("200")),
        ..Field::new(
            "matcher",
            Kind::Str,
            "the HTTP codes that mean healthy: \"200\", \"200-399\", \"200,204\" (200 by default)",
        )
    },
    Field {
        default: Some(Default::Int(30)),
        ..Field::new(
            "interval",
            Kind::Int,
            "seconds between checks (30 by default)",
        )
    },
    Field {
        default: Some(Default::Int(5)),
        ..Field::new(
            "timeout",
            Kind::Int,
            "seconds to wait for an answer (5 by default)",
        )
    },
    Field {
        default: Some(Default::Int(5)),
        ..Field::new(
            "healthy_threshold",
            Kind::Int,
            "successes in a row before a target is healthy (5 by default)",
        )
    },
    Field {
        default: Some(Default::Int(2)),
        ..Field::new(
            "unhealthy_threshold",
            Kind::Int,
            "failures in a row before a target is unhealthy (2 by default)",
        )
    },
];

const WHY: Option<&str> =
    Some("AWS cannot change a target group's port, protocol, target type or VPC");

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lb_target_group",
    doc: "Targets a load balancer forwards to, with their health check.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: WHY,
            ..Field::new("port", Kind::Int, "the port targets listen on")
        },
        Field {
            default: Some(Default::Str("HTTP")),
            force_new: true,
            replace_why: WHY,
            ..Field::new(
                "protocol",
                Kind::OneOf(&["HTTP", "HTTPS"]),
                "how the balancer talks to targets (HTTP by default)",
            )
        },
        Field {
            default: Some(Default::Str("ip")),
            force_new: true,
            replace_why: WHY,
            ..Field::new(
                "target_type",
                Kind::OneOf(&["ip", "instance"]),
                "what targets are: ip (the default; Fargate tasks) or instance",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: WHY,
            ..Field::new("vpc_id", Kind::Str, "the VPC the targets are in")
        },
        Field::new(
            "health_check",
            Kind::Object(HEALTH_CHECK),
            "{ path, matcher, interval, timeout, healthy_threshold, unhealthy_threshold }; AWS's defaults when absent",
        ),
        Field {
            default: Some(Default::Int(300)),
            ..Field::new(
                "deregistration_delay",
                Kind::Int,
                "seconds a target being removed may finish its requests (300 by default)",
            )
        },
    ],
    attributes: &["id", "arn", "name", "arn_suffix"],
};

const DELAY: &str = "deregistration_delay.timeout_seconds";

/// How long a delete refused with ResourceInUse is tried again: AWS releases a group a
/// little after the listener or rule that forwarded to it is deleted or moved.
const IN_USE_FOR: Duration = Duration::from_secs(90);

/// The provider of `aws_lb_target_group`.
pub struct TargetGroupType {
    elb: Client,
}

impl TargetGroupType {
    pub fn new(c: &Clients) -> Self {
        TargetGroupType {
            elb: c.elbv2.clone(),
        }
    }

    async fn delay(&self, arn: &str) -> Result<Option<i64>, ProviderError> {
        let out = self
            .elb
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| error("DescribeTargetGroupAttributes", e))?;
        Ok(out
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DELAY))
            .and_then(|a| a.value())
            .and_then(|v| v.parse().ok()))
    }

    async fn set_delay(&self, arn: &str, props: &Props) -> Result<(), ProviderError> {
        let delay = props
            .get("deregistration_delay")
            .and_then(Value::as_int)
            .unwrap_or(300);
        self.elb
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key(DELAY)
                    .value(delay.to_string())
                    .build(),
            )
            .customize()
            .config_override(super::eventually::<
                aws_sdk_elasticloadbalancingv2::operation::modify_target_group_attributes::ModifyTargetGroupAttributesError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifyTargetGroupAttributes", e))?;
        Ok(())
    }

    /// The load balancers forwarding to `arn`, named with whose they are.
    async fn users(&self, scope: &Scope, arn: &str) -> Result<Vec<String>, ProviderError> {
        let out = self
            .elb
            .describe_target_groups()
            .target_group_arns(arn)
            .send()
            .await
            .map_err(|e| error("DescribeTargetGroups", e))?;
        let lbs: Vec<String> = out
            .target_groups()
            .iter()
            .flat_map(|g| g.load_balancer_arns().iter().cloned())
            .collect();
        let tags = describe_tags(&self.elb, &lbs).await?;
        Ok(lbs
            .iter()
            .map(|lb| {
                format!(
                    "a listener or rule of load balancer {lb} ({})",
                    whose(scope, tags.get(lb))
                )
            })
            .collect())
    }
}

fn health_check(props: &Props) -> Option<&BTreeMap<String, Value>> {
    match props.get("health_check") {
        Some(Value::Map(m)) => Some(m),
        _ => None,
    }
}

fn hc_int(m: &BTreeMap<String, Value>, k: &str) -> Option<i32> {
    m.get(k)
        .and_then(Value::as_int)
        .and_then(|i| i32::try_from(i).ok())
}

fn hc_str<'a>(m: &'a BTreeMap<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn props_of(g: &TargetGroup, delay: Option<i64>) -> Props {
    let s = |v: Option<&str>| Value::Str(v.unwrap_or_default().to_string());
    let i = |v: Option<i32>| v.map(|v| Value::Int(i64::from(v))).unwrap_or(Value::Null);
    let hc = BTreeMap::from([
        ("path".to_string(), s(g.health_check_path())),
        (
            "matcher".to_string(),
            s(g.matcher().and_then(|m| m.http_code())),
        ),
        ("interval".to_string(), i(g.health_check_interval_seconds())),
        ("timeout".to_string(), i(g.health_check_timeout_seconds())),
        (
            "healthy_threshold".to_string(),
            i(g.healthy_threshold_count()),
        ),
        (
            "unhealthy_threshold".to_string(),
            i(g.unhealthy_threshold_count()),
        ),
    ]);
    Props::from([
        ("port".to_string(), i(g.port())),
        ("protocol".to_string(), s(g.protocol().map(|p| p.as_str()))),
        (
            "target_type".to_string(),
            s(g.target_type().map(|t| t.as_str())),
        ),
        ("vpc_id".to_string(), s(g.vpc_id())),
        ("health_check".to_string(), Value::Map(hc)),
        (
            "deregistration_delay".to_string(),
            delay.map(Value::Int).unwrap_or(Value::Int(300)),
        ),
    ])
}

fn made(owned: Owned, g: &TargetGroup, props: Props) -> Live {
    let arn = g.target_group_arn().unwrap_or_default();
    let refs = g.vpc_id().map(str::to_string).into_iter().collect();
    live(
        owned,
        arn,
        props,
        refs,
        &[
            ("arn", Value::Str(arn.to_string())),
            (
                "name",
                Value::Str(g.target_group_name().unwrap_or_default().to_string()),
            ),
            ("arn_suffix", Value::Str(arn_suffix(arn, "targetgroup"))),
        ],
    )
}

#[async_trait]
impl Provider for TargetGroupType {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// DescribeTargetGroups (paginated), DescribeTags for those named like this stack's
    /// (20 a call), DescribeTargetGroupAttributes for each owned one, concurrently:
    /// 2 + n calls for up to 20 groups.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let prefix = name_prefix(scope);
        let groups: Vec<TargetGroup> = self
            .elb
            .describe_target_groups()
            .page_size(400)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeTargetGroups", e))?;
        let groups: Vec<TargetGroup> = groups
            .into_iter()
            .filter(|g| {
                g.target_group_name()
                    .unwrap_or_default()
                    .starts_with(&prefix)
            })
            .collect();
        let arns: Vec<String> = groups
            .iter()
            .filter_map(|g| g.target_group_arn().map(str::to_string))
            .collect();
        let mut tags = describe_tags(&self.elb, &arns).await?;
        let ours = groups.into_iter().filter_map(|g| {
            let t = tags.remove(g.target_group_arn()?)?;
            let o = crate::aws::owned(scope, t)?;
            only.is_none_or(|a| &o.addr == a).then_some((g, o))
        });
        // A group deleted since it was listed is left out.
        let found = try_join_all(ours.map(|(g, o)| async move {
            match self.delay(g.target_group_arn().unwrap_or_default()).await {
                Ok(delay) => Ok(Some(made(o, &g, props_of(&g, delay)))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = short_name(req.scope, req.addr, req.suffix);
        let mut call = self
            .elb
            .create_target_group()
            .name(&name)
            .set_port(int(req.props, "port"))
            .protocol(ProtocolEnum::from(req.str("protocol")))
            .target_type(TargetTypeEnum::from(req.str("target_type")))
            .vpc_id(req.str("vpc_id"))
            .set_tags(Some(tags(req)));
        if let Some(hc) = health_check(req.props) {
            call = call
                .health_check_enabled(true)
                .set_health_check_path(hc_str(hc, "path").map(str::to_string))
                .set_matcher(hc_str(hc, "matcher").map(|m| Matcher::builder().http_code(m).build()))
                .set_health_check_interval_seconds(hc_int(hc, "interval"))
                .set_health_check_timeout_seconds(hc_int(hc, "timeout"))
                .set_healthy_threshold_count(hc_int(hc, "healthy_threshold"))
                .set_unhealthy_threshold_count(hc_int(hc, "unhealthy_threshold"));
        }
        let out = call
            .customize()
            .config_override(once::<
                aws_sdk_elasticloadbalancingv2::operation::create_target_group::CreateTargetGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateTargetGroup", e))?;
        let g = out.target_groups().first().cloned().ok_or_else(|| {
            ProviderError::new("CreateTargetGroup", "AWS returned no target group")
        })?;
        let arn = g.target_group_arn().unwrap_or_default().to_string();
        self.set_delay(&arn, req.props).await?;
        Ok(made(Owned::made(req), &g, req.props.clone()))
    }

    /// The health check (ModifyTargetGroup) and the deregistration delay
    /// (ModifyTargetGroupAttributes), each only if it differs.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        if changed.iter().any(|c| c == "health_check") {
            if let Some(hc) = health_check(req.props) {
                self.elb
                    .modify_target_group()
                    .target_group_arn(&l.id)
                    .health_check_enabled(true)
                    .set_health_check_path(hc_str(hc, "path").map(str::to_string))
                    .set_matcher(
                        hc_str(hc, "matcher").map(|m| Matcher::builder().http_code(m).build()),
                    )
                    .set_health_check_interval_seconds(hc_int(hc, "interval"))
                    .set_health_check_timeout_seconds(hc_int(hc, "timeout"))
                    .set_healthy_threshold_count(hc_int(hc, "healthy_threshold"))
                    .set_unhealthy_threshold_count(hc_int(hc, "unhealthy_threshold"))
                    .send()
                    .await
                    .map_err(|e| error("ModifyTargetGroup", e))?;
            }
        }
        if changed.iter().any(|c| c == "deregistration_delay") {
            self.set_delay(&l.id, req.props).await?;
        }
        let mut next = l.clone();
        next.props = req.props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.elb, l, delta).await
    }

    /// DeleteTargetGroup. AWS refuses (ResourceInUse) while a listener or rule forwards
    /// to it, and for a little while after the last one is deleted or moved: tried again
    /// for up to 90 s, then what is in the way is named.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let bounded = Request {
            timeout: req.timeout.min(IN_USE_FOR),
            ..*req
        };
        let pace = Pace {
            first: Duration::from_secs(2),
            max: Duration::from_secs(10),
            say_every: Duration::from_secs(30),
        };
        let last: std::sync::Mutex<Option<ProviderError>> = std::sync::Mutex::new(None);
        let waited = wait::paced(&bounded, "deleting", pace, || {
            let last = &last;
            async move {
                let r = deleted(
                    "DeleteTargetGroup",
                    self.elb
                        .delete_target_group()
                        .target_group_arn(&l.id)
                        .send()
                        .await,
                );
                match r {
                    Ok(()) => Ok(Poll::Ready(())),
                    Err(e) if e.kind == ErrorKind::InUse => {
                        if let Ok(mut slot) = last.lock() {
                            *slot = Some(e);
                        }
                        Ok(Poll::Pending("in use by a listener or rule".into()))
                    }
                    Err(e) => Err(e),
                }
            }
        })
        .await;
        let result = match waited {
            Err(e) if e.kind == ErrorKind::Timeout => {
                Err(last.into_inner().ok().flatten().unwrap_or(e))
            }
            other => other,
        };
        let advice = "point those listeners and rules at another target group or delete them";
        name_blockers(
            result,
            &l.id,
            "is still used by",
            self.users(req.scope, &l.id),
            advice,
        )
        .await
    }

    fn create_before_delete(&self) -> bool {
        true
    }
}
