//! What `validate` checks of buckets without calling AWS: the name fits S3's 63
//! characters, no two addresses share a name, lifecycle rules can work, and a KMS key
//! goes with KMS encryption.

use super::name::bucket_name;
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::Value;

/// The longest and shortest region names, for the length check when the environment
/// names no region.
const LONGEST_REGION: &str = "ap-southeast-2";
const SHORTEST_REGION: &str = "us-east-1";
/// An account id is always 12 digits.
const ANY_ACCOUNT: &str = "123456789012";

pub fn check(r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let account = stack.account_id.as_deref().unwrap_or(ANY_ACCOUNT);
    let region = stack.region.as_deref().unwrap_or(LONGEST_REGION);
    let name = bucket_name(&stack.name, &stack.env, r.addr.as_str(), account, region);
    if name.len() > 63 {
        let shortest = bucket_name(
            &stack.name,
            &stack.env,
            r.addr.as_str(),
            account,
            SHORTEST_REGION,
        );
        let msg = format!(
            "the bucket name of `{}` would be {} characters, more than S3's 63: `{name}`",
            r.addr,
            name.len()
        );
        let hint = format!(
            "bucket names are <stack>-<env>-<address>-<account>-<region>: shorten the resource's name (or the stack's or environment's) by {} characters",
            name.len() - 63
        );
        let d = if stack.region.is_some() || shortest.len() > 63 {
            Diagnostic::new(r.pos.clone(), msg)
        } else {
            // Too long only in the longer regions: say so, but let it through.
            Diagnostic::warning(
                r.pos.clone(),
                format!("{msg} in region {region} (the environment names no region)"),
            )
        };
        out.push(d.hint(hint));
    }
    // Two addresses that clean to one name (`a_b` and `a[b]`) would share a bucket.
    for other in &stack.resources {
        if other.addr == r.addr {
            break;
        }
        if other.type_name == r.type_name
            && bucket_name(
                &stack.name,
                &stack.env,
                other.addr.as_str(),
                account,
                region,
            ) == name
        {
            out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!(
                        "`{}` and `{}` would both be the bucket `{name}`",
                        other.addr, r.addr
                    ),
                )
                .related(other.pos.clone(), format!("`{}` declared here", other.addr))
                .hint("rename one of them"),
            );
        }
    }
    let pos = |f: &str| r.field_pos.get(f).cloned().unwrap_or(r.pos.clone());
    let mut ids = Vec::new();
    for (i, rule) in r
        .props
        .get("lifecycle_rules")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(m) = rule.as_map() else { continue };
        let at = pos(&format!("lifecycle_rules[{i}]"));
        let has = |k: &str| m.get(k).is_some_and(|v| !matches!(v, Value::Null));
        if let Some(id) = m.get("id").and_then(Value::as_str) {
            if ids.contains(&id) {
                out.push(
                    Diagnostic::new(
                        at.clone(),
                        format!("lifecycle rule id `{id}` is used twice in `{}`", r.addr),
                    )
                    .hint("give each rule its own id"),
                );
            }
            ids.push(id);
        }
        if has("transition_storage_class") && !has("transition_days") {
            out.push(
                Diagnostic::new(
                    at.clone(),
                    "`transition_storage_class` needs `transition_days`",
                )
                .hint("say after how many days objects move, e.g. transition_days: 30"),
            );
        }
        let actions = [
            "transition_days",
            "noncurrent_expiration_days",
            "expiration_days",
            "abort_incomplete_multipart_days",
        ];
        if !actions.iter().any(|a| has(a)) {
            out.push(
                Diagnostic::new(at, "a lifecycle rule that does nothing")
                    .hint(format!("give it at least one of {}", actions.join(", "))),
            );
        }
    }
    if let Some(enc) = r.props.get("encryption").and_then(Value::as_map) {
        let alg = enc.get("sse_algorithm").and_then(Value::as_str);
        if enc
            .get("kms_key_id")
            .is_some_and(|v| !matches!(v, Value::Null))
            && alg != Some("aws:kms")
        {
            out.push(
                Diagnostic::new(
                    pos("encryption"),
                    "`kms_key_id` is only used with `sse_algorithm: aws:kms`",
                )
                .hint("set sse_algorithm: aws:kms, or remove kms_key_id"),
            );
        }
    }
    out
}
