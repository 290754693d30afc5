//! Emulator tests of the CodeBuild, CodePipeline and CodeConnections types: a connection
//! (created PENDING, no change while it waits for the operator, a tag change, a provider
//! change that replaces it, removal), a build project (with its role from the same stack,
//! an in-place compute/environment change, removal) and a pipeline (with its connection,
//! project, roles and artifact bucket; a branch change in place, removal), counting the
//! API calls of a no-change read; a lost answer to each type's create converges in one
//! apply.
//!
//! What moto cannot show (docs/emulator-gaps.md): moto has no CodeConnections service,
//! so `scripts/moto_server.py` emulates its calls, and a connection stays PENDING for
//! ever (the operator's console handshake cannot happen); moto's CodeBuild has no
//! UpdateProject and wants a location for CODEPIPELINE sources and artifacts (corrected
//! in the same script); moto never runs a build or a pipeline execution, so the
//! buildspecs and the stages' wiring (SourceOutput -> BuildOutput -> ECS) are checked as
//! declarations only; IAM is immediately consistent there, so the create's wait for a
//! role CodeBuild or CodePipeline cannot assume yet passes on its first try.

use crate::support::lifecycle::{apply_converges, change, changes, failures, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::model::Quiet;
use bandup_infra::plan::{Action, Mode, Plan};
use std::collections::BTreeMap;
use std::sync::Arc;

/// (found, api calls) of the no-change read of `type_name` in `plan`.
fn reads(plan: &Plan, type_name: &str) -> Option<(usize, u64)> {
    plan.reads.get(type_name).map(|r| (r.found, r.api_calls))
}

const CONNECTION: &str = r#"stack: cbtest
tags:
  team: delivery
resources:
  github:
    type: aws_codeconnections_connection
    properties:
      provider_type: GitHub
"#;

async fn connections(
    cc: &aws_sdk_codeconnections::Client,
) -> Vec<aws_sdk_codeconnections::types::Connection> {
    cc.list_connections()
        .send()
        .await
        .expect("list connections")
        .connections()
        .to_vec()
}

#[tokio::test]
async fn a_connection_is_created_pending_retagged_replaced_and_deleted() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let cc = aws_sdk_codeconnections::Client::new(&sdk);
    let p = Project::with_stack(CONNECTION);

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&first),
        BTreeMap::from([("github".to_string(), change(Action::Create, &[]))])
    );
    // PENDING (waiting for the operator's handshake) is not a change: the re-plan is empty,
    // and says once, under the plan, where to approve it.
    let again = apply_converges(&first, &p, &registry).await;
    assert_eq!(
        reads(&again, "aws_codeconnections_connection"),
        Some((1, 1))
    );
    let shown = bandup_infra::ui::plan::render(&again);
    assert_eq!(
        shown
            .matches("Note: github: connection cbtest-default-github is PENDING")
            .count(),
        1,
        "{shown}"
    );
    assert!(shown.contains("Update pending connection"), "{shown}");
    let found = connections(&cc).await;
    assert_eq!(found.len(), 1);
    let c = &found[0];
    assert_eq!(c.connection_name(), Some("cbtest-default-github"));
    assert_eq!(
        c.connection_status().map(|s| s.as_str()),
        Some("PENDING"),
        "AWS creates connections PENDING"
    );
    assert!(c
        .connection_arn()
        .is_some_and(|a| a.starts_with("arn:aws:codeconnections:eu-west-2:")));
    let tags = cc
        .list_tags_for_resource()
        .resource_arn(c.connection_arn().unwrap_or_default())
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "bandup:resource" && t.value() == "github"),
        "tagged in the create call: {tags:?}"
    );
    let status = again
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "github")
        .and_then(|r| r.live.as_ref())
        .and_then(|l| l.outputs.get("status").cloned());
    assert_eq!(
        status,
        Some(bandup_infra::model::Value::Str("PENDING".into()))
    );

    // A tag changes in place.
    p.edit("stacks/bandup.yaml", "team: delivery", "team: platform");
    let retag = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&retag),
        BTreeMap::from([("github".to_string(), change(Action::Update, &["tags"]))])
    );
    apply_converges(&retag, &p, &registry).await;

    // Another provider is another connection (and another handshake).
    p.edit(
        "stacks/bandup.yaml",
        "provider_type: GitHub",
        "provider_type: GitLab",
    );
    let replaced = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&replaced),
        BTreeMap::from([(
            "github".to_string(),
            change(Action::Replace, &["provider_type"])
        )])
    );
    let text = bandup_infra::ui::plan::render(&replaced);
    assert!(text.contains("-/+"), "{text}");
    apply_converges(&replaced, &p, &registry).await;
    let found = connections(&cc).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].provider_type().map(|t| t.as_str()), Some("GitLab"));

    // Removed from the stack: deleted.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: cbtest\nresources: {}\n",
    )
    .expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&removed),
        BTreeMap::from([("github".to_string(), change(Action::Delete, &[]))])
    );
    apply_converges(&removed, &p, &registry).await;
    assert!(connections(&cc).await.is_empty());
}

