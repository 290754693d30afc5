//! Desired stack x live AWS -> `Plan`: discovery (one batched read per resource type),
//! diff of declared fields, and the action for each resource (create, update, replace
//! naming the forcing field, delete of orphans and of duplicate copies, no-op). The Plan
//! is a plain serializable value; `apply` executes it and nothing else.
//!
//! Two live copies of one address (a create whose answer was lost, two runs at once, a
//! half-finished older run) are resolved here: the copy that matches the stack, then the
//! one in use (what other live resources rely on), then the one of the larger (then
//! older) group of linked resources, then the older one is kept; the others are deleted,
//! with the reason. Nothing in use is replaced because of a duplicate. Copies that share
//! one id cannot be deleted apart: all of them go and the resource is created again.

pub mod outputs;
pub mod saved;

use crate::config::Stack;
use crate::graph::Dag;
use crate::model::{Addr, Event, Outputs, Props, Reporter, TimeoutOverrides, Value};
use crate::provider::{
    counted, Change, Live, ProviderError, Registry, Scope, TagDelta, TAG_PROTECT, TAG_RUN,
};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Replace the live resource: delete it and create it again, in the order
    /// `PlannedResource::create_first` says.
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
            // A replace that creates first shows `+/-` (`PlannedResource::symbol`).
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
    /// The resource's own `timeouts:`, if it sets them.
    #[serde(default, skip_serializing_if = "TimeoutOverrides::is_empty")]
    pub timeouts: TimeoutOverrides,
    /// What deleting or replacing it loses (a database, a bucket), said loudly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_loss: Option<String>,
    /// Why a delete is planned when it is not obvious ("no longer declared"), or why a
    /// replacement is made before the old copy goes.
    pub reason: Option<String>,
    /// A replace that creates the replacement first, moves what uses the old copy to it
    /// (their updates), and deletes the old copy last (`+/-`); otherwise the old copy is
    /// deleted first (`-/+`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_first: bool,
    /// What the operator must do about the live resource that no API call can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
}

impl PlannedResource {
    /// The plan symbol: the action's, or `+/-` for a replacement created first.
    pub fn symbol(&self) -> &'static str {
        if self.action == Action::Replace && self.create_first {
            "+/-"
        } else {
            self.action.symbol()
        }
    }

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
    /// Per resource type: live resources found and the API calls discovery made.
    #[serde(default)]
    pub reads: BTreeMap<String, TypeRead>,
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
    #[error("`{addr}` is protected (its bandup:protect tag) and is no longer declared, so this plan would delete it; to delete it, declare it again without `protect: true` and apply, then remove it (or pass --force to destroy)")]
    ProtectedOrphan { addr: Addr },
    #[error("`{addr}` is protected (protect: true) and has more than one live copy: {kept} would be kept and {extra} destroyed. Check which one holds what you need and delete the other yourself, or remove `protect: true` to let the plan delete it")]
    ProtectedDuplicate {
        addr: Addr,
        kept: String,
        extra: String,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Normal,
    /// Delete everything this stack and environment owns.
    Destroy { force: bool },
}

/// What discovering one resource type found and cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeRead {
    pub found: usize,
    pub api_calls: u64,
}

/// Discover every live resource owned by `scope`, one batched read per resource type,
/// all types at once.
pub async fn discover(
    registry: &Registry,
    scope: &Scope,
    reporter: &dyn Reporter,
) -> Result<Vec<(String, Live)>, PlanError> {
    Ok(discover_counted(registry, scope, reporter).await?.0)
}

