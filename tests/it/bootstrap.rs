//! `bootstrap` as a user runs it: the real binary against the emulator (through the
//! counting proxy) on a copy of the project: the new environment's file, its state
//! bucket and CI role, a second run that changes nothing, and the refusals that come
//! before anything is written.

use crate::support::moto::{sdk_at, Moto, STATE_BUCKETS};
use crate::support::proxy::Proxy;
use crate::support::{bandup, code, err, out, Project};
use aws_config::Region;
use ipnet::Ipv4Net;
use std::process::Output;

const BUCKET: &str = "bandup-state-staging-123456789012";
const ROLE: &str = "bandup-ci-staging";
const POLICIES: [&str; 2] = [
    "arn:aws:iam::123456789012:policy/bandup-bootstrap/bandup-ci-staging",
    "arn:aws:iam::123456789012:policy/bandup-bootstrap/bandup-ci-staging-2",
];

fn run(p: &Project, endpoint: &str, args: &[&str]) -> Output {
    bandup(p.root(), endpoint, args)
        .output()
        .expect("run bandup-infra")
}

fn staging(p: &Project, endpoint: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "bootstrap",
        "--env",
        "staging",
        "--region",
        "eu-west-1",
        "--from",
        "dev",
    ];
    args.extend_from_slice(extra);
    run(p, endpoint, &args)
}

/// An operation that only reads.
fn reads(op: &str) -> bool {
    ["Get", "Head", "List", "Describe", "GET ", "HEAD "]
        .iter()
        .any(|v| op.starts_with(v))
}

/// The buckets the emulator holds, but those the harness makes for every test.
async fn buckets(s3: &aws_sdk_s3::Client) -> Vec<String> {
    s3.list_buckets()
        .send()
        .await
        .expect("list buckets")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_string))
        .filter(|n| !STATE_BUCKETS.contains(&n.as_str()))
        .collect()
}

/// The `vpc_cidr:` parameter of an environment file.
fn vpc_cidr(text: &str) -> Ipv4Net {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("vpc_cidr:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no vpc_cidr in\n{text}"))
}

