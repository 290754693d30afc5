//! `aws_wafv2_web_acl`: a regional web ACL (for load balancers) written small: a default
//! action, AWS managed rule groups by name and an optional per-IP rate limit, from which
//! the rules are built with priorities in the order given and metrics on. Named
//! `<stack>-<env>-<address>`; everything changes in place, with the lock token
//! (a concurrent change is retried with a fresh one).

use super::{deleted, error, eventually, list_tags, once, retag, tags};
use crate::aws::{live, name_blockers, tag_index, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_wafv2::types::{
    AllowAction, BlockAction, DefaultAction, ManagedRuleGroupStatement, NoneAction, OverrideAction,
    RateBasedStatement, RateBasedStatementAggregateKeyType, ResourceType, Rule, RuleAction,
    Scope as WafScope, Statement, VisibilityConfig, WebAcl,
};
use futures_util::future::try_join_all;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_wafv2_web_acl",
    doc: "A regional WAF web ACL: AWS managed rule groups and a per-IP rate limit.",
    fields: &[
        Field {
            default: Some(Default::Str("Managed by bandup-infra")),
            ..Field::new("description", Kind::Str, "what it protects")
        },
        Field {
            default: Some(Default::Str("allow")),
            ..Field::new(
                "default_action",
                Kind::OneOf(&["allow", "block"]),
                "what happens to a request no rule blocks",
            )
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "managed_rule_groups",
                Kind::List(&Kind::Str),
                "AWS managed rule groups, e.g. AWSManagedRulesCommonRuleSet, in priority order",
            )
        },
        Field::new(
            "rate_limit",
            Kind::Int,
            "requests per 5 minutes one IP address may make before it is blocked (none: no limit)",
        ),
    ],
    attributes: &["id", "arn", "name"],
};

/// The rate rule's name.
const RATE_RULE: &str = "rate-limit";

/// The provider of `aws_wafv2_web_acl`.
pub struct WebAclType {
    waf: aws_sdk_wafv2::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl WebAclType {
    pub fn new(c: &Clients) -> Self {
        WebAclType {
            waf: c.wafv2.clone(),
            tagging: c.tagging.clone(),
        }
    }
}

fn bad(e: impl ToString) -> ProviderError {
    ProviderError::new("build web ACL", e.to_string())
}

fn visibility(metric: &str) -> Result<VisibilityConfig, ProviderError> {
    VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(true)
        .metric_name(metric)
        .build()
        .map_err(bad)
}

fn default_action(props: &Props) -> DefaultAction {
    match crate::aws::prop_str(props, "default_action") {
        "block" => DefaultAction::builder()
            .block(BlockAction::builder().build())
            .build(),
        _ => DefaultAction::builder()
            .allow(AllowAction::builder().build())
            .build(),
    }
}

/// The rules `props` describe: each managed group in order (priority 0, 1, ...), then
/// the rate limit.
fn rules(props: &Props) -> Result<Vec<Rule>, ProviderError> {
    let groups: Vec<&str> = props
        .get("managed_rule_groups")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut out = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let statement = Statement::builder()
            .managed_rule_group_statement(
                ManagedRuleGroupStatement::builder()
                    .vendor_name("AWS")
                    .name(*g)
                    .build()
                    .map_err(bad)?,
            )
            .build();
        out.push(
            Rule::builder()
                .name(*g)
                .priority(i32::try_from(i).map_err(bad)?)
                .statement(statement)
                .override_action(
                    OverrideAction::builder()
                        .none(NoneAction::builder().build())
                        .build(),
                )
                .visibility_config(visibility(g)?)
                .build()
                .map_err(bad)?,
        );
    }
    if let Some(limit) = props.get("rate_limit").and_then(Value::as_int) {
        let statement = Statement::builder()
            .rate_based_statement(
                RateBasedStatement::builder()
                    .limit(limit)
                    .aggregate_key_type(RateBasedStatementAggregateKeyType::Ip)
                    .build()
                    .map_err(bad)?,
            )
            .build();
        out.push(
            Rule::builder()
                .name(RATE_RULE)
                .priority(i32::try_from(groups.len()).map_err(bad)?)
                .statement(statement)
                .action(
                    RuleAction::builder()
                        .block(BlockAction::builder().build())
                        .build(),
                )
                .visibility_config(visibility(RATE_RULE)?)
                .build()
                .map_err(bad)?,
        );
    }
    Ok(out)
}

