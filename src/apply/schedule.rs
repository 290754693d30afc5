//! Plan -> graph of operations. The ordering rules, in one place:
//! 1. a create or update waits for the create/update of everything it references;
//! 2. a replace deletes the old resource first, then creates the new one; one that
//!    creates first (`create_first`: the old copy is in use) creates the new one, and
//!    deletes the old one after the updates that move its users over (rule 6);
//! 3. deletes run in reverse: a resource is deleted only after every resource that
//!    points at it (by live reference or declared dependency) is deleted;
//! 4. hidden orderings a provider declares (`delete_after`) become explicit edges;
//! 5. the deletes of a resource's extra live copies (duplicates) run before its create or
//!    update, so that what they hold (subnet associations, names, addresses) is free;
//! 6. the delete of a resource no longer declared (or of a copy replaced create-first)
//!    waits for the updates of resources
//!    whose live references point at it (the update moves them off it: a database to a
//!    new parameter group, before the old group can go), unless that closes a cycle.
//!
//! Deletes are one node per live copy: two copies of one address are two deletes, each
//! with its own edges.

use crate::graph::Dag;
use crate::model::{Addr, Op, Props, TimeoutOverrides};
use crate::plan::{Action, Plan, PlannedResource};
use crate::provider::{Live, Registry};
use std::collections::{BTreeMap, BTreeSet};

/// One operation on one resource.
#[derive(Clone, Debug)]
pub struct Step {
    pub addr: Addr,
    pub type_name: String,
    pub op: Op,
    pub desired: Props,
    pub live: Option<Live>,
    /// The resource's own `timeouts:`, if it sets them.
    pub timeouts: TimeoutOverrides,
    pub protect: bool,
    /// For the create of a replacement made beside the old copy: what its unique names
    /// get appended (from the plan's run id).
    pub suffix: Option<String>,
}

pub fn schedule(plan: &Plan, registry: &Registry) -> Dag<Step> {
    let mut dag = Dag::new();
    let suffix: String = plan.scope.run.chars().take(6).collect();
    let mut create: BTreeMap<&Addr, usize> = BTreeMap::new();
    // Every delete of an address (its copies), and the delete of each live id.
    let mut delete: BTreeMap<&Addr, Vec<usize>> = BTreeMap::new();
    let mut delete_of_id: BTreeMap<&str, usize> = BTreeMap::new();
    // The resource each delete node deletes.
    let mut deleting: Vec<(usize, &PlannedResource)> = Vec::new();
    for r in &plan.resources {
        let step = |op| Step {
            addr: r.addr.clone(),
            type_name: r.type_name.clone(),
            op,
            desired: r.desired.clone().unwrap_or_default(),
            live: r.live.clone(),
            timeouts: r.timeouts,
            protect: r.protect,
            suffix: None,
        };
        let d = match r.action {
            Action::NoOp => None,
            Action::Create => {
                create.insert(&r.addr, dag.add_node(step(Op::Create)));
                None
            }
            Action::Update => {
                create.insert(&r.addr, dag.add_node(step(Op::Update)));
                None
            }
            Action::Delete => Some(dag.add_node(step(Op::Delete))),
            Action::Replace if r.create_first => {
                let c = dag.add_node(Step {
                    suffix: Some(suffix.clone()),
                    ..step(Op::Create)
                });
                let d = dag.add_node(step(Op::Delete));
                dag.add_edge(c, d);
                create.insert(&r.addr, c);
                Some(d)
            }
            Action::Replace => {
                let d = dag.add_node(step(Op::Delete));
                let c = dag.add_node(step(Op::Create));
                dag.add_edge(d, c);
                create.insert(&r.addr, c);
                Some(d)
            }
        };
        if let Some(d) = d {
            delete.entry(&r.addr).or_default().push(d);
            if let Some(l) = &r.live {
                for key in l.keys() {
                    delete_of_id.insert(key, d);
                }
            }
            deleting.push((d, r));
        }
    }
    // Rule 1.
    for r in &plan.resources {
        if let Some(&me) = create.get(&r.addr) {
            for d in &r.deps {
                if let Some(&dep) = create.get(d) {
                    dag.add_edge(dep, me);
                }
            }
        }
    }
    for &(me, r) in &deleting {
        // Rule 3: r points at its deps (declared) and at the ids in its live refs.
        let declared = r
            .deps
            .iter()
            .flat_map(|d| delete.get(d).into_iter().flatten().copied());
        let live = r
            .live
            .iter()
            .flat_map(|l| l.refs.iter())
            .filter_map(|id| delete_of_id.get(id.as_str()).copied());
        let targets: BTreeSet<usize> = declared.chain(live).filter(|&t| t != me).collect();
        for t in targets {
            dag.add_edge(me, t);
        }
        // Rule 5 (for a replace, this is rule 2's edge again). Edges into deletes only
        // ever come from deletes, so this cannot close a cycle.
        if let (Some(&c), false) = (create.get(&r.addr), r.create_first) {
            dag.add_edge(me, c);
        }
    }
    // Rule 6.
    let updates: Vec<(usize, &PlannedResource)> = plan
        .resources
        .iter()
        .filter(|r| r.action == Action::Update)
        .filter_map(|r| Some((*create.get(&r.addr)?, r)))
        .collect();
    for &(d, gone) in &deleting {
        if gone.action != Action::Delete && !gone.create_first {
            continue;
        }
        let Some(old) = gone.live.as_ref() else {
            continue;
        };
        for &(u, r) in &updates {
            let points = r
                .live
                .iter()
                .any(|l| l.refs.iter().any(|x| old.keys().any(|k| k == x)));
            if points && !dag.descendants(d).contains(&u) {
                dag.add_edge(u, d);
            }
        }
    }
    // Rule 4.
    let deletes: Vec<(usize, String)> = deleting
        .iter()
        .map(|&(i, r)| (i, r.type_name.clone()))
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
