//! A bucket's objects, which guard its delete: counted (every version and delete marker)
//! to refuse a delete, or all deleted first when `force_destroy` says so.

use super::super::error;
use crate::provider::{ErrorKind, ProviderError, Request};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use std::time::Instant;

/// How many object versions a refused delete counts before saying "at least".
const COUNT_UP_TO: i32 = 100;

/// How many object versions and delete markers `bucket` holds, up to `COUNT_UP_TO`;
/// `true` if there are more.
pub async fn count(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(usize, bool), ProviderError> {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(COUNT_UP_TO)
        .send()
        .await
        .map_err(|e| error("ListObjectVersions", e))?;
    Ok((
        out.versions().len() + out.delete_markers().len(),
        out.is_truncated() == Some(true),
    ))
}

/// Delete every object version and delete marker, 1000 per call, until none is left.
pub async fn empty(
    s3: &aws_sdk_s3::Client,
    req: &Request<'_>,
    bucket: &str,
) -> Result<(), ProviderError> {
    let started = Instant::now();
    let mut removed = 0usize;
    loop {
        let out = s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| error("ListObjectVersions", e))?;
        let ids = out
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                out.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(k, v)| {
                ObjectIdentifier::builder()
                    .key(k?)
                    .set_version_id(v.map(str::to_string))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        if ids.is_empty() {
            return Ok(());
        }
        if started.elapsed() > req.timeout {
            return Err(ProviderError::new(
                "DeleteObjects",
                format!("{bucket} still holds objects after {}s of deleting them (something keeps writing?)", started.elapsed().as_secs()),
            )
            .kind(ErrorKind::Timeout));
        }
        let n = ids.len();
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| ProviderError::new("DeleteObjects", e.to_string()))?;
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| error("DeleteObjects", e))?;
        if let Some(e) = out.errors().first() {
            return Err(ProviderError {
                code: e.code().map(str::to_string),
                ..ProviderError::new(
                    "DeleteObjects",
                    format!(
                        "could not delete {} of the objects in {bucket}, {} version {}: {}",
                        out.errors().len(),
                        e.key().unwrap_or_default(),
                        e.version_id().unwrap_or("null"),
                        e.message().unwrap_or_default()
                    ),
                )
            });
        }
        removed += n;
        (req.note)(format!("force_destroy: {removed} object versions deleted"));
    }
}

/// The refusal of a delete of `bucket`, which holds `n` object versions (`more` if
/// counting stopped). A bucket still declared has `force_destroy` (its default) and can
/// be told to go with its objects; one removed from the stack has only what was read.
pub fn refusal(req: &Request<'_>, bucket: &str, n: usize, more: bool) -> ProviderError {
    let count = if more {
        format!("at least {n} object versions")
    } else if n == 1 {
        "1 object version".to_string()
    } else {
        format!("{n} object versions")
    };
    let force = if req.props.contains_key("force_destroy") {
        format!(
            ", or set `force_destroy: true` on `{}` and run again to delete them with it",
            req.addr
        )
    } else {
        String::new()
    };
    ProviderError {
        code: Some("BucketNotEmpty".into()),
        ..ProviderError::new(
            "DeleteBucket",
            format!(
                "{bucket} still holds {count} (objects, old versions or delete markers); bandup-infra never deletes them unless told to: empty it first (`aws s3 rm s3://{bucket} --recursive`, then its old versions and delete markers with `aws s3api delete-objects`) and run again{force}"
            ),
        )
    }
    .kind(ErrorKind::InUse)
}
