//! The data layer's secrets and Redis cache against the emulator: the lifecycle of each
//! type (create, an empty re-plan, an in-place update, a replacement where a field forces
//! one, delete), a generated secret's value kept out of every output, an operator's value
//! never compared, the recovery window, and lost create answers.
//!
//! What moto cannot show (docs/emulator-gaps.md): every cache is `available` at once, so
//! the waits pass on their first look; `scripts/moto_server.py` corrects moto's
//! replication groups (members, replica counts, deletion, final snapshots), cache subnet
//! group changes and deletes, and creating a secret whose name is scheduled for deletion.

use crate::support::lifecycle::{apply_converges, change, changes, failures, live_id, plan_of};
use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::Project;
use bandup_infra::apply::apply;
use bandup_infra::config::{self, LoadOptions};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{Action, Mode};
use bandup_infra::provider::{Registry, Scope};
use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

/// A network, the two secrets of the data layer, a cache subnet group and a Redis group.
const STACK: &str = r#"stack: cachetest
resources:
  vpc:
    type: aws_vpc
    properties:
      cidr_block: 10.60.0.0/16
  subnet_a:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.60.1.0/24
      availability_zone: eu-west-2a
  subnet_b:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      cidr_block: 10.60.2.0/24
      availability_zone: eu-west-2b
  cache_sg:
    type: aws_security_group
    properties:
      vpc_id: ${vpc.id}
      description: Redis
  redis_auth:
    type: aws_secretsmanager_secret
    properties:
      description: Redis AUTH token
      generate: true
      recovery_window_days: 7
  gemini_api_key:
    type: aws_secretsmanager_secret
    properties:
      description: Gemini API key
      recovery_window_days: 0
  cache_subnets:
    type: aws_elasticache_subnet_group
    properties:
      description: Redis subnets
      subnet_ids:
        - ${subnet_a.id}
  redis:
    type: aws_elasticache_replication_group
    properties:
      description: sessions and rate limits
      node_type: cache.t4g.micro
      subnet_group_name: ${cache_subnets.name}
      security_group_ids:
        - ${cache_sg.id}
      auth_token_secret_arn: ${redis_auth.arn}
"#;

/// Environment of a stack loaded without `--env`.
const ENV: &str = "default";

fn scope() -> Scope {
    Scope {
        stack: "cachetest".into(),
        env: ENV.into(),
        tags: BTreeMap::new(),
        run: String::new(),
        ..Default::default()
    }
}

/// API calls one type's discovery makes itself. Nothing is declared, so the tag index
/// (asked on a task of its own, not counted here) vouches for no tags and each is read:
/// the calls of a plan made without the index.
async fn discovery_calls(registry: &Registry, type_name: &str) -> u64 {
    let provider = registry.get(type_name).expect("registered");
    let (read, calls) = bandup_infra::provider::counted(provider.read(&scope(), None)).await;
    read.expect("read");
    calls
}

