//! Bucket names, which are global: `<stack>-<env>-<address>-<account>-<region>` in the
//! characters S3 allows.

use crate::provider::Scope;

/// S3's bucket name for `addr`: `<stack>-<env>-<address>-<account>-<region>`,
/// lowercased, every character S3 does not allow (`_`, `[`, `]`...) turned into `-`,
/// with no two hyphens in a row and none at either end.
pub fn bucket_name(stack: &str, env: &str, addr: &str, account: &str, region: &str) -> String {
    let raw = format!("{stack}-{env}-{addr}-{account}-{region}");
    clean(&raw).trim_matches('-').to_string()
}

/// What every bucket name of `scope` starts with (for ListBuckets' `Prefix`).
pub fn name_prefix(scope: &Scope) -> String {
    clean(&scope.name_prefix())
}

fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn names_are_lowercase_hyphenated_and_hold_account_and_region() {
        assert_eq!(
            bucket_name("bandup", "dev", "user_uploads", "123456789012", "eu-west-2"),
            "bandup-dev-user-uploads-123456789012-eu-west-2"
        );
        assert_eq!(
            bucket_name(
                "BandUp",
                "dev",
                "audio[Part_1]",
                "123456789012",
                "eu-west-2"
            ),
            "bandup-dev-audio-part-1-123456789012-eu-west-2"
        );
        assert!(
            bucket_name("bandup", "dev", "assets", "123456789012", "eu-west-2").starts_with(
                &name_prefix(&Scope {
                    stack: "bandup".into(),
                    env: "dev".into(),
                    tags: BTreeMap::new(),
                    run: String::new(),
                    ..Default::default()
                })
            )
        );
    }
}
