//! The AI API's front door against the emulator: a REST API whose routes (resources,
//! methods, Lambda proxy integrations) it owns, through create, an empty re-plan, routes
//! added, removed and moved, an authorization and a policy changed in place, and
//! deletion; a stage with throttling and access logs that redeploys when the API's
//! revision changes (keeping the previous deployment, deleting older ones), changes
//! throttling in place and is replaced when renamed.
//!
//! The functions are literal invoke ARNs (the Lambda type lives on another branch; moto's
//! PutIntegration accepts any URI). What moto cannot show (docs/emulator-gaps.md): it
//! never throttles DeleteRestApi (AWS: one every 30 s per account; the delete waits its
//! turn); it returns a resource policy unescaped and as written (AWS escapes its quotes
//! and expands `execute-api:/...` to the API's ARN: the provider does both before
//! comparing); it embeds methods in GetResources whether asked or not; it keeps method
//! settings removed with `remove /*/*`. `scripts/moto_server.py` corrects, as AWS does:
//! DeleteResource takes the resources under the one deleted; DeleteRestApi of an
//! unknown id answers NotFoundException; TagResource, UntagResource and GetTags take a
//! REST API's ARN; UpdateStage refuses access logs until the account's CloudWatch Logs
//! role is set.

use crate::support::lifecycle::{apply_converges, change, changes, failures, live_id, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::model::Quiet;
use bandup_infra::plan::{Action, Mode};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn invoke_arn(function: &str) -> String {
    format!("arn:aws:apigateway:eu-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-2:123456789012:function:{function}/invocations")
}

/// Writing feedback and speaking scores behind IAM auth; only the backend's role may
/// invoke (a statement without Resource applies to the whole API).
fn api_stack() -> String {
    format!(
        r#"stack: apitest
resources:
  ai_api:
    type: aws_api_gateway_rest_api
    properties:
      description: AI services
      policy:
        Version: "2012-10-17"
        Statement:
          - Sid: backend
            Effect: Allow
            Principal:
              AWS: arn:aws:iam::123456789012:role/backend
            Action: execute-api:Invoke
      routes:
        - path: /writing-feedback
          method: POST
          function_invoke_arn: {writing}
        - path: /speaking/score
          method: POST
          function_invoke_arn: {speaking}
"#,
        writing = invoke_arn("writing"),
        speaking = invoke_arn("speaking"),
    )
}

/// The API's routes as the SDK sees them: path → method → (authorization, integration
/// type, URI).
async fn routes(
    apigw: &aws_sdk_apigateway::Client,
    api: &str,
) -> BTreeMap<String, BTreeMap<String, (String, String, String)>> {
    let out = apigw
        .get_resources()
        .rest_api_id(api)
        .embed("methods")
        .send()
        .await
        .expect("resources");
    out.items()
        .iter()
        .map(|r| {
            let methods = r
                .resource_methods()
                .map(|ms| {
                    ms.iter()
                        .map(|(verb, m)| {
                            let i = m.method_integration();
                            (
                                verb.clone(),
                                (
                                    m.authorization_type().unwrap_or_default().to_string(),
                                    i.and_then(|i| i.r#type())
                                        .map(|t| t.as_str().to_string())
                                        .unwrap_or_default(),
                                    i.and_then(|i| i.uri()).unwrap_or_default().to_string(),
                                ),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (r.path().unwrap_or_default().to_string(), methods)
        })
        .collect()
}

#[tokio::test]
async fn a_rest_api_with_routes_creates_changes_its_routes_and_policy_and_deletes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let p = Project::with_stack(&api_stack());

    // Create from empty: the API, then its paths (`/speaking` made on the way), methods
    // and integrations.
    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 1, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    // A no-change read: GetRestApis, then GetResources (embed=methods) per owned API
    // (the account for the execution ARN was asked once, while creating).
    let reads = again
        .reads
        .get("aws_api_gateway_rest_api")
        .map(|r| (r.found, r.api_calls));
    assert_eq!(reads, Some((1, 2)));
    let api = live_id(&again, "ai_api");
    let found = routes(&apigw, &api).await;
    assert_eq!(
        found.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "/".to_string(),
            "/writing-feedback".into(),
            "/speaking".into(),
            "/speaking/score".into()
        ])
    );
    assert_eq!(
        found["/writing-feedback"]["POST"],
        (
            "AWS_IAM".to_string(),
            "AWS_PROXY".to_string(),
            invoke_arn("writing")
        )
    );
    let described = apigw
        .get_rest_api()
        .rest_api_id(&api)
        .send()
        .await
        .expect("api");
    assert_eq!(described.name(), Some("apitest-default-ai_api"));
    assert_eq!(
        described
            .tags()
            .and_then(|t| t.get("bandup:resource"))
            .map(String::as_str),
        Some("ai_api"),
        "tagged in the create call"
    );
    let policy = described.policy().unwrap_or_default().to_string();
    assert!(
        policy.contains(&format!(
            "arn:aws:execute-api:eu-west-2:123456789012:{api}/*"
        )),
        "the statement without Resource covers the API: {policy}"
    );

    // A tag for the whole stack: TagResource on the API's ARN.
    p.edit(
        "stacks/bandup.yaml",
        "stack: apitest\n",
        "stack: apitest\ntags:\n  team: ai\n",
    );
    let tagged = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&tagged),
        BTreeMap::from([("ai_api".to_string(), change(Action::Update, &["tags"]))])
    );
    apply_converges(&tagged, &p, &registry).await;
    let described = apigw
        .get_rest_api()
        .rest_api_id(&api)
        .send()
        .await
        .expect("api");
    assert_eq!(
        described
            .tags()
            .and_then(|t| t.get("team"))
            .map(String::as_str),
        Some("ai")
    );

    // Routes: one added under a parameter, one removed (its path goes with it), one
    // moved to another method.
    p.edit("stacks/bandup.yaml", "method: POST", "method: PUT");
    let text = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("stack");
    let cut = text
        .split("        - path: /speaking/score")
        .next()
        .unwrap_or_default()
        .to_string();
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        format!(
            "{cut}        - path: /jobs/{{id}}\n          method: GET\n          function_invoke_arn: {}\n",
            invoke_arn("jobs")
        ),
    )
    .expect("write");
    let moved = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&moved),
        BTreeMap::from([("ai_api".to_string(), change(Action::Update, &["routes"]))])
    );
    apply_converges(&moved, &p, &registry).await;
    let found = routes(&apigw, &api).await;
    assert_eq!(
        found.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "/".to_string(),
            "/writing-feedback".into(),
            "/jobs".into(),
            "/jobs/{id}".into()
        ])
    );
    assert_eq!(
        found["/writing-feedback"].keys().collect::<Vec<_>>(),
        vec!["PUT"]
    );
    assert_eq!(found["/jobs/{id}"]["GET"].2, invoke_arn("jobs"));

    // An authorization and the policy, in place.
    p.edit(
        "stacks/bandup.yaml",
        "          method: GET\n",
        "          method: GET\n          authorization: NONE\n",
    );
    p.edit("stacks/bandup.yaml", "role/backend", "role/backend-v2");
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([(
            "ai_api".to_string(),
            change(Action::Update, &["policy", "routes"])
        )])
    );
    apply_converges(&updated, &p, &registry).await;
    let found = routes(&apigw, &api).await;
    assert_eq!(found["/jobs/{id}"]["GET"].0, "NONE");
    assert_eq!(found["/jobs/{id}"]["GET"].1, "AWS_PROXY");
    let described = apigw
        .get_rest_api()
        .rest_api_id(&api)
        .send()
        .await
        .expect("api");
    assert!(described
        .policy()
        .is_some_and(|p| p.contains("role/backend-v2")));

    // Removed from the stack: deleted, with everything in it.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: apitest\nresources: {}\n",
    )
    .expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&gone),
        BTreeMap::from([("ai_api".to_string(), change(Action::Delete, &[]))])
    );
    apply_converges(&gone, &p, &registry).await;
    let left = apigw.get_rest_apis().send().await.expect("apis");
    assert!(left.items().is_empty(), "{left:?}");
}

