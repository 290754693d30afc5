//! The tag index (the Resource Groups Tagging API) against the emulator: its answers
//! stand in for per-resource tag reads only where they show exactly what the stack
//! wants, so an index that lags or cannot be read changes the calls a plan makes, never
//! what it plans.

use crate::support::lifecycle::{apply_converges, changes, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::plan::{Action, Mode};
use serde_json::json;

const STACK: &str = r#"stack: tagtest
resources:
  a:
    type: aws_cloudwatch_log_group
    properties:
      retention_in_days: 7
  b:
    type: aws_cloudwatch_log_group
    properties:
      retention_in_days: 7
  c:
    type: aws_cloudwatch_log_group
    properties:
      retention_in_days: 7
"#;

/// What the index says about this stack now, as GetResources answers it.
async fn index_now(sdk: &aws_config::SdkConfig) -> &'static str {
    let filter = |k: &str, v: &str| {
        aws_sdk_resourcegroupstagging::types::TagFilter::builder()
            .key(k)
            .values(v)
            .build()
    };
    let out = aws_sdk_resourcegroupstagging::Client::new(sdk)
        .get_resources()
        .tag_filters(filter("bandup:stack", "tagtest"))
        .send()
        .await
        .expect("GetResources");
    let list: Vec<_> = out
        .resource_tag_mapping_list()
        .iter()
        .map(|m| {
            let tags: Vec<_> = m
                .tags()
                .iter()
                .map(|t| json!({"Key": t.key(), "Value": t.value()}))
                .collect();
            json!({"ResourceARN": m.resource_arn(), "Tags": tags})
        })
        .collect();
    assert_eq!(list.len(), 3, "{list:#?}");
    Box::leak(
        json!({ "ResourceTagMappingList": list })
            .to_string()
            .into_boxed_str(),
    )
}

#[tokio::test]
async fn an_index_that_cannot_be_read_leaves_each_type_to_read_its_own_tags() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 23);
    proxy.rule(
        Rule::on("GetResources")
            .fault(Fault::ServerError)
            .times(1000),
    );
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(STACK);

    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 3);
    let again = apply_converges(&first, &p, &registry).await;
    // Two listings (the stack's prefix and Lambda's), then each group's own tags.
    assert_eq!(again.reads["aws_cloudwatch_log_group"].api_calls, 2 + 3);
    assert!(proxy.seen("GetResources") > 0);
}

#[tokio::test]
async fn a_lagging_index_neither_deletes_what_is_not_ours_nor_keeps_a_plan_from_converging() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let p = Project::with_stack(STACK);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    let again = apply_converges(&first, &p, &registry).await;
    // Up to date, the index answers for every group's tags.
    assert_eq!(again.reads["aws_cloudwatch_log_group"].api_calls, 2);
    let stale = index_now(&sdk).await;

    // Since the index was read: `a` deleted by hand, `c` handed to another environment
    // and no longer declared, and a new tag for everything the stack declares.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let arn = |name: &str| format!("arn:aws:logs:eu-west-2:123456789012:log-group:{name}");
    logs.delete_log_group()
        .log_group_name("/tagtest/default/a")
        .send()
        .await
        .expect("delete a");
    logs.tag_resource()
        .resource_arn(arn("/tagtest/default/c"))
        .tags("bandup:env", "other")
        .send()
        .await
        .expect("retag c");
    p.edit(
        "stacks/bandup.yaml",
        "  c:\n    type: aws_cloudwatch_log_group\n    properties:\n      retention_in_days: 7\n",
        "",
    );
    p.edit(
        "stacks/bandup.yaml",
        "stack: tagtest\n",
        "stack: tagtest\ntags:\n  team: platform\n",
    );

    // The index still answers as it did before all that.
    let proxy = Proxy::start(&moto.endpoint, 29);
    proxy.rule(
        Rule::on("GetResources")
            .fault(Fault::Answer(stale))
            .times(1000),
    );
    let lagging = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let planned = plan_of(&p, &lagging, Mode::Normal).await;
    let want: Vec<(&str, Action)> = vec![("a", Action::Create), ("b", Action::Update)];
    let got: Vec<(String, Action)> = changes(&planned)
        .into_iter()
        .map(|(addr, (action, _))| (addr, action))
        .collect();
    assert_eq!(
        got,
        want.iter()
            .map(|(a, x)| (a.to_string(), *x))
            .collect::<Vec<_>>(),
        "`c` is another environment's now, whatever the index says"
    );
    // What the apply changed, the index has not seen either: the next plan reads it.
    apply_converges(&planned, &p, &lagging).await;
    assert!(proxy.seen("GetResources") >= 2);
    let c = logs
        .describe_log_groups()
        .log_group_name_prefix("/tagtest/default/c")
        .send()
        .await
        .expect("describe c");
    assert_eq!(c.log_groups().len(), 1, "`c` is still there");
}
