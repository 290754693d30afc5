//! `drift` as an auditor runs it: the real binary against the emulator, after changes
//! made out of band with the SDK; every format, and only reads.

use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{is_mutating, Proxy};
use crate::support::Project;
use crate::support::{bandup, code, err, json_schema, out, project_root};
use std::process::Output;

fn run(p: &Project, endpoint: &str, args: &[&str]) -> Output {
    bandup(p.root(), endpoint, args)
        .output()
        .expect("run bandup-infra")
}

fn valid(schema: &jsonschema::Validator, doc: &serde_json::Value) {
    let problems: Vec<String> = schema
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{doc:#}");
}

/// Ids, names with the account and times change from run to run.
macro_rules! redacted {
    ($name:expr, $value:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
            (r"with \d+ AWS API calls", "with [n] AWS API calls"),
            (r"(sg|vpc|subnet)-[0-9a-f]{8,}", "$1-[id]"),
            (r"\[id=[^\]]+\]", "[id=…]"),
        ]}, {
            insta::assert_snapshot!($name, $value);
        });
    };
}

#[tokio::test]
async fn out_of_band_changes_appear_as_the_right_kind_in_every_format() {
    let moto = Moto::start();
    let p = Project::copy();
    let ep = moto.endpoint.as_str();
    let applied = run(&p, ep, &["apply", "--env", "dev", "--auto-approve"]);
    assert_eq!(code(&applied), 0, "{}", err(&applied));
    let clean = run(&p, ep, &["drift", "--env", "dev"]);
    assert_eq!(code(&clean), 0, "{}\n{}", out(&clean), err(&clean));
    assert!(
        out(&clean).starts_with("No drift: the dev environment of stack bandup"),
        "{}",
        out(&clean)
    );

    let sdk = sdk_at(ep).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // A rule added by hand to the backend's security group.
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:bandup:resource")
                .values("app_sg")
                .build(),
        )
        .send()
        .await
        .expect("describe");
    let app_sg = groups.security_groups()[0]
        .group_id()
        .unwrap_or_default()
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&app_sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("add a rule");
    // A queue deleted.
    let url = sqs
        .get_queue_url()
        .queue_name("bandup-dev-ai_dlq-flashcards")
        .send()
        .await
        .expect("queue url")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    sqs.delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("delete the queue");
    // A bucket's encryption changed.
    let uploads = "bandup-dev-user-uploads-123456789012-eu-west-2";
    s3.put_bucket_encryption()
        .bucket(uploads)
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                                .build()
                                .expect("sse"),
                        )
                        .build(),
                )
                .build()
                .expect("config"),
        )
        .send()
        .await
        .expect("change the encryption");
    // A bucket carrying the stack's tags that the stack does not declare.
    let stray = "bandup-dev-stray-123456789012-eu-west-2";
    s3.create_bucket()
        .bucket(stray)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                .build(),
        )
        .send()
        .await
        .expect("create a stray bucket");
    let tag = |k: &str, v: &str| {
        aws_sdk_s3::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
            .expect("tag")
    };
    s3.put_bucket_tagging()
        .bucket(stray)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(tag("bandup:stack", "bandup"))
                .tag_set(tag("bandup:env", "dev"))
                .tag_set(tag("bandup:resource", "stray"))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("tag it");

    // A security group made by hand inside the stack's VPC, tagged by nobody.
    let vpc = groups.security_groups()[0]
        .vpc_id()
        .unwrap_or_default()
        .to_string();
    ec2.create_security_group()
        .group_name("debug-ssh")
        .description("made by hand")
        .vpc_id(&vpc)
        .send()
        .await
        .expect("an untagged group");

    let text = run(&p, ep, &["drift", "--env", "dev"]);
    assert_eq!(code(&text), 2, "{}", err(&text));
    redacted!("drift_text", out(&text));

    let json = run(&p, ep, &["drift", "--env", "dev", "--format", "json"]);
    assert_eq!(code(&json), 2);
    let report: serde_json::Value = serde_json::from_str(&out(&json)).expect("JSON");
    valid(&json_schema("docs/drift.schema.json"), &report);
    let kind_of = |addr: &str| {
        report["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["addr"] == addr))
            .map(|i| i["kind"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(kind_of("app_sg").as_deref(), Some("changed"));
    assert_eq!(kind_of("ai_dlq[flashcards]").as_deref(), Some("missing"));
    assert_eq!(kind_of("user_uploads").as_deref(), Some("changed"));
    assert_eq!(kind_of("stray").as_deref(), Some("unmanaged"));
    let untagged: Vec<&serde_json::Value> = report["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["type"] == "aws_security_group" && i["kind"] == "unmanaged")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(untagged.len(), 1, "{report:#}");
    assert!(untagged[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("\"debug-ssh\""));
    assert_eq!(report["summary"]["changed"], 2, "{report:#}");
    assert_eq!(report["summary"]["missing"], 1);
    assert_eq!(report["summary"]["unmanaged"], 2);
    assert_eq!(report["summary"]["seen"], 89 - 1 + 2);

    let md = run(&p, ep, &["drift", "--env", "dev", "--format", "markdown"]);
    assert_eq!(code(&md), 2);
    redacted!("drift_markdown", out(&md));

    let sarif = run(
        &p,
        ep,
        &[
            "drift",
            "--env",
            "dev",
            "--format",
            "sarif",
            "--out",
            "drift.sarif",
        ],
    );
    assert_eq!(code(&sarif), 2, "{}", err(&sarif));
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.root().join("drift.sarif")).expect("drift.sarif"),
    )
    .expect("JSON");
    valid(&json_schema("tests/fixtures/sarif-schema-2.1.0.json"), &doc);
    let results = doc["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(results.len(), 5, "one result per drifted resource");
    let app = results
        .iter()
        .find(|r| r["properties"]["address"] == "app_sg")
        .expect("app_sg");
    assert_eq!(app["ruleId"], "drift/changed");
    assert_eq!(
        app["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "stacks/bandup.yaml"
    );
}

/// The proxy's rule for writes, except two reads AWS sends as POST: Smithy RPC
/// operations named in the path (CodeConnections' `ListConnections`) and Route 53's
/// batch `ListTagsForResources` (`POST /2013-04-01/tags/hostedzone`).
fn is_write(op: &str) -> bool {
    if let Some(path) = op.strip_prefix("POST ") {
        if let Some((_, name)) = path.split_once("/operation/") {
            return !["List", "Get", "Describe"]
                .iter()
                .any(|v| name.starts_with(v));
        }
        if path.starts_with("/2013-04-01/tags/") && path.matches('/').count() == 3 {
            return false;
        }
    }
    is_mutating(op)
}

#[test]
fn a_drift_run_only_reads() {
    let moto = Moto::start();
    let p = Project::copy();
    let applied = run(
        &p,
        &moto.endpoint,
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(code(&applied), 0, "{}", err(&applied));
    let proxy = Proxy::start(&moto.endpoint, 71);
    let o = run(&p, &proxy.endpoint, &["drift", "--env", "dev"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let ops = proxy.ops();
    assert!(ops.len() > 100, "{}", ops.len());
    let writes: Vec<&String> = ops.iter().filter(|op| is_write(op)).collect();
    assert!(writes.is_empty(), "drift wrote: {writes:?}");
    // The auditor's policy grants reads only.
    let policy: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project_root().join("examples/auditor-policy.json"))
            .expect("policy"),
    )
    .expect("JSON");
    for st in policy["Statement"].as_array().cloned().unwrap_or_default() {
        for action in st["Action"].as_array().cloned().unwrap_or_default() {
            let a = action.as_str().unwrap_or_default();
            let verb = a.split(':').nth(1).unwrap_or_default();
            assert!(
                ["Describe", "Get", "List", "Head", "GET"]
                    .iter()
                    .any(|v| verb.starts_with(v)),
                "{a} is not a read"
            );
        }
    }
}