#[tokio::test]
async fn each_cache_type_creates_replans_empty_updates_in_place_replaces_and_deletes() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let cache = aws_sdk_elasticache::Client::new(&sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let p = Project::with_stack(STACK);

    // Create from empty; the cache is waited for, and the wait is shown.
    let first = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 8, "{:#?}", changes(&first));
    let notes = Arc::new(Notes::default());
    let report = apply(&first, &registry, 10, notes.clone()).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert!(
        notes
            .said()
            .contains("still creating, 0s elapsed, status creating"),
        "{}",
        notes.said()
    );
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(again.summary.unchanged, 8);

    let group_id = "cachetest-default-redis";
    let groups = cache
        .describe_replication_groups()
        .replication_group_id(group_id)
        .send()
        .await
        .expect("group");
    let group = &groups.replication_groups()[0];
    assert_eq!(group.status(), Some("available"));
    assert_eq!(group.auth_token_enabled(), Some(true), "AUTH token passed");
    assert_eq!(group.member_clusters().len(), 1);
    let subnet_groups = cache
        .describe_cache_subnet_groups()
        .cache_subnet_group_name("cachetest-default-cache-subnets")
        .send()
        .await
        .expect("subnet group");
    assert_eq!(subnet_groups.cache_subnet_groups().len(), 1);

    // Discovery: one listing per type, plus one tag read per cache resource and one
    // listing of the caches' members.
    assert_eq!(
        discovery_calls(&registry, "aws_secretsmanager_secret").await,
        1
    );
    assert_eq!(
        discovery_calls(&registry, "aws_elasticache_subnet_group").await,
        2
    );
    assert_eq!(
        discovery_calls(&registry, "aws_elasticache_replication_group").await,
        3
    );

    // In place: a secret's description, the group's subnets, the cache's size, replicas,
    // failover and snapshots.
    p.edit(
        "stacks/bandup.yaml",
        "description: Gemini API key",
        "description: Gemini key (set by an operator)",
    );
    p.edit(
        "stacks/bandup.yaml",
        "      subnet_ids:\n        - ${subnet_a.id}\n",
        "      subnet_ids:\n        - ${subnet_a.id}\n        - ${subnet_b.id}\n",
    );
    p.edit(
        "stacks/bandup.yaml",
        "      node_type: cache.t4g.micro\n",
        "      node_type: cache.t4g.small\n      num_cache_clusters: 2\n      automatic_failover: true\n      multi_az: true\n      snapshot_retention_limit: 7\n",
    );
    let updated = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&updated),
        BTreeMap::from([
            (
                "gemini_api_key".to_string(),
                change(Action::Update, &["description"])
            ),
            (
                "cache_subnets".to_string(),
                change(Action::Update, &["subnet_ids"])
            ),
            (
                "redis".to_string(),
                change(
                    Action::Update,
                    &[
                        "node_type",
                        "num_cache_clusters",
                        "automatic_failover",
                        "multi_az",
                        "snapshot_retention_limit"
                    ]
                )
            ),
        ])
    );
    let text = bandup_infra::ui::plan::render(&updated);
    assert!(
        text.contains("~ node_type = \"cache.t4g.micro\" -> \"cache.t4g.small\""),
        "{text}"
    );
    apply_converges(&updated, &p, &registry).await;
    let groups = cache
        .describe_replication_groups()
        .replication_group_id(group_id)
        .send()
        .await
        .expect("group");
    assert_eq!(groups.replication_groups()[0].member_clusters().len(), 2);

    // Fewer replicas: failover goes off before the replica does.
    p.edit(
        "stacks/bandup.yaml",
        "      num_cache_clusters: 2\n      automatic_failover: true\n      multi_az: true\n",
        "      num_cache_clusters: 1\n",
    );
    let fewer = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&fewer).get("redis"),
        Some(&change(
            Action::Update,
            &["num_cache_clusters", "automatic_failover", "multi_az"]
        ))
    );
    apply_converges(&fewer, &p, &registry).await;

    // A forced replacement: the port. The old group goes (with its final snapshot) before
    // the new one, of the same id, is made. Secrets and subnet groups change in place only.
    let before = plan_of(&p, &registry, Mode::Normal).await;
    let old = before
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "redis")
        .and_then(|r| r.live.clone())
        .expect("live group");
    p.edit(
        "stacks/bandup.yaml",
        "      node_type: cache.t4g.small\n",
        "      node_type: cache.t4g.small\n      port: 6380\n",
    );
    let replaced = plan_of(&p, &registry, Mode::Normal).await;
    let redis = replaced
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "redis")
        .expect("redis");
    assert_eq!(
        (redis.action, redis.forcing_fields()),
        (Action::Replace, vec!["port"])
    );
    let text = bandup_infra::ui::plan::render(&replaced);
    assert!(text.contains("-/+"), "{text}");
    assert!(
        text.contains("ElastiCache cannot change a group's port"),
        "says why: {text}"
    );
    let snapshot = bandup_infra::aws::elasticache::replication_group::final_snapshot_name(&old);
    assert!(
        text.contains(&snapshot),
        "data loss names the snapshot: {text}"
    );
    apply_converges(&replaced, &p, &registry).await;
    let snapshots = cache
        .describe_snapshots()
        .snapshot_name(&snapshot)
        .send()
        .await
        .expect("final snapshot kept");
    assert_eq!(snapshots.snapshots().len(), 1);
    for schema in [
        &bandup_infra::aws::secretsmanager::secret::SCHEMA,
        &bandup_infra::aws::elasticache::subnet_group::SCHEMA,
    ] {
        assert!(
            schema.fields.iter().all(|f| !f.force_new),
            "{} is never replaced",
            schema.type_name
        );
    }

    // A subnet group still used by a cache is refused, naming what uses it.
    let subnet_live = replaced
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "cache_subnets")
        .and_then(|r| r.live.clone())
        .expect("live subnet group");
    let provider = registry
        .get("aws_elasticache_subnet_group")
        .expect("registered");
    let note = |_: String| {};
    let req = bandup_infra::provider::Request {
        scope: &scope(),
        addr: &subnet_live.addr,
        props: &subnet_live.props,
        timeout: std::time::Duration::from_secs(60),
        protect: false,
        note: &note,
        suffix: None,
    };
    let refused = provider
        .delete(&req, &subnet_live)
        .await
        .expect_err("in use");
    assert!(
        refused.message.contains(
            "is still used by: cache cluster cachetest-default-redis-001 of replication group cachetest-default-redis"
        ),
        "{refused}"
    );

    // Delete: the generated secret is scheduled (7 days), the operator's (0) is gone.
    let auth_arn = live_id(&replaced, "redis_auth");
    let destroyed = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    assert_eq!(destroyed.summary.destroy, 8);
    let notes = Arc::new(Notes::default());
    let report = apply(&destroyed, &registry, 10, notes.clone()).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let said = notes.said();
    assert!(said.contains("keeping final snapshot"), "{said}");
    assert!(said.contains("still deleting"), "{said}");
    let described = sm
        .describe_secret()
        .secret_id(&auth_arn)
        .send()
        .await
        .expect("scheduled, not gone");
    let deleted = described.deleted_date().expect("scheduled for deletion");
    let days = (deleted.secs()
        - aws_smithy_types::DateTime::from(std::time::SystemTime::now()).secs())
        as f64
        / 86_400.0;
    assert!(
        (6.9..7.1).contains(&days),
        "recovery window of 7 days: {days}"
    );
    let gone = sm
        .describe_secret()
        .secret_id("cachetest-default-gemini_api_key")
        .send()
        .await;
    assert!(gone.is_err(), "deleted without recovery");
    let groups = cache
        .describe_replication_groups()
        .send()
        .await
        .expect("groups");
    assert!(groups.replication_groups().is_empty());
    let subnet_groups = cache
        .describe_cache_subnet_groups()
        .send()
        .await
        .expect("subnet groups");
    assert!(subnet_groups.cache_subnet_groups().is_empty());
    assert!(!plan_of(&p, &registry, Mode::Destroy { force: false })
        .await
        .summary
        .has_changes());
}

