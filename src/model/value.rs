//! `Value`: a property value as the engine sees it — a known value, a reference that is
//! resolved once its target exists, or a value that is only known after apply.

use super::Addr;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A resource's properties, keyed by field name.
pub type Props = BTreeMap<String, Value>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// `${target.attr}` (or `${target[*].attr}`) standing for a whole value.
    Ref(RefExpr),
    /// A string with references inside it: `"${vpc.id}-suffix"`.
    Template(Template),
    /// Not known until apply (the attribute of a resource still to be created).
    Unknown,
    /// A secret: shown as `(sensitive)` everywhere, never written to plans or logs.
    Sensitive,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefExpr {
    /// The instances referred to: one, or every instance of a `for_each` resource (`[*]`).
    pub targets: Vec<Addr>,
    pub attr: String,
    /// `${name[*].attr}`: the value is the list of every instance's attribute.
    pub splat: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub parts: Vec<TemplatePart>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Lit(String),
    Ref(RefExpr),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// True when the value (or anything inside it) is not known before apply.
    pub fn has_unknown(&self) -> bool {
        match self {
            Value::Unknown | Value::Ref(_) | Value::Template(_) => true,
            Value::List(l) => l.iter().any(Value::has_unknown),
            Value::Map(m) => m.values().any(Value::has_unknown),
            _ => false,
        }
    }

    /// Every resource address this value refers to.
    pub fn refs(&self, out: &mut Vec<Addr>) {
        match self {
            Value::Ref(r) => out.extend(r.targets.iter().cloned()),
            Value::Template(t) => {
                for p in &t.parts {
                    if let TemplatePart::Ref(r) = p {
                        out.extend(r.targets.iter().cloned());
                    }
                }
            }
            Value::List(l) => l.iter().for_each(|v| v.refs(out)),
            Value::Map(m) => m.values().for_each(|v| v.refs(out)),
            _ => {}
        }
    }

    /// Replace references with the attributes `lookup` knows; those it does not know
    /// become `Unknown`.
    pub fn resolve(&self, lookup: &dyn Fn(&Addr, &str) -> Option<Value>) -> Value {
        match self {
            Value::Ref(r) => resolve_ref(r, lookup),
            Value::Template(t) => {
                let mut s = String::new();
                for p in &t.parts {
                    match p {
                        TemplatePart::Lit(l) => s.push_str(l),
                        TemplatePart::Ref(r) => match resolve_ref(r, lookup) {
                            Value::Str(v) => s.push_str(&v),
                            Value::Int(i) => s.push_str(&i.to_string()),
                            Value::Bool(b) => s.push_str(&b.to_string()),
                            _ => return Value::Unknown,
                        },
                    }
                }
                Value::Str(s)
            }
            Value::List(l) => Value::List(l.iter().map(|v| v.resolve(lookup)).collect()),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.resolve(lookup)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

fn resolve_ref(r: &RefExpr, lookup: &dyn Fn(&Addr, &str) -> Option<Value>) -> Value {
    if r.splat {
        Value::List(
            r.targets
                .iter()
                .map(|t| lookup(t, &r.attr).unwrap_or(Value::Unknown))
                .collect(),
        )
    } else {
        r.targets
            .first()
            .and_then(|t| lookup(t, &r.attr))
            .unwrap_or(Value::Unknown)
    }
}

impl fmt::Display for RefExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.splat, self.targets.first()) {
            (true, Some(t)) => write!(f, "${{{}[*].{}}}", t.base(), self.attr),
            (_, Some(t)) => write!(f, "${{{}.{}}}", t, self.attr),
            (_, None) => write!(f, "${{[].{}}}", self.attr),
        }
    }
}

/// Human rendering used by plans and errors: strings quoted, unknowns spelled out.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Ref(_) | Value::Template(_) | Value::Unknown => {
                f.write_str("(known after apply)")
            }
            Value::Sensitive => f.write_str("(sensitive)"),
        }
    }
}
