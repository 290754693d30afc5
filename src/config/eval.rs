//! Evaluation of written values: `${param...}` and `${each...}` substituted, literal text
//! joined, and `${resource.attr}` (one instance, or `[*]` for all) turned into a
//! `Value::Ref` or a `Value::Template` that the engine resolves once the target exists.

use super::diagnostic::{did_you_mean, Diagnostic};
use super::expr::{self, Expr, Index, Piece};
use super::for_each::{Decl, Each};
use super::params::{unknown_param, Params};
use super::yaml::{Node, NodeKind};
use super::TypeInfo;
use crate::model::{Addr, RefExpr, Template, TemplatePart, Value};
use std::collections::BTreeSet;

/// Evaluation of written values in one context (a resource instance, or the outputs).
pub(super) struct Eval<'a> {
    pub(super) params: &'a Params,
    pub(super) poisoned: &'a BTreeSet<String>,
    /// The instance being evaluated, in a `for_each` resource.
    pub(super) each: Option<&'a Each>,
    pub(super) decls: &'a [Decl<'a>],
    pub(super) types: &'a dyn TypeInfo,
    /// Every instance a reference named.
    pub(super) deps: Vec<Addr>,
    /// A reference to a resource not made in this environment (`enabled: false`) is
    /// null rather than an error (outputs).
    pub(super) absent_is_null: bool,
    pub(super) errors: Vec<Diagnostic>,
    /// Every parameter an evaluated value used.
    pub(super) params_used: BTreeSet<String>,
}

