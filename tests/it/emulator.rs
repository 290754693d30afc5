//! The network layer against a real AWS emulator (moto), started and stopped by each test.
//!
//! What moto cannot show (see docs/emulator-gaps.md): resources are available at once,
//! so the NAT gateway waiters pass on their first poll; deleting a security group that
//! another group's rule references succeeds (AWS refuses with DependencyViolation); and
//! EC2 describes ignore MaxResults, so pagination is never exercised here.

use crate::support::moto::Moto;
use crate::support::{load, Project};
use bandup_infra::apply::apply;
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

async fn plan_env(root: &Path, env: &str, registry: &Registry, mode: Mode) -> Plan {
    let (stack, graph) = load(root, Some(env), registry);
    plan(&stack, &graph, registry, mode, &Quiet)
        .await
        .expect("plan")
}

async fn apply_env(root: &Path, env: &str, registry: &Registry, mode: Mode) -> Plan {
    let p = plan_env(root, env, registry, mode).await;
    let report = apply(&p, registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:#?}", report.outcomes);
    p
}

/// The planned actions other than no-op, by address.
fn changes(p: &Plan) -> BTreeMap<String, Action> {
    p.resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .map(|r| (r.addr.to_string(), r.action))
        .collect()
}

/// The expected non-no-op actions, in the shape `changes` returns.
fn expect(actions: &[(&str, Action)]) -> BTreeMap<String, Action> {
    actions
        .iter()
        .map(|(a, act)| (a.to_string(), *act))
        .collect()
}

/// Apply `planned`, then check that a new plan of `env` has nothing left to do.
async fn apply_converges(planned: &Plan, root: &Path, env: &str, registry: &Registry) {
    let report = apply(planned, registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:#?}", report.outcomes);
    let after = plan_env(root, env, registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
}

/// How many live EC2 network resources carry `bandup:env = env`, asked of EC2 directly.
async fn tagged(ec2: &aws_sdk_ec2::Client, env: &str) -> BTreeMap<&'static str, usize> {
    use aws_sdk_ec2::types::Filter;
    let f = || Filter::builder().name("tag:bandup:env").values(env).build();
    let live_nat = Filter::builder()
        .name("state")
        .values("pending")
        .values("available")
        .build();
    let mut out = BTreeMap::new();
    out.insert(
        "vpc",
        ec2.describe_vpcs()
            .filters(f())
            .send()
            .await
            .expect("vpcs")
            .vpcs()
            .len(),
    );
    out.insert(
        "subnet",
        ec2.describe_subnets()
            .filters(f())
            .send()
            .await
            .expect("subnets")
            .subnets()
            .len(),
    );
    out.insert(
        "igw",
        ec2.describe_internet_gateways()
            .filters(f())
            .send()
            .await
            .expect("igws")
            .internet_gateways()
            .len(),
    );
    out.insert(
        "eip",
        ec2.describe_addresses()
            .filters(f())
            .send()
            .await
            .expect("eips")
            .addresses()
            .len(),
    );
    // moto ignores tag filters on DescribeNatGateways: check the tags here, as the provider does.
    let nats = ec2
        .describe_nat_gateways()
        .filter(f())
        .filter(live_nat)
        .send()
        .await
        .expect("nats");
    let ours =
        |t: &aws_sdk_ec2::types::Tag| t.key() == Some("bandup:env") && t.value() == Some(env);
    out.insert(
        "nat",
        nats.nat_gateways()
            .iter()
            .filter(|n| n.tags().iter().any(ours))
            .count(),
    );
    out.insert(
        "route_table",
        ec2.describe_route_tables()
            .filters(f())
            .send()
            .await
            .expect("rts")
            .route_tables()
            .len(),
    );
    out.insert(
        "security_group",
        ec2.describe_security_groups()
            .filters(f())
            .send()
            .await
            .expect("sgs")
            .security_groups()
            .len(),
    );
    out
}

#[tokio::test]
async fn the_dev_stack_applies_from_empty_and_then_plans_no_changes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let root = crate::support::project_root();

    let first = apply_env(&root, "dev", &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 89);
    insta::with_settings!({ filters => vec![(r"in \d+\.\d+s", "in [time]")] }, {
        insta::assert_snapshot!("dev_plan_from_empty", bandup_infra::ui::plan::render(&first));
    });
    let counts = tagged(&ec2, "dev").await;
    let expected = BTreeMap::from([
        ("vpc", 1),
        ("subnet", 4),
        ("igw", 1),
        ("eip", 1),
        ("nat", 1),
        ("route_table", 3),
        ("security_group", 5),
    ]);
    assert_eq!(counts, expected);

    // The private route tables both go through the one NAT gateway in dev.
    let rts = ec2.describe_route_tables().send().await.expect("rts");
    let via_nat = rts
        .route_tables()
        .iter()
        .flat_map(|t| t.routes())
        .filter(|r| r.nat_gateway_id().is_some())
        .count();
    assert_eq!(via_nat, 2);

    let second = plan_env(&root, "dev", &registry, Mode::Normal).await;
    assert!(!second.summary.has_changes(), "{:#?}", changes(&second));
    assert_eq!(second.summary.unchanged, 89);
    // One listing per type, and the per-resource reads AWS gives no batch for (see
    // docs/benchmarks.md): the VPC's two DNS attributes, a parameter group's parameters
    // and tags, a cache's members, seven settings per bucket. The tags of buckets, log
    // groups, subnet groups, web ACLs, repositories, queues, mappings, connections and
    // pipelines come from the tag index: one GetResources for all of them.
    let calls: BTreeMap<&str, u64> = second
        .reads
        .iter()
        .map(|(t, r)| (t.as_str(), r.api_calls))
        .collect();
    let per_type = [
        ("aws_vpc", 3),
        ("aws_subnet", 1),
        ("aws_internet_gateway", 1),
        ("aws_eip", 1),
        ("aws_nat_gateway", 1),
        ("aws_route_table", 1),
        ("aws_security_group", 1),
        ("aws_secretsmanager_secret", 1),
        ("aws_db_subnet_group", 1),
        ("aws_db_parameter_group", 1 + 2),
        ("aws_db_instance", 1),
        ("aws_elasticache_subnet_group", 1),
        ("aws_elasticache_replication_group", 2 + 1),
        ("aws_s3_bucket", 1 + 7 * 5),
        // Edge: zones and their tags (ten per call) and name servers; records of the
        // zones found; certificates with their tags, and the zone of their validation
        // records; web ACLs with their rules; each owned balancer's web ACL.
        ("aws_route53_zone", 1 + 1 + 1),
        ("aws_route53_record", 1 + 1 + 1),
        ("aws_acm_certificate", 1 + 1 + 1 + 1),
        ("aws_wafv2_web_acl", 1 + 1),
        ("aws_wafv2_web_acl_association", 1 + 1 + 1),
        // Load balancing: listings, tags 20 at a time, attributes per balancer and group;
        // listeners per balancer, rules per listener.
        ("aws_lb", 1 + 1 + 1),
        ("aws_lb_target_group", 1 + 1 + 2),
        ("aws_lb_listener", 1 + 1 + 1),
        ("aws_lb_listener_rule", 1 + 1 + 2 + 1),
        // Compute: IAM in two calls whatever the number of roles; log groups under two
        // prefixes; repositories' lifecycle policies; ECS clusters, services ten at a
        // time, the newest revision of each family; scaling.
        ("aws_iam_role", 2),
        ("aws_cloudwatch_log_group", 2),
        ("aws_ecr_repository", 1 + 2),
        ("aws_ecs_cluster", 2),
        ("aws_ecs_service", 2 + 2),
        ("aws_ecs_task_definition", 1 + 2),
        ("aws_ecs_service_scaling", 2),
        // AI: queues' attributes each (SQS has no batch read); functions one GetFunction
        // each (configuration, tags and concurrency at once); mappings region-wide;
        // permissions: each function's policy; the API and its routes in one call each,
        // its stages and deployments.
        ("aws_sqs_queue", 1 + 6),
        ("aws_lambda_function", 1 + 4),
        ("aws_lambda_event_source_mapping", 1),
        ("aws_lambda_permission", 4),
        ("aws_api_gateway_rest_api", 1 + 1),
        ("aws_api_gateway_stage", 1 + 2),
        // Delivery: connections; projects in one batch with their tags; pipelines with
        // their declaration each.
        ("aws_codeconnections_connection", 1),
        ("aws_codebuild_project", 1 + 1),
        ("aws_codepipeline", 1 + 2),
    ];
    assert_eq!(calls, per_type.into_iter().collect(), "{:#?}", second.reads);
    // The reads of every type, and the tag index, which no one type owns.
    assert_eq!(calls.values().sum::<u64>() + 1, second.api_calls);
    assert_eq!(second.api_calls, 132);
}

#[tokio::test]
async fn a_changed_parameter_plans_exactly_that_change_and_apply_converges() {
    let moto = Moto::start();
    let registry = bandup_infra::aws::registry(&moto.sdk().await);
    let p = Project::copy();
    apply_env(p.root(), "dev", &registry, Mode::Normal).await;

    // A new ingress rule on the ALB, and a resized private subnet.
    p.edit(
        "stacks/bandup.yaml",
        "        - { protocol: tcp, from_port: 443, to_port: 443, cidr: 0.0.0.0/0, description: HTTPS }\n",
        "        - { protocol: tcp, from_port: 443, to_port: 443, cidr: 0.0.0.0/0, description: HTTPS }\n        - { protocol: tcp, from_port: 8443, to_port: 8443, cidr: 10.0.0.0/8, description: admin }\n",
    );
    p.edit(
        "environments/dev.yaml",
        "cidr: 10.10.11.0/24",
        "cidr: 10.10.12.0/23",
    );
    let planned = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    let expected = expect(&[
        ("alb_sg", Action::Update),
        ("private_subnet[eu-west-2b]", Action::Replace),
        // What holds the subnet's id follows the new one: its route table association,
        // and the database's and the cache's subnet groups.
        ("private_rt[eu-west-2b]", Action::Update),
        ("db_subnets", Action::Update),
        ("cache_subnets", Action::Update),
        // and the services that run tasks in it.
        ("frontend", Action::Update),
        ("backend", Action::Update),
    ]);
    assert_eq!(changes(&planned), expected);
    let subnet = planned
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "private_subnet[eu-west-2b]")
        .expect("subnet");
    assert_eq!(subnet.forcing_fields(), vec!["cidr_block"]);
    let alb = planned
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "alb_sg")
        .expect("alb");
    assert_eq!(
        alb.changes
            .iter()
            .map(|c| c.field.as_str())
            .collect::<Vec<_>>(),
        ["ingress"]
    );
    let text = bandup_infra::ui::plan::render(&planned);
    assert!(
        text.contains("Plan: 0 to add, 6 to change, 1 to replace, 0 to destroy."),
        "{text}"
    );
    assert!(
        text.contains(
            "~ cidr_block = \"10.10.11.0/24\" -> \"10.10.12.0/23\"  # forces replacement: EC2 cannot change a subnet's address range"
        ),
        "{text}"
    );

    apply_converges(&planned, p.root(), "dev", &registry).await;
}

