//! The audit log: one record per apply or destroy, written to the state bucket when the
//! command ends (whatever its outcome), listed newest first by `history`.
//!
//! S3 has no append: each record is its own object, written with `If-None-Match: *` so
//! that no record is ever overwritten, under a key whose inverted timestamp makes
//! S3's ascending listing order newest first.

use super::{now_ms, rfc3339, StateBucket};
use crate::aws::aws_error;
use crate::provider::ProviderError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};

/// Bumped on any change a reader of the records must know about.
pub const RECORD_VERSION: u32 = 1;

/// One apply or destroy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub record_version: u32,
    /// `apply` or `destroy`.
    pub command: String,
    pub stack: String,
    pub env: String,
    /// The caller's identity ARN.
    pub who: String,
    pub host: String,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub started: String,
    pub finished: String,
    pub duration_ms: u64,
    /// The saved plan's digest, when a saved plan was applied; else the digest of the
    /// plan computed and applied in the same run.
    pub plan_digest: String,
    /// Whether a saved plan file was applied.
    pub saved_plan: bool,
    /// `succeeded`, `failed`, `interrupted`, `no changes`.
    pub outcome: String,
    pub api_calls: u64,
    /// One entry per operation carried out or attempted.
    pub resources: Vec<ResourceOutcome>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceOutcome {
    pub addr: String,
    /// `create`, `update`, `delete`.
    pub op: String,
    /// `done`, `failed`, `skipped`, `interrupted`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record {
    /// Counts of `done` operations per op: (created, changed, destroyed).
    pub fn counts(&self) -> (usize, usize, usize) {
        let done = |op: &str| {
            self.resources
                .iter()
                .filter(|r| r.op == op && r.outcome == "done")
                .count()
        };
        (done("create"), done("update"), done("delete"))
    }
}

impl StateBucket {
    fn audit_prefix(&self) -> String {
        format!("audit/{}/{}/", self.stack, self.env)
    }

    /// Write `record`; its key.
    pub async fn append(&self, record: &Record, run: &str) -> Result<String, ProviderError> {
        // Newest first in S3's ascending order: the time subtracted from the largest
        // 13-digit number of milliseconds (the year 2286).
        let inverted = 9_999_999_999_999u64.saturating_sub(now_ms());
        let key = format!("{}{inverted:013}-{run}.json", self.audit_prefix());
        let body = serde_json::to_vec_pretty(record)
            .map_err(|e| ProviderError::new("PutObject", e.to_string()))?;
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| aws_error("PutObject", e, |_| None))?;
        Ok(key)
    }

    /// The newest `limit` records, newest first. Records that cannot be read are
    /// reported as such, not skipped silently.
    pub async fn history(&self, limit: usize) -> Result<Vec<Result<Record, String>>, String> {
        let limit = i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000);
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.audit_prefix())
            .max_keys(limit)
            .send()
            .await
            .map_err(|e| {
                let e = aws_error("ListObjectsV2", e, |_| None);
                match e.code.as_deref() {
                    Some("NoSuchBucket") => super::no_bucket(&self.bucket),
                    _ => format!("reading the audit log: {e}"),
                }
            })?;
        let keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        let reads = keys.iter().map(|key| async move {
            let out = self
                .s3
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| format!("{key}: {}", aws_error("GetObject", e, |_| None)))?;
            let bytes = out
                .body
                .collect()
                .await
                .map_err(|e| format!("{key}: {e}"))?
                .into_bytes();
            serde_json::from_slice::<Record>(&bytes)
                .map_err(|e| format!("{key}: not an audit record ({e})"))
        });
        Ok(futures_util::future::join_all(reads).await)
    }
}

/// The time now, as records write it.
pub fn now() -> String {
    rfc3339(now_ms())
}
