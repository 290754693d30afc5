//! Concrete providers, grouped by AWS service (`ec2/`, `rds/`, `elasticache/`, `s3/`,
//! `secretsmanager/`: each owns its client calls, tag conversion and error codes, one
//! file per resource type), and what they all share: the SDK configuration (standard
//! credential chain, profiles, region, `AWS_ENDPOINT_URL`), one client per service with
//! the API-call counter, error conversion, retry rules, waiting, and ownership tags.

pub mod acm;
pub mod apigateway;
pub mod appautoscaling;
pub mod codebuild;
pub mod codeconnections;
pub mod codepipeline;
pub mod ec2;
pub mod ecr;
pub mod ecs;
pub mod elasticache;
pub mod elbv2;
mod error;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod rds;
pub(crate) mod retry;
pub mod route53;
pub mod s3;
pub mod secretsmanager;
pub mod sqs;
pub mod state_bucket;
pub mod tag_index;
pub mod wafv2;
pub mod wait;

pub use error::{aws_error, Codes};

use crate::model::{Addr, Outputs, Props, Value};
use crate::provider::{
    CallCounter, Live, Provider, ProviderError, Registry, Scope, TAG_CREATED, TAG_RESOURCE,
};
use aws_config::meta::region::RegionProviderChain;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::{DateTime, Format};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Every resource type, one line each.
pub fn providers(aws: &Clients) -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(ec2::vpc::Vpc::new(aws)),
        Arc::new(ec2::subnet::Subnet::new(aws)),
        Arc::new(ec2::internet_gateway::InternetGateway::new(aws)),
        Arc::new(ec2::eip::Eip::new(aws)),
        Arc::new(ec2::nat_gateway::NatGateway::new(aws)),
        Arc::new(ec2::route_table::RouteTable::new(aws)),
        Arc::new(ec2::security_group::SecurityGroup::new(aws)),
        Arc::new(secretsmanager::secret::Secret::new(aws)),
        Arc::new(elasticache::subnet_group::SubnetGroup::new(aws)),
        Arc::new(elasticache::replication_group::ReplicationGroup::new(aws)),
        Arc::new(rds::subnet_group::SubnetGroup::new(aws)),
        Arc::new(rds::parameter_group::ParameterGroup::new(aws)),
        Arc::new(rds::instance::Instance::new(aws)),
        Arc::new(s3::bucket::Bucket::new(aws)),
        // Registries, logs and roles.
        Arc::new(ecr::repository::Repository::new(aws)),
        Arc::new(logs::log_group::LogGroup::new(aws)),
        Arc::new(iam::role::Role::new(aws)),
        // Containers.
        Arc::new(ecs::cluster::Cluster::new(aws)),
        Arc::new(ecs::task_definition::TaskDefinition::new(aws)),
        Arc::new(ecs::service::Service::new(aws)),
        Arc::new(appautoscaling::service_scaling::ServiceScaling::new(aws)),
        // Load balancing.
        Arc::new(elbv2::load_balancer::LoadBalancerType::new(aws)),
        Arc::new(elbv2::target_group::TargetGroupType::new(aws)),
        Arc::new(elbv2::listener::ListenerType::new(aws)),
        Arc::new(elbv2::listener_rule::ListenerRuleType::new(aws)),
        // Certificates, DNS and the firewall.
        Arc::new(route53::zone::Zone::new(aws)),
        Arc::new(route53::record::Record::new(aws)),
        Arc::new(acm::certificate::Certificate::new(aws)),
        Arc::new(wafv2::web_acl::WebAclType::new(aws)),
        Arc::new(wafv2::association::Association::new(aws)),
        // Queues.
        Arc::new(sqs::queue::Queue::new(aws)),
        // Workers.
        Arc::new(lambda::function::Function::new(aws)),
        Arc::new(lambda::event_source_mapping::EventSourceMapping::new(aws)),
        Arc::new(lambda::permission::Permission::new(aws)),
        // The AI API.
        Arc::new(apigateway::rest_api::RestApi::new(aws)),
        Arc::new(apigateway::stage::Stage::new(aws)),
        // Builds and pipelines.
        Arc::new(codeconnections::connection::Connection::new(aws)),
        Arc::new(codebuild::project::Project::new(aws)),
        Arc::new(codepipeline::pipeline::Pipeline::new(aws)),
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
    pub rds: aws_sdk_rds::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub s3: aws_sdk_s3::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// IAM is global: roles are scoped by the path `/bandup/<env>/` and tags.
    pub iam: aws_sdk_iam::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub acm: aws_sdk_acm::Client,
    /// Route 53 is global.
    pub route53: aws_sdk_route53::Client,
    pub wafv2: aws_sdk_wafv2::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub apigateway: aws_sdk_apigateway::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub codeconnections: aws_sdk_codeconnections::Client,
    /// The Resource Groups Tagging API: one index of tags for several types.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    /// Who the credentials belong to (the account in S3 bucket names).
    pub sts: aws_sdk_sts::Client,
    /// That account (bucket names, execution ARNs), asked once per run for every type.
    pub account: Account,
}

