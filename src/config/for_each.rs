//! Resource declarations and `for_each` expansion: each entry under `resources:` with its
//! name, type and, for a `for_each` resource, its instance keys (`public_subnet[eu-west-2a]`).
//! Declarations come first so that references can be checked against them.

use super::diagnostic::Diagnostic;
use super::eval::plain;
use super::expr::{self, Expr, Piece};
use super::load::{is_name, Loader};
use super::params::{unknown_param, Params};
use super::yaml::{Key, Node};
use crate::model::Value;
use std::collections::BTreeMap;

const RESOURCE_KEYS: &[&str] = &[
    "type",
    "description",
    "properties",
    "depends_on",
    "protect",
    "timeouts",
    "for_each",
    "enabled",
];

/// One entry under `resources:`.
pub(super) struct Decl<'n> {
    pub(super) name: &'n Key,
    pub(super) body: &'n Node,
    pub(super) type_name: Option<String>,
    /// `None` for a single resource; the instance keys of a `for_each` resource.
    pub(super) keys: Option<Vec<(String, Value)>>,
    /// A `for_each` that gave no instances (its problem is reported where it is):
    /// references to the resource stay silent instead of adding follow-on errors.
    pub(super) broken: bool,
    /// `enabled: false` (or a parameter that is false in this environment): the resource
    /// has no instance here, and nothing may refer to it.
    pub(super) enabled: bool,
}

/// The per-instance context in which `${each.*}` is evaluated.
pub(super) struct Each {
    pub(super) key: String,
    pub(super) value: Value,
    pub(super) index: usize,
}

impl Decl<'_> {
    /// The instances to build: one (`None`) for a single resource, one per key for a
    /// `for_each` resource, none when its `for_each` is broken.
    pub(super) fn instances(&self) -> Vec<Option<Each>> {
        if !self.enabled {
            return Vec::new();
        }
        match &self.keys {
            None if self.body.get("for_each").is_some() => Vec::new(),
            None => vec![None],
            Some(keys) => keys
                .iter()
                .enumerate()
                .map(|(index, (key, value))| {
                    Some(Each {
                        key: key.clone(),
                        value: value.clone(),
                        index,
                    })
                })
                .collect(),
        }
    }
}

impl Loader<'_> {
    /// Every declaration under `resources:`; duplicates and broken entries reported.
    pub(super) fn declarations<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        params: &Params,
    ) -> Vec<Decl<'n>> {
        let mut decls: Vec<Decl> = Vec::new();
        let mut seen: BTreeMap<&str, &Key> = BTreeMap::new();
        for (k, body) in entries {
            if let Some(first) = seen.get(k.name.as_str()) {
                let d = Diagnostic::new(
                    k.pos.clone(),
                    format!("duplicate resource name `{}`", k.name),
                )
                .hint("resource names must be unique in a stack: rename one of them")
                .related(first.pos.clone(), "first defined here");
                self.err(d);
                continue;
            }
            seen.insert(&k.name, k);
            if let Some(d) = self.declaration(k, body, params) {
                decls.push(d);
            }
        }
        decls
    }

    fn declaration<'n>(&mut self, k: &'n Key, body: &'n Node, params: &Params) -> Option<Decl<'n>> {
        if !is_name(&k.name) {
            self.err(Diagnostic::new(
                k.pos.clone(),
                format!(
                    "resource name `{}` may hold only letters, digits, '_' and '-'",
                    k.name
                ),
            ));
        }
        if body.as_map().is_none() {
            self.err(Diagnostic::new(
                body.pos.clone(),
                format!(
                    "resource `{}` must be a mapping with at least `type`",
                    k.name
                ),
            ));
            return None;
        }
        self.known_keys(body, RESOURCE_KEYS, &format!("resource `{}`", k.name));
        let type_name = self.resource_type(k, body);
        let keys = body.get("for_each").and_then(|f| self.for_each(f, params));
        let enabled = body.get("enabled").is_none_or(|n| self.enabled(n, params));
        Some(Decl {
            name: k,
            body,
            type_name,
            broken: keys.is_none() && body.get("for_each").is_some(),
            keys,
            enabled,
        })
    }

    /// The declared `type` when it is a known resource type (else reported).
    fn resource_type(&mut self, k: &Key, body: &Node) -> Option<String> {
        let Some(t) = body.get("type") else {
            self.err(
                Diagnostic::new(
                    k.pos.clone(),
                    format!("missing required field `type` in resource `{}`", k.name),
                )
                .hint(format!("one of: {}", self.types.type_names().join(", "))),
            );
            return None;
        };
        let s = t.as_str().unwrap_or("");
        if self.types.schema(s).is_some() {
            return Some(s.to_string());
        }
        let names = self.types.type_names();
        self.err(
            Diagnostic::new(t.pos.clone(), format!("unknown resource type `{s}`")).suggest(
                s,
                names.iter().copied(),
                format!("known types: {}", names.join(", ")),
            ),
        );
        None
    }

    /// The instance keys (and `each.value`s) of a `for_each`, or `None` (reported).
    fn for_each(&mut self, node: &Node, params: &Params) -> Option<Vec<(String, Value)>> {
        let value = match node.as_str() {
            Some(s) => self.for_each_param(node, s, params)?,
            None => plain(node),
        };
        let keys = match value {
            Value::List(items) => items
                .into_iter()
                .map(|v| match &v {
                    Value::Str(s) => Some((s.clone(), v.clone())),
                    Value::Int(i) => Some((i.to_string(), v.clone())),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>(),
            Value::Map(m) => Some(m.into_iter().collect()),
            _ => None,
        };
        if keys.is_none() {
            self.err(Diagnostic::new(node.pos.clone(), "`for_each` must be a list of strings, a mapping, or `${param.NAME}` naming one").hint("for example: for_each: ${param.availability_zones}"));
        }
        keys
    }

    /// `enabled: true`/`false`, or a boolean parameter (`${param.create_zone}`) so that
    /// one environment makes a resource another takes as given (an existing zone).
    fn enabled(&mut self, node: &Node, params: &Params) -> bool {
        let value = match node.as_str() {
            Some(s) => match self.for_each_param(node, s, params) {
                Some(v) => v,
                None => return true,
            },
            None => plain(node),
        };
        match value {
            Value::Bool(b) => b,
            _ => {
                self.err(
                    Diagnostic::new(node.pos.clone(), "`enabled` must be true or false").hint(
                        "write true or false, or a boolean parameter such as ${param.create_zone}",
                    ),
                );
                true
            }
        }
    }

    /// The value of a `for_each` written as a string: `${param.NAME}`'s value, `Null`
    /// for any other string, `None` when the problem is already reported.
    fn for_each_param(&mut self, node: &Node, s: &str, params: &Params) -> Option<Value> {
        let pieces = match expr::split(s) {
            Ok(pieces) => pieces,
            Err(e) => {
                self.err(Diagnostic::new(node.pos.clone(), e));
                return None;
            }
        };
        let [Piece::Expr(Expr::Param(p))] = pieces.as_slice() else {
            return Some(Value::Null);
        };
        match params.get(p) {
            Some(v) => Some(v.clone()),
            None if self.poisoned.contains(p) => None,
            None => {
                self.err(unknown_param(node, p, params));
                None
            }
        }
    }
}
