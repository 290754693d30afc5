//! `aws_lb_listener_rule`: a rule of a listener (paths and host names it matches, at a
//! priority) and its action (forward `/api/*` to the backend). Tagged at creation
//! (CreateRule takes tags), so found by its tags among the rules of this stack's
//! listeners; priority (SetRulePriorities), conditions and action (ModifyRule) change
//! in place.

use super::listener::listeners_of;
use super::{
    candidate_load_balancers, check_action, deleted, describe_tags, error, forwards_to,
    from_actions, once, pos_of, retag, tags, to_action, ACTION,
};
use crate::aws::{live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, PathPatternConditionConfig, Rule, RuleCondition, RulePriorityPair,
};
use aws_sdk_elasticloadbalancingv2::Client;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

static CONDITIONS: &[Field] = &[
    Field {
        default: Some(Default::EmptyList),
        ..Field::new(
            "path_patterns",
            Kind::List(&Kind::Str),
            "paths it matches (* and ? are wildcards): [\"/api/*\"]",
        )
    },
    Field {
        default: Some(Default::EmptyList),
        ..Field::new(
            "host_headers",
            Kind::List(&Kind::Str),
            "host names it matches: [\"api.example.com\"]",
        )
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lb_listener_rule",
    doc: "A listener rule: requests matching its conditions get its action.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a rule belongs to one listener"),
            ..Field::new("listener_arn", Kind::Str, "the listener: ${https.arn}")
        },
        Field {
            required: true,
            ..Field::new(
                "priority",
                Kind::Int,
                "1 to 50000, lower first; unique within the listener",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "conditions",
                Kind::Object(CONDITIONS),
                "{ path_patterns: [...], host_headers: [...] }: a request must match every list given",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "action",
                Kind::Object(ACTION),
                "{ forward: ARN } or { redirect: {...} } or { fixed_response: {...} }",
            )
        },
    ],
    attributes: &["id", "arn"],
};

/// The provider of `aws_lb_listener_rule`.
pub struct ListenerRuleType {
    elb: Client,
}

impl ListenerRuleType {
    pub fn new(c: &Clients) -> Self {
        ListenerRuleType {
            elb: c.elbv2.clone(),
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The declared conditions as ELB takes them.
fn conditions(props: &Props) -> Vec<RuleCondition> {
    let Some(Value::Map(m)) = props.get("conditions") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let paths = strings(m.get("path_patterns"));
    if !paths.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("path-pattern")
                .path_pattern_config(
                    PathPatternConditionConfig::builder()
                        .set_values(Some(paths))
                        .build(),
                )
                .build(),
        );
    }
    let hosts = strings(m.get("host_headers"));
    if !hosts.is_empty() {
        out.push(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .set_values(Some(hosts))
                        .build(),
                )
                .build(),
        );
    }
    out
}

fn props_of(listener: &str, r: &Rule) -> Props {
    let mut paths = Vec::new();
    let mut hosts = Vec::new();
    for c in r.conditions() {
        match c.field() {
            Some("path-pattern") => {
                let v = c
                    .path_pattern_config()
                    .map(|p| p.values())
                    .unwrap_or_default();
                paths.extend(if v.is_empty() { c.values() } else { v }.iter().cloned());
            }
            Some("host-header") => {
                let v = c
                    .host_header_config()
                    .map(|h| h.values())
                    .unwrap_or_default();
                hosts.extend(if v.is_empty() { c.values() } else { v }.iter().cloned());
            }
            _ => {}
        }
    }
    let list = |v: Vec<String>| Value::List(v.into_iter().map(Value::Str).collect());
    Props::from([
        ("listener_arn".to_string(), Value::Str(listener.to_string())),
        (
            "priority".to_string(),
            r.priority()
                .and_then(|p| p.parse().ok())
                .map(Value::Int)
                .unwrap_or(Value::Null),
        ),
        (
            "conditions".to_string(),
            Value::Map(BTreeMap::from([
                ("path_patterns".to_string(), list(paths)),
                ("host_headers".to_string(), list(hosts)),
            ])),
        ),
        ("action".to_string(), from_actions(r.actions())),
    ])
}

fn made(owned: Owned, arn: &str, props: Props) -> Live {
    let mut refs: Vec<String> = props
        .get("listener_arn")
        .and_then(Value::as_str)
        .map(str::to_string)
        .into_iter()
        .collect();
    refs.extend(forwards_to(props.get("action")));
    live(
        owned,
        arn,
        props,
        refs,
        &[("arn", Value::Str(arn.to_string()))],
    )
}