#[tokio::test]
async fn a_resource_removed_from_the_stack_is_planned_for_deletion() {
    let moto = Moto::start();
    let registry = bandup_infra::aws::registry(&moto.sdk().await);
    let p = Project::copy();
    apply_env(p.root(), "dev", &registry, Mode::Normal).await;
    // The firewall's association and the app's DNS record go: neither can carry tags,
    // so what makes them this stack's is their load balancer and their marker record.
    let text = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("read");
    for (from, to) in [
        ("  waf_alb:\n", "  # --- Compute"),
        ("  app_record:\n", "  # --- Edge: the firewall"),
    ] {
        let start = text.find(from).expect("declared");
        let end = start + text[start..].find(to).expect("what follows");
        p.edit("stacks/bandup.yaml", &text[start..end], "");
    }
    let planned = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    // The record's marker keeps its address; an association keeps none, so one no
    // longer declared is named after its type and its load balancer.
    assert_eq!(
        changes(&planned),
        expect(&[
            ("aws_wafv2_web_acl_association[alb]", Action::Delete),
            ("app_record", Action::Delete)
        ])
    );
    apply_converges(&planned, p.root(), "dev", &registry).await;
}

#[tokio::test]
async fn destroy_removes_everything_of_one_environment_and_nothing_of_another() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let root = crate::support::project_root();
    apply_env(&root, "dev", &registry, Mode::Normal).await;
    let prod = apply_env(&root, "prod", &registry, Mode::Normal).await;
    assert_eq!(prod.summary.add, 96, "prod plans only its own resources");
    let prod_before = tagged(&ec2, "prod").await;

    let destroyed = plan_env(&root, "dev", &registry, Mode::Destroy { force: false }).await;
    assert_eq!(destroyed.summary.destroy, 89);
    // AWS will not detach an internet gateway while the VPC has mapped public addresses
    // (moto does not enforce it): the NAT gateway and its EIP must go first.
    let steps = bandup_infra::apply::schedule(&destroyed, &registry);
    let at = |addr: &str| {
        (0..steps.len())
            .find(|&i| steps.node(i).addr.as_str() == addr)
            .expect("step")
    };
    for first in ["nat[eu-west-2a]", "nat_eip[eu-west-2a]"] {
        assert!(
            steps.descendants(at(first)).contains(&at("igw")),
            "{first} is deleted before igw"
        );
    }
    let report = apply(&destroyed, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:#?}", report.outcomes);
    let done = |addr: &str| {
        report
            .outcomes
            .iter()
            .position(|o| o.addr.as_str() == addr)
            .expect("outcome")
    };
    assert!(done("nat[eu-west-2a]") < done("igw"));
    assert!(
        tagged(&ec2, "dev").await.values().all(|&n| n == 0),
        "{:?}",
        tagged(&ec2, "dev").await
    );
    assert_eq!(tagged(&ec2, "prod").await, prod_before);
    assert!(!plan_env(&root, "prod", &registry, Mode::Normal)
        .await
        .summary
        .has_changes());
}

