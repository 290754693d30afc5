//! Emulator tests of the Lambda function, event source mapping and permission types: a
//! worker made with its execution role and log group, updated in place (configuration,
//! code, architecture, reserved concurrency) and deleted; an unchanged rebuild of its
//! code plans nothing; a mapping from a queue updated in place and replaced for another
//! queue; a permission replaced when its source changes, beside a statement someone else
//! added; two statements with one id, both removed; lost answers to the calls that make
//! each; the validation rules.
//!
//! What moto cannot show (docs/emulator-gaps.md): a function is Active at once (AWS:
//! Pending for seconds, and LastUpdateStatus InProgress after each update, both waited
//! for) and never refuses an update as another is in progress (ResourceConflictException);
//! a role just made is usable at once (AWS: "cannot be assumed by Lambda" for seconds);
//! mappings are Enabled at once and gone at once (AWS: Creating, Updating, Deleting); a
//! second statement with an id already in the policy is added (AWS: "already exists").

use crate::support::lifecycle::{apply_converges, change, changes, failures, live_id, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::config::{load, LoadOptions, Severity};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{Action, Mode};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// A worker with its execution role (trusting Lambda) and its log group.
const WORKER: &str = r#"stack: lt
resources:
  worker_role:
    type: aws_iam_role
    properties:
      assume_role_policy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
  worker_logs:
    type: aws_cloudwatch_log_group
    properties: {}
  ai:
    type: aws_lambda_function
    properties:
      runtime: python3.12
      handler: worker.handler
      role: ${worker_role.arn}
      log_group: ${worker_logs.name}
      code: worker
      memory: 256
      timeout: 30
      environment:
        MODEL: gemini-2.5-flash
        MAX_TOKENS: 1024
"#;

const HANDLER: &str = "def handler(event, context):\n    return {\"batchItemFailures\": []}\n";

/// A project with `stack` and the worker's code in `worker/`.
fn project(stack: &str) -> Project {
    let p = Project::with_stack(stack);
    std::fs::create_dir_all(p.root().join("worker")).expect("mkdir");
    std::fs::write(p.root().join("worker/worker.py"), HANDLER).expect("write");
    p
}

fn stack_file(p: &Project) -> PathBuf {
    p.root().join("stacks/bandup.yaml")
}

async fn function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> aws_sdk_lambda::operation::get_function::GetFunctionOutput {
    lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .expect("function")
}

#[tokio::test]
async fn a_worker_creates_updates_in_place_and_deletes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let p = project(WORKER);

    // Create from empty: the role and the log group first, then the worker.
    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 3, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    assert_eq!(again.summary.unchanged, 3);
    // Discovery: one listing, then GetFunction (configuration, tags, concurrency).
    let reads = again
        .reads
        .get("aws_lambda_function")
        .map(|r| (r.found, r.api_calls));
    assert_eq!(reads, Some((1, 2)));

    let f = function(&lambda, "lt-default-ai").await;
    let c = f.configuration().expect("configuration");
    let zip = bandup_infra::config::package::package(&p.root().join("worker")).expect("zip");
    assert_eq!(
        c.code_sha256(),
        Some(zip.sha256.as_str()),
        "the uploaded zip is the packaged one"
    );
    assert_eq!(c.memory_size(), Some(256));
    assert_eq!(c.architectures()[0].as_str(), "arm64");
    assert_eq!(
        c.logging_config().and_then(|l| l.log_group()),
        Some("/lt/default/worker_logs")
    );
    assert_eq!(
        c.environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("MAX_TOKENS"))
            .map(String::as_str),
        Some("1024")
    );
    assert_eq!(
        f.tags()
            .and_then(|t| t.get("bandup:resource"))
            .map(String::as_str),
        Some("ai"),
        "tagged in the create call"
    );
    let arn = c.function_arn().unwrap_or_default().to_string();
    let ai = again
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "ai")
        .and_then(|r| r.live.as_ref())
        .expect("ai");
    assert_eq!(
        ai.outputs.get("invoke_arn").and_then(|v| v.as_str()),
        Some(
            format!(
                "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/{arn}/invocations",
                arn.split(':').nth(3).unwrap_or_default()
            )
            .as_str()
        )
    );

    // Configuration in place.
    p.edit("stacks/bandup.yaml", "memory: 256", "memory: 512");
    p.edit("stacks/bandup.yaml", "timeout: 30", "timeout: 60");
    p.edit("stacks/bandup.yaml", "MAX_TOKENS: 1024", "MAX_TOKENS: 2048");
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "ai".to_string(),
            change(Action::Update, &["memory", "timeout", "environment"])
        )])
    );
    let text = bandup_infra::ui::plan::render(&updated);
    assert!(text.contains("~ memory = 256 -> 512"), "{text}");
    apply_converges(&updated, &p, &registry).await;
    let c = function(&lambda, "lt-default-ai").await;
    let c = c.configuration().expect("configuration");
    assert_eq!((c.memory_size(), c.timeout()), (Some(512), Some(60)));

    // The same files packaged again (new modification times): nothing to do.
    std::fs::write(p.root().join("worker/worker.py"), HANDLER).expect("rewrite");
    let same = std::fs::File::options()
        .write(true)
        .open(p.root().join("worker/worker.py"))
        .expect("open");
    same.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .expect("mtime");
    let unchanged = plan_of(&p, &registry, Mode::Normal).await;
    assert!(
        !unchanged.summary.has_changes(),
        "{:#?}",
        changes(&unchanged)
    );

    // New code, and another architecture: UpdateFunctionCode, in place.
    std::fs::write(
        p.root().join("worker/worker.py"),
        format!("{HANDLER}# v2\n"),
    )
    .expect("new code");
    p.edit(
        "stacks/bandup.yaml",
        "      code: worker\n",
        "      code: worker\n      architecture: x86_64\n",
    );
    let code = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&code),
        BTreeMap::from([(
            "ai".to_string(),
            change(Action::Update, &["architecture", "code"])
        )])
    );
    let text = bandup_infra::ui::plan::render(&code);
    assert!(
        text.contains("# invocations already running finish on the old code"),
        "an in-place change says why where the field alone does not: {text}"
    );
    let before = c.code_sha256().unwrap_or_default().to_string();
    apply_converges(&code, &p, &registry).await;
    let f = function(&lambda, "lt-default-ai").await;
    let c = f.configuration().expect("configuration");
    assert_ne!(c.code_sha256().unwrap_or_default(), before);
    assert_eq!(c.architectures()[0].as_str(), "x86_64");
    assert_eq!(live_id(&code, "ai"), "lt-default-ai", "the same function");

    // Reserved concurrency 0 (throttled on purpose), then unreserved again.
    p.edit(
        "stacks/bandup.yaml",
        "      memory: 512\n",
        "      memory: 512\n      reserved_concurrency: 0\n",
    );
    let throttled = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&throttled),
        BTreeMap::from([(
            "ai".to_string(),
            change(Action::Update, &["reserved_concurrency"])
        )])
    );
    apply_converges(&throttled, &p, &registry).await;
    let reserved = lambda
        .get_function_concurrency()
        .function_name("lt-default-ai")
        .send()
        .await
        .expect("concurrency");
    assert_eq!(reserved.reserved_concurrent_executions(), Some(0));
    p.edit("stacks/bandup.yaml", "      reserved_concurrency: 0\n", "");
    let released = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&released),
        BTreeMap::from([(
            "ai".to_string(),
            change(Action::Update, &["reserved_concurrency"])
        )])
    );
    apply_converges(&released, &p, &registry).await;

    // Removed from the stack: deleted before its role.
    std::fs::write(stack_file(&p), "stack: lt\nresources: {}\n").expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(gone.summary.destroy, 3, "{:#?}", changes(&gone));
    apply_converges(&gone, &p, &registry).await;
    let err = lambda
        .get_function()
        .function_name("lt-default-ai")
        .send()
        .await
        .expect_err("deleted");
    assert!(
        format!("{err:?}").contains("ResourceNotFoundException"),
        "{err:?}"
    );
}

