//! IAM: roles with inline policies, scoped to the stack by path and tags (IAM is global),
//! and what IAM types share: error codes, tags, the path `/<stack>/<env>/` and names.
//! `ci_role.rs` is the CI role `bootstrap` makes, outside any stack.

pub mod ci_role;
pub mod reach;
pub mod role;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::provider::{ErrorKind, ProviderError, Request, Scope, TagDelta};
use aws_sdk_iam::types::Tag;
use std::collections::BTreeMap;

/// The kind of an IAM error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "NoSuchEntity" => ErrorKind::NotFound,
        "EntityAlreadyExists" => ErrorKind::Conflict,
        "DeleteConflict" => ErrorKind::InUse,
        _ => return None,
    })
}

// IAM is eventually consistent: a role just made may answer NoSuchEntity for a few
// seconds to calls naming it (PutRolePolicy right after CreateRole). Calls made with
// `eventually`/`once` retry it; deletes do not use them, so "already gone" is quick.
service_calls!(
    aws_sdk_iam,
    &["NoSuchEntity", "ConcurrentModification"],
    codes
);

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// What an IAM resource's tags say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

fn to_tags(pairs: impl IntoIterator<Item = (String, String)>) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new("tag", e.to_string()))
        })
        .collect()
}

/// The tags a new IAM resource is created with.
pub fn tags(req: &Request<'_>) -> Result<Vec<Tag>, ProviderError> {
    to_tags(creation_tags(req))
}

/// The path every IAM resource of `scope` lives under: `/<stack>/<env>/`. IAM is
/// account-wide; the path narrows listings on the server (ListRoles PathPrefix).
pub fn path(scope: &Scope) -> String {
    format!("/{}/{}/", scope.stack, scope.env)
}

/// IAM names allow at most `max` characters of `[A-Za-z0-9+=,.@_-]`: other characters
/// become `-`, and a longer name keeps its first characters and ends with `-` and eight
/// hex digits of a hash of the whole name (FNV-1a: stable across builds and toolchains).
pub fn iam_name(name: &str, max: usize) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() <= max {
        return clean;
    }
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("{}-{h:08x}", &clean[..max - 9])
}

/// Set and remove tags on a role.
pub async fn retag_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        iam.tag_role()
            .role_name(name)
            .set_tags(Some(to_tags(delta.set.clone())?))
            .send()
            .await
            .map_err(|e| error("TagRole", e))?;
    }
    if !delta.remove.is_empty() {
        iam.untag_role()
            .role_name(name)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagRole", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::iam_name;

    #[test]
    fn long_names_are_shortened_with_a_stable_hash() {
        assert_eq!(
            iam_name("bandup-dev-backend_task", 64),
            "bandup-dev-backend_task"
        );
        assert_eq!(iam_name("a-b-c[x]", 64), "a-b-c-x-");
        let long = format!("bandup-prod-{}", "x".repeat(80));
        let short = iam_name(&long, 64);
        assert_eq!(short.len(), 64);
        assert_eq!(short, iam_name(&long, 64));
        assert_ne!(short, iam_name(&format!("{long}y"), 64));
    }
}
