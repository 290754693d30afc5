//! A property value checked against its field's `Kind` (the one place that knows every
//! kind of value a schema can ask for): mismatches reported at the node they were written
//! at, defaults of nested objects filled in. References pass: they are checked on apply.

use super::diagnostic::{did_you_mean, Diagnostic};
use super::eval::describe;
use super::yaml::{Node, NodeKind};
use crate::model::{Field, Kind, Value};
use std::collections::BTreeMap;

/// Check `value`, written at `node`, against `kind`; `what` names it in messages.
pub(super) fn conform(
    kind: &Kind,
    value: Value,
    node: &Node,
    what: &str,
    errors: &mut Vec<Diagnostic>,
) -> Value {
    if matches!(value, Value::Null) {
        return value;
    }
    let deferred = matches!(value, Value::Ref(_) | Value::Template(_));
    let c = Check {
        kind,
        node,
        what,
        deferred,
    };
    match kind {
        Kind::Str | Kind::Int | Kind::Bool => {
            let ok = matches!(
                (kind, &value),
                (Kind::Str, Value::Str(_))
                    | (Kind::Int, Value::Int(_))
                    | (Kind::Bool, Value::Bool(_))
            );
            c.scalar(value, ok, errors)
        }
        Kind::OneOf(options) => c.one_of(options, value, errors),
        Kind::Cidr => c.cidr(value, errors),
        Kind::List(inner) => c.list(inner, value, errors),
        Kind::Object(fields) => c.object(fields, value, errors),
        Kind::Policy => {
            let ok = matches!(&value, Value::Map(_));
            c.scalar(value, ok, errors)
        }
        Kind::Document => {
            let ok = matches!(&value, Value::Map(_) | Value::List(_));
            c.scalar(value, ok, errors)
        }
        // Packaged while loading (`config::package`): the path must be known now.
        Kind::Package => {
            if c.deferred {
                errors.push(Diagnostic::new(
                    node.pos.clone(),
                    format!(
                        "{what}: code must be a path written in the stack or a parameter, \
                         not another resource's attribute (it is packaged before any AWS call)"
                    ),
                ));
                return value;
            }
            let ok = matches!(&value, Value::Str(_));
            c.scalar(value, ok, errors)
        }
    }
}

/// One value being checked against one kind.
struct Check<'a> {
    kind: &'a Kind,
    node: &'a Node,
    what: &'a str,
    /// A reference or template: its value is only known on apply.
    deferred: bool,
}

impl Check<'_> {
    fn mismatch(&self, errors: &mut Vec<Diagnostic>, found: &str) {
        errors.push(Diagnostic::new(
            self.node.pos.clone(),
            format!(
                "{}: expected {}, found {found}",
                self.what,
                self.kind.describe()
            ),
        ));
    }

    fn scalar(&self, value: Value, ok: bool, errors: &mut Vec<Diagnostic>) -> Value {
        if !(self.deferred || ok) {
            self.mismatch(errors, describe(&value));
        }
        value
    }

    fn one_of(&self, options: &[&str], value: Value, errors: &mut Vec<Diagnostic>) -> Value {
        if let Value::Str(s) = &value {
            if !options.contains(&s.as_str()) {
                let mut d = Diagnostic::new(
                    self.node.pos.clone(),
                    format!("{}: `{s}` is not {}", self.what, self.kind.describe()),
                );
                if let Some(m) = did_you_mean(s, options.iter().copied()) {
                    d = d.hint(format!("did you mean `{m}`?"));
                }
                errors.push(d);
            }
        } else if !self.deferred {
            self.mismatch(errors, describe(&value));
        }
        value
    }

    fn cidr(&self, value: Value, errors: &mut Vec<Diagnostic>) -> Value {
        let what = self.what;
        match &value {
            Value::Str(s) => match s.parse::<ipnet::Ipv4Net>() {
                Ok(net) if net.trunc() == net => {}
                Ok(net) => errors.push(
                    Diagnostic::new(
                        self.node.pos.clone(),
                        format!("{what}: invalid CIDR block `{s}`: host bits are set"),
                    )
                    .hint(format!("did you mean `{}`?", net.trunc())),
                ),
                Err(_) => errors.push(
                    Diagnostic::new(
                        self.node.pos.clone(),
                        format!("{what}: invalid CIDR block `{s}`"),
                    )
                    .hint("write an IPv4 network as ADDRESS/PREFIX, for example 10.0.1.0/24"),
                ),
            },
            _ if self.deferred => {}
            other => self.mismatch(errors, describe(other)),
        }
        value
    }

    fn list(&self, inner: &Kind, value: Value, errors: &mut Vec<Diagnostic>) -> Value {
        match value {
            Value::List(items) => {
                let nodes: Vec<&Node> = match &self.node.kind {
                    NodeKind::Seq(n) if n.len() == items.len() => n.iter().collect(),
                    _ => vec![self.node; items.len()],
                };
                Value::List(
                    items
                        .into_iter()
                        .zip(nodes)
                        .map(|(v, n)| conform(inner, v, n, self.what, errors))
                        .collect(),
                )
            }
            Value::Ref(r) if r.splat => Value::Ref(r),
            other => {
                self.mismatch(errors, describe(&other));
                other
            }
        }
    }

    fn object(&self, fields: &[Field], value: Value, errors: &mut Vec<Diagnostic>) -> Value {
        let Value::Map(mut m) = value else {
            if !self.deferred {
                self.mismatch(errors, describe(&value));
            }
            return value;
        };
        for k in m.keys() {
            if !fields.iter().any(|f| f.name == k) {
                errors.push(self.unknown_field(fields, k));
            }
        }
        let node_of = |k: &str| self.node.get(k).unwrap_or(self.node);
        let mut out = BTreeMap::new();
        for f in fields {
            match m.remove(f.name) {
                Some(v) => {
                    let what = format!("{} field `{}`", self.what, f.name);
                    let v = conform(&f.kind, v, node_of(f.name), &what, errors);
                    out.insert(f.name.to_string(), v);
                }
                None => {
                    if let Some(d) = &f.default {
                        out.insert(f.name.to_string(), d.value());
                    } else if f.required {
                        errors.push(
                            Diagnostic::new(
                                self.node.pos.clone(),
                                format!("{}: missing required field `{}`", self.what, f.name),
                            )
                            .hint(f.doc),
                        );
                    }
                }
            }
        }
        Value::Map(out)
    }

    /// "unknown field" at the key `k` inside an object.
    fn unknown_field(&self, fields: &[Field], k: &str) -> Diagnostic {
        let pos = self
            .node
            .as_map()
            .and_then(|e| e.iter().find(|(kk, _)| kk.name == k))
            .map(|(kk, _)| kk.pos.clone())
            .unwrap_or(self.node.pos.clone());
        Diagnostic::new(pos, format!("unknown field `{k}` in {}", self.what)).suggest(
            k,
            fields.iter().map(|f| f.name),
            format!(
                "expected fields: {}",
                fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
            ),
        )
    }
}
