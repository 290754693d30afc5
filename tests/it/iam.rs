//! ECR repositories, CloudWatch log groups and IAM roles against the emulator: the
//! lifecycle of each type (create, an empty re-plan, an in-place update, a replacement
//! where a field forces one, delete), policies that differ only in shape planning
//! nothing, a repository holding images refused deletion without `force_delete`, a role
//! in an instance profile refused deletion, and the validation of their fields.
//!
//! What moto cannot show (docs/emulator-gaps.md): IAM is immediately consistent there,
//! so the `NoSuchEntity` retries after CreateRole never run; moto does not implement
//! AssociateKmsKey/DisassociateKmsKey for log groups (a key is only given at creation
//! here); GetAccountAuthorizationDetails is never truncated (one page whatever the count).

use crate::support::lifecycle::{apply_converges, change, changes, failures, plan_of};
use crate::support::moto::Moto;
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::config::{self, LoadOptions};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{Action, Mode, Plan};
use bandup_infra::provider::{Registry, Scope};
use std::collections::BTreeMap;
use std::sync::Arc;

fn scope(stack: &str) -> Scope {
    Scope {
        stack: stack.into(),
        env: "default".into(),
        ..Default::default()
    }
}

fn output(p: &Plan, addr: &str, attr: &str) -> String {
    p.resources
        .iter()
        .find(|r| r.addr.as_str() == addr)
        .and_then(|r| r.live.as_ref())
        .and_then(|l| l.outputs.get(attr))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// API calls one type's discovery makes itself. Nothing is declared, so the tag index
/// (asked on a task of its own, not counted here) vouches for no tags and each is read:
/// the calls of a plan made without the index.
async fn discovery_calls(registry: &Registry, stack: &str, type_name: &str) -> u64 {
    let provider = registry.get(type_name).expect("registered");
    let (read, calls) = bandup_infra::provider::counted(provider.read(&scope(stack), None)).await;
    read.expect("read");
    calls
}

/// Every problem `validate` reports for a stack.
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
        .map(|d| {
            format!(
                "{} (hint: {})",
                d.message,
                d.hint.clone().unwrap_or_default()
            )
        })
        .collect()
}

const ROLE_STACK: &str = r#"stack: iamtest
resources:
  task_role:
    type: aws_iam_role
    properties:
      description: backend tasks
      assume_role_policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: ecs-tasks.amazonaws.com
            Action: sts:AssumeRole
      policies:
        read-secrets:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action:
                - secretsmanager:GetSecretValue
                - secretsmanager:DescribeSecret
              Resource: arn:aws:secretsmanager:eu-west-2:123456789012:secret:iamtest-*
            - Effect: Allow
              Action: kms:Decrypt
              Resource: "*"
        write-logs:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action:
                - logs:CreateLogStream
                - logs:PutLogEvents
              Resource: arn:aws:logs:eu-west-2:123456789012:log-group:/iamtest/default/backend:*
"#;