const ROLE: &str = r#"  build_role:
    type: aws_iam_role
    properties:
      assume_role_policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: codebuild.amazonaws.com
            Action: sts:AssumeRole
"#;

const PROJECT: &str = r#"  backend_build:
    type: aws_codebuild_project
    properties:
      description: Builds and pushes the backend image
      service_role: ${build_role.arn}
      buildspec: buildspecs/backend.yml
      privileged_mode: true
      log_group: /cbtest/builds
      build_timeout: 30
      environment:
        IMAGE_REPO_URI: 123456789012.dkr.ecr.eu-west-2.amazonaws.com/cbtest-backend
        CONTAINER_NAME: api
        BUILD_CONTEXT: backend
"#;

async fn project(
    cb: &aws_sdk_codebuild::Client,
    name: &str,
) -> Option<aws_sdk_codebuild::types::Project> {
    cb.batch_get_projects()
        .names(name)
        .send()
        .await
        .expect("batch get projects")
        .projects()
        .first()
        .cloned()
}

#[tokio::test]
async fn a_build_project_is_created_updated_in_place_and_deleted() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let cb = aws_sdk_codebuild::Client::new(&sdk);
    let p = Project::with_stack(&format!("stack: cbtest\nresources:\n{ROLE}{PROJECT}"));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 2, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    // Discovery: ListProjects, then one BatchGetProjects (tags included).
    assert_eq!(reads(&again, "aws_codebuild_project"), Some((1, 2)));

    let made = project(&cb, "cbtest-default-backend_build")
        .await
        .expect("project");
    let env = made.environment().expect("environment");
    assert_eq!(env.privileged_mode(), Some(true));
    assert_eq!(env.compute_type().as_str(), "BUILD_GENERAL1_SMALL");
    assert_eq!(
        made.source().map(|s| (s.r#type().as_str(), s.buildspec())),
        Some(("CODEPIPELINE", Some("buildspecs/backend.yml")))
    );
    assert_eq!(made.timeout_in_minutes(), Some(30));
    assert!(made
        .service_role()
        .is_some_and(|r| r.contains(":role/cbtest/default/")));
    assert!(
        made.tags()
            .iter()
            .any(|t| t.key() == Some("bandup:resource") && t.value() == Some("backend_build")),
        "tagged in the create call"
    );

    // In place: the compute type and an environment variable (UpdateProject).
    p.edit(
        "stacks/bandup.yaml",
        "      privileged_mode: true\n",
        "      privileged_mode: true\n      compute_type: BUILD_GENERAL1_MEDIUM\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "CONTAINER_NAME: api",
        "CONTAINER_NAME: backend",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "backend_build".to_string(),
            change(Action::Update, &["compute_type", "environment"])
        )])
    );
    apply_converges(&updated, &p, &registry).await;
    let after = project(&cb, "cbtest-default-backend_build")
        .await
        .expect("project");
    let env = after.environment().expect("environment");
    assert_eq!(env.compute_type().as_str(), "BUILD_GENERAL1_MEDIUM");
    assert!(env
        .environment_variables()
        .iter()
        .any(|v| v.name() == "CONTAINER_NAME" && v.value() == "backend"));
    assert!(
        after
            .tags()
            .iter()
            .any(|t| t.key() == Some("bandup:resource")),
        "an update keeps the tags"
    );

    // A tag changes through UpdateProject (CodeBuild has no TagResource).
    let declared = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("stack");
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        declared.replace(
            "stack: cbtest\n",
            "stack: cbtest\ntags:\n  team: delivery\n",
        ),
    )
    .expect("write");
    let retag = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&retag).get("backend_build"),
        Some(&change(Action::Update, &["tags"]))
    );
    apply_converges(&retag, &p, &registry).await;

    // Removed from the stack: deleted (the role stays).
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        format!("stack: cbtest\ntags:\n  team: delivery\nresources:\n{ROLE}"),
    )
    .expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&removed),
        BTreeMap::from([("backend_build".to_string(), change(Action::Delete, &[]))])
    );
    apply_converges(&removed, &p, &registry).await;
    assert!(project(&cb, "cbtest-default-backend_build").await.is_none());
}