/// The worker fed by a queue.
fn with_mapping(queue: &str, batch: u32) -> String {
    format!(
        r#"{WORKER}  jobs:
    type: aws_sqs_queue
    properties:
      visibility_timeout: 180
  reports:
    type: aws_sqs_queue
    properties:
      visibility_timeout: 180
  feed:
    type: aws_lambda_event_source_mapping
    properties:
      function: ${{ai.arn}}
      event_source_arn: ${{{queue}.arn}}
      batch_size: {batch}
      maximum_concurrency: 5
"#
    )
}

#[tokio::test]
async fn a_queue_feeds_its_worker_updates_in_place_and_is_replaced_for_another_queue() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let p = project(&with_mapping("jobs", 10));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 6, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    let reads = again
        .reads
        .get("aws_lambda_event_source_mapping")
        .map(|r| (r.found, r.api_calls));
    assert_eq!(reads, Some((1, 1)), "one listing; tags from the tag index");
    let uuid = live_id(&again, "feed");
    let m = lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("mapping");
    assert_eq!(m.batch_size(), Some(10));
    assert!(
        m.event_source_arn()
            .is_some_and(|a| a.ends_with(":lt-default-jobs")),
        "{m:?}"
    );
    assert_eq!(
        m.function_response_types()
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>(),
        ["ReportBatchItemFailures"]
    );
    assert_eq!(
        m.scaling_config().and_then(|s| s.maximum_concurrency()),
        Some(5)
    );
    let tags = lambda
        .list_tags()
        .resource(m.event_source_mapping_arn().unwrap_or_default())
        .send()
        .await
        .expect("tags");
    assert_eq!(
        tags.tags()
            .and_then(|t| t.get("bandup:resource"))
            .map(String::as_str),
        Some("feed")
    );

    // The batch size in place (a batching window is then needed: over 10).
    std::fs::write(
        stack_file(&p),
        with_mapping("jobs", 100).replace(
            "      maximum_concurrency: 5\n",
            "      batching_window: 5\n",
        ),
    )
    .expect("write");
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "feed".to_string(),
            change(
                Action::Update,
                &["batch_size", "batching_window", "maximum_concurrency"]
            )
        )])
    );
    apply_converges(&updated, &p, &registry).await;
    let m = lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .expect("mapping");
    assert_eq!(
        (m.batch_size(), m.maximum_batching_window_in_seconds()),
        (Some(100), Some(5))
    );

    // Another queue: a new mapping.
    std::fs::write(stack_file(&p), with_mapping("reports", 10)).expect("write");
    let replaced = plan_of(&p, &registry, Mode::Normal).await;
    let feed = replaced
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "feed")
        .expect("feed");
    assert_eq!(feed.action, Action::Replace, "{:#?}", changes(&replaced));
    assert!(feed.forcing_fields().contains(&"event_source_arn"));
    apply_converges(&replaced, &p, &registry).await;
    let all = lambda
        .list_event_source_mappings()
        .send()
        .await
        .expect("mappings");
    let sources: Vec<&str> = all
        .event_source_mappings()
        .iter()
        .filter_map(|m| m.event_source_arn())
        .collect();
    assert_eq!(sources.len(), 1, "{sources:?}");
    assert!(sources[0].ends_with(":lt-default-reports"), "{sources:?}");

    // Removed: the mapping goes before its function and its queues.
    std::fs::write(stack_file(&p), "stack: lt\nresources: {}\n").expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(gone.summary.destroy, 6, "{:#?}", changes(&gone));
    apply_converges(&gone, &p, &registry).await;
    let all = lambda
        .list_event_source_mappings()
        .send()
        .await
        .expect("mappings");
    assert!(all.event_source_mappings().is_empty());
}

