//! The AI layer's queues against the emulator: a queue with its dead-letter queue and a
//! policy through create, an empty re-plan, an in-place update, a policy removed, a
//! replacement (FIFO) and deletion; a policy rewritten out of band into an equivalent
//! document; a lost CreateQueue answer; the validation rules.
//!
//! What moto cannot show (docs/emulator-gaps.md): the 60 s during which SQS refuses a
//! name just deleted (`QueueDeletedRecently`; moto lets it be reused at once), so the
//! create's wait for it passes on its first try.

use crate::support::lifecycle::{apply_converges, change, changes, failures};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::config::{load, LoadOptions, Severity};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A job queue sending failures to its dead-letter queue, with a policy that lets
/// EventBridge send to it (no Resource: the queue's own ARN is filled in).
const STACK: &str = r#"stack: sqstest
resources:
  jobs_dlq:
    type: aws_sqs_queue
    properties:
      message_retention_seconds: 1209600
  jobs:
    type: aws_sqs_queue
    properties:
      visibility_timeout: 120
      receive_wait_time: 20
      dead_letter_queue_arn: ${jobs_dlq.arn}
      max_receive_count: 5
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: events
            Effect: Allow
            Principal:
              Service: events.amazonaws.com
            Action: sqs:SendMessage
"#;

async fn plan_of(p: &Project, registry: &Registry) -> Plan {
    let (stack, graph) = crate::support::load(p.root(), None, registry);
    plan(&stack, &graph, registry, Mode::Normal, &Quiet)
        .await
        .expect("plan")
}