#[tokio::test]
async fn staging_from_dev_gets_its_file_bucket_and_ci_role_and_a_second_run_sends_no_write() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 71);
    let p = Project::copy();

    let first = staging(&p, &proxy.endpoint, &[]);
    assert_eq!(code(&first), 0, "{}\n{}", out(&first), err(&first));
    let text = std::fs::read_to_string(p.root().join("environments/staging.yaml")).expect("file");
    // The region, its zones and ARNs; the account guard and the state bucket.
    assert!(text.contains("environment: staging\n"), "{text}");
    assert!(text.contains("region: eu-west-1\n"), "{text}");
    assert!(text.contains("    eu-west-1a: 10.0.0.0/24\n"), "{text}");
    assert!(text.contains("arn:aws:bedrock:eu-west-1::"), "{text}");
    assert!(!text.contains("eu-west-2"), "{text}");
    assert!(text.contains("account_id: \"123456789012\"\n"), "{text}");
    assert!(
        text.contains(&format!("state_bucket: {BUCKET}\n")),
        "{text}"
    );
    assert!(text.contains("  environment: staging\n"), "the tag: {text}");
    // Dev's comments are kept.
    assert!(text.starts_with("# Development:"), "{text}");
    // A VPC range overlapping neither dev's nor prod's.
    let vpc = vpc_cidr(&text);
    for other in ["10.10.0.0/16", "10.20.0.0/16"] {
        let other: Ipv4Net = other.parse().expect("cidr");
        assert!(
            !other.contains(&vpc.network()) && !vpc.contains(&other.network()),
            "{vpc} overlaps {other}"
        );
    }
    let stdout = out(&first);
    assert!(
        stdout.contains("environments/staging.yaml: written from environments/dev.yaml"),
        "{stdout}"
    );
    assert!(
        stdout.contains("review: environments/staging.yaml:")
            && stdout.contains("https://dev.bandup.example"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("state bucket {BUCKET}: created")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("CI role {ROLE}: created")),
        "{stdout}"
    );
    // The account's API Gateway logs role the harness set is someone else's: kept.
    assert!(
        stdout.contains("API Gateway CloudWatch Logs role in eu-west-1: unchanged (arn:aws:iam::123456789012:role/apigateway-cloudwatch-logs)"),
        "{stdout}"
    );

    let valid = run(&p, &proxy.endpoint, &["validate", "--env", "staging"]);
    assert_eq!(code(&valid), 0, "{}", err(&valid));

    // The bucket: versioned, SSE-S3 with a bucket key, private, tagged as state.
    let sdk = sdk_at(&moto.endpoint).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .region(Region::new("eu-west-1"))
            .build(),
    );
    let versioning = s3
        .get_bucket_versioning()
        .bucket(BUCKET)
        .send()
        .await
        .expect("versioning");
    assert_eq!(
        versioning.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled)
    );
    let enc = s3
        .get_bucket_encryption()
        .bucket(BUCKET)
        .send()
        .await
        .expect("encryption");
    let rule = &enc
        .server_side_encryption_configuration()
        .expect("configuration")
        .rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .map(|d| d.sse_algorithm().clone()),
        Some(aws_sdk_s3::types::ServerSideEncryption::Aes256)
    );
    assert_eq!(rule.bucket_key_enabled(), Some(true));
    let pab = s3
        .get_public_access_block()
        .bucket(BUCKET)
        .send()
        .await
        .expect("public access block");
    let c = pab
        .public_access_block_configuration()
        .expect("configuration");
    assert_eq!(
        [
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    let tags = s3
        .get_bucket_tagging()
        .bucket(BUCKET)
        .send()
        .await
        .expect("tags");
    let tags: Vec<(&str, &str)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert_eq!(tags, vec![("bandup:state-of", "bandup/staging")]);

    // The role, trusted by CodeBuild, with both policies filled in and attached.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = iam.get_role().role_name(ROLE).send().await.expect("role");
    let role = role.role().expect("role");
    assert_eq!(role.path(), "/bandup-bootstrap/");
    let trust = bandup_infra::model::document::parse(
        role.assume_role_policy_document().unwrap_or_default(),
    )
    .expect("trust policy");
    let trust = bandup_infra::model::document::to_json_string(&trust);
    assert!(trust.contains("codebuild.amazonaws.com"), "{trust}");
    assert!(trust.contains("sts:AssumeRole"), "{trust}");
    let attached = iam
        .list_attached_role_policies()
        .role_name(ROLE)
        .send()
        .await
        .expect("attached");
    let mut arns: Vec<&str> = attached
        .attached_policies()
        .iter()
        .filter_map(|a| a.policy_arn())
        .collect();
    arns.sort();
    assert_eq!(arns, POLICIES);
    for (arn, expected) in POLICIES.iter().zip([
        "arn:aws:s3:::bandup-state-staging-123456789012/locks/*",
        "arn:aws:iam::123456789012:role/bandup/*",
    ]) {
        let policy = iam
            .get_policy()
            .policy_arn(*arn)
            .send()
            .await
            .expect("policy");
        let version = policy
            .policy()
            .and_then(|p| p.default_version_id())
            .expect("default version");
        let doc = iam
            .get_policy_version()
            .policy_arn(*arn)
            .version_id(version)
            .send()
            .await
            .expect("version");
        let doc = bandup_infra::model::document::parse(
            doc.policy_version()
                .and_then(|v| v.document())
                .unwrap_or_default(),
        )
        .expect("document");
        let doc = bandup_infra::model::document::to_json_string(&doc);
        assert!(doc.contains(expected), "{doc}");
        assert!(doc.contains("eu-west-1"), "{doc}");
        for placeholder in ["ACCOUNT_ID", "STATE_BUCKET", "\"REGION\""] {
            assert!(!doc.contains(placeholder), "{placeholder}: {doc}");
        }
    }

    // Again: nothing changes, and only reads are sent.
    let before = proxy.ops().len();
    let second = staging(&p, &proxy.endpoint, &[]);
    assert_eq!(code(&second), 0, "{}\n{}", out(&second), err(&second));
    let stdout = out(&second);
    assert!(
        stdout.contains("environments/staging.yaml: unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("Nothing changed: environment staging was already bootstrapped.\n"),
        "{stdout}"
    );
    let again = std::fs::read_to_string(p.root().join("environments/staging.yaml")).expect("file");
    assert_eq!(again, text);
    let ops = proxy.ops();
    let writes: Vec<&String> = ops[before..].iter().filter(|op| !reads(op)).collect();
    assert!(writes.is_empty(), "writes on the second run: {writes:?}");
    assert!(ops.len() > before, "the second run read nothing");
}

#[tokio::test]
async fn another_account_than_the_credentials_is_refused_and_nothing_is_written() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 72);
    let p = Project::copy();
    let o = staging(&p, &proxy.endpoint, &["--account-id", "111111111111"]);
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    assert!(
        err(&o).contains(
            "--account-id 111111111111, but the credentials in use are for account 123456789012"
        ),
        "{}",
        err(&o)
    );
    assert!(!p.root().join("environments/staging.yaml").exists());
    assert_eq!(proxy.ops(), vec!["GetCallerIdentity".to_string()]);
    let s3 = aws_sdk_s3::Client::new(&sdk_at(&moto.endpoint).await);
    assert_eq!(buckets(&s3).await, Vec::<String>::new());
}

