//! Elastic Load Balancing v2: application load balancers, target groups, listeners and
//! rules (one file each), and what they share: ELB's error codes, tags (read 20 ARNs per
//! DescribeTags, written by ARN), short names (32 characters at most), the discovery of
//! this stack's load balancers (which listeners and rules hang off), and the action a
//! listener or rule takes (`forward`, `redirect`, `fixed_response`).

pub mod listener;
pub mod listener_rule;
pub mod load_balancer;
pub mod target_group;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::config::{Diagnostic, Resource};
use crate::model::schema::{Default, Field, Kind};
use crate::model::{Addr, Props, Value};
use crate::provider::{ErrorKind, Live, ProviderError, Request, Scope, TagDelta};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, LoadBalancer, LoadBalancerTypeEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum, Tag,
};
use aws_sdk_elasticloadbalancingv2::Client;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

/// The kind of an ELB error code (`LoadBalancerNotFound`, `TargetGroupNotFound`,
/// `ListenerNotFound`, `RuleNotFound`, `ResourceInUse`, `DuplicateTargetGroupName`...).
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        c if c.ends_with("NotFound") => ErrorKind::NotFound,
        "ResourceInUse" => ErrorKind::InUse,
        c if c.starts_with("Duplicate") || c == "PriorityInUse" => ErrorKind::Conflict,
        _ => return None,
    })
}

/// Just made and not yet seen by the call that names it (a listener naming the target
/// group made a moment before, a rule naming its new listener).
const NOT_YET_VISIBLE: &[&str] = &[
    "TargetGroupNotFound",
    "LoadBalancerNotFound",
    "ListenerNotFound",
    "CertificateNotFound",
];

service_calls!(aws_sdk_elasticloadbalancingv2, NOT_YET_VISIBLE, codes);

/// DescribeTags takes at most 20 ARNs per call.
const TAGS_PER_CALL: usize = 20;

/// ELB names (load balancers, target groups) are at most 32 characters.
const NAME_MAX: usize = 32;

/// The tags a new resource is created with.
pub fn tags(req: &Request<'_>) -> Vec<Tag> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Letters, digits and single hyphens, none at either end: what ELB names allow.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_string()
}

/// FNV-1a: a hash that stays the same across builds and versions (names are made once
/// and read back later).
fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// How many leading characters of `<stack>-<env>-<address>` every name keeps, however
/// long: 32, less `-<suffix>` (7) and `-<hash>` (7).
const KEPT: usize = NAME_MAX - 7 - 7;

/// The ELB name of `addr`: `<stack>-<env>-<address>` in letters, digits and hyphens when
/// it fits in 32 characters, else its first characters and a hash of the whole; with
/// `-<suffix>` for a replacement made beside the copy it replaces.
pub fn short_name(scope: &Scope, addr: &Addr, suffix: Option<&str>) -> String {
    let full = sanitize(&scope.name_for(addr));
    let tail = suffix
        .map(sanitize)
        .filter(|s| !s.is_empty())
        .map(|s| format!("-{}", &s[..s.len().min(6)]))
        .unwrap_or_default();
    let room = NAME_MAX - tail.len();
    let base = if full.len() <= room {
        full
    } else {
        let keep = &full[..room - 7];
        format!(
            "{}-{:06x}",
            keep.trim_end_matches('-'),
            fnv(&full) & 0x00ff_ffff
        )
    };
    format!("{base}{tail}")
}

/// What every name of this stack and environment starts with (`short_name` keeps it).
pub fn name_prefix(scope: &Scope) -> String {
    let mut p = sanitize(&format!("{}-{}-x", scope.stack, scope.env));
    p.pop();
    p.truncate(KEPT);
    p
}

/// The tags of each ARN, 20 per DescribeTags call, the calls made concurrently.
pub async fn describe_tags(
    elb: &Client,
    arns: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ProviderError> {
    let calls = arns.chunks(TAGS_PER_CALL).map(|chunk| async move {
        elb.describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| error("DescribeTags", e))
    });
    let mut out = BTreeMap::new();
    for answer in try_join_all(calls).await? {
        for d in answer.tag_descriptions() {
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            out.insert(d.resource_arn().unwrap_or_default().to_string(), tags);
        }
    }
    Ok(out)
}