async fn attributes(sqs: &aws_sdk_sqs::Client, name: &str) -> BTreeMap<String, String> {
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .expect("queue url");
    sqs.get_queue_attributes()
        .queue_url(url.queue_url().unwrap_or_default())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_queue_with_a_dead_letter_queue_and_a_policy_creates_updates_replaces_and_deletes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let p = Project::with_stack(STACK);

    // Create from empty: the dead-letter queue first, then the queue pointing at it.
    let first = plan_of(&p, &registry).await;
    assert_eq!(first.summary.add, 2, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    assert_eq!(again.summary.unchanged, 2);
    // Discovery: one listing, then per queue its attributes (tags from the tag index).
    let reads = again
        .reads
        .get("aws_sqs_queue")
        .map(|r| (r.found, r.api_calls));
    assert_eq!(reads, Some((2, 3)));

    let dlq = attributes(&sqs, "sqstest-default-jobs_dlq").await;
    let jobs = attributes(&sqs, "sqstest-default-jobs").await;
    let jobs_arn = jobs.get("QueueArn").cloned().unwrap_or_default();
    assert_eq!(
        jobs.get("VisibilityTimeout").map(String::as_str),
        Some("120")
    );
    assert_eq!(
        jobs.get("ReceiveMessageWaitTimeSeconds")
            .map(String::as_str),
        Some("20")
    );
    let redrive = jobs.get("RedrivePolicy").cloned().unwrap_or_default();
    assert!(
        redrive.contains(dlq.get("QueueArn").map(String::as_str).unwrap_or("?")),
        "{redrive}"
    );
    let policy = jobs.get("Policy").cloned().unwrap_or_default();
    assert!(policy.contains(&jobs_arn), "Resource filled in: {policy}");
    let url = sqs
        .get_queue_url()
        .queue_name("sqstest-default-jobs")
        .send()
        .await
        .expect("url")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let tags = sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .expect("tags");
    assert_eq!(
        tags.tags()
            .and_then(|t| t.get("bandup:resource"))
            .map(String::as_str),
        Some("jobs"),
        "tagged in the create call"
    );

    // The policy rewritten out of band into the same meaning: keys reordered, the
    // action a one-element list, the principal a list. Nothing to do.
    let same = format!(
        r#"{{"Statement":[{{"Resource":"{jobs_arn}","Action":["sqs:SendMessage"],"Principal":{{"Service":["events.amazonaws.com"]}},"Effect":"Allow","Sid":"events"}}],"Version":"2012-10-17"}}"#
    );
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, same)
        .send()
        .await
        .expect("set policy");
    let unchanged = plan_of(&p, &registry).await;
    assert!(
        !unchanged.summary.has_changes(),
        "{:#?}",
        changes(&unchanged)
    );

    // In place: the visibility timeout, the receives before dead-lettering, the policy.
    p.edit(
        "stacks/bandup.yaml",
        "visibility_timeout: 120",
        "visibility_timeout: 300",
    );
    p.edit(
        "stacks/bandup.yaml",
        "max_receive_count: 5",
        "max_receive_count: 3",
    );
    p.edit(
        "stacks/bandup.yaml",
        "Action: sqs:SendMessage",
        "Action: [sqs:SendMessage, sqs:GetQueueAttributes]",
    );
    let updated = plan_of(&p, &registry).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "jobs".to_string(),
            change(
                Action::Update,
                &["visibility_timeout", "max_receive_count", "policy"]
            )
        )])
    );
    let text = bandup_infra::ui::plan::render(&updated);
    assert!(text.contains("~ visibility_timeout = 120 -> 300"), "{text}");
    apply_converges(&updated, &p, &registry).await;
    let jobs = attributes(&sqs, "sqstest-default-jobs").await;
    assert_eq!(
        jobs.get("VisibilityTimeout").map(String::as_str),
        Some("300")
    );
    assert!(
        jobs.get("Policy")
            .is_some_and(|p| p.contains("sqs:GetQueueAttributes")),
        "{jobs:?}"
    );

    // The policy and the dead-letter queue removed from the declaration: set to "".
    let declared = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("stack");
    let cut = declared
        .find("      dead_letter_queue_arn")
        .expect("redrive");
    std::fs::write(p.root().join("stacks/bandup.yaml"), &declared[..cut]).expect("write");
    let removed = plan_of(&p, &registry).await;
    assert_eq!(
        changes(&removed),
        BTreeMap::from([(
            "jobs".to_string(),
            change(
                Action::Update,
                &["dead_letter_queue_arn", "max_receive_count", "policy"]
            )
        )])
    );
    apply_converges(&removed, &p, &registry).await;
    let jobs = attributes(&sqs, "sqstest-default-jobs").await;
    assert!(
        jobs.get("Policy").is_none_or(String::is_empty)
            && jobs.get("RedrivePolicy").is_none_or(String::is_empty),
        "{jobs:?}"
    );

    // A replacement: FIFO cannot be turned on in place; the new queue is `.fifo`.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        STACK
            .replace(
                "      visibility_timeout: 120\n",
                "      fifo: true\n      visibility_timeout: 120\n",
            )
            .replace(
                "      message_retention_seconds: 1209600\n",
                "      fifo: true\n      message_retention_seconds: 1209600\n",
            ),
    )
    .expect("write");
    let replaced = plan_of(&p, &registry).await;
    let jobs = replaced
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "jobs")
        .expect("jobs");
    assert_eq!(jobs.action, Action::Replace, "{:#?}", changes(&replaced));
    assert!(
        jobs.forcing_fields().contains(&"fifo"),
        "{:?}",
        jobs.forcing_fields()
    );
    let text = bandup_infra::ui::plan::render(&replaced);
    assert!(text.contains("-/+"), "{text}");
    assert!(
        text.contains("every message in queue"),
        "data loss said: {text}"
    );
    apply_converges(&replaced, &p, &registry).await;
    let names: Vec<String> = sqs
        .list_queues()
        .send()
        .await
        .expect("queues")
        .queue_urls()
        .iter()
        .filter_map(|u| u.rsplit('/').next().map(str::to_string))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        ["sqstest-default-jobs.fifo", "sqstest-default-jobs_dlq.fifo"]
    );

    // Removed from the stack: both deleted, the queue before its dead-letter queue.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: sqstest\nresources: {}\n",
    )
    .expect("write");
    let gone = plan_of(&p, &registry).await;
    assert_eq!(gone.summary.destroy, 2, "{:#?}", changes(&gone));
    apply_converges(&gone, &p, &registry).await;
    let left = sqs.list_queues().send().await.expect("queues");
    assert!(left.queue_urls().is_empty(), "{:?}", left.queue_urls());
}

#[tokio::test]
async fn a_lost_create_queue_answer_converges_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 11);
    proxy.rule(Rule::on("CreateQueue").fault(Fault::LoseAnswer).times(2));
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(STACK);
    let planned = plan_of(&p, &registry).await;
    assert_eq!(planned.summary.add, 2);
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 2, "{:?}", proxy.faults());
    assert_eq!(proxy.seen("CreateQueue"), 2, "adopted, not repeated");
    let clean = bandup_infra::aws::registry(&moto.sdk().await);
    let after = plan_of(&p, &clean).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    // The adopted queue got its policy.
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk().await);
    let jobs = attributes(&sqs, "sqstest-default-jobs").await;
    assert!(
        jobs.get("Policy")
            .is_some_and(|p| p.contains("events.amazonaws.com")),
        "{jobs:?}"
    );
}

