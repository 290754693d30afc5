//! The application load balancer, target groups, listeners and rules against the emulator:
//! every type from empty, a re-plan with nothing to do (and the calls it makes), in-place
//! changes, a target group replaced beside the old one while a rule forwards to it, a rule
//! removed from the stack, destroy; deletion protection; access logs to a bucket whose
//! policy does not let ELB write.
//!
//! What moto cannot show (docs/emulator-gaps.md): a balancer is `active` at its first
//! look, and a target group is released the moment its last listener or rule lets go,
//! so the waits pass at once; `scripts/moto_server.py` corrects deletion protection
//! (moto deleted a protected balancer) and the access-log bucket check (moto accepted
//! any bucket).

use crate::support::lifecycle::{change, changes, failures, live_id, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::config::{self, LoadOptions};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The edge of the BandUp platform, smaller: two public subnets, the ALB's security
/// group, the balancer with access logs, the frontend and backend target groups, HTTP
/// redirecting to HTTPS, HTTPS forwarding to the frontend and `/api/*` to the backend.
const STACK: &str = r#"stack: elbtest
resources:
  vpc:
    type: aws_vpc
    properties:
      cidr_block: 10.70.0.0/16
  public_a:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.70.1.0/24
      availability_zone: eu-west-2a
  public_b:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.70.2.0/24
      availability_zone: eu-west-2b
  alb_sg:
    type: aws_security_group
    properties:
      vpc_id: ${vpc.id}
      description: ALB
  alb:
    type: aws_lb
    properties:
      subnet_ids: ["${public_a.id}", "${public_b.id}"]
      security_group_ids: ["${alb_sg.id}"]
      idle_timeout: 60
      drop_invalid_header_fields: true
      deletion_protection: false
      access_logs: { bucket: LOG_BUCKET, prefix: alb }
  frontend_tg:
    type: aws_lb_target_group
    properties:
      port: 3000
      vpc_id: ${vpc.id}
      health_check: { path: /, matcher: "200-399" }
      deregistration_delay: 30
  backend_tg:
    type: aws_lb_target_group
    properties:
      port: 8000
      vpc_id: ${vpc.id}
      health_check: { path: /api/health, interval: 15 }
      deregistration_delay: 30
  http:
    type: aws_lb_listener
    properties:
      load_balancer_arn: ${alb.arn}
      port: 80
      protocol: HTTP
      default_action:
        redirect: { protocol: HTTPS, port: "443", status_code: HTTP_301 }
  https:
    type: aws_lb_listener
    properties:
      load_balancer_arn: ${alb.arn}
      port: 443
      protocol: HTTPS
      ssl_policy: ELBSecurityPolicy-TLS13-1-2-2021-06
      certificate_arn: CERT_ARN
      default_action: { forward: "${frontend_tg.arn}" }
  api:
    type: aws_lb_listener_rule
    properties:
      listener_arn: ${https.arn}
      priority: 10
      conditions: { path_patterns: ["/api/*"] }
      action: { forward: "${backend_tg.arn}" }
"#;

const BUCKET: &str = "elbtest-alb-logs";

/// What the bucket policy must allow for ALB access logs in eu-west-2 (an older region:
/// the regional ELB account), and the log delivery service (newer regions).
const LOG_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AlbAccessLogs",
      "Effect": "Allow",
      "Principal": { "AWS": "arn:aws:iam::652711504416:root" },
      "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::elbtest-alb-logs/alb/AWSLogs/123456789012/*"
    },
    {
      "Sid": "AlbAccessLogsDelivery",
      "Effect": "Allow",
      "Principal": { "Service": "logdelivery.elasticloadbalancing.amazonaws.com" },
      "Action": "s3:PutObject",
      "Resource": "arn:aws:s3:::elbtest-alb-logs/alb/AWSLogs/123456789012/*"
    }
  ]
}"#;

/// The stack with the certificate and the bucket filled in.
fn stack(cert: &str) -> String {
    STACK
        .replace("CERT_ARN", cert)
        .replace("LOG_BUCKET", BUCKET)
}