impl Clients {
    pub fn new(sdk: &SdkConfig, calls: &CallCounter) -> Self {
        let count = || CountCalls(calls.clone());
        macro_rules! client {
            ($sdk:ident) => {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(sdk)
                        .interceptor(count())
                        .build(),
                )
            };
        }
        let sts = client!(aws_sdk_sts);
        Clients {
            ec2: client!(aws_sdk_ec2),
            rds: client!(aws_sdk_rds),
            elasticache: client!(aws_sdk_elasticache),
            s3: client!(aws_sdk_s3),
            secretsmanager: client!(aws_sdk_secretsmanager),
            ecr: client!(aws_sdk_ecr),
            logs: client!(aws_sdk_cloudwatchlogs),
            iam: client!(aws_sdk_iam),
            ecs: client!(aws_sdk_ecs),
            autoscaling: client!(aws_sdk_applicationautoscaling),
            elbv2: client!(aws_sdk_elasticloadbalancingv2),
            acm: client!(aws_sdk_acm),
            route53: client!(aws_sdk_route53),
            wafv2: client!(aws_sdk_wafv2),
            sqs: client!(aws_sdk_sqs),
            lambda: client!(aws_sdk_lambda),
            apigateway: client!(aws_sdk_apigateway),
            codebuild: client!(aws_sdk_codebuild),
            codepipeline: client!(aws_sdk_codepipeline),
            codeconnections: client!(aws_sdk_codeconnections),
            tagging: client!(aws_sdk_resourcegroupstagging),
            account: Account {
                sts: sts.clone(),
                cell: Arc::default(),
            },
            sts,
        }
    }
}

/// The account the run's credentials belong to, asked of STS at most once per run and
/// shared by every type that needs it. The call runs on a task of its own, so it counts
/// in the run's total but in no one type's reads.
#[derive(Clone)]
pub struct Account {
    sts: aws_sdk_sts::Client,
    cell: Arc<tokio::sync::OnceCell<String>>,
}

impl Account {
    pub async fn get(&self) -> Result<String, ProviderError> {
        self.cell
            .get_or_try_init(|| {
                let sts = self.sts.clone();
                async move {
                    tokio::spawn(async move { account_of(&sts).await })
                        .await
                        .map_err(|e| ProviderError::new("GetCallerIdentity", e.to_string()))?
                }
            })
            .await
            .cloned()
    }
}

/// The account the configured credentials belong to (STS GetCallerIdentity).
pub async fn caller_account(sdk: &SdkConfig) -> Result<String, ProviderError> {
    account_of(&aws_sdk_sts::Client::new(sdk)).await
}

/// The account `sts`'s credentials belong to (STS GetCallerIdentity).
pub async fn account_of(sts: &aws_sdk_sts::Client) -> Result<String, ProviderError> {
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_error("GetCallerIdentity", e, |_| None))?;
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

/// What ownership tags say about a live resource: its address, when it was created (the
/// `bandup:created` tag), and every tag it carries.
#[derive(Clone, Debug)]
pub struct Owned {
    pub addr: Addr,
    pub created: Option<u64>,
    pub tags: BTreeMap<String, String>,
}

impl Owned {
    /// What a resource this request has just created carries.
    pub fn made(req: &crate::provider::Request<'_>) -> Self {
        Owned {
            addr: req.addr.clone(),
            created: None,
            tags: req.tags().into_iter().collect(),
        }
    }

