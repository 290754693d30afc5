//! ACM certificates, Route 53 zones and records, and the WAF web ACL against the emulator:
//! each type's lifecycle (create, an empty re-plan, in-place updates, replacements,
//! deletes), record ownership by marker (a record someone else made is refused, and
//! adopted once marked; protection kept in the marker), a zone holding someone else's
//! records kept, a certificate or web ACL in use named, lost answers adopted, and the
//! association of a web ACL with a load balancer made by the SDK (the load balancer
//! type lives on another branch).
//!
//! What moto cannot show (docs/emulator-gaps.md): records resolve at once, so a
//! certificate is issued at the first look after its validation records are written
//! (the "still validating" wait is not seen); a load balancer is never "still
//! provisioning", so the association's retry on WAFUnavailableEntityException is not
//! exercised; a stale lock token (WAFOptimisticLockException) cannot be provoked.
//! scripts/moto_server.py corrects: CREATE over an existing record set, issuance only
//! once the validation records exist, certificates in use by listeners, deleting an
//! associated web ACL, and ListResourcesForWebACL (HTTP 500 in moto).

use crate::support::lifecycle::{apply_converges, change, changes, failures, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use std::collections::BTreeMap;
use std::sync::Arc;

/// API calls each type's discovery made in a plan, by type.
fn reads(p: &Plan, types: &[&str]) -> BTreeMap<String, u64> {
    types
        .iter()
        .map(|t| (t.to_string(), p.reads.get(*t).map_or(0, |r| r.api_calls)))
        .collect()
}

fn calls(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(t, n)| (t.to_string(), *n)).collect()
}

/// A load balancer made outside the stack (as the ALB type of another branch would):
/// its ARN, DNS name and canonical hosted zone.
async fn load_balancer(sdk: &aws_config::SdkConfig) -> (String, String, String) {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.70.0.0/16")
        .send()
        .await
        .expect("vpc");
    let vpc = vpc
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let mut subnets = Vec::new();
    for (cidr, az) in [
        ("10.70.1.0/24", "eu-west-2a"),
        ("10.70.2.0/24", "eu-west-2b"),
    ] {
        let s = ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(cidr)
            .availability_zone(az)
            .send()
            .await
            .expect("subnet");
        subnets.push(
            s.subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string(),
        );
    }
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let out = elb
        .create_load_balancer()
        .name("edge-test-alb")
        .set_subnets(Some(subnets))
        .send()
        .await
        .expect("load balancer");
    let lb = &out.load_balancers()[0];
    (
        lb.load_balancer_arn().expect("arn").to_string(),
        lb.dns_name().expect("dns name").to_string(),
        lb.canonical_hosted_zone_id()
            .unwrap_or("Z32O12XQLNTSW2")
            .to_string(),
    )
}

/// A zone, a certificate validated in it, alias A and AAAA records for the app domain
/// pointing at a load balancer, and a TXT record.
fn dns_stack(lb_dns: &str, lb_zone: &str) -> String {
    format!(
        r#"stack: dnstest
resources:
  zone:
    type: aws_route53_zone
    properties:
      name: edge.example.com
      comment: BandUp DNS
  cert:
    type: aws_acm_certificate
    properties:
      domain_name: app.edge.example.com
      subject_alternative_names:
        - www.edge.example.com
      zone_id: ${{zone.id}}
  app_a:
    type: aws_route53_record
    properties:
      zone_id: ${{zone.id}}
      name: app.edge.example.com
      type: A
      alias:
        name: {lb_dns}
        zone_id: {lb_zone}
  app_aaaa:
    type: aws_route53_record
    properties:
      zone_id: ${{zone.id}}
      name: app.edge.example.com
      type: AAAA
      alias:
        name: {lb_dns}
        zone_id: {lb_zone}
  verify:
    type: aws_route53_record
    properties:
      zone_id: ${{zone.id}}
      name: edge.example.com
      type: TXT
      ttl: 300
      records:
        - '"google-site-verification=abc"'
"#
    )
}

/// Every record set of `zone`: (name, type) -> values (alias targets as their name).
async fn records_of(
    r53: &aws_sdk_route53::Client,
    zone: &str,
) -> BTreeMap<(String, String), Vec<String>> {
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .expect("records");
    out.resource_record_sets()
        .iter()
        .map(|s| {
            let values = match s.alias_target() {
                Some(a) => vec![a.dns_name().trim_end_matches('.').to_lowercase()],
                None => s
                    .resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect(),
            };
            (
                (
                    s.name().trim_end_matches('.').to_string(),
                    s.r#type().as_str().to_string(),
                ),
                values,
            )
        })
        .collect()
}

