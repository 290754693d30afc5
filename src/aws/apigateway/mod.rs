//! API Gateway: the REST API in front of the AI services (its resources, methods and
//! Lambda proxy integrations), its deployments and stage; what the types share: API
//! Gateway's error codes, the owned APIs (`GetRestApis`, tags in the listing), ARNs,
//! patch operations and retagging by ARN. `account.rs` sets the account's CloudWatch Logs
//! role for `bootstrap`.

pub mod account;
pub mod rest_api;
pub mod stage;

use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Scope, TagDelta};
use aws_sdk_apigateway::types::{Op, PatchOperation, RestApi};
use std::collections::BTreeMap;

/// The kind of an API Gateway error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "NotFoundException" => ErrorKind::NotFound,
        "ConflictException" => ErrorKind::Conflict,
        "TooManyRequestsException" | "LimitExceededException" => ErrorKind::Throttled,
        _ => return None,
    })
}

service_calls!(aws_sdk_apigateway, &[], codes);

/// The tags of a REST API or stage as a sorted map.
pub fn tag_map(
    tags: Option<&std::collections::HashMap<String, String>>,
) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Every REST API `scope` owns (`GetRestApis`, paginated; tags come in the listing):
/// an API another stack owns is never looked into.
pub async fn owned_apis(
    apigw: &aws_sdk_apigateway::Client,
    scope: &Scope,
) -> Result<Vec<RestApi>, ProviderError> {
    let pages: Vec<_> = apigw
        .get_rest_apis()
        .limit(500)
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| error("GetRestApis", e))?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.items.unwrap_or_default())
        .filter(|a| scope.owns(&tag_map(a.tags())))
        .collect())
}

/// The region the client speaks to.
pub fn region(apigw: &aws_sdk_apigateway::Client) -> String {
    apigw
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default()
}

/// `arn:aws:apigateway:<region>::/restapis/<id>`: what tags are set on.
pub fn api_arn(region: &str, api: &str) -> String {
    format!("arn:aws:apigateway:{region}::/restapis/{api}")
}

/// `arn:aws:execute-api:<region>:<account>:<id>`: what IAM policies and Lambda
/// permissions name to allow invoking the API.
pub fn execution_arn(region: &str, account: &str, api: &str) -> String {
    format!("arn:aws:execute-api:{region}:{account}:{api}")
}

/// A patch operation (`UpdateRestApi`, `UpdateStage`).
pub fn patch(op: Op, path: &str, value: Option<&str>) -> PatchOperation {
    PatchOperation::builder()
        .op(op)
        .path(path)
        .set_value(value.map(str::to_string))
        .build()
}

/// Set and remove tags on the API Gateway resource `arn`.
pub async fn retag(
    apigw: &aws_sdk_apigateway::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        apigw
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(delta.set.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        apigw
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}
