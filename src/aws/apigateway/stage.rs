//! `aws_api_gateway_stage`: a stage of a REST API and the deployment it serves, with
//! throttling for every method, access logs to a CloudWatch log group and X-Ray
//! tracing. A new `revision` of the API (`${api.revision}`) makes a new deployment the
//! stage then serves; deployments no stage serves are deleted, but for the one just
//! left (a rollback target).

use super::{
    deleted, error, eventually, execution_arn, once, owned_apis, patch, region, retag, tag_map,
};
use crate::aws::{creation_tags, live, millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, present, unset, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_apigateway::types::{Deployment, Op, PatchOperation, Stage as AwsStage};
use futures_util::future::join_all;
use std::collections::{BTreeMap, BTreeSet};

/// The default access log line: one JSON object per request, naming the caller (with
/// IAM authorization, `userArn` is the role that signed the request).
pub const LOG_FORMAT: &str = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","caller":"$context.identity.caller","user":"$context.identity.user","userArn":"$context.identity.userArn","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod","resourcePath":"$context.resourcePath","status":"$context.status","protocol":"$context.protocol","responseLength":"$context.responseLength","integrationError":"$context.integration.error"}"#;

/// What a deployment made for a revision says in its description.
const REVISION_PREFIX: &str = "bandup revision ";

pub static SCHEMA: Schema = Schema {
    type_name: "aws_api_gateway_stage",
    doc: "A stage of an API Gateway REST API: the deployment it serves, throttling, access logs and tracing.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a stage belongs to one API"),
            ..Field::new("rest_api", Kind::Str, "the API's id (`${api.id}`)")
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("API Gateway cannot rename a stage (its name is in the URL)"),
            ..Field::new("stage_name", Kind::Str, "the stage's name, the first segment of its URL")
        },
        Field::new(
            "revision",
            Kind::Str,
            "the API revision to serve (`${api.revision}`): a new one is deployed when it changes",
        ),
        Field::new("description", Kind::Str, "what the stage is for"),
        Field::new(
            "throttle_rate_limit",
            Kind::Int,
            "steady requests per second allowed, for every method (unset: the account's limit)",
        ),
        Field::new(
            "throttle_burst_limit",
            Kind::Int,
            "requests allowed at once above the rate, for every method",
        ),
        Field::new(
            "access_log_group_arn",
            Kind::Str,
            "the CloudWatch log group access logs go to (`${log.arn}`); needs the account's API Gateway CloudWatch role",
        ),
        Field {
            default: Some(Default::Str(LOG_FORMAT)),
            ..Field::new(
                "access_log_format",
                Kind::Str,
                "the access log line ($context variables); a JSON line by default",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new("xray_tracing", Kind::Bool, "trace requests with X-Ray")
        },
    ],
    attributes: &[
        "id",
        "arn",
        "stage_name",
        "invoke_url",
        "execution_arn",
        "deployment_id",
    ],
};

pub struct Stage {
    apigw: aws_sdk_apigateway::Client,
    /// The account, asked once per run for every type.
    account: crate::aws::Account,
}

/// A log group's ARN as API Gateway wants it: without the `:*` that DescribeLogGroups
/// puts at its end.
fn log_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