async fn zone_ids(r53: &aws_sdk_route53::Client) -> Vec<String> {
    r53.list_hosted_zones()
        .send()
        .await
        .expect("zones")
        .hosted_zones()
        .iter()
        .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
        .collect()
}

async fn certificates(acm: &aws_sdk_acm::Client) -> Vec<String> {
    acm.list_certificates()
        .send()
        .await
        .expect("certificates")
        .certificate_summary_list()
        .iter()
        .filter_map(|c| c.domain_name().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn zone_records_and_certificate_create_replan_empty_update_replace_and_delete() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let acm = aws_sdk_acm::Client::new(&sdk);
    let (_, lb_dns, lb_zone) = load_balancer(&sdk).await;
    let p = Project::with_stack(&dns_stack(&lb_dns, &lb_zone));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 5, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;

    // The zone, tagged; each record beside its marker; the certificate issued, its
    // validation CNAMEs written with theirs.
    let zones = zone_ids(&r53).await;
    assert_eq!(zones.len(), 1);
    let zone = zones[0].clone();
    let tags = r53
        .list_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
        .resource_id(&zone)
        .send()
        .await
        .expect("tags");
    let tags = bandup_infra::aws::route53::tag_map(
        tags.resource_tag_set()
            .map(|s| s.tags())
            .unwrap_or_default(),
    );
    assert_eq!(
        tags.get("bandup:resource").map(String::as_str),
        Some("zone")
    );
    let records = records_of(&r53, &zone).await;
    let lb = lb_dns.to_lowercase();
    assert_eq!(
        records.get(&("app.edge.example.com".into(), "A".into())),
        Some(&vec![lb.clone()])
    );
    assert_eq!(
        records.get(&("_bandup-a.app.edge.example.com".into(), "TXT".into())),
        Some(&vec![
            "\"bandup:stack=dnstest bandup:env=default bandup:resource=app_a\"".to_string()
        ])
    );
    assert!(records.contains_key(&("_bandup-aaaa.app.edge.example.com".into(), "TXT".into())));
    let cnames: Vec<&String> = records
        .keys()
        .filter(|(n, t)| t == "CNAME" && !n.starts_with("_bandup"))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        cnames.len(),
        2,
        "one validation CNAME per name: {records:#?}"
    );
    for n in &cnames {
        let marker = records
            .get(&(format!("_bandup-cname.{n}"), "TXT".to_string()))
            .expect("validation marker");
        assert!(marker[0].contains("bandup:resource=cert bandup:part=validation"));
    }
    let certs = acm.list_certificates().send().await.expect("certs");
    let arn = certs.certificate_summary_list()[0]
        .certificate_arn()
        .expect("arn")
        .to_string();
    let detail = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .expect("describe");
    let detail = detail.certificate().expect("certificate");
    assert_eq!(detail.status().map(|s| s.as_str()), Some("ISSUED"));

    // Discovery: zones listed, their tags ten a call, the name servers of ours; records
    // by zone; certificates listed, tags and details one by one (ACM has no batch).
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes());
    let types = [
        "aws_route53_zone",
        "aws_route53_record",
        "aws_acm_certificate",
    ];
    assert_eq!(
        reads(&again, &types),
        calls(&[
            ("aws_route53_zone", 3),
            ("aws_route53_record", 3),
            ("aws_acm_certificate", 4)
        ])
    );

    // In place: the zone's comment, a record's TTL and value.
    p.edit(
        "stacks/bandup.yaml",
        "comment: BandUp DNS",
        "comment: BandUp public DNS",
    );
    p.edit("stacks/bandup.yaml", "ttl: 300", "ttl: 60");
    p.edit(
        "stacks/bandup.yaml",
        "google-site-verification=abc",
        "google-site-verification=def",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([
            ("zone".to_string(), change(Action::Update, &["comment"])),
            (
                "verify".to_string(),
                change(Action::Update, &["ttl", "records"])
            ),
        ])
    );
    apply_converges(&updated, &p, &registry).await;
    let records = records_of(&r53, &zone).await;
    assert_eq!(
        records.get(&("edge.example.com".into(), "TXT".into())),
        Some(&vec!["\"google-site-verification=def\"".to_string()])
    );

    // Replacements: the certificate's names, a record's name.
    p.edit(
        "stacks/bandup.yaml",
        "        - www.edge.example.com\n",
        "        - api.edge.example.com\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "      name: edge.example.com\n      type: TXT",
        "      name: verify.edge.example.com\n      type: TXT",
    );
    let replaced = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&replaced),
        BTreeMap::from([
            (
                "cert".to_string(),
                change(Action::Replace, &["subject_alternative_names"])
            ),
            ("verify".to_string(), change(Action::Replace, &["name"])),
        ])
    );
    apply_converges(&replaced, &p, &registry).await;
    assert_eq!(certificates(&acm).await, ["app.edge.example.com"]);
    let records = records_of(&r53, &zone).await;
    assert!(records.contains_key(&("verify.edge.example.com".into(), "TXT".into())));
    assert!(!records.contains_key(&("edge.example.com".into(), "TXT".into())));
    assert!(!records.contains_key(&("_bandup-txt.edge.example.com".into(), "TXT".into())));
    let validation: Vec<&String> = records
        .keys()
        .filter(|(n, t)| t == "CNAME" && !n.starts_with("_bandup"))
        .map(|(n, _)| n)
        .collect();
    assert!(
        validation
            .iter()
            .any(|n| n.ends_with("api.edge.example.com"))
            && !validation
                .iter()
                .any(|n| n.ends_with("www.edge.example.com")),
        "the old certificate's validation records went with it: {validation:?}"
    );

    // Removed from the stack: everything goes, records before their zone.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: dnstest\nresources: {}\n",
    )
    .expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(removed.summary.destroy, 5, "{:#?}", changes(&removed));
    apply_converges(&removed, &p, &registry).await;
    assert!(zone_ids(&r53).await.is_empty());
    assert!(certificates(&acm).await.is_empty());
}

