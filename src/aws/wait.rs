//! Waiting for AWS to finish something slow (a database, a cache cluster): poll a status
//! at a growing interval, at most the operation's timeout, and tell the user what is
//! being waited for and for how long.

use crate::provider::{ErrorKind, ProviderError, Request};
use std::future::Future;
use std::time::{Duration, Instant};

/// What one look at the resource says.
pub enum Poll<T> {
    /// Finished; here is what was waited for.
    Ready(T),
    /// Not yet: AWS's status word (`creating`, `backing-up`, `modifying`).
    Pending(String),
    /// It will never get there (`failed`, `incompatible-parameters`).
    Failed(String),
}

/// The first look comes at once (the emulator, or a resource already there); then the
/// interval grows to `MAX_INTERVAL`, which is how often a half-hour create is polled.
const FIRST_INTERVAL: Duration = Duration::from_secs(2);
const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// How often "still creating" is said when the status has not changed.
const SAY_EVERY: Duration = Duration::from_secs(60);

/// Poll `look` until it is ready, at most `req.timeout`. `doing` says what AWS is doing
/// ("creating", "deleting"): the user sees `still creating, 12m elapsed, status
/// backing-up` on every change of status and at least once a minute.
pub async fn until<T, F, Fut>(
    req: &Request<'_>,
    doing: &str,
    mut look: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let started = Instant::now();
    let mut interval = FIRST_INTERVAL;
    let mut said: Option<(String, Instant)> = None;
    loop {
        let status = match look().await? {
            Poll::Ready(t) => return Ok(t),
            Poll::Failed(status) => {
                return Err(ProviderError::new(
                    format!("wait for {} {doing}", req.addr),
                    format!("AWS reports status `{status}`: it will not finish by itself"),
                ))
            }
            Poll::Pending(status) => status,
        };
        let elapsed = started.elapsed();
        if elapsed >= req.timeout {
            return Err(ProviderError::new(
                format!("wait for {} {doing}", req.addr),
                format!(
                    "still {doing} after {} (status `{status}`). It goes on in AWS: run the command again to keep waiting, or raise `timeouts:` for this resource",
                    minutes(elapsed)
                ),
            )
            .kind(ErrorKind::Timeout));
        }
        let changed = said.as_ref().is_none_or(|(s, _)| s != &status);
        let quiet_for = said.as_ref().map(|(_, t)| t.elapsed());
        if changed || quiet_for.is_some_and(|q| q >= SAY_EVERY) {
            (req.note)(format!(
                "still {doing}, {} elapsed, status {status}",
                minutes(elapsed)
            ));
            said = Some((status, Instant::now()));
        }
        let left = req.timeout.saturating_sub(elapsed);
        tokio::time::sleep(interval.min(left)).await;
        interval = (interval * 2).min(MAX_INTERVAL);
    }
}

/// "12m", "45s", "1h05m".
pub fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}
