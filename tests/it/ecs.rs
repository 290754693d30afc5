//! ECS cluster, task definitions, services and their auto scaling against the emulator:
//! the lifecycle of each type (create, an empty re-plan, in-place updates, a replacement
//! where a field forces one, delete), new task definition revisions rolled out to the
//! service with only the current and previous revisions kept, and a desired count that
//! auto scaling changed left alone.
//!
//! What moto cannot show (docs/emulator-gaps.md): it never runs tasks, so
//! `scripts/moto_server.py` reports each deployment COMPLETED with every task running,
//! as AWS does once the tasks are healthy: the steady-state wait passes on its first
//! look, and a circuit-breaker rollback is tested on a described service in the unit
//! tests of `aws::ecs::service` (`steadiness`). It keeps deploymentConfiguration and the
//! grace period on CreateService (moto drops them), describes a family's latest ACTIVE
//! revision and lists only families with one. Application Auto Scaling in moto takes
//! no tags and never scales; the target and policy are checked as stored.

use crate::support::lifecycle::{apply_converges, change, changes};
use crate::support::moto::Moto;
use crate::support::Project;
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::{Registry, Scope};
use std::collections::BTreeMap;

/// The network from the stack's own types; the target group, roles and log group made
/// with the SDK beforehand (their types live on other branches) and named by ARN.
const STACK: &str = r#"stack: ecstest
resources:
  vpc:
    type: aws_vpc
    properties:
      cidr_block: 10.70.0.0/16
  subnet_a:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.70.1.0/24
      availability_zone: eu-west-2a
  subnet_b:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.70.2.0/24
      availability_zone: eu-west-2b
  api_sg:
    type: aws_security_group
    properties:
      vpc_id: ${vpc.id}
      description: backend tasks
  db_password:
    type: aws_secretsmanager_secret
    properties:
      description: database password
      generate: true
      recovery_window_days: 0
  cluster:
    type: aws_ecs_cluster
    properties:
      container_insights: disabled
  api_task:
    type: aws_ecs_task_definition
    properties:
      cpu: 512
      memory: 1024
      execution_role_arn: EXECUTION_ROLE
      task_role_arn: TASK_ROLE
      containers:
        - name: api
          image: 123456789012.dkr.ecr.eu-west-2.amazonaws.com/api:v1
          port: 8080
          environment:
            SPRING_PROFILES_ACTIVE: dev
            SERVER_PORT: 8080
            DB_HOST: db.internal
          secrets:
            DB_PASSWORD: ${db_password.arn}
          log_group: /bandup/dev/api
          health_check:
            command: [CMD-SHELL, "curl -f http://localhost:8080/actuator/health || exit 1"]
            start_period: 60
  api:
    type: aws_ecs_service
    properties:
      cluster: ${cluster.arn}
      task_definition: ${api_task.arn}
      desired_count: 2
      desired_count_managed_by_scaling: true
      subnets:
        - ${subnet_a.id}
        - ${subnet_b.id}
      security_groups:
        - ${api_sg.id}
      load_balancer:
        target_group_arn: TARGET_GROUP
        container_name: api
        container_port: 8080
      health_check_grace_period: 60
      min_healthy_percent: 100
      max_percent: 200
  api_scaling:
    type: aws_ecs_service_scaling
    properties:
      service: ${api.arn}
      min_capacity: 2
      max_capacity: 4
      cpu_target: 60
"#;

const ENV: &str = "default";

fn scope() -> Scope {
    Scope {
        stack: "ecstest".into(),
        env: ENV.into(),
        tags: BTreeMap::new(),
        run: String::new(),
        ..Default::default()
    }
}

async fn plan_of(p: &Project, registry: &Registry) -> Plan {
    let (stack, graph) = crate::support::load(p.root(), None, registry);
    plan(&stack, &graph, registry, Mode::Normal, &Quiet)
        .await
        .expect("plan")
}

async fn discovery_calls(registry: &Registry, type_name: &str) -> u64 {
    let provider = registry.get(type_name).expect("registered");
    let before = registry.calls.get();
    provider.read(&scope(), None).await.expect("read");
    registry.calls.get() - before
}

/// The prerequisites other branches' types make: two roles, a log group, a target group.
async fn prerequisites(sdk: &aws_config::SdkConfig) -> (String, String, String) {
    let iam = aws_sdk_iam::Client::new(sdk);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let mut roles = Vec::new();
    for name in ["ecstest-execution", "ecstest-task"] {
        let role = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust)
            .send()
            .await
            .expect("role");
        roles.push(role.role().map(|r| r.arn().to_string()).unwrap_or_default());
    }
    aws_sdk_cloudwatchlogs::Client::new(sdk)
        .create_log_group()
        .log_group_name("/bandup/dev/api")
        .send()
        .await
        .expect("log group");
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.99.0.0/16")
        .send()
        .await
        .expect("vpc");
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
    let tg = aws_sdk_elasticloadbalancingv2::Client::new(sdk)
        .create_target_group()
        .name("ecstest-api")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(8080)
        .vpc_id(vpc_id)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .expect("target group");
    let tg = tg.target_groups()[0]
        .target_group_arn()
        .unwrap_or_default()
        .to_string();
    (roles[0].clone(), roles[1].clone(), tg)
}

