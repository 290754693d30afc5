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
    CallCounter, Live, Provider, ProviderError, Registry, Scope, TAG_CREATED, TAG_ENV,
    TAG_RESOURCE, TAG_STACK,
};
use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::config::interceptors::{BeforeTransmitInterceptorContextRef, InterceptorContext};
use aws_sdk_ec2::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::{BoxError, ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use std::collections::BTreeMap;
use std::marker::PhantomData;
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

/// An SDK error as the engine reports it: operation, AWS error code, message, request id,
/// and whether the call may have been carried out although it failed.
pub fn aws_error<E>(operation: &str, e: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    SdkError<E, HttpResponse>: RequestId,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let ambiguous = match &e {
        SdkError::ConstructionFailure(_) => false,
        SdkError::DispatchFailure(d) => !d.is_user(),
        SdkError::ServiceError(_) => {
            status.is_some_and(|s| s >= 500)
                && !code
                    .as_deref()
                    .is_some_and(|c| THROTTLING_ERRORS.contains(&c))
        }
        _ => true,
    };
    let message = match (e.message(), &code, e.raw_response()) {
        (Some(m), _, _) => m.to_string(),
        // An answer that is not an AWS error at all: a proxy or gateway in between
        // failed, or the service is unavailable. Say that, not what the parser choked on.
        (None, None, Some(raw)) if raw.status().as_u16() >= 400 => not_aws(raw, ambiguous),
        _ => chain(&e),
    };
    ProviderError {
        operation: operation.to_string(),
        code,
        message,
        request_id: e.request_id().map(str::to_string),
        ambiguous,
    }
}

/// "HTTP 502 Bad Gateway with an empty body instead of an AWS error response: ..."
fn not_aws(raw: &HttpResponse, ambiguous: bool) -> String {
    let status = raw.status().as_u16();
    let reason = http_reason(status);
    let body = raw
        .body()
        .bytes()
        .map(|b| {
            String::from_utf8_lossy(b)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let what = if body.is_empty() {
        "an empty body".to_string()
    } else {
        let shown: String = body.chars().take(120).collect();
        let more = if shown.len() < body.len() { "..." } else { "" };
        format!("a body that is not an AWS error ({shown}{more})")
    };
    let why = if status >= 500 {
        "a proxy or gateway between here and AWS failed, or the service is unavailable"
    } else {
        "something between here and AWS (a proxy, a firewall, a wrong --endpoint-url) refused the request"
    };
    let outcome = if ambiguous {
        " The request may have been carried out; running the command again is safe: it reads what exists first."
    } else {
        ""
    };
    format!("the endpoint answered HTTP {status}{reason} with {what} instead of an AWS error response: {why}.{outcome}")
}

fn http_reason(status: u16) -> &'static str {
    match status {
        400 => " Bad Request",
        403 => " Forbidden",
        404 => " Not Found",
        500 => " Internal Server Error",
        502 => " Bad Gateway",
        503 => " Service Unavailable",
        504 => " Gateway Timeout",
        _ => "",
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

/// Per-call configuration for idempotent calls that name resources created moments
/// before: EC2 is eventually consistent, so "not found" is retried with backoff (about
/// 25 s at most) by the SDK's own retry loop, as are throttling and server errors.
/// `E` is the operation's error type.
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

/// Per-call configuration for calls that are not safe to repeat blindly (creates,
/// authorizing a rule, adding a route, associating): as `eventually`, but an attempt
/// whose outcome is unknown (no answer, a timeout, a server error) is not retried by the
/// SDK. It fails as `ambiguous`, and the engine reads what exists before trying again.
/// Throttling and "not yet visible" answers, which say nothing was done, are retried.
pub fn once<E>() -> aws_sdk_ec2::config::Builder
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    eventually::<E>().retry_classifier(NoAmbiguousRetry::<E>(PhantomData))
}

/// Forbids a retry unless the answer proves the call did nothing (see `once`).
struct NoAmbiguousRetry<E>(PhantomData<E>);

impl<E> std::fmt::Debug for NoAmbiguousRetry<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoAmbiguousRetry")
    }
}

impl<E> ClassifyRetry for NoAmbiguousRetry<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(err)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = err
            .as_operation_error()
            .and_then(|e| e.downcast_ref::<E>())
            .and_then(|e| e.code());
        match code {
            Some(c) if THROTTLING_ERRORS.contains(&c) || NOT_YET_VISIBLE.contains(&c) => {
                RetryAction::NoActionIndicated
            }
            _ => RetryAction::RetryForbidden,
        }
    }

    fn name(&self) -> &'static str {
        "NoAmbiguousRetry"
    }
}

