//! The environment's state bucket (`state_bucket:` in the environment file): not a state
//! file — live AWS stays the truth — but where the environment lock (`lock.rs`) and the
//! audit log (`audit.rs`) live, both written with S3 conditional writes. `bootstrap.rs`
//! creates it.
//!
//! Keys, per stack and environment:
//! - `locks/<stack>/<env>.json`: the lock, while a command holds it;
//! - `audit/<stack>/<env>/<inverted time>-<run>.json`: one record per apply or destroy,
//!   named so that S3's listing order is newest first.

pub mod audit;
pub mod bootstrap;
pub mod lock;

use std::time::{SystemTime, UNIX_EPOCH};

/// The bucket, and whose lock and log are read and written in it.
#[derive(Clone, Debug)]
pub struct StateBucket {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub stack: String,
    pub env: String,
}

impl StateBucket {
    /// The state bucket `stack`'s environment names, if it names one.
    pub fn of(stack: &crate::config::Stack, sdk: &aws_types::SdkConfig) -> Option<StateBucket> {
        stack.state_bucket.as_ref().map(|bucket| StateBucket {
            s3: aws_sdk_s3::Client::new(sdk),
            bucket: bucket.clone(),
            stack: stack.name.clone(),
            env: stack.env.clone(),
        })
    }
}

/// Who runs this command: the caller's ARN (STS GetCallerIdentity) and the machine.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    pub arn: String,
    /// The AWS account of the credentials.
    pub account: String,
    pub host: String,
}

impl Caller {
    /// The caller's identity ARN, asked of STS, and this machine's name.
    pub async fn identify(sdk: &aws_types::SdkConfig) -> anyhow::Result<Caller> {
        let out = aws_sdk_sts::Client::new(sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| crate::aws::aws_error("GetCallerIdentity", e, |_| None))?;
        Ok(Caller {
            arn: out.arn().unwrap_or_default().to_string(),
            account: out.account().unwrap_or_default().to_string(),
            host: hostname(),
        })
    }
}

/// The bucket is not there: what to do about it.
pub(crate) fn no_bucket(bucket: &str) -> String {
    format!(
        "the state bucket `{bucket}` does not exist (or these credentials cannot see it). \
         It is created by `bandup-infra bootstrap`; or pass --lock=false to go on without \
         the environment lock and audit log."
    )
}

/// This machine's name, as the lock and the audit log show it.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown-host".into())
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `2026-11-30T16:40:00Z` for a time in milliseconds since the epoch.
pub fn rfc3339(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| ms.to_string())
}

/// Milliseconds since the epoch of an RFC 3339 time written by `rfc3339`.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    aws_smithy_types::DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|d| u64::try_from(d.to_millis().ok()?).ok())
}

/// `3m 20s`, `2h 5m`, `4s`: an age or a wait, for people.
pub fn human(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s / 60 % 60),
    }
}

/// A new random id (16 hex digits): a lock's, an audit record's.
pub fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(now_ms());
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}