fn family_arns(arns: &[String]) -> Vec<String> {
    let mut revs: Vec<String> = arns
        .iter()
        .map(|a| a.rsplit('/').next().unwrap_or_default().to_string())
        .collect();
    revs.sort();
    revs
}

#[tokio::test]
async fn each_container_type_creates_replans_empty_updates_in_place_replaces_and_deletes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let scaling = aws_sdk_applicationautoscaling::Client::new(&sdk);
    let (execution, task, tg) = prerequisites(&sdk).await;
    let yaml = STACK
        .replace("EXECUTION_ROLE", &execution)
        .replace("TASK_ROLE", &task)
        .replace("TARGET_GROUP", &tg);
    let p = Project::with_stack(&yaml);

    // Create from empty: five network and secret resources and the four container types.
    let first = plan_of(&p, &registry).await;
    assert_eq!(first.summary.add, 9, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;

    let cluster = "ecstest-default-cluster";
    let family = "ecstest-default-api_task";
    let services = ecs
        .describe_services()
        .cluster(cluster)
        .services("ecstest-default-api")
        .send()
        .await
        .expect("service");
    let svc = &services.services()[0];
    assert_eq!(svc.desired_count(), 2);
    assert_eq!(
        svc.task_definition()
            .map(|t| t.ends_with(&format!("{family}:1"))),
        Some(true)
    );
    assert_eq!(
        svc.load_balancers()[0].target_group_arn(),
        Some(tg.as_str())
    );
    assert_eq!(svc.health_check_grace_period_seconds(), Some(60));
    let breaker = svc
        .deployment_configuration()
        .and_then(|d| d.deployment_circuit_breaker())
        .expect("circuit breaker");
    assert!(breaker.enable() && breaker.rollback());
    let vpc = svc
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .expect("awsvpc");
    assert_eq!(vpc.subnets().len(), 2);
    let td = ecs
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
        .expect("task definition");
    let td = td.task_definition().expect("described");
    assert_eq!((td.cpu(), td.memory()), (Some("512"), Some("1024")));
    let api = &td.container_definitions()[0];
    let secret = &api.secrets()[0];
    assert_eq!(secret.name(), "DB_PASSWORD");
    assert!(
        secret.value_from().contains(":secret:"),
        "by ARN, never the value"
    );
    assert!(api
        .environment()
        .iter()
        .any(|kv| kv.name() == Some("SERVER_PORT") && kv.value() == Some("8080")));
    let logs = api
        .log_configuration()
        .and_then(|l| l.options())
        .expect("awslogs");
    assert_eq!(
        logs.get("awslogs-group").map(String::as_str),
        Some("/bandup/dev/api")
    );
    assert_eq!(
        logs.get("awslogs-region").map(String::as_str),
        Some("eu-west-2")
    );
    let targets = scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("targets");
    let target = &targets.scalable_targets()[0];
    assert_eq!(
        (
            target.resource_id(),
            target.min_capacity(),
            target.max_capacity()
        ),
        ("service/ecstest-default-cluster/ecstest-default-api", 2, 4)
    );

    // A no-change read: flat calls per type.
    assert_eq!(discovery_calls(&registry, "aws_ecs_cluster").await, 2);
    assert_eq!(
        discovery_calls(&registry, "aws_ecs_task_definition").await,
        2
    );
    assert_eq!(discovery_calls(&registry, "aws_ecs_service").await, 4);
    assert_eq!(
        discovery_calls(&registry, "aws_ecs_service_scaling").await,
        2
    );

    // Auto scaling moved the count within [min, max]: nothing to change back.
    ecs.update_service()
        .cluster(cluster)
        .service("ecstest-default-api")
        .desired_count(3)
        .send()
        .await
        .expect("scale out");
    let scaled = plan_of(&p, &registry).await;
    assert!(!scaled.summary.has_changes(), "{:#?}", changes(&scaled));

    // In place: a new image and an environment variable register revision 2, which the
    // service is updated to; the scaling target and Container Insights change in place.
    p.edit("stacks/bandup.yaml", "api:v1", "api:v2");
    p.edit(
        "stacks/bandup.yaml",
        "DB_HOST: db.internal",
        "DB_HOST: db2.internal",
    );
    p.edit("stacks/bandup.yaml", "cpu_target: 60", "cpu_target: 70");
    p.edit(
        "stacks/bandup.yaml",
        "container_insights: disabled",
        "container_insights: enabled",
    );
    let updated = plan_of(&p, &registry).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([
            (
                "cluster".to_string(),
                change(Action::Update, &["container_insights"])
            ),
            (
                "api_task".to_string(),
                change(Action::Update, &["containers"])
            ),
            (
                "api".to_string(),
                change(Action::Update, &["task_definition"])
            ),
            (
                "api_scaling".to_string(),
                change(Action::Update, &["cpu_target"])
            ),
        ])
    );
    let text = bandup_infra::ui::plan::render(&updated);
    assert!(
        text.contains(
            r#"image = "123456789012.dkr.ecr.eu-west-2.amazonaws.com/api:v2", name = "api"}"#
        ),
        "a container's change shows what changes in it: {text}"
    );
    assert!(!text.contains("health_check"), "and not what stays: {text}");
    apply_converges(&updated, &p, &registry).await;
    let services = ecs
        .describe_services()
        .cluster(cluster)
        .services("ecstest-default-api")
        .send()
        .await
        .expect("service");
    let svc = &services.services()[0];
    assert_eq!(
        svc.task_definition()
            .map(|t| t.ends_with(&format!("{family}:2"))),
        Some(true)
    );
    assert_eq!(svc.desired_count(), 3, "the scaled count is kept");

    // CPU and memory: revision 3. Only the current and the previous revision stay.
    p.edit(
        "stacks/bandup.yaml",
        "cpu: 512\n      memory: 1024",
        "cpu: 1024\n      memory: 2048",
    );
    let bigger = plan_of(&p, &registry).await;
    assert_eq!(
        changes(&bigger).get("api_task"),
        Some(&change(Action::Update, &["cpu", "memory"]))
    );
    apply_converges(&bigger, &p, &registry).await;
    let active = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("revisions");
    assert_eq!(
        family_arns(active.task_definition_arns()),
        vec![format!("{family}:2"), format!("{family}:3")]
    );

    // A forced replacement: the launch type. The scaling follows its service.
    p.edit(
        "stacks/bandup.yaml",
        "      desired_count: 2\n",
        "      desired_count: 2\n      launch_type: EC2\n",
    );
    let replaced = plan_of(&p, &registry).await;
    let svc = replaced
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "api")
        .expect("api");
    assert_eq!(
        (svc.action, svc.forcing_fields()),
        (Action::Replace, vec!["launch_type"])
    );
    let text = bandup_infra::ui::plan::render(&replaced);
    assert!(
        text.contains("ECS cannot change a service's launch type"),
        "{text}"
    );
    apply_converges(&replaced, &p, &registry).await;
    let services = ecs
        .describe_services()
        .cluster(cluster)
        .services("ecstest-default-api")
        .send()
        .await
        .expect("service");
    assert_eq!(
        services.services()[0].launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Ec2)
    );

    // A cluster still holding a service is refused, naming the service.
    let now = plan_of(&p, &registry).await;
    let live_cluster = now
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "cluster")
        .and_then(|r| r.live.clone())
        .expect("live cluster");
    let scope = scope();
    let note = |_: String| {};
    let req = bandup_infra::provider::Request {
        scope: &scope,
        addr: &live_cluster.addr,
        props: &live_cluster.props,
        timeout: std::time::Duration::from_secs(10),
        protect: false,
        note: &note,
        suffix: None,
    };
    let refused = registry
        .get("aws_ecs_cluster")
        .expect("registered")
        .delete(&req, &live_cluster)
        .await
        .expect_err("in use");
    assert_eq!(refused.kind, bandup_infra::provider::ErrorKind::InUse);
    assert!(
        refused.message.contains("service ecstest-default-api"),
        "{}",
        refused.message
    );

    // Removed from the stack: scaling, service, task definition and cluster are deleted.
    let network_only = yaml
        .split("  cluster:\n")
        .next()
        .expect("network part")
        .to_string();
    std::fs::write(p.root().join("stacks/bandup.yaml"), network_only).expect("write");
    let removed = plan_of(&p, &registry).await;
    assert_eq!(
        changes(&removed),
        BTreeMap::from([
            ("cluster".to_string(), change(Action::Delete, &[])),
            ("api_task".to_string(), change(Action::Delete, &[])),
            ("api".to_string(), change(Action::Delete, &[])),
            ("api_scaling".to_string(), change(Action::Delete, &[])),
        ])
    );
    apply_converges(&removed, &p, &registry).await;
    let services = ecs
        .describe_services()
        .cluster(cluster)
        .services("ecstest-default-api")
        .send()
        .await
        .expect("service");
    assert!(services
        .services()
        .iter()
        .all(|s| s.status() == Some("INACTIVE")));
    let active = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("revisions");
    assert!(active.task_definition_arns().is_empty());
    let targets = scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("targets");
    assert!(targets.scalable_targets().is_empty());
    let clusters = ecs
        .describe_clusters()
        .clusters(cluster)
        .send()
        .await
        .expect("clusters");
    assert!(clusters
        .clusters()
        .iter()
        .all(|c| c.status() == Some("INACTIVE")));
}

