//! `aws_lb`: an application load balancer in the given subnets and security groups, its
//! attributes (idle timeout, HTTP/2, dropping invalid headers, deletion protection,
//! access logs to S3) set with ModifyLoadBalancerAttributes. Named with `short_name`
//! (32 characters at most); a delete with deletion protection on is refused, naming the
//! field to change.

use super::{
    arn_suffix, deleted, error, eventually, once, owned_load_balancers, retag, short_name, tags,
};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Props, Value};
use crate::provider::{
    default_diff, unset, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

static ACCESS_LOGS: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "bucket",
            Kind::Str,
            "the S3 bucket (its policy must let the region's ELB account or logdelivery.elasticloadbalancing.amazonaws.com write to it)",
        )
    },
    Field {
        default: Some(Default::Str("")),
        ..Field::new("prefix", Kind::Str, "the key prefix for the logs (none by default)")
    },
    Field {
        default: Some(Default::Bool(true)),
        ..Field::new("enabled", Kind::Bool, "whether logs are written (true by default)")
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lb",
    doc: "An application load balancer.",
    fields: &[
        Field {
            required: true,
            ..Field::new(
                "subnet_ids",
                Kind::List(&Kind::Str),
                "the subnets, at least two in different zones (public ones for an internet-facing balancer); changed in place",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "security_group_ids",
                Kind::List(&Kind::Str),
                "its security groups; changed in place",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            force_new: true,
            replace_why: Some("AWS cannot change a load balancer's scheme"),
            ..Field::new(
                "internal",
                Kind::Bool,
                "reachable only inside the VPC (false by default: internet-facing)",
            )
        },
        Field {
            default: Some(Default::Int(60)),
            ..Field::new("idle_timeout", Kind::Int, "seconds a connection may stay idle (60 by default)")
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new("http2", Kind::Bool, "HTTP/2 to clients (true by default)")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "drop_invalid_header_fields",
                Kind::Bool,
                "drop HTTP headers whose names are not valid (false by default)",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "deletion_protection",
                Kind::Bool,
                "AWS refuses to delete it while true (set it to true in production; to delete, set it to false and apply first)",
            )
        },
        Field::new(
            "access_logs",
            Kind::Object(ACCESS_LOGS),
            "access logs to S3: { bucket, prefix, enabled }; none when absent",
        ),
    ],
    attributes: &["id", "arn", "name", "dns_name", "zone_id", "arn_suffix"],
};

const IDLE: &str = "idle_timeout.timeout_seconds";
const HTTP2: &str = "routing.http2.enabled";
const DROP: &str = "routing.http.drop_invalid_header_fields.enabled";
const PROTECT: &str = "deletion_protection.enabled";
const LOGS_ON: &str = "access_logs.s3.enabled";
const LOGS_BUCKET: &str = "access_logs.s3.bucket";
const LOGS_PREFIX: &str = "access_logs.s3.prefix";

/// The provider of `aws_lb`.
pub struct LoadBalancerType {
    elb: Client,
}

impl LoadBalancerType {
    pub fn new(c: &Clients) -> Self {
        LoadBalancerType {
            elb: c.elbv2.clone(),
        }
    }

    async fn attributes(&self, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
        let out = self
            .elb
            .describe_load_balancer_attributes()
            .load_balancer_arn(arn)
            .send()
            .await
            .map_err(|e| error("DescribeLoadBalancerAttributes", e))?;
        Ok(out
            .attributes()
            .iter()
            .filter_map(|a| {
                Some((
                    a.key()?.to_string(),
                    a.value().unwrap_or_default().to_string(),
                ))
            })
            .collect())
    }