#[tokio::test]
async fn a_role_creates_replans_empty_ignores_reshaped_policies_updates_and_deletes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let p = Project::with_stack(ROLE_STACK);

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 1, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;

    let name = "iamtest-default-task_role";
    let role = iam.get_role().role_name(name).send().await.expect("role");
    let role = role.role().expect("role");
    assert_eq!(role.path(), "/iamtest/default/", "scoped by path");
    assert_eq!(role.description(), Some("backend tasks"));
    let tags: BTreeMap<_, _> = role.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags.get("bandup:resource"), Some(&"task_role"));
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .expect("policies");
    assert_eq!(inline.policy_names(), ["read-secrets", "write-logs"]);
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(output(&again, "task_role", "arn"), role.arn());
    assert_eq!(output(&again, "task_role", "name"), name);
    assert_eq!(output(&again, "task_role", "unique_id"), role.role_id());

    // Discovery: ListRoles(PathPrefix) and GetAccountAuthorizationDetails, whatever the
    // number of roles and policies.
    assert_eq!(
        discovery_calls(&registry, "iamtest", "aws_iam_role").await,
        2
    );
    // A role of another environment, under its own path, is not ours.
    assert_eq!(
        registry
            .get("aws_iam_role")
            .expect("registered")
            .read(
                &Scope {
                    env: "prod".into(),
                    ..scope("iamtest")
                },
                None
            )
            .await
            .expect("read")
            .len(),
        0
    );

    // The same policies, reshaped by hand: statements reordered, single values as lists
    // and lists as single values, keys reordered, actions in another case. No change.
    iam.put_role_policy()
        .role_name(name)
        .policy_name("read-secrets")
        .policy_document(
            r#"{"Statement":[{"Resource":["*"],"Action":["KMS:Decrypt"],"Effect":"Allow"},
                {"Resource":"arn:aws:secretsmanager:eu-west-2:123456789012:secret:iamtest-*","Effect":"Allow",
                 "Action":["secretsmanager:DescribeSecret","secretsmanager:GetSecretValue"]}],
                "Version":"2012-10-17"}"#,
        )
        .send()
        .await
        .expect("reshaped policy");
    iam.update_assume_role_policy()
        .role_name(name)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":{"Action":["sts:AssumeRole"],"Principal":{"Service":["ecs-tasks.amazonaws.com"]},"Effect":"Allow"}}"#,
        )
        .send()
        .await
        .expect("reshaped trust policy");
    let reshaped = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!reshaped.summary.has_changes(), "{:#?}", changes(&reshaped));

    // A real change: another action, another description, a policy removed. In place.
    p.edit(
        "stacks/bandup.yaml",
        "              Action: kms:Decrypt\n",
        "              Action: kms:GenerateDataKey\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "description: backend tasks",
        "description: the backend's tasks",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "task_role".to_string(),
            change(Action::Update, &["description", "policies"])
        )])
    );
    let text = bandup_infra::ui::plan::render(&updated);
    assert!(text.contains("~ policies"), "{text}");
    apply_converges(&updated, &p, &registry).await;
    let doc = iam
        .get_role_policy()
        .role_name(name)
        .policy_name("read-secrets")
        .send()
        .await
        .expect("policy");
    assert!(doc.policy_document().contains("GenerateDataKey"), "{doc:?}");

    let write_logs = ROLE_STACK
        .split_once("        write-logs:\n")
        .map(|(_, rest)| format!("        write-logs:\n{rest}"))
        .expect("write-logs");
    p.edit("stacks/bandup.yaml", &write_logs, "");
    p.edit(
        "stacks/bandup.yaml",
        "      description: the backend's tasks\n",
        "",
    );
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&removed).get("task_role"),
        Some(&change(Action::Update, &["description", "policies"]))
    );
    apply_converges(&removed, &p, &registry).await;
    let inline = iam
        .list_role_policies()
        .role_name(name)
        .send()
        .await
        .expect("policies");
    assert_eq!(
        inline.policy_names(),
        ["read-secrets"],
        "removed policy deleted"
    );

    // Nothing here forces a replacement: every field changes in place.
    assert!(bandup_infra::aws::iam::role::SCHEMA
        .fields
        .iter()
        .all(|f| !f.force_new));

    // A role in an instance profile is refused deletion, naming the profile.
    iam.create_instance_profile()
        .instance_profile_name("someone-elses")
        .send()
        .await
        .expect("profile");
    iam.add_role_to_instance_profile()
        .instance_profile_name("someone-elses")
        .role_name(name)
        .send()
        .await
        .expect("role in profile");
    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    assert!(
        failed.len() == 1 && failed[0].contains("is still in: instance profile someone-elses"),
        "{failed:#?}"
    );
    iam.remove_role_from_instance_profile()
        .instance_profile_name("someone-elses")
        .role_name(name)
        .send()
        .await
        .expect("out of profile");

    // Removed from the stack: its policies, then the role, are deleted.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: iamtest\nresources: {}\n",
    )
    .expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(gone.summary.destroy, 1);
    let report = apply(&gone, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let err = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&err),
        Some("NoSuchEntity")
    );
}

