//! The environment lock: one object per stack and environment in the state bucket,
//! created with `If-None-Match: *` (only one writer can create it), renewed with
//! `If-Match: <its ETag>` while the command runs, and released with a conditional delete
//! against that ETag, so that a newer holder's lock is never removed.
//!
//! A lock past its expiry belongs to a command that stopped renewing it (killed, or cut
//! off): the next command takes it over, again with `If-Match` on the ETag it read, so
//! that of two commands taking it over at once only one wins.

use super::{human, now_ms, parse_rfc3339, random_id, rfc3339, Caller, StateBucket};
use crate::aws::aws_error;
use crate::provider::ProviderError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a lock holds without renewal; it is renewed every third of that.
pub const TTL: Duration = Duration::from_secs(10 * 60);

/// `TTL`, or `BANDUP_LOCK_TTL` seconds (at least 3): shorter in tests, longer where
/// renewals may be cut off for a while.
pub fn ttl() -> Duration {
    std::env::var("BANDUP_LOCK_TTL")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.max(3)))
        .unwrap_or(TTL)
}
/// How often a waiting command looks again.
const POLL: Duration = Duration::from_secs(2);

/// What the lock object holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// What `force-unlock ID` names.
    pub id: String,
    /// The caller's identity ARN.
    pub who: String,
    pub host: String,
    pub pid: u32,
    /// `apply`, `destroy`, `deploy`.
    pub command: String,
    pub stack: String,
    pub env: String,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// RFC 3339, UTC: past this, the holder stopped renewing it.
    pub expires: String,
}

impl LockInfo {
    /// `apply by arn:... on host (pid 12), started 3m 20s ago, lock id 0123...`.
    pub fn describe(&self, now: u64) -> String {
        let age = parse_rfc3339(&self.started)
            .map(|t| format!("{} ago", human(now.saturating_sub(t))))
            .unwrap_or_else(|| format!("at {}", self.started));
        let expiry = match parse_rfc3339(&self.expires) {
            Some(t) if t <= now => format!(
                "; it expired {} ago (its holder stopped renewing it)",
                human(now - t)
            ),
            Some(t) => format!("; it expires in {} unless renewed", human(t - now)),
            None => String::new(),
        };
        format!(
            "`{}` by {} on {} (pid {}), started {age} (lock id {}){expiry}",
            self.command, self.who, self.host, self.pid, self.id
        )
    }

    fn expired(&self, now: u64) -> bool {
        parse_rfc3339(&self.expires).is_some_and(|t| t <= now)
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("the {env} environment of stack {stack} is locked: {holder}.\nWait for it to finish, or pass --lock-timeout 10m to wait. If that command is dead (killed, its machine gone), clear the lock with `bandup-infra force-unlock --env {env} {id}`.")]
    Held {
        stack: String,
        env: String,
        holder: String,
        id: String,
    },
    #[error("the lock object s3://{bucket}/{key} cannot be read as a lock ({error}); it was left as it is. Look at it, and if no command holds it, remove it with `bandup-infra force-unlock --env {env} {etag}`.")]
    Unreadable {
        bucket: String,
        key: String,
        env: String,
        error: String,
        etag: String,
    },
    #[error("{0}")]
    NoBucket(String),
    #[error("taking the environment lock: {0}")]
    Aws(ProviderError),
}

/// A lock this command holds. Renewed in the background until `release`.
pub struct Lock {
    pub info: LockInfo,
    bucket: StateBucket,
    key: String,
    etag: Arc<Mutex<String>>,
    /// Tells the renewer to stop; it finishes a renewal in flight first, so the ETag
    /// released against is the lock's latest.
    stop: Arc<tokio::sync::Notify>,
    renewer: tokio::task::JoinHandle<()>,
}

impl StateBucket {
    pub fn lock_key(&self) -> String {
        format!("locks/{}/{}.json", self.stack, self.env)
    }

