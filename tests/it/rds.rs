//! The database layer (DB subnet group, DB parameter group, PostgreSQL instance) against
//! the emulator: each type from empty, a re-plan with nothing to do, an in-place change,
//! a replacement, and delete; deletion protection, the final snapshot, no password in
//! anything the tool prints, and a lost answer on CreateDBInstance.
//!
//! What moto cannot show (docs/emulator-gaps.md): an instance is `available` the moment
//! it is created, modified or deleted, so the waits pass on their first look; changes
//! sent without `ApplyImmediately` are made at once instead of being held for the
//! maintenance window (`PendingModifiedValues` stays empty, so reading held changes as
//! made is shown by a unit test of the reading, not here); `SecondaryAvailabilityZone` is
//! empty for Multi-AZ; deleting a parameter or subnet group still in use succeeds (AWS:
//! InvalidDBParameterGroupState / InvalidDBSubnetGroupStateFault).

use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::{load, Project};
use bandup_infra::apply::{apply, Report, Status};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

const ENV: &str = "environment: dev\nstack: stacks/bandup.yaml\nregion: eu-west-2\n";

/// The network the database lives in, as stacks/bandup.yaml declares it (smaller).
const NETWORK: &str = "stack: bandup
resources:
  vpc:
    type: aws_vpc
    properties:
      cidr_block: 10.20.0.0/16
  subnet_a:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      availability_zone: eu-west-2a
      cidr_block: 10.20.10.0/24
  subnet_b:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      availability_zone: eu-west-2b
      cidr_block: 10.20.11.0/24
  subnet_c:
    type: aws_subnet
    properties:
      vpc_id: ${vpc.id}
      availability_zone: eu-west-2c
      cidr_block: 10.20.12.0/24
  db_sg:
    type: aws_security_group
    properties:
      vpc_id: ${vpc.id}
      description: PostgreSQL
";