/// Every application load balancer named like this stack's (one paginated
/// DescribeLoadBalancers, 400 a page).
pub async fn candidate_load_balancers(
    elb: &Client,
    scope: &Scope,
) -> Result<Vec<LoadBalancer>, ProviderError> {
    let prefix = name_prefix(scope);
    let all: Vec<LoadBalancer> = elb
        .describe_load_balancers()
        .page_size(400)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| error("DescribeLoadBalancers", e))?;
    Ok(all
        .into_iter()
        .filter(|lb| lb.r#type() == Some(&LoadBalancerTypeEnum::Application))
        .filter(|lb| {
            lb.load_balancer_name()
                .unwrap_or_default()
                .starts_with(&prefix)
        })
        .collect())
}

/// This stack's application load balancers with what their tags say: DescribeLoadBalancers
/// and DescribeTags (20 a call) for those named like ours.
pub async fn owned_load_balancers(
    elb: &Client,
    scope: &Scope,
) -> Result<Vec<(LoadBalancer, Owned)>, ProviderError> {
    let lbs = candidate_load_balancers(elb, scope).await?;
    let arns: Vec<String> = lbs
        .iter()
        .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
        .collect();
    let mut tags = describe_tags(elb, &arns).await?;
    Ok(lbs
        .into_iter()
        .filter_map(|lb| {
            let t = tags.remove(lb.load_balancer_arn()?)?;
            let owned = super::owned(scope, t)?;
            Some((lb, owned))
        })
        .collect())
}

/// A listing under a parent that may have just been deleted (by another run, or with
/// its load balancer): gone means nothing under it.
pub fn or_none<T>(r: Result<Vec<T>, ProviderError>) -> Result<Vec<T>, ProviderError> {
    match r {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        other => other,
    }
}

/// Set and remove tags on any ELB resource (its id is its ARN).
pub async fn retag(elb: &Client, live: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build());
        elb.add_tags()
            .resource_arns(&live.id)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .map_err(|e| error("AddTags", e))?;
    }
    if !delta.remove.is_empty() {
        elb.remove_tags()
            .resource_arns(&live.id)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("RemoveTags", e))?;
    }
    Ok(())
}

/// Whose an ELB resource is, for messages naming what is in the way.
pub fn whose(scope: &Scope, tags: Option<&BTreeMap<String, String>>) -> String {
    match tags.and_then(|t| super::owned(scope, t.clone())) {
        Some(o) => format!("`{}` of this stack", o.addr),
        None => "not owned by this stack".to_string(),
    }
}

/// `arn:...:loadbalancer/app/name/id` -> `app/name/id` (what CloudWatch metrics and WAF
/// logs name it by); the same for target groups.
pub fn arn_suffix(arn: &str, kind: &str) -> String {
    arn.split_once(&format!(":{kind}/"))
        .map(|(_, s)| {
            if kind == "targetgroup" {
                format!("targetgroup/{s}")
            } else {
                s.to_string()
            }
        })
        .unwrap_or_default()
}

static REDIRECT: &[Field] = &[
    Field {
        default: Some(Default::Str("#{protocol}")),
        ..Field::new(
            "protocol",
            Kind::Str,
            "HTTP, HTTPS or #{protocol} (the default: keep it)",
        )
    },
    Field {
        default: Some(Default::Str("#{port}")),
        ..Field::new(
            "port",
            Kind::Str,
            "the port, quoted (\"443\"), or #{port} (the default)",
        )
    },
    Field {
        default: Some(Default::Str("#{host}")),
        ..Field::new("host", Kind::Str, "the host, or #{host} (the default)")
    },
    Field {
        default: Some(Default::Str("/#{path}")),
        ..Field::new("path", Kind::Str, "the path, or /#{path} (the default)")
    },
    Field {
        default: Some(Default::Str("#{query}")),
        ..Field::new(
            "query",
            Kind::Str,
            "the query string, or #{query} (the default)",
        )
    },
    Field {
        default: Some(Default::Str("HTTP_301")),
        ..Field::new(
            "status_code",
            Kind::OneOf(&["HTTP_301", "HTTP_302"]),
            "permanent (HTTP_301, the default) or temporary (HTTP_302)",
        )
    },
];

static FIXED_RESPONSE: &[Field] = &[
    Field {
        required: true,
        ..Field::new("status_code", Kind::Str, "the HTTP status, quoted: \"404\"")
    },
    Field {
        default: Some(Default::Str("text/plain")),
        ..Field::new(
            "content_type",
            Kind::OneOf(&[
                "text/plain",
                "text/css",
                "text/html",
                "application/javascript",
                "application/json",
            ]),
            "the body's content type (text/plain by default)",
        )
    },
    Field {
        default: Some(Default::Str("")),
        ..Field::new("message_body", Kind::Str, "the body (empty by default)")
    },
];

