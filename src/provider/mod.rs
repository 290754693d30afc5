//! The contract between the engine and resource types (check / read / diff / create /
//! update / delete), the registry of types, and the ownership tags that make a live
//! resource ours.
//!
//! Guarantees every provider gives the engine:
//! - `read` is one batched discovery per type (a paginated describe/list filtered by the
//!   ownership tags), never one call per resource; asked for one address, it may filter
//!   on the server.
//! - `create`, `update` and `delete` get a `Request` (scope, address, properties,
//!   timeout, a way to report progress) and are idempotent: an apply killed at any point and run
//!   again converges. `delete` of something already gone succeeds.
//! - A create whose outcome is unknown (the answer was lost) is never blindly repeated:
//!   the engine looks the resource up by its ownership tags (`read` with the address;
//!   the create call tags atomically) and adopts what it finds (`adopt`) before
//!   creating again. Providers report such outcomes as `ProviderError::ambiguous` and
//!   keep the SDK from retrying them on its own (see docs/architecture.md, "Retries").
//! - The engine never runs two operations on one resource at once; operations on
//!   different resources may run concurrently.

mod diff;
mod registry;

pub use diff::{default_diff, present, removed, unset, Change};
pub use registry::{counted, CallCounter, Registry};

use crate::config::{Diagnostic, Resource, Stack};
use crate::model::{Addr, Outputs, Props, Schema, Value};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub const TAG_STACK: &str = "bandup:stack";
pub const TAG_ENV: &str = "bandup:env";
pub const TAG_RESOURCE: &str = "bandup:resource";
pub const TAG_MANAGED_BY: &str = "managed-by";
pub const MANAGED_BY: &str = "bandup-infra";
/// Set on resources declared with `protect: true`, so that one removed from the stack
/// is still refused deletion.
pub const TAG_PROTECT: &str = "bandup:protect";
/// When the resource was created (RFC 3339, UTC): tells duplicate copies apart.
pub const TAG_CREATED: &str = "bandup:created";
/// The plan whose apply created the resource: when two runs made copies of the same
/// resources, keeping one run's copies throughout keeps what is kept consistent.
pub const TAG_RUN: &str = "bandup:run";

/// Whose resources these are: one stack in one environment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Scope {
    pub stack: String,
    pub env: String,
    /// The stack's and environment's own tags, put on every resource.
    pub tags: BTreeMap<String, String>,
    /// The plan this apply carries out: mixed into client tokens, so that AWS recognises
    /// a repeated create within one apply but never hands back a resource deleted since.
    #[serde(default)]
    pub run: String,
    /// What the stack declares, per resource type: addresses and properties, references
    /// unresolved. How types AWS cannot tag find what is theirs: a DNS record's zone,
    /// the load balancer a web ACL is associated with (see docs/architecture.md,
    /// "Resources that cannot carry tags"). Not part of a saved plan.
    #[serde(skip)]
    pub declared: Arc<BTreeMap<String, Vec<(Addr, Props)>>>,
    /// The declared addresses with `protect: true` (they carry `bandup:protect`).
    #[serde(skip)]
    pub protected: Arc<std::collections::BTreeSet<Addr>>,
    /// Tags by ARN as a service-wide tag index reported them for this scope, fetched at
    /// most once per plan (`aws::tag_index`). Hints only: see `Scope::hint_holds`.
    #[serde(skip)]
    pub tag_index: Arc<tokio::sync::OnceCell<BTreeMap<String, BTreeMap<String, String>>>>,
}