/// The API with a stage: throttled, access logs to a log group of the same stack, the
/// API's revision deployed.
fn stage_stack() -> String {
    format!(
        r#"stack: apitest
resources:
  api_logs:
    type: aws_cloudwatch_log_group
    properties:
      retention_in_days: 30
  ai_api:
    type: aws_api_gateway_rest_api
    properties:
      routes:
        - path: /writing-feedback
          method: POST
          function_invoke_arn: {writing}
  ai_stage:
    type: aws_api_gateway_stage
    properties:
      rest_api: ${{ai_api.id}}
      stage_name: v1
      revision: ${{ai_api.revision}}
      throttle_rate_limit: 50
      throttle_burst_limit: 100
      access_log_group_arn: ${{api_logs.arn}}
"#,
        writing = invoke_arn("writing"),
    )
}

async fn stage(
    apigw: &aws_sdk_apigateway::Client,
    api: &str,
    name: &str,
) -> aws_sdk_apigateway::operation::get_stage::GetStageOutput {
    apigw
        .get_stage()
        .rest_api_id(api)
        .stage_name(name)
        .send()
        .await
        .expect("stage")
}

async fn deployments(apigw: &aws_sdk_apigateway::Client, api: &str) -> BTreeSet<String> {
    apigw
        .get_deployments()
        .rest_api_id(api)
        .send()
        .await
        .expect("deployments")
        .items()
        .iter()
        .filter_map(|d| d.id().map(str::to_string))
        .collect()
}