#[tokio::test]
async fn in_place_updates_of_each_type_converge() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let p = Project::copy();
    apply_env(p.root(), "dev", &registry, Mode::Normal).await;

    // An environment override, a subnet attribute, a new route, a security group's egress.
    p.edit(
        "environments/dev.yaml",
        "  artifact_days: 14\n",
        "  artifact_days: 14\noverrides:\n  vpc:\n    enable_dns_hostnames: false\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "      map_public_ip_on_launch: true\n",
        "      map_public_ip_on_launch: false\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "          gateway_id: ${igw.id}\n",
        "          gateway_id: ${igw.id}\n        - destination_cidr_block: 192.168.0.0/16\n          gateway_id: ${igw.id}\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "description: from the backend }\n      egress: []\n",
        "description: from the backend }\n      egress:\n        - { protocol: tcp, from_port: 443, to_port: 443, cidr: 10.10.0.0/16 }\n",
    );
    let planned = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    let expected = expect(&[
        ("vpc", Action::Update),
        ("public_subnet[eu-west-2a]", Action::Update),
        ("public_subnet[eu-west-2b]", Action::Update),
        ("public_rt", Action::Update),
        ("db_sg", Action::Update),
    ]);
    assert_eq!(changes(&planned), expected);
    apply_converges(&planned, p.root(), "dev", &registry).await;

    let vpc_id = planned
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "vpc")
        .and_then(|r| r.live.as_ref())
        .map(|l| l.id.clone())
        .expect("vpc id");
    let hostnames = ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .expect("attribute");
    assert_eq!(
        hostnames.enable_dns_hostnames().and_then(|a| a.value()),
        Some(false)
    );
}

