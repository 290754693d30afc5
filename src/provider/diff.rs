//! The default diff: compare only the declared fields (after defaults), treat lists as
//! sets, JSON documents by meaning, and mark changes to fields that force replacement.

use super::Live;
use crate::model::{Kind, Props, Schema, Value};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
    pub forces_replace: bool,
    /// Why the change cannot be made in place, when the type says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// A field's value, unless it is absent or null.
pub fn present<'a>(props: &'a Props, field: &str) -> Option<&'a Value> {
    props.get(field).filter(|v| !matches!(v, Value::Null))
}

/// The change that unsets `field`, which the live resource has as `have`.
pub fn unset(field: &str, have: &Value) -> Change {
    Change {
        field: field.into(),
        before: have.clone(),
        after: Value::Null,
        forces_replace: false,
        why: None,
    }
}

/// A field the stack no longer declares but the live resource still has (a removed
/// policy, environment, key): the default diff skips undeclared fields, so a type whose
/// field has no default to compare against asks for this.
pub fn removed(field: &str, desired: &Props, live: &Live) -> Option<Change> {
    let have = present(&live.props, field)?;
    present(desired, field)
        .is_none()
        .then(|| unset(field, have))
}

pub fn default_diff(schema: &Schema, desired: &Props, live: &Live) -> Vec<Change> {
    let mut out = Vec::new();
    for f in schema.fields {
        let Some(want) = desired.get(f.name) else {
            continue;
        };
        if matches!(want, Value::Null) {
            continue;
        }
        let have = live.props.get(f.name).cloned().unwrap_or(Value::Null);
        let differs = want.has_unknown() || !same(&f.kind, want, &have);
        if differs {
            let (before, after) = if f.sensitive {
                (Value::Sensitive, Value::Sensitive)
            } else {
                (have, want.clone())
            };
            out.push(Change {
                field: f.name.to_string(),
                before,
                after,
                forces_replace: f.force_new,
                why: f.replace_why.filter(|_| f.force_new).map(str::to_string),
            });
        }
    }
    out
}

/// Equality where lists are compared without regard to order.
fn same(kind: &Kind, a: &Value, b: &Value) -> bool {
    match (kind, a, b) {
        (Kind::List(_), Value::List(x), Value::List(y)) => {
            let mut x: Vec<String> = x.iter().map(canonical).collect();
            let mut y: Vec<String> = y.iter().map(canonical).collect();
            x.sort();
            y.sort();
            x == y
        }
        (Kind::List(_), Value::List(x), Value::Null) => x.is_empty(),
        (Kind::Policy, _, _) => crate::model::document::same_policy(a, b),
        (Kind::Document, _, _) => crate::model::document::same_document(a, b),
        // Packaged code is the same code when its digest is: where it was built from is not
        // something AWS knows.
        (Kind::Package, Value::Map(x), Value::Map(y)) => x.get("sha256") == y.get("sha256"),
        _ => a == b,
    }
}

fn canonical(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
