//! Desired stack x live AWS -> `Plan`: discovery (one batched read per resource type),
//! diff of declared fields, and the action for each resource (create, update, replace
//! naming the forcing field, delete of orphans, no-op). The Plan is a plain serializable
//! value; `apply` executes it and nothing else.

use crate::config::Stack;
use crate::graph::Dag;
use crate::model::{Addr, Event, Outputs, Props, Reporter, Value};
use crate::provider::{Change, Live, ProviderError, Registry, Scope};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete the live resource, then create it again.
    Replace,
    Delete,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlannedResource {
    pub addr: Addr,
    pub type_name: String,
    pub action: Action,
    /// Desired properties with references left unresolved: apply resolves them from
    /// the outputs of what it has just created.
    pub desired: Option<Props>,
    /// Desired properties as far as they are known now (unknowns marked).
    pub preview: Option<Props>,
    pub live: Option<Live>,
    pub changes: Vec<Change>,
    /// Declared dependencies (references and depends_on).
    pub deps: Vec<Addr>,
    pub protect: bool,
    /// Why a delete is planned when it is not obvious ("no longer declared").
    pub reason: Option<String>,
}

impl PlannedResource {
    /// The fields that force a replacement.
    pub fn forcing_fields(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|c| c.forces_replace)
            .map(|c| c.field.as_str())
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    pub unchanged: usize,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.add + self.change + self.replace + self.destroy > 0
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub scope: Scope,
    pub region: Option<String>,
    pub destroy: bool,
    /// Declared resources in dependency order, then deletes of resources no longer declared.
    pub resources: Vec<PlannedResource>,
    pub summary: Summary,
    /// AWS API calls made to compute this plan.
    pub api_calls: u64,
    pub elapsed_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("reading {type_name} resources: {error}")]
    Read {
        type_name: String,
        error: ProviderError,
    },
    #[error("`{addr}` is protected (protect: true) and this plan would {what} it; remove `protect: true` first, or pass --force to destroy")]
    Protected { addr: Addr, what: &'static str },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Normal,
    /// Delete everything this stack and environment owns.
    Destroy { force: bool },
}

/// Discover every live resource owned by `scope`, one batched read per resource type,
/// all types at once.
pub async fn discover(
    registry: &Registry,
    scope: &Scope,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, Live)>, PlanError> {
    let reads = registry.iter().map(|(type_name, p)| async move {
        reporter.event(Event::Reading {
            type_name: type_name.to_string(),
        });
        let r = p.read(scope).await;
        if let Ok(found) = &r {
            reporter.event(Event::Read {
                type_name: type_name.to_string(),
                found: found.len(),
            });
        }
        (type_name, r)
    });
    let mut out = Vec::new();
    for (type_name, r) in join_all(reads).await {
        tracing::debug!(type_name, ok = r.is_ok(), "discovered");
        let found = r.map_err(|error| PlanError::Read {
            type_name: type_name.to_string(),
            error,
        })?;
        out.extend(found.into_iter().map(|l| (type_name.to_string(), l)));
    }
    Ok(out)
}

