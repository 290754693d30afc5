//! The engine's behaviour, one rule per test, against the in-process fake provider.

use crate::support::fake::{converge, plan_of, Fake, CHAIN};
use crate::support::{load, Project};
use bandup_infra::apply::{apply, Status};
use bandup_infra::model::{Quiet, Value};
use bandup_infra::plan::{plan, restrict, Action, Mode, Plan};
use std::sync::Arc;
use std::time::Duration;

fn action(plan: &Plan, addr: &str) -> Action {
    plan.resources
        .iter()
        .find(|r| r.addr.as_str() == addr)
        .map(|r| r.action)
        .unwrap_or(Action::NoOp)
}

#[tokio::test]
async fn creates_follow_references() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    converge(&p, &fake.registry()).await;
    assert!(fake.at("create a") < fake.at("create b"));
    assert!(fake.at("create b") < fake.at("create c"));
}

#[tokio::test]
async fn a_second_plan_after_apply_has_no_changes() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:?}", again.summary);
    assert_eq!(again.summary.unchanged, 4);
}

#[tokio::test]
async fn attributes_of_resources_not_yet_created_are_known_after_apply() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let pl = plan_of(&p, &fake.registry(), Mode::Normal).await;
    let b = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "b")
        .expect("b planned");
    assert_eq!(
        b.preview.as_ref().and_then(|p| p.get("parent")),
        Some(&Value::Unknown)
    );
    assert!(bandup_infra::ui::plan::render(&pl).contains("parent = (known after apply)"));
}

#[tokio::test]
async fn deletes_run_in_reverse_dependency_order() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.clear_log();
    let pl = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    assert_eq!(pl.summary.destroy, 4);
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0);
    assert!(fake.at("delete c") < fake.at("delete b"));
    assert!(fake.at("delete b") < fake.at("delete a"));
    assert!(fake.live().is_empty());
}

#[tokio::test]
async fn replace_deletes_the_old_then_creates_the_new_before_dependents_update() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.clear_log();
    p.edit(
        "stacks/bandup.yaml",
        "a: { type: fake_thing }",
        "a: { type: fake_thing, properties: { zone: b } }",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    let a = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "a")
        .expect("a");
    assert_eq!(a.action, Action::Replace);
    assert_eq!(a.forcing_fields(), vec!["zone"]);
    // b refers to a's id, which changes: b is updated in place (parent does not force).
    assert_eq!(action(&pl, "b"), Action::Update);
    assert_eq!(action(&pl, "c"), Action::NoOp);
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0);
    assert!(fake.at("delete a") < fake.at("create a"));
    assert!(fake.at("create a") < fake.at("update b"));
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:?}", again.resources);
}

#[tokio::test]
async fn a_failure_skips_its_dependents_and_lets_in_flight_work_finish() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    fake.fail_on("a");
    fake.slow("free", Duration::from_millis(150));
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    let status = |addr: &str| {
        report
            .outcomes
            .iter()
            .find(|o| o.addr.as_str() == addr)
            .map(|o| o.status.clone())
    };
    assert!(
        matches!(status("a"), Some(Status::Failed { error, .. }) if error.contains("FakeFailure") && error.contains("req-1"))
    );
    assert!(matches!(status("b"), Some(Status::Skipped { because }) if because.as_str() == "a"));
    assert!(matches!(status("c"), Some(Status::Skipped { because }) if because.as_str() == "a"));
    assert!(
        matches!(status("free"), Some(Status::Done { .. })),
        "in-flight work completes"
    );
    assert_eq!(report.outcomes.len(), 4, "every outcome is reported");
    assert_eq!(fake.live(), ["free".to_string()].into());
}

#[tokio::test]
async fn running_apply_again_after_a_failure_converges() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    fake.fail_on("b");
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(apply(&pl, &registry, 10, Arc::new(Quiet)).await.failed(), 1);
    fake.heal("b");
    let again = converge(&p, &registry).await;
    assert_eq!(action(&again, "a"), Action::NoOp, "what succeeded is kept");
    assert_eq!(action(&again, "b"), Action::Create);
    assert_eq!(action(&again, "c"), Action::Create);
    assert!(!plan_of(&p, &registry, Mode::Normal)
        .await
        .summary
        .has_changes());
}