fn with_permission(source: &str) -> String {
    format!(
        r#"{WORKER}  invoke:
    type: aws_lambda_permission
    properties:
      function: ${{ai.name}}
      principal: apigateway.amazonaws.com
      source_arn: {source}
"#
    )
}

const API_A: &str = "arn:aws:execute-api:eu-west-2:123456789012:abc123/*";
const API_B: &str = "arn:aws:execute-api:eu-west-2:123456789012:def456/*/POST/jobs";

/// The function's resource policy document, as text.
async fn policy_of(lambda: &aws_sdk_lambda::Client) -> String {
    let policy = lambda
        .get_policy()
        .function_name("lt-default-ai")
        .send()
        .await
        .expect("policy");
    policy.policy().unwrap_or("{}").to_string()
}

async fn statement_ids(lambda: &aws_sdk_lambda::Client) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(&policy_of(lambda).await).expect("json");
    let mut sids: Vec<String> = doc["Statement"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|s| s["Sid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    sids.sort();
    sids
}

#[tokio::test]
async fn a_permission_is_replaced_when_its_source_changes_and_others_are_left_alone() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let p = project(&with_permission(API_A));

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 4, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    let reads = again
        .reads
        .get("aws_lambda_permission")
        .map(|r| (r.found, r.api_calls));
    assert_eq!(reads, Some((1, 1)), "GetPolicy of the one function");
    assert_eq!(statement_ids(&lambda).await, ["lt-default-invoke"]);

    // Someone else's statement on the same function.
    lambda
        .add_permission()
        .function_name("lt-default-ai")
        .statement_id("manual-events")
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .send()
        .await
        .expect("add");
    let unchanged = plan_of(&p, &registry, Mode::Normal).await;
    assert!(
        !unchanged.summary.has_changes(),
        "{:#?}",
        changes(&unchanged)
    );

    // Another source: removed and added again.
    std::fs::write(stack_file(&p), with_permission(API_B)).expect("write");
    let replaced = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&replaced),
        BTreeMap::from([(
            "invoke".to_string(),
            change(Action::Replace, &["source_arn"])
        )])
    );
    let text = bandup_infra::ui::plan::render(&replaced);
    assert!(
        text.contains("Lambda cannot change a policy statement"),
        "{text}"
    );
    apply_converges(&replaced, &p, &registry).await;
    assert_eq!(
        statement_ids(&lambda).await,
        ["lt-default-invoke", "manual-events"]
    );
    let policy = policy_of(&lambda).await;
    assert!(policy.contains("def456"), "{policy}");

    // Removed from the stack: only ours goes.
    std::fs::write(stack_file(&p), project_worker_only()).expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&gone),
        BTreeMap::from([("invoke".to_string(), change(Action::Delete, &[]))])
    );
    apply_converges(&gone, &p, &registry).await;
    assert_eq!(statement_ids(&lambda).await, ["manual-events"]);
}

