//! `aws_s3_bucket` against the emulator (moto): create, read back unchanged, each setting
//! group changed in place, out-of-band changes, deletes refused while objects remain,
//! adoption of a bucket whose create was cut short, and a lost CreateBucket answer.
//!
//! What moto cannot show (docs/emulator-gaps.md): it answers GetBucketVersioning with the
//! wrong root element, corrected by scripts/moto_server.py; and a TLS-deny bucket policy
//! refuses every object call over plain http (the emulator is http), so tests that put
//! objects use `deny_insecure_transport: false`.

use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::{load, Project};
use bandup_infra::apply::{apply, Report, Status};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// moto's account and the tests' region: part of every bucket name.
const SUFFIX: &str = "123456789012-eu-west-2";

fn bucket(addr: &str) -> String {
    format!("data-default-{addr}-{SUFFIX}")
}

const STACK: &str = r#"stack: data
resources:
  assets:
    type: aws_s3_bucket
  uploads:
    type: aws_s3_bucket
    properties:
      versioning: true
      lifecycle_rules:
        - id: to-infrequent-access
          prefix: uploads/
          transition_days: 30
          transition_storage_class: STANDARD_IA
          noncurrent_expiration_days: 90
        - id: abort-uploads
          abort_incomplete_multipart_days: 7
      cors_rules:
        - allowed_origins: [https://app.example.com]
          allowed_methods: [PUT, POST, GET]
          allowed_headers: ["*"]
          expose_headers: [ETag]
          max_age_seconds: 3000
"#;

async fn plan_of(root: &Path, registry: &Registry, mode: Mode) -> Plan {
    let (stack, graph) = load(root, None, registry);
    plan(&stack, &graph, registry, mode, &Quiet)
        .await
        .expect("plan")
}

fn failures(report: &Report) -> Vec<String> {
    report
        .outcomes
        .iter()
        .filter_map(|o| match &o.status {
            Status::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect()
}

async fn apply_ok(planned: &Plan, registry: &Registry) {
    let report = apply(planned, registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
}

/// Apply `planned`; then a new plan has nothing to do.
async fn converges(planned: &Plan, root: &Path, registry: &Registry) {
    apply_ok(planned, registry).await;
    let after = plan_of(root, registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changed(&after));
}

/// Each changed resource's action and the fields it changes.
fn changed(p: &Plan) -> BTreeMap<String, (Action, Vec<String>)> {
    p.resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .map(|r| {
            let fields = r.changes.iter().map(|c| c.field.clone()).collect();
            (r.addr.to_string(), (r.action, fields))
        })
        .collect()
}

fn update(addr: &str, fields: &[&str]) -> BTreeMap<String, (Action, Vec<String>)> {
    BTreeMap::from([(
        addr.to_string(),
        (
            Action::Update,
            fields.iter().map(|f| f.to_string()).collect(),
        ),
    )])
}

/// The buckets moto holds, by name, but the state buckets the harness bootstraps.
async fn buckets(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let mut names: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .filter(|n| !crate::support::moto::STATE_BUCKETS.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn s3_buckets_apply_read_back_unchanged_update_each_setting_in_place_and_delete() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let p = Project::with_stack(STACK);

    let first = plan_of(p.root(), &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 2);
    converges(&first, p.root(), &registry).await;
    assert_eq!(buckets(&s3).await, [bucket("assets"), bucket("uploads")]);

    // Every setting is read back equal.
    let again = plan_of(p.root(), &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:#?}", changed(&again));
    // Discovery: one ListBuckets, then seven settings per bucket (tags from the tag
    // index).
    let s3_reads = &again.reads["aws_s3_bucket"];
    assert_eq!((s3_reads.found, s3_reads.api_calls), (2, 1 + 7 * 2));
    let uploads = again
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "uploads")
        .and_then(|r| r.live.as_ref())
        .expect("uploads is live");
    assert_eq!(
        uploads.outputs.get("arn").and_then(|v| v.as_str()),
        Some(format!("arn:aws:s3:::{}", bucket("uploads")).as_str())
    );
    assert_eq!(
        uploads
            .outputs
            .get("regional_domain_name")
            .and_then(|v| v.as_str()),
        Some(format!("{}.s3.eu-west-2.amazonaws.com", bucket("uploads")).as_str())
    );
    let policy = s3
        .get_bucket_policy()
        .bucket(bucket("assets"))
        .send()
        .await
        .expect("the TLS-only policy is there");
    assert!(policy
        .policy()
        .unwrap_or_default()
        .contains("aws:SecureTransport"));

    // Each setting group in turn: the plan names the field and the apply converges.
    let steps: &[(&str, &str, &str, &[&str])] = &[
        (
            "uploads",
            "      versioning: true\n",
            "      versioning: false\n",
            &["versioning"],
        ),
        (
            "uploads",
            "          transition_days: 30\n",
            "          transition_days: 60\n",
            &["lifecycle_rules"],
        ),
        (
            "uploads",
            "          max_age_seconds: 3000\n",
            "          max_age_seconds: 600\n        - allowed_origins: [\"*\"]\n          allowed_methods: [GET]\n",
            &["cors_rules"],
        ),
        (
            "assets",
            "    type: aws_s3_bucket\n  uploads:",
            "    type: aws_s3_bucket\n    properties:\n      deny_insecure_transport: false\n      encryption: { sse_algorithm: aws:kms, bucket_key: true }\n  uploads:",
            &["encryption", "deny_insecure_transport"],
        ),
    ];
    for (addr, from, to, fields) in steps {
        p.edit("stacks/bandup.yaml", from, to);
        let planned = plan_of(p.root(), &registry, Mode::Normal).await;
        assert_eq!(changed(&planned), update(addr, fields), "after {to:?}");
        let text = bandup_infra::ui::plan::render(&planned);
        for f in *fields {
            assert!(text.contains(&format!("~ {f}")), "{text}");
        }
        converges(&planned, p.root(), &registry).await;
    }
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket("uploads"))
        .send()
        .await
        .expect("versioning");
    assert_eq!(
        versioning.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Suspended)
    );
    let policy = s3.get_bucket_policy().bucket(bucket("assets")).send().await;
    assert!(policy.is_err(), "the policy is gone: {policy:?}");

    // An empty bucket removed from the stack is deleted.
    let text = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("read");
    let start = text.find("  uploads:\n").expect("uploads declared");
    p.edit("stacks/bandup.yaml", &text[start..], "");
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    let gone = planned
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "uploads")
        .expect("uploads planned");
    assert_eq!(gone.action, Action::Delete);
    assert!(
        gone.data_loss
            .as_deref()
            .is_some_and(|l| l.contains("every object version")),
        "{:?}",
        gone.data_loss
    );
    converges(&planned, p.root(), &registry).await;
    assert_eq!(buckets(&s3).await, [bucket("assets")]);
}

#[tokio::test]
async fn s3_a_bucket_holding_objects_is_deleted_only_with_force_destroy() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    // No TLS-only policy: moto (plain http) would refuse the test's own object calls.
    // The rule names no storage class: STANDARD_IA, read back as such, is no change.
    let p = Project::with_stack(
        "stack: data\nresources:\n  audio:\n    type: aws_s3_bucket\n    properties:\n      versioning: true\n      deny_insecure_transport: false\n      force_destroy: false\n      lifecycle_rules: [{ id: ia, transition_days: 30 }]\n",
    );
    converges(
        &plan_of(p.root(), &registry, Mode::Normal).await,
        p.root(),
        &registry,
    )
    .await;
    let name = bucket("audio");
    // Two versions of one object and a deleted one (a version and a delete marker).
    for key in ["part1.mp3", "part1.mp3", "old.mp3"] {
        s3.put_object()
            .bucket(&name)
            .key(key)
            .body(b"audio".to_vec().into())
            .send()
            .await
            .expect("put object");
    }
    s3.delete_object()
        .bucket(&name)
        .key("old.mp3")
        .send()
        .await
        .expect("delete object");

    let destroy = Mode::Destroy { force: false };
    let planned = plan_of(p.root(), &registry, destroy).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let errors = failures(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    for part in [
        "still holds 4 object versions",
        &format!("aws s3 rm s3://{name} --recursive"),
        "force_destroy: true",
    ] {
        assert!(errors[0].contains(part), "{part:?} in {}", errors[0]);
    }
    assert_eq!(buckets(&s3).await, [name.as_str()], "nothing was deleted");

    p.edit(
        "stacks/bandup.yaml",
        "force_destroy: false",
        "force_destroy: true",
    );
    let planned = plan_of(p.root(), &registry, destroy).await;
    apply_ok(&planned, &registry).await;
    assert!(buckets(&s3).await.is_empty());
}

#[tokio::test]
async fn s3_changes_made_out_of_band_plan_exactly_those_changes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let p = Project::with_stack(STACK);
    converges(
        &plan_of(p.root(), &registry, Mode::Normal).await,
        p.root(),
        &registry,
    )
    .await;
    let name = bucket("assets");

    // Someone switches the encryption to KMS and removes the public access block.
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let kms = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::AwsKms)
                        .build()
                        .expect("default"),
                )
                .build(),
        )
        .build()
        .expect("configuration");
    s3.put_bucket_encryption()
        .bucket(&name)
        .server_side_encryption_configuration(kms)
        .send()
        .await
        .expect("put encryption");
    s3.delete_public_access_block()
        .bucket(&name)
        .send()
        .await
        .expect("delete public access block");
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    assert_eq!(
        changed(&planned),
        update("assets", &["block_public_access", "encryption"])
    );
    converges(&planned, p.root(), &registry).await;

    // Someone edits its tags: one changed, one added.
    let mut tags = bandup_infra::aws::s3::bucket_tags(&s3, &name)
        .await
        .expect("tags");
    tags.insert("Name".into(), "renamed".into());
    tags.insert("cost-centre".into(), "x".into());
    s3.put_bucket_tagging()
        .bucket(&name)
        .tagging(bandup_infra::aws::s3::tagging(&tags).expect("tagging"))
        .send()
        .await
        .expect("put tagging");
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    assert_eq!(changed(&planned), update("assets", &["tags"]));
    converges(&planned, p.root(), &registry).await;
    let tags = bandup_infra::aws::s3::bucket_tags(&s3, &name)
        .await
        .expect("tags");
    assert_eq!(tags.get("Name"), Some(&"data-default-assets".to_string()));
    assert_eq!(tags.get("cost-centre"), None);
}