const SUBNET_GROUP: &str = "  db_subnets:
    type: aws_db_subnet_group
    properties:
      description: Database subnets
      subnet_ids: [\"${subnet_a.id}\", \"${subnet_b.id}\"]
";

const PARAMETER_GROUP: &str = "  db_params:
    type: aws_db_parameter_group
    properties:
      family: postgres16
      description: PostgreSQL settings
      parameters:
        - { name: rds.force_ssl, value: \"1\", apply_method: immediate }
";

const INSTANCE: &str = "  db:
    type: aws_db_instance
    properties:
      engine_version: \"16.3\"
      instance_class: db.t4g.micro
      allocated_storage: 20
      db_name: bandup
      username: bandup
      db_subnet_group_name: ${db_subnets.name}
      parameter_group_name: ${db_params.name}
      vpc_security_group_ids: [\"${db_sg.id}\"]
      backup_retention_period: 1
      deletion_protection: false
      apply_immediately: true
";

/// A project of one stack made of `parts`, with a `dev` environment.
fn project(parts: &[&str]) -> Project {
    let p = Project::with_stack(&parts.concat());
    std::fs::create_dir_all(p.root().join("environments")).expect("mkdir");
    std::fs::write(p.root().join("environments/dev.yaml"), ENV).expect("write");
    p
}

async fn plan_env(root: &Path, registry: &Registry, mode: Mode) -> Plan {
    let (stack, graph) = load(root, Some("dev"), registry);
    plan(&stack, &graph, registry, mode, &Quiet)
        .await
        .expect("plan")
}

async fn apply_ok(p: &Plan, registry: &Registry) -> Report {
    let report = apply(p, registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:#?}", report.outcomes);
    report
}

/// Apply `planned`, then check that the next plan has nothing to do.
async fn converges(planned: &Plan, root: &Path, registry: &Registry) {
    apply_ok(planned, registry).await;
    let after = plan_env(root, registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
}

fn changes(p: &Plan) -> BTreeMap<String, Action> {
    p.resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .map(|r| (r.addr.to_string(), r.action))
        .collect()
}

/// What discovering `type_name` found and the API calls it made, in `p`.
fn reads(p: &Plan, type_name: &str) -> (usize, u64) {
    let r = &p.reads[type_name];
    (r.found, r.api_calls)
}

/// The fields that differ for `addr` in `p`.
fn fields<'a>(p: &'a Plan, addr: &str) -> Vec<&'a str> {
    p.resources
        .iter()
        .find(|r| r.addr.as_str() == addr)
        .map(|r| r.changes.iter().map(|c| c.field.as_str()).collect())
        .unwrap_or_default()
}

fn planned<'a>(p: &'a Plan, addr: &str) -> &'a bandup_infra::plan::PlannedResource {
    p.resources
        .iter()
        .find(|r| r.addr.as_str() == addr)
        .expect("planned")
}

async fn subnet_groups(rds: &aws_sdk_rds::Client) -> Vec<aws_sdk_rds::types::DbSubnetGroup> {
    rds.describe_db_subnet_groups()
        .send()
        .await
        .expect("subnet groups")
        .db_subnet_groups()
        .to_vec()
}

async fn instances(rds: &aws_sdk_rds::Client) -> Vec<aws_sdk_rds::types::DbInstance> {
    rds.describe_db_instances()
        .send()
        .await
        .expect("instances")
        .db_instances()
        .to_vec()
}

async fn snapshots(rds: &aws_sdk_rds::Client) -> Vec<String> {
    rds.describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("snapshots")
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn rds_subnet_group_creates_replans_nothing_changes_in_place_and_is_deleted() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let rds = aws_sdk_rds::Client::new(&sdk);
    let p = project(&[NETWORK, SUBNET_GROUP]);

    let first = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 6);
    converges(&first, p.root(), &registry).await;
    let groups = subnet_groups(&rds).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups[0].db_subnet_group_name(),
        Some("bandup-dev-db_subnets")
    );
    assert_eq!(groups[0].subnets().len(), 2);

    // Description and subnets both change in place (ModifyDBSubnetGroup).
    p.edit(
        "stacks/bandup.yaml",
        "description: Database subnets",
        "description: Database subnets in three zones",
    );
    p.edit(
        "stacks/bandup.yaml",
        "\"${subnet_b.id}\"]",
        "\"${subnet_b.id}\", \"${subnet_c.id}\"]",
    );
    let update = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(
        changes(&update),
        BTreeMap::from([("db_subnets".to_string(), Action::Update)])
    );
    assert_eq!(fields(&update, "db_subnets"), ["description", "subnet_ids"]);
    let text = bandup_infra::ui::plan::render(&update);
    assert!(text.contains("~ db_subnets"), "{text}");
    converges(&update, p.root(), &registry).await;
    let groups = subnet_groups(&rds).await;
    assert_eq!(groups[0].subnets().len(), 3);
    assert_eq!(
        groups[0].db_subnet_group_description(),
        Some("Database subnets in three zones")
    );

    // Every field changes in place: nothing forces a new group.
    assert!(bandup_infra::aws::rds::subnet_group::SCHEMA
        .fields
        .iter()
        .all(|f| !f.force_new));

    let destroy = plan_env(p.root(), &registry, Mode::Destroy { force: false }).await;
    assert_eq!(destroy.summary.destroy, 6);
    apply_ok(&destroy, &registry).await;
    assert!(subnet_groups(&rds).await.is_empty());
}