/// `discover`, with what each type found and the API calls its read made.
pub async fn discover_counted(
    registry: &Registry,
    scope: &Scope,
    reporter: &dyn Reporter,
) -> Result<(Vec<(String, Live)>, BTreeMap<String, TypeRead>), PlanError> {
    let reads = registry.iter().map(|(type_name, p)| async move {
        reporter.event(Event::Reading {
            type_name: type_name.to_string(),
        });
        let (r, calls) = counted(p.read(scope, None)).await;
        if let Ok(found) = &r {
            reporter.event(Event::Read {
                type_name: type_name.to_string(),
                found: found.len(),
            });
        }
        (type_name, r, calls)
    });
    let mut out = Vec::new();
    let mut stats = BTreeMap::new();
    for (type_name, r, api_calls) in join_all(reads).await {
        tracing::debug!(type_name, ok = r.is_ok(), api_calls, "discovered");
        let found = r.map_err(|error| PlanError::Read {
            type_name: type_name.to_string(),
            error,
        })?;
        stats.insert(
            type_name.to_string(),
            TypeRead {
                found: found.len(),
                api_calls,
            },
        );
        out.extend(found.into_iter().map(|l| (type_name.to_string(), l)));
    }
    Ok((out, stats))
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
        run: new_run_id(),
        declared: Arc::new(declared_by_type(stack)),
        protected: Arc::new(
            stack
                .resources
                .iter()
                .filter(|r| r.protect)
                .map(|r| r.addr.clone())
                .collect(),
        ),
        ..Default::default()
    };
    let (discovered, reads) = discover_counted(registry, &scope, reporter).await?;
    let in_use = InUse::of(&discovered);
    let mut live: BTreeMap<Addr, Vec<(String, Live)>> = BTreeMap::new();
    for (type_name, l) in discovered {
        live.entry(l.addr.clone()).or_default().push((type_name, l));
    }
    // Live copies to delete that the stack still declares: (type, copy, deps, protect, why).
    let mut extra: Vec<(String, Live, Vec<Addr>, bool, String)> = Vec::new();

    let order = graph.topo_order().unwrap_or_default();
    let mut known: BTreeMap<Addr, Outputs> = BTreeMap::new();
    let mut resources = Vec::new();
    // Replacements that delete the old copy first.
    let mut delete_first: BTreeSet<Addr> = BTreeSet::new();
    for i in order {
        let Some(res) = stack.resource(graph.node(i)) else {
            continue;
        };
        let lookup = |a: &Addr, attr: &str| known.get(a).and_then(|o| o.get(attr)).cloned();
        let preview: Props = res
            .props
            .iter()
            .map(|(k, v)| (k.clone(), v.resolve(&lookup)))
            .collect();
        let provider = registry.get(&res.type_name);
        let (same, other): (Vec<_>, Vec<_>) = live
            .remove(&res.addr)
            .unwrap_or_default()
            .into_iter()
            .partition(|(t, _)| *t == res.type_name);
        for (t, l) in other {
            let why = format!(
                "tagged `{}` but a {t}, while the stack declares a {}",
                res.addr, res.type_name
            );
            extra.push((t, l, Vec::new(), false, why));
        }
        let copies = same.into_iter().map(|(_, l)| l).collect();
        let (found, dupes) = keep_one(provider, &preview, copies, &in_use);
        if let (Some(kept), Some((first, _)), Mode::Normal, true) =
            (&found, dupes.first(), mode, res.protect)
        {
            return Err(PlanError::ProtectedDuplicate {
                addr: res.addr.clone(),
                kept: kept.id.clone(),
                extra: first.id.clone(),
            });
        }
        let (found, dupes) = apart_by_id(found, dupes);
        for (l, why) in dupes {
            extra.push((res.type_name.clone(), l, res.deps.clone(), res.protect, why));
        }
        let schema = provider.map(|p| p.schema());
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
                let mut changes = provider.map(|p| p.diff(&preview, l)).unwrap_or_default();
                let tags = if provider.is_some_and(|p| !p.taggable()) {
                    TagDelta::default()
                } else {
                    TagDelta::between(&l.tags, &scope.desired_tags(&res.addr, res.protect))
                };
                if !tags.is_empty() {
                    changes.push(tags.change(&l.tags));
                }
                // An earlier apply was stopped while AWS was still making it: this apply
                // waits for it (and what refers to it waits in turn).
                if let Some(status) = &l.pending {
                    changes.push(Change {
                        field: "status".into(),
                        before: Value::Str(status.clone()),
                        after: Value::Str("ready (apply waits for it)".into()),
                        forces_replace: false,
                        why: None,
                    });
                }
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
            // What a resource still being made does not have yet (its endpoint) is
            // known after apply, not null.
            let mut outputs = l.outputs.clone();
            if l.pending.is_some() {
                outputs.retain(|_, v| !matches!(v, Value::Null));
            }
            // What the update itself renews (a new revision's ARN) is not known yet.
            if action == Action::Update {
                let renewed = provider.map(|p| p.renewed_on_update()).unwrap_or_default();
                outputs.retain(|k, _| !renewed.contains(&k.as_str()));
            }
            known.insert(res.addr.clone(), outputs);
        }
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        tracing::debug!(addr = %res.addr, ?action, ?fields, "planned");
        let data_loss = match (&found, action) {
            (Some(l), Action::Replace | Action::Delete) => {
                provider.and_then(|p| p.data_loss(l, Some(&res.props)))
            }
            _ => None,
        };
        // A copy still in use cannot go first where AWS refuses to delete what is in
        // use: its replacement is made beside it and what uses it moves over.
        let users = match (&found, action) {
            (Some(l), Action::Replace) if provider.is_some_and(|p| p.create_before_delete()) => {
                in_use.users.get(&l.id).cloned().unwrap_or_default()
            }
            _ => BTreeSet::new(),
        };
        // Made beside the old copy only if what it is made in is not itself replaced
        // by deleting first (a security group in a VPC being replaced): the new copy
        // would wait for its new VPC, which waits for the old VPC to go, which waits
        // for the old copy to go.
        let create_first = !users.is_empty() && !res.deps.iter().any(|d| delete_first.contains(d));
        if action == Action::Replace && !create_first {
            delete_first.insert(res.addr.clone());
        }
        let reason = create_first.then(|| {
            let names: Vec<String> = users.iter().map(|a| format!("`{a}`")).collect();
            format!(
                "in use by {}: the replacement is created first, they move to it, then the old one is deleted",
                names.join(", ")
            )
        });
        let advice = match action {
            Action::NoOp | Action::Update => found
                .as_ref()
                .and_then(|l| provider.and_then(|p| p.advice(l))),
            _ => None,
        };
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
            timeouts: res.timeouts,
            data_loss,
            reason,
            create_first,
            advice,
        });
    }
    let orphans = live.into_values().flatten().map(|(t, l)| {
        let why = "no longer declared in the stack".to_string();
        let protect = l.tags.get(TAG_PROTECT).is_some_and(|v| v == "true");
        (t, l, Vec::new(), protect, why)
    });
    let force = matches!(mode, Mode::Destroy { force: true });
    let orphans: Vec<_> = orphans.collect();
    if let Some((_, l, ..)) = orphans.iter().find(|o| o.3 && !force) {
        return Err(PlanError::ProtectedOrphan {
            addr: l.addr.clone(),
        });
    }
    for (type_name, l, deps, protect, why) in orphans.into_iter().chain(extra) {
        let data_loss = registry.get(&type_name).and_then(|p| p.data_loss(&l, None));
        resources.push(PlannedResource {
            addr: l.addr.clone(),
            type_name,
            action: Action::Delete,
            desired: None,
            preview: None,
            live: Some(l),
            changes: Vec::new(),
            deps,
            protect,
            timeouts: TimeoutOverrides::default(),
            data_loss,
            reason: Some(if matches!(mode, Mode::Destroy { .. }) {
                "destroy".into()
            } else {
                why
            }),
            create_first: false,
            advice: None,
        });
    }
    let summary = summarize(&resources);
    Ok(Plan {
        format_version: FORMAT_VERSION,
        scope,
        region: stack.region.clone(),
        destroy: matches!(mode, Mode::Destroy { .. }),
        resources,
        summary,
        api_calls: registry.calls.get() - calls_before,
        reads,
        elapsed_ms: duration_ms(started.elapsed()),
    })
}