#[tokio::test]
async fn s3_an_untagged_bucket_with_our_name_is_adopted_but_not_one_of_another_stack() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let create = |name: String| {
        s3.create_bucket()
            .bucket(name)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                    .build(),
            )
            .send()
    };
    // What a create cut short between CreateBucket and PutBucketTagging leaves behind.
    create(bucket("assets")).await.expect("create");
    let p = Project::with_stack(STACK);
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    assert_eq!(planned.summary.add, 2, "untagged: not found by discovery");
    converges(&planned, p.root(), &registry).await;
    assert_eq!(buckets(&s3).await, [bucket("assets"), bucket("uploads")]);

    // A bucket with our name but tagged as another stack's is left alone.
    moto.reset();
    create(bucket("assets")).await.expect("create");
    let theirs = BTreeMap::from([
        ("bandup:stack".to_string(), "other".to_string()),
        ("bandup:env".to_string(), "default".to_string()),
    ]);
    s3.put_bucket_tagging()
        .bucket(bucket("assets"))
        .tagging(bandup_infra::aws::s3::tagging(&theirs).expect("tagging"))
        .send()
        .await
        .expect("tag");
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let errors = failures(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("BucketAlreadyOwnedByYou") && errors[0].contains("already exists"),
        "{}",
        errors[0]
    );
    assert_eq!(
        bandup_infra::aws::s3::bucket_tags(&s3, &bucket("assets"))
            .await
            .expect("tags"),
        theirs,
        "its tags are untouched"
    );

    // A name taken by another account (bucket names are global) is said to be so.
    moto.reset();
    // moto takes the account from this header.
    s3.create_bucket()
        .bucket(bucket("assets"))
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .customize()
        .mutate_request(|r| {
            r.headers_mut().insert("x-moto-account-id", "111111111111");
        })
        .send()
        .await
        .expect("another account's bucket");
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let errors = failures(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("taken by another AWS account"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn s3_a_lost_create_bucket_answer_converges_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 31);
    // S3 requests are named by method and path: the first PUT of the bucket creates it.
    let create = format!("PUT /{}/", bucket("assets"));
    proxy.rule(Rule::on(&create).fault(Fault::LoseAnswer));
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(STACK);
    let planned = plan_of(p.root(), &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(proxy.faults(), [format!("{create}: LoseAnswer")]);
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));

    let sdk = moto.sdk().await;
    let clean = bandup_infra::aws::registry(&sdk);
    let after = plan_of(p.root(), &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changed(&after));
    assert_eq!(
        buckets(&aws_sdk_s3::Client::new(&sdk)).await,
        [bucket("assets"), bucket("uploads")]
    );
}