#[tokio::test]
async fn rds_parameter_group_sets_and_resets_parameters_in_place_and_replaces_on_family() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let rds = aws_sdk_rds::Client::new(&sdk);
    let p = project(&["stack: bandup\nresources:\n", PARAMETER_GROUP]);
    let user_params = |name: &'static str| {
        let rds = rds.clone();
        async move {
            rds.describe_db_parameters()
                .db_parameter_group_name(name)
                .source("user")
                .send()
                .await
                .expect("parameters")
                .parameters()
                .iter()
                .map(|p| {
                    format!(
                        "{}={}",
                        p.parameter_name().unwrap_or_default(),
                        p.parameter_value().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
        }
    };

    let first = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 1);
    converges(&first, p.root(), &registry).await;
    assert_eq!(
        user_params("bandup-dev-db-params").await,
        ["rds.force_ssl=1"]
    );
    let again = plan_env(p.root(), &registry, Mode::Normal).await;
    // 1 + 2 per group: DescribeDBParameterGroups, then ListTagsForResource and
    // DescribeDBParameters (Source=user) for it.
    assert_eq!(reads(&again, "aws_db_parameter_group"), (1, 3));

    // A parameter added: set in place.
    p.edit(
        "stacks/bandup.yaml",
        "apply_method: immediate }\n",
        "apply_method: immediate }\n        - { name: log_min_duration_statement, value: \"500\" }\n",
    );
    let add = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(
        changes(&add),
        BTreeMap::from([("db_params".to_string(), Action::Update)])
    );
    assert_eq!(fields(&add, "db_params"), ["parameters"]);
    converges(&add, p.root(), &registry).await;
    let mut set = user_params("bandup-dev-db-params").await;
    set.sort();
    assert_eq!(set, ["log_min_duration_statement=500", "rds.force_ssl=1"]);

    // Only the apply method changed: not a change of what the group holds.
    p.edit(
        "stacks/bandup.yaml",
        "value: \"1\", apply_method: immediate }",
        "value: \"1\", apply_method: pending-reboot }",
    );
    assert!(!plan_env(p.root(), &registry, Mode::Normal)
        .await
        .summary
        .has_changes());

    // A parameter removed: reset to the engine's default (ResetDBParameterGroup).
    p.edit(
        "stacks/bandup.yaml",
        "        - { name: log_min_duration_statement, value: \"500\" }\n",
        "",
    );
    let reset = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(fields(&reset, "db_params"), ["parameters"]);
    converges(&reset, p.root(), &registry).await;
    assert_eq!(
        user_params("bandup-dev-db-params").await,
        ["rds.force_ssl=1"]
    );

    // A new family cannot be set on a group: it is replaced.
    p.edit(
        "stacks/bandup.yaml",
        "family: postgres16",
        "family: postgres17",
    );
    let replace = plan_env(p.root(), &registry, Mode::Normal).await;
    let r = planned(&replace, "db_params");
    assert_eq!(
        (r.action, r.forcing_fields()),
        (Action::Replace, vec!["family"])
    );
    let text = bandup_infra::ui::plan::render(&replace);
    assert!(
        text.contains("~ family = \"postgres16\" -> \"postgres17\"  # forces replacement: RDS cannot change a parameter group's family"),
        "{text}"
    );
    converges(&replace, p.root(), &registry).await;
    let groups = rds
        .describe_db_parameter_groups()
        .db_parameter_group_name("bandup-dev-db-params")
        .send()
        .await
        .expect("groups");
    assert_eq!(
        groups.db_parameter_groups()[0].db_parameter_group_family(),
        Some("postgres17")
    );
    assert_eq!(
        user_params("bandup-dev-db-params").await,
        ["rds.force_ssl=1"]
    );

    let destroy = plan_env(p.root(), &registry, Mode::Destroy { force: false }).await;
    apply_ok(&destroy, &registry).await;
    let left = rds
        .describe_db_parameter_groups()
        .send()
        .await
        .expect("groups");
    assert!(left.db_parameter_groups().iter().all(|g| !g
        .db_parameter_group_name()
        .unwrap_or_default()
        .starts_with("bandup-")));
}

