//! Vocabulary types shared by every layer: addresses, values (known or not yet known) and
//! the attributes a live resource exposes. No I/O and no AWS here.

pub mod document;
pub mod event;
pub mod schema;
mod value;

pub use event::{Event, Op, Quiet, Reporter};
pub use schema::{Field, Kind, Schema};
pub use value::{Props, RefExpr, Template, TemplatePart, Value};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The stack-local address of one resource instance: `vpc`, or `public_subnet[eu-west-2a]`
/// for an instance of a `for_each` resource.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Addr(pub String);

impl Addr {
    pub fn new(name: &str, key: Option<&str>) -> Self {
        match key {
            Some(k) => Addr(format!("{name}[{k}]")),
            None => Addr(name.to_string()),
        }
    }

    /// The declared resource name without an instance key.
    pub fn base(&self) -> &str {
        self.0.split('[').next().unwrap_or(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource's own `timeouts:` in seconds; each `None` keeps its type's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<u64>,
}

impl TimeoutOverrides {
    pub fn is_empty(&self) -> bool {
        *self == TimeoutOverrides::default()
    }
}

/// Attributes of a live resource (`id`, `arn`, ...), readable by `${name.attr}` references.
pub type Outputs = std::collections::BTreeMap<String, Value>;