    /// Set the attributes the stack declares (and switch access logs off when they are
    /// no longer declared but on).
    async fn set_attributes(
        &self,
        arn: &str,
        props: &Props,
        logs_on: bool,
    ) -> Result<(), ProviderError> {
        let b = |k: &str, default: bool| {
            props
                .get(k)
                .and_then(Value::as_bool)
                .unwrap_or(default)
                .to_string()
        };
        let mut attrs = vec![
            (
                IDLE,
                props
                    .get("idle_timeout")
                    .and_then(Value::as_int)
                    .unwrap_or(60)
                    .to_string(),
            ),
            (HTTP2, b("http2", true)),
            (DROP, b("drop_invalid_header_fields", false)),
            (PROTECT, b("deletion_protection", false)),
        ];
        match props.get("access_logs") {
            Some(Value::Map(m)) => {
                let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
                let on = m.get("enabled").and_then(Value::as_bool).unwrap_or(true);
                attrs.push((LOGS_ON, on.to_string()));
                attrs.push((LOGS_BUCKET, s("bucket").to_string()));
                attrs.push((LOGS_PREFIX, s("prefix").to_string()));
            }
            _ if logs_on => attrs.push((LOGS_ON, "false".to_string())),
            _ => {}
        }
        let attrs = attrs
            .into_iter()
            .map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build());
        self.elb
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attrs.collect()))
            .customize()
            .config_override(eventually::<
                aws_sdk_elasticloadbalancingv2::operation::modify_load_balancer_attributes::ModifyLoadBalancerAttributesError,
            >())
            .send()
            .await
            .map_err(|e| {
                let mut e = error("ModifyLoadBalancerAttributes", e);
                if e.message.contains("Access Denied for bucket") {
                    e.message.push_str(
                        ". The access-log bucket's policy must allow s3:PutObject on <bucket>/<prefix>/AWSLogs/<account>/* to the region's Elastic Load Balancing account (or, in newer regions, the service logdelivery.elasticloadbalancing.amazonaws.com): declare it in the bucket's `policy`",
                    );
                }
                e
            })?;
        Ok(())
    }

    async fn describe(&self, arn: &str) -> Result<Option<LoadBalancer>, ProviderError> {
        match self
            .elb
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
        {
            Ok(out) => Ok(out.load_balancers().first().cloned()),
            Err(e) => {
                let e = error("DescribeLoadBalancers", e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Wait until it is `active` (AWS: a few minutes after the create).
    async fn until_active(
        &self,
        req: &Request<'_>,
        arn: &str,
    ) -> Result<LoadBalancer, ProviderError> {
        wait::until(req, "provisioning", || async {
            let lb = self.describe(arn).await?;
            let Some(lb) = lb else {
                return Ok(Poll::Pending("not yet visible".into()));
            };
            let state = lb.state().and_then(|s| s.code()).cloned();
            Ok(match state {
                Some(LoadBalancerStateEnum::Active) => Poll::Ready(lb),
                Some(LoadBalancerStateEnum::Failed) => Poll::Failed("failed".into()),
                Some(s) => Poll::Pending(s.as_str().to_string()),
                None => Poll::Pending("unknown".into()),
            })
        })
        .await
    }
}

/// A load balancer's fields, in the stack's vocabulary.
fn props_of(lb: &LoadBalancer, attrs: &BTreeMap<String, String>) -> Props {
    let flag = |k: &str, default: bool| attrs.get(k).map(|v| v == "true").unwrap_or(default);
    let strs = |v: Vec<String>| Value::List(v.into_iter().map(Value::Str).collect());
    let mut p = Props::from([
        (
            "subnet_ids".to_string(),
            strs(
                lb.availability_zones()
                    .iter()
                    .filter_map(|z| z.subnet_id().map(str::to_string))
                    .collect(),
            ),
        ),
        (
            "security_group_ids".to_string(),
            strs(lb.security_groups().to_vec()),
        ),
        (
            "internal".to_string(),
            Value::Bool(lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal)),
        ),
        (
            "idle_timeout".to_string(),
            Value::Int(attrs.get(IDLE).and_then(|v| v.parse().ok()).unwrap_or(60)),
        ),
        ("http2".to_string(), Value::Bool(flag(HTTP2, true))),
        (
            "drop_invalid_header_fields".to_string(),
            Value::Bool(flag(DROP, false)),
        ),
        (
            "deletion_protection".to_string(),
            Value::Bool(flag(PROTECT, false)),
        ),
    ]);
    let bucket = attrs.get(LOGS_BUCKET).cloned().unwrap_or_default();
    let logs = if bucket.is_empty() {
        Value::Null
    } else {
        Value::Map(BTreeMap::from([
            ("bucket".to_string(), Value::Str(bucket)),
            (
                "prefix".to_string(),
                Value::Str(attrs.get(LOGS_PREFIX).cloned().unwrap_or_default()),
            ),
            ("enabled".to_string(), Value::Bool(flag(LOGS_ON, false))),
        ]))
    };
    p.insert("access_logs".to_string(), logs);
    p
}

/// Access logs are being written.
fn logs_on(props: &Props) -> bool {
    matches!(props.get("access_logs"), Some(Value::Map(m)) if m.get("enabled") == Some(&Value::Bool(true)))
}

fn made(owned: Owned, lb: &LoadBalancer, props: Props) -> Live {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    let mut refs: Vec<String> = lb.security_groups().to_vec();
    refs.extend(
        lb.availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_string)),
    );
    // The log bucket goes after the balancer that writes to it.
    if let Some(Value::Map(logs)) = props.get("access_logs") {
        refs.extend(
            logs.get("bucket")
                .and_then(Value::as_str)
                .map(str::to_string),
        );
    }
    let s = |v: Option<&str>| Value::Str(v.unwrap_or_default().to_string());
    live(
        owned,
        arn,
        props,
        refs,
        &[
            ("arn", s(Some(arn))),
            ("name", s(lb.load_balancer_name())),
            ("dns_name", s(lb.dns_name())),
            ("zone_id", s(lb.canonical_hosted_zone_id())),
            ("arn_suffix", Value::Str(arn_suffix(arn, "loadbalancer"))),
        ],
    )
}