#[tokio::test]
async fn resources_no_longer_declared_are_planned_for_deletion() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit("stacks/bandup.yaml", "  free: { type: fake_thing }\n", "");
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(pl.summary.destroy, 1);
    let free = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "free")
        .expect("free");
    assert_eq!(free.action, Action::Delete);
    assert_eq!(
        free.reason.as_deref(),
        Some("no longer declared in the stack")
    );
    apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert!(!fake.live().contains("free"));
}

#[tokio::test]
async fn never_more_than_parallelism_operations_at_once() {
    let fake = Fake::new();
    let names: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    let p = Project::with_stack(&format!(
        "stack: t\nparameters:\n  names: {{ type: list, default: [{}] }}\nresources:\n  many: {{ type: fake_thing, for_each: \"${{param.names}}\" }}\n",
        names.join(", ")
    ));
    let registry = fake.registry();
    fake.set_default_delay(Duration::from_millis(30));
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(pl.summary.add, 20);
    let report = apply(&pl, &registry, 3, Arc::new(Quiet)).await;
    assert_eq!(report.count(bandup_infra::model::Op::Create), 20);
    assert_eq!(
        fake.max_in_flight(),
        3,
        "the bound is reached and never exceeded"
    );
}

#[tokio::test]
async fn protected_resources_are_not_destroyed_without_force() {
    let fake = Fake::new();
    let p =
        Project::with_stack("stack: t\nresources:\n  db: { type: fake_thing, protect: true }\n");
    let registry = fake.registry();
    converge(&p, &registry).await;
    let (stack, graph) = load(p.root(), None, &registry);
    let refused = plan(
        &stack,
        &graph,
        &registry,
        Mode::Destroy { force: false },
        &Quiet,
    )
    .await;
    assert!(refused.is_err_and(|e| e.to_string().contains("`db` is protected")));
    let forced = plan(
        &stack,
        &graph,
        &registry,
        Mode::Destroy { force: true },
        &Quiet,
    )
    .await
    .expect("plan");
    assert_eq!(forced.summary.destroy, 1);
}

#[tokio::test]
async fn plans_count_their_api_calls() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let pl = plan_of(&p, &fake.registry(), Mode::Normal).await;
    assert_eq!(
        pl.api_calls, 1,
        "one batched read for the one resource type"
    );
}

#[test]
fn a_cycle_is_reported_with_its_members() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nresources:\n  x: { type: fake_thing, properties: { parent: \"${y.id}\" } }\n  y: { type: fake_thing, properties: { parent: \"${x.id}\" } }\n",
    );
    let (stack, diags) = bandup_infra::config::load(
        &bandup_infra::config::LoadOptions {
            root: p.root().to_path_buf(),
            env: None,
            stack: None,
        },
        &fake.registry(),
    );
    assert!(diags.is_empty());
    let err = bandup_infra::graph::builder::build(&stack).expect_err("cycle");
    assert!(err.message.contains("dependency cycle"), "{}", err.message);
    assert!(
        err.message.contains("x -> y -> x") || err.message.contains("y -> x -> y"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn a_plan_survives_json_and_applies_the_same() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let json = serde_json::to_string(&planned).expect("serialize");
    let back: Plan = serde_json::from_str(&json).expect("deserialize");
    let report = apply(&back, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.count(bandup_infra::model::Op::Create), 4);
    assert!(fake.at("create a") < fake.at("create b"));
    assert!(!plan_of(&p, &registry, Mode::Normal)
        .await
        .summary
        .has_changes());
}

#[tokio::test]
async fn an_interrupt_lets_in_flight_work_finish_and_starts_nothing_new() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nparameters:\n  names: { type: list, default: [a, b, c, d, e] }\nresources:\n  many: { type: fake_thing, for_each: \"${param.names}\" }\n",
    );
    let registry = fake.registry();
    fake.set_default_delay(Duration::from_millis(200));
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let interrupt = bandup_infra::apply::Interrupt::default();
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        trigger.trigger();
    });
    let report =
        bandup_infra::apply::apply_until(&planned, &registry, 2, Arc::new(Quiet), &interrupt).await;
    assert_eq!(
        report.count(bandup_infra::model::Op::Create),
        2,
        "the two in flight finish"
    );
    assert_eq!(report.interrupted(), 3, "the rest never start");
    assert_eq!(report.outcomes.len(), 5, "every outcome is reported");
    assert_eq!(fake.live().len(), 2);
    let rest = converge(&p, &registry).await;
    assert_eq!(
        rest.summary.add, 3,
        "running apply again picks up where it stopped"
    );
}

