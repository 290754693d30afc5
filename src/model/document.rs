//! JSON documents inside properties (IAM policies, container definitions): conversion
//! between `Value` and JSON, and comparison by meaning, so that a document AWS hands back
//! reordered, URL-encoded or with single values unwrapped never plans a change.

use super::Value;
use std::collections::BTreeMap;

/// The JSON AWS is sent for `v` (references must be resolved before; unknowns are null).
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Str(s) => J::String(s.clone()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Null | Value::Ref(_) | Value::Template(_) | Value::Unknown | Value::Sensitive => {
            J::Null
        }
    }
}

/// `to_json` as a compact string.
pub fn to_json_string(v: &Value) -> String {
    to_json(v).to_string()
}

/// A JSON value as a `Value` (numbers that are not integers become strings).
pub fn from_json(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Str(n.to_string())),
        J::String(s) => Value::Str(s.clone()),
        J::Array(a) => Value::List(a.iter().map(from_json).collect()),
        J::Object(o) => Value::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// A document as AWS returns it: JSON, or URL-encoded JSON (IAM's `GetRolePolicy`,
/// `GetRole`'s trust policy). `None` when it is neither.
pub fn parse(s: &str) -> Option<Value> {
    if let Ok(j) = serde_json::from_str::<serde_json::Value>(s) {
        return Some(from_json(&j));
    }
    let decoded = percent_encoding::percent_decode_str(s).decode_utf8().ok()?;
    let j = serde_json::from_str::<serde_json::Value>(&decoded).ok()?;
    Some(from_json(&j))
}

/// `policy` with each of its statements (`Statement` holds one, or a list) passed
/// through `f`.
pub fn map_statements(
    policy: &Value,
    f: impl Fn(BTreeMap<String, Value>) -> BTreeMap<String, Value>,
) -> Value {
    let one = |s: &Value| match s {
        Value::Map(m) => Value::Map(f(m.clone())),
        other => other.clone(),
    };
    match policy {
        Value::Map(doc) => {
            let mut doc = doc.clone();
            if let Some(st) = doc.get("Statement") {
                let st = match st {
                    Value::List(l) => Value::List(l.iter().map(one).collect()),
                    single => one(single),
                };
                doc.insert("Statement".into(), st);
            }
            Value::Map(doc)
        }
        other => other.clone(),
    }
}

/// `policy` with `resource` as the Resource of every statement that names neither a
/// Resource nor a NotResource: how a resource policy (a queue's, an API's) is stored.
pub fn with_default_resource(policy: &Value, resource: &str) -> Value {
    map_statements(policy, |mut m| {
        if !m.contains_key("Resource") && !m.contains_key("NotResource") {
            m.insert("Resource".into(), Value::Str(resource.to_string()));
        }
        m
    })
}

/// True when two IAM policy documents mean the same: key order, whitespace, a single
/// value against a one-element list, the order of statements, actions, resources,
/// principals and condition values, the case of action names, `"*"` against
/// `{"AWS": "*"}` as principal, and `true` against `"true"` in conditions make no
/// difference.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    canonical_policy(a) == canonical_policy(b)
}

/// The normal form `same_policy` compares.
pub fn canonical_policy(v: &Value) -> Value {
    policy_node(v, None)
}

/// Keys whose value is a set of strings in IAM's grammar.
const SET_KEYS: &[&str] = &["Action", "NotAction", "Resource", "NotResource"];

fn policy_node(v: &Value, key: Option<&str>) -> Value {
    match (key, v) {
        (Some("Statement"), Value::Map(_)) => policy_node(&Value::List(vec![v.clone()]), key),
        (Some("Statement"), Value::List(l)) => {
            let mut s: Vec<Value> = l.iter().map(|x| policy_node(x, None)).collect();
            s.sort_by_key(to_json_string);
            s.dedup();
            Value::List(s)
        }
        (Some(k), _) if SET_KEYS.contains(&k) => {
            let lower = k.ends_with("Action");
            string_set(v, lower)
        }
        // `"*"` is the same principal as `{"AWS": "*"}`.
        (Some("Principal" | "NotPrincipal"), Value::Str(s)) if s == "*" => {
            let any = BTreeMap::from([("AWS".to_string(), Value::Str("*".into()))]);
            policy_node(&Value::Map(any), key)
        }
        (Some("Principal" | "NotPrincipal"), Value::Map(m)) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), string_set(v, false)))
                .collect(),
        ),
        (Some("Condition"), Value::Map(ops)) => Value::Map(
            ops.iter()
                .map(|(op, keys)| {
                    let keys = match keys {
                        Value::Map(m) => Value::Map(
                            m.iter()
                                .map(|(k, v)| (k.clone(), string_set(v, false)))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    (op.clone(), keys)
                })
                .collect(),
        ),
        (_, Value::Map(m)) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), policy_node(v, Some(k))))
                .collect::<BTreeMap<_, _>>(),
        ),
        (_, Value::List(l)) => Value::List(l.iter().map(|x| policy_node(x, None)).collect()),
        (_, other) => other.clone(),
    }
}

/// A string or list of scalars as a sorted list of distinct strings.
fn string_set(v: &Value, lowercase: bool) -> Value {
    let one = |x: &Value| {
        let s = match x {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return other.clone(),
        };
        Value::Str(if lowercase { s.to_lowercase() } else { s })
    };
    let mut items: Vec<Value> = match v {
        Value::List(l) => l.iter().map(one).collect(),
        other => vec![one(other)],
    };
    items.sort_by_key(to_json_string);
    items.dedup();
    Value::List(items)
}

/// True when two JSON documents are equal as data: key order and whitespace make no
/// difference (lists keep their order); `null` members count as absent.
pub fn same_document(a: &Value, b: &Value) -> bool {
    without_nulls(a) == without_nulls(b)
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::List(l) => Value::List(l.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Value {
        parse(s).expect("json")
    }

    #[test]
    fn policies_differing_only_in_shape_are_the_same() {
        let a = doc(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
        );
        let b = doc(
            r#"{ "Statement": [ { "Resource": ["arn:aws:s3:::b/*"], "Action": ["S3:GetObject"], "Effect": "Allow" } ],
                 "Version": "2012-10-17" }"#,
        );
        assert!(same_policy(&a, &b));
    }

    #[test]
    fn statement_action_and_condition_order_make_no_difference() {
        let a = doc(
            r#"{"Statement":[{"Effect":"Allow","Action":["a:X","a:Y"],"Resource":"*"},
                {"Effect":"Deny","Action":"b:Z","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}]}"#,
        );
        let b = doc(
            r#"{"Statement":[{"Effect":"Deny","Action":"b:Z","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":["false"]}}},
                {"Effect":"Allow","Action":["a:Y","a:X"],"Resource":["*"]}]}"#,
        );
        assert!(same_policy(&a, &b));
    }

    #[test]
    fn a_different_resource_is_a_different_policy() {
        let a = doc(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:a"}]}"#);
        let b = doc(r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:b"}]}"#);
        assert!(!same_policy(&a, &b));
    }

    #[test]
    fn url_encoded_documents_are_read() {
        let enc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            parse(enc),
            Some(doc(r#"{"Version":"2012-10-17","Statement":[]}"#))
        );
    }

    #[test]
    fn documents_keep_list_order_but_not_key_order() {
        let a = doc(r#"{"command":["a","b"],"x":1,"y":null}"#);
        let b = doc(r#"{"x":1,"command":["a","b"]}"#);
        let c = doc(r#"{"x":1,"command":["b","a"]}"#);
        assert!(same_document(&a, &b));
        assert!(!same_document(&a, &c));
    }
}
