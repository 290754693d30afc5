//! The engine when answers are lost and resources have more than one live copy, one rule
//! per test, against the in-process fake provider. The same rules against the emulator,
//! through the fault-injecting proxy, are in `tests/it/faults.rs`.

use crate::support::fake::{converge, plan_of, Fake, CHAIN};
use crate::support::{load, Project};
use bandup_infra::apply::{apply, Status};
use bandup_infra::model::{Quiet, Value};
use bandup_infra::plan::{plan, Action, Mode, Plan, PlanError, PlannedResource};
use bandup_infra::provider::Registry;
use std::sync::Arc;

/// Environment of a stack loaded without `--env`.
const ENV: &str = "default";

async fn try_plan(p: &Project, registry: &Registry, mode: Mode) -> Result<Plan, PlanError> {
    let (stack, graph) = load(p.root(), None, registry);
    plan(&stack, &graph, registry, mode, &Quiet).await
}

async fn assert_no_changes(p: &Project, registry: &Registry) {
    let again = plan_of(p, registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:#?}", again.resources);
}

/// The planned resources at `addr` (a declared one and its extra copies).
fn at<'p>(plan: &'p Plan, addr: &str) -> Vec<&'p PlannedResource> {
    plan.resources
        .iter()
        .filter(|r| r.addr.as_str() == addr)
        .collect()
}

/// The one planned resource at `addr` with `action`.
fn one<'p>(plan: &'p Plan, addr: &str, action: Action) -> &'p PlannedResource {
    let found: Vec<_> = at(plan, addr)
        .into_iter()
        .filter(|r| r.action == action)
        .collect();
    assert_eq!(found.len(), 1, "{addr} {action:?} in {:#?}", plan.resources);
    found[0]
}

fn live_id(r: &PlannedResource) -> &str {
    r.live.as_ref().map(|l| l.id.as_str()).unwrap_or_default()
}

/// The id of the one live copy of `addr`.
fn only_copy(fake: &Fake, addr: &str) -> String {
    let copies = fake.copies_of(addr);
    assert_eq!(copies.len(), 1, "{addr}: {copies:#?}");
    copies[0].id.clone()
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_adopted_not_repeated() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    fake.lose_answers("a", 1);
    converge(&p, &registry).await;
    assert_eq!(fake.copies("a"), 1);
    assert_eq!(fake.log().iter().filter(|l| *l == "create a").count(), 1);
    assert_eq!(
        fake.copies_of("b")[0].props["parent"],
        Value::Str(only_copy(&fake, "a"))
    );
    assert_no_changes(&p, &registry).await;
}

#[tokio::test]
async fn a_resource_created_since_the_plan_is_adopted_not_created_again() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    // Another run (or a run killed after this create) made `a` in the meantime.
    let theirs = fake.plant(ENV, "a", &[], 1);
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
    assert_eq!(only_copy(&fake, "a"), theirs);
    assert!(!fake.log().contains(&"create a".to_string()));
    assert_no_changes(&p, &registry).await;
}

#[tokio::test]
async fn a_found_copy_that_would_need_replacing_is_not_adopted() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    let other = fake.plant(ENV, "a", &[("zone", Value::Str("elsewhere".into()))], 1);
    converge_plan(&planned, &registry).await;
    assert_eq!(fake.copies("a"), 2, "a copy of its own was created");
    let next = plan_of(&p, &registry, Mode::Normal).await;
    let extra = one(&next, "a", Action::Delete);
    assert_eq!(live_id(extra), other);
    assert!(
        extra
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("it matches the stack"),
        "{:?}",
        extra.reason
    );
}

