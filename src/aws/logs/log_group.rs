//! `aws_cloudwatch_log_group`: a log group for a service or a function, with its
//! retention and optional KMS key. Named by `name`, or `/<stack>/<env>/<address>`.
//! Its `arn` output is the log group's ARN without the `:*` suffix DescribeLogGroups
//! adds (`arn:aws:logs:<region>:<account>:log-group:<name>`): what tagging takes; a
//! policy granting writes to its streams says `${<address>.arn}:*`.

use super::{error, eventually, list_tags, once, retag, tags};
use crate::aws::{live, tag_index, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as SdkLogGroup;
use futures_util::future::try_join_all;

/// The retention periods CloudWatch Logs accepts, in days (0 here: never expire).
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_cloudwatch_log_group",
    doc: "A CloudWatch Logs log group.",
    fields: &[
        Field {
            force_new: true,
            replace_why: Some("CloudWatch Logs cannot rename a log group"),
            ..Field::new(
                "name",
                Kind::Str,
                "the log group's name, such as /bandup/dev/backend or /aws/lambda/<function>; default /<stack>/<env>/<address>. it must start with /<stack>/<env>/ or /aws/lambda/<stack>-<env>- (how the stack finds its groups)",
            )
        },
        Field {
            default: Some(Default::Int(30)),
            ..Field::new(
                "retention_in_days",
                Kind::Int,
                "how long events are kept: one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, or 0 to keep them forever; changed in place",
            )
        },
        Field {
            default: Some(Default::Str("")),
            ..Field::new(
                "kms_key_id",
                Kind::Str,
                "the ARN of a KMS key encrypting the events (its key policy must allow logs.<region>.amazonaws.com); empty for CloudWatch's own encryption; changed in place",
            )
        },
    ],
    attributes: &["id", "arn", "name"],
};

/// The provider of `aws_cloudwatch_log_group`.
pub struct LogGroup {
    logs: aws_sdk_cloudwatchlogs::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl LogGroup {
    pub fn new(c: &Clients) -> Self {
        LogGroup {
            logs: c.logs.clone(),
            tagging: c.tagging.clone(),
        }
    }

    /// The log groups whose names start with `prefix` (one paginated call).
    async fn list(&self, prefix: &str) -> Result<Vec<SdkLogGroup>, ProviderError> {
        self.logs
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("DescribeLogGroups", e))
    }

    async fn set_retention(&self, name: &str, days: i64) -> Result<(), ProviderError> {
        if days == 0 {
            return super::deleted(
                "DeleteRetentionPolicy",
                self.logs
                    .delete_retention_policy()
                    .log_group_name(name)
                    .customize()
                    .config_override(eventually::<
                        aws_sdk_cloudwatchlogs::operation::delete_retention_policy::DeleteRetentionPolicyError,
                    >())
                    .send()
                    .await,
            );
        }
        self.logs
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(i32::try_from(days).unwrap_or(i32::MAX))
            .customize()
            .config_override(eventually::<
                aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("PutRetentionPolicy", e))?;
        Ok(())
    }
}

/// The prefix of the names derived for `scope`: `/<stack>/<env>/`.
fn own_prefix(scope: &Scope) -> String {
    format!("/{}/{}/", scope.stack, scope.env)
}

/// The prefix of the log groups of the stack's Lambda functions (named
/// `<stack>-<env>-<address>`), which Lambda writes to `/aws/lambda/<function>`.
fn lambda_prefix(scope: &Scope) -> String {
    format!("/aws/lambda/{}-{}-", scope.stack, scope.env)
}

/// The log group's name: `name`, or `/<stack>/<env>/<address>`.
fn name_of(scope: &Scope, addr: &Addr, props: &Props) -> String {
    match props.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!(
            "{}{}",
            own_prefix(scope),
            addr.as_str().replace(['[', ']'], "-").trim_end_matches('-')
        ),
    }
}

/// The ARN without `:*`: `logGroupArn`, or `arn` with its suffix cut.
fn arn_of(g: &SdkLogGroup) -> String {
    g.log_group_arn()
        .map(str::to_string)
        .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_string()))
        .unwrap_or_default()
}

fn props_of(g: &SdkLogGroup) -> Props {
    Props::from([
        (
            "name".to_string(),
            Value::Str(g.log_group_name().unwrap_or_default().to_string()),
        ),
        (
            "retention_in_days".to_string(),
            Value::Int(i64::from(g.retention_in_days().unwrap_or(0))),
        ),
        (
            "kms_key_id".to_string(),
            Value::Str(g.kms_key_id().unwrap_or_default().to_string()),
        ),
    ])
}

fn made(owned: Owned, name: &str, arn: &str, props: Props) -> Live {
    live(
        owned,
        name,
        props,
        Vec::new(),
        &[
            ("name", Value::Str(name.to_string())),
            ("arn", Value::Str(arn.to_string())),
        ],
    )
}

