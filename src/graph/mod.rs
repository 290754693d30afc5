//! A generic directed acyclic graph: nodes, edges "a before b", topological order, cycle
//! detection that names the cycle, and DOT / Mermaid output. Knows nothing of resources.

pub mod builder;

use std::collections::BTreeSet;
use std::fmt::Write;

#[derive(Debug, Clone)]
pub struct Dag<N> {
    nodes: Vec<N>,
    /// `succ[a]` holds every `b` with an edge a -> b (a must finish before b starts).
    succ: Vec<BTreeSet<usize>>,
    pred: Vec<BTreeSet<usize>>,
}

impl<N> Default for Dag<N> {
    fn default() -> Self {
        Dag {
            nodes: Vec::new(),
            succ: Vec::new(),
            pred: Vec::new(),
        }
    }
}

impl<N> Dag<N> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, n: N) -> usize {
        self.nodes.push(n);
        self.succ.push(BTreeSet::new());
        self.pred.push(BTreeSet::new());
        self.nodes.len() - 1
    }

    /// `before` must finish before `after` starts. Self-edges are ignored.
    pub fn add_edge(&mut self, before: usize, after: usize) {
        if before != after {
            self.succ[before].insert(after);
            self.pred[after].insert(before);
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn node(&self, i: usize) -> &N {
        &self.nodes[i]
    }

    pub fn nodes(&self) -> &[N] {
        &self.nodes
    }

    pub fn successors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.succ[i].iter().copied()
    }

    pub fn predecessors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.pred[i].iter().copied()
    }

    /// Every node reachable from `i` (not including `i`).
    pub fn descendants(&self, i: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<usize> = self.successors(i).collect();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(self.successors(n));
            }
        }
        seen
    }

    /// Kahn's algorithm, ties broken by insertion order so output is stable.
    /// On a cycle, returns the nodes of one cycle in order.
    pub fn topo_order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let mut indeg: Vec<usize> = self.pred.iter().map(BTreeSet::len).collect();
        let mut ready: BTreeSet<usize> = (0..self.len()).filter(|&i| indeg[i] == 0).collect();
        let mut out = Vec::with_capacity(self.len());
        while let Some(n) = ready.pop_first() {
            out.push(n);
            for s in self.successors(n) {
                indeg[s] -= 1;
                if indeg[s] == 0 {
                    ready.insert(s);
                }
            }
        }
        if out.len() == self.len() {
            Ok(out)
        } else {
            let left: BTreeSet<usize> = (0..self.len()).filter(|&i| indeg[i] > 0).collect();
            Err(self.find_cycle(&left))
        }
    }

    /// Walk predecessors inside the unsorted remainder until a node repeats.
    fn find_cycle(&self, left: &BTreeSet<usize>) -> Vec<usize> {
        let Some(&start) = left.first() else {
            return Vec::new();
        };
        let mut path = vec![start];
        let mut cur = start;
        loop {
            let Some(next) = self.succ[cur].iter().copied().find(|s| left.contains(s)) else {
                return path;
            };
            if let Some(pos) = path.iter().position(|&p| p == next) {
                return path.split_off(pos);
            }
            path.push(next);
            cur = next;
        }
    }

    /// Groups of nodes in order of first appearance: `group` names each node's group.
    fn groups(&self, group: &impl Fn(&N) -> String) -> Vec<(String, Vec<usize>)> {
        let mut out: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let g = group(n);
            match out.iter_mut().find(|(name, _)| *name == g) {
                Some((_, members)) => members.push(i),
                None => out.push((g, vec![i])),
            }
        }
        out
    }

    /// Graphviz DOT, one cluster per group (`group` returning "" leaves a node outside).
    pub fn to_dot(&self, label: impl Fn(&N) -> String, group: impl Fn(&N) -> String) -> String {
        let mut s = String::from("digraph bandup {\n  rankdir=LR;\n  node [shape=box];\n");
        for (k, (name, members)) in self.groups(&group).into_iter().enumerate() {
            let indent = if name.is_empty() { "  " } else { "    " };
            if !name.is_empty() {
                let _ = writeln!(s, "  subgraph cluster_{k} {{\n    label={name:?};");
            }
            for i in members {
                let _ = writeln!(s, "{indent}n{i} [label={:?}];", label(&self.nodes[i]));
            }
            if !name.is_empty() {
                s.push_str("  }\n");
            }
        }
        for (a, succ) in self.succ.iter().enumerate() {
            for b in succ {
                let _ = writeln!(s, "  n{a} -> n{b};");
            }
        }
        s.push_str("}\n");
        s
    }

    /// Mermaid `flowchart`, one subgraph per group (`group` returning "" leaves a node
    /// outside).
    pub fn to_mermaid(&self, label: impl Fn(&N) -> String, group: impl Fn(&N) -> String) -> String {
        let mut s = String::from("flowchart LR\n");
        for (k, (name, members)) in self.groups(&group).into_iter().enumerate() {
            let indent = if name.is_empty() { "  " } else { "    " };
            if !name.is_empty() {
                let _ = writeln!(s, "  subgraph g{k}[\"{}\"]", name.replace('"', "'"));
            }
            for i in members {
                let text = label(&self.nodes[i]).replace('"', "'");
                let _ = writeln!(s, "{indent}n{i}[\"{text}\"]");
            }
            if !name.is_empty() {
                s.push_str("  end\n");
            }
        }
        for (a, succ) in self.succ.iter().enumerate() {
            for b in succ {
                let _ = writeln!(s, "  n{a} --> n{b}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_names_cycles() {
        let mut g = Dag::new();
        let a = g.add_node("a");
        let b = g.add_node("b");
        let c = g.add_node("c");
        g.add_edge(b, a);
        g.add_edge(c, b);
        assert_eq!(g.topo_order(), Ok(vec![c, b, a]));
        g.add_edge(a, c);
        let cycle = g.topo_order().err().unwrap_or_default();
        assert_eq!(cycle.len(), 3);
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;

    #[test]
    fn groups_become_subgraphs_and_clusters_in_order_of_first_appearance() {
        let mut g = Dag::new();
        let vpc = g.add_node("vpc");
        let db = g.add_node("db");
        let subnet = g.add_node("subnet");
        g.add_edge(vpc, subnet);
        g.add_edge(subnet, db);
        let layer = |n: &&str| {
            if *n == "db" {
                "data".to_string()
            } else {
                "network".to_string()
            }
        };
        let mermaid = g.to_mermaid(|n| n.to_string(), layer);
        assert_eq!(
            mermaid,
            "flowchart LR\n  subgraph g0[\"network\"]\n    n0[\"vpc\"]\n    n2[\"subnet\"]\n  end\n  subgraph g1[\"data\"]\n    n1[\"db\"]\n  end\n  n0 --> n2\n  n2 --> n1\n"
        );
        let dot = g.to_dot(|n| n.to_string(), |_| String::new());
        assert!(dot.contains("  n1 [label=\"db\"];\n"), "{dot}");
        assert!(!dot.contains("subgraph"), "{dot}");
        let clustered = g.to_dot(|n| n.to_string(), layer);
        assert!(
            clustered
                .contains("subgraph cluster_1 {\n    label=\"data\";\n    n1 [label=\"db\"];\n  }"),
            "{clustered}"
        );
    }
}