#[tokio::test]
async fn an_operators_secret_value_is_never_read_nor_compared() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 3);
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk().await);
    let p = Project::with_stack(
        "stack: cachetest\nresources:\n  gemini_api_key:\n    type: aws_secretsmanager_secret\n    properties:\n      description: Gemini API key\n",
    );
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let id = "cachetest-default-gemini_api_key";
    let described = sm
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .expect("secret");
    assert!(
        described
            .version_ids_to_stages()
            .is_none_or(|v| v.is_empty()),
        "declared without a value"
    );

    sm.put_secret_value()
        .secret_id(id)
        .secret_string("set-by-the-operator")
        .send()
        .await
        .expect("put");
    let after = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    // Turning `generate` on for a secret that has a value changes nothing either.
    p.edit(
        "stacks/bandup.yaml",
        "description: Gemini API key",
        "description: Gemini API key\n      generate: true",
    );
    let generate = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!generate.summary.has_changes(), "{:#?}", changes(&generate));
    assert_eq!(proxy.seen("GetSecretValue"), 0, "the value is never read");
    let value = sm
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .expect("value");
    assert_eq!(value.secret_string(), Some("set-by-the-operator"));
}

#[tokio::test]
async fn generate_turned_on_for_a_secret_without_a_value_puts_one() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let p = Project::with_stack(
        "stack: cachetest\nresources:\n  token:\n    type: aws_secretsmanager_secret\n    properties:\n      description: a token\n",
    );
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "description: a token",
        "description: a token\n      generate: true\n      length: 40",
    );
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        changes(&planned),
        BTreeMap::from([("token".to_string(), change(Action::Update, &["generate"]))])
    );
    apply_converges(&planned, &p, &registry).await;
    let value = sm
        .get_secret_value()
        .secret_id("cachetest-default-token")
        .send()
        .await
        .expect("value");
    assert_eq!(value.secret_string().map(str::len), Some(40));
}