const PIPELINE: &str = r#"  github:
    type: aws_codeconnections_connection
    properties:
      provider_type: GitHub
  artifacts:
    type: aws_s3_bucket
  pipeline_role:
    type: aws_iam_role
    properties:
      assume_role_policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: codepipeline.amazonaws.com
            Action: sts:AssumeRole
  backend_pipeline:
    type: aws_codepipeline
    properties:
      role: ${pipeline_role.arn}
      artifact_bucket: ${artifacts.name}
      source:
        connection_arn: ${github.arn}
        repository: bandup/backend
        branch: main
      build:
        project: ${backend_build.name}
      deploy:
        cluster: cbtest-default-cluster
        service: cbtest-default-backend
"#;

#[tokio::test]
async fn a_pipeline_is_created_updated_in_place_and_deleted() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let cp = aws_sdk_codepipeline::Client::new(&sdk);
    let p = Project::with_stack(&format!(
        "stack: cbtest\nresources:\n{ROLE}{PROJECT}{PIPELINE}"
    ));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 6, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    // A no-change read: connections 1 listing; projects 1 listing + 1 batch; pipelines
    // 1 listing + GetPipeline each (tags from the tag index).
    assert_eq!(
        reads(&again, "aws_codeconnections_connection"),
        Some((1, 1))
    );
    assert_eq!(reads(&again, "aws_codebuild_project"), Some((1, 2)));
    assert_eq!(reads(&again, "aws_codepipeline"), Some((1, 2)));

    let got = cp
        .get_pipeline()
        .name("cbtest-default-backend_pipeline")
        .send()
        .await
        .expect("pipeline");
    let decl = got.pipeline().expect("declaration");
    assert_eq!(decl.pipeline_type().map(|t| t.as_str()), Some("V2"));
    let stages: Vec<&str> = decl.stages().iter().map(|s| s.name()).collect();
    assert_eq!(stages, ["Source", "Build", "Deploy"]);
    let config = |stage: usize, key: &str| {
        decl.stages()[stage].actions()[0]
            .configuration()
            .and_then(|c| c.get(key))
            .cloned()
            .unwrap_or_default()
    };
    assert!(config(0, "ConnectionArn").starts_with("arn:aws:codeconnections:"));
    assert_eq!(config(0, "FullRepositoryId"), "bandup/backend");
    assert_eq!(config(1, "ProjectName"), "cbtest-default-backend_build");
    assert_eq!(config(2, "FileName"), "imagedefinitions.json");
    let deploy = &decl.stages()[2].actions()[0];
    assert_eq!(
        deploy.input_artifacts().first().map(|a| a.name()),
        Some("BuildOutput")
    );
    assert!(decl
        .artifact_store()
        .is_some_and(|s| s.location().starts_with("cbtest-default-artifacts")));

    // In place: the branch (UpdatePipeline with the whole declaration).
    p.edit("stacks/bandup.yaml", "branch: main", "branch: release");
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "backend_pipeline".to_string(),
            change(Action::Update, &["source"])
        )])
    );
    apply_converges(&updated, &p, &registry).await;
    let got = cp
        .get_pipeline()
        .name("cbtest-default-backend_pipeline")
        .send()
        .await
        .expect("pipeline");
    let branch = got
        .pipeline()
        .and_then(|d| d.stages().first())
        .and_then(|s| s.actions().first())
        .and_then(|a| a.configuration())
        .and_then(|c| c.get("BranchName"))
        .cloned();
    assert_eq!(branch.as_deref(), Some("release"));

    // Removed from the stack: deleted (what it used stays).
    let declared = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("stack");
    let cut = declared.find("  backend_pipeline:").expect("pipeline");
    std::fs::write(p.root().join("stacks/bandup.yaml"), &declared[..cut]).expect("write");
    let removed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&removed),
        BTreeMap::from([("backend_pipeline".to_string(), change(Action::Delete, &[]))])
    );
    apply_converges(&removed, &p, &registry).await;
    let gone = cp
        .get_pipeline()
        .name("cbtest-default-backend_pipeline")
        .send()
        .await;
    assert!(gone.is_err(), "{gone:?}");
}