const LOGS_STACK: &str = r#"stack: logtest
resources:
  backend_logs:
    type: aws_cloudwatch_log_group
    properties:
      retention_in_days: 14
  worker_logs:
    type: aws_cloudwatch_log_group
    properties:
      name: /aws/lambda/logtest-default-worker
      retention_in_days: 7
  other_logs:
    type: aws_cloudwatch_log_group
    properties:
      name: /logtest/default/custom-other
      retention_in_days: 0
"#;

#[tokio::test]
async fn log_groups_create_replan_empty_update_retention_replace_on_rename_and_delete() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let p = Project::with_stack(LOGS_STACK);

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 3, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;
    let described = |prefix: &'static str| {
        let logs = logs.clone();
        async move {
            logs.describe_log_groups()
                .log_group_name_prefix(prefix)
                .send()
                .await
                .expect("describe")
                .log_groups()
                .to_vec()
        }
    };
    let backend = described("/logtest/default/backend_logs").await;
    assert_eq!(backend.len(), 1, "derived name /<stack>/<env>/<address>");
    assert_eq!(backend[0].retention_in_days(), Some(14));
    let other = described("/logtest/default/custom-other").await;
    assert_eq!(other[0].retention_in_days(), None, "0 keeps events forever");

    // The ARN output is the log group's ARN without DescribeLogGroups' `:*`.
    let again = plan_of(&p, &registry, Mode::Normal).await;
    let arn = output(&again, "backend_logs", "arn");
    assert!(
        arn.ends_with(":log-group:/logtest/default/backend_logs"),
        "{arn}"
    );
    assert_eq!(
        output(&again, "worker_logs", "name"),
        "/aws/lambda/logtest-default-worker"
    );

    // Discovery: the two prefixes, one tag read each.
    assert_eq!(
        discovery_calls(&registry, "logtest", "aws_cloudwatch_log_group").await,
        5
    );

    // In place: retention.
    p.edit(
        "stacks/bandup.yaml",
        "retention_in_days: 14",
        "retention_in_days: 30",
    );
    p.edit(
        "stacks/bandup.yaml",
        "retention_in_days: 0",
        "retention_in_days: 365",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([
            (
                "backend_logs".to_string(),
                change(Action::Update, &["retention_in_days"])
            ),
            (
                "other_logs".to_string(),
                change(Action::Update, &["retention_in_days"])
            ),
        ])
    );
    apply_converges(&updated, &p, &registry).await;
    assert_eq!(
        described("/logtest/default/backend_logs").await[0].retention_in_days(),
        Some(30)
    );

    // A new name replaces the group.
    p.edit(
        "stacks/bandup.yaml",
        "name: /logtest/default/custom-other",
        "name: /logtest/default/renamed",
    );
    let renamed = plan_of(&p, &registry, Mode::Normal).await;
    let other = renamed
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "other_logs")
        .expect("other_logs");
    assert_eq!(
        (other.action, other.forcing_fields()),
        (Action::Replace, vec!["name"])
    );
    let text = bandup_infra::ui::plan::render(&renamed);
    assert!(text.contains("-/+"), "{text}");
    assert!(text.contains("cannot rename a log group"), "{text}");
    apply_converges(&renamed, &p, &registry).await;
    assert!(described("/logtest/default/custom-other").await.is_empty());
    assert_eq!(described("/logtest/default/renamed").await.len(), 1);

    // Removed from the stack: deleted.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: logtest\nresources: {}\n",
    )
    .expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(gone.summary.destroy, 3, "{:#?}", changes(&gone));
    apply_converges(&gone, &p, &registry).await;
    assert!(described("/").await.is_empty());
}

