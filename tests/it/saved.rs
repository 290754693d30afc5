//! Saved plans in the engine, one rule per test, against the in-process fake provider:
//! what a saved plan holds, and when it has gone stale. (The CLI's checks of the file
//! and the emulator journey are in `ci.rs`.)

use crate::support::fake::{converge, plan_of, Fake, CHAIN};
use crate::support::{load, Project};
use bandup_infra::apply::apply;
use bandup_infra::model::{Quiet, Value};
use bandup_infra::plan::saved::SavedPlan;
use bandup_infra::plan::{Action, Mode};
use std::collections::BTreeMap;
use std::sync::Arc;

fn save(plan: &bandup_infra::plan::Plan, registry: &bandup_infra::provider::Registry) -> SavedPlan {
    let saved = SavedPlan::new(
        plan,
        &BTreeMap::new(),
        Default::default(),
        registry,
        "2026-11-30T00:00:00Z".into(),
    )
    .expect("save");
    let text = saved.to_json().expect("JSON");
    SavedPlan::parse("plan.json", &text).expect("reads back")
}

#[tokio::test]
async fn a_saved_plan_never_holds_a_secret_and_applies_it_from_the_stack() {
    let fake = Fake::new();
    let p = Project::with_stack(
        "stack: t\nresources:\n  a: { type: fake_thing, properties: { token: s3cr3t-token-value } }\n",
    );
    let registry = fake.registry();
    let plan = plan_of(&p, &registry, Mode::Normal).await;
    let saved = save(&plan, &registry);
    let text = saved.to_json().expect("JSON");
    assert!(!text.contains("s3cr3t-token-value"), "{text}");
    assert!(text.contains("\"kind\": \"sensitive\""), "{text}");

    let (stack, _) = load(p.root(), None, &registry);
    let fresh = plan_of(&p, &registry, Mode::Normal).await;
    let ready = saved.applicable(&fresh, &stack);
    let report = apply(&ready, &registry, 4, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
    let live = fake.copies_of("a");
    assert_eq!(
        live[0].props.get("token"),
        Some(&Value::Str("s3cr3t-token-value".into()))
    );
}

#[tokio::test]
async fn a_saved_plan_is_current_when_nothing_changed() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "free: { type: fake_thing }",
        "free: { type: fake_thing, properties: { size: 2 } }",
    );
    let saved = save(&plan_of(&p, &registry, Mode::Normal).await, &registry);
    let fresh = plan_of(&p, &registry, Mode::Normal).await;
    assert_eq!(saved.changed_live(&fresh, &registry), Vec::<String>::new());
    assert_eq!(saved.live.len(), 4, "every live object is fingerprinted");
}

#[tokio::test]
async fn a_saved_plan_is_stale_when_a_live_object_it_read_changed() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    converge(&p, &registry).await;
    p.edit(
        "stacks/bandup.yaml",
        "free: { type: fake_thing }",
        "free: { type: fake_thing, properties: { size: 2 } }",
    );
    let saved = save(&plan_of(&p, &registry, Mode::Normal).await, &registry);
    // `a` is not even in the plan's changes: `b` refers to it.
    fake.tag_out_of_band("a", "owner", Some("someone"));
    let fresh = plan_of(&p, &registry, Mode::Normal).await;
    let changed = saved.changed_live(&fresh, &registry);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].starts_with("`a` (") && changed[0].ends_with("was changed: its tags"),
        "{changed:?}"
    );
}

#[tokio::test]
async fn a_saved_plan_is_stale_when_a_copy_appeared_or_went() {
    let fake = Fake::new();
    let p = Project::with_stack(CHAIN);
    let registry = fake.registry();
    let saved = save(&plan_of(&p, &registry, Mode::Normal).await, &registry);
    assert!(saved
        .plan
        .resources
        .iter()
        .all(|r| r.action == Action::Create));
    // Another run made `free` in the meantime.
    fake.plant("default", "free", &[], 1);
    let fresh = plan_of(&p, &registry, Mode::Normal).await;
    let changed = saved.changed_live(&fresh, &registry);
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(
        changed[0].contains("`free`") && changed[0].contains("exists now"),
        "{changed:?}"
    );
}
