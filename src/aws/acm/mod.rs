//! ACM: TLS certificates validated by DNS, and what the type shares: ACM's error codes,
//! tags (one ListTagsForCertificate per certificate: ACM has no batch) and retagging.

pub mod certificate;

use super::retry::service_calls;
use super::{creation_tags, Owned};
use crate::provider::{ErrorKind, ProviderError, Request, Scope, TagDelta};
use aws_sdk_acm::types::Tag;
use std::collections::BTreeMap;

/// The kind of an ACM error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceInUseException" => ErrorKind::InUse,
        "RequestInProgressException" => ErrorKind::NotYetVisible,
        _ => return None,
    })
}

service_calls!(aws_sdk_acm, &["RequestInProgressException"], codes);

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// What a certificate's tags say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

fn tag(k: &str, v: &str) -> Result<Tag, ProviderError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProviderError::new("tag", e.to_string()))
}

/// The tags a new certificate is requested with.
pub fn tags(req: &Request<'_>) -> Result<Vec<Tag>, ProviderError> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| tag(&k, &v))
        .collect()
}

/// Every tag of the certificate `arn`.
pub async fn list_tags(
    acm: &aws_sdk_acm::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| error("ListTagsForCertificate", e))?;
    Ok(tag_map(out.tags()))
}

/// Set and remove tags on a certificate.
pub async fn retag(
    acm: &aws_sdk_acm::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| tag(k, v))
            .collect::<Result<Vec<_>, _>>()?;
        acm.add_tags_to_certificate()
            .certificate_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error("AddTagsToCertificate", e))?;
    }
    if !delta.remove.is_empty() {
        let tags = delta
            .remove
            .iter()
            .map(|k| {
                Tag::builder()
                    .key(k)
                    .build()
                    .map_err(|e| ProviderError::new("tag", e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        acm.remove_tags_from_certificate()
            .certificate_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error("RemoveTagsFromCertificate", e))?;
    }
    Ok(())
}