#[tokio::test]
async fn lost_create_answers_for_every_container_type_converge_in_one_apply() {
    use crate::support::moto::sdk_at;
    use crate::support::proxy::{Fault, Proxy, Rule};
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let (execution, task, tg) = prerequisites(&sdk).await;
    let proxy = Proxy::start(&moto.endpoint, 11);
    for op in [
        "CreateCluster",
        "RegisterTaskDefinition",
        "CreateService",
        "RegisterScalableTarget",
        "PutScalingPolicy",
    ] {
        proxy.rule(Rule::on(op).fault(Fault::LoseAnswer).times(1));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let yaml = STACK
        .replace("EXECUTION_ROLE", &execution)
        .replace("TASK_ROLE", &task)
        .replace("TARGET_GROUP", &tg);
    let p = Project::with_stack(&yaml);
    let planned = plan_of(&p, &registry).await;
    apply_converges(&planned, &p, &registry).await;
    assert_eq!(proxy.faults().len(), 5, "{:?}", proxy.faults());
    // What makes something is looked for and adopted, never repeated; the scaling's
    // calls create or update, and are simply repeated.
    for op in ["CreateCluster", "RegisterTaskDefinition", "CreateService"] {
        assert_eq!(proxy.seen(op), 1, "{op} adopted, not repeated");
    }
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let families = ecs
        .list_task_definitions()
        .family_prefix("ecstest-default-api_task")
        .send()
        .await
        .expect("revisions");
    assert_eq!(families.task_definition_arns().len(), 1, "one revision");
}

/// Problems `validate` reports for the container types, without AWS.
fn problems(yaml: &str) -> Vec<String> {
    let p = Project::with_stack(yaml);
    let registry = bandup_infra::aws::offline_registry();
    let opts = bandup_infra::config::LoadOptions {
        root: p.root().to_path_buf(),
        env: None,
        stack: None,
    };
    let (_, diags) = bandup_infra::config::load(&opts, &registry);
    diags
        .items
        .iter()
        .map(|d| format!("{} ({})", d.message, d.hint.clone().unwrap_or_default()))
        .collect()
}

#[test]
fn validate_names_fargate_sizes_plain_secrets_a_fought_count_and_a_missing_container() {
    let yaml = STACK
        .replace(
            "cpu: 512\n      memory: 1024",
            "cpu: 256\n      memory: 4096",
        )
        .replace("DB_PASSWORD: ${db_password.arn}", "DB_PASSWORD: hunter2")
        .replace("      desired_count_managed_by_scaling: true\n", "")
        .replace("container_name: api", "container_name: web")
        .replace("cpu_target: 60", "cpu_target: 160");
    let all = problems(&yaml);
    let has = |s: &str| all.iter().any(|m| m.contains(s));
    assert!(
        has("Fargate does not run 256 CPU units with 4096 MiB"),
        "{all:#?}"
    );
    assert!(has("memory is one of 512, 1024, 2048"), "{all:#?}");
    assert!(
        has("secret `DB_PASSWORD` must name a Secrets Manager secret by ARN"),
        "{all:#?}"
    );
    assert!(
        has("is scaled by `api_scaling` but its desired_count would be set back"),
        "{all:#?}"
    );
    assert!(
        has("container `web`, which task definition `api_task` does not have"),
        "{all:#?}"
    );
    assert!(has("cpu_target 160 is not a percentage"), "{all:#?}");
    assert_eq!(all.len(), 5, "{all:#?}");
    let unbalanced = STACK
        .replace("      load_balancer:\n        target_group_arn: TARGET_GROUP\n        container_name: api\n        container_port: 8080\n", "")
        .replace("  api_scaling:\n    type: aws_ecs_service_scaling\n", "  api_scaling:\n    type: aws_ecs_service_scaling\n    protect: true\n");
    let all = problems(&unbalanced);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].contains("health_check_grace_period but no load_balancer")
            || all[1].contains("health_check_grace_period but no load_balancer"),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|m| m.contains("`api_scaling` cannot be protected")),
        "{all:#?}"
    );
    assert!(problems(STACK).is_empty());
}