/// A record at `name` made by someone else (no marker), in a zone of the stack.
async fn foreign_record(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    name: &str,
    rtype: &str,
    value: &str,
) {
    use aws_sdk_route53::types::{
        Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let set = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::from(rtype))
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .expect("value"),
        )
        .build()
        .expect("set");
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(set)
                        .build()
                        .expect("change"),
                )
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("foreign record");
}

const OWNED_ZONE: &str = r#"stack: ownertest
resources:
  zone:
    type: aws_route53_zone
    properties:
      name: owner.example.com
"#;

#[tokio::test]
async fn a_record_someone_else_made_is_refused_until_marked_and_a_zone_holding_one_is_kept() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let p = Project::with_stack(OWNED_ZONE);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let zone = zone_ids(&r53).await[0].clone();
    foreign_record(&r53, &zone, "www.owner.example.com", "A", "192.0.2.1").await;

    // Declared over a record someone else made: refused, saying how to proceed; the
    // record is untouched.
    let stack = format!(
        "{OWNED_ZONE}  www:\n    type: aws_route53_record\n    properties:\n      zone_id: ${{zone.id}}\n      name: www.owner.example.com\n      type: A\n      ttl: 60\n      records:\n        - 192.0.2.2\n"
    );
    std::fs::write(p.root().join("stacks/bandup.yaml"), &stack).expect("write");
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(changes(&planned).len(), 1, "{:#?}", changes(&planned));
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report).join("\n");
    assert!(
        failed.contains("www.owner.example.com A already exists"),
        "{failed}"
    );
    assert!(
        failed.contains("no bandup-infra ownership marker"),
        "{failed}"
    );
    assert!(
        failed.contains("_bandup-a.www.owner.example.com")
            && failed.contains("bandup:stack=ownertest bandup:env=default bandup:resource=www"),
        "{failed}"
    );
    let records = records_of(&r53, &zone).await;
    assert_eq!(
        records.get(&("www.owner.example.com".into(), "A".into())),
        Some(&vec!["192.0.2.1".to_string()])
    );

    // Adopted by writing the marker the error names: the record is the stack's, and
    // brought to what it declares.
    foreign_record(
        &r53,
        &zone,
        "_bandup-a.www.owner.example.com",
        "TXT",
        "\"bandup:stack=ownertest bandup:env=default bandup:resource=www\"",
    )
    .await;
    let adopted = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&adopted),
        BTreeMap::from([(
            "www".to_string(),
            change(Action::Update, &["ttl", "records"])
        )])
    );
    apply_converges(&adopted, &p, &registry).await;
    let records = records_of(&r53, &zone).await;
    assert_eq!(
        records.get(&("www.owner.example.com".into(), "A".into())),
        Some(&vec!["192.0.2.2".to_string()])
    );

    // A zone holding someone else's record is not deleted: the record is named. The
    // stack's own record goes.
    foreign_record(
        &r53,
        &zone,
        "mail.owner.example.com",
        "MX",
        "10 mx.example.net",
    )
    .await;
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: ownertest\nresources: {}\n",
    )
    .expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(removed.summary.destroy, 2, "{:#?}", changes(&removed));
    let report = apply(&removed, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report).join("\n");
    assert!(
        failed.contains("still holds records this stack does not own: mail.owner.example.com MX"),
        "{failed}"
    );
    let records = records_of(&r53, &zone).await;
    assert!(!records.contains_key(&("www.owner.example.com".into(), "A".into())));
    assert!(records.contains_key(&("mail.owner.example.com".into(), "MX".into())));
}

