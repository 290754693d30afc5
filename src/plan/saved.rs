//! Saved plans (`plan --out FILE`, `apply FILE`, `show FILE`): the file format, its
//! integrity checks, and the comparison that refuses a plan gone stale.
//!
//! A saved plan is the `Plan` plus what it was computed from: the digest of every source
//! (stack and environment files, packaged code) and a fingerprint of every live object
//! read. `apply FILE` loads the sources again and plans again; when a source or a live
//! object differs, the plan is stale and is refused, naming what changed. Otherwise the
//! saved plan, not the new one, is applied: exactly what was reviewed. The format is
//! documented in `docs/saved-plan.md` and `docs/saved-plan.schema.json`.

use super::Plan;
use crate::model::{Addr, Value};
use crate::provider::{Live, Registry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a saved plan file says it is.
pub const FORMAT: &str = "bandup-infra/plan";
/// Bumped on any change a reader must know about.
pub const SAVED_FORMAT_VERSION: u32 = 1;
/// The tool that writes and applies saved plans.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A saved plan file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format: String,
    pub format_version: u32,
    pub tool_version: String,
    /// When the plan was made (RFC 3339, UTC).
    pub created: String,
    pub stack: String,
    pub env: String,
    pub region: Option<String>,
    /// The AWS account the plan was made in (the credentials').
    #[serde(default)]
    pub account_id: Option<String>,
    /// Every file the stack was read from, with its digest (`Stack::sources`).
    pub sources: BTreeMap<String, String>,
    /// Every live object the plan was computed from.
    pub live: Vec<LiveFingerprint>,
    pub plan: Plan,
    /// `sha256:<hex>` of the file's JSON without this field: an edit shows.
    #[serde(default)]
    pub digest: String,
}

/// Where a plan is made or applied: the region and the credentials' AWS account.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub region: Option<String>,
    pub account_id: Option<String>,
}

/// One live object a saved plan was computed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFingerprint {
    pub addr: Addr,
    #[serde(rename = "type")]
    pub type_name: String,
    pub id: String,
    /// `sha256:<hex>` of the object as read: its fields, tags, outputs and references.
    pub fingerprint: String,
}

/// Why a saved plan cannot be used. Every one is found before any AWS call, except
/// `Stale`.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the plan file {path}: {error}")]
    Read { path: String, error: String },
    #[error("{path} is not a complete plan file ({error}). Was it truncated on the way? Make it again with `bandup-infra plan --out`")]
    Truncated { path: String, error: String },
    #[error("{path} is not a bandup-infra plan file: {what}")]
    Foreign { path: String, what: String },
    #[error("{path} was made by bandup-infra {theirs} (plan format {format}); this is bandup-infra {ours} (plan format {SAVED_FORMAT_VERSION}). Apply it with the version that made it, or plan again with this one")]
    Version {
        path: String,
        theirs: String,
        ours: &'static str,
        format: u32,
    },
    #[error("{path} was edited after it was written (its digest does not match its contents): a saved plan is applied only as it was made. Plan again with `bandup-infra plan --out`")]
    Edited { path: String },
    #[error("{path} is a plan for environment `{planned}`, not `{asked}`: a plan applies only to the environment it was made for")]
    OtherEnv {
        path: String,
        planned: String,
        asked: String,
    },
    #[error("{path} is a plan for stack `{planned}`, but the project's stack is `{found}`")]
    OtherStack {
        path: String,
        planned: String,
        found: String,
    },
    #[error("the plan is stale: {} changed since it was made:\n{}\nNothing was changed. Plan again, review, and apply the new plan.", count(.changes.len()), .changes.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n"))]
    Stale { changes: Vec<String> },
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 thing".into()
    } else {
        format!("{n} things")
    }
}

impl SavedPlan {
    /// A plan ready to be written: secrets replaced by `(sensitive)`, sources and live
    /// objects fingerprinted, the digest computed.
    pub fn new(
        plan: &Plan,
        sources: &BTreeMap<String, String>,
        target: Target,
        registry: &Registry,
        created: String,
    ) -> Result<SavedPlan, serde_json::Error> {
        let mut plan = plan.clone();
        redact(&mut plan, registry);
        let live = fingerprints(&plan);
        let mut saved = SavedPlan {
            format: FORMAT.into(),
            format_version: SAVED_FORMAT_VERSION,
            tool_version: TOOL_VERSION.into(),
            created,
            stack: plan.scope.stack.clone(),
            env: plan.scope.env.clone(),
            region: target.region.or_else(|| plan.region.clone()),
            account_id: target.account_id,
            sources: sources.clone(),
            live,
            plan,
            digest: String::new(),
        };
        saved.seal()?;
        Ok(saved)
    }

    /// Compute the digest of what the plan holds now.
    pub fn seal(&mut self) -> Result<(), serde_json::Error> {
        self.digest = String::new();
        self.digest = digest_of(&serde_json::to_value(&*self)?)?;
        Ok(())
    }