fn summarize(resources: &[PlannedResource]) -> Summary {
    let mut summary = Summary::default();
    for r in resources {
        match r.action {
            Action::NoOp => summary.unchanged += 1,
            Action::Create => summary.add += 1,
            Action::Update => summary.change += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.destroy += 1,
        }
    }
    summary
}

/// The plan narrowed to a deploy's resources: `changed` (what the deployed parameter
/// reaches) and, in dependency order, each resource whose only changes wait on them
/// (a service whose task definition's `arn` is renewed). Everything else is left as it
/// is: its changes dropped, its creates and deletes left out. Returns the plan, the
/// resources it may change, and the addresses whose changes were left out; or an error
/// naming a resource that must move with the deploy but has other pending changes
/// too, or that needs one not created yet.
pub fn restrict(
    mut plan: Plan,
    changed: &BTreeSet<Addr>,
) -> Result<(Plan, BTreeSet<Addr>, Vec<Addr>), String> {
    let mut keep = changed.clone();
    for r in &plan.resources {
        if keep.contains(&r.addr) || !matches!(r.action, Action::Update | Action::Replace) {
            continue;
        }
        if !r.deps.iter().any(|d| keep.contains(d)) {
            continue;
        }
        let (waiting, other): (Vec<&Change>, Vec<&Change>) =
            r.changes.iter().partition(|c| c.after.has_unknown());
        if waiting.is_empty() {
            continue;
        }
        if !other.is_empty() {
            let fields: Vec<&str> = other.iter().map(|c| c.field.as_str()).collect();
            return Err(format!(
                "`{}` must change with this deploy, but has other pending changes too ({}): apply them first",
                r.addr,
                fields.join(", ")
            ));
        }
        keep.insert(r.addr.clone());
    }
    let not_yet: BTreeSet<&Addr> = plan
        .resources
        .iter()
        .filter(|r| r.action == Action::Create && !keep.contains(&r.addr))
        .map(|r| &r.addr)
        .collect();
    for r in plan.resources.iter().filter(|r| keep.contains(&r.addr)) {
        if let Some(d) = r.deps.iter().find(|d| not_yet.contains(d)) {
            return Err(format!(
                "`{}` needs `{d}`, which is not created yet: run apply first",
                r.addr
            ));
        }
    }
    let mut left_out = Vec::new();
    plan.resources.retain_mut(|r| {
        if keep.contains(&r.addr) {
            return true;
        }
        // What the operator should know about the rest is for `plan` to say.
        r.advice = None;
        if r.action == Action::NoOp {
            return true;
        }
        left_out.push(r.addr.clone());
        match (&r.desired, &r.live, r.action) {
            // Declared and live: left as it is.
            (Some(_), Some(_), Action::Update | Action::Replace) => {
                r.action = Action::NoOp;
                r.changes.clear();
                r.create_first = false;
                true
            }
            _ => false,
        }
    });
    left_out.dedup();
    plan.summary = summarize(&plan.resources);
    Ok((plan, keep, left_out))
}