fn waf_stack(lb_arn: &str) -> String {
    format!(
        r#"stack: waftest
resources:
  waf:
    type: aws_wafv2_web_acl
    properties:
      description: BandUp firewall
      managed_rule_groups:
        - AWSManagedRulesCommonRuleSet
        - AWSManagedRulesKnownBadInputsRuleSet
      rate_limit: 2000
  waf_spare:
    type: aws_wafv2_web_acl
    properties:
      managed_rule_groups:
        - AWSManagedRulesAmazonIpReputationList
  waf_alb:
    type: aws_wafv2_web_acl_association
    properties:
      web_acl_arn: ${{waf.arn}}
      resource_arn: {lb_arn}
"#
    )
}

async fn acl_on(waf: &aws_sdk_wafv2::Client, lb: &str) -> Option<String> {
    waf.get_web_acl_for_resource()
        .resource_arn(lb)
        .send()
        .await
        .expect("web ACL for resource")
        .web_acl()
        .map(|w| w.name().to_string())
}

#[tokio::test]
async fn web_acl_and_association_create_replan_empty_update_replace_and_destroy() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let waf = aws_sdk_wafv2::Client::new(&sdk);
    let (lb, _, _) = load_balancer(&sdk).await;
    let p = Project::with_stack(&waf_stack(&lb));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 3, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;
    assert_eq!(
        acl_on(&waf, &lb).await.as_deref(),
        Some("waftest-default-waf")
    );

    // Discovery: ACLs listed, then the rules of each of ours (tags from the tag index);
    // the association by load balancer (listed with tags, then its web ACL).
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes());
    let types = ["aws_wafv2_web_acl", "aws_wafv2_web_acl_association"];
    assert_eq!(
        reads(&again, &types),
        calls(&[
            ("aws_wafv2_web_acl", 3),
            ("aws_wafv2_web_acl_association", 3)
        ])
    );

    // In place: the rate limit and the rule groups, with the lock token.
    p.edit("stacks/bandup.yaml", "rate_limit: 2000", "rate_limit: 1000");
    p.edit(
        "stacks/bandup.yaml",
        "        - AWSManagedRulesKnownBadInputsRuleSet\n",
        "        - AWSManagedRulesKnownBadInputsRuleSet\n        - AWSManagedRulesSQLiRuleSet\n",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "waf".to_string(),
            change(Action::Update, &["managed_rule_groups", "rate_limit"])
        )])
    );
    apply_converges(&updated, &p, &registry).await;
    let acls = waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .send()
        .await
        .expect("list");
    let summary = acls
        .web_acls()
        .iter()
        .find(|a| a.name() == Some("waftest-default-waf"))
        .expect("waf");
    let got = waf
        .get_web_acl()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .name("waftest-default-waf")
        .id(summary.id().expect("id"))
        .send()
        .await
        .expect("get");
    let rules: Vec<(String, i32)> = got
        .web_acl()
        .expect("acl")
        .rules()
        .iter()
        .map(|r| (r.name().to_string(), r.priority()))
        .collect();
    assert_eq!(
        rules,
        [
            ("AWSManagedRulesCommonRuleSet".to_string(), 0),
            ("AWSManagedRulesKnownBadInputsRuleSet".to_string(), 1),
            ("AWSManagedRulesSQLiRuleSet".to_string(), 2),
            ("rate-limit".to_string(), 3),
        ]
    );

    // Replacement: the association moves to the other web ACL.
    p.edit(
        "stacks/bandup.yaml",
        "web_acl_arn: ${waf.arn}",
        "web_acl_arn: ${waf_spare.arn}",
    );
    let moved = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&moved),
        BTreeMap::from([(
            "waf_alb".to_string(),
            change(Action::Replace, &["web_acl_arn"])
        )])
    );
    apply_converges(&moved, &p, &registry).await;
    assert_eq!(
        acl_on(&waf, &lb).await.as_deref(),
        Some("waftest-default-waf_spare")
    );

    // Destroy: the association goes before its web ACL (AWS refuses to delete an
    // associated one).
    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    assert_eq!(destroy.summary.destroy, 3, "{:#?}", changes(&destroy));
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(acl_on(&waf, &lb).await, None);
    let left = waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .send()
        .await
        .expect("list");
    assert!(left.web_acls().is_empty());
}