    /// Refuse to apply where the plan was not made: another region or AWS account.
    pub fn check_target(&self, now: &Target) -> Result<(), String> {
        if let (Some(planned), Some(here)) = (&self.region, &now.region) {
            if planned != here {
                return Err(format!(
                    "the plan was made for region {planned}, but this apply would run in {here} (--region, AWS_REGION or the profile): a plan applies only where it was made"
                ));
            }
        }
        if let (Some(planned), Some(here)) = (&self.account_id, &now.account_id) {
            if planned != here {
                return Err(format!(
                    "the plan was made in AWS account {planned}, but the credentials in use are for account {here}: a plan applies only where it was made. Switch credentials (--profile, AWS_PROFILE)"
                ));
            }
        }
        Ok(())
    }

    /// The file's text: pretty JSON, a newline at the end.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        Ok(format!("{}\n", serde_json::to_string_pretty(self)?))
    }

    /// Read and check a saved plan: complete JSON, our format and version, not edited.
    pub fn parse(path: &str, text: &str) -> Result<SavedPlan, SavedPlanError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SavedPlanError::Truncated {
                path: path.into(),
                error: e.to_string(),
            })?;
        let foreign = |what: &str| SavedPlanError::Foreign {
            path: path.into(),
            what: what.into(),
        };
        let obj = value
            .as_object()
            .ok_or_else(|| foreign("it is not a JSON object"))?;
        if obj.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return Err(foreign(&format!(
                "it has no `\"format\": \"{FORMAT}\"` (a `plan --json` output is for reading, not applying: save plans with `plan --out FILE`)"
            )));
        }
        let format = obj
            .get("format_version")
            .and_then(|v| v.as_u64())
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| foreign("it has no format_version"))?;
        let theirs = obj
            .get("tool_version")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        if format != SAVED_FORMAT_VERSION || theirs != TOOL_VERSION {
            return Err(SavedPlanError::Version {
                path: path.into(),
                theirs,
                ours: TOOL_VERSION,
                format,
            });
        }
        let written = obj.get("digest").and_then(|d| d.as_str()).unwrap_or("");
        let edited = || SavedPlanError::Edited { path: path.into() };
        if digest_of(&value).map_err(|_| edited())? != written {
            return Err(edited());
        }
        serde_json::from_value(value).map_err(|e| SavedPlanError::Foreign {
            path: path.into(),
            what: format!("its contents do not have the plan's shape ({e})"),
        })
    }

    /// Read and check the plan file at `path`.
    pub fn read(path: &std::path::Path) -> Result<SavedPlan, SavedPlanError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SavedPlanError::Read {
            path: name.clone(),
            error: e.to_string(),
        })?;
        SavedPlan::parse(&name, &text)
    }

    /// The sources that differ from `now`'s: changed, gone or new.
    pub fn changed_sources(&self, now: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        for (path, digest) in &self.sources {
            match now.get(path) {
                None => out.push(format!("{path} is no longer read")),
                Some(d) if d != digest => out.push(format!(
                    "{path} changed ({} -> {})",
                    short(digest),
                    short(d)
                )),
                Some(_) => {}
            }
        }
        for path in now.keys().filter(|p| !self.sources.contains_key(*p)) {
            out.push(format!(
                "{path} is read now but was not when the plan was made"
            ));
        }
        out
    }

    /// What differs between the live objects this plan was computed from and those a
    /// fresh plan of the same sources read: objects changed, deleted or new. An object
    /// whose fingerprint differs only in what its type does not tell apart (the order of
    /// a set's items) is the same object.
    pub fn changed_live(&self, fresh: &Plan, registry: &Registry) -> Vec<String> {
        let mut fresh = fresh.clone();
        redact(&mut fresh, registry);
        let (was, now) = (lives(&self.plan), lives(&fresh));
        let mut out = Vec::new();
        for saved in &self.live {
            let key = (saved.type_name.as_str(), saved.id.as_str());
            match (was.get(&key), now.get(&key)) {
                (_, None) => out.push(format!(
                    "`{}` ({}) was deleted since the plan was made",
                    saved.addr, saved.id
                )),
                (Some(a), Some(b))
                    if fingerprint(b) != saved.fingerprint
                        && !same(registry, &saved.type_name, a, b) =>
                {
                    let what = what_differs(a, b);
                    out.push(format!("`{}` ({}) was changed{what}", saved.addr, saved.id));
                }
                (None, Some(_)) => out.push(format!(
                    "`{}` ({}) is not in the plan file's resources although it is listed as read",
                    saved.addr, saved.id
                )),
                _ => {}
            }
        }
        let listed: std::collections::BTreeSet<(&str, &str)> = self
            .live
            .iter()
            .map(|f| (f.type_name.as_str(), f.id.as_str()))
            .collect();
        for ((_, id), l) in now.iter().filter(|(k, _)| !listed.contains(*k)) {
            out.push(format!(
                "`{}` ({id}) exists now but did not when the plan was made",
                l.addr
            ));
        }
        out
    }
}

