//! Executes a `Plan` and nothing else: turns its actions into operations with their
//! ordering (creates after what they reference, deletes in reverse, hidden orderings
//! such as NAT gateways before the internet gateway), then walks them with at most
//! `parallelism` in flight. A failure skips its dependents, lets in-flight work finish,
//! and every outcome is reported.
//!
//! Creates are safe to repeat: before creating, and after a create failed without an
//! answer or because the thing exists already, the resource is looked up by its
//! ownership tags and adopted if it exists (a killed run, another run or a lost answer
//! made it). An operation whose outcome is unknown (`ambiguous`) is
//! tried again, at most `ATTEMPTS` times, after reading what exists.

mod schedule;

pub use schedule::{schedule, Step};

use crate::graph::Dag;
use crate::model::{Addr, Event, Op, Outputs, Props, Reporter};
use crate::plan::{duration_ms, Action, Plan};
use crate::provider::{Live, Provider, ProviderError, Registry, Request, Scope, TagDelta};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// How often one operation is tried when its outcome stays unknown (answers lost).
pub const ATTEMPTS: u32 = 3;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Status {
    Done {
        id: String,
    },
    Failed {
        error: String,
        /// AWS's error code and request id, when AWS answered.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    Skipped {
        because: Addr,
    },
    /// Not started because the user interrupted the apply.
    Interrupted,
}

#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub addr: Addr,
    pub op: Op,
    #[serde(flatten)]
    pub status: Status,
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub api_calls: u64,
    pub elapsed_ms: u64,
    /// The attributes of every resource the plan keeps, as they are after the apply
    /// (what outputs are resolved from without reading AWS again).
    #[serde(skip)]
    pub outputs: BTreeMap<Addr, Outputs>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Failed { .. }))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Skipped { .. }))
            .count()
    }

    pub fn interrupted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::Interrupted))
            .count()
    }

    pub fn count(&self, op: Op) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.op == op && matches!(o.status, Status::Done { .. }))
            .count()
    }
}

/// A request to stop: operations in flight finish, nothing new starts.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<std::sync::atomic::AtomicBool>);