impl Eval<'_> {
    pub(super) fn value(&mut self, node: &Node) -> Value {
        match &node.kind {
            NodeKind::Str(s) => self.string(node, s),
            NodeKind::Seq(items) => Value::List(items.iter().map(|i| self.value(i)).collect()),
            NodeKind::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.name.clone(), self.value(v)))
                    .collect(),
            ),
            _ => plain(node),
        }
    }

    /// A string: literal, one expression keeping its value's type, or a template.
    fn string(&mut self, node: &Node, s: &str) -> Value {
        let pieces = match expr::split(s) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(Diagnostic::new(node.pos.clone(), e));
                return Value::Null;
            }
        };
        let mut parts: Vec<Value> = Vec::new();
        for p in pieces {
            parts.push(match p {
                Piece::Lit(l) => Value::Str(l),
                Piece::Expr(e) => self.expr(node, &e),
            });
        }
        if parts.len() == 1 {
            return parts.pop().unwrap_or(Value::Null);
        }
        self.template(node, parts)
    }

    /// Several pieces joined into one string, or a template when references remain.
    fn template(&mut self, node: &Node, parts: Vec<Value>) -> Value {
        let mut tpl = Vec::new();
        for p in parts {
            match p {
                Value::Str(s) => tpl.push(TemplatePart::Lit(s)),
                Value::Int(i) => tpl.push(TemplatePart::Lit(i.to_string())),
                Value::Bool(b) => tpl.push(TemplatePart::Lit(b.to_string())),
                Value::Ref(r) => tpl.push(TemplatePart::Ref(r)),
                Value::Null => return Value::Null,
                other => {
                    self.errors.push(Diagnostic::new(
                        node.pos.clone(),
                        format!("cannot put {} inside a string", describe(&other)),
                    ));
                    return Value::Null;
                }
            }
        }
        if tpl.iter().any(|p| matches!(p, TemplatePart::Ref(_))) {
            return Value::Template(Template { parts: tpl });
        }
        let text = tpl.into_iter().map(|p| match p {
            TemplatePart::Lit(l) => l,
            TemplatePart::Ref(_) => String::new(),
        });
        Value::Str(text.collect())
    }

    fn expr(&mut self, node: &Node, e: &Expr) -> Value {
        match e {
            Expr::Param(p) => match self.params.get(p) {
                Some(v) => {
                    self.params_used.insert(p.clone());
                    v.clone()
                }
                None if self.poisoned.contains(p) => Value::Null,
                None => {
                    self.errors.push(unknown_param(node, p, self.params));
                    Value::Null
                }
            },
            Expr::Each(path) => match self.each_path(path) {
                Ok(v) => v,
                Err(msg) => {
                    self.errors.push(Diagnostic::new(node.pos.clone(), msg));
                    Value::Null
                }
            },
            Expr::Resource { name, index, attr } => {
                self.reference(node, name, index.as_ref(), attr)
            }
        }
    }

    fn each_path(&self, path: &[String]) -> Result<Value, String> {
        let Some(each) = self.each else {
            return Err("`each` is only available in a resource with `for_each`".into());
        };
        let mut v = match path.first().map(String::as_str) {
            Some("key") => Value::Str(each.key.clone()),
            Some("index") => Value::Int(each.index as i64),
            Some("value") => each.value.clone(),
            _ => return Err("expected each.key, each.value or each.index".into()),
        };
        for seg in path.iter().skip(1) {
            v = v
                .as_map()
                .and_then(|m| m.get(seg))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "each.value has no field `{seg}` for instance `{}`",
                        each.key
                    )
                })?;
        }
        Ok(v)
    }

    /// `${name.attr}`, `${name[key].attr}` or `${name[*].attr}` as a reference.
    fn reference(&mut self, node: &Node, name: &str, index: Option<&Index>, attr: &str) -> Value {
        let Some(decl) = self.decls.iter().find(|d| d.name.name == name) else {
            let d = Diagnostic::new(
                node.pos.clone(),
                format!("reference to unknown resource `{name}`"),
            )
            .suggest(
                name,
                self.decls.iter().map(|d| d.name.name.as_str()),
                "references name a resource declared under `resources:`",
            );
            self.errors.push(d);
            return Value::Null;
        };
        if let Some(d) = self.unknown_attr(node, decl, name, attr) {
            self.errors.push(d);
            return Value::Null;
        }
        if !decl.enabled {
            if !self.absent_is_null {
                let d = Diagnostic::new(
                    node.pos.clone(),
                    format!("`{name}` is not made in this environment (`enabled` is false), so `{name}.{attr}` has no value"),
                )
                .hint(format!(
                    "give this property its value for the environment (`overrides:` in the environment file), or enable `{name}`"
                ));
                self.errors.push(d);
            }
            return Value::Null;
        }
        if decl.broken {
            return Value::Null;
        }
        let Some((targets, splat)) = self.targets(node, decl, name, index, attr) else {
            return Value::Null;
        };
        self.deps.extend(targets.iter().cloned());
        Value::Ref(RefExpr {
            targets,
            attr: attr.to_string(),
            splat,
        })
    }

    /// An error when `decl`'s type does not list `attr` among its attributes.
    fn unknown_attr(&self, node: &Node, decl: &Decl, name: &str, attr: &str) -> Option<Diagnostic> {
        let schema = decl
            .type_name
            .as_deref()
            .and_then(|t| self.types.schema(t))?;
        if schema.attributes.contains(&attr) {
            return None;
        }
        let d = Diagnostic::new(
            node.pos.clone(),
            format!("`{name}` ({}) has no attribute `{attr}`", schema.type_name),
        );
        Some(
            match did_you_mean(attr, schema.attributes.iter().copied()) {
                Some(s) => d.hint(format!(
                    "did you mean `{s}`? attributes: {}",
                    schema.attributes.join(", ")
                )),
                None => d.hint(format!("attributes: {}", schema.attributes.join(", "))),
            },
        )
    }

    /// The instances a reference names, and whether it is a `[*]` over all of them.
    fn targets(
        &mut self,
        node: &Node,
        decl: &Decl,
        name: &str,
        index: Option<&Index>,
        attr: &str,
    ) -> Option<(Vec<Addr>, bool)> {
        let keys: Option<Vec<&str>> = decl
            .keys
            .as_ref()
            .map(|k| k.iter().map(|(k, _)| k.as_str()).collect());
        match (index, keys) {
            (None, None) => Some((vec![Addr::new(name, None)], false)),
            (None, Some(_)) => {
                self.errors.push(Diagnostic::new(node.pos.clone(), format!("`{name}` has `for_each`: say which instance, e.g. `${{{name}[each.key].{attr}}}` or `${{{name}[*].{attr}}}`")));
                None
            }
            (Some(_), None) => {
                self.errors.push(Diagnostic::new(
                    node.pos.clone(),
                    format!(
                        "`{name}` has no `for_each`: write `${{{name}.{attr}}}` without an index"
                    ),
                ));
                None
            }
            (Some(Index::All), Some(keys)) => Some((
                keys.iter().map(|k| Addr::new(name, Some(k))).collect(),
                true,
            )),
            (Some(ix), Some(keys)) => {
                let key = self.instance_key(node, ix)?;
                if !keys.contains(&key.as_str()) {
                    self.errors.push(
                        Diagnostic::new(node.pos.clone(), format!("reference to `{name}[{key}]`, but `{name}` has no instance `{key}`"))
                            .hint(format!("instances of `{name}`: {}", keys.join(", "))),
                    );
                    return None;
                }
                Some((vec![Addr::new(name, Some(&key))], false))
            }
        }
    }

    /// The key written between the brackets: a literal, or `each.key` / `each.value...`.
    fn instance_key(&mut self, node: &Node, ix: &Index) -> Option<String> {
        let path = match ix {
            Index::Key(k) => return Some(k.clone()),
            Index::All => return Some("*".to_string()),
            Index::Each(path) => path,
        };
        match self.each_path(path) {
            Ok(Value::Str(s)) => Some(s),
            Ok(Value::Int(i)) => Some(i.to_string()),
            Ok(other) => {
                self.errors.push(Diagnostic::new(
                    node.pos.clone(),
                    format!(
                        "an instance key must be a string, found {}",
                        describe(&other)
                    ),
                ));
                None
            }
            Err(msg) => {
                self.errors.push(Diagnostic::new(node.pos.clone(), msg));
                None
            }
        }
    }
}

/// How a value is named in messages: "a string", "a list"...
pub(super) fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Str(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a mapping",
        _ => "a reference",
    }
}

/// A node without expressions, as a value.
pub(super) fn plain(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::Int(*i),
        NodeKind::Float(f) => Value::Str(f.to_string()),
        NodeKind::Str(s) => Value::Str(s.clone()),
        NodeKind::Seq(items) => Value::List(items.iter().map(plain).collect()),
        NodeKind::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.name.clone(), plain(v))).collect()),
    }
}

/// `NAME` when `s` is exactly `${param.NAME}`.
pub(super) fn single_param(s: &str) -> Option<String> {
    match expr::split(s).ok()?.as_slice() {
        [Piece::Expr(Expr::Param(p))] => Some(p.clone()),
        _ => None,
    }
}
