//! Plan -> graph of operations. The ordering rules, in one place:
//! 1. a create or update waits for the create/update of everything it references;
//! 2. a replace deletes the old resource first, then creates the new one;
//! 3. deletes run in reverse: a resource is deleted only after every resource that
//!    points at it (by live reference or declared dependency) is deleted;
//! 4. hidden orderings a provider declares (`delete_after`) become explicit edges.

use crate::graph::Dag;
use crate::model::{Addr, Op, Props};
use crate::plan::{Action, Plan};
use crate::provider::{Live, Registry};
use std::collections::BTreeMap;

/// One operation on one resource.
#[derive(Clone, Debug)]
pub struct Step {
    pub addr: Addr,
    pub type_name: String,
    pub op: Op,
    pub desired: Props,
    pub live: Option<Live>,
}

pub fn schedule(plan: &Plan, registry: &Registry) -> Dag<Step> {
    let mut dag = Dag::new();
    let mut create: BTreeMap<&Addr, usize> = BTreeMap::new();
    let mut delete: BTreeMap<&Addr, usize> = BTreeMap::new();
    for r in &plan.resources {
        let step = |op| Step {
            addr: r.addr.clone(),
            type_name: r.type_name.clone(),
            op,
            desired: r.desired.clone().unwrap_or_default(),
            live: r.live.clone(),
        };
        match r.action {
            Action::NoOp => {}
            Action::Create => {
                create.insert(&r.addr, dag.add_node(step(Op::Create)));
            }
            Action::Update => {
                create.insert(&r.addr, dag.add_node(step(Op::Update)));
            }
            Action::Delete => {
                delete.insert(&r.addr, dag.add_node(step(Op::Delete)));
            }
            Action::Replace => {
                let d = dag.add_node(step(Op::Delete));
                let c = dag.add_node(step(Op::Create));
                dag.add_edge(d, c);
                delete.insert(&r.addr, d);
                create.insert(&r.addr, c);
            }
        }
    }
    let by_id: BTreeMap<&str, &Addr> = plan
        .resources
        .iter()
        .filter_map(|r| r.live.as_ref().map(|l| (l.id.as_str(), &r.addr)))
        .collect();
    for r in &plan.resources {
        // Rule 1.
        if let Some(&me) = create.get(&r.addr) {
            for d in &r.deps {
                if let Some(&dep) = create.get(d) {
                    dag.add_edge(dep, me);
                }
            }
        }
        // Rule 3: r points at its deps (declared) and at the ids in its live refs.
        if let Some(&me) = delete.get(&r.addr) {
            let live_targets = r
                .live
                .iter()
                .flat_map(|l| l.refs.iter())
                .filter_map(|id| by_id.get(id.as_str()).copied());
            for target in r.deps.iter().chain(live_targets) {
                if let Some(&t) = delete.get(target) {
                    dag.add_edge(me, t);
                }
            }
        }
    }
    // Rule 4.
    let deletes: Vec<(usize, String)> = delete
        .values()
        .map(|&i| (i, dag.node(i).type_name.clone()))
        .collect();
    for (i, type_name) in &deletes {
        let Some(p) = registry.get(type_name) else {
            continue;
        };
        for before in p.delete_after() {
            for (j, t) in &deletes {
                if t == before {
                    dag.add_edge(*j, *i);
                }
            }
        }
    }
    dag
}