/// The `tags` change planned for `addr`, if any.
fn tag_change(plan: &Plan, addr: &str) -> Option<(Value, Value)> {
    plan.resources
        .iter()
        .find(|r| r.addr.as_str() == addr)?
        .changes
        .iter()
        .find(|c| c.field == "tags")
        .map(|c| (c.before.clone(), c.after.clone()))
}

fn map(pairs: &[(&str, &str)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::Str(v.to_string())))
            .collect(),
    )
}

#[tokio::test]
async fn a_tag_changed_out_of_band_is_an_update_that_only_retags() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.tag_out_of_band("b", "Name", None);
    fake.clear_log();
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(action(&pl, "b"), Action::Update);
    let (before, after) = tag_change(&pl, "b").expect("tags change planned");
    assert_eq!(before, map(&[]));
    assert_eq!(after, map(&[("Name", "t-default-b")]));
    converge(&p, &registry).await;
    assert!(
        fake.log().contains(&"retag b".to_string()),
        "{:?}",
        fake.log()
    );
    assert!(
        !fake.log().contains(&"update b".to_string()),
        "{:?}",
        fake.log()
    );
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:#?}", again.resources);
}

#[tokio::test]
async fn a_tag_added_to_the_stack_is_put_on_every_resource() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "stack: t\n",
        "stack: t\ntags:\n  team: exams\n",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(pl.summary.change, 4, "{:#?}", pl.resources);
    assert_eq!(
        tag_change(&pl, "c"),
        Some((map(&[]), map(&[("team", "exams")])))
    );
    converge(&p, &registry).await;
    assert!(!plan_of(&p, &registry, Mode::Normal)
        .await
        .summary
        .has_changes());
}

#[tokio::test]
async fn a_tag_nobody_declared_is_removed_but_aws_and_creation_tags_are_kept() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.tag_out_of_band("a", "owner", Some("someone"));
    fake.tag_out_of_band("a", "aws:cloudformation:stack-name", Some("x"));
    fake.tag_out_of_band("a", "bandup:created", Some("2026-01-01T00:00:00Z"));
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        tag_change(&pl, "a"),
        Some((map(&[("owner", "someone")]), map(&[])))
    );
    converge(&p, &registry).await;
    let tags = &fake.copies_of("a")[0].tags;
    assert!(!tags.contains_key("owner"));
    assert!(tags.contains_key("aws:cloudformation:stack-name"));
    assert!(tags.contains_key("bandup:created"));
}

#[tokio::test]
async fn a_protected_resource_removed_from_the_stack_is_not_deleted() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nresources:\n  db: { type: fake_thing, protect: true }\n  web: { type: fake_thing }\n",
    );
    let registry = fake.registry();
    converge(&p, &registry).await;
    assert_eq!(
        fake.copies_of("db")[0]
            .tags
            .get("bandup:protect")
            .map(String::as_str),
        Some("true")
    );
    p.edit(
        "stacks/bandup.yaml",
        "  db: { type: fake_thing, protect: true }\n",
        "",
    );
    let (stack, graph) = load(p.root(), None, &registry);
    let refused = plan(&stack, &graph, &registry, Mode::Normal, &Quiet).await;
    let err = refused.expect_err("a protected orphan must not be deleted");
    assert!(err.to_string().contains("`db` is protected"), "{err}");
    assert!(err.to_string().contains("no longer declared"), "{err}");
    assert_eq!(fake.copies("db"), 1);
}

#[tokio::test]
async fn a_resource_still_being_made_by_a_stopped_apply_is_waited_for_not_made_again() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nresources:\n  db: { type: fake_thing }\n  app: { type: fake_thing, properties: { parent: \"${db.endpoint}\" } }\n",
    );
    let registry = fake.registry();
    // The first apply made `db` and was stopped while AWS was still creating it.
    fake.set_default_delay(Duration::ZERO);
    let first = plan_of(&p, &registry, Mode::Normal).await;
    let db_only = bandup_infra::plan::Plan {
        resources: first
            .resources
            .iter()
            .filter(|r| r.addr.as_str() == "db")
            .cloned()
            .collect(),
        ..first.clone()
    };
    apply(&db_only, &registry, 10, Arc::new(Quiet)).await;
    fake.still_making("db", "creating");
    fake.clear_log();

    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(action(&pl, "db"), Action::Update);
    let db = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "db")
        .expect("db");
    assert_eq!(db.changes[0].field, "status");
    assert_eq!(db.changes[0].before, Value::Str("creating".into()));
    // What it does not have yet is known after apply, not null.
    let app = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "app")
        .expect("app");
    assert_eq!(
        app.preview.as_ref().and_then(|p| p.get("parent")),
        Some(&Value::Unknown)
    );
    let text = bandup_infra::ui::plan::render(&pl);
    assert!(
        text.contains("~ status = \"creating\" -> \"ready (apply waits for it)\""),
        "{text}"
    );

    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
    assert_eq!(fake.copies("db"), 1, "waited for, not made again");
    assert!(fake.at("wait db") < fake.at("create app"));
    let db_id = fake.copies_of("db")[0].id.clone();
    assert_eq!(
        fake.copies_of("app")[0].props["parent"],
        Value::Str(format!("{db_id}.example"))
    );
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:#?}", again.resources);
}