/// The account's CloudWatch Logs role for API Gateway, which the bootstrap sets (an
/// account-wide setting per region, not a stack resource).
async fn set_account_logs_role(apigw: &aws_sdk_apigateway::Client) {
    apigw
        .update_account()
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/cloudwatchRoleArn")
                .value("arn:aws:iam::123456789012:role/apigateway-cloudwatch")
                .build(),
        )
        .send()
        .await
        .expect("update account");
}

#[tokio::test]
async fn a_stage_redeploys_on_a_new_api_revision_changes_throttling_and_is_replaced_when_renamed() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let p = Project::with_stack(&stage_stack());
    set_account_logs_role(&apigw).await;

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 3, "{:#?}", changes(&first));
    let again = apply_converges(&first, &p, &registry).await;
    // A no-change read: GetRestApis, then GetStages and GetDeployments per owned API.
    let reads = again
        .reads
        .get("aws_api_gateway_stage")
        .map(|r| (r.found, r.api_calls));
    assert_eq!(reads, Some((1, 3)));
    let api = live_id(&again, "ai_api");
    let s = stage(&apigw, &api, "v1").await;
    let all = s.method_settings().and_then(|m| m.get("*/*")).expect("*/*");
    assert_eq!(all.throttling_rate_limit(), 50.0);
    assert_eq!(all.throttling_burst_limit(), 100);
    let group = logs
        .describe_log_groups()
        .log_group_name_prefix("/apitest/default/api_logs")
        .send()
        .await
        .expect("log groups");
    let group_arn = group
        .log_groups()
        .first()
        .and_then(|g| g.arn())
        .unwrap_or_default()
        .to_string();
    let destination = s
        .access_log_settings()
        .and_then(|a| a.destination_arn())
        .unwrap_or_default()
        .to_string();
    assert!(
        !destination.is_empty() && group_arn.starts_with(&destination),
        "{destination} for {group_arn}"
    );
    assert!(s
        .access_log_settings()
        .and_then(|a| a.format())
        .is_some_and(|f| f.contains("$context.requestId")));
    assert_eq!(
        s.tags()
            .and_then(|t| t.get("bandup:resource"))
            .map(String::as_str),
        Some("ai_stage"),
        "tagged in CreateStage"
    );
    let first_deployment = s.deployment_id().unwrap_or_default().to_string();

    // A route added: the API changes, its revision with it, and the stage serves a new
    // deployment; the previous one is kept to roll back to.
    let route = |n: &str| {
        format!(
            "        - path: /{n}\n          method: POST\n          function_invoke_arn: {}\n  ai_stage:",
            invoke_arn(n)
        )
    };
    p.edit("stacks/bandup.yaml", "  ai_stage:", &route("speaking"));
    let redeploy = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&redeploy),
        BTreeMap::from([
            ("ai_api".to_string(), change(Action::Update, &["routes"])),
            (
                "ai_stage".to_string(),
                change(Action::Update, &["revision"])
            ),
        ])
    );
    apply_converges(&redeploy, &p, &registry).await;
    let second_deployment = stage(&apigw, &api, "v1")
        .await
        .deployment_id()
        .unwrap_or_default()
        .to_string();
    assert_ne!(second_deployment, first_deployment);
    assert_eq!(
        deployments(&apigw, &api).await,
        BTreeSet::from([first_deployment.clone(), second_deployment.clone()])
    );
    // Another: the oldest deployment, served by no stage and not the previous, goes.
    p.edit("stacks/bandup.yaml", "  ai_stage:", &route("grammar"));
    let third = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&third, &p, &registry).await;
    let third_deployment = stage(&apigw, &api, "v1")
        .await
        .deployment_id()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        deployments(&apigw, &api).await,
        BTreeSet::from([second_deployment, third_deployment])
    );

    // Throttling, in place.
    p.edit(
        "stacks/bandup.yaml",
        "throttle_rate_limit: 50",
        "throttle_rate_limit: 20",
    );
    let throttled = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&throttled),
        BTreeMap::from([(
            "ai_stage".to_string(),
            change(Action::Update, &["throttle_rate_limit"])
        )])
    );
    apply_converges(&throttled, &p, &registry).await;
    let s = stage(&apigw, &api, "v1").await;
    assert_eq!(
        s.method_settings()
            .and_then(|m| m.get("*/*"))
            .map(|m| m.throttling_rate_limit()),
        Some(20.0)
    );

    // A new stage name replaces the stage.
    p.edit("stacks/bandup.yaml", "stage_name: v1", "stage_name: v2");
    let renamed = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&renamed),
        BTreeMap::from([(
            "ai_stage".to_string(),
            change(Action::Replace, &["stage_name"])
        )])
    );
    apply_converges(&renamed, &p, &registry).await;
    let names: Vec<String> = apigw
        .get_stages()
        .rest_api_id(&api)
        .send()
        .await
        .expect("stages")
        .item()
        .iter()
        .filter_map(|s| s.stage_name().map(str::to_string))
        .collect();
    assert_eq!(names, vec!["v2".to_string()]);

    // Everything removed: the stage, then the API, then the log group.
    std::fs::write(
        p.root().join("stacks/bandup.yaml"),
        "stack: apitest\nresources: {}\n",
    )
    .expect("write");
    let gone = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(gone.summary.destroy, 3, "{:#?}", changes(&gone));
    apply_converges(&gone, &p, &registry).await;
    assert!(apigw
        .get_rest_apis()
        .send()
        .await
        .expect("apis")
        .items()
        .is_empty());
}