async fn converge_plan(planned: &Plan, registry: &Registry) {
    let report = apply(planned, registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
}

#[tokio::test]
async fn a_create_that_never_arrived_is_tried_again_up_to_three_times() {
    let fake = Fake::new();
    let p = Project::with_stack("stack: t\nresources:\n  a: { type: fake_thing }\n");
    let registry = fake.registry();
    fake.drop_requests("a", 2);
    converge(&p, &registry).await;
    assert_eq!(fake.copies("a"), 1);

    let fake = Fake::new();
    let registry = fake.registry();
    let p2 = Project::with_stack("stack: t\nresources:\n  z: { type: fake_thing }\n");
    fake.drop_requests("z", 3);
    let planned = plan_of(&p2, &registry, Mode::Normal).await;
    let report = apply(&planned, &registry, 10, Arc::new(Quiet)).await;
    assert!(
        matches!(&report.outcomes[0].status, Status::Failed { error, .. } if error.contains("connection closed")),
        "{:?}",
        report.outcomes
    );
    assert_eq!(fake.copies("z"), 0, "nothing half-made is left");
}

#[tokio::test]
async fn an_update_whose_answer_is_lost_is_finished_after_reading_again() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "free: { type: fake_thing }",
        "free: { type: fake_thing, properties: { size: 2 } }",
    );
    fake.lose_answers("free", 1);
    converge(&p, &registry).await;
    assert_eq!(fake.copies_of("free")[0].props["size"], Value::Int(2));
    assert_no_changes(&p, &registry).await;
}

#[tokio::test]
async fn the_copy_in_use_is_kept_even_when_the_other_is_older() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    let in_use = only_copy(&fake, "a");
    let unused = fake.plant(ENV, "a", &[], 1);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(live_id(one(&planned, "a", Action::NoOp)), in_use);
    let extra = one(&planned, "a", Action::Delete);
    assert_eq!(live_id(extra), unused);
    let reason = extra.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains(&format!("{in_use} is kept: it is in use")),
        "{reason}"
    );
}

#[tokio::test]
async fn with_nothing_to_tell_copies_apart_the_older_is_kept() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    let newer = only_copy(&fake, "free");
    let older = fake.plant(ENV, "free", &[], 1);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(live_id(one(&planned, "free", Action::NoOp)), older);
    let extra = one(&planned, "free", Action::Delete);
    assert_eq!(live_id(extra), newer);
    assert!(extra
        .reason
        .as_deref()
        .unwrap_or_default()
        .contains("it is the older copy"));
}

#[tokio::test]
async fn a_duplicate_never_plans_a_replacement_of_what_is_in_use() {
    // A lost answer left an unused, older copy of `a`; the run's retry made the copy that
    // everything else was then built on.
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.plant(ENV, "a", &[], 1);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(planned.summary.replace, 0, "{:#?}", planned.resources);
    assert_eq!(planned.summary.change, 0, "{:#?}", planned.resources);
    assert_eq!(planned.summary.destroy, 1);
    assert_eq!(planned.summary.unchanged, 4);
}

#[tokio::test]
async fn of_a_dependents_copies_the_one_that_matches_its_kept_parent_is_kept() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    // An older copy of `b` hanging off a stray copy of `a` (two runs at once).
    let stray_a = fake.plant(ENV, "a", &[], 1);
    let stray_b = fake.plant(ENV, "b", &[("parent", Value::Str(stray_a.clone()))], 2);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(live_id(one(&planned, "b", Action::Delete)), stray_b);
    assert_ne!(live_id(one(&planned, "b", Action::NoOp)), stray_b);
    assert_eq!(live_id(one(&planned, "a", Action::Delete)), stray_a);
    assert_eq!(planned.summary.replace, 0);
}

