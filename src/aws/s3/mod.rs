//! S3: the bucket type and what it shares: S3's error codes (where "not configured" is
//! an error such as `NoSuchTagSet`) and tags, which S3 only ever replaces as a whole set.

pub mod bucket;

use super::retry::service_calls;
use super::Owned;
use crate::provider::{ErrorKind, ProviderError, Scope};
use aws_sdk_s3::types::{Tag, Tagging};
use std::collections::BTreeMap;

/// The kind of an S3 error code. `NoSuch...` covers a missing bucket and a setting
/// never made (`NoSuchTagSet`, `NoSuchLifecycleConfiguration`, `NoSuchBucketPolicy`).
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        c if c.starts_with("NoSuch") || c.ends_with("NotFoundError") || c == "NotFound" => {
            ErrorKind::NotFound
        }
        "BucketAlreadyOwnedByYou" => ErrorKind::Conflict,
        "BucketNotEmpty" | "OperationAborted" => ErrorKind::InUse,
        "SlowDown" => ErrorKind::Throttled,
        _ => return None,
    })
}

/// A bucket's settings are eventually consistent: a call naming a bucket created moments
/// before may answer `NoSuchBucket` for a while.
const NOT_YET_VISIBLE: &[&str] = &["NoSuchBucket"];

service_calls!(aws_sdk_s3, NOT_YET_VISIBLE, codes);

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// What a bucket's tags say, if `scope` owns it.
pub fn owned(scope: &Scope, tags: &[Tag]) -> Option<Owned> {
    super::owned(scope, tag_map(tags))
}

/// A bucket's whole tag set (S3 replaces tags as one set).
pub fn tagging(tags: &BTreeMap<String, String>) -> Result<Tagging, ProviderError> {
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProviderError::new("PutBucketTagging", e.to_string()))?;
    Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| ProviderError::new("PutBucketTagging", e.to_string()))
}

/// The tags a bucket has: none set is `NoSuchTagSet`, an empty set.
pub async fn bucket_tags(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(tag_map(out.tag_set())),
        Err(e) => {
            let e = error("GetBucketTagging", e);
            if e.code.as_deref() == Some("NoSuchTagSet") {
                Ok(BTreeMap::new())
            } else {
                Err(e)
            }
        }
    }
}
