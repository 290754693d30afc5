//! Executes a `Plan` and nothing else: turns its actions into operations with their
//! ordering (creates after what they reference, deletes in reverse, hidden orderings
//! such as NAT gateways before the internet gateway), then walks them with at most
//! `parallelism` in flight. A failure skips its dependents, lets in-flight work finish,
//! and every outcome is reported.

mod schedule;

pub use schedule::{schedule, Step};

use crate::graph::Dag;
use crate::model::{Addr, Event, Op, Outputs, Reporter};
use crate::plan::{duration_ms, Plan};
use crate::provider::{Live, ProviderError, Registry};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinSet;

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Status {
    Done { id: String },
    Failed { error: String },
    Skipped { because: Addr },
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

    pub fn count(&self, op: Op) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.op == op && matches!(o.status, Status::Done { .. }))
            .count()
    }
}

/// Run `plan`. Never more than `parallelism` operations at once, never two on one resource.
pub async fn apply(
    plan: &Plan,
    registry: &Registry,
    parallelism: usize,
    reporter: Arc<dyn Reporter>,
) -> Report {
    let started = Instant::now();
    let calls_before = registry.calls.get();
    let dag = schedule(plan, registry);
    let outputs: Arc<Mutex<BTreeMap<Addr, Outputs>>> = Arc::new(Mutex::new(
        plan.resources
            .iter()
            .filter_map(|r| r.live.as_ref().map(|l| (r.addr.clone(), l.outputs.clone())))
            .collect(),
    ));
    let mut waiting: Vec<usize> = (0..dag.len())
        .map(|i| dag.predecessors(i).count())
        .collect();
    let mut ready: Vec<usize> = (0..dag.len()).filter(|&i| waiting[i] == 0).rev().collect();
    let mut blocked: BTreeMap<usize, Addr> = BTreeMap::new();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut running: JoinSet<(usize, Result<Option<Live>, ProviderError>, u64)> = JoinSet::new();
    let parallelism = parallelism.max(1);

    loop {
        while running.len() < parallelism {
            let Some(i) = ready.pop() else { break };
            let step = dag.node(i).clone();
            if let Some(because) = blocked.get(&i).cloned() {
                reporter.event(Event::Skipped {
                    addr: step.addr.clone(),
                    op: step.op,
                    because: because.clone(),
                });
                outcomes.push(Outcome {
                    addr: step.addr.clone(),
                    op: step.op,
                    status: Status::Skipped {
                        because: because.clone(),
                    },
                    elapsed_ms: 0,
                });
                release(
                    &dag,
                    i,
                    &mut waiting,
                    &mut ready,
                    &mut blocked,
                    Some(because),
                );
                continue;
            }
            let Some(provider) = registry.get(&step.type_name).cloned() else {
                let error = format!("no provider for resource type {}", step.type_name);
                reporter.event(Event::Failed {
                    addr: step.addr.clone(),
                    op: step.op,
                    error: error.clone(),
                });
                outcomes.push(Outcome {
                    addr: step.addr.clone(),
                    op: step.op,
                    status: Status::Failed { error },
                    elapsed_ms: 0,
                });
                release(
                    &dag,
                    i,
                    &mut waiting,
                    &mut ready,
                    &mut blocked,
                    Some(step.addr.clone()),
                );
                continue;
            };
            let scope = plan.scope.clone();
            let outputs = outputs.clone();
            let reporter = reporter.clone();
            running.spawn(async move {
                let t0 = Instant::now();
                reporter.event(Event::Started { addr: step.addr.clone(), op: step.op });
                let result = match step.op {
                    Op::Delete => match &step.live {
                        Some(l) => provider.delete(&scope, l).await.map(|_| None),
                        None => Ok(None),
                    },
                    Op::Create | Op::Update => {
                        let props = {
                            let known = outputs.lock().map(|g| g.clone()).unwrap_or_default();
                            let lookup = |a: &Addr, attr: &str| known.get(a).and_then(|o| o.get(attr)).cloned();
                            step.desired.iter().map(|(k, v)| (k.clone(), v.resolve(&lookup))).collect::<crate::model::Props>()
                        };
                        if let Some((field, _)) = props.iter().find(|(_, v)| v.has_unknown()) {
                            Err(ProviderError::new("resolve", format!("`{field}` is still unknown: a resource it refers to was not created")))
                        } else if step.op == Op::Create {
                            provider.create(&scope, &step.addr, &props).await.map(Some)
                        } else {
                            match &step.live {
                                Some(l) => provider.update(&scope, &props, l).await.map(Some),
                                None => Err(ProviderError::new("update", "no live resource to update")),
                            }
                        }
                    }
                };
                if let Ok(Some(l)) = &result {
                    if let Ok(mut g) = outputs.lock() {
                        g.insert(step.addr.clone(), l.outputs.clone());
                    }
                }
                (i, result, duration_ms(t0.elapsed()))
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, result, elapsed_ms) = match joined {
            Ok(r) => r,
            Err(e) => {
                // A panicking provider is a bug; report it rather than abort the walk.
                outcomes.push(Outcome {
                    addr: Addr("(unknown)".into()),
                    op: Op::Update,
                    status: Status::Failed {
                        error: format!("internal error: {e}"),
                    },
                    elapsed_ms: 0,
                });
                continue;
            }
        };
        let step = dag.node(i);
        match result {
            Ok(live) => {
                let id = live
                    .map(|l| l.id)
                    .or_else(|| step.live.as_ref().map(|l| l.id.clone()))
                    .unwrap_or_default();
                reporter.event(Event::Finished {
                    addr: step.addr.clone(),
                    op: step.op,
                    id: id.clone(),
                    elapsed: std::time::Duration::from_millis(elapsed_ms),
                });
                outcomes.push(Outcome {
                    addr: step.addr.clone(),
                    op: step.op,
                    status: Status::Done { id },
                    elapsed_ms,
                });
                release(&dag, i, &mut waiting, &mut ready, &mut blocked, None);
            }
            Err(e) => {
                let error = format!("{}: {e}", step.addr);
                reporter.event(Event::Failed {
                    addr: step.addr.clone(),
                    op: step.op,
                    error: error.clone(),
                });
                outcomes.push(Outcome {
                    addr: step.addr.clone(),
                    op: step.op,
                    status: Status::Failed { error },
                    elapsed_ms,
                });
                release(
                    &dag,
                    i,
                    &mut waiting,
                    &mut ready,
                    &mut blocked,
                    Some(step.addr.clone()),
                );
            }
        }
    }
    Report {
        outcomes,
        api_calls: registry.calls.get() - calls_before,
        elapsed_ms: duration_ms(started.elapsed()),
    }
}

/// Mark `i` finished: its successors lose one wait; if `failed` names a resource, they
/// are skipped because of it.
fn release(
    dag: &Dag<Step>,
    i: usize,
    waiting: &mut [usize],
    ready: &mut Vec<usize>,
    blocked: &mut BTreeMap<usize, Addr>,
    failed: Option<Addr>,
) {
    for s in dag.successors(i) {
        if let Some(f) = &failed {
            blocked.entry(s).or_insert_with(|| f.clone());
        }
        waiting[s] -= 1;
        if waiting[s] == 0 {
            ready.insert(0, s);
        }
    }
}
