//! The stack's outputs resolved from live state: the attributes of the live copies a plan
//! keeps, by address, and each declared output's value from them. No state file: what
//! discovery reads is the truth.

use super::{plan, Action, Mode, Plan, PlanError};
use crate::config::{OutputDecl, Stack};
use crate::graph::Dag;
use crate::model::{Addr, Outputs, Reporter, Value};
use crate::provider::Registry;
use std::collections::BTreeMap;

/// Attributes of live resources, by address.
pub type LiveOutputs = BTreeMap<Addr, Outputs>;

/// One output with its value as far as live state knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedOutput {
    pub name: String,
    /// The value with every reference replaced; `Value::Unknown` where a resource it
    /// refers to does not exist yet.
    pub value: Value,
    pub description: Option<String>,
    pub sensitive: bool,
    /// The resources it refers to that do not exist yet (not applied).
    pub missing: Vec<Addr>,
}

impl ResolvedOutput {
    /// Every resource it refers to exists and reported the attribute.
    pub fn is_known(&self) -> bool {
        self.missing.is_empty() && !self.value.has_unknown()
    }
}

/// The attributes of every declared resource's live copy that `plan` keeps in place
/// (unchanged, updated) or that exists now but is to be replaced. Extra copies and
/// resources no longer declared are left out.
pub fn live(plan: &Plan) -> LiveOutputs {
    live_where(plan, |a| {
        matches!(a, Action::NoOp | Action::Update | Action::Replace)
    })
}

/// The attributes an apply of `plan` leaves unchanged: those of resources it does not
/// touch.
pub fn unchanged(plan: &Plan) -> LiveOutputs {
    live_where(plan, |a| a == Action::NoOp)
}

fn live_where(plan: &Plan, keep: impl Fn(Action) -> bool) -> LiveOutputs {
    plan.resources
        .iter()
        .filter(|r| keep(r.action))
        .filter_map(|r| r.live.as_ref().map(|l| (r.addr.clone(), l.outputs.clone())))
        .collect()
}

/// Read live state (the discovery `plan` runs, and its choice among duplicate copies)
/// and return the attributes of the stack's live resources.
pub async fn read(
    stack: &Stack,
    graph: &Dag<Addr>,
    registry: &Registry,
    reporter: &dyn Reporter,
) -> Result<LiveOutputs, PlanError> {
    let plan = plan(stack, graph, registry, Mode::Normal, reporter).await?;
    Ok(live(&plan))
}

/// The outputs after a successful apply of `plan`: from the attributes the apply ended
/// with (`applied`) and what the plan read of resources the apply left alone; only if
/// an output is still unknown, from live state read again.
pub async fn after_apply(
    stack: &Stack,
    graph: &Dag<Addr>,
    registry: &Registry,
    plan: &Plan,
    applied: &LiveOutputs,
) -> Result<Vec<ResolvedOutput>, PlanError> {
    let mut known = unchanged(plan);
    known.extend(applied.iter().map(|(a, o)| (a.clone(), o.clone())));
    let resolved = resolve(stack, &known);
    if resolved.iter().all(ResolvedOutput::is_known) {
        return Ok(resolved);
    }
    let known = read(stack, graph, registry, &crate::model::Quiet).await?;
    Ok(resolve(stack, &known))
}

/// Every declared output of `stack`, resolved from `known`.
pub fn resolve(stack: &Stack, known: &LiveOutputs) -> Vec<ResolvedOutput> {
    stack
        .outputs
        .iter()
        .map(|o| resolve_one(o, known))
        .collect()
}

fn resolve_one(o: &OutputDecl, known: &LiveOutputs) -> ResolvedOutput {
    let lookup = |a: &Addr, attr: &str| known.get(a).and_then(|out| out.get(attr)).cloned();
    let mut refs = Vec::new();
    o.value.refs(&mut refs);
    let mut missing: Vec<Addr> = refs
        .into_iter()
        .filter(|a| !known.contains_key(a))
        .collect();
    missing.sort();
    missing.dedup();
    ResolvedOutput {
        name: o.name.clone(),
        value: o.value.resolve(&lookup),
        description: o.description.clone(),
        sensitive: o.sensitive,
        missing,
    }
}
