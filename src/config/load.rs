//! The loading run: the `Loader` state every stage shares, and the order of the stages
//! (files and environment, parameters, declarations and `for_each`, instances, outputs).

use super::diagnostic::{Diagnostic, Diagnostics, Pos};
use super::yaml::Node;
use super::{Stack, TypeInfo};
use crate::model::{Addr, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub struct LoadOptions {
    /// The project root: `stacks/` and `environments/` live here.
    pub root: PathBuf,
    pub env: Option<String>,
    /// Overrides the stack the environment names (or `stacks/bandup.yaml`).
    pub stack: Option<PathBuf>,
}

/// Load and validate. The stack is returned even when there are problems, so callers can
/// run later checks (cycles) and report everything together.
pub fn load(opts: &LoadOptions, types: &dyn TypeInfo) -> (Stack, Diagnostics) {
    load_overriding(opts, types, &BTreeMap::new())
}

/// Load as `load` does, with some parameters set to other values than the environment
/// file gives them (`deploy`: the image tag or code path being rolled out). A name that
/// is not a declared parameter is ignored: the caller checks it first.
pub fn load_overriding(
    opts: &LoadOptions,
    types: &dyn TypeInfo,
    overrides: &BTreeMap<String, Value>,
) -> (Stack, Diagnostics) {
    let mut l = Loader::new(types);
    l.overrides = overrides.clone();
    let mut stack = l.run(opts).unwrap_or_default();
    if !l.diags.has_errors() {
        for d in types.check(&stack) {
            l.diags.push(d);
        }
        if let Some(env) = &opts.env {
            l.overlapping_environments(opts, env, &stack);
        }
    }
    stack.resources.sort_by_key(|r| r.pos.clone());
    (stack, l.diags)
}

/// What the stages share while one environment is loaded.
pub(super) struct Loader<'a> {
    pub(super) diags: Diagnostics,
    pub(super) types: &'a dyn TypeInfo,
    /// Parameters declared but without a usable value (wrong type, never set, broken
    /// declaration): reported once where the problem is; their uses stay silent.
    pub(super) poisoned: BTreeSet<String>,
    /// Where each parameter's value was written: in the environment, or its default.
    pub(super) param_pos: BTreeMap<String, Pos>,
    /// For a property written as just `${param.NAME}`, where its value was written.
    pub(super) origins: BTreeMap<(Addr, String), Pos>,
    /// The project root: where `Kind::Package` paths are read from.
    pub(super) root: PathBuf,
    /// Packaged code paths as written, with the SHA-256 of their zip (`Stack::sources`).
    pub(super) packages: BTreeMap<String, String>,
    /// Parameters set by the caller rather than the environment file.
    pub(super) overrides: BTreeMap<String, Value>,
}

impl<'a> Loader<'a> {
    pub(super) fn new(types: &'a dyn TypeInfo) -> Self {
        Loader {
            diags: Diagnostics::default(),
            types,
            poisoned: BTreeSet::new(),
            param_pos: BTreeMap::new(),
            origins: BTreeMap::new(),
            root: PathBuf::new(),
            packages: BTreeMap::new(),
            overrides: BTreeMap::new(),
        }
    }

    pub(super) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Report an error unless the same one was already reported (one report per
    /// problem, not one per `for_each` instance).
    pub(super) fn err_once(&mut self, d: Diagnostic) {
        if !self.diags.items.contains(&d) {
            self.err(d);
        }
    }

    /// Report every key of `node` that is not in `allowed`.
    pub(super) fn known_keys(&mut self, node: &Node, allowed: &[&str], what: &str) {
        for (k, _) in node.as_map().unwrap_or_default() {
            if !allowed.contains(&k.name.as_str()) {
                let d = Diagnostic::new(
                    k.pos.clone(),
                    format!("unknown field `{}` in {what}", k.name),
                )
                .suggest(
                    &k.name,
                    allowed.iter().copied(),
                    format!("expected one of: {}", allowed.join(", ")),
                );
                self.err(d);
            }
        }
    }

    /// Every stage in order; `None` when the files could not be read at all.
    pub(super) fn run(&mut self, opts: &LoadOptions) -> Option<Stack> {
        self.root = opts.root.clone();
        let files = self.files(opts)?;
        let header = self.header(&files, opts.env.as_deref());
        let params = self.params(
            files.stack.get("parameters"),
            files.env.as_ref().and_then(|e| e.get("parameters")),
            opts.env.is_some(),
        );
        let overrides = files.env.as_ref().and_then(|e| e.get("overrides"));
        let (decls, resources) = match self.resource_entries(&files.stack) {
            Some(entries) => {
                let decls = self.declarations(entries, &params);
                let resources = self.resources(&decls, overrides, &params);
                (decls, resources)
            }
            None => (Vec::new(), Vec::new()),
        };
        let outputs = self.outputs(files.stack.get("outputs"), &decls, &params);
        let mut sources: BTreeMap<String, String> = self
            .diags
            .sources
            .iter()
            .map(|(name, text)| (name.clone(), super::package::sha256_hex(text.as_bytes())))
            .collect();
        sources.append(&mut self.packages);
        Some(Stack {
            name: header.name,
            env: header.env,
            region: header.region,
            account_id: header.account_id,
            tags: header.tags,
            resources,
            outputs,
            state_bucket: header.state_bucket,
            sources,
            params,
        })
    }
}

/// `s` is a name of letters, digits, '_' and '-'.
pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