/// The proxy names a CodeConnections call by its path (Smithy RPC v2 CBOR has no target
/// header).
const CREATE_CONNECTION: &str = "POST /service/CodeConnections_20231201/operation/CreateConnection";

#[tokio::test]
async fn lost_create_answers_of_the_delivery_types_converge_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 17);
    for op in [CREATE_CONNECTION, "CreateProject", "CreatePipeline"] {
        proxy.rule(Rule::on(op).fault(Fault::LoseAnswer));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(&format!(
        "stack: cbtest\nresources:\n{ROLE}{PROJECT}{PIPELINE}"
    ));
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 3, "{:?}", proxy.faults());
    for op in [CREATE_CONNECTION, "CreateProject", "CreatePipeline"] {
        assert_eq!(proxy.seen(op), 1, "{op}: adopted, not repeated");
    }
    let clean = bandup_infra::aws::registry(&moto.sdk().await);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
}

#[test]
fn a_pipeline_s_project_must_take_its_source_from_the_pipeline() {
    let stack = format!("stack: cbtest\nresources:\n{ROLE}{PROJECT}{PIPELINE}")
        .replace(
            "      buildspec: buildspecs/backend.yml\n",
            "      buildspec: buildspecs/backend.yml\n      source_type: NO_SOURCE\n      artifacts_type: NO_ARTIFACTS\n      build_timeout: 3000\n",
        )
        .replace("      build_timeout: 30\n", "");
    let p = Project::with_stack(&stack);
    let registry = bandup_infra::aws::offline_registry();
    let (_, diags) = bandup_infra::config::load(
        &bandup_infra::config::LoadOptions {
            root: p.root().to_path_buf(),
            env: None,
            stack: None,
        },
        &registry,
    );
    let messages: Vec<String> = diags.items.iter().map(|d| d.message.clone()).collect();
    assert!(
        messages.iter().any(|m| m.contains("pipeline `backend_pipeline` builds with project `backend_build`, whose source_type is NO_SOURCE")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("build_timeout 3000: CodeBuild accepts 5 to 2160")),
        "{messages:#?}"
    );
    assert_eq!(messages.len(), 2, "{messages:#?}");
}