/// An ACM certificate for the HTTPS listener, and the access-log bucket (with the
/// policy when `policy`).
async fn prerequisites(sdk: &aws_config::SdkConfig, policy: bool) -> String {
    let acm = aws_sdk_acm::Client::new(sdk);
    let cert = acm
        .request_certificate()
        .domain_name("bandup.example")
        .send()
        .await
        .expect("certificate")
        .certificate_arn()
        .unwrap_or_default()
        .to_string();
    let s3 = aws_sdk_s3::Client::new(sdk);
    s3.create_bucket()
        .bucket(BUCKET)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    if policy {
        put_policy(&s3).await;
    }
    cert
}

async fn put_policy(s3: &aws_sdk_s3::Client) {
    s3.put_bucket_policy()
        .bucket(BUCKET)
        .policy(LOG_POLICY)
        .send()
        .await
        .expect("bucket policy");
}

/// Apply `planned`, then check that a new plan has nothing left to do.
async fn converges(planned: &Plan, p: &Project, registry: &Registry) {
    let report = apply(planned, registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let after = plan_of(p, registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
}

/// What discovering `type_name` found and the API calls it made.
fn reads(p: &Plan, type_name: &str) -> (usize, u64) {
    let r = &p.reads[type_name];
    (r.found, r.api_calls)
}

async fn attributes(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    arn: &str,
) -> BTreeMap<String, String> {
    elb.describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .iter()
        .map(|a| {
            (
                a.key().unwrap_or_default().to_string(),
                a.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn target_groups(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
) -> Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroup> {
    elb.describe_target_groups()
        .send()
        .await
        .expect("target groups")
        .target_groups()
        .to_vec()
}

async fn rules(
    elb: &aws_sdk_elasticloadbalancingv2::Client,
    listener: &str,
) -> Vec<aws_sdk_elasticloadbalancingv2::types::Rule> {
    elb.describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .expect("rules")
        .rules()
        .iter()
        .filter(|r| r.is_default() != Some(true))
        .cloned()
        .collect()
}

#[tokio::test]
async fn elb_types_create_replan_nothing_update_in_place_and_are_deleted() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let cert = prerequisites(&sdk, true).await;
    let p = Project::with_stack(&stack(&cert));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 10, "{:#?}", changes(&first));
    converges(&first, &p, &registry).await;

    // A no-change plan: a flat number of calls per type.
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(again.summary.unchanged, 10);
    // DescribeLoadBalancers, DescribeTags, DescribeLoadBalancerAttributes.
    assert_eq!(reads(&again, "aws_lb"), (1, 3));
    // DescribeTargetGroups, DescribeTags, DescribeTargetGroupAttributes x2.
    assert_eq!(reads(&again, "aws_lb_target_group"), (2, 4));
    // DescribeLoadBalancers, DescribeListeners, DescribeTags (of the listeners).
    assert_eq!(reads(&again, "aws_lb_listener"), (2, 3));
    // ... and DescribeRules for each of the two listeners.
    assert_eq!(reads(&again, "aws_lb_listener_rule"), (1, 5));

    // What AWS holds.
    let alb = live_id(&again, "alb");
    let lb = elb
        .describe_load_balancers()
        .load_balancer_arns(&alb)
        .send()
        .await
        .expect("lb")
        .load_balancers()[0]
        .clone();
    assert_eq!(lb.load_balancer_name(), Some("elbtest-default-alb"));
    assert_eq!(lb.availability_zones().len(), 2);
    let attrs = attributes(&elb, &alb).await;
    assert_eq!(attrs["access_logs.s3.enabled"], "true");
    assert_eq!(attrs["access_logs.s3.bucket"], BUCKET);
    assert_eq!(attrs["access_logs.s3.prefix"], "alb");
    assert_eq!(
        attrs["routing.http.drop_invalid_header_fields.enabled"],
        "true"
    );
    assert_eq!(attrs["deletion_protection.enabled"], "false");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&alb)
        .send()
        .await
        .expect("listeners")
        .listeners()
        .to_vec();
    assert_eq!(listeners.len(), 2);
    let https = listeners
        .iter()
        .find(|l| l.port() == Some(443))
        .expect("https");
    assert_eq!(
        https.ssl_policy(),
        Some("ELBSecurityPolicy-TLS13-1-2-2021-06")
    );
    assert_eq!(
        https.default_actions()[0].target_group_arn(),
        Some(live_id(&again, "frontend_tg").as_str())
    );
    let http = listeners
        .iter()
        .find(|l| l.port() == Some(80))
        .expect("http");
    let redirect = http.default_actions()[0]
        .redirect_config()
        .expect("redirect");
    assert_eq!(redirect.protocol(), Some("HTTPS"));
    assert_eq!(redirect.port(), Some("443"));
    let api = rules(&elb, https.listener_arn().unwrap_or_default()).await;
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].priority(), Some("10"));
    let groups = target_groups(&elb).await;
    let backend = groups
        .iter()
        .find(|g| g.port() == Some(8000))
        .expect("backend group");
    assert_eq!(backend.health_check_path(), Some("/api/health"));
    assert_eq!(backend.health_check_interval_seconds(), Some(15));

    // In place: the idle timeout, a health check, the rule's priority and paths, the
    // HTTPS listener's policy.
    p.edit(
        "stacks/bandup.yaml",
        "idle_timeout: 60",
        "idle_timeout: 120",
    );
    p.edit(
        "stacks/bandup.yaml",
        "{ path: /, matcher",
        "{ path: /healthz, matcher",
    );
    p.edit("stacks/bandup.yaml", "priority: 10", "priority: 20");
    p.edit(
        "stacks/bandup.yaml",
        "[\"/api/*\"]",
        "[\"/api/*\", \"/graphql\"]",
    );
    p.edit(
        "stacks/bandup.yaml",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    );
    let update = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&update),
        BTreeMap::from([
            ("alb".to_string(), change(Action::Update, &["idle_timeout"])),
            (
                "frontend_tg".to_string(),
                change(Action::Update, &["health_check"])
            ),
            ("https".to_string(), change(Action::Update, &["ssl_policy"])),
            (
                "api".to_string(),
                change(Action::Update, &["priority", "conditions"])
            ),
        ])
    );
    let text = bandup_infra::ui::plan::render(&update);
    assert!(text.contains("~ alb"), "{text}");
    converges(&update, &p, &registry).await;
    assert_eq!(
        attributes(&elb, &alb).await["idle_timeout.timeout_seconds"],
        "120"
    );
    let api = rules(&elb, https.listener_arn().unwrap_or_default()).await;
    assert_eq!(api[0].priority(), Some("20"));
    let paths = api[0].conditions()[0]
        .path_pattern_config()
        .map(|c| c.values().to_vec())
        .unwrap_or_default();
    assert_eq!(paths, ["/api/*", "/graphql"]);

    // Stack tags reach every type by AddTags, listeners and rules included (with the
    // seven ownership tags, eleven: moto's limit was ten, AWS's is fifty).
    p.edit(
        "stacks/bandup.yaml",
        "stack: elbtest\n",
        "stack: elbtest\ntags: { team: edge, project: ielts-bandup, environment: dev, cost-centre: platform }\n",
    );
    let retag = plan_of(&p, &registry, Mode::Normal).await;
    for addr in ["alb", "frontend_tg", "backend_tg", "http", "https", "api"] {
        assert_eq!(
            changes(&retag).get(addr),
            Some(&change(Action::Update, &["tags"])),
            "{addr}"
        );
    }
    converges(&retag, &p, &registry).await;
    let rule_arn = rules(&elb, https.listener_arn().unwrap_or_default()).await[0]
        .rule_arn()
        .unwrap_or_default()
        .to_string();
    let tagged = elb
        .describe_tags()
        .resource_arns(&rule_arn)
        .resource_arns(https.listener_arn().unwrap_or_default())
        .send()
        .await
        .expect("tags");
    assert_eq!(tagged.tag_descriptions().len(), 2);
    for d in tagged.tag_descriptions() {
        assert!(
            d.tags()
                .iter()
                .any(|t| t.key() == Some("team") && t.value() == Some("edge")),
            "{d:?}"
        );
    }
    // One more on resources that carry eleven (moto refused a twelfth).
    p.edit(
        "stacks/bandup.yaml",
        "team: edge,",
        "team: edge, owner: web,",
    );
    let more = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(more.summary.change, 10, "{:#?}", changes(&more));
    converges(&more, &p, &registry).await;

    // Someone adds a rule of their own to the listener: not ours, never read or touched.
    use aws_sdk_elasticloadbalancingv2::types as elbt;
    elb.create_rule()
        .listener_arn(https.listener_arn().unwrap_or_default())
        .priority(99)
        .conditions(
            elbt::RuleCondition::builder()
                .field("path-pattern")
                .values("/theirs")
                .build(),
        )
        .actions(
            elbt::Action::builder()
                .r#type(elbt::ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    elbt::FixedResponseActionConfig::builder()
                        .status_code("204")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("their rule");

    // Our rule leaves the stack: it is deleted; theirs and the listener's default stay.
    let text = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("read");
    let (kept, _) = text.split_once("  api:\n").expect("the rule");
    std::fs::write(p.root().join("stacks/bandup.yaml"), kept).expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&removed),
        BTreeMap::from([("api".to_string(), change(Action::Delete, &[]))])
    );
    converges(&removed, &p, &registry).await;
    let left = rules(&elb, https.listener_arn().unwrap_or_default()).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].priority(), Some("99"));

    // Destroy: listeners before the balancer, target groups after the listeners.
    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    assert_eq!(destroy.summary.destroy, 9);
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let lbs = elb.describe_load_balancers().send().await.expect("lbs");
    assert!(lbs.load_balancers().is_empty());
    assert!(target_groups(&elb).await.is_empty());
}