impl Interrupt {
    pub fn trigger(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Run `plan`. Never more than `parallelism` operations at once, never two on one resource.
pub async fn apply(
    plan: &Plan,
    registry: &Registry,
    parallelism: usize,
    reporter: Arc<dyn Reporter>,
) -> Report {
    apply_until(plan, registry, parallelism, reporter, &Interrupt::default()).await
}

/// `apply`, stopping cleanly once `interrupt` is triggered: what is in flight finishes and
/// is reported, what has not started is reported as interrupted.
pub async fn apply_until(
    plan: &Plan,
    registry: &Registry,
    parallelism: usize,
    reporter: Arc<dyn Reporter>,
    interrupt: &Interrupt,
) -> Report {
    let started = Instant::now();
    let calls_before = registry.calls.get();
    // References resolve to the copies the plan keeps, never to one it deletes or replaces.
    let outputs: Arc<Mutex<BTreeMap<Addr, Outputs>>> = Arc::new(Mutex::new(
        plan.resources
            .iter()
            .filter(|r| matches!(r.action, Action::NoOp | Action::Update))
            .filter_map(|r| r.live.as_ref().map(|l| (r.addr.clone(), l.outputs.clone())))
            .collect(),
    ));
    let mut walk = Walk::new(schedule(plan, registry), reporter.clone());
    let mut running: JoinSet<(usize, Result<Option<Live>, ProviderError>, u64)> = JoinSet::new();

    loop {
        while running.len() < parallelism.max(1) {
            let Some(i) = walk.ready.pop() else { break };
            let step = walk.dag.node(i).clone();
            if interrupt.is_set() {
                walk.finish(i, Status::Interrupted, 0);
                continue;
            }
            if let Some(because) = walk.blocked.get(&i).cloned() {
                walk.finish(i, Status::Skipped { because }, 0);
                continue;
            }
            let Some(provider) = registry.get(&step.type_name).cloned() else {
                let error = format!(
                    "{}: no provider for resource type {}",
                    step.addr, step.type_name
                );
                let status = Status::Failed {
                    error,
                    code: None,
                    request_id: None,
                };
                walk.finish(i, status, 0);
                continue;
            };
            let scope = plan.scope.clone();
            let outputs = outputs.clone();
            let reporter = reporter.clone();
            running.spawn(async move {
                let t0 = Instant::now();
                reporter.event(Event::Started {
                    addr: step.addr.clone(),
                    op: step.op,
                });
                tracing::debug!(addr = %step.addr, op = ?step.op, "step started");
                let result =
                    run_step(&step, provider.as_ref(), &scope, &outputs, reporter.as_ref()).await;
                tracing::debug!(addr = %step.addr, op = ?step.op, ok = result.is_ok(), "step finished");
                if let (Ok(Some(l)), Ok(mut known)) = (&result, outputs.lock()) {
                    known.insert(step.addr.clone(), l.outputs.clone());
                }
                (i, result, duration_ms(t0.elapsed()))
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        match joined {
            Ok((i, Ok(live), elapsed_ms)) => {
                let step = walk.dag.node(i);
                let id = live
                    .map(|l| l.id)
                    .or_else(|| step.live.as_ref().map(|l| l.id.clone()));
                walk.finish(
                    i,
                    Status::Done {
                        id: id.unwrap_or_default(),
                    },
                    elapsed_ms,
                );
            }
            Ok((i, Err(e), elapsed_ms)) => {
                let error = format!("{}: {e}", walk.dag.node(i).addr);
                let status = Status::Failed {
                    error,
                    code: e.code,
                    request_id: e.request_id,
                };
                walk.finish(i, status, elapsed_ms);
            }
            // A panicking provider is a bug; its step is never released, so what depends on
            // it does not run, and the rest goes on.
            Err(e) => tracing::error!("an apply task panicked: {e}"),
        }
    }
    let outputs = outputs.lock().map(|o| o.clone()).unwrap_or_default();
    Report {
        outcomes: walk.outcomes,
        api_calls: registry.calls.get() - calls_before,
        elapsed_ms: duration_ms(started.elapsed()),
        outputs,
    }
}

/// One operation: resolve references from what has finished, then call the provider.
async fn run_step(
    step: &Step,
    provider: &dyn Provider,
    scope: &Scope,
    outputs: &Mutex<BTreeMap<Addr, Outputs>>,
    reporter: &dyn Reporter,
) -> Result<Option<Live>, ProviderError> {
    let note = |message: String| {
        reporter.event(Event::Note {
            addr: step.addr.clone(),
            message,
        })
    };
    // The resource's own `timeouts:`, else its type's.
    let (own, default) = (step.timeouts, provider.timeouts());
    let secs = |s: Option<u64>, d: Duration| s.map(Duration::from_secs).unwrap_or(d);
    let timeouts = crate::provider::Timeouts {
        create: secs(own.create, default.create),
        update: secs(own.update, default.update),
        delete: secs(own.delete, default.delete),
    };
    if step.op == Op::Delete {
        if let Some(l) = &step.live {
            // A resource no longer declared is deleted as it was read.
            let props = if step.desired.is_empty() {
                &l.props
            } else {
                &step.desired
            };
            let req = Request {
                scope,
                addr: &step.addr,
                props,
                timeout: timeouts.delete,
                protect: step.protect,
                note: &note,
                suffix: None,
            };
            provider.delete(&req, l).await?;
        }
        return Ok(None);
    }
    let props: Props = {
        let known = outputs.lock().map(|g| g.clone()).unwrap_or_default();
        let lookup = |a: &Addr, attr: &str| known.get(a).and_then(|o| o.get(attr)).cloned();
        step.desired
            .iter()
            .map(|(k, v)| (k.clone(), v.resolve(&lookup)))
            .collect()
    };
    if let Some((field, _)) = props.iter().find(|(_, v)| v.has_unknown()) {
        let msg = format!("`{field}` is still unknown: a resource it refers to was not created");
        return Err(ProviderError::new("resolve", msg));
    }
    let req = Request {
        scope,
        addr: &step.addr,
        props: &props,
        timeout: match step.op {
            Op::Create => timeouts.create,
            _ => timeouts.update,
        },
        protect: step.protect,
        note: &note,
        suffix: step.suffix.as_deref(),
    };
    match (step.op, &step.live) {
        (Op::Create, _) => create(provider, &req).await.map(Some),
        (_, Some(l)) => finish(provider, &req, l.clone(), Via::Update)
            .await
            .map(Some),
        (_, None) => Err(ProviderError::new("update", "no live resource to update")),
    }
}

/// Create `req.addr`, or adopt the copy that already exists. A create that failed may
/// still have happened (its answer lost) or half-happened: look before trying again.
async fn create(provider: &dyn Provider, req: &Request<'_>) -> Result<Live, ProviderError> {
    // A killed run, or another run, may have created it since the plan was made.
    if let Some(found) = adoptable(provider, req).await? {
        (req.note)(format!(
            "found {} already created (by an earlier or concurrent run); adopting it",
            found.id
        ));
        return finish(provider, req, found, Via::Adopt).await;
    }
    let mut attempt = 1;
    loop {
        let error = match provider.create(req).await {
            Ok(l) => return Ok(l),
            Err(e) => e,
        };
        if !error.ambiguous && !error.is_conflict() {
            return Err(error);
        }
        // Give AWS a moment to show what it may have made (its reads lag its writes).
        backoff(attempt).await;
        // Reading may fail too (the same outage): then the create's own error is the news.
        if let Ok(Some(found)) = adoptable(provider, req).await {
            (req.note)(format!(
                "{} failed, but {} exists: the answer was lost, or another run made it; adopting it",
                error.operation, found.id
            ));
            return finish(provider, req, found, Via::Adopt).await;
        }
        if !error.ambiguous || attempt >= ATTEMPTS {
            return Err(error);
        }
        (req.note)(format!("{error}; it does not exist: trying again"));
        attempt += 1;
    }
}

/// How `finish` first brings a live resource to its properties.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    Update,
    Adopt,
}

/// Bring `live` to `req.props` and its tags to the stack's (after `adopt` for a copy
/// found instead of created: it may still be starting). When the answer is lost, read
/// it again and finish what is left, which is nothing if the change went through.
async fn finish(
    provider: &dyn Provider,
    req: &Request<'_>,
    live: Live,
    first: Via,
) -> Result<Live, ProviderError> {
    let (mut live, mut step, mut attempt) = (live, first, 1);
    loop {
        let result = match step {
            Via::Update if live.pending.is_none() => converge(provider, req, live.clone()).await,
            // A copy found instead of created, or one still being made: wait for it.
            Via::Update | Via::Adopt => match provider.adopt(req, live.clone()).await {
                Ok(l) => converge(provider, req, l).await,
                Err(e) => Err(e),
            },
        };
        let error = match result {
            Ok(l) => return Ok(l),
            Err(e) => e,
        };
        if !error.ambiguous || attempt >= ATTEMPTS {
            return Err(error);
        }
        let again = provider
            .read(req.scope, Some(&live.addr))
            .await
            .ok()
            .and_then(|copies| copies.into_iter().find(|c| c.id == live.id));
        let Some(again) = again else {
            return Err(error);
        };
        (req.note)(format!(
            "{error}; reading {} again to finish the change",
            live.id
        ));
        (live, step) = (again, Via::Adopt);
        backoff(attempt).await;
        attempt += 1;
    }
}

/// Tags first (they are what makes it ours), then the fields that differ, if any.
async fn converge(
    provider: &dyn Provider,
    req: &Request<'_>,
    mut live: Live,
) -> Result<Live, ProviderError> {
    let delta = TagDelta::between(&live.tags, &req.tags());
    if provider.taggable() && !delta.is_empty() {
        provider.retag(&live, &delta).await?;
        live.tags.retain(|k, _| !delta.remove.contains(k));
        live.tags.extend(delta.set);
    }
    if provider.diff(req.props, &live).is_empty() {
        Ok(live)
    } else {
        provider.update(req, &live).await
    }
}

/// The live copy of `addr` that can stand for a new one: its differences from `props`
/// (if any) change in place. The oldest such copy, if there are several; the others are
/// duplicates that the next plan deletes.
async fn adoptable(
    provider: &dyn Provider,
    req: &Request<'_>,
) -> Result<Option<Live>, ProviderError> {
    let mut copies: Vec<Live> = provider
        .read(req.scope, Some(req.addr))
        .await?
        .into_iter()
        .filter(|l| l.addr == *req.addr)
        .filter(|l| !provider.diff(req.props, l).iter().any(|c| c.forces_replace))
        .collect();
    copies.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
    Ok(copies.into_iter().next())
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
}

/// The state of the walk: what waits on what, what is ready, what is blocked by a failure.
struct Walk {
    dag: Dag<Step>,
    waiting: Vec<usize>,
    ready: Vec<usize>,
    blocked: BTreeMap<usize, Addr>,
    outcomes: Vec<Outcome>,
    reporter: Arc<dyn Reporter>,
}

impl Walk {
    fn new(dag: Dag<Step>, reporter: Arc<dyn Reporter>) -> Self {
        let waiting: Vec<usize> = (0..dag.len())
            .map(|i| dag.predecessors(i).count())
            .collect();
        let ready = (0..dag.len()).filter(|&i| waiting[i] == 0).rev().collect();
        Walk {
            dag,
            waiting,
            ready,
            blocked: BTreeMap::new(),
            outcomes: Vec::new(),
            reporter,
        }
    }

    /// Record step `i`'s outcome, report it, and release what waits on it; after a
    /// failure or a skip, everything downstream is skipped because of the failed one.
    fn finish(&mut self, i: usize, status: Status, elapsed_ms: u64) {
        let step = self.dag.node(i);
        let (addr, op) = (step.addr.clone(), step.op);
        let culprit = match &status {
            Status::Done { id } => {
                let elapsed = std::time::Duration::from_millis(elapsed_ms);
                self.reporter.event(Event::Finished {
                    addr: addr.clone(),
                    op,
                    id: id.clone(),
                    elapsed,
                });
                None
            }
            Status::Failed {
                error,
                code,
                request_id,
            } => {
                self.reporter.event(Event::Failed {
                    addr: addr.clone(),
                    op,
                    error: error.clone(),
                    code: code.clone(),
                    request_id: request_id.clone(),
                });
                Some(addr.clone())
            }
            Status::Interrupted => {
                self.reporter.event(Event::Interrupted {
                    addr: addr.clone(),
                    op,
                });
                None
            }
            Status::Skipped { because } => {
                self.reporter.event(Event::Skipped {
                    addr: addr.clone(),
                    op,
                    because: because.clone(),
                });
                Some(because.clone())
            }
        };
        self.outcomes.push(Outcome {
            addr,
            op,
            status,
            elapsed_ms,
        });
        let next: Vec<usize> = self.dag.successors(i).collect();
        for s in next {
            if let Some(c) = &culprit {
                self.blocked.entry(s).or_insert_with(|| c.clone());
            }
            self.waiting[s] -= 1;
            if self.waiting[s] == 0 {
                self.ready.insert(0, s);
            }
        }
    }
}
