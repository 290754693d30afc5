//! Stack and environment YAML files -> a validated `Stack`: overlay merge, typed
//! parameters, `for_each` expansion, `${...}` references, outputs and every problem found, with
//! file:line:col, reported at once (errors, and warnings that do not stop a command).
//! No AWS call is made here.

mod conform;
pub mod diagnostic;
pub mod edit;
pub mod environment;
mod eval;
mod expr;
mod files;
mod for_each;
mod instance;
mod load;
pub mod names;
pub mod new_env;
mod outputs;
pub mod package;
mod params;
pub mod project;
pub mod yaml;

pub use diagnostic::{did_you_mean, Diagnostic, Diagnostics, Pos, Severity};
pub use load::{load, load_overriding, LoadOptions};
pub use names::{check_env_name, ENV_NAME_RULE};
pub use outputs::OutputDecl;

use crate::model::{Addr, Props, Schema, TimeoutOverrides, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A loaded stack for one environment: every resource instance with its properties
/// (parameters substituted, references kept as references, defaults filled in).
#[derive(Debug, Default, Clone)]
pub struct Stack {
    pub name: String,
    pub env: String,
    pub region: Option<String>,
    /// The AWS account the environment must be applied to, if it pins one.
    pub account_id: Option<String>,
    /// Stack-wide tags plus the environment's own.
    pub tags: BTreeMap<String, String>,
    pub resources: Vec<Resource>,
    /// The declared outputs, in file order, their references kept as references.
    pub outputs: Vec<OutputDecl>,
    /// The environment's state bucket: where locks and the audit log live.
    pub state_bucket: Option<String>,
    /// Every parameter's value in this environment (its own, else the default).
    pub params: BTreeMap<String, Value>,
    /// What the stack was read from, relative to the project: the stack and environment
    /// files and every packaged code path, each with the SHA-256 of its bytes (of its zip,
    /// for a directory). A saved plan records them and refuses to apply after any change.
    pub sources: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub addr: Addr,
    pub type_name: String,
    pub props: Props,
    /// Everything this resource must wait for: references plus `depends_on`.
    pub deps: Vec<Addr>,
    pub protect: bool,
    /// `timeouts:` for its create, update and delete, where it sets them.
    pub timeouts: TimeoutOverrides,
    pub pos: Pos,
    /// Where each property was written, for checks that look across resources; also
    /// each item and field written inside one (`ingress[0]`, `ingress[0].from_port`).
    pub field_pos: BTreeMap<String, Pos>,
    /// The parameters each property's written value uses (`deploy` finds the parameter
    /// that holds an image's tag or a worker's code this way).
    pub params: BTreeMap<String, BTreeSet<String>>,
}

impl Stack {
    pub fn resource(&self, addr: &Addr) -> Option<&Resource> {
        self.resources.iter().find(|r| &r.addr == addr)
    }
}

/// What config needs to know about resource types; the provider registry implements it.
pub trait TypeInfo {
    fn schema(&self, type_name: &str) -> Option<&'static Schema>;
    fn type_names(&self) -> Vec<&'static str>;
    /// Checks that look at more than one field or resource (CIDRs inside their VPC...).
    fn check(&self, stack: &Stack) -> Vec<Diagnostic>;
}