#[test]
fn retention_periods_and_role_fields_are_checked_before_aws() {
    let found = problems(
        r#"stack: checks
resources:
  logs:
    type: aws_cloudwatch_log_group
    properties:
      retention_in_days: 15
      name: /elsewhere/logs
  role:
    type: aws_iam_role
    properties:
      max_session_duration: 60
      assume_role_policy:
        Statement: []
      policies:
        "bad name": { Version: "2012-10-17", Statement: [] }
  repo:
    type: aws_ecr_repository
    properties:
      keep_last_images: 20000
      kms_key: arn:aws:kms:eu-west-2:123456789012:key/x
"#,
    );
    let expect = [
        "`logs` retention_in_days 15 is not a period CloudWatch Logs accepts (hint: did you mean 14?",
        "`logs` name `/elsewhere/logs` is outside the stack's log group names (hint: name it under /checks/default/",
        "`role` max_session_duration 60 is out of range (hint: IAM accepts 3600",
        "`role` has an inline policy named `bad name`, which IAM refuses",
        "`role` assume_role_policy has no Version (hint: add Version: \"2012-10-17\"",
        "`repo` keep_last_images 20000 is out of range",
        "`repo` sets kms_key without encryption_type KMS",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.starts_with(e)), "{e}\n{found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

const ECR_STACK: &str = r#"stack: ecrtest
resources:
  backend:
    type: aws_ecr_repository
    properties: {}
"#;

/// A minimal image manifest, as `docker push` would send.
const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7023,"digest":"sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},"layers":[]}"#;

#[tokio::test]
async fn a_repository_creates_replans_empty_updates_replaces_and_keeps_its_images() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let p = Project::with_stack(ECR_STACK);

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 1, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;
    let name = "ecrtest-default-backend";
    let described = ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
        .expect("repository");
    let repo = &described.repositories()[0];
    assert_eq!(
        repo.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE")
    );
    assert_eq!(
        repo.image_scanning_configuration()
            .map(|s| s.scan_on_push()),
        Some(true)
    );
    let lifecycle = ecr
        .get_lifecycle_policy()
        .repository_name(name)
        .send()
        .await
        .expect("lifecycle policy");
    assert!(
        lifecycle
            .lifecycle_policy_text()
            .unwrap_or_default()
            .contains(r#""countNumber":30"#),
        "{lifecycle:?}"
    );
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        output(&again, "backend", "repository_url"),
        repo.repository_uri().unwrap_or_default()
    );
    assert_eq!(
        output(&again, "backend", "arn"),
        repo.repository_arn().unwrap_or_default()
    );

    // Discovery: DescribeRepositories, then tags and lifecycle policy per repository.
    assert_eq!(
        discovery_calls(&registry, "ecrtest", "aws_ecr_repository").await,
        3
    );

    // In place: tag mutability, scanning, images kept.
    p.edit(
        "stacks/bandup.yaml",
        "    properties: {}\n",
        "    properties:\n      image_tag_mutability: MUTABLE\n      scan_on_push: false\n      keep_last_images: 10\n",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "backend".to_string(),
            change(
                Action::Update,
                &["image_tag_mutability", "scan_on_push", "keep_last_images"]
            )
        )])
    );
    apply_converges(&updated, &p, &registry).await;
    let lifecycle = ecr
        .get_lifecycle_policy()
        .repository_name(name)
        .send()
        .await
        .expect("lifecycle policy");
    assert!(lifecycle
        .lifecycle_policy_text()
        .unwrap_or_default()
        .contains(r#""countNumber":10"#));

    // A lifecycle policy changed by hand plans its rewrite.
    ecr.put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}"#)
        .send()
        .await
        .expect("policy by hand");
    let drifted = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&drifted).get("backend"),
        Some(&change(Action::Update, &["keep_last_images"]))
    );
    apply_converges(&drifted, &p, &registry).await;

    // Encryption cannot change: the repository is replaced (it holds no image yet).
    p.edit(
        "stacks/bandup.yaml",
        "      keep_last_images: 10\n",
        "      keep_last_images: 10\n      encryption_type: KMS\n",
    );
    let replaced = plan_of(&p, &registry, Mode::Normal).await;
    let backend = replaced
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "backend")
        .expect("backend");
    assert_eq!(
        (backend.action, backend.forcing_fields()),
        (Action::Replace, vec!["encryption_type"])
    );
    let text = bandup_infra::ui::plan::render(&replaced);
    assert!(text.contains("-/+"), "{text}");
    assert!(
        text.contains("ECR cannot change a repository's encryption"),
        "{text}"
    );
    apply_converges(&replaced, &p, &registry).await;

    // With an image in it, removing it from the stack is refused, saying how many
    // images and what to do.
    ecr.put_image()
        .repository_name(name)
        .image_manifest(MANIFEST)
        .image_tag("v1")
        .send()
        .await
        .expect("image pushed");
    let declared = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("read");
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: ecrtest\nresources: {}\n",
    )
    .expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(removed.summary.destroy, 1);
    let report = apply(&removed, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    assert!(
        failed.len() == 1
            && failed[0].contains("still holds 1 image")
            && failed[0].contains("force_delete: true"),
        "{failed:#?}"
    );
    assert_eq!(
        ecr.describe_repositories()
            .repository_names(name)
            .send()
            .await
            .expect("still there")
            .repositories()
            .len(),
        1
    );

    // Declared again with force_delete: nothing to change; destroy then deletes it with
    // its image, and the plan says the images are lost.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        declared.replace(
            "      encryption_type: KMS\n",
            "      encryption_type: KMS\n      force_delete: true\n",
        ),
    )
    .expect("write");
    let forced = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!forced.summary.has_changes(), "{:#?}", changes(&forced));
    let destroy = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let text = bandup_infra::ui::plan::render(&destroy);
    assert!(
        text.contains("every image in ecrtest-default-backend"),
        "{text}"
    );
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert!(ecr
        .describe_repositories()
        .send()
        .await
        .expect("repositories")
        .repositories()
        .is_empty());
}