#[tokio::test]
async fn replacing_the_vpc_replaces_what_lives_in_it_and_converges() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let p = Project::copy();
    apply_env(p.root(), "dev", &registry, Mode::Normal).await;
    let before = tagged(&ec2, "dev").await;

    let env = std::fs::read_to_string(p.root().join("environments/dev.yaml")).expect("read");
    std::fs::write(
        p.root().join("environments/dev.yaml"),
        env.replace("10.10.", "10.11."),
    )
    .expect("write");
    let planned = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    let vpc = planned
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "vpc")
        .expect("vpc");
    assert_eq!(
        (vpc.action, vpc.forcing_fields()),
        (Action::Replace, vec!["cidr_block"])
    );
    // Everything with a vpc_id (or in a replaced subnet) is replaced, the target groups
    // too; the Elastic IP stays. The new VPC is made beside the old one, so what a
    // listener or a service uses (target groups, security groups) can be made first.
    assert_eq!(planned.summary.replace, 17, "{:#?}", changes(&planned));
    let first: Vec<&str> = planned
        .resources
        .iter()
        .filter(|r| r.create_first)
        .map(|r| r.addr.as_str())
        .collect();
    for addr in [
        "vpc",
        "frontend_tg",
        "backend_tg",
        "alb_sg",
        "app_sg",
        "web_sg",
    ] {
        assert!(first.contains(&addr), "{addr} made first: {first:?}");
    }
    assert_eq!(changes(&planned).get("nat_eip[eu-west-2a]"), None);

    apply_converges(&planned, p.root(), "dev", &registry).await;
    assert_eq!(
        tagged(&ec2, "dev").await,
        before,
        "no leftovers, nothing missing"
    );
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:bandup:env")
                .values("dev")
                .build(),
        )
        .send()
        .await
        .expect("vpcs");
    assert_eq!(
        vpcs.vpcs().first().and_then(|v| v.cidr_block()),
        Some("10.11.0.0/16")
    );
}