impl Scope {
    /// The declared resources of `type_name`.
    pub fn declared_of(&self, type_name: &str) -> &[(Addr, Props)] {
        self.declared
            .get(type_name)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

impl Scope {
    /// Every tag a resource at `addr` carries: the user's tags, `Name`, and ownership.
    pub fn tags_for(&self, addr: &Addr) -> Vec<(String, String)> {
        let mut t: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        t.push(("Name".into(), self.name_for(addr)));
        t.push((TAG_STACK.into(), self.stack.clone()));
        t.push((TAG_ENV.into(), self.env.clone()));
        t.push((TAG_RESOURCE.into(), addr.to_string()));
        t.push((TAG_MANAGED_BY.into(), MANAGED_BY.into()));
        t
    }

    /// The tags a resource at `addr` must carry: `tags_for`, and `bandup:protect` if it
    /// is declared with `protect: true`.
    pub fn desired_tags(&self, addr: &Addr, protect: bool) -> Vec<(String, String)> {
        let mut t = self.tags_for(addr);
        if protect {
            t.push((TAG_PROTECT.into(), "true".into()));
        }
        t
    }

    /// Whether tags reported by a lagging index can stand for a resource's own: only when
    /// they name a declared address and are exactly the tags that address must carry.
    /// Anything else (an orphan, a tag to change, a resource the index has not seen) is
    /// read from the owning service, so a stale hint can neither make a plan delete
    /// something nor keep it from converging; at worst it hides a tag changed by hand
    /// for as long as the index lags.
    pub fn hint_holds(&self, tags: &BTreeMap<String, String>) -> bool {
        let Some(addr) = tags.get(TAG_RESOURCE).map(|a| Addr(a.clone())) else {
            return false;
        };
        let declared = self
            .declared
            .values()
            .any(|rs| rs.iter().any(|(a, _)| *a == addr));
        declared
            && TagDelta::between(
                tags,
                &self.desired_tags(&addr, self.protected.contains(&addr)),
            )
            .is_empty()
    }

    /// What every deterministic name of this scope starts with: `<stack>-<env>-`.
    pub fn name_prefix(&self) -> String {
        format!("{}-{}-", self.stack, self.env)
    }

    /// The names a `read` looks for: asked for one address, that address's name (a
    /// prefix match that the engine narrows); else every name of the scope.
    pub fn read_prefix(&self, only: Option<&Addr>) -> String {
        match only {
            Some(a) => self.name_for(a),
            None => self.name_prefix(),
        }
    }

    /// The deterministic user-visible name `<stack>-<env>-<name>`.
    pub fn name_for(&self, addr: &Addr) -> String {
        let base = addr
            .as_str()
            .replace(['[', ']'], "-")
            .trim_end_matches('-')
            .to_string();
        format!("{}-{}-{}", self.stack, self.env, base)
    }

    /// An idempotency token for creating `addr` with `props` in this run: the same for
    /// every attempt of one create, different for another plan or other properties.
    /// 32 hex characters (EC2 accepts up to 64 ASCII characters).
    pub fn client_token(&self, addr: &Addr, props: &Props) -> String {
        use std::hash::{DefaultHasher, Hash, Hasher};
        // SipHash with fixed keys: stable within one build, which is all a run needs.
        let props = serde_json::to_string(props).unwrap_or_default();
        let half = |salt: u8| {
            let mut h = DefaultHasher::new();
            (
                salt,
                &self.stack,
                &self.env,
                addr.as_str(),
                &self.run,
                &props,
            )
                .hash(&mut h);
            h.finish()
        };
        format!("{:016x}{:016x}", half(1), half(2))
    }

    /// True when `tags` say the resource belongs to this stack and environment.
    pub fn owns(&self, tags: &BTreeMap<String, String>) -> bool {
        tags.get(TAG_STACK) == Some(&self.stack) && tags.get(TAG_ENV) == Some(&self.env)
    }
}

/// A resource as found in AWS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Live {
    pub addr: Addr,
    /// The AWS identifier (vpc-..., subnet-..., an RDS identifier, a bucket name).
    pub id: String,
    /// The declared fields as AWS reports them, in the stack's vocabulary.
    pub props: Props,
    /// Attributes others can reference (`id` always).
    pub outputs: Outputs,
    /// AWS ids or ARNs this resource points at (its VPC, subnet, role...), to order
    /// deletes of resources that are no longer declared.
    pub refs: Vec<String>,
    /// When it was created, in milliseconds since the Unix epoch (from the
    /// `bandup:created` tag or AWS's own record), to tell duplicate copies apart.
    #[serde(default)]
    pub created: Option<u64>,
    /// Every tag it carries, ownership tags included: desired state like any field.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// AWS is still making it (its status, such as `creating`): an earlier apply was
    /// stopped before it was ready. The plan shows it and apply waits for it (`adopt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
}

impl Live {
    /// What other resources may point at it by in their `refs`: its id and, where it
    /// has one, its ARN (a task definition names its role by ARN, a listener its
    /// target group).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let arn = self
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .filter(|a| *a != self.id);
        std::iter::once(self.id.as_str()).chain(arn)
    }
}