#[tokio::test]
async fn elb_target_group_port_change_makes_the_new_group_first_and_moves_listener_and_rule() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let cert = prerequisites(&sdk, true).await;
    let p = Project::with_stack(&stack(&cert));
    let first = plan_of(&p, &registry, Mode::Normal).await;
    converges(&first, &p, &registry).await;
    let before = plan_of(&p, &registry, Mode::Normal).await;
    let old = [
        live_id(&before, "frontend_tg"),
        live_id(&before, "backend_tg"),
    ];

    // The frontend group is what the HTTPS listener forwards to, the backend group what
    // the rule forwards to.
    p.edit("stacks/bandup.yaml", "port: 3000", "port: 3001");
    p.edit("stacks/bandup.yaml", "port: 8000", "port: 8080");
    let replace = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&replace),
        BTreeMap::from([
            (
                "frontend_tg".to_string(),
                change(Action::Replace, &["port"])
            ),
            ("backend_tg".to_string(), change(Action::Replace, &["port"])),
            (
                "https".to_string(),
                change(Action::Update, &["default_action"])
            ),
            ("api".to_string(), change(Action::Update, &["action"])),
        ])
    );
    for addr in ["frontend_tg", "backend_tg"] {
        let planned = replace
            .resources
            .iter()
            .find(|r| r.addr.as_str() == addr)
            .expect("planned");
        assert!(planned.create_first, "{addr} is in use: made first");
    }
    let text = bandup_infra::ui::plan::render(&replace);
    for line in ["+/- frontend_tg", "+/- backend_tg", "~ https", "~ api"] {
        assert!(text.contains(line), "{line} in {text}");
    }
    converges(&replace, &p, &registry).await;

    let groups = target_groups(&elb).await;
    assert_eq!(groups.len(), 2, "the old groups are gone");
    assert!(groups
        .iter()
        .all(|g| !old.iter().any(|o| g.target_group_arn() == Some(o.as_str()))));
    assert!(groups.iter().any(|g| g.port() == Some(3001)));
    let new = groups
        .iter()
        .find(|g| g.port() == Some(8080))
        .expect("new backend group");
    // Named beside the old one (`elbtest-default-backend-tg`): shortened, with a hash
    // and the run's suffix, in 32 characters.
    let name = new.target_group_name().unwrap_or_default();
    assert!(
        name.starts_with("elbtest-default-ba") && name.len() == 32,
        "{name}"
    );
    let after = plan_of(&p, &registry, Mode::Normal).await;
    let https = live_id(&after, "https");
    let api = rules(&elb, &https).await;
    assert_eq!(
        api[0].actions()[0].target_group_arn(),
        new.target_group_arn()
    );
    let listener = elb
        .describe_listeners()
        .listener_arns(&https)
        .send()
        .await
        .expect("listener");
    assert_eq!(
        listener.listeners()[0].default_actions()[0].target_group_arn(),
        Some(live_id(&after, "frontend_tg").as_str())
    );
}