/// The `/*/*` (every method) patch operations for throttling, access logs, tracing and
/// the description: those of `fields`, or all declared ones when `fields` is None.
fn settings(props: &Props, fields: Option<&BTreeSet<String>>) -> Vec<PatchOperation> {
    let wants = |f: &str| fields.is_none_or(|fs| fs.contains(f));
    let mut ops = Vec::new();
    let int = |f: &str| present(props, f).and_then(Value::as_int);
    for (f, path) in [
        ("throttle_rate_limit", "/*/*/throttling/rateLimit"),
        ("throttle_burst_limit", "/*/*/throttling/burstLimit"),
    ] {
        if wants(f) {
            if let Some(n) = int(f) {
                ops.push(patch(Op::Replace, path, Some(&n.to_string())));
            }
        }
    }
    if fields.is_some()
        && (wants("throttle_rate_limit") || wants("throttle_burst_limit"))
        && int("throttle_rate_limit").is_none()
        && int("throttle_burst_limit").is_none()
    {
        // Neither declared any more: back to the account's limits.
        ops.push(patch(Op::Remove, "/*/*", None));
    }
    if wants("access_log_group_arn") || wants("access_log_format") {
        match present(props, "access_log_group_arn").and_then(Value::as_str) {
            Some(arn) => {
                ops.push(patch(
                    Op::Replace,
                    "/accessLogSettings/destinationArn",
                    Some(log_arn(arn)),
                ));
                let format = present(props, "access_log_format")
                    .and_then(Value::as_str)
                    .unwrap_or(LOG_FORMAT);
                ops.push(patch(
                    Op::Replace,
                    "/accessLogSettings/format",
                    Some(format),
                ));
            }
            None if fields.is_some() => ops.push(patch(Op::Remove, "/accessLogSettings", None)),
            None => {}
        }
    }
    if fields.is_some() && wants("xray_tracing") {
        let on = present(props, "xray_tracing").and_then(Value::as_bool) == Some(true);
        ops.push(patch(Op::Replace, "/tracingEnabled", Some(&on.to_string())));
    }
    if fields.is_some() && wants("description") {
        let d = present(props, "description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        ops.push(patch(Op::Replace, "/description", Some(d)));
    }
    ops
}

/// An UpdateStage refusal for want of the account's CloudWatch role, with the fix.
fn explain(mut e: ProviderError) -> ProviderError {
    if e.message.contains("CloudWatch Logs role ARN must be set") {
        e.message = format!(
            "{}. Access logs need the account's API Gateway CloudWatch Logs role, an account-wide setting per region that this stack does not manage: create a role that apigateway.amazonaws.com may assume with the managed policy AmazonAPIGatewayPushToCloudWatchLogs, then run `aws apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<role arn>` (the bootstrap does this), or remove access_log_group_arn",
            e.message
        );
    }
    e
}

impl Stage {
    pub fn new(c: &Clients) -> Self {
        Stage {
            apigw: c.apigateway.clone(),
            account: c.account.clone(),
        }
    }

    async fn account(&self) -> Result<String, ProviderError> {
        self.account.get().await
    }

    /// Every deployment of the API (`GetDeployments`, paginated).
    async fn deployments(&self, api: &str) -> Result<Vec<Deployment>, ProviderError> {
        let pages: Vec<_> = self
            .apigw
            .get_deployments()
            .rest_api_id(api)
            .limit(500)
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("GetDeployments", e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.items.unwrap_or_default())
            .collect())
    }

    async fn stages(&self, api: &str) -> Result<Vec<AwsStage>, ProviderError> {
        let out = self
            .apigw
            .get_stages()
            .rest_api_id(api)
            .send()
            .await
            .map_err(|e| error("GetStages", e))?;
        Ok(out.item.unwrap_or_default())
    }

    /// The owned stages of one API: its stages and its deployments (for the revision
    /// each stage serves), read concurrently.
    async fn of_api(&self, scope: &Scope, api: &str) -> Result<Vec<Live>, ProviderError> {
        let (stages, deployments) = tokio::join!(self.stages(api), self.deployments(api));
        let (stages, deployments) = match (stages, deployments) {
            (Ok(s), Ok(d)) => (s, d),
            (Err(e), _) | (_, Err(e)) if e.is_not_found() => return Ok(Vec::new()),
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let revisions: BTreeMap<&str, &str> = deployments
            .iter()
            .filter_map(|d| {
                let rev = d.description()?.strip_prefix(REVISION_PREFIX)?;
                Some((d.id()?, rev))
            })
            .collect();
        let account = self.account().await?;
        Ok(stages
            .iter()
            .filter_map(|s| {
                let owned = crate::aws::owned(scope, tag_map(s.tags()))?;
                let rev = s
                    .deployment_id()
                    .and_then(|d| revisions.get(d))
                    .map(|r| r.to_string());
                Some(self.to_live(owned, api, &account, s, rev))
            })
            .collect())
    }

    fn to_live(
        &self,
        owned: Owned,
        api: &str,
        account: &str,
        s: &AwsStage,
        revision: Option<String>,
    ) -> Live {
        let name = s.stage_name().unwrap_or_default();
        let region = region(&self.apigw);
        let mut props = Props::new();
        props.insert("rest_api".into(), Value::Str(api.to_string()));
        props.insert("stage_name".into(), Value::Str(name.to_string()));
        if let Some(r) = revision {
            props.insert("revision".into(), Value::Str(r));
        }
        if let Some(d) = s.description().filter(|d| !d.is_empty()) {
            props.insert("description".into(), Value::Str(d.to_string()));
        }
        if let Some(all) = s.method_settings().and_then(|m| m.get("*/*")) {
            props.insert(
                "throttle_rate_limit".into(),
                Value::Int(all.throttling_rate_limit().round() as i64),
            );
            props.insert(
                "throttle_burst_limit".into(),
                Value::Int(i64::from(all.throttling_burst_limit())),
            );
        }
        let mut refs = vec![api.to_string()];
        if let Some(logs) = s.access_log_settings() {
            if let Some(arn) = logs.destination_arn().filter(|a| !a.is_empty()) {
                props.insert("access_log_group_arn".into(), Value::Str(arn.to_string()));
                refs.push(arn.to_string());
                refs.push(format!("{arn}:*"));
            }
            if let Some(f) = logs.format().filter(|f| !f.is_empty()) {
                props.insert("access_log_format".into(), Value::Str(f.to_string()));
            }
        }
        props.insert("xray_tracing".into(), Value::Bool(s.tracing_enabled()));
        let exec = format!("{}/{name}", execution_arn(&region, account, api));
        let created = s.created_date().and_then(millis);
        live(
            owned.or_created(created),
            &format!("{api}/{name}"),
            props,
            refs,
            &[
                (
                    "arn",
                    Value::Str(format!(
                        "arn:aws:apigateway:{region}::/restapis/{api}/stages/{name}"
                    )),
                ),
                ("stage_name", Value::Str(name.to_string())),
                (
                    "invoke_url",
                    Value::Str(format!(
                        "https://{api}.execute-api.{region}.amazonaws.com/{name}"
                    )),
                ),
                ("execution_arn", Value::Str(exec)),
                ("deployment_id", crate::aws::str_value(s.deployment_id())),
            ],
        )
    }

    /// The stage as it is now (`GetStage`).
    async fn describe(
        &self,
        owned: Owned,
        api: &str,
        name: &str,
        revision: Option<String>,
    ) -> Result<Live, ProviderError> {
        let s = self
            .apigw
            .get_stage()
            .rest_api_id(api)
            .stage_name(name)
            .customize()
            .config_override(eventually::<
                aws_sdk_apigateway::operation::get_stage::GetStageError,
            >())
            .send()
            .await
            .map_err(|e| error("GetStage", e))?;
        let s = AwsStage::builder()
            .set_stage_name(s.stage_name)
            .set_deployment_id(s.deployment_id)
            .set_description(s.description)
            .set_method_settings(s.method_settings)
            .set_access_log_settings(s.access_log_settings)
            .tracing_enabled(s.tracing_enabled)
            .set_created_date(s.created_date)
            .build();
        let account = self.account().await?;
        Ok(self.to_live(owned, api, &account, &s, revision))
    }

    /// A new deployment of the API's current state, saying which revision it is.
    async fn deploy(&self, api: &str, revision: Option<&str>) -> Result<String, ProviderError> {
        let made = self
            .apigw
            .create_deployment()
            .rest_api_id(api)
            .set_description(revision.map(|r| format!("{REVISION_PREFIX}{r}")))
            .customize()
            .config_override(once::<
                aws_sdk_apigateway::operation::create_deployment::CreateDeploymentError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateDeployment", e))?;
        Ok(made.id().unwrap_or_default().to_string())
    }

    async fn update_stage(
        &self,
        api: &str,
        name: &str,
        ops: Vec<PatchOperation>,
    ) -> Result<(), ProviderError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.apigw
            .update_stage()
            .rest_api_id(api)
            .stage_name(name)
            .set_patch_operations(Some(ops))
            .customize()
            .config_override(eventually::<
                aws_sdk_apigateway::operation::update_stage::UpdateStageError,
            >())
            .send()
            .await
            .map_err(|e| explain(error("UpdateStage", e)))?;
        Ok(())
    }

    /// Delete the API's deployments no stage serves, but for `keep` (the one a stage
    /// has just left, to roll back to). An API already gone has none.
    async fn prune(&self, api: &str, keep: Option<&str>) -> Result<(), ProviderError> {
        let (stages, deployments) = tokio::join!(self.stages(api), self.deployments(api));
        let (stages, deployments) = match (stages, deployments) {
            (Ok(s), Ok(d)) => (s, d),
            (Err(e), _) | (_, Err(e)) if e.is_not_found() => return Ok(()),
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        let served: BTreeSet<&str> = stages.iter().filter_map(|s| s.deployment_id()).collect();
        for d in &deployments {
            let Some(id) = d.id() else { continue };
            if served.contains(id) || keep == Some(id) {
                continue;
            }
            deleted(
                "DeleteDeployment",
                self.apigw
                    .delete_deployment()
                    .rest_api_id(api)
                    .deployment_id(id)
                    .send()
                    .await,
            )?;
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for Stage {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let at = |f: &str| r.field_pos.get(f).unwrap_or(&r.pos).clone();
        if let Some(name) = r.props.get("stage_name").and_then(Value::as_str) {
            let ok = !name.is_empty()
                && name.len() <= 128
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                out.push(
                    Diagnostic::new(
                        at("stage_name"),
                        format!(
                            "stage `{}` is named `{name}`: API Gateway wants 1 to 128 letters, digits, `-` and `_`",
                            r.addr
                        ),
                    )
                    .hint("name it like v1 or live"),
                );
            }
        }
        if let Some(f) = r.props.get("access_log_format").and_then(Value::as_str) {
            if !f.contains("$context.requestId") && !f.contains("$context.extendedRequestId") {
                out.push(
                    Diagnostic::new(
                        at("access_log_format"),
                        format!(
                            "stage `{}` has an access log format without $context.requestId: API Gateway refuses it",
                            r.addr
                        ),
                    )
                    .hint("add $context.requestId (or $context.extendedRequestId)"),
                );
            }
        }
        for f in ["throttle_rate_limit", "throttle_burst_limit"] {
            if let Some(n) = r.props.get(f).and_then(Value::as_int).filter(|n| *n < 0) {
                out.push(
                    Diagnostic::new(
                        at(f),
                        format!("stage `{}` has {f} {n}: it cannot be negative", r.addr),
                    )
                    .hint("use 0 or more (0 refuses every request)"),
                );
            }
        }
        out
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // Stages are looked for only in APIs this stack and environment own.
        let apis = owned_apis(&self.apigw, scope).await?;
        let found = join_all(
            apis.iter()
                .filter_map(|a| a.id())
                .map(|id| self.of_api(scope, id)),
        )
        .await;
        let mut out = Vec::new();
        for l in found {
            out.extend(l?.into_iter().filter(|l| only.is_none_or(|o| l.addr == *o)));
        }
        Ok(out)
    }

    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let logs = present(desired, "access_log_group_arn").is_some();
        let mut want = desired.clone();
        if let Some(Value::Str(a)) = present(desired, "access_log_group_arn") {
            want.insert("access_log_group_arn".into(), Value::Str(log_arn(a).into()));
        }
        let mut out: Vec<Change> = default_diff(self.schema(), &want, l)
            .into_iter()
            // The format means nothing without a destination.
            .filter(|c| logs || c.field != "access_log_format")
            .map(|mut c| {
                if let Some(v) = present(desired, &c.field) {
                    c.after = v.clone();
                }
                c
            })
            .collect();
        let throttled = |p: &Props| {
            present(p, "throttle_rate_limit").is_some()
                || present(p, "throttle_burst_limit").is_some()
        };
        let mut gone = Vec::new();
        if !logs {
            gone.push("access_log_group_arn");
        }
        if !throttled(desired) && throttled(&l.props) {
            gone.push("throttle_rate_limit");
        }
        if present(desired, "description").is_none() {
            gone.push("description");
        }
        out.extend(
            gone.into_iter()
                .filter_map(|f| present(&l.props, f).map(|have| unset(f, have))),
        );
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let api = req.str("rest_api").to_string();
        let name = req.str("stage_name").to_string();
        let revision = present(req.props, "revision")
            .and_then(Value::as_str)
            .map(str::to_string);
        // CreateStage carries the tags; CreateDeployment with a stage name would make
        // the stage untagged.
        let deployment = self.deploy(&api, revision.as_deref()).await?;
        self.apigw
            .create_stage()
            .rest_api_id(&api)
            .stage_name(&name)
            .deployment_id(&deployment)
            .set_description(
                present(req.props, "description").and_then(|d| d.as_str().map(String::from)),
            )
            .tracing_enabled(req.bool("xray_tracing") == Some(true))
            .set_tags(Some(creation_tags(req).into_iter().collect()))
            .customize()
            .config_override(once::<
                aws_sdk_apigateway::operation::create_stage::CreateStageError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateStage", e))?;
        // Throttling and access logs are not CreateStage parameters.
        self.update_stage(&api, &name, settings(req.props, None))
            .await?;
        self.describe(Owned::made(req), &api, &name, revision).await
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let api = l
            .props
            .get("rest_api")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = l
            .props
            .get("stage_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let changed: BTreeSet<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let want = present(req.props, "revision")
            .and_then(Value::as_str)
            .map(str::to_string);
        let have = l.props.get("revision").and_then(Value::as_str);
        let mut ops = settings(req.props, Some(&changed));
        let left = l
            .outputs
            .get("deployment_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        let redeploy = want.is_some() && want.as_deref() != have;
        if redeploy {
            let d = self.deploy(&api, want.as_deref()).await?;
            ops.push(patch(Op::Replace, "/deploymentId", Some(&d)));
        }
        self.update_stage(&api, &name, ops).await?;
        if redeploy {
            self.prune(&api, left.as_deref()).await?;
        }
        let revision = if redeploy {
            want
        } else {
            have.map(str::to_string)
        };
        self.describe(Owned::of(l), &api, &name, revision).await
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        retag(&self.apigw, arn, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let api = l
            .props
            .get("rest_api")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = l
            .props
            .get("stage_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        deleted(
            "DeleteStage",
            self.apigw
                .delete_stage()
                .rest_api_id(api)
                .stage_name(name)
                .send()
                .await,
        )?;
        // Its deployments, now served by no stage.
        self.prune(api, None).await
    }
}