/// What kind of failure an error is, whatever the service calls it: "already gone" is
/// `InvalidVpcID.NotFound`, `DBInstanceNotFound`, `NoSuchBucket`,
/// `ResourceNotFoundException` or `CacheSubnetGroupNotFoundFault`. Each service sets it
/// from its own error codes; the engine only ever looks at the kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    #[default]
    Other,
    /// It does not exist: a delete of it has nothing left to do.
    NotFound,
    /// Just made, and not yet visible everywhere in the service (retried with backoff).
    NotYetVisible,
    /// AWS asked to slow down.
    Throttled,
    /// Something still uses it (a dependency, a bucket's objects, a pending change).
    InUse,
    /// What the call makes already exists: perhaps made by another run.
    Conflict,
    /// Waited longer than the operation's timeout.
    Timeout,
}

/// A failed AWS call: the operation, AWS's error code and message, and the request id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderError {
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    #[serde(default)]
    pub kind: ErrorKind,
    /// The call may have been carried out although it failed: no answer came back
    /// (a dropped connection, a timeout) or AWS answered with a server error. Whatever
    /// it was meant to create must be looked for before it is created again.
    #[serde(default)]
    pub ambiguous: bool,
}

impl ProviderError {
    pub fn new(operation: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError {
            operation: operation.into(),
            code: None,
            message: message.into(),
            request_id: None,
            kind: ErrorKind::Other,
            ambiguous: false,
        }
    }

    pub fn kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// AWS refused because what the call makes already exists (a duplicate name, an
    /// overlapping range, an association in place): perhaps made by another run.
    pub fn is_conflict(&self) -> bool {
        self.kind == ErrorKind::Conflict
    }

    /// "It is already gone", which makes deletes idempotent.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

/// A delete's result, where "already gone" counts as success.
pub fn gone<T>(r: Result<T, ProviderError>) -> Result<(), ProviderError> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.operation)?;
        if let Some(c) = &self.code {
            write!(f, ": {c}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(r) = &self.request_id {
            write!(f, " (request id {r})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ProviderError {}

/// How long each operation of a type may wait for AWS before it fails with
/// `ErrorKind::Timeout`. A resource overrides them with `timeouts:` in the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let ten = Duration::from_secs(600);
        Timeouts {
            create: ten,
            update: ten,
            delete: ten,
        }
    }
}

/// One operation the engine asks of a provider: whose, which resource, with what
/// properties (references resolved), how long it may wait, and where to say what it is
/// waiting for. New needs are new fields here, not new parameters on every provider.
pub struct Request<'a> {
    pub scope: &'a Scope,
    pub addr: &'a Addr,
    /// The desired properties; for the delete of a resource no longer declared, what
    /// was read.
    pub props: &'a Props,
    /// How long this operation may wait for AWS.
    pub timeout: Duration,
    /// Declared with `protect: true` (and so tagged `bandup:protect`).
    pub protect: bool,
    /// Tells the user about the operation in flight ("still creating, 12m elapsed").
    pub note: &'a (dyn Fn(String) + Sync),
    /// Set when this create makes a replacement beside the copy it replaces (which is
    /// deleted afterwards): names AWS wants unique get it appended (`name()` does).
    pub suffix: Option<&'a str>,
}

impl Request<'_> {
    /// A string property (empty when absent).
    pub fn str(&self, field: &str) -> &str {
        self.props
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.props.get(field).filter(|v| !matches!(v, Value::Null))
    }

    pub fn bool(&self, field: &str) -> Option<bool> {
        self.get(field).and_then(Value::as_bool)
    }

    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(Value::as_int)
    }

    /// Every tag the resource must carry (ownership included).
    pub fn tags(&self) -> Vec<(String, String)> {
        self.scope.desired_tags(self.addr, self.protect)
    }

    /// Its name, `<stack>-<env>-<address>`, with `-<suffix>` for a replacement made
    /// beside the copy it replaces.
    pub fn name(&self) -> String {
        match self.suffix {
            Some(s) => format!("{}-{s}", self.scope.name_for(self.addr)),
            None => self.scope.name_for(self.addr),
        }
    }
}

/// Tags to set (added or changed) and to remove, to bring a resource's tags to what
/// the stack wants.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagDelta {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