    /// What a live resource already carries, for the resource as an update leaves it.
    pub fn of(l: &Live) -> Self {
        Owned {
            addr: l.addr.clone(),
            created: l.created,
            tags: l.tags.clone(),
        }
    }

    /// When AWS's own record says it was created, if the tag does not.
    pub fn or_created(mut self, ms: Option<u64>) -> Self {
        self.created = self.created.or(ms);
        self
    }
}

/// The address, creation time and tags of a live resource, if `scope` owns it.
pub fn owned(scope: &Scope, tags: BTreeMap<String, String>) -> Option<Owned> {
    if !scope.owns(&tags) {
        return None;
    }
    let created = tags
        .get(TAG_CREATED)
        .and_then(|t| DateTime::from_str(t, Format::DateTime).ok())
        .and_then(|t| millis(&t));
    Some(Owned {
        addr: Addr(tags.get(TAG_RESOURCE)?.clone()),
        created,
        tags,
    })
}

/// The tags a new resource is created with: its request's tags, when it was made and by
/// which run.
pub fn creation_tags(req: &crate::provider::Request<'_>) -> Vec<(String, String)> {
    let now = DateTime::from(std::time::SystemTime::now())
        .fmt(Format::DateTime)
        .unwrap_or_default();
    let mut tags = req.tags();
    tags.push((TAG_CREATED.to_string(), now));
    if !req.scope.run.is_empty() {
        tags.push((crate::provider::TAG_RUN.to_string(), req.scope.run.clone()));
    }
    tags
}

/// What the services that tag by ARN with a list of `Tag { key, value }` (WAFv2,
/// CodePipeline, CodeConnections) define the same way: `tags` (what a new resource is
/// created with) and `retag` (TagResource and UntagResource on `arn`). The module's
/// `error` (from `service_calls!`) converts the SDK errors.
macro_rules! tags_by_arn {
    ($sdk:ident) => {
        fn tag(k: &str, v: &str) -> Result<$sdk::types::Tag, $crate::provider::ProviderError> {
            $sdk::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| $crate::provider::ProviderError::new("TagResource", e.to_string()))
        }

        /// The tags a new resource is created with.
        pub fn tags(
            req: &$crate::provider::Request<'_>,
        ) -> Result<Vec<$sdk::types::Tag>, $crate::provider::ProviderError> {
            $crate::aws::creation_tags(req)
                .iter()
                .map(|(k, v)| tag(k, v))
                .collect()
        }

        /// Set and remove tags on the resource `arn`.
        pub async fn retag(
            c: &$sdk::Client,
            arn: &str,
            delta: &$crate::provider::TagDelta,
        ) -> Result<(), $crate::provider::ProviderError> {
            if !delta.set.is_empty() {
                let tags = delta
                    .set
                    .iter()
                    .map(|(k, v)| tag(k, v))
                    .collect::<Result<Vec<_>, _>>()?;
                c.tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(tags))
                    .send()
                    .await
                    .map_err(|e| error("TagResource", e))?;
            }
            if !delta.remove.is_empty() {
                c.untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(delta.remove.clone()))
                    .send()
                    .await
                    .map_err(|e| error("UntagResource", e))?;
            }
            Ok(())
        }
    };
}
pub(crate) use tags_by_arn;

/// Milliseconds since the Unix epoch.
pub fn millis(t: &DateTime) -> Option<u64> {
    u64::try_from(t.to_millis().ok()?).ok()
}

/// A delete's result where an `InUse` refusal names what is in the way: `blockers`
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
        Err(mut e) if e.kind == crate::provider::ErrorKind::InUse => {
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

/// A live resource with `id` as its only output unless more are given.
pub fn live(
    owned: Owned,
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
        addr: owned.addr,
        id: id.to_string(),
        props,
        outputs,
        refs,
        created: owned.created,
        tags: owned.tags,
        pending: None,
    }
}

/// The partition in ARNs for `region`: `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A string property of the desired properties (empty when absent).
pub fn prop_str<'a>(props: &'a Props, field: &str) -> &'a str {
    props.get(field).and_then(Value::as_str).unwrap_or_default()
}

pub fn str_value(s: Option<&str>) -> Value {
    s.map(|s| Value::Str(s.to_string())).unwrap_or(Value::Null)
}
