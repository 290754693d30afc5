//! The contract between the engine and resource types (check / read / diff / create /
//! update / delete), the registry of types, and the ownership tags that make a live
//! resource ours.
//!
//! Guarantees every provider gives the engine:
//! - `read` is one batched discovery per type (a paginated describe/list filtered by the
//!   ownership tags), never one call per resource; asked for one address, it may filter
//!   on the server.
//! - `create`, `update` and `delete` are idempotent: an apply killed at any point and run
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

pub use diff::{default_diff, Change};
pub use registry::{CallCounter, Registry};

use crate::config::{Diagnostic, Resource, Stack};
use crate::model::{Addr, Outputs, Props, Schema};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub const TAG_STACK: &str = "bandup:stack";
pub const TAG_ENV: &str = "bandup:env";
pub const TAG_RESOURCE: &str = "bandup:resource";
pub const TAG_MANAGED_BY: &str = "managed-by";
pub const MANAGED_BY: &str = "bandup-infra";
/// When the resource was created (RFC 3339, UTC): tells duplicate copies apart.
pub const TAG_CREATED: &str = "bandup:created";

/// Whose resources these are: one stack in one environment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scope {
    pub stack: String,
    pub env: String,
    /// The stack's and environment's own tags, put on every resource.
    pub tags: BTreeMap<String, String>,
    /// The plan this apply carries out: mixed into client tokens, so that AWS recognises
    /// a repeated create within one apply but never hands back a resource deleted since.
    #[serde(default)]
    pub run: String,
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
    /// The AWS identifier (vpc-..., subnet-..., eipalloc-...).
    pub id: String,
    /// The declared fields as AWS reports them, in the stack's vocabulary.
    pub props: Props,
    /// Attributes others can reference (`id` always).
    pub outputs: Outputs,
    /// AWS ids this resource points at (its VPC, subnet...), to order deletes of
    /// resources that are no longer declared.
    pub refs: Vec<String>,
    /// When it was created, in milliseconds since the Unix epoch (from the
    /// `bandup:created` tag or AWS's own record), to tell duplicate copies apart.
    #[serde(default)]
    pub created: Option<u64>,
}

impl Live {
    pub fn created_at(mut self, ms: Option<u64>) -> Self {
        self.created = ms;
        self
    }
}

/// A failed AWS call: the operation, AWS's error code and message, and the request id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderError {
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
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
            ambiguous: false,
        }
    }

    /// AWS refused because what the call makes already exists (a duplicate name, an
    /// overlapping range, an association in place): perhaps made by another run.
    pub fn is_conflict(&self) -> bool {
        self.code.as_deref().is_some_and(|c| {
            c.ends_with("Duplicate")
                || c.contains("AlreadyExists")
                || c.ends_with("Conflict")
                || c.ends_with("AlreadyAssociated")
        })
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

#[async_trait]
pub trait Provider: Send + Sync {
    fn schema(&self) -> &'static Schema;

    /// Static checks beyond the schema that may look at other resources (no AWS call).
    fn check(&self, _res: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        Vec::new()
    }

    /// Every live resource of this type owned by `scope`, in one batched discovery. With
    /// `only`, the engine wants just that address's copies (normally none or one): it asks
    /// before every create and after a create that failed, since a killed run, another
    /// run or a lost answer may have made it. Filter on the server where the service can
    /// (EC2's `tag:` filters); returning more is allowed, the engine filters again.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError>;

    /// Take over `live`, found by `read` in place of creating it: bring it to `props`
    /// (the engine only adopts a copy whose differences can change in place) and wait
    /// until it is usable.
    async fn adopt(&self, scope: &Scope, props: &Props, live: Live) -> Result<Live, ProviderError> {
        if self.diff(props, &live).is_empty() {
            Ok(live)
        } else {
            self.update(scope, props, &live).await
        }
    }

    /// What differs between the desired properties and the live resource.
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        default_diff(self.schema(), desired, live)
    }

    /// Create the resource with its ownership tags. Idempotent.
    async fn create(
        &self,
        scope: &Scope,
        addr: &Addr,
        props: &Props,
    ) -> Result<Live, ProviderError>;

    /// Bring `live` to `props` in place; only fields that do not force replacement differ.
    /// Types whose every field forces replacement keep this default: the planner never
    /// asks them to update.
    async fn update(
        &self,
        _scope: &Scope,
        _props: &Props,
        live: &Live,
    ) -> Result<Live, ProviderError> {
        Err(ProviderError::new(
            format!("update {}", self.schema().type_name),
            format!("`{}` cannot change in place", live.addr),
        ))
    }

    /// Delete the resource; succeeds if it is already gone.
    async fn delete(&self, scope: &Scope, live: &Live) -> Result<(), ProviderError>;

    /// Resource types whose deletes must finish before this type's deletes start, for
    /// orderings AWS enforces that no reference shows (NAT gateways before the internet
    /// gateway detaches).
    fn delete_after(&self) -> &'static [&'static str] {
        &[]
    }
}
