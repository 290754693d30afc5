//! WAFv2: regional web ACLs and their association with load balancers, and what they
//! share: WAF's error codes, tags (one ListTagsForResource per web ACL: WAF has no
//! batch) and retagging by ARN.

pub mod association;
pub mod web_acl;

use super::creation_tags;
use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use aws_sdk_wafv2::types::Tag;
use std::collections::BTreeMap;

/// The kind of a WAFv2 error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "WAFNonexistentItemException" => ErrorKind::NotFound,
        "WAFAssociatedItemException" => ErrorKind::InUse,
        "WAFDuplicateItemException" => ErrorKind::Conflict,
        "WAFUnavailableEntityException" => ErrorKind::NotYetVisible,
        _ => return None,
    })
}

service_calls!(aws_sdk_wafv2, &[], codes);

fn tag(k: &str, v: &str) -> Result<Tag, ProviderError> {
    Tag::builder()
        .key(k)
        .value(v)
        .build()
        .map_err(|e| ProviderError::new("tag", e.to_string()))
}

/// The tags a new web ACL is created with.
pub fn tags(req: &Request<'_>) -> Result<Vec<Tag>, ProviderError> {
    creation_tags(req)
        .into_iter()
        .map(|(k, v)| tag(&k, &v))
        .collect()
}

/// Every tag of the WAF resource `arn`.
pub async fn list_tags(
    waf: &aws_sdk_wafv2::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = waf
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| error("ListTagsForResource", e))?;
    Ok(out
        .tag_info_for_resource()
        .map(|t| {
            t.tag_list()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

/// Set and remove tags on a WAF resource.
pub async fn retag(
    waf: &aws_sdk_wafv2::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        let tags = delta
            .set
            .iter()
            .map(|(k, v)| tag(k, v))
            .collect::<Result<Vec<_>, _>>()?;
        waf.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        waf.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}