#[tokio::test]
async fn two_statements_with_one_id_are_both_removed_and_the_permission_added_once() {
    // Two runs at once each add the statement. AWS refuses the second AddPermission
    // (ResourceConflictException); moto appends it, and removes only the first statement
    // of that id on RemovePermission. Deleting just the stale copy by its id could then
    // take the right one: seen as a permission left pointing at a deleted API.
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let p = project(&with_permission(API_A));
    apply_converges(&plan_of(&p, &registry, Mode::Normal).await, &p, &registry).await;
    lambda
        .add_permission()
        .function_name("lt-default-ai")
        .statement_id("lt-default-invoke")
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .source_arn(API_B)
        .send()
        .await
        .expect("add");

    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let actions: Vec<Action> = planned
        .resources
        .iter()
        .filter(|r| r.addr.as_str() == "invoke")
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions,
        [Action::Create, Action::Delete, Action::Delete],
        "{:#?}",
        changes(&planned)
    );
    apply_converges(&planned, &p, &registry).await;
    assert_eq!(statement_ids(&lambda).await, ["lt-default-invoke"]);
    let policy = policy_of(&lambda).await;
    assert!(policy.contains("abc123"), "{policy}");
}

fn project_worker_only() -> &'static str {
    WORKER
}

#[tokio::test]
async fn lost_create_answers_converge_in_one_apply() {
    // CreateFunction, CreateEventSourceMapping and AddPermission, each answer lost once:
    // the engine finds what was made (by tags; the permission by its statement id) and
    // adopts it instead of making it twice.
    let ops = [
        "POST /2015-03-31/functions",
        "POST /2015-03-31/event-source-mappings",
        "POST /2015-03-31/functions/lt-default-ai/policy",
    ];
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 17);
    for op in ops {
        proxy.rule(Rule::on(op).fault(Fault::LoseAnswer).times(1));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let stack = with_mapping("jobs", 10) + &with_permission(API_A)[WORKER.len()..];
    let p = project(&stack);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(planned.summary.add, 7, "{:#?}", changes(&planned));
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 3, "{:?}", proxy.faults());
    for op in ops {
        assert_eq!(proxy.seen(op), 1, "{op}: adopted, not repeated");
    }
    let clean = bandup_infra::aws::registry(&moto.sdk().await);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
}

