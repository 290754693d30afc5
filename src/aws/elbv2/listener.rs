//! `aws_lb_listener`: a port of a load balancer and what it does with requests by
//! default (forward to a target group, redirect, answer by itself); for HTTPS its TLS
//! policy and certificate. Tagged like every resource (CreateListener takes tags), so
//! found by its tags among the listeners of this stack's load balancers; everything
//! but the load balancer changes in place (ModifyListener).

use super::{
    candidate_load_balancers, check_action, deleted, describe_tags, error, forwards_to,
    from_actions, int, once, pos_of, retag, tags, to_action, ACTION,
};
use crate::aws::{live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener, ProtocolEnum};
use aws_sdk_elasticloadbalancingv2::Client;
use futures_util::future::try_join_all;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lb_listener",
    doc: "A load balancer's listener: a port, its protocol and its default action.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a listener belongs to one load balancer"),
            ..Field::new("load_balancer_arn", Kind::Str, "the load balancer: ${alb.arn}")
        },
        Field {
            required: true,
            ..Field::new("port", Kind::Int, "the port it listens on (80, 443)")
        },
        Field {
            required: true,
            ..Field::new("protocol", Kind::OneOf(&["HTTP", "HTTPS"]), "HTTP or HTTPS")
        },
        Field::new(
            "ssl_policy",
            Kind::Str,
            "for HTTPS: the TLS policy, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06 (TLS 1.3 and 1.2 only)",
        ),
        Field::new(
            "certificate_arn",
            Kind::Str,
            "for HTTPS: the certificate's ARN (an issued ACM certificate)",
        ),
        Field {
            required: true,
            ..Field::new(
                "default_action",
                Kind::Object(ACTION),
                "what it does with a request no rule takes: { forward: ARN } or { redirect: {...} } or { fixed_response: {...} }",
            )
        },
    ],
    attributes: &["id", "arn"],
};

/// The provider of `aws_lb_listener`.
pub struct ListenerType {
    elb: Client,
}

impl ListenerType {
    pub fn new(c: &Clients) -> Self {
        ListenerType {
            elb: c.elbv2.clone(),
        }
    }
}

/// Every listener of the load balancer `arn` (DescribeListeners, paginated).
/// A balancer deleted meanwhile has none.
pub async fn listeners_of(elb: &Client, arn: &str) -> Result<Vec<Listener>, ProviderError> {
    super::or_none(
        elb.describe_listeners()
            .load_balancer_arn(arn)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("DescribeListeners", e)),
    )
}

fn props_of(l: &Listener) -> Props {
    let s = |v: Option<&str>| v.map(|v| Value::Str(v.to_string())).unwrap_or(Value::Null);
    let cert = l
        .certificates()
        .iter()
        .find(|c| c.is_default().unwrap_or(true))
        .or(l.certificates().first())
        .and_then(|c| c.certificate_arn());
    Props::from([
        ("load_balancer_arn".to_string(), s(l.load_balancer_arn())),
        (
            "port".to_string(),
            l.port()
                .map(|p| Value::Int(i64::from(p)))
                .unwrap_or(Value::Null),
        ),
        ("protocol".to_string(), s(l.protocol().map(|p| p.as_str()))),
        ("ssl_policy".to_string(), s(l.ssl_policy())),
        ("certificate_arn".to_string(), s(cert)),
        (
            "default_action".to_string(),
            from_actions(l.default_actions()),
        ),
    ])
}

fn made(owned: Owned, arn: &str, props: Props) -> Live {
    let mut refs: Vec<String> = ["load_balancer_arn", "certificate_arn"]
        .iter()
        .filter_map(|k| props.get(*k).and_then(Value::as_str).map(str::to_string))
        .collect();
    refs.extend(forwards_to(props.get("default_action")));
    live(
        owned,
        arn,
        props,
        refs,
        &[("arn", Value::Str(arn.to_string()))],
    )
}

fn certificates(req: &Request<'_>) -> Option<Vec<Certificate>> {
    req.get("certificate_arn")
        .and_then(Value::as_str)
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()])
}

#[async_trait]
impl Provider for ListenerType {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// The default action says one thing to do; HTTPS has a certificate, HTTP none.
    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = check_action(r, "default_action").into_iter().collect();
        let given = |k: &str| r.props.get(k).is_some_and(|v| !matches!(v, Value::Null));
        match r.props.get("protocol").and_then(Value::as_str) {
            Some("HTTPS") if !given("certificate_arn") => out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!("`{}`: an HTTPS listener needs `certificate_arn`", r.addr),
                )
                .hint(
                    "the ARN of an issued ACM certificate for the site's names: ${certificate.arn}",
                ),
            ),
            Some("HTTP") => {
                for k in ["certificate_arn", "ssl_policy"] {
                    if given(k) {
                        out.push(
                            Diagnostic::new(
                                pos_of(r, k),
                                format!("`{}`: an HTTP listener takes no `{k}`", r.addr),
                            )
                            .hint("remove it, or make the listener HTTPS"),
                        );
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// The load balancers named like this stack's (DescribeLoadBalancers), then
    /// DescribeListeners for each, concurrently, then DescribeTags for their listeners
    /// (20 a call), which say whose each listener is: 2 + n calls for n balancers.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let lbs = candidate_load_balancers(&self.elb, scope).await?;
        let per_lb = try_join_all(
            lbs.iter()
                .map(|lb| listeners_of(&self.elb, lb.load_balancer_arn().unwrap_or_default())),
        )
        .await?;
        let listeners: Vec<Listener> = per_lb.into_iter().flatten().collect();
        let arns: Vec<String> = listeners
            .iter()
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        let mut tags = describe_tags(&self.elb, &arns).await?;
        Ok(listeners
            .iter()
            .filter_map(|l| {
                let arn = l.listener_arn()?;
                let o = crate::aws::owned(scope, tags.remove(arn)?)?;
                only.is_none_or(|a| &o.addr == a)
                    .then(|| made(o, arn, props_of(l)))
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let action = to_action(req.get("default_action"), "CreateListener")?;
        let out = self
            .elb
            .create_listener()
            .load_balancer_arn(req.str("load_balancer_arn"))
            .set_port(int(req.props, "port"))
            .protocol(ProtocolEnum::from(req.str("protocol")))
            .set_ssl_policy(
                req.get("ssl_policy")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_certificates(certificates(req))
            .default_actions(action)
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_elasticloadbalancingv2::operation::create_listener::CreateListenerError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateListener", e))?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| ProviderError::new("CreateListener", "AWS returned no listener"))?;
        Ok(made(Owned::made(req), arn, req.props.clone()))
    }

    /// One ModifyListener with every field: port, protocol, TLS policy, certificate and
    /// default action (moving it to a new target group is how a replaced group is let go).
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let action = to_action(req.get("default_action"), "ModifyListener")?;
        self.elb
            .modify_listener()
            .listener_arn(&l.id)
            .set_port(int(req.props, "port"))
            .protocol(ProtocolEnum::from(req.str("protocol")))
            .set_ssl_policy(
                req.get("ssl_policy")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_certificates(certificates(req))
            .default_actions(action)
            .customize()
            .config_override(super::eventually::<
                aws_sdk_elasticloadbalancingv2::operation::modify_listener::ModifyListenerError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifyListener", e))?;
        Ok(made(Owned::of(l), &l.id, req.props.clone()))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.elb, l, delta).await
    }

    /// DeleteListener (its rules go with it); already gone (with its load balancer)
    /// counts as done.
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeleteListener",
            self.elb.delete_listener().listener_arn(&l.id).send().await,
        )
    }
}