#[test]
fn queue_settings_are_checked_against_what_sqs_accepts() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let registry = bandup_infra::aws::offline_registry();
    let (_, diags) = load(
        &LoadOptions {
            root: fixtures.clone(),
            env: None,
            stack: Some(fixtures.join("invalid/sqs_queue_settings.yaml")),
        },
        &registry,
    );
    let all: Vec<(String, Severity, String)> = diags
        .sorted()
        .items
        .into_iter()
        .map(|d| (d.pos.to_string(), d.severity, d.message))
        .collect();
    let at = |line: &str| {
        all.iter()
            .filter(|(pos, _, _)| {
                pos.starts_with(&format!("invalid/sqs_queue_settings.yaml:{line}:"))
            })
            .map(|(_, s, m)| (*s, m.as_str()))
            .collect::<Vec<_>>()
    };
    assert_eq!(all.len(), 7, "{all:#?}");
    assert!(
        at("6")[0]
            .1
            .contains("visibility_timeout 50000: SQS accepts 0 to 43200"),
        "{all:#?}"
    );
    assert!(
        at("7")[0]
            .1
            .contains("receive_wait_time 30: SQS accepts 0 to 20"),
        "{all:#?}"
    );
    let dlq = at("9");
    assert!(
        dlq.iter().any(|(s, m)| *s == Severity::Error
            && m.contains("is a standard queue and its dead-letter queue `jobs_dlq` a FIFO one")),
        "{all:#?}"
    );
    assert!(
        dlq.iter().any(|(s, m)| *s == Severity::Warning
            && m.contains(
                "keeps messages 1209600 s and its dead-letter queue `jobs_dlq` only 86400 s"
            )),
        "{all:#?}"
    );
    let orphan = [at("19"), at("21")].concat();
    assert!(
        orphan
            .iter()
            .any(|(_, m)| m.contains("max_receive_count 0")),
        "{all:#?}"
    );
    assert!(
        orphan
            .iter()
            .any(|(_, m)| m.contains("sets max_receive_count without dead_letter_queue_arn")),
        "{all:#?}"
    );
    assert!(
        orphan
            .iter()
            .any(|(_, m)| m.contains("sets both sqs_managed_sse and kms_key_id")),
        "{all:#?}"
    );
}

#[tokio::test]
async fn encryption_moves_between_a_kms_key_and_sqs_managed_keys_in_place() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let p = Project::with_stack(
        "stack: sqstest\nresources:\n  results:\n    type: aws_sqs_queue\n    properties:\n      kms_key_id: alias/aws/sqs\n",
    );
    let first = plan_of(&p, &registry).await;
    assert_eq!(first.summary.add, 1);
    apply_converges(&first, &p, &registry).await;
    let a = attributes(&sqs, "sqstest-default-results").await;
    assert_eq!(
        a.get("KmsMasterKeyId").map(String::as_str),
        Some("alias/aws/sqs")
    );
    assert_eq!(
        a.get("SqsManagedSseEnabled").map(String::as_str),
        Some("false")
    );

    p.edit(
        "stacks/bandup.yaml",
        "      kms_key_id: alias/aws/sqs\n",
        "      delay_seconds: 5\n",
    );
    let managed = plan_of(&p, &registry).await;
    assert_eq!(
        changes(&managed),
        BTreeMap::from([(
            "results".to_string(),
            change(
                Action::Update,
                &["delay_seconds", "sqs_managed_sse", "kms_key_id"]
            )
        )])
    );
    apply_converges(&managed, &p, &registry).await;
    let a = attributes(&sqs, "sqstest-default-results").await;
    assert!(
        a.get("KmsMasterKeyId").is_none_or(String::is_empty),
        "{a:?}"
    );
    assert_eq!(
        a.get("SqsManagedSseEnabled").map(String::as_str),
        Some("true")
    );
}

#[tokio::test]
async fn a_queue_of_the_same_name_this_stack_does_not_own_is_never_taken() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // Made by hand, one with other attributes than the stack declares, one with the
    // same: both refused (QueueAlreadyExists), the second for its tags, which differ.
    for name in ["sqstest-default-jobs_dlq", "sqstest-default-plain"] {
        sqs.create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("foreign queue");
    }
    let p = Project::with_stack(&format!(
        "{STACK}  plain:\n    type: aws_sqs_queue\n    properties: {{}}\n"
    ));
    let planned = plan_of(&p, &registry).await;
    assert_eq!(planned.summary.add, 3);
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    assert!(
        failed.iter().any(|f| f.starts_with("jobs_dlq:")
            && f.contains("sqstest-default-jobs_dlq")
            && f.contains("this stack does not own it")),
        "{failed:#?}"
    );
    assert!(
        failed.iter().any(|f| f.starts_with("plain:")
            && f.contains("QueueAlreadyExists")
            && f.contains("this stack does not own it")),
        "{failed:#?}"
    );
    for name in ["sqstest-default-jobs_dlq", "sqstest-default-plain"] {
        let url = sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .expect("url");
        let tags = sqs
            .list_queue_tags()
            .queue_url(url.queue_url().unwrap_or_default())
            .send()
            .await
            .expect("tags");
        assert!(
            tags.tags().is_none_or(|t| t.is_empty()),
            "{name} left untouched"
        );
    }
}