/// Collects the notes an apply gives the user.
#[derive(Default)]
struct Notes(std::sync::Mutex<Vec<String>>);

impl Notes {
    fn said(&self) -> String {
        self.0.lock().map(|n| n.join("\n")).unwrap_or_default()
    }
}

impl bandup_infra::model::Reporter for Notes {
    fn event(&self, e: bandup_infra::model::Event) {
        if let bandup_infra::model::Event::Note { message, .. } = e {
            if let Ok(mut n) = self.0.lock() {
                n.push(message);
            }
        }
    }
}

#[tokio::test]
async fn a_secret_declared_again_while_scheduled_for_deletion_is_restored_and_adopted() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let p = Project::with_stack(
        "stack: cachetest\nresources:\n  redis_auth:\n    type: aws_secretsmanager_secret\n    properties:\n      generate: true\n",
    );
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let id = "cachetest-default-redis_auth";
    let value = sm
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .expect("value");

    let destroyed = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroyed, &registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let described = sm
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .expect("secret");
    assert!(
        described.deleted_date().is_some(),
        "30-day window by default"
    );

    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(again.summary.add, 1);
    let notes = Arc::new(Notes::default());
    let report = apply(&again, &registry, 10, notes.clone()).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let said = notes.said();
    assert!(
        said.contains("was scheduled for deletion: restored it"),
        "the user is told: {said}"
    );
    let after = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    let described = sm
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .expect("secret");
    assert!(described.deleted_date().is_none(), "restored");
    let restored = sm
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .expect("value");
    assert_eq!(
        restored.secret_string(),
        value.secret_string(),
        "the value it had is kept"
    );
}

#[tokio::test]
async fn lost_create_answers_for_a_secret_and_a_cache_converge_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 5);
    for op in [
        "CreateSecret",
        "CreateCacheSubnetGroup",
        "CreateReplicationGroup",
    ] {
        proxy.rule(Rule::on(op).fault(Fault::LoseAnswer));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = Project::with_stack(STACK);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let notes = Arc::new(Notes::default());
    let report = apply(&planned, &registry, 10, notes.clone()).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    assert_eq!(proxy.faults().len(), 3, "{:?}", proxy.faults());
    assert!(
        notes
            .said()
            .contains("CreateReplicationGroup failed, but cachetest-default-redis exists"),
        "the group found creating is adopted: {}",
        notes.said()
    );
    assert_eq!(
        proxy.seen("CreateReplicationGroup"),
        1,
        "adopted, not repeated"
    );
    assert_eq!(
        proxy.seen("CreateCacheSubnetGroup"),
        1,
        "adopted, not repeated"
    );
    assert_eq!(
        proxy.seen("CreateSecret"),
        2,
        "one per secret, none repeated"
    );

    let clean = bandup_infra::aws::registry(&moto.sdk().await);
    let after = plan_of(&p, &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    let found = bandup_infra::plan::discover(&clean, &scope(), &Quiet)
        .await
        .expect("discover");
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for (_, l) in found {
        *copies.entry(l.addr.to_string()).or_default() += 1;
    }
    assert!(copies.values().all(|&n| n == 1), "{copies:?}");
    assert_eq!(copies.len(), 8);
}

/// Run the real binary in `dir` against `moto`, logging at debug.
fn cli(dir: &std::path::Path, moto: &Moto, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_PROFILE")
        .env_remove("BANDUP_ENV")
        .env_remove("BANDUP_PROJECT")
        .envs(moto.env())
        .env("AWS_REGION", "eu-west-2")
        .env("BANDUP_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run bandup-infra")
}

#[tokio::test]
async fn a_generated_value_appears_in_no_plan_apply_output_or_debug_log() {
    let moto = Moto::start();
    let sm = aws_sdk_secretsmanager::Client::new(&moto.sdk().await);
    let p = Project::with_stack(
        "stack: cachetest\nresources:\n  redis_auth:\n    type: aws_secretsmanager_secret\n    properties:\n      description: Redis AUTH token\n      generate: true\n",
    );
    let mut seen = String::new();
    let mut run = |args: &[&str]| {
        let o = cli(p.root(), &moto, args);
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        );
        assert!(o.status.success(), "{args:?}: {out}\n{err}");
        seen.push_str(&out);
        seen.push_str(&err);
    };
    run(&["plan"]);
    run(&["plan", "--json"]);
    run(&["apply", "--auto-approve", "--lock=false"]);
    run(&["plan"]);
    run(&["plan", "--json"]);
    assert!(seen.contains("DEBUG"), "logs at debug were captured");

    let value = sm
        .get_secret_value()
        .secret_id("cachetest-default-redis_auth")
        .send()
        .await
        .expect("value");
    let value = value.secret_string().expect("a generated value");
    assert_eq!(value.len(), 64);
    assert!(
        value.chars().all(|c| c.is_ascii_alphanumeric()),
        "no punctuation by default"
    );
    assert!(!seen.contains(value), "the generated value leaked");
}