#[tokio::test]
async fn protect_and_timeouts_come_from_the_stack_and_its_parameters() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nparameters:\n  keep: { type: bool, default: true }\nresources:\n  db:\n    type: fake_thing\n    protect: ${param.keep}\n    timeouts: { create: 1h30m, delete: 45s }\n",
    );
    let pl = plan_of(&p, &fake.registry(), Mode::Normal).await;
    let db = &pl.resources[0];
    assert!(db.protect);
    assert_eq!(db.timeouts.create, Some(5400));
    assert_eq!(db.timeouts.update, None);
    assert_eq!(db.timeouts.delete, Some(45));
}

/// `a` and the `user` that points at it, by id (`parent`).
const IN_USE: &str = r#"
stack: t
resources:
  a: { type: fake_thing }
  user: { type: fake_thing, properties: { parent: "${a.id}" } }
"#;

#[tokio::test]
async fn a_replacement_in_use_is_created_first_and_the_old_copy_deleted_after_its_users_move() {
    let fake = Fake::new();
    fake.create_first();
    fake.guard_in_use();
    let p = Project::with_stack(IN_USE);
    let registry = fake.registry();
    converge(&p, &registry).await;
    let old = fake.copies_of("a").remove(0).id;
    fake.clear_log();
    p.edit(
        "stacks/bandup.yaml",
        "a: { type: fake_thing }",
        "a: { type: fake_thing, properties: { zone: b } }",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    let a = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "a")
        .expect("a");
    assert_eq!(
        (a.action, a.create_first, a.symbol()),
        (Action::Replace, true, "+/-")
    );
    assert!(
        bandup_infra::ui::plan::render(&pl)
            .contains("creating the replacement first: in use by `user`"),
        "{}",
        bandup_infra::ui::plan::render(&pl)
    );
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
    assert!(fake.at("create a") < fake.at("update user"));
    assert!(fake.at("update user") < fake.at("delete a"));
    let now = fake.copies_of("a");
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].id, old);
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:?}", again.resources);
}

#[tokio::test]
async fn a_replacement_nothing_uses_deletes_the_old_copy_first() {
    let fake = Fake::new();
    fake.create_first();
    let p = Project::with_stack("stack: t\nresources:\n  a: { type: fake_thing }\n");
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.clear_log();
    p.edit(
        "stacks/bandup.yaml",
        "a: { type: fake_thing }",
        "a: { type: fake_thing, properties: { zone: b } }",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    let a = pl
        .resources
        .iter()
        .find(|r| r.addr.as_str() == "a")
        .expect("a");
    assert_eq!((a.action, a.create_first), (Action::Replace, false));
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0);
    assert!(fake.at("delete a") < fake.at("create a"));
}

#[tokio::test]
async fn resources_no_longer_declared_that_point_by_arn_are_deleted_first() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nresources:\n  a: { type: fake_thing }\n  b: { type: fake_thing, properties: { parent: \"${a.arn}\" } }\n  keep: { type: fake_thing }\n",
    );
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.clear_log();
    // Were the ARN not known as a's, both deletes would start together and a's,
    // being faster, would finish first.
    fake.slow("b", Duration::from_millis(200));
    p.edit("stacks/bandup.yaml", "  a: { type: fake_thing }\n", "");
    p.edit(
        "stacks/bandup.yaml",
        "  b: { type: fake_thing, properties: { parent: \"${a.arn}\" } }\n",
        "",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(pl.summary.destroy, 2);
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0);
    assert!(
        fake.at("delete b") < fake.at("delete a"),
        "{:?}",
        fake.log()
    );
}