impl TagDelta {
    /// From what it has to what it should have. `bandup:created` and `bandup:run` are
    /// kept as they are, and
    /// `aws:` tags belong to AWS and cannot be changed.
    pub fn between(have: &BTreeMap<String, String>, want: &[(String, String)]) -> TagDelta {
        let want: BTreeMap<&String, &String> = want.iter().map(|(k, v)| (k, v)).collect();
        let kept = |k: &str| k == TAG_CREATED || k == TAG_RUN || k.starts_with("aws:");
        TagDelta {
            set: want
                .iter()
                .filter(|(k, v)| have.get(k.as_str()) != Some(v))
                .map(|(k, v)| ((*k).clone(), (*v).clone()))
                .collect(),
            remove: have
                .keys()
                .filter(|k| !kept(k) && !want.contains_key(k))
                .cloned()
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// The change as the plan shows it: the differing tags before and after.
    pub fn change(&self, have: &BTreeMap<String, String>) -> Change {
        let before = self
            .set
            .keys()
            .chain(&self.remove)
            .filter_map(|k| Some((k.clone(), Value::Str(have.get(k)?.clone()))))
            .collect();
        let after = self
            .set
            .iter()
            .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
            .collect();
        Change {
            field: "tags".into(),
            before: Value::Map(before),
            after: Value::Map(after),
            forces_replace: false,
            why: None,
        }
    }
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn schema(&self) -> &'static Schema;

    /// Static checks beyond the schema that may look at other resources (no AWS call).
    fn check(&self, _res: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// Every live resource of this type owned by `scope`, in one batched discovery, each
    /// with all its tags. With `only`, the engine wants just that address's copies
    /// (normally none or one): it asks before every create and after a create that
    /// failed, since a killed run, another run or a lost answer may have made it. Filter
    /// on the server where the service can; returning more is allowed, the engine
    /// filters again.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError>;

    /// Take over `live`, found by `read` in place of creating it (an earlier run was
    /// killed while creating it, or another run made it), or found `pending`: wait until
    /// it is usable and return it as it is then. The engine then brings its tags and
    /// fields to the stack like any update.
    async fn adopt(&self, _req: &Request<'_>, live: Live) -> Result<Live, ProviderError> {
        Ok(live)
    }

    /// What differs between the desired properties and the live resource (tags are
    /// compared by the engine).
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        default_diff(self.schema(), desired, live)
    }

    /// Create the resource with its ownership tags (atomically where the service can)
    /// and wait until it is usable, at most `req.timeout`.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError>;

    /// Bring `live` to `req.props` in place; only fields that do not force replacement
    /// differ. Types whose every field forces replacement keep this default: the planner
    /// never asks them to update.
    async fn update(&self, _req: &Request<'_>, live: &Live) -> Result<Live, ProviderError> {
        Err(ProviderError::new(
            format!("update {}", self.schema().type_name),
            format!("`{}` cannot change in place", live.addr),
        ))
    }

    /// False for types AWS cannot tag at all (a WAF association, a scaling policy): the
    /// plan compares no tags for them and apply never retags them. Their identity comes
    /// from their parents (see docs/architecture.md, "Resources that cannot carry tags").
    fn taggable(&self) -> bool {
        true
    }

    /// Set and remove tags on `live`.
    async fn retag(&self, live: &Live, delta: &TagDelta) -> Result<(), ProviderError>;

    /// Delete the resource; succeeds if it is already gone.
    async fn delete(&self, req: &Request<'_>, live: &Live) -> Result<(), ProviderError>;

    /// Resource types whose deletes must finish before this type's deletes start, for
    /// orderings AWS enforces that no reference shows (NAT gateways before the internet
    /// gateway detaches).
    fn delete_after(&self) -> &'static [&'static str] {
        &[]
    }

    /// A replacement may be created beside the copy it replaces, before that copy is
    /// deleted (names AWS wants unique carry `Request::suffix`). The plan does so when
    /// the copy being replaced is still in use by live resources that stay (a target
    /// group a listener forwards to, a security group a service runs in), since AWS
    /// refuses to delete it first; what used it is moved by an update in between.
    fn create_before_delete(&self) -> bool {
        false
    }

    /// Attributes an in-place update gives new values (a task definition's revision
    /// ARN): a plan that updates the resource treats them as known after apply, so what
    /// refers to them is updated too.
    fn renewed_on_update(&self) -> &'static [&'static str] {
        &[]
    }

    /// How long creates, updates and deletes of this type may take by default.
    fn timeouts(&self) -> Timeouts {
        Timeouts::default()
    }

    /// What deleting `live` loses, for types that hold data (a database, a cache, a
    /// bucket): a plan that deletes or replaces it says so loudly. `declared` is what
    /// the stack declares (`None` for a resource no longer declared, deleted as it was
    /// read): what a delete keeps may depend on it (a final snapshot). `None` for types
    /// that hold no data.
    fn data_loss(&self, _live: &Live, _declared: Option<&Props>) -> Option<String> {
        None
    }

    /// What the operator must do about this live resource that no API call can (a
    /// connection waiting for its approval in the console): shown once under the plan.
    fn advice(&self, _live: &Live) -> Option<String> {
        None
    }
}
