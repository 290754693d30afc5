//! Reads one YAML file into a `Node` tree in which every key and value keeps its line and
//! column, so later checks can point at the exact place of a problem.

use super::diagnostic::{Diagnostic, Pos};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DuplicateKeyPolicy, Spanned};
use std::collections::HashMap;
use std::fmt;

/// Limits on one stack or environment file, generous for real stacks (a 2,000-resource
/// stack is well inside them) and tight enough that a runaway or hostile file is refused
/// quickly instead of exhausting memory or the stack. Documented in docs/stack-format.md.
pub mod limits {
    /// Size of the file, checked before it is parsed: 4 MiB.
    pub const FILE_BYTES: u64 = 4 * 1024 * 1024;
    /// Lists and mappings inside each other.
    pub const DEPTH: usize = 32;
    /// Values (scalars, lists, mappings), counting each alias expansion.
    pub const NODES: usize = 250_000;
    /// Parser events (roughly: values plus the ends of lists and mappings).
    pub const EVENTS: usize = 1_000_000;
    /// Aliases (`*name`) and anchors (`&name`), each.
    pub const ALIASES: usize = 10_000;
    /// Parser events that aliases may replay in all, so that a few lines of aliases of
    /// aliases (an "alias bomb") cannot expand to millions of values.
    pub const ALIAS_REPLAY: usize = 250_000;
}

/// A YAML value with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order; duplicate keys are kept so they can be reported.
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub pos: Pos,
    pub name: String,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }
}

/// A key written twice in one mapping, which YAML forbids.
pub struct Duplicate<'a> {
    /// The keys leading to the mapping (`["resources", "vpc", "properties"]`); list items
    /// are written `[0]`.
    pub path: Vec<String>,
    pub first: &'a Key,
    pub again: &'a Key,
}

/// Every key written more than once in a mapping anywhere in `node`; a key written three
/// times gives two, each pointing back to the first.
pub fn duplicate_keys(node: &Node) -> Vec<Duplicate<'_>> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    find_duplicates(node, &mut path, &mut out);
    out
}

fn find_duplicates<'a>(node: &'a Node, path: &mut Vec<String>, out: &mut Vec<Duplicate<'a>>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            let mut seen: HashMap<&str, &Key> = HashMap::with_capacity(entries.len());
            for (k, v) in entries {
                match seen.get(k.name.as_str()) {
                    Some(first) => out.push(Duplicate {
                        path: path.clone(),
                        first,
                        again: k,
                    }),
                    None => {
                        seen.insert(&k.name, k);
                    }
                }
                path.push(k.name.clone());
                find_duplicates(v, path, out);
                path.pop();
            }
        }
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                find_duplicates(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Parse `text` (the contents of `file`) into a node tree, or the syntax error.
pub fn parse(file: &str, text: &str) -> Result<Node, Diagnostic> {
    let options = serde_saphyr::options! {
        duplicate_keys: DuplicateKeyPolicy::PassThrough,
        budget: serde_saphyr::budget! {
            max_depth: limits::DEPTH,
            max_nodes: limits::NODES,
            max_events: limits::EVENTS,
            max_aliases: limits::ALIASES,
            max_anchors: limits::ALIASES,
            max_total_scalar_bytes: limits::FILE_BYTES as usize,
            // One anchor used by every resource is fine; ALIAS_REPLAY bounds expansion.
            enforce_alias_anchor_ratio: false,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: limits::ALIAS_REPLAY,
            max_replay_stack_depth: limits::DEPTH,
        },
    };
    if text.trim().is_empty() {
        return Ok(Node {
            pos: Pos::new(file, 1, 1),
            kind: NodeKind::Map(Vec::new()),
        });
    }
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options) {
        Ok(root) => Ok(root.value.into_node(file, &root.referenced)),
        Err(e) => {
            let (line, col) = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize))
                .unwrap_or((1, 1));
            if let Some(exceeded) = limit_exceeded(&e) {
                return Err(Diagnostic::new(
                    Pos::new(file, line.max(1), col.max(1)),
                    format!("size limit exceeded: {exceeded}"),
                )
                .hint(LIMIT_HINT));
            }
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid YAML");
            // serde-saphyr says where; we say that ourselves.
            let first = match first.split_once(": ") {
                Some((head, rest)) if head.starts_with("error") || head.contains(" column ") => {
                    rest.split_once(": ")
                        .filter(|(h, _)| h.contains(" column "))
                        .map_or(rest, |(_, r)| r)
                }
                _ => first,
            };
            Err(Diagnostic::new(
                Pos::new(file, line.max(1), col.max(1)),
                format!("YAML syntax error: {first}"),
            )
            .hint("check the indentation and quoting near this position"))
        }
    }
}