#[tokio::test]
async fn an_update_that_renews_an_attribute_updates_what_refers_to_it() {
    let fake = Fake::new();
    fake.renew_endpoints();
    let p = Project::with_stack(
        "stack: t\nresources:\n  a: { type: fake_thing }\n  b: { type: fake_thing, properties: { parent: \"${a.endpoint}\" } }\n",
    );
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "a: { type: fake_thing }",
        "a: { type: fake_thing, properties: { size: 2 } }",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(action(&pl, "a"), Action::Update);
    assert_eq!(action(&pl, "b"), Action::Update);
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0);
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:?}", again.resources);
}

#[tokio::test]
async fn a_replacement_inside_one_replaced_delete_first_is_replaced_delete_first_too() {
    let (fake, holders) = (Fake::new(), Fake::holder());
    fake.create_first();
    fake.guard_in_use();
    // x (a holder, never made beside its old copy) is replaced by deleting first; y lives
    // inside x, z inside y (as a subnet in a VPC, a database in the subnet). Made first, y's new copy would wait for the new x, which
    // waits for the old x to go, which waits for the old y to go: a cycle.
    let p = Project::with_stack(
        "stack: t\nresources:\n  x: { type: fake_holder }\n  y: { type: fake_thing, properties: { inside: \"${x.id}\" } }\n  z: { type: fake_thing, properties: { inside: \"${y.id}\" } }\n",
    );
    let registry = fake.with(&holders);
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "x: { type: fake_holder }",
        "x: { type: fake_holder, properties: { zone: b } }",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    for addr in ["x", "y"] {
        let r = pl
            .resources
            .iter()
            .find(|r| r.addr.as_str() == addr)
            .expect("planned");
        assert_eq!(
            (r.action, r.create_first),
            (Action::Replace, false),
            "{addr}"
        );
    }
    let report = apply(&pl, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
    let again = plan_of(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:?}", again.resources);
}

#[tokio::test]
async fn a_deploys_plan_changes_only_what_it_reaches_and_what_waits_on_that() {
    let fake = Fake::new();
    fake.renew_endpoints();
    let p = Project::with_stack(
        "stack: t\nresources:\n  a: { type: fake_thing }\n  b: { type: fake_thing, properties: { parent: \"${a.endpoint}\" } }\n  c: { type: fake_thing }\n",
    );
    let registry = fake.registry();
    converge(&p, &registry).await;
    // a is what the deploy rolls out; c has a change pending from elsewhere.
    p.edit(
        "stacks/bandup.yaml",
        "a: { type: fake_thing }",
        "a: { type: fake_thing, properties: { size: 2 } }",
    );
    p.edit(
        "stacks/bandup.yaml",
        "c: { type: fake_thing }",
        "c: { type: fake_thing, properties: { size: 3 } }",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    let a = [bandup_infra::model::Addr::new("a", None)].into();
    let (deploy, keep, left_out) = restrict(pl, &a).expect("restricted");
    let kept: Vec<&str> = keep.iter().map(|k| k.as_str()).collect();
    assert_eq!(kept, ["a", "b"], "b waits on a's renewed endpoint");
    assert_eq!(action(&deploy, "c"), Action::NoOp);
    assert_eq!(
        left_out.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["c"]
    );
    let report = apply(&deploy, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0);
    let after = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(
        (
            action(&after, "a"),
            action(&after, "b"),
            action(&after, "c")
        ),
        (Action::NoOp, Action::NoOp, Action::Update),
        "c's change is still pending"
    );
}

#[tokio::test]
async fn a_resource_that_must_follow_a_deploy_but_has_other_changes_is_refused() {
    let fake = Fake::new();
    fake.renew_endpoints();
    let p = Project::with_stack(
        "stack: t\nresources:\n  a: { type: fake_thing }\n  b: { type: fake_thing, properties: { parent: \"${a.endpoint}\" } }\n",
    );
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "a: { type: fake_thing }",
        "a: { type: fake_thing, properties: { size: 2 } }",
    );
    p.edit(
        "stacks/bandup.yaml",
        "parent: \"${a.endpoint}\"",
        "parent: \"${a.endpoint}\", size: 5",
    );
    let pl = plan_of(&p, &registry, Mode::Normal).await;
    let a = [bandup_infra::model::Addr::new("a", None)].into();
    let refused = restrict(pl, &a).expect_err("refused");
    assert!(
        refused.contains("`b` must change with this deploy") && refused.contains("(size)"),
        "{refused}"
    );
}