impl SavedPlan {
    /// The saved plan, ready to apply: what a plan keeps only for the run it was made in
    /// (what the stack declares, the tag index) taken from `fresh`, a plan of the same
    /// sources made just now, and secrets taken from `stack` (unchanged since, as the
    /// sources' digests showed).
    pub fn applicable(&self, fresh: &Plan, stack: &crate::config::Stack) -> Plan {
        let mut plan = self.plan.clone();
        plan.scope.declared = fresh.scope.declared.clone();
        plan.scope.protected = fresh.scope.protected.clone();
        plan.scope.tag_index = fresh.scope.tag_index.clone();
        for r in &mut plan.resources {
            let (Some(desired), Some(declared)) = (r.desired.as_mut(), stack.resource(&r.addr))
            else {
                continue;
            };
            for (k, v) in desired.iter_mut() {
                if matches!(v, Value::Sensitive) {
                    if let Some(real) = declared.props.get(k) {
                        *v = real.clone();
                    }
                }
            }
        }
        plan
    }
}

/// `sha256:0123456789ab`: enough of a digest to tell two apart in a message.
pub fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

/// The digest of a saved plan's JSON, without its `digest` field.
fn digest_of(value: &serde_json::Value) -> Result<String, serde_json::Error> {
    let mut value = value.clone();
    if let Some(obj) = value.as_object_mut() {
        obj.remove("digest");
    }
    Ok(crate::config::package::sha256_hex(&serde_json::to_vec(
        &value,
    )?))
}

/// Every live object of `plan`, by type and id (an association's id is its load
/// balancer's ARN: only the two together name one object).
fn lives(plan: &Plan) -> BTreeMap<(&str, &str), &Live> {
    plan.resources
        .iter()
        .filter_map(|r| {
            r.live
                .as_ref()
                .map(|l| ((r.type_name.as_str(), l.id.as_str()), l))
        })
        .collect()
}

/// Two reads of one object say the same, by its type's own comparison of its fields
/// (sets as sets, policies by meaning) and exactly for the rest.
fn same(registry: &Registry, type_name: &str, a: &Live, b: &Live) -> bool {
    let fields = match registry.get(type_name) {
        Some(p) => p.diff(&a.props, b).is_empty(),
        None => a.props == b.props,
    };
    fn refs(l: &Live) -> std::collections::BTreeSet<&String> {
        l.refs.iter().collect()
    }
    fields
        && a.tags == b.tags
        && a.outputs == b.outputs
        && refs(a) == refs(b)
        && a.pending == b.pending
}

/// The fingerprint of every live object `plan` read.
fn fingerprints(plan: &Plan) -> Vec<LiveFingerprint> {
    plan.resources
        .iter()
        .filter_map(|r| r.live.as_ref().map(|l| (r, l)))
        .map(|(r, l)| LiveFingerprint {
            addr: l.addr.clone(),
            type_name: r.type_name.clone(),
            id: l.id.clone(),
            fingerprint: fingerprint(l),
        })
        .collect()
}

/// What is compared of a live object: what the plan's diff and references used.
fn fingerprint(l: &Live) -> String {
    let mut refs: Vec<&String> = l.refs.iter().collect();
    refs.sort();
    let seen = (&l.id, &l.props, &l.tags, &l.outputs, refs, &l.pending);
    let bytes = serde_json::to_vec(&seen).unwrap_or_default();
    crate::config::package::sha256_hex(&bytes)
}

/// `: field a, tags` — what differs between two reads of one object.
fn what_differs(a: &Live, b: &Live) -> String {
    let mut fields: Vec<String> = a
        .props
        .keys()
        .chain(b.props.keys())
        .filter(|k| a.props.get(*k) != b.props.get(*k))
        .map(|k| format!("`{k}`"))
        .collect();
    fields.dedup();
    if a.tags != b.tags {
        fields.push("its tags".into());
    }
    if fields.is_empty() && a.outputs != b.outputs {
        fields.push("its attributes".into());
    }
    if fields.is_empty() && a.refs != b.refs {
        fields.push("what it refers to".into());
    }
    if fields.is_empty() && a.pending != b.pending {
        fields.push("its status".into());
    }
    if fields.is_empty() {
        String::new()
    } else {
        format!(": {}", fields.join(", "))
    }
}

/// Replace every sensitive field's value (by the type's schema) with `(sensitive)`, in
/// what the plan would apply and in what it read.
pub fn redact(plan: &mut Plan, registry: &Registry) {
    for r in &mut plan.resources {
        let Some(schema) = registry.get(&r.type_name).map(|p| p.schema()) else {
            continue;
        };
        let secret = |f: &str| schema.field(f).is_some_and(|f| f.sensitive);
        let hide = |props: &mut crate::model::Props| {
            for (k, v) in props.iter_mut() {
                if secret(k) && !matches!(v, Value::Null) {
                    *v = Value::Sensitive;
                }
            }
        };
        if let Some(d) = r.desired.as_mut() {
            hide(d);
        }
        if let Some(l) = r.live.as_mut() {
            hide(&mut l.props);
        }
    }
}
