//! Builds the resource graph of a stack: one node per resource instance, an edge from each
//! resource to everything that references or `depends_on` it; a cycle becomes a diagnostic.

use super::Dag;
use crate::config::{Diagnostic, Stack};
use crate::model::Addr;
use std::collections::BTreeMap;

/// The graph of `stack`, edges pointing from a dependency to its dependents.
pub fn build(stack: &Stack) -> Result<Dag<Addr>, Diagnostic> {
    let mut g = Dag::new();
    let mut index = BTreeMap::new();
    for r in &stack.resources {
        index.insert(r.addr.clone(), g.add_node(r.addr.clone()));
    }
    for r in &stack.resources {
        let me = index[&r.addr];
        for d in &r.deps {
            if let Some(&dep) = index.get(d) {
                g.add_edge(dep, me);
            }
        }
    }
    match g.topo_order() {
        Ok(_) => Ok(g),
        Err(cycle) => {
            let names: Vec<String> = cycle.iter().map(|&i| g.node(i).to_string()).collect();
            let first = stack.resource(g.node(cycle[0]));
            let pos = first
                .map(|r| r.pos.clone())
                .unwrap_or_else(|| crate::config::Pos::new("stack", 1, 1));
            let mut chain = names.clone();
            chain.push(names[0].clone());
            let mut d = Diagnostic::new(pos, format!("dependency cycle: {}", chain.join(" -> ")))
                .hint("a resource cannot depend, directly or through others, on itself: remove one reference or depends_on");
            for &i in cycle.iter().skip(1) {
                if let Some(r) = stack.resource(g.node(i)) {
                    d = d.related(r.pos.clone(), format!("`{}` is part of the cycle", r.addr));
                }
            }
            Err(d)
        }
    }
}