/// True for "it is already gone" errors, which make deletes idempotent.
pub fn is_not_found(e: &ProviderError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.ends_with("NotFound") || c.ends_with(".NotFound"))
}

/// EC2 filters selecting what `scope` owns; with `addr`, only the copies of that resource.
pub fn owner_filters(scope: &Scope, addr: Option<&Addr>) -> Vec<Filter> {
    let tag = |k: &str, v: &str| Filter::builder().name(format!("tag:{k}")).values(v).build();
    let mut f = vec![tag(TAG_STACK, &scope.stack), tag(TAG_ENV, &scope.env)];
    if let Some(a) = addr {
        f.push(tag(TAG_RESOURCE, a.as_str()));
    }
    f
}

/// The tags a new resource at `addr` is created with (atomically, in the create call):
/// ownership, the user's tags, and when it was created.
pub fn tag_spec(scope: &Scope, addr: &Addr, rt: ResourceType) -> TagSpecification {
    let now = DateTime::from(std::time::SystemTime::now())
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default();
    let tags = scope
        .tags_for(addr)
        .into_iter()
        .chain([(TAG_CREATED.to_string(), now)])
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

/// The address a live resource's tags give it, if `scope` owns it, and when it was
/// created (from the `bandup:created` tag).
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<(Addr, Option<u64>)> {
    let tags = tag_map(tags);
    if !scope.owns(&tags) {
        return None;
    }
    let created = tags
        .get(TAG_CREATED)
        .and_then(|t| DateTime::from_str(t, DateTimeFormat::DateTime).ok())
        .and_then(|t| millis(&t));
    Some((Addr(tags.get(TAG_RESOURCE)?.clone()), created))
}

/// Milliseconds since the Unix epoch.
pub fn millis(t: &DateTime) -> Option<u64> {
    u64::try_from(t.to_millis().ok()?).ok()
}

/// A delete's result where a `DependencyViolation` names what is in the way: `blockers`
/// (asked only then) lists it, `held` says how ("still holds", "is still used by") and
/// `advice` what the user can do about it.
pub async fn name_blockers(
    result: Result<(), ProviderError>,
    id: &str,
    held: &str,
    blockers: impl std::future::Future<Output = Result<Vec<String>, ProviderError>>,
    advice: &str,
) -> Result<(), ProviderError> {
    match result {
        Err(mut e) if e.code.as_deref() == Some("DependencyViolation") => {
            if let Some(b) = blockers.await.ok().filter(|b| !b.is_empty()) {
                e.message = format!(
                    "{id} {held}: {}. bandup-infra never deletes what this stack does not own: {advice}, then run destroy again",
                    b.join("; ")
                );
            }
            Err(e)
        }
        other => other,
    }
}

/// The network interfaces matching one EC2 filter (`subnet-id`, `group-id`...), described
/// for a person: what blocks a delete is usually an interface of something else.
pub async fn interfaces(
    ec2: &aws_sdk_ec2::Client,
    filter: &str,
    value: &str,
) -> Result<Vec<String>, ProviderError> {
    let out = ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name(filter).values(value).build())
        .send()
        .await
        .map_err(|e| aws_error("DescribeNetworkInterfaces", e))?;
    Ok(out
        .network_interfaces()
        .iter()
        .map(|i| {
            let what = i
                .description()
                .filter(|d| !d.is_empty())
                .map(|d| format!(" ({d:?})"))
                .unwrap_or_default();
            format!(
                "network interface {}{what}",
                i.network_interface_id().unwrap_or_default()
            )
        })
        .collect())
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
        created: None,
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
pub fn deleted<T, E>(
    operation: &str,
    r: Result<T, SdkError<E, HttpResponse>>,
) -> Result<(), ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    SdkError<E, HttpResponse>: RequestId,
{
    match r.map_err(|e| aws_error(operation, e)) {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}
