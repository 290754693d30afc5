//! The account's CloudWatch Logs role for API Gateway (`cloudwatchRoleArn`, one setting
//! per account and region), which stage access logs need and no stack owns: `bootstrap`
//! sets it when it is not set, to a role of its own trusted by API Gateway that may write
//! logs (what AWS's managed `AmazonAPIGatewayPushToCloudWatchLogs` grants, inline). A role
//! already set is never replaced.

use super::{error, patch};
use crate::aws::iam;
use crate::aws::state_bucket::bootstrap::Outcome;
use crate::model::document::{from_json, parse, same_policy};
use crate::provider::ProviderError;
use aws_sdk_apigateway::types::Op;
use std::time::Duration;

/// The role's inline policy.
const POLICY_NAME: &str = "push-logs";

/// The service that assumes the role.
const SERVICE: &str = "apigateway.amazonaws.com";

/// How long a role just made may take to be accepted by `UpdateAccount` (IAM is
/// eventually consistent: until then API Gateway says the role lacks permissions).
const SETTLE: Duration = Duration::from_secs(90);

/// The role bootstrap makes for the account, and where.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub stack: &'a str,
    pub region: &'a str,
}

impl Spec<'_> {
    /// `<stack>-apigateway-logs`.
    pub fn role_name(&self) -> String {
        iam::iam_name(&format!("{}-apigateway-logs", self.stack), 64)
    }

    /// `/<stack>-bootstrap/`, beside the CI roles.
    pub fn path(&self) -> String {
        iam::ci_role::path(self.stack)
    }

    /// What AWS's managed policy `AmazonAPIGatewayPushToCloudWatchLogs` grants, as an
    /// inline policy (what the stack's roles use too).
    fn logs_policy(&self) -> serde_json::Value {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:FilterLogEvents"
                ],
                "Resource": "*"
            }]
        })
    }

    fn trust_policy(&self) -> serde_json::Value {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": SERVICE },
                "Action": "sts:AssumeRole"
            }]
        })
    }
}

/// The role the account has in this region, if one is set.
pub async fn current(apigw: &aws_sdk_apigateway::Client) -> Result<Option<String>, ProviderError> {
    let out = apigw
        .get_account()
        .send()
        .await
        .map_err(|e| error("GetAccount", e))?;
    Ok(out
        .cloudwatch_role_arn()
        .filter(|a| !a.is_empty())
        .map(str::to_string))
}

/// Set the account's role when `current` (what `current()` read) is none: make the role
/// (or bring bootstrap's own to its trust policy and managed policy), then point API
/// Gateway at it. `Unchanged` when a role is set, whoever set it.
pub async fn ensure(
    apigw: &aws_sdk_apigateway::Client,
    iam_client: &aws_sdk_iam::Client,
    spec: &Spec<'_>,
    current: Option<&str>,
) -> Result<Outcome, ProviderError> {
    if current.is_some() {
        return Ok(Outcome::Unchanged);
    }
    let arn = ensure_role(iam_client, spec).await?;
    let started = std::time::Instant::now();
    loop {
        let sent = apigw
            .update_account()
            .patch_operations(patch(Op::Replace, "/cloudwatchRoleArn", Some(&arn)))
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(Outcome::Updated(vec![format!("cloudwatchRoleArn = {arn}")])),
            Err(e) => {
                let e = error("UpdateAccount", e);
                // A role made moments ago is not yet usable by API Gateway.
                let settling =
                    e.code.as_deref() == Some("BadRequestException") && e.message.contains("role");
                if !settling || started.elapsed() > SETTLE {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Bootstrap's role for the account, made if missing, with its trust policy and inline
/// policy as they must be; its ARN.
async fn ensure_role(
    client: &aws_sdk_iam::Client,
    spec: &Spec<'_>,
) -> Result<String, ProviderError> {
    let name = spec.role_name();
    let trust = spec.trust_policy();
    let found = match client.get_role().role_name(&name).send().await {
        Ok(out) => out.role().cloned(),
        Err(e) => {
            let e = iam::error("GetRole", e);
            if !e.is_not_found() {
                return Err(e);
            }
            None
        }
    };
    let arn = match found {
        Some(role) => {
            if role.path() != spec.path() {
                return Err(ProviderError::new(
                    "GetRole",
                    format!(
                        "a role named `{name}` already exists under the path {}, not {}: bootstrap did not make it and leaves it alone",
                        role.path(),
                        spec.path()
                    ),
                ));
            }
            let have = role.assume_role_policy_document().and_then(parse);
            if !have.is_some_and(|h| same_policy(&h, &from_json(&trust))) {
                client
                    .update_assume_role_policy()
                    .role_name(&name)
                    .policy_document(trust.to_string())
                    .customize()
                    .config_override(iam::eventually::<
                        aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyError,
                    >())
                    .send()
                    .await
                    .map_err(|e| iam::error("UpdateAssumeRolePolicy", e))?;
            }
            role.arn().to_string()
        }
        None => {
            let made = client
                .create_role()
                .role_name(&name)
                .path(spec.path())
                .assume_role_policy_document(trust.to_string())
                .description("API Gateway writes the account's access and execution logs to CloudWatch Logs (bandup-infra bootstrap)")
                .customize()
                .config_override(iam::once::<
                    aws_sdk_iam::operation::create_role::CreateRoleError,
                >())
                .send()
                .await
                .map_err(|e| iam::error("CreateRole", e))?;
            made.role().map(|r| r.arn().to_string()).ok_or_else(|| {
                ProviderError::new("CreateRole", format!("no role `{name}` in the answer"))
            })?
        }
    };
    let policy = spec.logs_policy();
    let have = match client
        .get_role_policy()
        .role_name(&name)
        .policy_name(POLICY_NAME)
        .send()
        .await
    {
        Ok(out) => parse(out.policy_document()),
        Err(e) => {
            let e = iam::error("GetRolePolicy", e);
            if !e.is_not_found() {
                return Err(e);
            }
            None
        }
    };
    if !have.is_some_and(|h| same_policy(&h, &from_json(&policy))) {
        client
            .put_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .policy_document(policy.to_string())
            .customize()
            .config_override(iam::eventually::<
                aws_sdk_iam::operation::put_role_policy::PutRolePolicyError,
            >())
            .send()
            .await
            .map_err(|e| iam::error("PutRolePolicy", e))?;
    }
    Ok(arn)
}