/// What a listener or rule does with a request: exactly one of `forward` (a target
/// group's ARN), `redirect` or `fixed_response`.
pub static ACTION: &[Field] = &[
    Field::new(
        "forward",
        Kind::Str,
        "the ARN of the target group to send requests to: ${frontend_tg.arn}",
    ),
    Field::new(
        "redirect",
        Kind::Object(REDIRECT),
        "send a redirect: { protocol: HTTPS, port: \"443\", status_code: HTTP_301 }",
    ),
    Field::new(
        "fixed_response",
        Kind::Object(FIXED_RESPONSE),
        "answer by itself: { status_code: \"404\", content_type: text/plain, message_body: ... }",
    ),
];

fn field<'a>(m: &'a BTreeMap<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// The declared action (`ACTION`) as ELB takes it.
pub fn to_action(v: Option<&Value>, operation: &str) -> Result<Action, ProviderError> {
    let bad = |why: &str| ProviderError::new(operation, why.to_string());
    let Some(Value::Map(m)) = v else {
        return Err(bad(
            "the action must be a mapping with `forward`, `redirect` or `fixed_response`",
        ));
    };
    let given: Vec<&str> = ["forward", "redirect", "fixed_response"]
        .into_iter()
        .filter(|k| m.get(*k).is_some_and(|v| !matches!(v, Value::Null)))
        .collect();
    match given.as_slice() {
        ["forward"] => Ok(Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(field(m, "forward"))
            .build()),
        ["redirect"] => {
            let Some(Value::Map(r)) = m.get("redirect") else {
                return Err(bad("`redirect` must be a mapping"));
            };
            Ok(Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .redirect_config(
                    RedirectActionConfig::builder()
                        .protocol(field(r, "protocol"))
                        .port(field(r, "port"))
                        .host(field(r, "host"))
                        .path(field(r, "path"))
                        .query(field(r, "query"))
                        .status_code(RedirectActionStatusCodeEnum::from(field(r, "status_code")))
                        .build(),
                )
                .build())
        }
        ["fixed_response"] => {
            let Some(Value::Map(f)) = m.get("fixed_response") else {
                return Err(bad("`fixed_response` must be a mapping"));
            };
            let body = field(f, "message_body");
            Ok(Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code(field(f, "status_code"))
                        .content_type(field(f, "content_type"))
                        .set_message_body((!body.is_empty()).then(|| body.to_string()))
                        .build(),
                )
                .build())
        }
        _ => Err(bad(
            "the action must have exactly one of `forward`, `redirect` or `fixed_response`",
        )),
    }
}

/// ELB's actions in the stack's vocabulary (the last one is what a request ends with;
/// authentication actions before it are not managed here).
pub fn from_actions(actions: &[Action]) -> Value {
    let Some(a) = actions.iter().max_by_key(|a| a.order().unwrap_or(0)) else {
        return Value::Null;
    };
    let s = |v: Option<&str>| Value::Str(v.unwrap_or_default().to_string());
    let one = |k: &str, v: Value| Value::Map(BTreeMap::from([(k.to_string(), v)]));
    match a.r#type() {
        Some(ActionTypeEnum::Forward) => {
            let arn = a.target_group_arn().or_else(|| {
                a.forward_config()
                    .and_then(|f| f.target_groups().first())
                    .and_then(|t| t.target_group_arn())
            });
            one("forward", s(arn))
        }
        Some(ActionTypeEnum::Redirect) => {
            let r = a.redirect_config();
            let m = BTreeMap::from([
                ("protocol".to_string(), s(r.and_then(|r| r.protocol()))),
                ("port".to_string(), s(r.and_then(|r| r.port()))),
                ("host".to_string(), s(r.and_then(|r| r.host()))),
                ("path".to_string(), s(r.and_then(|r| r.path()))),
                ("query".to_string(), s(r.and_then(|r| r.query()))),
                (
                    "status_code".to_string(),
                    s(r.and_then(|r| r.status_code()).map(|c| c.as_str())),
                ),
            ]);
            one("redirect", Value::Map(m))
        }
        Some(ActionTypeEnum::FixedResponse) => {
            let f = a.fixed_response_config();
            let m = BTreeMap::from([
                (
                    "status_code".to_string(),
                    s(f.and_then(|f| f.status_code())),
                ),
                (
                    "content_type".to_string(),
                    s(f.and_then(|f| f.content_type())),
                ),
                (
                    "message_body".to_string(),
                    s(f.and_then(|f| f.message_body())),
                ),
            ]);
            one("fixed_response", Value::Map(m))
        }
        other => one("unmanaged", s(other.map(|t| t.as_str()))),
    }
}