/// A web ACL's fields in the stack's vocabulary.
fn props_of(acl: &WebAcl) -> Props {
    let mut rules: Vec<&Rule> = acl.rules().iter().collect();
    rules.sort_by_key(|r| r.priority());
    let groups = rules
        .iter()
        .filter_map(|r| r.statement()?.managed_rule_group_statement())
        .filter(|m| m.vendor_name() == "AWS")
        .map(|m| Value::Str(m.name().to_string()))
        .collect();
    let rate = rules
        .iter()
        .find_map(|r| r.statement()?.rate_based_statement())
        .map(|r| Value::Int(r.limit()))
        .unwrap_or(Value::Null);
    let action = match acl.default_action().and_then(|a| a.block()) {
        Some(_) => "block",
        None => "allow",
    };
    Props::from([
        (
            "description".to_string(),
            Value::Str(acl.description().unwrap_or_default().to_string()),
        ),
        ("default_action".to_string(), Value::Str(action.into())),
        ("managed_rule_groups".to_string(), Value::List(groups)),
        ("rate_limit".to_string(), rate),
    ])
}

fn made(owned: Owned, name: &str, id: &str, arn: &str, props: Props) -> Live {
    live(
        owned,
        id,
        props,
        Vec::new(),
        &[
            ("arn", Value::Str(arn.to_string())),
            ("name", Value::Str(name.to_string())),
        ],
    )
}

/// What every web ACL of `scope` is named after: `<stack>-<env>-`.
fn prefix(scope: &Scope) -> String {
    scope.name_prefix()
}

/// True when a web ACL ARN names one of `scope`'s ACLs (by its name).
pub fn named_ours(scope: &Scope, arn: &str) -> bool {
    // arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>
    arn.split('/')
        .rev()
        .nth(1)
        .is_some_and(|n| n.starts_with(&prefix(scope)))
}

impl WebAclType {
    /// The web ACL and its current lock token.
    async fn get(&self, name: &str, id: &str) -> Result<(WebAcl, String), ProviderError> {
        let out = self
            .waf
            .get_web_acl()
            .name(name)
            .id(id)
            .scope(WafScope::Regional)
            .customize()
            .config_override(eventually::<
                aws_sdk_wafv2::operation::get_web_acl::GetWebACLError,
            >())
            .send()
            .await
            .map_err(|e| error("GetWebACL", e))?;
        let acl = out
            .web_acl()
            .cloned()
            .ok_or_else(|| ProviderError::new("GetWebACL", "no web ACL in the answer"))?;
        Ok((acl, out.lock_token().unwrap_or_default().to_string()))
    }
}

/// How many times a change refused for a stale lock token is tried again.
const LOCK_ATTEMPTS: usize = 5;

fn stale_lock(e: &ProviderError) -> bool {
    e.code.as_deref() == Some("WAFOptimisticLockException")
}