#[async_trait]
impl Provider for LogGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let Some(Value::Int(n)) = r.props.get("retention_in_days") {
            if *n != 0 && !RETENTION_DAYS.contains(n) {
                let pos = r
                    .field_pos
                    .get("retention_in_days")
                    .cloned()
                    .unwrap_or(r.pos.clone());
                let near = RETENTION_DAYS
                    .iter()
                    .min_by_key(|d| (*d - n).abs())
                    .copied()
                    .unwrap_or(30);
                out.push(
                    Diagnostic::new(
                        pos,
                        format!(
                            "`{}` retention_in_days {n} is not a period CloudWatch Logs accepts",
                            r.addr
                        ),
                    )
                    .hint(format!(
                        "did you mean {near}? Accepted: {} (or 0 to keep events forever)",
                        RETENTION_DAYS
                            .iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
        }
        if let Some(Value::Str(name)) = r.props.get("name") {
            let ok = !name.is_empty()
                && name.len() <= 512
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c));
            let pos = r.field_pos.get("name").cloned().unwrap_or(r.pos.clone());
            if !ok {
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        format!("`{}` name `{name}` is not a log group name", r.addr),
                    )
                    .hint("use 1 to 512 letters, digits and _-/.#"),
                );
            }
            let scope = Scope {
                stack: stack.name.clone(),
                env: stack.env.clone(),
                ..Scope::default()
            };
            let (own, lambda) = (own_prefix(&scope), lambda_prefix(&scope));
            if !name.starts_with(&own) && !name.starts_with(&lambda) {
                out.push(
                    Diagnostic::new(
                        pos,
                        format!(
                            "`{}` name `{name}` is outside the stack's log group names",
                            r.addr
                        ),
                    )
                    .hint(format!(
                        "name it under {own} (or {lambda}<function> for a Lambda function's own group): only those are found again once renamed or removed from the stack"
                    )),
                );
            }
        }
        out
    }

    /// DescribeLogGroups with the prefixes `/<stack>/<env>/` and
    /// `/aws/lambda/<stack>-<env>-` (the only names `check` allows: a group renamed or
    /// removed from the stack must still be found), then ListTagsForResource per group
    /// found, concurrently: 2 + n calls (CloudWatch Logs lists no tags and has no batch
    /// tag read).
    async fn read(&self, scope: &Scope, _only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let prefixes = [own_prefix(scope), lambda_prefix(scope)];
        let listed = try_join_all(prefixes.iter().map(|p| self.list(p))).await?;
        let groups: Vec<SdkLogGroup> = listed.into_iter().flatten().collect();
        let found = try_join_all(groups.iter().map(|g| async move {
            let arn = arn_of(g);
            let direct = list_tags(&self.logs, &arn);
            let tags = tag_index::tags(&self.tagging, scope, Some(&arn), direct).await?;
            Ok::<_, ProviderError>((g, arn, tags))
        }))
        .await?;
        Ok(found
            .into_iter()
            .filter_map(|(g, arn, tags)| {
                let owned = crate::aws::owned(scope, tags)?;
                let created = g.creation_time().and_then(|t| u64::try_from(t).ok());
                Some(made(
                    owned.or_created(created),
                    g.log_group_name().unwrap_or_default(),
                    &arn,
                    props_of(g),
                ))
            })
            .collect())
    }

    /// CreateLogGroup with its tags and key, then its retention, then DescribeLogGroups
    /// for its ARN.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = name_of(req.scope, req.addr, req.props);
        let key = req.str("kms_key_id");
        self.logs
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id((!key.is_empty()).then(|| key.to_string()))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateLogGroup", e))?;
        let days = req.int("retention_in_days").unwrap_or(0);
        if days != 0 {
            self.set_retention(&name, days).await?;
        }
        let arn = self
            .list(&name)
            .await?
            .iter()
            .find(|g| g.log_group_name() == Some(name.as_str()))
            .map(arn_of)
            .unwrap_or_default();
        let mut props = req.props.clone();
        props.insert("name".into(), Value::Str(name.clone()));
        Ok(made(Owned::made(req), &name, &arn, props))
    }

    /// Retention and key in place (PutRetentionPolicy or DeleteRetentionPolicy,
    /// AssociateKmsKey or DisassociateKmsKey).
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let days = req.int("retention_in_days").unwrap_or(0);
        if Some(days) != l.props.get("retention_in_days").and_then(Value::as_int) {
            self.set_retention(&l.id, days).await?;
        }
        let key = req.str("kms_key_id");
        if Some(key) != l.props.get("kms_key_id").and_then(Value::as_str) {
            if key.is_empty() {
                self.logs
                    .disassociate_kms_key()
                    .log_group_name(&l.id)
                    .send()
                    .await
                    .map_err(|e| error("DisassociateKmsKey", e))?;
            } else {
                self.logs
                    .associate_kms_key()
                    .log_group_name(&l.id)
                    .kms_key_id(key)
                    .send()
                    .await
                    .map_err(|e| error("AssociateKmsKey", e))?;
            }
        }
        let mut next = l.clone();
        let name = l.props.get("name").cloned().unwrap_or(Value::Null);
        next.props = req.props.clone();
        next.props.insert("name".into(), name);
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        retag(&self.logs, arn, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        super::deleted(
            "DeleteLogGroup",
            self.logs
                .delete_log_group()
                .log_group_name(&l.id)
                .send()
                .await,
        )
    }

    fn data_loss(&self, l: &Live, _declared: Option<&Props>) -> Option<String> {
        Some(format!("the log events stored in {}", l.id))
    }
}