#[tokio::test]
async fn elb_deletion_protection_refuses_destroy_naming_the_field() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let cert = prerequisites(&sdk, true).await;
    let p = Project::with_stack(&stack(&cert));
    p.edit(
        "stacks/bandup.yaml",
        "deletion_protection: false",
        "deletion_protection: true",
    );
    let first = plan_of(&p, &registry, Mode::Normal).await;
    converges(&first, &p, &registry).await;

    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    assert!(
        failed.iter().any(|f| f.starts_with("alb: ")
            && f.contains("OperationNotPermitted")
            && f.contains("deletion_protection: false")),
        "{failed:#?}"
    );
    assert_eq!(
        elb.describe_load_balancers()
            .send()
            .await
            .expect("lbs")
            .load_balancers()
            .len(),
        1
    );

    // Turned off in the stack and applied, then destroy goes through.
    p.edit(
        "stacks/bandup.yaml",
        "deletion_protection: true",
        "deletion_protection: false",
    );
    let off = plan_of(&p, &registry, Mode::Normal).await;
    let alb = changes(&off).remove("alb").expect("alb changes");
    assert_eq!(alb, change(Action::Update, &["deletion_protection"]));
    apply(&off, &registry, 10, Arc::new(Quiet)).await;
    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert!(elb
        .describe_load_balancers()
        .send()
        .await
        .expect("lbs")
        .load_balancers()
        .is_empty());
}