/// The problems `validate` finds in `yaml`, as `line:col message`.
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
        .map(|d| format!("{}:{} {}", d.pos.line, d.pos.col, d.message))
        .collect()
}

#[test]
fn validate_checks_recovery_windows_cache_ids_failover_and_multi_az() {
    let found = problems(
        r#"stack: cachetest
resources:
  token:
    type: aws_secretsmanager_secret
    properties:
      recovery_window_days: 5
  a_cache_whose_name_is_far_too_long:
    type: aws_elasticache_replication_group
    properties:
      node_type: cache.t4g.micro
      subnet_group_name: x
  redis:
    type: aws_elasticache_replication_group
    properties:
      node_type: cache.t4g.micro
      subnet_group_name: x
      automatic_failover: true
      multi_az: true
  other:
    type: aws_elasticache_replication_group
    properties:
      node_type: cache.t4g.micro
      subnet_group_name: x
      num_cache_clusters: 2
      multi_az: true
      transit_encryption: false
      auth_token_secret_arn: arn:aws:secretsmanager:eu-west-2:1:secret:x
"#,
    );
    let expect = [
        "6:29 secret `token` has recovery_window_days 5",
        "7:3 replication group `a_cache_whose_name_is_far_too_long` would be named `cachetest-default-a-cache-whose-name-is-far-too-long`, which is 52 characters long",
        "17:27 replication group `redis` has automatic_failover but 1 node",
        "25:17 replication group `other` has multi_az without automatic_failover",
        "27:30 replication group `other` has an AUTH token without transit_encryption",
    ];
    for e in expect {
        assert!(found.iter().any(|f| f.starts_with(e)), "{e}\nin {found:#?}");
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[tokio::test]
async fn a_cache_left_creating_by_a_stopped_apply_is_waited_for_not_made_again() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let cache = aws_sdk_elasticache::Client::new(&sdk);
    let proxy = Proxy::start(&moto.endpoint, 9);
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    // Everything but the cache, then the cache as a stopped apply leaves it: tagged,
    // still `creating`.
    let start = STACK.find("  redis:\n").expect("redis declared");
    let p = Project::with_stack(&STACK[..start]);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    apply_converges(&first, &p, &registry).await;
    let sg = live_id(&plan_of(&p, &registry, Mode::Normal).await, "cache_sg");
    let addr = bandup_infra::model::Addr("redis".into());
    let tags = scope().tags_for(&addr).into_iter().map(|(k, v)| {
        aws_sdk_elasticache::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    });
    cache
        .create_replication_group()
        .replication_group_id("cachetest-default-redis")
        .replication_group_description("sessions and rate limits")
        .engine("redis")
        .engine_version("7.1")
        .cache_node_type("cache.t4g.micro")
        .num_cache_clusters(1)
        .at_rest_encryption_enabled(true)
        .transit_encryption_enabled(true)
        .cache_subnet_group_name("cachetest-default-cache-subnets")
        .security_group_ids(sg)
        .set_tags(Some(tags.collect()))
        .send()
        .await
        .expect("a group left creating");

    let p = Project::with_stack(STACK);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let redis = planned
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "redis")
        .expect("redis");
    assert_eq!(redis.action, Action::Update, "{:#?}", changes(&planned));
    assert!(
        redis.changes.iter().any(|c| c.field == "status"),
        "the plan shows it is still being made: {:#?}",
        redis.changes
    );
    apply_converges(&planned, &p, &registry).await;
    assert_eq!(proxy.seen("CreateReplicationGroup"), 0, "not made again");
    let groups = cache
        .describe_replication_groups()
        .send()
        .await
        .expect("groups");
    assert_eq!(groups.replication_groups().len(), 1);
    assert_eq!(groups.replication_groups()[0].status(), Some("available"));
}