#[async_trait]
impl Provider for WebAclType {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// ListWebACLs (REGIONAL, paginated), narrowed to `<stack>-<env>-` names, then
    /// ListTagsForResource and GetWebACL for each of those, concurrently: 1 + 2n calls.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let mut summaries = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .waf
                .list_web_acls()
                .scope(WafScope::Regional)
                .set_next_marker(marker.take())
                .send()
                .await
                .map_err(|e| error("ListWebACLs", e))?;
            summaries.extend(page.web_acls().iter().cloned());
            match page.next_marker() {
                Some(m) if !m.is_empty() && !page.web_acls().is_empty() => {
                    marker = Some(m.to_string())
                }
                _ => break,
            }
        }
        let want = only.map(|a| scope.name_for(a));
        let prefix = prefix(scope);
        let ours = summaries.into_iter().filter(|s| {
            let name = s.name().unwrap_or_default();
            match &want {
                Some(w) => name == w || name.starts_with(&format!("{w}-")),
                None => name.starts_with(&prefix),
            }
        });
        let found = try_join_all(ours.map(|s| async move {
            let (name, id, arn) = (
                s.name().unwrap_or_default().to_string(),
                s.id().unwrap_or_default().to_string(),
                s.arn().unwrap_or_default().to_string(),
            );
            let tags =
                tag_index::tags(&self.tagging, scope, Some(&arn), list_tags(&self.waf, &arn));
            let (tags, got) = futures_util::future::join(tags, self.get(&name, &id)).await;
            match (tags, got) {
                (Err(e), _) | (_, Err(e)) if e.is_not_found() => Ok(None),
                (Err(e), _) | (_, Err(e)) => Err(e),
                (Ok(tags), Ok((acl, _))) => {
                    Ok::<_, ProviderError>(Some((name, id, arn, tags, acl)))
                }
            }
        }))
        .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter_map(|(name, id, arn, tags, acl)| {
                let owned = crate::aws::owned(scope, tags)?;
                Some(made(owned, &name, &id, &arn, props_of(&acl)))
            })
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = req.name();
        let out = self
            .waf
            .create_web_acl()
            .name(&name)
            .scope(WafScope::Regional)
            .description(req.str("description"))
            .default_action(default_action(req.props))
            .set_rules(Some(rules(req.props)?))
            .visibility_config(visibility(&name)?)
            .set_tags(Some(tags(req)?))
            .customize()
            .config_override(once::<
                aws_sdk_wafv2::operation::create_web_acl::CreateWebACLError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateWebACL", e))?;
        let s = out
            .summary()
            .ok_or_else(|| ProviderError::new("CreateWebACL", "no summary in the answer"))?;
        Ok(made(
            Owned::made(req),
            &name,
            s.id().unwrap_or_default(),
            s.arn().unwrap_or_default(),
            req.props.clone(),
        ))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let name = crate::aws::prop_str(&l.outputs, "name").to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (_, token) = self.get(&name, &l.id).await?;
            let result = self
                .waf
                .update_web_acl()
                .name(&name)
                .id(&l.id)
                .scope(WafScope::Regional)
                .lock_token(token)
                .description(req.str("description"))
                .default_action(default_action(req.props))
                .set_rules(Some(rules(req.props)?))
                .visibility_config(visibility(&name)?)
                .send()
                .await
                .map_err(|e| error("UpdateWebACL", e));
            match result {
                Ok(_) => break,
                Err(e) if stale_lock(&e) && attempt < LOCK_ATTEMPTS => {
                    (req.note)(format!(
                        "{name} changed meanwhile: again with a fresh lock token"
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        let mut next = l.clone();
        next.props = req.props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = crate::aws::prop_str(&l.outputs, "arn");
        retag(&self.waf, arn, delta).await
    }

    /// Refused (WAFAssociatedItemException) while a load balancer uses it: those are
    /// named (ListResourcesForWebACL).
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let name = crate::aws::prop_str(&l.outputs, "name").to_string();
        let arn = crate::aws::prop_str(&l.outputs, "arn").to_string();
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            let token = match self.get(&name, &l.id).await {
                Ok((_, t)) => t,
                Err(e) if e.is_not_found() => return Ok(()),
                Err(e) => return Err(e),
            };
            let r = deleted(
                "DeleteWebACL",
                self.waf
                    .delete_web_acl()
                    .name(&name)
                    .id(&l.id)
                    .scope(WafScope::Regional)
                    .lock_token(token)
                    .send()
                    .await,
            );
            match r {
                Err(e) if stale_lock(&e) && attempt < LOCK_ATTEMPTS => continue,
                other => break other,
            }
        };
        let users = async {
            let out = self
                .waf
                .list_resources_for_web_acl()
                .web_acl_arn(&arn)
                .resource_type(ResourceType::ApplicationLoadBalancer)
                .send()
                .await
                .map_err(|e| error("ListResourcesForWebACL", e))?;
            Ok(out
                .resource_arns()
                .iter()
                .map(|a| format!("load balancer {a}"))
                .collect())
        };
        let advice = "disassociate it from them";
        name_blockers(result, &name, "is still associated with", users, advice).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_groups_come_first_in_order_then_the_rate_limit() {
        let props = Props::from([
            (
                "managed_rule_groups".to_string(),
                Value::List(vec![
                    Value::Str("AWSManagedRulesCommonRuleSet".into()),
                    Value::Str("AWSManagedRulesSQLiRuleSet".into()),
                ]),
            ),
            ("rate_limit".to_string(), Value::Int(2000)),
        ]);
        let r = rules(&props).expect("rules");
        let got: Vec<(&str, i32)> = r.iter().map(|r| (r.name(), r.priority())).collect();
        assert_eq!(
            got,
            [
                ("AWSManagedRulesCommonRuleSet", 0),
                ("AWSManagedRulesSQLiRuleSet", 1),
                ("rate-limit", 2)
            ]
        );
        let scope = Scope {
            stack: "bandup".into(),
            env: "dev".into(),
            ..Scope::default()
        };
        assert!(named_ours(
            &scope,
            "arn:aws:wafv2:eu-west-2:1:regional/webacl/bandup-dev-waf/abc"
        ));
        assert!(!named_ours(
            &scope,
            "arn:aws:wafv2:eu-west-2:1:regional/webacl/other-waf/abc"
        ));
    }
}