#[async_trait]
impl Provider for ListenerRuleType {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// The action says one thing to do, at least one condition is given, and the
    /// priority is one AWS takes.
    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = check_action(r, "action").into_iter().collect();
        let same_slot = stack.resources.iter().find(|o| {
            o.type_name == SCHEMA.type_name
                && o.addr < r.addr
                && o.props.get("listener_arn") == r.props.get("listener_arn")
                && o.props.get("priority") == r.props.get("priority")
        });
        if let Some(o) = same_slot {
            out.push(
                Diagnostic::new(
                    pos_of(r, "priority"),
                    format!(
                        "`{}` has the priority of `{}` on the same listener: AWS wants each rule of a listener at its own priority",
                        r.addr, o.addr
                    ),
                )
                .hint("give one of them another priority"),
            );
        }
        if let Some(Value::Map(m)) = r.props.get("conditions") {
            let empty = |k: &str| matches!(m.get(k), Some(Value::List(l)) if l.is_empty());
            if empty("path_patterns") && empty("host_headers") {
                out.push(
                    Diagnostic::new(
                        pos_of(r, "conditions"),
                        format!("`{}`: a rule needs at least one condition", r.addr),
                    )
                    .hint("give `path_patterns` or `host_headers`, e.g. { path_patterns: [\"/api/*\"] }"),
                );
            }
        }
        if let Some(p) = r.props.get("priority").and_then(Value::as_int) {
            if !(1..=50_000).contains(&p) {
                out.push(
                    Diagnostic::new(
                        pos_of(r, "priority"),
                        format!("`{}`: priority {p} is not between 1 and 50000", r.addr),
                    )
                    .hint("lower numbers are matched first; each rule of a listener needs its own"),
                );
            }
        }
        out
    }

    /// The load balancers named like this stack's (DescribeLoadBalancers), their
    /// listeners (DescribeListeners each), the rules of each listener (DescribeRules
    /// each), all concurrently, then DescribeTags for the rules that are not a
    /// listener's default (20 a call), which say whose each rule is: 2 + balancers +
    /// listeners calls.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let lbs = candidate_load_balancers(&self.elb, scope).await?;
        let per_lb = try_join_all(
            lbs.iter()
                .map(|lb| listeners_of(&self.elb, lb.load_balancer_arn().unwrap_or_default())),
        )
        .await?;
        let listeners: Vec<String> = per_lb
            .into_iter()
            .flatten()
            .filter_map(|l| l.listener_arn().map(str::to_string))
            .collect();
        let per_listener = try_join_all(listeners.iter().map(|arn| async move {
            let rules: Vec<Rule> = super::or_none(
                self.elb
                    .describe_rules()
                    .listener_arn(arn)
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<Result<Vec<_>, _>>()
                    .await
                    .map_err(|e| error("DescribeRules", e)),
            )?;
            Ok::<_, ProviderError>((arn, rules))
        }))
        .await?;
        let rules: Vec<(&String, Rule)> = per_listener
            .into_iter()
            .flat_map(|(arn, rules)| rules.into_iter().map(move |r| (arn, r)))
            .filter(|(_, r)| r.is_default() != Some(true))
            .collect();
        let arns: Vec<String> = rules
            .iter()
            .filter_map(|(_, r)| r.rule_arn().map(str::to_string))
            .collect();
        let mut tags = describe_tags(&self.elb, &arns).await?;
        Ok(rules
            .iter()
            .filter_map(|(listener, r)| {
                let arn = r.rule_arn()?;
                let o = crate::aws::owned(scope, tags.remove(arn)?)?;
                only.is_none_or(|a| &o.addr == a)
                    .then(|| made(o, arn, props_of(listener, r)))
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let action = to_action(req.get("action"), "CreateRule")?;
        let priority = req.int("priority").and_then(|p| i32::try_from(p).ok());
        let out = self
            .elb
            .create_rule()
            .listener_arn(req.str("listener_arn"))
            .set_priority(priority)
            .set_conditions(Some(conditions(req.props)))
            .actions(action)
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_elasticloadbalancingv2::operation::create_rule::CreateRuleError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateRule", e))?;
        let arn = out
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .ok_or_else(|| ProviderError::new("CreateRule", "AWS returned no rule"))?;
        Ok(made(Owned::made(req), arn, req.props.clone()))
    }

    /// The priority with SetRulePriorities, conditions and action with ModifyRule, each
    /// only if it differs.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        if changed.iter().any(|c| c == "priority") {
            let priority = req.int("priority").and_then(|p| i32::try_from(p).ok());
            self.elb
                .set_rule_priorities()
                .rule_priorities(
                    RulePriorityPair::builder()
                        .rule_arn(&l.id)
                        .set_priority(priority)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| error("SetRulePriorities", e))?;
        }
        if changed.iter().any(|c| c == "conditions" || c == "action") {
            let action = to_action(req.get("action"), "ModifyRule")?;
            self.elb
                .modify_rule()
                .rule_arn(&l.id)
                .set_conditions(Some(conditions(req.props)))
                .actions(action)
                .customize()
                .config_override(super::eventually::<
                    aws_sdk_elasticloadbalancingv2::operation::modify_rule::ModifyRuleError,
                >())
                .send()
                .await
                .map_err(|e| error("ModifyRule", e))?;
        }
        Ok(made(Owned::of(l), &l.id, req.props.clone()))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.elb, l, delta).await
    }

    /// DeleteRule; already gone (with its listener) counts as done.
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeleteRule",
            self.elb.delete_rule().rule_arn(&l.id).send().await,
        )
    }
}