/// Compute the plan for `stack` (whose graph is `graph`) against live AWS.
pub async fn plan(
    stack: &Stack,
    graph: &Dag<Addr>,
    registry: &Registry,
    mode: Mode,
    reporter: &dyn Reporter,
) -> Result<Plan, PlanError> {
    let started = Instant::now();
    let calls_before = registry.calls.get();
    let scope = Scope {
        stack: stack.name.clone(),
        env: stack.env.clone(),
        tags: stack.tags.clone(),
    };
    let mut live: BTreeMap<Addr, (String, Live)> = BTreeMap::new();
    let mut extra: Vec<(String, Live)> = Vec::new();
    for (type_name, l) in discover(registry, &scope, reporter).await? {
        if live.contains_key(&l.addr) {
            extra.push((type_name, l));
        } else {
            live.insert(l.addr.clone(), (type_name, l));
        }
    }

    let order = graph.topo_order().unwrap_or_default();
    let mut known: BTreeMap<Addr, Outputs> = BTreeMap::new();
    let mut resources = Vec::new();
    for i in order {
        let Some(res) = stack.resource(graph.node(i)) else {
            continue;
        };
        let mut found = live.remove(&res.addr);
        if let Some((t, l)) = found.take() {
            if t == res.type_name {
                found = Some((t, l));
            } else {
                extra.push((t, l));
            }
        }
        let found = found.map(|(_, l)| l);
        let lookup = |a: &Addr, attr: &str| known.get(a).and_then(|o| o.get(attr)).cloned();
        let preview: Props = res
            .props
            .iter()
            .map(|(k, v)| (k.clone(), v.resolve(&lookup)))
            .collect();
        let schema = registry.get(&res.type_name).map(|p| p.schema());
        let secret = |f: &str| schema.and_then(|s| s.field(f)).is_some_and(|f| f.sensitive);
        // What is shown (and saved) never carries a secret.
        let shown: Props = preview
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if secret(k) {
                        Value::Sensitive
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        let (action, changes) = match (&found, mode) {
            (None, Mode::Destroy { .. }) => continue,
            (Some(_), Mode::Destroy { force }) => {
                if res.protect && !force {
                    return Err(PlanError::Protected {
                        addr: res.addr.clone(),
                        what: "destroy",
                    });
                }
                (Action::Delete, Vec::new())
            }
            (None, Mode::Normal) => (Action::Create, Vec::new()),
            (Some(l), Mode::Normal) => {
                let provider = registry.get(&res.type_name);
                let changes = provider.map(|p| p.diff(&preview, l)).unwrap_or_default();
                if changes.iter().any(|c| c.forces_replace) {
                    if res.protect {
                        return Err(PlanError::Protected {
                            addr: res.addr.clone(),
                            what: "replace",
                        });
                    }
                    (Action::Replace, changes)
                } else if changes.is_empty() {
                    (Action::NoOp, changes)
                } else {
                    (Action::Update, changes)
                }
            }
        };
        if let (Some(l), Action::NoOp | Action::Update) = (&found, action) {
            known.insert(res.addr.clone(), l.outputs.clone());
        }
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        tracing::debug!(addr = %res.addr, ?action, ?fields, "planned");
        resources.push(PlannedResource {
            addr: res.addr.clone(),
            type_name: res.type_name.clone(),
            action,
            desired: Some(res.props.clone()),
            preview: Some(shown),
            live: found,
            changes,
            deps: res.deps.clone(),
            protect: res.protect,
            reason: None,
        });
    }
    let orphans = live
        .into_values()
        .map(|(t, l)| (t, l, "no longer declared in the stack"));
    let dupes = extra
        .into_iter()
        .map(|(t, l)| (t, l, "a second live resource with the same address"));
    for (type_name, l, why) in orphans.chain(dupes) {
        resources.push(PlannedResource {
            addr: l.addr.clone(),
            type_name,
            action: Action::Delete,
            desired: None,
            preview: None,
            live: Some(l),
            changes: Vec::new(),
            deps: Vec::new(),
            protect: false,
            reason: Some(if matches!(mode, Mode::Destroy { .. }) {
                "destroy".into()
            } else {
                why.into()
            }),
        });
    }
    let mut summary = Summary::default();
    for r in &resources {
        match r.action {
            Action::NoOp => summary.unchanged += 1,
            Action::Create => summary.add += 1,
            Action::Update => summary.change += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.destroy += 1,
        }
    }
    Ok(Plan {
        format_version: FORMAT_VERSION,
        scope,
        region: stack.region.clone(),
        destroy: matches!(mode, Mode::Destroy { .. }),
        resources,
        summary,
        api_calls: registry.calls.get() - calls_before,
        elapsed_ms: duration_ms(started.elapsed()),
    })
}

pub fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