/// How much each live resource is in use, to choose among copies of one address.
#[derive(Default)]
struct InUse {
    /// How many other live resources rely on it, directly or through others (the
    /// subnets, tables and gateways inside a VPC), plus those it holds itself (the
    /// subnets a route table is associated with). Copies of one address never count for
    /// each other.
    relied: BTreeMap<String, usize>,
    /// The group of live resources linked to it by references (a whole network that one
    /// run built): how many, and when the oldest was created. When copies are otherwise
    /// alike, choosing the one from the larger (then older) group for every address keeps
    /// the choices consistent, so nothing is left pointing at a copy that goes.
    group: BTreeMap<String, (usize, Option<u64>)>,
    /// The runs that created live resources (`bandup:run`), best first: the one that
    /// made the most of them, then the earliest. When groups cannot tell copies apart
    /// (two runs' copies linked into one network), every address keeps its copy from
    /// the same run, so that what is kept fits together.
    runs: BTreeMap<String, usize>,
    /// The addresses of the live resources that point at it directly.
    users: BTreeMap<String, BTreeSet<Addr>>,
}

impl InUse {
    fn of(all: &[(String, Live)]) -> InUse {
        let addr_of: BTreeMap<&str, &Addr> =
            all.iter().map(|(_, l)| (l.id.as_str(), &l.addr)).collect();
        // References may name a resource by id or by ARN.
        let id_of: BTreeMap<&str, &str> = all
            .iter()
            .flat_map(|(_, l)| l.keys().map(move |k| (k, l.id.as_str())))
            .collect();
        let mut referrers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        // Groups: union-find over the links.
        let mut parent: BTreeMap<&str, &str> = addr_of.keys().map(|id| (*id, *id)).collect();
        fn root<'a>(parent: &BTreeMap<&'a str, &'a str>, mut id: &'a str) -> &'a str {
            while let Some(p) = parent.get(id).filter(|p| **p != id) {
                id = p;
            }
            id
        }
        for (_, l) in all {
            for t in l.refs.iter().filter_map(|t| id_of.get(t.as_str()).copied()) {
                if t != l.id {
                    referrers.entry(t).or_default().insert(l.id.as_str());
                    let (a, b) = (root(&parent, &l.id), root(&parent, t));
                    if a != b {
                        parent.insert(a, b);
                    }
                }
            }
        }
        let mut groups: BTreeMap<&str, (usize, Option<u64>)> = BTreeMap::new();
        for (_, l) in all {
            let g = groups.entry(root(&parent, &l.id)).or_insert((0, l.created));
            g.0 += 1;
            g.1 = g.1.min(l.created);
        }
        let mut out = InUse::default();
        for (_, l) in all {
            let mut seen: BTreeSet<&str> = BTreeSet::new();
            let mut todo: Vec<&str> = vec![l.id.as_str()];
            while let Some(id) = todo.pop() {
                for r in referrers.get(id).into_iter().flatten() {
                    if addr_of.get(r) != Some(&&l.addr) && seen.insert(r) {
                        todo.push(r);
                    }
                }
            }
            let holds = l
                .refs
                .iter()
                .filter_map(|t| id_of.get(t.as_str()).copied())
                .filter(|t| addr_of.get(t).is_some_and(|a| **a != l.addr))
                .filter(|t| !seen.contains(t))
                .count();
            let users: BTreeSet<Addr> = referrers
                .get(l.id.as_str())
                .into_iter()
                .flatten()
                .filter_map(|r| addr_of.get(r).copied())
                .filter(|a| **a != l.addr)
                .cloned()
                .collect();
            out.users.insert(l.id.clone(), users);
            out.relied.insert(l.id.clone(), seen.len() + holds);
            let group = groups
                .get(root(&parent, &l.id))
                .copied()
                .unwrap_or((1, l.created));
            out.group.insert(l.id.clone(), group);
        }
        // Runs by how much of what is live each made, then by their first creation.
        let mut runs: BTreeMap<&str, (usize, Option<u64>)> = BTreeMap::new();
        for (_, l) in all {
            if let Some(run) = l.tags.get(TAG_RUN) {
                let r = runs.entry(run.as_str()).or_insert((0, l.created));
                r.0 += 1;
                r.1 = match (r.1, l.created) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
        }
        let mut order: Vec<(&str, (usize, Option<u64>))> = runs.into_iter().collect();
        order.sort_by(|a, b| {
            b.1 .0
                .cmp(&a.1 .0)
                .then(a.1 .1.cmp(&b.1 .1))
                .then(a.0.cmp(b.0))
        });
        out.runs = order
            .into_iter()
            .enumerate()
            .map(|(i, (run, _))| (run.to_string(), i))
            .collect();
        out
    }
}