#[tokio::test]
async fn rds_instance_creates_replans_nothing_updates_in_place_replaces_and_keeps_final_snapshots()
{
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let rds = aws_sdk_rds::Client::new(&sdk);
    let p = project(&[NETWORK, SUBNET_GROUP, PARAMETER_GROUP, INSTANCE]);

    let first = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(first.summary.add, 8);
    let text = bandup_infra::ui::plan::render(&first);
    assert!(text.contains("+ db"), "{text}");
    converges(&first, p.root(), &registry).await;
    let dbs = instances(&rds).await;
    assert_eq!(dbs.len(), 1);
    let db = &dbs[0];
    assert_eq!(db.db_instance_identifier(), Some("bandup-dev-db"));
    assert_eq!(db.db_instance_class(), Some("db.t4g.micro"));
    assert_eq!(db.storage_type(), Some("gp3"));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.publicly_accessible(), Some(false));
    assert!(db
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .is_some());

    let again = plan_env(p.root(), &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes());
    // The subnet group 1 (its tags from the tag index), the parameter group 1 + 2, the
    // instance 1 (its tags come with it).
    assert_eq!(reads(&again, "aws_db_subnet_group"), (1, 1));
    assert_eq!(reads(&again, "aws_db_parameter_group"), (1, 3));
    assert_eq!(reads(&again, "aws_db_instance"), (1, 1));
    let outputs = &planned(&again, "db").live.as_ref().expect("live").outputs;
    for attr in [
        "endpoint",
        "port",
        "master_secret_arn",
        "resource_id",
        "arn",
    ] {
        assert!(
            !matches!(
                outputs.get(attr),
                None | Some(bandup_infra::model::Value::Null)
            ),
            "{attr}: {outputs:?}"
        );
    }

    // Class and backups change in place.
    p.edit(
        "stacks/bandup.yaml",
        "instance_class: db.t4g.micro",
        "instance_class: db.t4g.small",
    );
    p.edit(
        "stacks/bandup.yaml",
        "backup_retention_period: 1",
        "backup_retention_period: 7",
    );
    let update = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(
        changes(&update),
        BTreeMap::from([("db".to_string(), Action::Update)])
    );
    assert_eq!(
        fields(&update, "db"),
        ["instance_class", "backup_retention_period"]
    );
    let text = bandup_infra::ui::plan::render(&update);
    assert!(
        text.contains("~ instance_class = \"db.t4g.micro\" -> \"db.t4g.small\"\n"),
        "{text}"
    );
    converges(&update, p.root(), &registry).await;
    assert_eq!(
        instances(&rds).await[0].db_instance_class(),
        Some("db.t4g.small")
    );

    // The database name exists only from launch: a new instance.
    p.edit(
        "stacks/bandup.yaml",
        "db_name: bandup",
        "db_name: bandup_app",
    );
    let replace = plan_env(p.root(), &registry, Mode::Normal).await;
    let r = planned(&replace, "db");
    assert_eq!(
        (r.action, r.forcing_fields()),
        (Action::Replace, vec!["db_name"])
    );
    let old = r.live.clone().expect("live");
    let snapshot = bandup_infra::aws::rds::instance::final_snapshot_name(&old);
    assert!(
        regex_like_final(&snapshot, "bandup-dev-db"),
        "deterministic name: {snapshot}"
    );
    let loss = r.data_loss.clone().expect("data loss said");
    assert!(loss.contains(&snapshot), "{loss}");
    let text = bandup_infra::ui::plan::render(&replace);
    assert!(
        text.contains("~ db_name = \"bandup\" -> \"bandup_app\"  # forces replacement: RDS creates the initial database only when the instance is made"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "! DATA LOSS: the database `bandup-dev-db` is deleted with its automated backups; final snapshot `{snapshot}` is kept"
        )),
        "{text}"
    );
    converges(&replace, p.root(), &registry).await;
    assert_eq!(instances(&rds).await[0].db_name(), Some("bandup_app"));
    assert_eq!(snapshots(&rds).await, std::slice::from_ref(&snapshot));

    // Destroy: everything goes, and the second incarnation's snapshot does not collide
    // with the first's.
    let destroy = plan_env(p.root(), &registry, Mode::Destroy { force: false }).await;
    let new = planned(&destroy, "db").live.clone().expect("live");
    let second = bandup_infra::aws::rds::instance::final_snapshot_name(&new);
    apply_ok(&destroy, &registry).await;
    assert!(instances(&rds).await.is_empty());
    assert!(subnet_groups(&rds).await.is_empty());
    let mut snaps = snapshots(&rds).await;
    snaps.sort();
    let mut want = vec![snapshot, second];
    want.sort();
    want.dedup();
    assert_eq!(snaps, want);
}

/// `<id>-final-<yyyymmddhhmmss>`.
fn regex_like_final(name: &str, id: &str) -> bool {
    name.strip_prefix(&format!("{id}-final-"))
        .is_some_and(|s| s.len() == 14 && s.chars().all(|c| c.is_ascii_digit()))
}

