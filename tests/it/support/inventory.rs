//! Everything the emulator holds, asked of each service directly with the SDK and
//! without regard to tags: what a destroy must leave empty. Defaults AWS makes on its own
//! (the default VPC and its pieces, default parameter groups, service-linked roles) are
//! left out.

use aws_config::SdkConfig;
use std::collections::BTreeMap;

/// What is left, by kind (`ec2 vpc`, `iam role`...), with ids; kinds with nothing left
/// are absent.
pub async fn inventory(sdk: &SdkConfig) -> BTreeMap<&'static str, Vec<String>> {
    let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut put = |kind: &'static str, ids: Vec<String>| {
        if !ids.is_empty() {
            out.insert(kind, ids);
        }
    };
    let s = |o: Option<&str>| o.unwrap_or_default().to_string();

    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let vpcs = ec2.describe_vpcs().send().await.expect("vpcs");
    let custom: Vec<&aws_sdk_ec2::types::Vpc> = vpcs
        .vpcs()
        .iter()
        .filter(|v| !v.is_default().unwrap_or(false))
        .collect();
    put("ec2 vpc", custom.iter().map(|v| s(v.vpc_id())).collect());
    let default_vpcs: Vec<String> = vpcs
        .vpcs()
        .iter()
        .filter(|v| v.is_default().unwrap_or(false))
        .map(|v| s(v.vpc_id()))
        .collect();
    let igws = ec2.describe_internet_gateways().send().await.expect("igws");
    put(
        "ec2 internet gateway",
        igws.internet_gateways()
            .iter()
            .filter(|g| {
                !g.attachments()
                    .iter()
                    .any(|a| default_vpcs.contains(&s(a.vpc_id())))
            })
            .map(|g| s(g.internet_gateway_id()))
            .collect(),
    );
    let tables = ec2
        .describe_route_tables()
        .send()
        .await
        .expect("route tables");
    put(
        "ec2 route table",
        tables
            .route_tables()
            .iter()
            .filter(|t| !default_vpcs.contains(&s(t.vpc_id())))
            .map(|t| s(t.route_table_id()))
            .collect(),
    );
    let subnets = ec2.describe_subnets().send().await.expect("subnets");
    put(
        "ec2 subnet",
        subnets
            .subnets()
            .iter()
            .filter(|x| !x.default_for_az().unwrap_or(false))
            .map(|x| s(x.subnet_id()))
            .collect(),
    );
    let groups = ec2.describe_security_groups().send().await.expect("sgs");
    put(
        "ec2 security group",
        groups
            .security_groups()
            .iter()
            .filter(|g| g.group_name() != Some("default"))
            .map(|g| s(g.group_id()))
            .collect(),
    );
    let nats = ec2.describe_nat_gateways().send().await.expect("nats");
    put(
        "ec2 nat gateway",
        nats.nat_gateways()
            .iter()
            .filter(|n| {
                !matches!(
                    n.state(),
                    Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                )
            })
            .map(|n| s(n.nat_gateway_id()))
            .collect(),
    );
    let eips = ec2.describe_addresses().send().await.expect("eips");
    put(
        "ec2 eip",
        eips.addresses()
            .iter()
            .map(|a| s(a.allocation_id()))
            .collect(),
    );

    let rds = aws_sdk_rds::Client::new(sdk);
    let dbs = rds.describe_db_instances().send().await.expect("dbs");
    put(
        "rds instance",
        dbs.db_instances()
            .iter()
            .map(|d| s(d.db_instance_identifier()))
            .collect(),
    );
    let sgs = rds
        .describe_db_subnet_groups()
        .send()
        .await
        .expect("db subnet groups");
    put(
        "rds subnet group",
        sgs.db_subnet_groups()
            .iter()
            .map(|g| s(g.db_subnet_group_name()))
            .collect(),
    );

    let cache = aws_sdk_elasticache::Client::new(sdk);
    let rgs = cache
        .describe_replication_groups()
        .send()
        .await
        .expect("replication groups");
    put(
        "elasticache replication group",
        rgs.replication_groups()
            .iter()
            .map(|g| s(g.replication_group_id()))
            .collect(),
    );

    let s3 = aws_sdk_s3::Client::new(sdk);
    let buckets = s3.list_buckets().send().await.expect("buckets");
    put(
        "s3 bucket",
        buckets.buckets().iter().map(|b| s(b.name())).collect(),
    );

    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let secrets = sm.list_secrets().send().await.expect("secrets");
    put(
        "secret",
        secrets
            .secret_list()
            .iter()
            .filter(|x| x.deleted_date().is_none())
            .map(|x| s(x.name()))
            .collect(),
    );

    let ecr = aws_sdk_ecr::Client::new(sdk);
    let repos = ecr
        .describe_repositories()
        .send()
        .await
        .expect("repositories");
    put(
        "ecr repository",
        repos
            .repositories()
            .iter()
            .map(|r| s(r.repository_name()))
            .collect(),
    );

    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let groups = logs.describe_log_groups().send().await.expect("log groups");
    put(
        "log group",
        groups
            .log_groups()
            .iter()
            .map(|g| s(g.log_group_name()))
            .collect(),
    );

    let iam = aws_sdk_iam::Client::new(sdk);
    let roles = iam.list_roles().send().await.expect("roles");
    put(
        "iam role",
        roles
            .roles()
            .iter()
            .filter(|r| !r.path().starts_with("/aws-service-role/"))
            .map(|r| r.role_name().to_string())
            .collect(),
    );

    let ecs = aws_sdk_ecs::Client::new(sdk);
    let clusters = ecs.list_clusters().send().await.expect("clusters");
    let arns: Vec<String> = clusters.cluster_arns().to_vec();
    if !arns.is_empty() {
        let described = ecs
            .describe_clusters()
            .set_clusters(Some(arns.clone()))
            .send()
            .await
            .expect("describe clusters");
        put(
            "ecs cluster",
            described
                .clusters()
                .iter()
                .filter(|c| c.status() == Some("ACTIVE"))
                .map(|c| s(c.cluster_name()))
                .collect(),
        );
        let mut services = Vec::new();
        for arn in &arns {
            let listed = ecs
                .list_services()
                .cluster(arn)
                .send()
                .await
                .expect("services");
            if listed.service_arns().is_empty() {
                continue;
            }
            // Deleted services stay listed for a while, INACTIVE.
            let described = ecs
                .describe_services()
                .cluster(arn)
                .set_services(Some(listed.service_arns().to_vec()))
                .send()
                .await
                .expect("describe services");
            services.extend(
                described
                    .services()
                    .iter()
                    .filter(|x| x.status() != Some("INACTIVE"))
                    .map(|x| s(x.service_arn())),
            );
        }
        put("ecs service", services);
    }
    let tds = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("task definitions");
    put("ecs task definition", tds.task_definition_arns().to_vec());

    let scaling = aws_sdk_applicationautoscaling::Client::new(sdk);
    let targets = scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("scalable targets");
    put(
        "scalable target",
        targets
            .scalable_targets()
            .iter()
            .map(|t| t.resource_id().to_string())
            .collect(),
    );

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let lbs = elb
        .describe_load_balancers()
        .send()
        .await
        .expect("load balancers");
    put(
        "load balancer",
        lbs.load_balancers()
            .iter()
            .map(|l| s(l.load_balancer_name()))
            .collect(),
    );
    let tgs = elb
        .describe_target_groups()
        .send()
        .await
        .expect("target groups");
    put(
        "target group",
        tgs.target_groups()
            .iter()
            .map(|t| s(t.target_group_name()))
            .collect(),
    );

    let acm = aws_sdk_acm::Client::new(sdk);
    let certs = acm.list_certificates().send().await.expect("certificates");
    put(
        "acm certificate",
        certs
            .certificate_summary_list()
            .iter()
            .map(|c| s(c.domain_name()))
            .collect(),
    );

    let r53 = aws_sdk_route53::Client::new(sdk);
    let zones = r53.list_hosted_zones().send().await.expect("zones");
    put(
        "hosted zone",
        zones
            .hosted_zones()
            .iter()
            .map(|z| z.name().to_string())
            .collect(),
    );

    let waf = aws_sdk_wafv2::Client::new(sdk);
    let acls = waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .send()
        .await
        .expect("web acls");
    put(
        "web acl",
        acls.web_acls().iter().map(|a| s(a.name())).collect(),
    );

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let queues = sqs.list_queues().send().await.expect("queues");
    put("sqs queue", queues.queue_urls().to_vec());

    let lambda = aws_sdk_lambda::Client::new(sdk);
    let functions = lambda.list_functions().send().await.expect("functions");
    put(
        "lambda function",
        functions
            .functions()
            .iter()
            .map(|f| s(f.function_name()))
            .collect(),
    );
    let mappings = lambda
        .list_event_source_mappings()
        .send()
        .await
        .expect("event source mappings");
    put(
        "event source mapping",
        mappings
            .event_source_mappings()
            .iter()
            .map(|m| s(m.uuid()))
            .collect(),
    );

    let apigw = aws_sdk_apigateway::Client::new(sdk);
    let apis = apigw.get_rest_apis().send().await.expect("rest apis");
    put(
        "rest api",
        apis.items().iter().map(|a| s(a.name())).collect(),
    );

    let codebuild = aws_sdk_codebuild::Client::new(sdk);
    let projects = codebuild.list_projects().send().await.expect("projects");
    put("codebuild project", projects.projects().to_vec());

    let codepipeline = aws_sdk_codepipeline::Client::new(sdk);
    let pipelines = codepipeline
        .list_pipelines()
        .send()
        .await
        .expect("pipelines");
    put(
        "pipeline",
        pipelines.pipelines().iter().map(|p| s(p.name())).collect(),
    );

    let connections = aws_sdk_codeconnections::Client::new(sdk)
        .list_connections()
        .send()
        .await
        .expect("connections");
    put(
        "connection",
        connections
            .connections()
            .iter()
            .map(|c| s(c.connection_name()))
            .collect(),
    );
    out
}