#[tokio::test]
async fn copies_left_by_two_runs_are_kept_together_from_one_run() {
    // Two runs built the same four resources at once. Age alone would keep run A's
    // `net` (older) and run B's `eip` (older), and neither `nat` could stay: each points
    // at one copy that goes. Keeping one run's group whole replaces nothing.
    let p = Project::with_stack(
        "stack: t\nresources:\n  net: { type: fake_thing }\n  eip: { type: fake_thing }\n  nat: { type: fake_thing, properties: { inside: \"${net.id}\", using: \"${eip.id}\" } }\n  rt: { type: fake_thing, properties: { parent: \"${nat.id}\" } }\n",
    );
    let fake = Fake::new();
    let registry = fake.registry();
    let s = |v: &str| Value::Str(v.to_string());
    let net_a = fake.plant(ENV, "net", &[], 10);
    let eip_a = fake.plant(ENV, "eip", &[], 30);
    let nat_a = fake.plant(
        ENV,
        "nat",
        &[("inside", s(&net_a)), ("using", s(&eip_a))],
        40,
    );
    fake.plant(ENV, "rt", &[("parent", s(&nat_a))], 50);
    let net_b = fake.plant(ENV, "net", &[], 20);
    let eip_b = fake.plant(ENV, "eip", &[], 5);
    let nat_b = fake.plant(
        ENV,
        "nat",
        &[("inside", s(&net_b)), ("using", s(&eip_b))],
        25,
    );
    let rt_b = fake.plant(ENV, "rt", &[("parent", s(&nat_b))], 35);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(planned.summary.replace, 0, "{:#?}", planned.resources);
    assert_eq!((planned.summary.unchanged, planned.summary.destroy), (4, 4));
    for (addr, id) in [
        ("net", &net_b),
        ("eip", &eip_b),
        ("nat", &nat_b),
        ("rt", &rt_b),
    ] {
        assert_eq!(
            live_id(one(&planned, addr, Action::NoOp)),
            id.as_str(),
            "{addr}"
        );
    }
    converge_plan(&planned, &registry).await;
    assert_no_changes(&p, &registry).await;
}

#[tokio::test]
async fn extra_copies_are_deleted_and_the_next_plan_is_empty() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    let stray_a = fake.plant(ENV, "a", &[], 1);
    fake.plant(ENV, "b", &[("parent", Value::Str(stray_a))], 2);
    fake.plant(ENV, "free", &[], 3000);
    converge(&p, &registry).await;
    for addr in ["a", "b", "c", "free"] {
        assert_eq!(fake.copies(addr), 1, "{addr}");
    }
    assert_no_changes(&p, &registry).await;
}

#[tokio::test]
async fn apply_never_resolves_a_reference_to_a_copy_it_deletes() {
    let p = Project::with_stack(
        "stack: t\nresources:\n  eip: { type: fake_thing }\n  nat: { type: fake_thing, properties: { parent: \"${eip.id}\" } }\n",
    );
    let fake = Fake::new();
    let registry = fake.registry();
    let kept = fake.plant(ENV, "eip", &[], 1);
    let extra = fake.plant(ENV, "eip", &[], 2);
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(live_id(one(&planned, "eip", Action::Delete)), extra);
    converge_plan(&planned, &registry).await;
    assert_eq!(only_copy(&fake, "eip"), kept);
    assert_eq!(fake.copies_of("nat")[0].props["parent"], Value::Str(kept));
    assert_no_changes(&p, &registry).await;
}

#[tokio::test]
async fn extra_copies_are_deleted_before_the_kept_copy_changes() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.plant(ENV, "free", &[], 5000);
    p.edit(
        "stacks/bandup.yaml",
        "free: { type: fake_thing }",
        "free: { type: fake_thing, properties: { size: 3 } }",
    );
    fake.clear_log();
    converge(&p, &registry).await;
    assert!(
        fake.at("delete free") < fake.at("update free"),
        "{:?}",
        fake.log()
    );
}