fn strings(props: &Props, k: &str) -> Vec<String> {
    props
        .get(k)
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl Provider for LoadBalancerType {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// At least two subnets (AWS wants two zones).
    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        match r.props.get("subnet_ids") {
            Some(Value::List(l)) if l.len() < 2 => vec![Diagnostic::new(
                r.field_pos.get("subnet_ids").cloned().unwrap_or(r.pos.clone()),
                format!(
                    "`{}`: an application load balancer needs subnets in at least two availability zones ({} given)",
                    r.addr,
                    l.len()
                ),
            )
            .hint("list a subnet of each zone: [\"${public_a.id}\", \"${public_b.id}\"]")],
            _ => Vec::new(),
        }
    }

    /// DescribeLoadBalancers (one page of 400), DescribeTags for those named like this
    /// stack's (20 a call), then DescribeLoadBalancerAttributes for each owned one,
    /// concurrently: 2 + n calls for up to 20 balancers.
    async fn read(
        &self,
        scope: &Scope,
        only: Option<&crate::model::Addr>,
    ) -> Result<Vec<Live>, ProviderError> {
        let ours = owned_load_balancers(&self.elb, scope)
            .await?
            .into_iter()
            .filter(|(_, o)| only.is_none_or(|a| &o.addr == a));
        // A balancer deleted since it was listed is left out.
        let found = try_join_all(ours.map(|(lb, o)| async move {
            let attrs = match self
                .attributes(lb.load_balancer_arn().unwrap_or_default())
                .await
            {
                Ok(a) => a,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            };
            let created = lb.created_time().and_then(crate::aws::millis);
            let mut l = made(o.or_created(created), &lb, props_of(&lb, &attrs));
            match lb.state().and_then(|s| s.code()) {
                Some(LoadBalancerStateEnum::Provisioning) => {
                    l.pending = Some("provisioning".into());
                }
                Some(LoadBalancerStateEnum::Failed) => l.pending = Some("failed".into()),
                _ => {}
            }
            Ok::<_, ProviderError>(Some(l))
        }))
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// The declared fields; `access_logs` left out of the stack means no logs (a live
    /// balancer writing them is changed to stop).
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut changes = default_diff(&SCHEMA, desired, l);
        let want = desired.get("access_logs").cloned().unwrap_or(Value::Null);
        if matches!(want, Value::Null) && logs_on(&l.props) {
            let have = l.props.get("access_logs").cloned().unwrap_or(Value::Null);
            changes.push(unset("access_logs", &have));
        }
        changes
    }

    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        if l.pending.is_none() {
            return Ok(l);
        }
        let lb = self.until_active(req, &l.id).await?;
        let mut next = l.clone();
        next.pending = None;
        next.outputs = made(Owned::made(req), &lb, l.props.clone()).outputs;
        Ok(next)
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = short_name(req.scope, req.addr, req.suffix);
        let scheme = if req.bool("internal") == Some(true) {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        };
        let out = self
            .elb
            .create_load_balancer()
            .name(&name)
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(scheme)
            .set_subnets(Some(strings(req.props, "subnet_ids")))
            .set_security_groups(Some(strings(req.props, "security_group_ids")))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_elasticloadbalancingv2::operation::create_load_balancer::CreateLoadBalancerError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateLoadBalancer", e))?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|lb| lb.load_balancer_arn())
            .ok_or_else(|| {
                ProviderError::new("CreateLoadBalancer", "AWS returned no load balancer")
            })?
            .to_string();
        self.set_attributes(&arn, req.props, false).await?;
        let lb = self.until_active(req, &arn).await?;
        Ok(made(Owned::made(req), &lb, req.props.clone()))
    }

    /// Subnets (SetSubnets), security groups (SetSecurityGroups), then every attribute
    /// in one ModifyLoadBalancerAttributes.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let has = |f: &str| changed.iter().any(|c| c == f);
        if has("subnet_ids") {
            self.elb
                .set_subnets()
                .load_balancer_arn(&l.id)
                .set_subnets(Some(strings(req.props, "subnet_ids")))
                .send()
                .await
                .map_err(|e| error("SetSubnets", e))?;
        }
        if has("security_group_ids") {
            self.elb
                .set_security_groups()
                .load_balancer_arn(&l.id)
                .set_security_groups(Some(strings(req.props, "security_group_ids")))
                .send()
                .await
                .map_err(|e| error("SetSecurityGroups", e))?;
        }
        let attrs = [
            "idle_timeout",
            "http2",
            "drop_invalid_header_fields",
            "deletion_protection",
            "access_logs",
        ];
        if attrs.iter().any(|a| has(a)) {
            self.set_attributes(&l.id, req.props, logs_on(&l.props))
                .await?;
        }
        let mut next = l.clone();
        next.props = req.props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.elb, l, delta).await
    }

    /// DeleteLoadBalancer (its listeners and rules go with it), then wait until it is
    /// gone. Its network interfaces are released later: deleting its security groups
    /// may see DependencyViolation for some minutes (the security group's delete retries).
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let result = deleted(
            "DeleteLoadBalancer",
            self.elb
                .delete_load_balancer()
                .load_balancer_arn(&l.id)
                .send()
                .await,
        );
        if let Err(mut e) = result {
            if e.code.as_deref() == Some("OperationNotPermitted") {
                e.message = format!(
                    "{}. `{}` has deletion protection on: set `deletion_protection: false` for it (in the stack or the environment's parameters) and apply, then delete it",
                    e.message, l.addr
                );
            }
            return Err(e);
        }
        wait::until(req, "deleting", || async {
            Ok(match self.describe(&l.id).await? {
                None => Poll::Ready(()),
                Some(lb) => Poll::Pending(
                    lb.state()
                        .and_then(|s| s.code())
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_else(|| "deleting".into()),
                ),
            })
        })
        .await
    }
}