/// What to do about a file over a limit.
pub const LIMIT_HINT: &str = "the limits on a stack or environment file are in \
docs/stack-format.md; split a very large stack into several, and write values out \
instead of nesting aliases";

/// The limit a parse error reports breaking, if it is one: which, and by how much.
fn limit_exceeded(e: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    let mut e = e;
    while let E::WithSnippet { error, .. } | E::AliasError { error, .. } = e {
        e = error;
    }
    Some(match e {
        E::Budget { breach, .. } => match breach {
            BudgetBreach::Depth { depth } => format!(
                "lists and mappings are nested {depth} deep; at most {} levels are read",
                limits::DEPTH
            ),
            BudgetBreach::Nodes { nodes } => format!(
                "the file holds {nodes} values (scalars, lists and mappings, each alias \
                 expansion counted); at most {} are read",
                limits::NODES
            ),
            BudgetBreach::Events { events } => format!(
                "the file produces {events} parser events; at most {} are read",
                limits::EVENTS
            ),
            BudgetBreach::Aliases { aliases } => format!(
                "the file uses {aliases} aliases (*name); at most {} are read",
                limits::ALIASES
            ),
            BudgetBreach::Anchors { anchors } => format!(
                "the file defines {anchors} anchors (&name); at most {} are read",
                limits::ALIASES
            ),
            BudgetBreach::ScalarBytes { total_scalar_bytes } => format!(
                "the file's values hold {total_scalar_bytes} bytes of text; at most {} are read",
                limits::FILE_BYTES
            ),
            other => format!("the YAML parser's budget was exceeded ({other:?})"),
        },
        E::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => format!(
            "aliases expand to more than {max_total_replayed_events} parser events, the \
             most alias expansion may produce"
        ),
        E::AliasReplayStackDepthExceeded {
            depth, max_depth, ..
        } => format!("aliases refer to aliases {depth} deep; at most {max_depth} levels are read"),
        E::AliasExpansionLimitExceeded {
            expansions,
            max_expansions_per_anchor,
            ..
        } => format!(
            "one anchor is expanded {expansions} times; at most {max_expansions_per_anchor} \
             are read"
        ),
        _ => return None,
    })
}

/// What serde-saphyr gives us before positions are attached to a file name.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl Raw {
    fn into_node(self, file: &str, loc: &serde_saphyr::Location) -> Node {
        let pos = Pos::new(file, loc.line() as usize, loc.column() as usize);
        let kind = match self {
            Raw::Null => NodeKind::Null,
            Raw::Bool(b) => NodeKind::Bool(b),
            Raw::Int(i) => NodeKind::Int(i),
            Raw::Float(f) => NodeKind::Float(f),
            Raw::Str(s) => NodeKind::Str(s),
            Raw::Seq(items) => NodeKind::Seq(
                items
                    .into_iter()
                    .map(|i| i.value.into_node(file, &i.referenced))
                    .collect(),
            ),
            Raw::Map(entries) => NodeKind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = Key {
                            pos: Pos::new(
                                file,
                                k.referenced.line() as usize,
                                k.referenced.column() as usize,
                            ),
                            name: k.value,
                        };
                        (key, v.value.into_node(file, &v.referenced))
                    })
                    .collect(),
            ),
        };
        Node { pos, kind }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(Raw::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Spanned<String>>()? {
            let v = map.next_value::<Spanned<Raw>>()?;
            entries.push((k, v));
        }
        Ok(Raw::Map(entries))
    }
}