/// Upload the worker directory of `p`, packaged, as `key` in `bucket`; its digest.
async fn upload(s3: &aws_sdk_s3::Client, p: &Project, key: &str) -> String {
    let zip = bandup_infra::config::package::package(&p.root().join("worker")).expect("zip");
    s3.put_object()
        .bucket("lt-code")
        .key(key)
        .body(zip.bytes.to_vec().into())
        .send()
        .await
        .expect("upload");
    zip.sha256
}

#[tokio::test]
async fn code_from_s3_is_deployed_again_when_its_declared_digest_changes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    s3.create_bucket()
        .bucket("lt-code")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("bucket");
    let p = project(WORKER);
    let v1 = upload(&s3, &p, "ai/v1.zip").await;
    let stack = WORKER.replace(
        "      code: worker\n",
        &format!("      s3_bucket: lt-code\n      s3_key: ai/v1.zip\n      code_sha256: {v1}\n"),
    );
    std::fs::write(stack_file(&p), &stack).expect("write");
    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 3, "{:#?}", changes(&first));
    apply_converges(&first, &p, &registry).await;
    let f = function(&lambda, "lt-default-ai").await;
    assert_eq!(
        f.configuration().and_then(|c| c.code_sha256()),
        Some(v1.as_str())
    );

    // A new object and its digest: UpdateFunctionCode from S3.
    std::fs::write(
        p.root().join("worker/worker.py"),
        format!("{HANDLER}# v2\n"),
    )
    .expect("new code");
    let v2 = upload(&s3, &p, "ai/v2.zip").await;
    std::fs::write(
        stack_file(&p),
        stack.replace("ai/v1.zip", "ai/v2.zip").replace(&v1, &v2),
    )
    .expect("write");
    let code = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&code),
        BTreeMap::from([("ai".to_string(), change(Action::Update, &["code_sha256"]))])
    );
    apply_converges(&code, &p, &registry).await;
    let f = function(&lambda, "lt-default-ai").await;
    assert_eq!(
        f.configuration().and_then(|c| c.code_sha256()),
        Some(v2.as_str())
    );
}

#[test]
fn function_and_mapping_settings_are_checked_against_what_lambda_accepts() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let registry = bandup_infra::aws::offline_registry();
    let (_, diags) = load(
        &LoadOptions {
            root: fixtures.clone(),
            env: None,
            stack: Some(fixtures.join("invalid/lambda_settings.yaml")),
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
            .filter(|(pos, _, _)| pos.starts_with(&format!("invalid/lambda_settings.yaml:{line}:")))
            .map(|(_, _, m)| m.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(all.len(), 7, "{all:#?}");
    assert!(
        at("10")[0].contains("sets both code and s3_bucket, s3_key"),
        "{all:#?}"
    );
    assert!(
        at("18")[0].contains("without both s3_bucket and s3_key"),
        "{all:#?}"
    );
    assert!(
        at("19")[0].contains("memory 64: Lambda accepts 128 to 10240"),
        "{all:#?}"
    );
    assert!(
        at("20")[0].contains("timeout 901: Lambda accepts 1 to 900"),
        "{all:#?}"
    );
    assert!(
        at("21")[0].contains("Lambda names are at most 64"),
        "{all:#?}"
    );
    assert!(
        at("34")[0].contains("batch_size 100 with no batching_window"),
        "{all:#?}"
    );
    assert!(
        at("35")[0].contains("maximum_concurrency 1: Lambda accepts 2 to 1000"),
        "{all:#?}"
    );
}