#[tokio::test]
async fn not_found_for_a_referenced_id_is_retried_as_aws_is_eventually_consistent() {
    // moto is consistent at once, so a real "not yet visible" cannot be staged: a gateway
    // that never exists stands in for it, and the count of attempts shows the retry.
    let moto = Moto::start();
    let registry = bandup_infra::aws::registry(&moto.sdk().await);
    let root = crate::support::project_root().join("tests/fixtures/not_yet_visible");
    let planned = {
        let (stack, graph) = load(&root, None, &registry);
        plan(&stack, &graph, &registry, Mode::Normal, &Quiet)
            .await
            .expect("plan")
    };
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let failed: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, bandup_infra::apply::Status::Failed { .. }))
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(format!("{:?}", failed[0].status)
        .contains("CreateRoute failed: InvalidInternetGatewayID.NotFound"));
    // For each create, one DescribeX looking for a copy made since the plan; then
    // CreateVpc, DescribeVpcs (waiter), ModifyVpcAttribute, CreateRouteTable, and
    // CreateRoute tried 8 times before giving up.
    assert_eq!(report.api_calls, 2 + 4 + 8);
}

#[tokio::test]
async fn tags_changed_out_of_band_and_a_new_environment_tag_converge() {
    use aws_sdk_ec2::types::{Filter, Tag};
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let p = Project::copy();
    apply_env(p.root(), "dev", &registry, Mode::Normal).await;
    let live = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    let id_of = |addr: &str| {
        live.resources
            .iter()
            .find(|r| r.addr.as_str() == addr)
            .and_then(|r| r.live.as_ref().map(|l| l.id.clone()))
            .expect("live id")
    };
    let (vpc, subnet) = (id_of("vpc"), id_of("public_subnet[eu-west-2a]"));

    // In the console: a cost centre changed, a Name removed, an extra tag added.
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    ec2.create_tags()
        .resources(&vpc)
        .tags(tag("cost-centre", "marketing"))
        .tags(tag("owner", "someone"))
        .send()
        .await
        .expect("tag vpc");
    ec2.delete_tags()
        .resources(&subnet)
        .tags(Tag::builder().key("Name").build())
        .send()
        .await
        .expect("untag subnet");
    let drifted = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    assert_eq!(
        changes(&drifted),
        expect(&[
            ("vpc", Action::Update),
            ("public_subnet[eu-west-2a]", Action::Update)
        ])
    );
    let text = bandup_infra::ui::plan::render(&drifted);
    assert!(
        text.contains(
            "~ tags = {cost-centre = \"marketing\", owner = \"someone\"} -> {cost-centre = \"engineering\"}"
        ),
        "{text}"
    );
    apply_converges(&drifted, p.root(), "dev", &registry).await;

    // A tag added to the environment file reaches every resource, in place.
    p.edit(
        "environments/dev.yaml",
        "  cost-centre: engineering\n",
        "  cost-centre: engineering\n  data-classification: internal\n",
    );
    let added = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    // Everything that carries tags; the WAF association, the scaling policies and the
    // Lambda permission carry none, and a record set's marker carries only ownership.
    let untagged = [
        "ai_api_invoke",
        "waf_alb",
        "frontend_scaling",
        "backend_scaling",
        "app_record",
    ];
    let unchanged: Vec<&str> = added
        .resources
        .iter()
        .filter(|r| r.action == Action::NoOp)
        .map(|r| r.addr.as_str())
        .collect();
    let mut untagged_sorted = untagged.to_vec();
    untagged_sorted.sort();
    let mut unchanged = unchanged;
    unchanged.sort();
    assert_eq!(unchanged, untagged_sorted, "{:#?}", changes(&added));
    assert_eq!(
        added.summary.change,
        added.resources.len() - untagged.len(),
        "{:#?}",
        changes(&added)
    );
    assert_eq!(added.summary.replace + added.summary.add, 0);
    apply_converges(&added, p.root(), "dev", &registry).await;
    let tagged_internal = ec2
        .describe_subnets()
        .filters(
            Filter::builder()
                .name("tag:data-classification")
                .values("internal")
                .build(),
        )
        .send()
        .await
        .expect("describe");
    assert_eq!(tagged_internal.subnets().len(), 4);
}

#[tokio::test]
async fn discovery_counts_the_calls_of_each_type_and_they_add_up() {
    let moto = Moto::start();
    let registry = bandup_infra::aws::registry(&moto.sdk().await);
    let p = Project::copy();
    apply_env(p.root(), "dev", &registry, Mode::Normal).await;
    let again = plan_env(p.root(), "dev", &registry, Mode::Normal).await;
    let calls = |t: &str| again.reads.get(t).map(|r| r.api_calls);
    // One describe per EC2 type; the VPC's two DNS attributes are not in DescribeVpcs.
    assert_eq!(calls("aws_vpc"), Some(3));
    for t in [
        "aws_subnet",
        "aws_security_group",
        "aws_route_table",
        "aws_eip",
    ] {
        assert_eq!(calls(t), Some(1), "{t}");
    }
    assert_eq!(again.reads["aws_subnet"].found, 4);
    // Every call is some type's, but one: the tag index that several types share.
    let sum: u64 = again.reads.values().map(|r| r.api_calls).sum();
    assert_eq!(sum + 1, again.api_calls, "{:#?}", again.reads);
}
