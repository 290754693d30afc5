//! Secrets Manager: the secret type and what it shares: its error codes, tags (listed
//! with each secret, and filterable on the server) and retagging.

pub mod secret;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::provider::{ErrorKind, ProviderError, Request, Scope, TagDelta};
use aws_sdk_secretsmanager::types::Tag;
use std::collections::BTreeMap;

/// The kind of a Secrets Manager error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceExistsException" => ErrorKind::Conflict,
        _ => return None,
    })
}

service_calls!(aws_sdk_secretsmanager, &[], codes);

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// What a secret's tags say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

/// The tags a new secret is created with.
pub fn tags(req: &Request<'_>) -> Vec<Tag> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Set and remove tags on a secret.
pub async fn retag(
    sm: &aws_sdk_secretsmanager::Client,
    id: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build());
        sm.tag_resource()
            .secret_id(id)
            .set_tags(Some(tags.collect()))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        sm.untag_resource()
            .secret_id(id)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}