    /// Take the lock for `command`, waiting up to `timeout` for another holder to let
    /// go; `say` hears what is waited for. `on_lost` is called if the lock is taken from
    /// this command while it runs (force-unlocked, or taken over after a renewal failed
    /// for longer than the lock lasts).
    pub async fn lock(
        &self,
        caller: &Caller,
        command: &str,
        timeout: Duration,
        say: &(dyn Fn(String) + Send + Sync),
        on_lost: Arc<dyn Fn(String) + Send + Sync>,
    ) -> Result<Lock, LockError> {
        let key = self.lock_key();
        let mut info = LockInfo {
            id: random_id(),
            who: caller.arn.clone(),
            host: caller.host.clone(),
            pid: std::process::id(),
            command: command.into(),
            stack: self.stack.clone(),
            env: self.env.clone(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started: String::new(),
            expires: String::new(),
        };
        let waiting_since = Instant::now();
        let mut said = None::<Instant>;
        loop {
            info.started = rfc3339(now_ms());
            info.expires = rfc3339(now_ms() + ms(ttl()));
            match self.put(&key, &info, Cond::Absent).await {
                Ok(etag) => return Ok(self.hold(info, key, etag, on_lost)),
                Err(e) if e.code.as_deref() == Some("PreconditionFailed") => {}
                // Two conditional writes at once: S3 asks the loser to try again.
                Err(e) if e.code.as_deref() == Some("ConditionalRequestConflict") => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => return Err(self.error(e)),
            }
            let Some((held, etag)) = self.read(&key).await? else {
                continue; // Released in between: try again at once.
            };
            let now = now_ms();
            if held.expired(now) {
                info.started = rfc3339(now);
                info.expires = rfc3339(now + ms(ttl()));
                match self.put(&key, &info, Cond::Is(etag)).await {
                    Ok(etag) => {
                        say(format!("took over an expired lock: {}", held.describe(now)));
                        return Ok(self.hold(info, key, etag, on_lost));
                    }
                    Err(e) if is_lost_race(&e) => continue,
                    Err(e) => return Err(self.error(e)),
                }
            }
            if waiting_since.elapsed() >= timeout {
                return Err(LockError::Held {
                    stack: self.stack.clone(),
                    env: self.env.clone(),
                    holder: held.describe(now),
                    id: held.id,
                });
            }
            if said.is_none_or(|t| t.elapsed() >= Duration::from_secs(30)) {
                let left = timeout.saturating_sub(waiting_since.elapsed());
                say(format!(
                    "waiting for the lock (up to {} more): {}",
                    human(ms(left)),
                    held.describe(now)
                ));
                said = Some(Instant::now());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The lock as it is now, with its ETag, if there is one.
    pub async fn current_lock(&self) -> Result<Option<(LockInfo, String)>, LockError> {
        self.read(&self.lock_key()).await
    }

    /// Remove the lock whose id (or, for an unreadable lock object, ETag) is `id`; the
    /// delete is conditional on the ETag read, so a lock taken since is left alone.
    pub async fn force_unlock(&self, id: &str) -> Result<LockInfo, String> {
        let key = self.lock_key();
        let (body, etag) = match self.get(&key).await.map_err(|e| e.to_string())? {
            Some(x) => x,
            None => {
                return Err(format!(
                    "the {} environment of stack {} is not locked",
                    self.env, self.stack
                ))
            }
        };
        let info = serde_json::from_slice::<LockInfo>(&body).ok();
        let matches = match &info {
            Some(i) => i.id == id,
            None => etag.trim_matches('"') == id.trim_matches('"'),
        };
        if !matches {
            let holder = info
                .as_ref()
                .map(|i| i.describe(now_ms()))
                .unwrap_or_else(|| format!("an unreadable lock object (ETag {etag})"));
            return Err(format!(
                "the lock is not `{id}`: it is held by {holder}. Nothing was removed."
            ));
        }
        self.delete(&key, &etag).await.map_err(|e| {
            if e.code.as_deref() == Some("PreconditionFailed") {
                "the lock changed while it was being removed (renewed or taken by another command): nothing was removed. Run force-unlock again to see who holds it now.".to_string()
            } else {
                format!("removing the lock: {e}")
            }
        })?;
        Ok(info.unwrap_or(LockInfo {
            id: id.into(),
            who: "?".into(),
            host: "?".into(),
            pid: 0,
            command: "?".into(),
            stack: self.stack.clone(),
            env: self.env.clone(),
            tool_version: "?".into(),
            started: "?".into(),
            expires: "?".into(),
        }))
    }

    fn hold(
        &self,
        info: LockInfo,
        key: String,
        etag: String,
        on_lost: Arc<dyn Fn(String) + Send + Sync>,
    ) -> Lock {
        let etag = Arc::new(Mutex::new(etag));
        let stop = Arc::new(tokio::sync::Notify::new());
        let renewer = tokio::spawn(renew(
            self.clone(),
            key.clone(),
            info.clone(),
            etag.clone(),
            stop.clone(),
            on_lost,
        ));
        Lock {
            info,
            bucket: self.clone(),
            key,
            etag,
            stop,
            renewer,
        }
    }

    fn error(&self, e: ProviderError) -> LockError {
        match e.code.as_deref() {
            Some("NoSuchBucket") => LockError::NoBucket(super::no_bucket(&self.bucket)),
            _ => LockError::Aws(e),
        }
    }

    /// Write the lock object; its new ETag.
    async fn put(&self, key: &str, info: &LockInfo, cond: Cond) -> Result<String, ProviderError> {
        let body = serde_json::to_vec_pretty(info)
            .map_err(|e| ProviderError::new("PutObject", e.to_string()))?;
        let mut req = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        req = match cond {
            Cond::Absent => req.if_none_match("*"),
            Cond::Is(etag) => req.if_match(etag),
        };
        let out = req
            .send()
            .await
            .map_err(|e| aws_error("PutObject", e, |_| None))?;
        Ok(out.e_tag().unwrap_or_default().to_string())
    }

    /// The lock object's body and ETag, if it exists.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, LockError> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| LockError::Aws(ProviderError::new("GetObject", e.to_string())))?
                    .into_bytes()
                    .to_vec();
                Ok(Some((body, etag)))
            }
            Err(e) => {
                let e = aws_error("GetObject", e, |_| None);
                if e.code.as_deref() == Some("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(self.error(e))
                }
            }
        }
    }

    /// The lock object parsed; one that cannot be parsed is an error, never overwritten.
    async fn read(&self, key: &str) -> Result<Option<(LockInfo, String)>, LockError> {
        let Some((body, etag)) = self.get(key).await? else {
            return Ok(None);
        };
        match serde_json::from_slice::<LockInfo>(&body) {
            Ok(info) => Ok(Some((info, etag))),
            Err(e) => Err(LockError::Unreadable {
                bucket: self.bucket.clone(),
                key: key.into(),
                env: self.env.clone(),
                error: e.to_string(),
                etag: etag.trim_matches('"').to_string(),
            }),
        }
    }

    async fn delete(&self, key: &str, etag: &str) -> Result<(), ProviderError> {
        match self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = aws_error("DeleteObject", e, |_| None);
                match e.code.as_deref() {
                    Some("NoSuchKey") => Ok(()),
                    _ => Err(e),
                }
            }
        }
    }
}