#[tokio::test]
async fn destroy_deletes_every_copy_each_after_what_points_at_it() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    let a2 = fake.plant(ENV, "a", &[], 1);
    fake.plant(ENV, "b", &[("parent", Value::Str(a2))], 2);
    fake.clear_log();
    let planned = plan_of(&p, &registry, Mode::Destroy { force: false }).await;
    assert_eq!(planned.summary.destroy, 6);
    converge_plan(&planned, &registry).await;
    assert!(fake.live().is_empty());
    let log = fake.log();
    let positions = |entry: &str| -> Vec<usize> {
        log.iter()
            .enumerate()
            .filter(|(_, l)| *l == entry)
            .map(|(i, _)| i)
            .collect()
    };
    let (a, b, c) = (
        positions("delete a"),
        positions("delete b"),
        positions("delete c"),
    );
    assert_eq!((a.len(), b.len(), c.len()), (2, 2, 1), "{log:?}");
    assert!(b.iter().all(|bi| a.iter().all(|ai| bi < ai)), "{log:?}");
    assert!(c.iter().all(|ci| b.iter().all(|bi| ci < bi)), "{log:?}");
}

#[tokio::test]
async fn a_protected_resource_with_two_copies_is_refused_not_deleted() {
    let fake = Fake::new();
    let p =
        Project::with_stack("stack: t\nresources:\n  db: { type: fake_thing, protect: true }\n");
    let registry = fake.registry();
    converge(&p, &registry).await;
    fake.plant(ENV, "db", &[], 5000);
    let refused = try_plan(&p, &registry, Mode::Normal).await;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("has more than one live copy")),
        "{:?}",
        refused.map(|p| p.summary)
    );
    assert_eq!(fake.copies("db"), 2);
}

#[tokio::test]
async fn when_two_runs_copies_are_linked_into_one_group_every_address_keeps_one_runs_copy() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nresources:\n  v: { type: fake_thing }\n  x: { type: fake_thing, properties: { parent: \"${v.id}\" } }\n  y: { type: fake_thing }\n  n: { type: fake_thing, properties: { inside: \"${x.id}\", using: \"${y.id}\" } }\n",
    );
    let registry = fake.registry();
    let s = |v: &str| Value::Str(v.to_string());
    // Runs A and B both made x, y and n (a subnet, an address, a gateway using both); B
    // adopted A's v (the VPC), which links all their copies into one group, and made its
    // y before A did. In use and group cannot tell the copies apart.
    let v = fake.plant(ENV, "v", &[], 1);
    let xa = fake.plant(ENV, "x", &[("parent", s(&v))], 10);
    let xb = fake.plant(ENV, "x", &[("parent", s(&v))], 20);
    let yb = fake.plant(ENV, "y", &[], 11);
    let ya = fake.plant(ENV, "y", &[], 21);
    let na = fake.plant(ENV, "n", &[("inside", s(&xa)), ("using", s(&ya))], 30);
    let nb = fake.plant(ENV, "n", &[("inside", s(&xb)), ("using", s(&yb))], 31);
    for id in [&v, &xa, &ya, &na] {
        fake.made_by(id, "run-a");
    }
    for id in [&xb, &yb, &nb] {
        fake.made_by(id, "run-b");
    }
    let planned = plan_of(&p, &registry, Mode::Normal).await;
    // Address by address, the older copy would be x of A and y of B: no n fits both.
    assert!(
        planned
            .resources
            .iter()
            .all(|r| r.action != Action::Replace),
        "{:#?}",
        planned.resources
    );
    assert_eq!(live_id(one(&planned, "x", Action::Update)), xa);
    assert_eq!(live_id(one(&planned, "y", Action::Update)), ya);
    assert_eq!(live_id(one(&planned, "n", Action::Update)), na);
    let gone = one(&planned, "y", Action::Delete);
    assert_eq!(live_id(gone), yb);
    assert!(
        gone.reason
            .as_deref()
            .is_some_and(|r| r.contains("made by the run whose copies are kept")),
        "{:?}",
        gone.reason
    );
    converge(&p, &registry).await;
    assert_no_changes(&p, &registry).await;
    assert_eq!(only_copy(&fake, "n"), na);
}