/// Every problem `validate` reports for a fixture stack (no AWS call).
fn problems(name: &str) -> Vec<bandup_infra::config::Diagnostic> {
    let fixtures = crate::support::project_root().join("tests/fixtures");
    let opts = bandup_infra::config::LoadOptions {
        root: fixtures.clone(),
        env: None,
        stack: Some(fixtures.join(format!("invalid/{name}.yaml"))),
    };
    let (_, diags) = bandup_infra::config::load(&opts, &bandup_infra::aws::offline_registry());
    diags.sorted().items
}

#[test]
fn s3_a_bucket_name_longer_than_63_characters_is_refused_before_any_aws_call() {
    let all = problems("bucket_name_too_long");
    assert_eq!(all.len(), 1, "{all:#?}");
    let d = &all[0];
    assert!(d.is_error(), "too long in every region: {d:?}");
    assert_eq!(d.pos.to_string(), "invalid/bucket_name_too_long.yaml:4:3");
    assert!(
        d.message
            .contains("the bucket name of `listening_test_audio_recordings_archive` would be"),
        "{}",
        d.message
    );
    assert!(
        d.hint.as_deref().unwrap_or_default().contains("shorten"),
        "{d:?}"
    );
}

#[test]
fn s3_lifecycle_rules_that_cannot_work_are_refused() {
    let all = problems("bucket_lifecycle_rules");
    let messages: Vec<String> = all.iter().map(|d| d.message.clone()).collect();
    assert_eq!(all.len(), 3, "{messages:#?}");
    for m in [
        "lifecycle rule id `tidy` is used twice in `uploads`",
        "`transition_storage_class` needs `transition_days`",
        "a lifecycle rule that does nothing",
    ] {
        assert!(
            messages.iter().any(|x| x.contains(m)),
            "{m:?} in {messages:#?}"
        );
    }
}