impl Lock {
    /// Stop renewing and remove the lock, unless it is no longer ours.
    pub async fn release(self) -> Result<(), String> {
        self.stop.notify_one();
        let _ = self.renewer.await;
        let etag = self.etag.lock().map(|e| e.clone()).unwrap_or_default();
        self.bucket
            .delete(&self.key, &etag)
            .await
            .map_err(|e| match e.code.as_deref() {
                Some("PreconditionFailed") => format!(
                    "the lock was no longer this command's (force-unlocked or taken over), so it was left as it is: s3://{}/{}",
                    self.bucket.bucket, self.key
                ),
                _ => format!("releasing the lock s3://{}/{}: {e}", self.bucket.bucket, self.key),
            })
    }
}

/// The condition a lock write is made on.
enum Cond {
    /// Only if there is no lock (`If-None-Match: *`).
    Absent,
    /// Only if the lock is still the one with this ETag (`If-Match`).
    Is(String),
}

/// Another command changed the lock between our read and our write.
fn is_lost_race(e: &ProviderError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey")
    )
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Renew the lock every third of its life. A renewal refused because the lock changed
/// means it is no longer ours: `on_lost` is told and renewal stops. Other failures (the
/// network) are tried again at the next tick.
async fn renew(
    bucket: StateBucket,
    key: String,
    mut info: LockInfo,
    etag: Arc<Mutex<String>>,
    stop: Arc<tokio::sync::Notify>,
    on_lost: Arc<dyn Fn(String) + Send + Sync>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(ttl() / 3) => {}
            _ = stop.notified() => return,
        }
        info.expires = rfc3339(now_ms() + ms(ttl()));
        let current = etag.lock().map(|e| e.clone()).unwrap_or_default();
        match bucket.put(&key, &info, Cond::Is(current)).await {
            Ok(new) => {
                if let Ok(mut e) = etag.lock() {
                    *e = new;
                }
            }
            Err(e) if is_lost_race(&e) => {
                on_lost(format!(
                    "the environment lock was taken from this command (force-unlocked, or taken over): {e}"
                ));
                return;
            }
            Err(e) => tracing::warn!("renewing the environment lock failed, trying again: {e}"),
        }
    }
}
