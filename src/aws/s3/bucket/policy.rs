//! The bucket policy the stack's settings stand for: `deny_insecure_transport` (no request
//! without TLS) and `alb_access_logs_prefix` (Elastic Load Balancing may write access
//! logs under that prefix). Compared with what the bucket holds by meaning
//! (`model::document::same_policy`); a policy with anything else in it is another
//! policy, which an apply replaces.

use serde_json::{json, Value as J};

const DENY_SID: &str = "DenyInsecureTransport";
const ELB_ACCOUNT_SID: &str = "AlbAccessLogs";
const ELB_SERVICE_SID: &str = "AlbAccessLogDelivery";

/// The bucket's whole policy, or `None` when neither setting asks for one.
pub fn policy(
    partition: &str,
    bucket: &str,
    region: &str,
    deny_insecure: bool,
    alb_logs_prefix: Option<&str>,
) -> Option<J> {
    let arn = format!("arn:{partition}:s3:::{bucket}");
    let mut statements = Vec::new();
    if deny_insecure {
        statements.push(json!({
            "Sid": DENY_SID,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn.clone(), format!("{arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }));
    }
    if let Some(prefix) = alb_logs_prefix {
        let logs = match prefix.trim_matches('/') {
            "" => format!("{arn}/AWSLogs/*"),
            p => format!("{arn}/{p}/AWSLogs/*"),
        };
        // Regions opened before August 2022 deliver as their ELB account; the others
        // (and, in time, all) as the log-delivery service.
        if let Some(account) = elb_account(region) {
            statements.push(json!({
                "Sid": ELB_ACCOUNT_SID,
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:{partition}:iam::{account}:root")},
                "Action": "s3:PutObject",
                "Resource": logs.clone()
            }));
        }
        statements.push(json!({
            "Sid": ELB_SERVICE_SID,
            "Effect": "Allow",
            "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": logs
        }));
    }
    (!statements.is_empty()).then(|| json!({"Version": "2012-10-17", "Statement": statements}))
}

/// The access-log prefix a policy this tool wrote grants, read from its statements.
pub fn alb_logs_prefix(have: &J, partition: &str, bucket: &str) -> Option<String> {
    let arn = format!("arn:{partition}:s3:::{bucket}/");
    let statements = match have.get("Statement")? {
        J::Array(a) => a.clone(),
        one => vec![one.clone()],
    };
    statements
        .iter()
        .filter(|s| s.get("Sid").and_then(J::as_str) == Some(ELB_SERVICE_SID))
        .find_map(|s| {
            let r = match s.get("Resource")? {
                J::Array(a) => a.first()?.as_str()?.to_string(),
                J::String(r) => r.clone(),
                _ => return None,
            };
            let rest = r.strip_prefix(&arn)?.strip_suffix("AWSLogs/*")?;
            Some(rest.trim_end_matches('/').to_string())
        })
}

/// Whether a policy holds the statement `deny_insecure_transport` stands for.
pub fn has_deny(have: &J) -> bool {
    match have.get("Statement") {
        Some(J::Array(a)) => a
            .iter()
            .any(|s| s.get("Sid").and_then(J::as_str) == Some(DENY_SID)),
        Some(one) => one.get("Sid").and_then(J::as_str) == Some(DENY_SID),
        None => false,
    }
}

/// The account Elastic Load Balancing writes access logs as, in regions opened before
/// August 2022 (AWS's documented table); newer regions use the service principal.
fn elb_account(region: &str) -> Option<&'static str> {
    Some(match region {
        "us-east-1" => "127311923021",
        "us-east-2" => "033677994240",
        "us-west-1" => "027434742980",
        "us-west-2" => "797873946194",
        "af-south-1" => "098369216593",
        "ap-east-1" => "754344448648",
        "ap-southeast-3" => "589379963580",
        "ap-south-1" => "718504428378",
        "ap-northeast-3" => "383597477331",
        "ap-northeast-2" => "600734575887",
        "ap-southeast-1" => "114774131450",
        "ap-southeast-2" => "783225319266",
        "ap-northeast-1" => "582318560864",
        "ca-central-1" => "985666609251",
        "eu-central-1" => "054676820928",
        "eu-west-1" => "156460612806",
        "eu-west-2" => "652711504416",
        "eu-south-1" => "635631232127",
        "eu-west-3" => "009996457667",
        "eu-north-1" => "897822967062",
        "me-south-1" => "076674570225",
        "sa-east-1" => "507241528517",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::{from_json, same_policy};

    /// The policy `deny_insecure_transport` stands for: every S3 action on the bucket and
    /// its objects is denied unless the request came over TLS.
    fn deny_insecure_policy(partition: &str, bucket: &str) -> J {
        policy(partition, bucket, "", true, None).unwrap_or_default()
    }

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

    #[test]
    fn the_access_log_grant_names_the_region_account_and_the_service_and_reads_back() {
        let p = policy("aws", "logs", "eu-west-2", true, Some("alb")).expect("a policy");
        let text = p.to_string();
        assert!(text.contains("arn:aws:iam::652711504416:root"), "{text}");
        assert!(
            text.contains("logdelivery.elasticloadbalancing.amazonaws.com"),
            "{text}"
        );
        assert!(text.contains("arn:aws:s3:::logs/alb/AWSLogs/*"), "{text}");
        assert_eq!(alb_logs_prefix(&p, "aws", "logs").as_deref(), Some("alb"));
        assert!(has_deny(&p));
        // A region opened later has no ELB account: only the service is granted.
        let newer = policy("aws", "logs", "ap-southeast-5", false, Some("")).expect("a policy");
        assert!(!newer.to_string().contains(":root"));
        assert_eq!(alb_logs_prefix(&newer, "aws", "logs").as_deref(), Some(""));
        assert!(policy("aws", "logs", "eu-west-2", false, None).is_none());
    }
}