#[test]
fn an_existing_environment_with_other_settings_is_refused_before_any_change() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 73);
    let p = Project::copy();
    let dev = std::fs::read_to_string(p.root().join("environments/dev.yaml")).expect("dev");
    let o = run(
        &p,
        &proxy.endpoint,
        &["bootstrap", "--env", "dev", "--region", "eu-west-1"],
    );
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    let stderr = err(&o);
    assert!(
        stderr.contains("environments/dev.yaml already exists with other settings"),
        "{stderr}"
    );
    assert!(
        stderr.contains("region: the file has eu-west-2, this run would write eu-west-1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("state_bucket: the file has bandup-state-dev"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(p.root().join("environments/dev.yaml")).expect("dev"),
        dev
    );
    assert_eq!(proxy.ops(), vec!["GetCallerIdentity".to_string()]);
}

#[test]
fn a_vpc_range_overlapping_devs_is_refused_naming_devs_file_before_any_aws_call() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 74);
    let p = Project::copy();
    let o = staging(&p, &proxy.endpoint, &["--vpc-cidr", "10.10.0.0/16"]);
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    let stderr = err(&o);
    assert!(
        stderr.contains("--vpc-cidr 10.10.0.0/16 overlaps 10.10.0.0/16 of VPC `vpc` of environment `dev` (environments/dev.yaml:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("A free range: --vpc-cidr 10.0.0.0/16"),
        "{stderr}"
    );
    assert!(!p.root().join("environments/staging.yaml").exists());
    assert_eq!(proxy.ops(), Vec::<String>::new());
}

#[test]
fn without_from_a_stack_with_required_parameters_is_refused_and_from_suggested() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 75);
    let p = Project::copy();
    let o = run(
        &p,
        &proxy.endpoint,
        &["bootstrap", "--env", "qa", "--region", "eu-west-1"],
    );
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    let stderr = err(&o);
    assert!(
        stderr.contains("parameter `vpc_cidr` has no default"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pass --from ENV to copy another environment's (dev, prod)"),
        "{stderr}"
    );
    assert!(!p.root().join("environments/qa.yaml").exists());
    assert!(proxy.ops().iter().all(|op| reads(op)), "{:?}", proxy.ops());
}

#[test]
fn a_plan_of_the_new_environment_does_not_take_the_state_bucket_for_the_stacks() {
    let moto = Moto::start();
    let p = Project::copy();
    let o = staging(&p, &moto.endpoint, &[]);
    assert_eq!(code(&o), 0, "{}\n{}", out(&o), err(&o));
    let plan = run(&p, &moto.endpoint, &["plan", "--env", "staging"]);
    assert_eq!(code(&plan), 0, "{}", err(&plan));
    let text = out(&plan);
    assert!(text.contains(", 0 to destroy."), "{text}");
    assert!(!text.contains(BUCKET), "{text}");
}