const CERT_STACK: &str = r#"stack: inuse
resources:
  zone:
    type: aws_route53_zone
    properties:
      name: inuse.example.com
  cert:
    type: aws_acm_certificate
    properties:
      domain_name: inuse.example.com
      zone_id: ${zone.id}
"#;

#[tokio::test]
async fn a_certificate_a_listener_uses_is_not_deleted_and_the_listener_is_named() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let acm = aws_sdk_acm::Client::new(&sdk);
    let (lb, _, _) = load_balancer(&sdk).await;
    let p = Project::with_stack(CERT_STACK);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let certs = acm.list_certificates().send().await.expect("certs");
    let arn = certs.certificate_summary_list()[0]
        .certificate_arn()
        .expect("arn")
        .to_string();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    use aws_sdk_elasticloadbalancingv2::types::{
        Action as LbAction, ActionTypeEnum, Certificate, FixedResponseActionConfig, ProtocolEnum,
    };
    elb.create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(&arn).build())
        .default_actions(
            LbAction::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("200")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("listener");

    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report).join("\n");
    assert!(failed.contains("ResourceInUseException"), "{failed}");
    assert!(failed.contains(&lb), "names the load balancer: {failed}");
    assert_eq!(certificates(&acm).await, ["inuse.example.com"]);
}

fn fault_stack(lb_arn: &str) -> String {
    format!(
        r#"stack: faulttest
resources:
  zone:
    type: aws_route53_zone
    properties:
      name: fault.example.com
  cert:
    type: aws_acm_certificate
    properties:
      domain_name: app.fault.example.com
      zone_id: ${{zone.id}}
  waf:
    type: aws_wafv2_web_acl
    properties:
      managed_rule_groups:
        - AWSManagedRulesCommonRuleSet
      rate_limit: 2000
  waf_alb:
    type: aws_wafv2_web_acl_association
    properties:
      web_acl_arn: ${{waf.arn}}
      resource_arn: {lb_arn}
"#
    )
}

#[tokio::test]
async fn lost_answers_to_every_call_that_makes_something_converge_in_one_apply() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let (lb, lb_dns, lb_zone) = load_balancer(&sdk).await;
    let proxy = Proxy::start(&moto.endpoint, 11);
    let create_zone = "POST /2013-04-01/hostedzone";
    for op in [
        create_zone,
        "RequestCertificate",
        "CreateWebACL",
        "AssociateWebACL",
    ] {
        proxy.rule(Rule::on(op).fault(Fault::LoseAnswer).times(1));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(&fault_stack(&lb));
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 4, "{:?}", proxy.faults());
    // The zone (untagged: its answer and so its tagging were lost) is recognised by its
    // caller reference, the certificate and web ACL by their tags: none made twice.
    assert_eq!(proxy.seen(create_zone), 1, "adopted, not repeated");
    assert_eq!(proxy.seen("RequestCertificate"), 1, "adopted, not repeated");
    assert_eq!(proxy.seen("CreateWebACL"), 1, "adopted, not repeated");
    let clean = bandup_infra::aws::registry(&sdk);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));

    // A record set whose change batch's answer is lost is found by its marker.
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let zone = zone_ids(&r53).await[0].clone();
    let rrset = format!("POST /2013-04-01/hostedzone/{zone}/rrset");
    proxy.rule(Rule::on(&rrset).fault(Fault::LoseAnswer).times(1));
    // The certificate's validation records went in one batch already.
    let batches = proxy.seen(&rrset);
    let stack = format!(
        "{}  app_a:\n    type: aws_route53_record\n    properties:\n      zone_id: ${{zone.id}}\n      name: app.fault.example.com\n      type: A\n      alias:\n        name: {lb_dns}\n        zone_id: {lb_zone}\n",
        fault_stack(&lb)
    );
    std::fs::write(p.root().join("stacks/bandup.yaml"), stack).expect("write");
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.seen(&rrset), batches + 1, "adopted, not repeated");
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
}

