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

/// How often to look and to speak.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// The first look comes at once (the emulator, or a resource already there); the
    /// next after `first`, then the interval doubles up to `max`, which is how often a
    /// half-hour create is polled.
    pub first: Duration,
    pub max: Duration,
    /// How often "still creating" is said when the status has not changed.
    pub say_every: Duration,
}

pub const PACE: Pace = Pace {
    first: Duration::from_secs(2),
    max: Duration::from_secs(30),
    say_every: Duration::from_secs(60),
};

/// Poll `look` until it is ready, at most `req.timeout`. `doing` says what AWS is doing
/// ("creating", "deleting"): the user sees `still creating, 12m elapsed, status
/// backing-up` on every change of status and at least once a minute.
pub async fn until<T, F, Fut>(req: &Request<'_>, doing: &str, look: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    paced(req, doing, PACE, look).await
}

/// `until`, at another pace.
pub async fn paced<T, F, Fut>(
    req: &Request<'_>,
    doing: &str,
    pace: Pace,
    mut look: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, ProviderError>>,
{
    let started = Instant::now();
    let mut interval = pace.first;
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
        if changed || quiet_for.is_some_and(|q| q >= pace.say_every) {
            (req.note)(format!(
                "still {doing}, {} elapsed, status {status}",
                minutes(elapsed)
            ));
            said = Some((status, Instant::now()));
        }
        let left = req.timeout.saturating_sub(elapsed);
        tokio::time::sleep(interval.min(left)).await;
        interval = (interval * 2).min(pace.max);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Addr;
    use crate::provider::Scope;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Milliseconds standing for seconds: 2 -> 30 by doubling, said every 60.
    const FAST: Pace = Pace {
        first: Duration::from_millis(2),
        max: Duration::from_millis(30),
        say_every: Duration::from_millis(60),
    };

    /// Answers `statuses` one per look, then `Ready(7)`; returns the result and notes.
    async fn wait_through(
        statuses: &[&str],
        timeout: Duration,
    ) -> (Result<u8, ProviderError>, Vec<String>) {
        let notes = Mutex::new(Vec::new());
        let note = |m: String| notes.lock().expect("notes").push(m);
        let scope = Scope {
            stack: "s".into(),
            env: "dev".into(),
            tags: BTreeMap::new(),
            run: String::new(),
            ..Default::default()
        };
        let (addr, props) = (Addr("db".into()), Default::default());
        let req = Request {
            scope: &scope,
            addr: &addr,
            props: &props,
            timeout,
            protect: false,
            note: &note,
            suffix: None,
        };
        let left = Mutex::new(
            statuses
                .iter()
                .rev()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        );
        let result = paced(&req, "creating", FAST, || async {
            let next = left.lock().expect("left").pop();
            Ok(match next {
                Some(s) if s == "failed" => Poll::Failed(s),
                Some(s) => Poll::Pending(s),
                None => Poll::Ready(7),
            })
        })
        .await;
        (result, notes.into_inner().expect("notes"))
    }

    #[tokio::test]
    async fn says_each_new_status_once_and_returns_what_was_waited_for() {
        let (r, notes) = wait_through(
            &["creating", "creating", "backing-up"],
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(r.ok(), Some(7));
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("still creating, 0s elapsed, status creating"));
        assert!(notes[1].ends_with("status backing-up"), "{notes:?}");
    }

    #[tokio::test]
    async fn says_it_again_when_nothing_changes_for_a_while() {
        // Looks at about 0, 2, 6, 14, 30, 60, 90, 120, 150 ms.
        let (_, notes) = wait_through(&["creating"; 9], Duration::from_secs(60)).await;
        assert!(
            (2..=4).contains(&notes.len()),
            "said at first and then about every 60 ms: {notes:?}"
        );
    }

    #[tokio::test]
    async fn gives_up_at_the_timeout_with_a_timeout_error() {
        let (r, _) = wait_through(&["creating"; 1000], Duration::from_millis(50)).await;
        let e = r.expect_err("times out");
        assert_eq!(e.kind, ErrorKind::Timeout);
        assert!(e.message.contains("status `creating`"), "{}", e.message);
        assert!(e.message.contains("run the command again"), "{}", e.message);
        assert!(e.message.contains("timeouts:"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_failed_status_ends_the_wait_at_once() {
        let (r, _) = wait_through(&["creating", "failed"], Duration::from_secs(60)).await;
        let e = r.expect_err("fails");
        assert!(e.message.contains("`failed`"), "{}", e.message);
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(minutes(Duration::from_secs(45)), "45s");
        assert_eq!(minutes(Duration::from_secs(12 * 60 + 5)), "12m");
        assert_eq!(minutes(Duration::from_secs(3900)), "1h05m");
    }
}
