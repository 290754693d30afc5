//! WAFv2: regional web ACLs and their association with load balancers, and what they
//! share: WAF's error codes, tags (one ListTagsForResource per web ACL: WAF has no
//! batch) and retagging by ARN.

pub mod association;
pub mod web_acl;

use super::retry::service_calls;
use super::tags_by_arn;
use crate::provider::{ErrorKind, ProviderError};
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

tags_by_arn!(aws_sdk_wafv2);

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