/// Of several live copies of one resource, the one to keep, and the others with why they
/// go: the copy that matches the stack (no change forcing replacement), then the one in
/// use, then the one of the larger (then older) group of linked resources, then the older
/// one.
fn keep_one(
    provider: Option<&Arc<dyn crate::provider::Provider>>,
    preview: &Props,
    copies: Vec<Live>,
    in_use: &InUse,
) -> (Option<Live>, Vec<(Live, String)>) {
    if copies.len() < 2 {
        return (copies.into_iter().next(), Vec::new());
    }
    let forcing =
        |l: &Live| provider.is_some_and(|p| p.diff(preview, l).iter().any(|c| c.forces_replace));
    struct Ranked {
        forcing: bool,
        relied: usize,
        group: (usize, Option<u64>),
        run: usize,
        live: Live,
    }
    let mut ranked: Vec<Ranked> = copies
        .into_iter()
        .map(|l| Ranked {
            forcing: forcing(&l),
            relied: in_use.relied.get(&l.id).copied().unwrap_or(0),
            group: in_use.group.get(&l.id).copied().unwrap_or((1, l.created)),
            run: l
                .tags
                .get(TAG_RUN)
                .and_then(|r| in_use.runs.get(r))
                .copied()
                .unwrap_or(usize::MAX),
            live: l,
        })
        .collect();
    // Untagged copies (no creation time) predate the tag: they are the older ones.
    ranked.sort_by(|a, b| {
        a.forcing
            .cmp(&b.forcing)
            .then(b.relied.cmp(&a.relied))
            .then(b.group.0.cmp(&a.group.0))
            .then(a.group.1.cmp(&b.group.1))
            .then(a.run.cmp(&b.run))
            .then(a.live.created.cmp(&b.live.created))
            .then(a.live.id.cmp(&b.live.id))
    });
    let mut ranked = ranked.into_iter();
    let Some(kept) = ranked.next() else {
        return (None, Vec::new());
    };
    let others = ranked
        .map(|other| {
            let because = if other.forcing && !kept.forcing {
                "it matches the stack".to_string()
            } else if kept.relied > other.relied {
                format!(
                    "it is in use ({} other live resource{} rely on it, against {})",
                    kept.relied,
                    if kept.relied == 1 { "" } else { "s" },
                    other.relied
                )
            } else if kept.group.0 > other.group.0 {
                format!(
                    "it belongs with the larger group of linked resources ({} against {})",
                    kept.group.0, other.group.0
                )
            } else if kept.group.0 > 1 && kept.group.1 != other.group.1 {
                "it belongs with the older group of linked resources".to_string()
            } else if kept.run < other.run {
                "it was made by the run whose copies are kept".to_string()
            } else {
                "it is the older copy".to_string()
            };
            let why = format!(
                "a second live copy of `{}` (left by a lost answer or a concurrent run); {} is kept: {because}",
                other.live.addr, kept.live.id
            );
            (other.live, why)
        })
        .collect();
    (Some(kept.live), others)
}