#[tokio::test]
async fn a_lost_create_rest_api_answer_is_adopted_and_its_routes_made_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 13);
    proxy.rule(Rule::on("POST /restapis").fault(Fault::LoseAnswer));
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(&stage_stack());
    set_account_logs_role(&aws_sdk_apigateway::Client::new(&moto.sdk().await)).await;
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(planned.summary.add, 3);
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 1, "{:?}", proxy.faults());
    assert_eq!(proxy.seen("POST /restapis"), 1, "adopted, not repeated");
    let clean = bandup_infra::aws::registry(&moto.sdk().await);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    // The adopted API got its routes, and the stage serves them.
    let apigw = aws_sdk_apigateway::Client::new(&moto.sdk().await);
    let api = live_id(&after, "ai_api");
    assert_eq!(
        routes(&apigw, &api).await["/writing-feedback"]["POST"].1,
        "AWS_PROXY"
    );
    assert!(stage(&apigw, &api, "v1").await.deployment_id().is_some());
}

#[tokio::test]
async fn access_logs_without_the_accounts_cloudwatch_role_fail_naming_the_fix() {
    let moto = Moto::start_bare();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let p = Project::with_stack(&stage_stack());
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].contains("UpdateStage failed: BadRequestException")
            && failed[0].contains("update-account")
            && failed[0].contains("AmazonAPIGatewayPushToCloudWatchLogs"),
        "{failed:#?}"
    );
    // Once the bootstrap has set it, the stage made without its settings converges.
    set_account_logs_role(&apigw).await;
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(again.summary.change, 1, "{:#?}", changes(&again));
    apply_converges(&again, &p, &registry).await;
}

#[test]
fn bad_routes_and_stage_settings_are_refused_before_any_call() {
    let p = Project::with_stack(&format!(
        r#"stack: apitest
resources:
  ai_api:
    type: aws_api_gateway_rest_api
    properties:
      routes:
        - path: writing-feedback/
          method: POST
          function_invoke_arn: {a}
        - path: /speaking
          method: POST
          function_invoke_arn: {a}
        - path: /speaking
          method: POST
          function_invoke_arn: {a}
  ai_stage:
    type: aws_api_gateway_stage
    properties:
      rest_api: ${{ai_api.id}}
      stage_name: v1.0
      throttle_rate_limit: -1
      access_log_format: $context.status
"#,
        a = invoke_arn("writing")
    ));
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
    assert_eq!(messages.len(), 5, "{messages:#?}");
    for expected in [
        "route path `writing-feedback/`",
        "declares POST /speaking twice",
        "is named `v1.0`",
        "without $context.requestId",
        "throttle_rate_limit -1",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "{expected}: {messages:#?}"
        );
    }
}