#[tokio::test]
async fn lost_create_answers_for_a_role_a_log_group_and_a_repository_converge_in_one_apply() {
    use crate::support::moto::sdk_at;
    use crate::support::proxy::{Fault, Proxy, Rule};
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 7);
    for op in ["CreateRole", "CreateLogGroup", "CreateRepository"] {
        proxy.rule(Rule::on(op).fault(Fault::LoseAnswer));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(&format!(
        "{}{}{}",
        ROLE_STACK.replace(
            "        write-logs:\n",
            "        pull-images:\n          Version: \"2012-10-17\"\n          Statement:\n            - Effect: Allow\n              Action: [ecr:BatchGetImage, ecr:GetDownloadUrlForLayer]\n              Resource: ${backend.arn}\n            - Effect: Allow\n              Action: logs:PutLogEvents\n              Resource: ${backend_logs.arn}:*\n        write-logs:\n",
        ),
        "  backend_logs:\n    type: aws_cloudwatch_log_group\n    properties:\n      retention_in_days: 14\n",
        "  backend:\n    type: aws_ecr_repository\n    properties: {}\n",
    ));
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(planned.summary.add, 3);
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 3, "{:?}", proxy.faults());
    for op in ["CreateRole", "CreateLogGroup", "CreateRepository"] {
        assert_eq!(proxy.seen(op), 1, "{op}: adopted, not repeated");
    }
    let clean = bandup_infra::aws::registry(&moto.sdk().await);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    // A no-change plan's discovery: flat for roles, groups and repositories (tags from
    // the tag index), and a lifecycle policy per repository.
    let calls = |t: &str| after.reads.get(t).map(|r| (r.found, r.api_calls));
    assert_eq!(calls("aws_iam_role"), Some((1, 2)));
    assert_eq!(calls("aws_cloudwatch_log_group"), Some((1, 2)));
    assert_eq!(calls("aws_ecr_repository"), Some((1, 2)));
    let iam = aws_sdk_iam::Client::new(&moto.sdk().await);
    let inline = iam
        .list_role_policies()
        .role_name("iamtest-default-task_role")
        .send()
        .await
        .expect("policies");
    assert_eq!(
        inline.policy_names(),
        ["pull-images", "read-secrets", "write-logs"],
        "the adopted role got its policies"
    );
    // References inside a policy are resolved: the repository's and log group's ARNs.
    let pull = iam
        .get_role_policy()
        .role_name("iamtest-default-task_role")
        .policy_name("pull-images")
        .send()
        .await
        .expect("policy");
    let doc = bandup_infra::model::document::parse(pull.policy_document()).expect("json");
    let text = bandup_infra::model::document::to_json_string(&doc);
    assert!(
        text.contains(":repository/iamtest-default-backend")
            && text.contains(":log-group:/iamtest/default/backend_logs:*"),
        "{text}"
    );
}