#[tokio::test]
async fn rds_deletion_protection_refuses_a_destroy_with_what_to_do_and_no_snapshot_is_said() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let rds = aws_sdk_rds::Client::new(&sdk);
    let p = project(&[NETWORK, SUBNET_GROUP, PARAMETER_GROUP, INSTANCE]);
    p.edit(
        "stacks/bandup.yaml",
        "deletion_protection: false",
        "deletion_protection: true",
    );
    let first = plan_env(p.root(), &registry, Mode::Normal).await;
    apply_ok(&first, &registry).await;

    let destroy = plan_env(p.root(), &registry, Mode::Destroy { force: false }).await;
    let report = apply(&destroy, &registry, 10, Arc::new(Quiet)).await;
    let errors: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|o| match &o.status {
            Status::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("deletion protection on")
            && errors[0].contains("Set `deletion_protection: false` on `db`"),
        "{}",
        errors[0]
    );
    assert_eq!(
        instances(&rds).await.len(),
        1,
        "the database is still there"
    );

    // As the message says: turn it off, apply, then destroy.
    p.edit(
        "stacks/bandup.yaml",
        "deletion_protection: true",
        "deletion_protection: false",
    );
    let off = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(fields(&off, "db"), ["deletion_protection"]);
    converges(&off, p.root(), &registry).await;

    // Without a final snapshot, the plan says the data is lost, and none is made.
    p.edit(
        "stacks/bandup.yaml",
        "      apply_immediately: true\n",
        "      apply_immediately: true\n      final_snapshot: false\n",
    );
    assert!(!plan_env(p.root(), &registry, Mode::Normal)
        .await
        .summary
        .has_changes());
    let destroy = plan_env(p.root(), &registry, Mode::Destroy { force: false }).await;
    let text = bandup_infra::ui::plan::render(&destroy);
    assert!(
        text.contains("! DATA LOSS: the database `bandup-dev-db` is deleted with its automated backups; no final snapshot (`final_snapshot: false`): its data is lost"),
        "{text}"
    );
    apply_ok(&destroy, &registry).await;
    assert!(instances(&rds).await.is_empty());
    assert!(snapshots(&rds).await.is_empty());
}

fn run(dir: &Path, args: &[&str], moto: &Moto) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("BANDUP_ENV")
        .env_remove("BANDUP_PROJECT")
        .envs(moto.env())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run bandup-infra")
}

#[tokio::test]
async fn rds_no_password_appears_in_plan_json_or_apply_output() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let p = project(&[NETWORK, SUBNET_GROUP, PARAMETER_GROUP, INSTANCE]);
    let mut printed = String::new();
    let mut keep = |o: &Output| {
        printed.push_str(&String::from_utf8_lossy(&o.stdout));
        printed.push_str(&String::from_utf8_lossy(&o.stderr));
        o.status.code()
    };
    assert_eq!(
        keep(&run(p.root(), &["plan", "--env", "dev"], &moto)),
        Some(0)
    );
    assert_eq!(
        keep(&run(p.root(), &["plan", "--env", "dev", "--json"], &moto)),
        Some(0)
    );
    let applied = run(
        p.root(),
        &["apply", "--env", "dev", "--auto-approve", "--lock=false"],
        &moto,
    );
    assert_eq!(
        keep(&applied),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stdout)
    );
    assert_eq!(
        keep(&run(p.root(), &["plan", "--env", "dev", "--json"], &moto)),
        Some(0)
    );

    // The password RDS made and keeps in Secrets Manager.
    let rds = aws_sdk_rds::Client::new(&sdk);
    let db = instances(&rds).await.remove(0);
    let arn = db
        .master_user_secret()
        .and_then(|s| s.secret_arn())
        .expect("secret")
        .to_string();
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .expect("secret value");
    let value: serde_json::Value =
        serde_json::from_str(secret.secret_string().expect("string")).expect("json");
    let password = value["password"].as_str().expect("password").to_string();
    assert!(password.len() >= 8);
    assert!(!printed.contains(&password), "the password was printed");
    assert!(!printed.to_lowercase().contains("master_user_password"));
    assert!(
        printed.contains("master_secret_arn")
            || printed.contains(&arn)
            || printed.contains("bandup-dev-db")
    );
}

#[tokio::test]
async fn rds_a_lost_create_db_instance_answer_converges_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 7);
    proxy.rule(Rule::on("CreateDBInstance").fault(Fault::LoseAnswer));
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = project(&[NETWORK, SUBNET_GROUP, PARAMETER_GROUP, INSTANCE]);
    let first = plan_env(p.root(), &registry, Mode::Normal).await;
    apply_ok(&first, &registry).await;
    assert_eq!(proxy.faults(), ["CreateDBInstance: LoseAnswer"]);
    assert_eq!(proxy.seen("CreateDBInstance"), 1, "not sent again");

    let clean = bandup_infra::aws::registry(&sdk_at(&moto.endpoint).await);
    let after = plan_env(p.root(), &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    let rds = aws_sdk_rds::Client::new(&sdk_at(&moto.endpoint).await);
    assert_eq!(instances(&rds).await.len(), 1);
}