#[test]
fn a_bucket_of_that_name_in_another_region_is_refused_before_the_file_is_written() {
    let moto = Moto::start();
    moto.create_bucket(BUCKET);
    let p = Project::copy();
    let o = staging(&p, &moto.endpoint, &[]);
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    let stderr = err(&o);
    assert!(
        stderr.contains(&format!(
            "the bucket `{BUCKET}` exists in region eu-west-2, not in the environment's region eu-west-1"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("Nothing was written or created"),
        "{stderr}"
    );
    assert!(!p.root().join("environments/staging.yaml").exists());
}

#[tokio::test]
async fn an_account_without_api_gateways_logs_role_gets_one_and_keeps_it() {
    let moto = Moto::start_bare();
    let p = Project::copy();
    let o = staging(&p, &moto.endpoint, &[]);
    assert_eq!(code(&o), 0, "{}\n{}", out(&o), err(&o));
    let arn = "arn:aws:iam::123456789012:role/bandup-bootstrap/bandup-apigateway-logs";
    assert!(
        out(&o).contains(&format!(
            "API Gateway CloudWatch Logs role in eu-west-1: updated cloudwatchRoleArn = {arn}"
        )),
        "{}",
        out(&o)
    );
    let sdk = sdk_at(&moto.endpoint).await;
    let apigw = aws_sdk_apigateway::Client::from_conf(
        aws_sdk_apigateway::config::Builder::from(&sdk)
            .region(Region::new("eu-west-1"))
            .build(),
    );
    let account = apigw.get_account().send().await.expect("account");
    assert_eq!(account.cloudwatch_role_arn(), Some(arn));
    let iam = aws_sdk_iam::Client::new(&sdk);
    let role = iam
        .get_role()
        .role_name("bandup-apigateway-logs")
        .send()
        .await
        .expect("role");
    let trust = role
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .and_then(bandup_infra::model::document::parse)
        .map(|d| bandup_infra::model::document::to_json_string(&d))
        .unwrap_or_default();
    assert!(trust.contains("apigateway.amazonaws.com"), "{trust}");
    let again = staging(&p, &moto.endpoint, &[]);
    assert_eq!(code(&again), 0, "{}", err(&again));
    assert!(
        out(&again).contains("Nothing changed: environment staging was already bootstrapped."),
        "{}",
        out(&again)
    );
}

#[tokio::test]
async fn settings_changed_by_hand_are_brought_back_and_only_they_are_written() {
    let moto = Moto::start();
    let p = Project::copy();
    let first = staging(&p, &moto.endpoint, &[]);
    assert_eq!(code(&first), 0, "{}", err(&first));

    let sdk = sdk_at(&moto.endpoint).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .region(Region::new("eu-west-1"))
            .build(),
    );
    // Versioning suspended, the trust policy opened to Lambda, the second policy
    // detached, and the first policy's history full (five versions, the default not ours).
    s3.put_bucket_versioning()
        .bucket(BUCKET)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    iam.update_assume_role_policy()
        .role_name(ROLE)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("trust");
    iam.detach_role_policy()
        .role_name(ROLE)
        .policy_arn(POLICIES[1])
        .send()
        .await
        .expect("detach");
    for n in 0..4 {
        iam.create_policy_version()
            .policy_arn(POLICIES[0])
            .policy_document(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{n}","Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}}]}}"#
            ))
            .set_as_default(true)
            .send()
            .await
            .expect("policy version");
    }

    let again = staging(&p, &moto.endpoint, &[]);
    assert_eq!(code(&again), 0, "{}\n{}", out(&again), err(&again));
    let stdout = out(&again);
    for line in [
        "environments/staging.yaml: unchanged\n".to_string(),
        format!("state bucket {BUCKET}: updated versioning\n"),
        "CI policy bandup-ci-staging: updated document\n".to_string(),
        "CI policy bandup-ci-staging-2: unchanged\n".to_string(),
        format!("CI role {ROLE}: updated trust policy, attached bandup-ci-staging-2\n"),
    ] {
        assert!(stdout.contains(&line), "{line:?} in\n{stdout}");
    }
    assert!(
        stdout.ends_with(
            "Environment staging is bootstrapped. Next: bandup-infra plan --env staging.\n"
        ),
        "{stdout}"
    );
    // Still five versions: the oldest (v1) made room for the new default.
    let versions = iam
        .list_policy_versions()
        .policy_arn(POLICIES[0])
        .send()
        .await
        .expect("versions");
    let mut ids: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    ids.sort();
    assert_eq!(ids, ["v2", "v3", "v4", "v5", "v6"]);
    let default = versions
        .versions()
        .iter()
        .find(|v| v.is_default_version())
        .and_then(|v| v.version_id());
    assert_eq!(default, Some("v6"));

    let third = staging(&p, &moto.endpoint, &[]);
    assert!(
        out(&third).ends_with("Nothing changed: environment staging was already bootstrapped.\n"),
        "{}",
        out(&third)
    );
}