#[tokio::test]
async fn a_protected_record_says_so_in_its_marker_and_is_not_deleted_when_no_longer_declared() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let r53 = aws_sdk_route53::Client::new(&sdk);
    let stack = format!(
        "{OWNED_ZONE}  www:\n    type: aws_route53_record\n    protect: true\n    properties:\n      zone_id: ${{zone.id}}\n      name: www.owner.example.com\n      type: A\n      ttl: 60\n      records:\n        - 192.0.2.2\n"
    );
    let p = Project::with_stack(&stack);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let zone = zone_ids(&r53).await[0].clone();
    let records = records_of(&r53, &zone).await;
    assert_eq!(
        records.get(&("_bandup-a.www.owner.example.com".into(), "TXT".into())),
        Some(&vec![
            "\"bandup:stack=ownertest bandup:env=default bandup:resource=www bandup:protect=true\""
                .to_string()
        ])
    );

    // No longer declared: the plan refuses to delete it.
    std::fs::write(p.root().join("stacks/bandup.yaml"), OWNED_ZONE).expect("write");
    let (s, graph) = crate::support::load(p.root(), None, &registry);
    let refused = plan(&s, &graph, &registry, Mode::Normal, &Quiet).await;
    let e = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("`www` is protected"), "{e}");

    // Declared again without protect: the marker is rewritten, then it can go.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        stack.replace("    protect: true\n", ""),
    )
    .expect("write");
    let unprotect = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&unprotect),
        BTreeMap::from([("www".to_string(), change(Action::Update, &["tags"]))])
    );
    apply_converges(&unprotect, &p, &registry).await;
    std::fs::write(p.root().join("stacks/bandup.yaml"), OWNED_ZONE).expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&removed, &p, &registry).await;
    let records = records_of(&r53, &zone).await;
    assert!(!records.contains_key(&("www.owner.example.com".into(), "A".into())));
    assert!(!records.contains_key(&("_bandup-a.www.owner.example.com".into(), "TXT".into())));
}

#[test]
fn a_record_with_both_values_and_an_alias_or_neither_is_refused_by_validate() {
    let p = Project::with_stack(
        r#"stack: checktest
resources:
  both:
    type: aws_route53_record
    properties:
      zone_id: Z123
      name: app.example.com
      type: A
      ttl: 60
      records:
        - 192.0.2.1
      alias:
        name: alb.example.com
        zone_id: Z456
  neither:
    type: aws_route53_record
    properties:
      zone_id: Z123
      name: www.example.com
      type: A
"#,
    );
    let registry = bandup_infra::aws::offline_registry();
    let opts = bandup_infra::config::LoadOptions {
        root: p.root().to_path_buf(),
        env: None,
        stack: None,
    };
    let (_, diags) = bandup_infra::config::load(&opts, &registry);
    let said: Vec<String> = diags.items.iter().map(|d| d.message.clone()).collect();
    assert_eq!(
        said,
        [
            "record `both` has both `alias` and `records`",
            "record `neither` has neither `records` nor `alias`"
        ],
        "{said:#?}"
    );
}

const ONE_ACL: &str = r#"stack: acltest
resources:
  waf:
    type: aws_wafv2_web_acl
    properties:
      managed_rule_groups:
        - AWSManagedRulesCommonRuleSet
"#;

#[tokio::test]
async fn a_web_acl_associated_outside_the_stack_is_not_deleted_and_the_load_balancer_is_named() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let waf = aws_sdk_wafv2::Client::new(&sdk);
    let (lb, _, _) = load_balancer(&sdk).await;
    let p = Project::with_stack(ONE_ACL);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let acls = waf
        .list_web_acls()
        .scope(aws_sdk_wafv2::types::Scope::Regional)
        .send()
        .await
        .expect("list");
    let arn = acls.web_acls()[0].arn().expect("arn").to_string();
    waf.associate_web_acl()
        .web_acl_arn(&arn)
        .resource_arn(&lb)
        .send()
        .await
        .expect("associate by hand");

    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report).join("\n");
    assert!(failed.contains("WAFAssociatedItemException"), "{failed}");
    assert!(
        failed.contains(&format!("is still associated with: load balancer {lb}")),
        "{failed}"
    );
    assert_eq!(
        acl_on(&waf, &lb).await.as_deref(),
        Some("acltest-default-waf")
    );
}