/// Every RDS call that makes or changes something, its answer lost: one apply converges,
/// with one of each.
#[tokio::test]
async fn rds_lost_answers_on_each_call_that_makes_something_converge_in_one_apply() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.endpoint, 8);
    let ops = [
        ("CreateDBSubnetGroup", Fault::LoseAnswer),
        ("CreateDBParameterGroup", Fault::LoseConnection),
        ("ModifyDBParameterGroup", Fault::LoseAnswer),
        ("CreateDBInstance", Fault::LoseConnection),
    ];
    for (op, fault) in ops {
        proxy.rule(Rule::on(op).fault(fault));
    }
    let registry = bandup_infra::aws::registry(&sdk_at(&proxy.endpoint).await);
    let p = project(&[NETWORK, SUBNET_GROUP, PARAMETER_GROUP, INSTANCE]);
    let first = plan_env(p.root(), &registry, Mode::Normal).await;
    apply_ok(&first, &registry).await;
    assert_eq!(proxy.faults().len(), ops.len(), "{:?}", proxy.faults());
    for op in [
        "CreateDBSubnetGroup",
        "CreateDBParameterGroup",
        "CreateDBInstance",
    ] {
        assert_eq!(proxy.seen(op), 1, "{op} was not sent again");
    }

    let clean = bandup_infra::aws::registry(&sdk_at(&moto.endpoint).await);
    let after = plan_env(p.root(), &clean, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    let rds = aws_sdk_rds::Client::new(&sdk_at(&moto.endpoint).await);
    assert_eq!(instances(&rds).await.len(), 1);
    assert_eq!(subnet_groups(&rds).await.len(), 1);
}

/// A parameter group keeps its name when replaced, and AWS will not delete one in use:
/// a new family for a group in use is refused with what is in the way; declaring a second
/// group and pointing the instance at it is the way, and converges.
#[tokio::test]
async fn rds_a_parameter_group_in_use_is_not_deleted_and_the_error_names_the_database() {
    let moto = Moto::start();
    let sdk = moto.sdk().await;
    let registry = bandup_infra::aws::registry(&sdk);
    let rds = aws_sdk_rds::Client::new(&sdk);
    let p = project(&[NETWORK, SUBNET_GROUP, PARAMETER_GROUP, INSTANCE]);
    apply_ok(
        &plan_env(p.root(), &registry, Mode::Normal).await,
        &registry,
    )
    .await;

    p.edit(
        "stacks/bandup.yaml",
        "family: postgres16",
        "family: postgres17",
    );
    let replace = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(planned(&replace, "db_params").action, Action::Replace);
    let report = apply(&replace, &registry, 10, Arc::new(Quiet)).await;
    let failed: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|o| match &o.status {
            Status::Failed { error, .. } => Some(error.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].contains("InvalidDBParameterGroupState")
            && failed[0].contains("database instance bandup-dev-db (`db` of this stack)"),
        "{}",
        failed[0]
    );

    // The way to a new family: a second group, the instance moved to it, the first removed.
    p.edit(
        "stacks/bandup.yaml",
        "family: postgres17",
        "family: postgres16",
    );
    let text = std::fs::read_to_string(p.root().join("stacks/bandup.yaml")).expect("read");
    let text = text
        .replace("  db_params:\n", "  db_params17:\n")
        .replace("family: postgres16", "family: postgres17")
        .replace("${db_params.name}", "${db_params17.name}")
        .replace("engine_version: \"16.3\"", "engine_version: \"17.2\"");
    std::fs::write(p.root().join("stacks/bandup.yaml"), text).expect("write");
    let moved = plan_env(p.root(), &registry, Mode::Normal).await;
    assert_eq!(
        changes(&moved),
        BTreeMap::from([
            ("db".to_string(), Action::Update),
            ("db_params".to_string(), Action::Delete),
            ("db_params17".to_string(), Action::Create),
        ])
    );
    assert_eq!(
        fields(&moved, "db"),
        ["engine_version", "parameter_group_name"]
    );
    converges(&moved, p.root(), &registry).await;
    let db = instances(&rds).await.remove(0);
    assert_eq!(db.engine_version(), Some("17.2"));
    assert_eq!(
        db.db_parameter_groups()[0].db_parameter_group_name(),
        Some("bandup-dev-db-params17")
    );
}
