//! The bucket policy `deny_insecure_transport` stands for (compared with what the bucket
//! holds by meaning: `model::document::same_policy`).

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::{from_json, same_policy};

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
        let same = |a: &serde_json::Value, b: &serde_json::Value| {
            same_policy(&from_json(a), &from_json(b))
        };
        assert!(same(&ours, &reordered));
        assert!(!same(&ours, &deny_insecure_policy("aws", "c")));
    }
}