#[tokio::test]
async fn elb_access_logs_need_a_bucket_policy_letting_elb_write() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let cert = prerequisites(&sdk, false).await;
    let p = Project::with_stack(&stack(&cert));
    let first = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&first, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    assert!(
        failed.iter().any(|f| f.starts_with("alb: ")
            && f.contains("Access Denied for bucket: elbtest-alb-logs")
            && f.contains("logdelivery.elasticloadbalancing.amazonaws.com")),
        "{failed:#?}"
    );

    // With the policy, the next apply sets the logs on the balancer made before.
    put_policy(&aws_sdk_s3::Client::new(&sdk)).await;
    let retry = plan_of(&p, &registry, Mode::Normal).await;
    let alb = changes(&retry).remove("alb").expect("alb changes");
    assert_eq!(alb.0, Action::Update, "{alb:?}");
    assert!(alb.1.contains(&"access_logs".to_string()), "{alb:?}");
    converges(&retry, &p, &registry).await;
}

/// Every ELB call that makes something, its answer lost: one apply converges, with one
/// of each (the lost create is found by its tags, not made again).
#[tokio::test]
async fn elb_lost_answers_on_each_create_converge_in_one_apply() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let cert = prerequisites(&sdk, true).await;
    let proxy = Proxy::start(&moto.endpoint, 11);
    let ops = [
        ("CreateLoadBalancer", Fault::LoseAnswer),
        ("CreateTargetGroup", Fault::LoseConnection),
        ("CreateListener", Fault::LoseAnswer),
        ("CreateRule", Fault::LoseAnswer),
        ("ModifyLoadBalancerAttributes", Fault::LoseAnswer),
    ];
    for (op, fault) in ops {
        proxy.rule(Rule::on(op).fault(fault));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(&stack(&cert));
    let first = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&first, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), ops.len(), "{:?}", proxy.faults());
    for (op, n) in [
        ("CreateLoadBalancer", 1),
        ("CreateTargetGroup", 2),
        ("CreateListener", 2),
        ("CreateRule", 1),
    ] {
        assert_eq!(proxy.seen(op), n, "{op}: one per resource, none sent again");
    }

    let clean = bandup_infra::aws::registry(&sdk_at(&moto.endpoint).await);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let lbs = elb.describe_load_balancers().send().await.expect("lbs");
    assert_eq!(lbs.load_balancers().len(), 1);
    assert_eq!(target_groups(&elb).await.len(), 2);
}

/// The problems `validate` finds in `yaml`, as `line:col message`.
fn problems(yaml: &str) -> Vec<String> {
    let p = Project::with_stack(yaml);
    let registry = bandup_infra::aws::offline_registry();
    let opts = LoadOptions {
        root: p.root().to_path_buf(),
        env: None,
        stack: None,
    };
    let (_, diags) = config::load(&opts, &registry);
    diags
        .items
        .iter()
        .map(|d| format!("{}:{} {}", d.pos.line, d.pos.col, d.message))
        .collect()
}