/// Where `field` of `r` was written (the resource itself if not known).
pub fn pos_of(r: &Resource, field: &str) -> crate::config::Pos {
    r.field_pos.get(field).cloned().unwrap_or(r.pos.clone())
}

/// A declared action (`field` of `r`) must say exactly one thing to do.
pub fn check_action(r: &Resource, field: &str) -> Option<Diagnostic> {
    let Some(Value::Map(m)) = r.props.get(field) else {
        return None;
    };
    let given = ["forward", "redirect", "fixed_response"]
        .into_iter()
        .filter(|k| m.get(*k).is_some_and(|v| !matches!(v, Value::Null)))
        .count();
    (given != 1).then(|| {
        Diagnostic::new(
            pos_of(r, field),
            format!(
                "`{}`: {field} must have exactly one of `forward`, `redirect` or `fixed_response` ({given} given)",
                r.addr
            ),
        )
        .hint("for example `{ forward: \"${frontend_tg.arn}\" }`")
    })
}

/// The target group ARN an action forwards to, if it does.
pub fn forwards_to(action: Option<&Value>) -> Option<String> {
    match action {
        Some(Value::Map(m)) => m.get("forward").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// A string property as ELB's integers are sent.
pub fn int(props: &Props, k: &str) -> Option<i32> {
    props
        .get(k)
        .and_then(Value::as_int)
        .and_then(|i| i32::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(stack: &str, env: &str) -> Scope {
        Scope {
            stack: stack.into(),
            env: env.into(),
            ..std::default::Default::default()
        }
    }

    #[test]
    fn short_names_fit_in_32_characters_and_keep_the_stack_prefix() {
        let s = scope("bandup", "prod");
        assert_eq!(short_name(&s, &Addr("alb".into()), None), "bandup-prod-alb");
        assert_eq!(
            short_name(&s, &Addr("frontend_tg".into()), Some("a1b2c3")),
            "bandup-prod-frontend-tg-a1b2c3"
        );
        let long = Addr("a_very_long_target_group_name[eu-west-2a]".into());
        for suffix in [None, Some("a1b2c3")] {
            let n = short_name(&s, &long, suffix);
            assert!(n.len() <= 32, "{n}");
            assert!(n.starts_with(&name_prefix(&s)), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            assert!(!n.ends_with('-') && !n.contains("--"), "{n}");
        }
        // Deterministic, and different addresses get different names.
        assert_eq!(short_name(&s, &long, None), short_name(&s, &long, None));
        let other = Addr("a_very_long_target_group_name[eu-west-2b]".into());
        assert_ne!(short_name(&s, &long, None), short_name(&s, &other, None));
        let very = scope("a-stack-with-a-long-name", "staging");
        let n = short_name(&very, &Addr("alb".into()), Some("zzzzzz"));
        assert!(n.len() <= 32 && n.starts_with(&name_prefix(&very)), "{n}");
    }

    #[test]
    fn actions_read_back_as_declared() {
        let declared = Value::Map(BTreeMap::from([(
            "redirect".to_string(),
            Value::Map(BTreeMap::from([
                ("protocol".to_string(), Value::Str("HTTPS".into())),
                ("port".to_string(), Value::Str("443".into())),
                ("host".to_string(), Value::Str("#{host}".into())),
                ("path".to_string(), Value::Str("/#{path}".into())),
                ("query".to_string(), Value::Str("#{query}".into())),
                ("status_code".to_string(), Value::Str("HTTP_301".into())),
            ])),
        )]));
        let a = to_action(Some(&declared), "t").expect("action");
        assert_eq!(from_actions(&[a]), declared);
        let both = Value::Map(BTreeMap::from([
            ("forward".to_string(), Value::Str("arn".into())),
            ("redirect".to_string(), Value::Map(BTreeMap::new())),
        ]));
        assert!(to_action(Some(&both), "t").is_err());
    }
}
