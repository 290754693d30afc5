//! Progress of plan and apply: a live view (one spinner per operation in flight) on a
//! terminal, plain timestamped lines otherwise (CI, pipes).

use crate::model::{Event, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The reporter for this run's terminal.
pub fn reporter(style: super::Style) -> Box<dyn Reporter> {
    if style.live {
        Box::new(Live::default())
    } else {
        Box::new(Lines)
    }
}

fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn line(e: &Event) -> Option<String> {
    Some(match e {
        Event::Reading { .. } => return None,
        Event::Read { type_name, found } => format!("Read {type_name}: {found} found"),
        Event::Started { addr, op } => format!("{addr}: {}...", op.verb()),
        Event::Finished {
            addr,
            op,
            id,
            elapsed,
        } => {
            let id = if id.is_empty() {
                String::new()
            } else {
                format!(" [id={id}]")
            };
            format!(
                "{addr}: {} after {:.1}s{id}",
                op.done(),
                elapsed.as_secs_f64()
            )
        }
        Event::Failed { addr, error, .. } => format!("{addr}: failed: {error}"),
        Event::Skipped { addr, because, .. } => format!("{addr}: skipped because {because} failed"),
        Event::Interrupted { addr, op } => format!("{addr}: not {} (interrupted)", op.past()),
        Event::Note { addr, message } => format!("{addr}: {message}"),
    })
}

/// Plain lines on stderr, each with a UTC time.
pub struct Lines;

impl Reporter for Lines {
    fn event(&self, e: Event) {
        if let Some(l) = line(&e) {
            eprintln!("[{}] {l}", clock());
        }
    }
}

/// A spinner per operation in flight; finished lines scroll above them.
#[derive(Default)]
pub struct Live {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Reporter for Live {
    fn event(&self, e: Event) {
        let key = match &e {
            Event::Reading { type_name } | Event::Read { type_name, .. } => {
                format!("read {type_name}")
            }
            Event::Started { addr, .. }
            | Event::Finished { addr, .. }
            | Event::Failed { addr, .. }
            | Event::Skipped { addr, .. }
            | Event::Interrupted { addr, .. } => addr.to_string(),
            Event::Note { addr, message } => {
                // The spinner says what its operation is waiting for now; the line stays.
                if let Some(bar) = self
                    .bars
                    .lock()
                    .ok()
                    .and_then(|b| b.get(addr.as_str()).cloned())
                {
                    bar.set_message(format!("{addr}: {message}"));
                }
                if let Some(l) = line(&e) {
                    let _ = self.multi.println(l);
                }
                return;
            }
        };
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        match &e {
            Event::Reading { .. } | Event::Started { .. } => {
                let msg = match &e {
                    Event::Started { addr, op } => format!("{addr}: {}...", op.verb()),
                    Event::Reading { type_name } => format!("Reading {type_name}..."),
                    _ => String::new(),
                };
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_message(msg);
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(key, bar);
            }
            _ => {
                if let Some(bar) = bars.remove(&key) {
                    bar.finish_and_clear();
                    self.multi.remove(&bar);
                }
                if !matches!(e, Event::Read { .. }) {
                    if let Some(l) = line(&e) {
                        let _ = self.multi.println(l);
                    }
                }
            }
        }
    }
}