#[test]
fn validate_checks_listener_actions_certificates_rule_conditions_and_priorities() {
    let found = problems(
        r#"stack: elbtest
resources:
  alb:
    type: aws_lb
    properties:
      subnet_ids: [subnet-1]
      security_group_ids: [sg-1]
  https:
    type: aws_lb_listener
    properties:
      load_balancer_arn: ${alb.arn}
      port: 443
      protocol: HTTPS
      default_action: { forward: arn-a, fixed_response: { status_code: "404" } }
  http:
    type: aws_lb_listener
    properties:
      load_balancer_arn: ${alb.arn}
      port: 80
      protocol: HTTP
      ssl_policy: ELBSecurityPolicy-TLS13-1-2-2021-06
      default_action: { redirect: { protocol: HTTPS, port: "443" } }
  api:
    type: aws_lb_listener_rule
    properties:
      listener_arn: ${https.arn}
      priority: 10
      conditions: {}
      action: { forward: arn-b }
  api_again:
    type: aws_lb_listener_rule
    properties:
      listener_arn: ${https.arn}
      priority: 10
      conditions: { host_headers: [api.example.com] }
      action: { forward: arn-b }
  too_late:
    type: aws_lb_listener_rule
    properties:
      listener_arn: ${https.arn}
      priority: 50001
      conditions: { path_patterns: ["/x"] }
      action: {}
"#,
    );
    let expect = [
        "at least two availability zones (1 given)",
        "`https`: default_action must have exactly one of `forward`, `redirect` or `fixed_response` (2 given)",
        "`https`: an HTTPS listener needs `certificate_arn`",
        "`http`: an HTTP listener takes no `ssl_policy`",
        "`api`: a rule needs at least one condition",
        "`api_again` has the priority of `api` on the same listener",
        "`too_late`: priority 50001 is not between 1 and 50000",
        "`too_late`: action must have exactly one of `forward`, `redirect` or `fixed_response` (0 given)",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.contains(e)), "{e}\nin {found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

/// A target group another stack's listener forwards to is not deleted: the refusal is
/// tried again for a while (AWS lets go lazily), then names what is in the way.
#[tokio::test]
async fn elb_a_target_group_in_use_elsewhere_is_refused_naming_the_listener() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let p = Project::with_stack(
        r#"stack: elbtest
resources:
  vpc:
    type: aws_vpc
    properties:
      cidr_block: 10.71.0.0/16
  public_a:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.71.1.0/24
      availability_zone: eu-west-2a
  public_b:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.71.2.0/24
      availability_zone: eu-west-2b
  frontend_tg:
    type: aws_lb_target_group
    timeouts: { delete: 3s }
    properties:
      port: 3000
      vpc_id: ${vpc.id}
"#,
    );
    let first = plan_of(&p, &registry, Mode::Normal).await;
    converges(&first, &p, &registry).await;
    let live = plan_of(&p, &registry, Mode::Normal).await;
    let group = live_id(&live, "frontend_tg");

    // Another stack's balancer forwards to it.
    let foreign = elb
        .create_load_balancer()
        .name("someone-elses-alb")
        .subnets(live_id(&live, "public_a"))
        .subnets(live_id(&live, "public_b"))
        .send()
        .await
        .expect("foreign balancer");
    let foreign_arn = foreign.load_balancers()[0]
        .load_balancer_arn()
        .unwrap_or_default()
        .to_string();
    elb.create_listener()
        .load_balancer_arn(&foreign_arn)
        .port(80)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&group)
                .build(),
        )
        .send()
        .await
        .expect("foreign listener");

    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    let refused = failed
        .iter()
        .find(|f| f.starts_with("frontend_tg: "))
        .unwrap_or_else(|| panic!("{failed:#?}"));
    assert!(refused.contains("ResourceInUse"), "{refused}");
    assert!(
        refused.contains(&format!(
            "a listener or rule of load balancer {foreign_arn} (not owned by this stack)"
        )),
        "{refused}"
    );
    assert!(
        refused.contains("point those listeners and rules at another target group"),
        "{refused}"
    );
    assert_eq!(target_groups(&elb).await.len(), 1, "still there");
}
