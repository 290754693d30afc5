//! Concrete providers, one file per resource type, and what they share: the SDK
//! configuration (standard credential chain, profiles, region, `AWS_ENDPOINT_URL`), the
//! API-call counter, ownership-tag filters and AWS error conversion.

mod eip;
mod internet_gateway;
mod nat_gateway;
mod route_table;
mod security_group;
mod subnet;
mod vpc;

use crate::model::{Addr, Outputs, Props, Value};
use crate::provider::{
    CallCounter, Live, Provider, ProviderError, Registry, Scope, TAG_ENV, TAG_RESOURCE, TAG_STACK,
};
use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every resource type, one line each.
pub fn providers(aws: &Clients) -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(vpc::Vpc::new(aws)),
        Arc::new(subnet::Subnet::new(aws)),
        Arc::new(internet_gateway::InternetGateway::new(aws)),
        Arc::new(eip::Eip::new(aws)),
        Arc::new(nat_gateway::NatGateway::new(aws)),
        Arc::new(route_table::RouteTable::new(aws)),
        Arc::new(security_group::SecurityGroup::new(aws)),
    ]
}

/// The registry of every AWS resource type, with clients built from `sdk`.
pub fn registry(sdk: &SdkConfig) -> Registry {
    let calls = CallCounter::default();
    let clients = Clients::new(sdk, &calls);
    Registry::new(providers(&clients), calls)
}

/// A registry whose clients are never used: for `validate` and `graph`, which make no
/// AWS call and must not need credentials or a region.
pub fn offline_registry() -> Registry {
    let sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    registry(&sdk)
}

/// Where to reach AWS, from the command line; everything else comes from the standard
/// AWS environment (profiles, credentials, `AWS_ENDPOINT_URL`).
#[derive(Debug, Default, Clone)]
pub struct Target {
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
}

/// Load the SDK configuration. The region comes from `--region`, the environment file,
/// `AWS_REGION` or the profile, never from the instance metadata service.
pub async fn sdk_config(target: &Target) -> Result<SdkConfig, String> {
    let mut chain = RegionProviderChain::first_try(target.region.clone().map(Region::new))
        .or_else(aws_config::environment::EnvironmentVariableRegionProvider::new());
    let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
    if let Some(p) = &target.profile {
        profile_region = profile_region.profile_name(p);
    }
    chain = chain.or_else(profile_region.build());
    let region = chain.region().await.ok_or(
        "no AWS region: set `region:` in the environment file, pass --region, or set AWS_REGION",
    )?;
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(region);
    if let Some(url) = &target.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    Ok(loader.load().await)
}

/// One client per service for the whole run (clients are cheap to clone).
#[derive(Clone)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig, calls: &CallCounter) -> Self {
        let ec2 = aws_sdk_ec2::config::Builder::from(sdk)
            .interceptor(CountCalls(calls.clone()))
            .build();
        Clients {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
        }
    }
}

/// The account the configured credentials belong to (STS GetCallerIdentity).
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, ProviderError> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("GetCallerIdentity", e))?;
    Ok(out.account().unwrap_or_default().to_string())
}

/// Counts every request put on the wire (retries included).
#[derive(Debug)]
struct CountCalls(CallCounter);

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.add();
        Ok(())
    }
}

/// An SDK error as the engine reports it: operation, AWS error code, message, request id.
pub fn aws_error<E, R>(operation: &str, e: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: RequestId,
{
    ProviderError {
        operation: operation.to_string(),
        code: e.code().map(str::to_string),
        message: e.message().map(str::to_string).unwrap_or_else(|| chain(&e)),
        request_id: e.request_id().map(str::to_string),
    }
}

/// An error and its causes on one line, each said once, without debug dumps.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let m = cause.to_string();
        if !m.is_empty() && !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        next = cause.source();
    }
    if out.contains("credential") {
        out.push_str(" (configure AWS credentials: a profile with --profile or AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
    out
}

/// Error codes EC2 answers for an id it has just returned but does not show everywhere yet.
const NOT_YET_VISIBLE: &[&str] = &[
    "InvalidVpcID.NotFound",
    "InvalidSubnetID.NotFound",
    "InvalidGroup.NotFound",
    "InvalidInternetGatewayID.NotFound",
    "InvalidGatewayID.NotFound",
    "InvalidNatGatewayID.NotFound",
    "InvalidAllocationID.NotFound",
    "InvalidRouteTableID.NotFound",
];

/// Per-call configuration for calls that name resources created moments before: EC2 is
/// eventually consistent, so "not found" is retried with backoff (about 25 s at most)
/// by the SDK's own retry loop. `E` is the operation's error type.
pub fn eventually<E>() -> aws_sdk_ec2::config::Builder
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let classifier = aws_runtime::retries::classifiers::AwsErrorCodeClassifier::<E>::builder()
        .transient_errors(NOT_YET_VISIBLE)
        .build();
    aws_sdk_ec2::config::Builder::default()
        .retry_classifier(classifier)
        .retry_config(
            aws_sdk_ec2::config::retry::RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(std::time::Duration::from_millis(250))
                .with_max_backoff(std::time::Duration::from_secs(8)),
        )
}

/// True for "it is already gone" errors, which make deletes idempotent.
pub fn is_not_found(e: &ProviderError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.ends_with("NotFound") || c.ends_with(".NotFound"))
}

/// EC2 filters selecting what `scope` owns.
pub fn owner_filters(scope: &Scope) -> Vec<Filter> {
    vec![
        Filter::builder()
            .name(format!("tag:{TAG_STACK}"))
            .values(&scope.stack)
            .build(),
        Filter::builder()
            .name(format!("tag:{TAG_ENV}"))
            .values(&scope.env)
            .build(),
    ]
}

pub fn tag_spec(scope: &Scope, addr: &Addr, rt: ResourceType) -> TagSpecification {
    let tags = scope
        .tags_for(addr)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(tags))
        .build()
}

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// The address a live resource's tags give it, if `scope` owns it.
pub fn owned_addr(scope: &Scope, tags: &[Tag]) -> Option<Addr> {
    let tags = tag_map(tags);
    if !scope.owns(&tags) {
        return None;
    }
    tags.get(TAG_RESOURCE).map(|a| Addr(a.clone()))
}

/// A live resource with `id` as its only output unless more are given.
pub fn live(
    addr: Addr,
    id: &str,
    props: Props,
    refs: Vec<String>,
    extra: &[(&str, Value)],
) -> Live {
    let mut outputs = Outputs::new();
    outputs.insert("id".into(), Value::Str(id.to_string()));
    for (k, v) in extra {
        outputs.insert((*k).to_string(), v.clone());
    }
    Live {
        addr,
        id: id.to_string(),
        props,
        outputs,
        refs,
    }
}

/// A string property of the desired properties (empty when absent).
pub fn prop_str<'a>(props: &'a Props, field: &str) -> &'a str {
    props.get(field).and_then(Value::as_str).unwrap_or_default()
}

pub fn str_value(s: Option<&str>) -> Value {
    s.map(|s| Value::Str(s.to_string())).unwrap_or(Value::Null)
}

/// A delete's result, where "already gone" counts as success.
pub fn deleted<T, E, R>(operation: &str, r: Result<T, SdkError<E, R>>) -> Result<(), ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: RequestId,
{
    match r.map_err(|e| aws_error(operation, e)) {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}
