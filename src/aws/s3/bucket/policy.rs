//! The bucket policy `deny_insecure_transport` stands for, and policies compared as JSON
//! by meaning, never as text.

/// The policy `deny_insecure_transport` stands for: every S3 action on the bucket and
/// its objects is denied unless the request came over TLS.
pub fn deny_insecure_policy(partition: &str, bucket: &str) -> serde_json::Value {
    let arn = format!("arn:{partition}:s3:::{bucket}");
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn.clone(), format!("{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
}

/// A policy in one shape, so that equal meaning compares equal: a single value and a
/// one-element list are the same, list order does not matter, `"*"` and `{"AWS": "*"}`
/// are the same principal, booleans and their strings are the same, and key order
/// never mattered in JSON objects.
pub fn canonical(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("Principal" | "NotPrincipal", J::String(s)) if s == "*" => {
                            canonical(&serde_json::json!({"AWS": "*"}))
                        }
                        _ => canonical(v),
                    };
                    let v = match v {
                        J::Array(_) => v,
                        J::Object(_) if k != "Statement" => v,
                        _ if matches!(k.as_str(), "Version" | "Sid" | "Effect" | "Id") => v,
                        // A value that may be a list is always one.
                        other => J::Array(vec![other]),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        J::Array(items) => {
            let mut items: Vec<J> = items.iter().map(canonical).collect();
            items.sort_by_key(|i| i.to_string());
            items.dedup();
            J::Array(items)
        }
        other => scalar(other),
    }
}

fn scalar(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Bool(b) => serde_json::Value::String(b.to_string()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_equal_in_meaning_compare_equal() {
        let ours = deny_insecure_policy("aws", "b");
        let reordered = serde_json::json!({
            "Statement": {
                "Condition": {"Bool": {"aws:SecureTransport": false}},
                "Resource": ["arn:aws:s3:::b/*", "arn:aws:s3:::b"],
                "Action": ["s3:*"],
                "Principal": {"AWS": "*"},
                "Effect": "Deny",
                "Sid": "DenyInsecureTransport"
            },
            "Version": "2012-10-17"
        });
        assert_eq!(canonical(&ours), canonical(&reordered));
        let other = deny_insecure_policy("aws", "c");
        assert_ne!(canonical(&ours), canonical(&other));
    }
}
