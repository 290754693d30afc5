//! What the per-type emulator tests share: a plan of a project loaded without an
//! environment, an apply that must converge, and the plan's changes by address.

use super::{load, Project};
use bandup_infra::apply::{apply, Report, Status};
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The plan of the project `p` (loaded without an environment) against `registry`.
pub async fn plan_of(p: &Project, registry: &Registry, mode: Mode) -> Plan {
    let (stack, graph) = load(p.root(), None, registry);
    plan(&stack, &graph, registry, mode, &Quiet)
        .await
        .expect("plan")
}

/// Every failed operation of an apply, as `address: error`.
pub fn failures(report: &Report) -> Vec<String> {
    report
        .outcomes
        .iter()
        .filter_map(|o| match &o.status {
            Status::Failed { error, .. } => Some(format!("{}: {error}", o.addr)),
            _ => None,
        })
        .collect()
}

/// Apply `planned`, then check that a new plan has nothing left to do; that plan.
pub async fn apply_converges(planned: &Plan, p: &Project, registry: &Registry) -> Plan {
    let report = apply(planned, registry, 10, Arc::new(Quiet)).await;
    assert!(failures(&report).is_empty(), "{:#?}", failures(&report));
    let after = plan_of(p, registry, Mode::Normal).await;
    assert!(!after.summary.has_changes(), "{:#?}", changes(&after));
    after
}

/// The planned actions other than no-op, by address, with the fields they change.
pub fn changes(p: &Plan) -> BTreeMap<String, (Action, Vec<String>)> {
    p.resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .map(|r| {
            let fields = r.changes.iter().map(|c| c.field.clone()).collect();
            (r.addr.to_string(), (r.action, fields))
        })
        .collect()
}

/// An expected entry of `changes`.
pub fn change(action: Action, fields: &[&str]) -> (Action, Vec<String>) {
    (action, fields.iter().map(|f| f.to_string()).collect())
}

/// The AWS id of the live resource planned at `addr` ("" when none).
pub fn live_id(p: &Plan, addr: &str) -> String {
    p.resources
        .iter()
        .find(|r| r.addr.as_str() == addr)
        .and_then(|r| r.live.as_ref())
        .map(|l| l.id.clone())
        .unwrap_or_default()
}