/// Copies are deleted by id. When an extra copy has the kept copy's id, its delete could
/// take the kept one instead (moto keeps two Lambda statements with one statement id,
/// where AWS refuses the second, and removes the first it finds). Then no copy is kept:
/// every copy goes, and the resource is created again once they are gone.
fn apart_by_id(
    found: Option<Live>,
    mut dupes: Vec<(Live, String)>,
) -> (Option<Live>, Vec<(Live, String)>) {
    let Some(kept) = found else {
        return (None, dupes);
    };
    let sharing = dupes.iter().filter(|(d, _)| d.id == kept.id).count();
    if sharing == 0 {
        return (Some(kept), dupes);
    }
    let why = format!(
        "{} live copies of `{}` share the id {}, so a delete cannot tell them apart: every copy goes and it is created again",
        sharing + 1,
        kept.addr,
        kept.id
    );
    for (_, reason) in &mut dupes {
        reason.clone_from(&why);
    }
    dupes.insert(0, (kept, why));
    (None, dupes)
}

/// The stack's resources by type: what types that cannot carry tags find theirs by.
pub fn declared_by_type(stack: &Stack) -> BTreeMap<String, Vec<(Addr, Props)>> {
    let mut out: BTreeMap<String, Vec<(Addr, Props)>> = BTreeMap::new();
    for r in &stack.resources {
        out.entry(r.type_name.clone())
            .or_default()
            .push((r.addr.clone(), r.props.clone()));
    }
    out
}

/// A new random id for a plan; its apply's client tokens derive from it.
fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(now);
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

pub fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
