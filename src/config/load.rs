//! Reading the files and turning them into a `Stack`, collecting every problem on the way.

use super::diagnostic::{did_you_mean, Diagnostic, Diagnostics, Pos};
use super::expr::{self, Expr, Index, Piece};
use super::names::check_env_name;
use super::yaml::{self, Key, Node, NodeKind};
use super::{Resource, Stack, TypeInfo};
use crate::model::{Addr, Kind, Props, RefExpr, Template, TemplatePart, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct LoadOptions {
    /// The project root: `stacks/` and `environments/` live here.
    pub root: PathBuf,
    pub env: Option<String>,
    /// Overrides the stack the environment names (or `stacks/bandup.yaml`).
    pub stack: Option<PathBuf>,
}

const STACK_KEYS: &[&str] = &["stack", "description", "tags", "parameters", "resources"];
const ENV_KEYS: &[&str] = &[
    "environment",
    "description",
    "stack",
    "region",
    "account_id",
    "tags",
    "parameters",
    "overrides",
];
const RESOURCE_KEYS: &[&str] = &[
    "type",
    "description",
    "properties",
    "depends_on",
    "protect",
    "for_each",
];
const PARAM_KEYS: &[&str] = &["type", "default", "description"];
const PARAM_TYPES: &[&str] = &["string", "int", "bool", "cidr", "list", "map"];

/// Load and validate. The stack is returned even when there are problems, so callers can
/// run later checks (cycles) and report everything together.
pub fn load(opts: &LoadOptions, types: &dyn TypeInfo) -> (Stack, Diagnostics) {
    let mut l = Loader::new(types);
    let stack = l.run(opts).unwrap_or_default();
    let mut stack = stack;
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

struct Loader<'a> {
    diags: Diagnostics,
    types: &'a dyn TypeInfo,
    /// Parameters declared but without a usable value (wrong type, never set, broken
    /// declaration): reported once where the problem is; their uses stay silent.
    poisoned: BTreeSet<String>,
    /// Where each parameter's value was written: in the environment, or its default.
    param_pos: BTreeMap<String, Pos>,
    /// For a property written as just `${param.NAME}`, where its value was written.
    origins: BTreeMap<(Addr, String), Pos>,
}

/// A VPC of one environment, for comparing environments' address ranges.
struct EnvVpc {
    addr: Addr,
    net: ipnet::Ipv4Net,
    /// Where the range was written (the environment's parameter, when it comes from one).
    pos: Pos,
}

/// The per-instance context in which `${each.*}` is evaluated.
struct Each {
    key: String,
    value: Value,
    index: usize,
}

struct Decl<'n> {
    name: &'n Key,
    body: &'n Node,
    type_name: Option<String>,
    /// `None` for a single resource; the instance keys of a `for_each` resource.
    keys: Option<Vec<(String, Value)>>,
    /// A `for_each` that gave no instances (its problem is reported where it is):
    /// references to the resource stay silent instead of adding follow-on errors.
    broken: bool,
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

impl<'a> Loader<'a> {
    fn new(types: &'a dyn TypeInfo) -> Self {
        Loader {
            diags: Diagnostics::default(),
            types,
            poisoned: BTreeSet::new(),
            param_pos: BTreeMap::new(),
            origins: BTreeMap::new(),
        }
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The VPCs of a loaded stack with their ranges and where each range was written.
    fn vpcs(&self, stack: &Stack) -> Vec<EnvVpc> {
        stack
            .resources
            .iter()
            .filter(|r| r.type_name == "aws_vpc")
            .filter_map(|r| {
                let net = r.props.get("cidr_block")?.as_str()?.parse().ok()?;
                let key = (r.addr.clone(), "cidr_block".to_string());
                let pos = self
                    .origins
                    .get(&key)
                    .or_else(|| r.field_pos.get("cidr_block"))
                    .cloned()
                    .unwrap_or(r.pos.clone());
                Some(EnvVpc {
                    addr: r.addr.clone(),
                    net,
                    pos,
                })
            })
            .collect()
    }

    /// Warn when a VPC of `env` overlaps a VPC of another environment of the project:
    /// they could never be peered or joined over one VPN. The other environments are
    /// loaded on their own (their problems are theirs to report; no further recursion).
    fn overlapping_environments(&mut self, opts: &LoadOptions, env: &str, stack: &Stack) {
        let ours = self.vpcs(stack);
        if ours.is_empty() {
            return;
        }
        for other in list_envs(&opts.root).into_iter().filter(|e| e != env) {
            let mut sibling = Loader::new(self.types);
            let other_opts = LoadOptions {
                root: opts.root.clone(),
                env: Some(other.clone()),
                stack: None,
            };
            let Some(other_stack) = sibling.run(&other_opts) else {
                continue;
            };
            let theirs = sibling.vpcs(&other_stack);
            let mut related_sources = Vec::new();
            for vpc in &ours {
                for o in theirs.iter().filter(|o| {
                    o.net.contains(&vpc.net.network()) || vpc.net.contains(&o.net.network())
                }) {
                    self.diags.push(
                        Diagnostic::warning(
                            vpc.pos.clone(),
                            format!(
                                "VPC `{}` ({}) overlaps VPC `{}` of environment `{other}` ({})",
                                vpc.addr, vpc.net, o.addr, o.net
                            ),
                        )
                        .hint(
                            "environments whose ranges overlap can never be peered or joined \
                             over one VPN: give each its own range, such as a /16 of 10.0.0.0/8 \
                             per environment",
                        )
                        .related(
                            o.pos.clone(),
                            format!("environment `{other}` uses {} here", o.net),
                        ),
                    );
                    related_sources.push(o.pos.file.clone());
                }
            }
            // The other environment's text, so the related place shows its line.
            for (file, text) in sibling.diags.sources {
                let known = self.diags.sources.iter().any(|(f, _)| *f == file);
                if !known && related_sources.contains(&file) {
                    self.diags.sources.push((file, text));
                }
            }
        }
    }

    /// Read and parse one file; `stack` says it is a stack file, whose duplicate resource
    /// names `resources()` reports with its own message.
    fn read(&mut self, root: &Path, path: &Path, stack: bool) -> Option<Node> {
        let name = rel(root, path);
        let text = match read_limited(path) {
            Ok(Ok(t)) => t,
            Ok(Err(size)) => {
                let limit = yaml::limits::FILE_BYTES;
                let size = if size > limit {
                    format!("{size} bytes")
                } else {
                    format!("more than {limit} bytes")
                };
                self.err(
                    Diagnostic::new(
                        Pos::new(&name, 1, 1),
                        format!(
                            "size limit exceeded: the file is {size}; at most {limit} bytes \
                             (4 MiB) are read"
                        ),
                    )
                    .hint(yaml::LIMIT_HINT),
                );
                return None;
            }
            Err(e) => {
                self.err(Diagnostic::new(
                    Pos::new(&name, 1, 1),
                    format!("cannot read file: {e}"),
                ));
                return None;
            }
        };
        let parsed = yaml::parse(&name, &text);
        self.diags.sources.push((name, text));
        match parsed {
            Ok(n) if n.as_map().is_some() => {
                for dup in yaml::duplicate_keys(&n) {
                    if stack && dup.path == ["resources"] {
                        continue;
                    }
                    let key = &dup.again.name;
                    self.err(
                        Diagnostic::new(
                            dup.again.pos.clone(),
                            format!("duplicate key `{key}`: a YAML mapping may hold each key once"),
                        )
                        .hint(format!(
                            "keep one `{key}`: remove the other, or rename it if another key was meant"
                        ))
                        .related(dup.first.pos.clone(), "first written here"),
                    );
                }
                Some(n)
            }
            Ok(n) => {
                let msg = format!(
                    "expected a mapping at the top of the file, found {}",
                    n.type_name()
                );
                self.err(Diagnostic::new(n.pos, msg));
                None
            }
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    fn known_keys(&mut self, node: &Node, allowed: &[&str], what: &str) {
        for (k, _) in node.as_map().unwrap_or_default() {
            if !allowed.contains(&k.name.as_str()) {
                let mut d = Diagnostic::new(
                    k.pos.clone(),
                    format!("unknown field `{}` in {what}", k.name),
                );
                d = d.suggest(
                    &k.name,
                    allowed.iter().copied(),
                    format!("expected one of: {}", allowed.join(", ")),
                );
                self.err(d);
            }
        }
    }

    fn run(&mut self, opts: &LoadOptions) -> Option<Stack> {
        let root = &opts.root;
        if let Some(Err(e)) = opts.env.as_deref().map(check_env_name) {
            // Before any file is opened: `../x` must never reach the filesystem.
            let known = list_envs(root);
            let hint = if known.is_empty() {
                "--env NAME reads environments/NAME.yaml".to_string()
            } else {
                format!("environments: {}", known.join(", "))
            };
            self.err(
                Diagnostic::new(Pos::new("--env", 1, 1), format!("invalid environment: {e}"))
                    .hint(hint),
            );
            return None;
        }
        let env_node = match &opts.env {
            Some(env) => {
                let path = root.join("environments").join(format!("{env}.yaml"));
                if !path.exists() {
                    let available = list_envs(root);
                    let mut d = Diagnostic::new(
                        Pos::new(&rel(root, &path), 1, 1),
                        format!(
                            "unknown environment `{env}`: {} does not exist",
                            rel(root, &path)
                        ),
                    );
                    d = match did_you_mean(env, available.iter().map(String::as_str)) {
                        Some(s) => d.hint(format!(
                            "did you mean `{s}`? environments: {}",
                            available.join(", ")
                        )),
                        None => d.hint(format!("environments: {}", available.join(", "))),
                    };
                    self.err(d);
                    return None;
                }
                Some(self.read(root, &path, false)?)
            }
            None => None,
        };
        if let Some(e) = &env_node {
            self.known_keys(e, ENV_KEYS, "the environment file");
        }
        let stack_path = match (&opts.stack, env_node.as_ref().and_then(|e| e.get("stack"))) {
            (Some(p), _) => p.clone(),
            (None, Some(n)) => match n.as_str() {
                Some(s) => root.join(s),
                None => {
                    self.err(Diagnostic::new(
                        n.pos.clone(),
                        "`stack` must be a path such as stacks/bandup.yaml",
                    ));
                    return None;
                }
            },
            (None, None) => root.join("stacks/bandup.yaml"),
        };
        let stack_node = self.read(root, &stack_path, true)?;
        self.known_keys(&stack_node, STACK_KEYS, "the stack file");

        let name = match stack_node.get("stack") {
            Some(n) => match n.as_str() {
                Some(s) if is_name(s) => s.to_string(),
                _ => {
                    self.err(
                        Diagnostic::new(
                            n.pos.clone(),
                            "`stack` must be a short name of letters, digits and '-'",
                        )
                        .hint("for example: stack: bandup"),
                    );
                    "stack".into()
                }
            },
            None => {
                self.err(
                    Diagnostic::new(
                        stack_node.pos.clone(),
                        "missing required field `stack` (the stack's name)",
                    )
                    .hint("add `stack: bandup` at the top"),
                );
                "stack".into()
            }
        };
        let env_name = opts.env.clone().unwrap_or_else(|| "default".into());
        let mut tags = self.tags(stack_node.get("tags"));
        let mut region = None;
        let mut account_id = None;
        if let Some(e) = &env_node {
            tags.extend(self.tags(e.get("tags")));
            if let Some(r) = e.get("region") {
                match r.as_str() {
                    Some(s) => region = Some(s.to_string()),
                    None => self.err(
                        Diagnostic::new(
                            r.pos.clone(),
                            format!("`region` must be a string, found {}", r.type_name()),
                        )
                        .hint("for example: region: eu-west-2"),
                    ),
                }
            }
            if let Some(a) = e.get("account_id") {
                match &a.kind {
                    NodeKind::Str(s) if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) => {
                        account_id = Some(s.clone())
                    }
                    _ => self.err(
                        Diagnostic::new(
                            a.pos.clone(),
                            "`account_id` must be a 12-digit AWS account id in quotes",
                        )
                        .hint("for example: account_id: \"123456789012\""),
                    ),
                }
            }
            if let Some(n) = e.get("environment") {
                let written = n.as_str().map(check_env_name);
                if let Some(Err(problem)) = written {
                    self.err(
                        Diagnostic::new(n.pos.clone(), format!("invalid `environment`: {problem}"))
                            .hint(format!("write `environment: {env_name}`")),
                    );
                } else if n.as_str() != Some(env_name.as_str()) {
                    self.err(Diagnostic::new(n.pos.clone(), format!("this file is environments/{env_name}.yaml but says `environment: {}`", n.as_str().unwrap_or("?"))).hint(format!("write `environment: {env_name}`")));
                }
            }
        }
        let params = self.params(
            stack_node.get("parameters"),
            env_node.as_ref().and_then(|e| e.get("parameters")),
            opts.env.is_some(),
        );
        let resources = self.resources(
            &stack_node,
            env_node.as_ref().and_then(|e| e.get("overrides")),
            &params,
        );
        Some(Stack {
            name,
            env: env_name,
            region,
            account_id,
            tags,
            resources,
        })
    }

    fn tags(&mut self, node: Option<&Node>) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(node) = node else { return out };
        let Some(map) = node.as_map() else {
            self.err(Diagnostic::new(
                node.pos.clone(),
                format!(
                    "`tags` must be a mapping of names to strings, found {}",
                    node.type_name()
                ),
            ));
            return out;
        };
        for (k, v) in map {
            if k.name.starts_with("bandup:") || k.name == "managed-by" {
                self.err(Diagnostic::new(
                    k.pos.clone(),
                    format!(
                        "tag `{}` is reserved: bandup-infra sets it to track ownership",
                        k.name
                    ),
                ));
                continue;
            }
            match &v.kind {
                NodeKind::Str(s) => out.insert(k.name.clone(), s.clone()),
                NodeKind::Int(i) => out.insert(k.name.clone(), i.to_string()),
                NodeKind::Bool(b) => out.insert(k.name.clone(), b.to_string()),
                _ => {
                    self.err(Diagnostic::new(
                        v.pos.clone(),
                        format!("tag values must be strings, found {}", v.type_name()),
                    ));
                    None
                }
            };
        }
        out
    }

    fn params(
        &mut self,
        decl: Option<&Node>,
        set: Option<&Node>,
        have_env: bool,
    ) -> BTreeMap<String, Value> {
        let mut types: BTreeMap<String, (String, Option<&Node>, Pos)> = BTreeMap::new();
        for (k, v) in decl.and_then(Node::as_map).unwrap_or_default() {
            if v.as_map().is_none() {
                self.err(
                    Diagnostic::new(
                        v.pos.clone(),
                        format!(
                            "parameter `{}` must be a mapping with `type` and optionally `default`",
                            k.name
                        ),
                    )
                    .hint("for example: { type: cidr, default: 10.0.0.0/16 }"),
                );
                self.poisoned.insert(k.name.clone());
                continue;
            }
            self.known_keys(v, PARAM_KEYS, &format!("parameter `{}`", k.name));
            let ty = match v.get("type") {
                Some(t) => match t.as_str() {
                    Some(s) if PARAM_TYPES.contains(&s) => s.to_string(),
                    _ => {
                        let got = t.as_str().unwrap_or("?");
                        let mut d = Diagnostic::new(
                            t.pos.clone(),
                            format!("unknown parameter type `{got}`"),
                        );
                        d = d.suggest(
                            got,
                            PARAM_TYPES.iter().copied(),
                            format!("expected one of: {}", PARAM_TYPES.join(", ")),
                        );
                        self.err(d);
                        self.poisoned.insert(k.name.clone());
                        continue;
                    }
                },
                None => {
                    self.err(
                        Diagnostic::new(
                            k.pos.clone(),
                            format!("missing required field `type` in parameter `{}`", k.name),
                        )
                        .hint(format!("one of: {}", PARAM_TYPES.join(", "))),
                    );
                    self.poisoned.insert(k.name.clone());
                    continue;
                }
            };
            types.insert(k.name.clone(), (ty, v.get("default"), k.pos.clone()));
        }
        let mut values: BTreeMap<String, &Node> = BTreeMap::new();
        for (k, v) in set.and_then(Node::as_map).unwrap_or_default() {
            if !types.contains_key(&k.name) {
                let mut d = Diagnostic::new(
                    k.pos.clone(),
                    format!(
                        "unknown parameter `{}`: the stack does not declare it",
                        k.name
                    ),
                );
                if let Some(s) = did_you_mean(&k.name, types.keys().map(String::as_str)) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.err(d);
                continue;
            }
            values.insert(k.name.clone(), v);
        }
        // A parameter whose declaration is broken is reported there, not also as unknown.
        values.retain(|name, _| !self.poisoned.contains(name));
        let mut out = BTreeMap::new();
        for (name, (ty, default, pos)) in types {
            let Some(node) = values.get(&name).copied().or(default) else {
                self.err(
                    Diagnostic::new(
                        pos,
                        format!(
                            "parameter `{name}` has no default and the environment does not set it"
                        ),
                    )
                    .hint(if have_env {
                        format!("set `{name}` under `parameters:` in the environment file")
                    } else {
                        format!("pass --env NAME to read environments/NAME.yaml, which sets `{name}`, or give it a `default:`")
                    }),
                );
                self.poisoned.insert(name);
                continue;
            };
            let value = plain(node);
            if let Some((msg, example)) = param_type_error(&ty, &value) {
                self.err(
                    Diagnostic::new(
                        node.pos.clone(),
                        format!(
                            "parameter `{name}`: expected {msg}, found {}",
                            node.type_name()
                        ),
                    )
                    .hint(format!(
                        "parameter `{name}` has type {ty}: for example {example}"
                    )),
                );
                self.poisoned.insert(name);
                continue;
            }
            self.param_pos.insert(name.clone(), node.pos.clone());
            out.insert(name, value);
        }
        out
    }

    fn resources(
        &mut self,
        stack: &Node,
        overrides: Option<&Node>,
        params: &BTreeMap<String, Value>,
    ) -> Vec<Resource> {
        let Some(res_node) = stack.get("resources") else {
            return Vec::new();
        };
        let Some(entries) = res_node.as_map() else {
            self.err(Diagnostic::new(
                res_node.pos.clone(),
                "`resources` must be a mapping of names to resources",
            ));
            return Vec::new();
        };
        // Declarations first: names, types and instance keys, so references can be checked.
        let mut decls: Vec<Decl> = Vec::new();
        let mut seen: BTreeMap<&str, &Key> = BTreeMap::new();
        for (k, body) in entries {
            if let Some(first) = seen.get(k.name.as_str()) {
                let d = Diagnostic::new(
                    k.pos.clone(),
                    format!("duplicate resource name `{}`", k.name),
                )
                .hint("resource names must be unique in a stack: rename one of them")
                .related(first.pos.clone(), "first defined here");
                self.err(d);
                continue;
            }
            seen.insert(&k.name, k);
            if !is_name(&k.name) {
                self.err(Diagnostic::new(
                    k.pos.clone(),
                    format!(
                        "resource name `{}` may hold only letters, digits, '_' and '-'",
                        k.name
                    ),
                ));
            }
            if body.as_map().is_none() {
                self.err(Diagnostic::new(
                    body.pos.clone(),
                    format!(
                        "resource `{}` must be a mapping with at least `type`",
                        k.name
                    ),
                ));
                continue;
            }
            self.known_keys(body, RESOURCE_KEYS, &format!("resource `{}`", k.name));
            let type_name = match body.get("type") {
                None => {
                    self.err(
                        Diagnostic::new(
                            k.pos.clone(),
                            format!("missing required field `type` in resource `{}`", k.name),
                        )
                        .hint(format!("one of: {}", self.types.type_names().join(", "))),
                    );
                    None
                }
                Some(t) => {
                    let s = t.as_str().unwrap_or("");
                    if self.types.schema(s).is_some() {
                        Some(s.to_string())
                    } else {
                        let names = self.types.type_names();
                        let mut d =
                            Diagnostic::new(t.pos.clone(), format!("unknown resource type `{s}`"));
                        d = d.suggest(
                            s,
                            names.iter().copied(),
                            format!("known types: {}", names.join(", ")),
                        );
                        self.err(d);
                        None
                    }
                }
            };
            let keys = body.get("for_each").and_then(|f| self.for_each(f, params));
            decls.push(Decl {
                name: k,
                body,
                type_name,
                broken: keys.is_none() && body.get("for_each").is_some(),
                keys,
            });
        }
        // Overrides from the environment replace single properties.
        let mut override_map: BTreeMap<&str, &Node> = BTreeMap::new();
        for (k, v) in overrides.and_then(Node::as_map).unwrap_or_default() {
            if !decls.iter().any(|d| d.name.name == k.name) {
                let mut d = Diagnostic::new(
                    k.pos.clone(),
                    format!("override for unknown resource `{}`", k.name),
                );
                if let Some(s) = did_you_mean(&k.name, decls.iter().map(|d| d.name.name.as_str())) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.err(d);
            } else if v.as_map().is_none() {
                self.err(Diagnostic::new(
                    v.pos.clone(),
                    "an override must be a mapping of property names to values",
                ));
            } else {
                override_map.insert(&k.name, v);
            }
        }

        let mut out = Vec::new();
        for decl in &decls {
            let instances: Vec<Option<Each>> = match &decl.keys {
                None if decl.body.get("for_each").is_some() => continue,
                None => vec![None],
                Some(keys) => keys
                    .iter()
                    .enumerate()
                    .map(|(index, (key, value))| {
                        Some(Each {
                            key: key.clone(),
                            value: value.clone(),
                            index,
                        })
                    })
                    .collect(),
            };
            for each in instances {
                if let Some(r) = self.instance(
                    decl,
                    each.as_ref(),
                    &decls,
                    params,
                    override_map.get(decl.name.name.as_str()).copied(),
                ) {
                    out.push(r);
                }
            }
        }
        out
    }

    fn for_each(
        &mut self,
        node: &Node,
        params: &BTreeMap<String, Value>,
    ) -> Option<Vec<(String, Value)>> {
        let value = match node.as_str() {
            Some(s) => match expr::split(s) {
                Ok(pieces) => match pieces.as_slice() {
                    [Piece::Expr(Expr::Param(p))] => match params.get(p) {
                        Some(v) => v.clone(),
                        None if self.poisoned.contains(p) => return None,
                        None => {
                            self.err(unknown_param(node, p, params));
                            return None;
                        }
                    },
                    _ => Value::Null,
                },
                Err(e) => {
                    self.err(Diagnostic::new(node.pos.clone(), e));
                    return None;
                }
            },
            None => plain(node),
        };
        let keys = match value {
            Value::List(items) => items
                .into_iter()
                .map(|v| match &v {
                    Value::Str(s) => Some((s.clone(), v.clone())),
                    Value::Int(i) => Some((i.to_string(), v.clone())),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>(),
            Value::Map(m) => Some(m.into_iter().collect()),
            _ => None,
        };
        if keys.is_none() {
            self.err(Diagnostic::new(node.pos.clone(), "`for_each` must be a list of strings, a mapping, or `${param.NAME}` naming one").hint("for example: for_each: ${param.availability_zones}"));
        }
        keys
    }

    fn instance(
        &mut self,
        decl: &Decl,
        each: Option<&Each>,
        decls: &[Decl],
        params: &BTreeMap<String, Value>,
        overrides: Option<&Node>,
    ) -> Option<Resource> {
        let name = &decl.name.name;
        let addr = Addr::new(name, each.map(|e| e.key.as_str()));
        let type_name = decl.type_name.clone()?;
        let schema = self.types.schema(&type_name)?;
        let mut deps = Vec::new();
        let mut props = Props::new();
        let mut field_pos = BTreeMap::new();
        let mut fields: Vec<(&Key, &Node)> = Vec::new();
        if let Some(p) = decl.body.get("properties") {
            match p.as_map() {
                Some(m) => fields.extend(m.iter().map(|(k, v)| (k, v))),
                None => self.err(Diagnostic::new(
                    p.pos.clone(),
                    format!("`properties` must be a mapping, found {}", p.type_name()),
                )),
            }
        }
        for (k, v) in overrides.and_then(Node::as_map).unwrap_or_default() {
            fields.retain(|(fk, _)| fk.name != k.name);
            fields.push((k, v));
        }
        let only_first = each.is_none_or(|e| e.index == 0);
        // Fields the user probably meant with a misspelt one: not also "missing".
        let mut meant: Vec<&str> = Vec::new();
        let types = self.types;
        let poisoned = self.poisoned.clone();
        let mut ctx = Ctx {
            params,
            poisoned: &poisoned,
            each,
            decls,
            deps: &mut deps,
            errors: Vec::new(),
            types,
        };
        for (k, v) in fields {
            let Some(field) = schema.field(&k.name) else {
                {
                    let mut d = Diagnostic::new(
                        k.pos.clone(),
                        format!("unknown field `{}` for resource type `{type_name}`", k.name),
                    );
                    d = match did_you_mean(&k.name, schema.fields.iter().map(|f| f.name)) {
                        Some(s) => {
                            meant.extend(schema.field(&s).map(|f| f.name));
                            d.hint(format!("did you mean `{s}`?"))
                        }
                        None => d.hint(format!(
                            "fields of {type_name}: {}",
                            schema
                                .fields
                                .iter()
                                .map(|f| f.name)
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    };
                    if only_first {
                        self.err(d);
                    }
                }
                continue;
            };
            let value = ctx.value(v);
            let value = conform(
                &field.kind,
                value,
                v,
                &format!("`{}`", k.name),
                &mut ctx.errors,
            );
            field_pos.insert(k.name.clone(), v.pos.clone());
            nested_pos(&k.name, v, &mut field_pos);
            if let Some(p) = v.as_str().and_then(single_param) {
                if let Some(at) = self.param_pos.get(&p) {
                    self.origins
                        .insert((addr.clone(), k.name.clone()), at.clone());
                }
            }
            props.insert(k.name.clone(), value);
        }
        let errors = std::mem::take(&mut ctx.errors);
        for f in schema.fields {
            if props.contains_key(f.name) {
                continue;
            }
            if let Some(d) = &f.default {
                props.insert(f.name.to_string(), d.value());
            } else if f.required && !meant.contains(&f.name) {
                ctx.errors.push(
                    Diagnostic::new(
                        decl.name.pos.clone(),
                        format!(
                            "missing required field `{}` in resource `{name}` ({type_name})",
                            f.name
                        ),
                    )
                    .hint(format!("add `{}:` under `properties:` — {}", f.name, f.doc)),
                );
            }
        }
        let missing = std::mem::take(&mut ctx.errors);
        for d in errors.into_iter().chain(missing) {
            // One report per problem, not one per for_each instance.
            if !self.diags.items.contains(&d) {
                self.err(d);
            }
        }
        if let Some(dep_node) = decl.body.get("depends_on") {
            let names: Vec<&Node> = match &dep_node.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                NodeKind::Str(_) => vec![dep_node],
                _ => Vec::new(),
            };
            for n in names {
                let Some(target) = n.as_str() else {
                    self.err(Diagnostic::new(
                        n.pos.clone(),
                        "`depends_on` entries must be resource names",
                    ));
                    continue;
                };
                match decls.iter().find(|d| d.name.name == target) {
                    Some(d) if d.broken => {}
                    Some(d) => match &d.keys {
                        Some(keys) => {
                            deps.extend(keys.iter().map(|(k, _)| Addr::new(target, Some(k))))
                        }
                        None => deps.push(Addr::new(target, None)),
                    },
                    None => {
                        let mut d = Diagnostic::new(
                            n.pos.clone(),
                            format!("`depends_on` names unknown resource `{target}`"),
                        );
                        if let Some(s) =
                            did_you_mean(target, decls.iter().map(|d| d.name.name.as_str()))
                        {
                            d = d.hint(format!("did you mean `{s}`?"));
                        }
                        if !self.diags.items.contains(&d) {
                            self.err(d);
                        }
                    }
                }
            }
        }
        let protect = match decl.body.get("protect").map(|n| &n.kind) {
            None => false,
            Some(NodeKind::Bool(b)) => *b,
            Some(_) => {
                let pos = decl
                    .body
                    .get("protect")
                    .map(|n| n.pos.clone())
                    .unwrap_or(decl.name.pos.clone());
                self.err(Diagnostic::new(pos, "`protect` must be true or false"));
                false
            }
        };
        deps.sort();
        deps.dedup();
        deps.retain(|d| d != &addr);
        Some(Resource {
            addr,
            type_name,
            props,
            deps,
            protect,
            pos: decl.name.pos.clone(),
            field_pos,
        })
    }
}

/// Evaluation of property values for one instance.
struct Ctx<'a> {
    params: &'a BTreeMap<String, Value>,
    poisoned: &'a BTreeSet<String>,
    each: Option<&'a Each>,
    decls: &'a [Decl<'a>],
    deps: &'a mut Vec<Addr>,
    errors: Vec<Diagnostic>,
    types: &'a dyn TypeInfo,
}

impl Ctx<'_> {
    fn value(&mut self, node: &Node) -> Value {
        match &node.kind {
            NodeKind::Str(s) => self.string(node, s),
            NodeKind::Seq(items) => Value::List(items.iter().map(|i| self.value(i)).collect()),
            NodeKind::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.name.clone(), self.value(v)))
                    .collect(),
            ),
            _ => plain(node),
        }
    }

    fn string(&mut self, node: &Node, s: &str) -> Value {
        let pieces = match expr::split(s) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push(Diagnostic::new(node.pos.clone(), e));
                return Value::Null;
            }
        };
        let mut parts: Vec<Value> = Vec::new();
        for p in pieces {
            parts.push(match p {
                Piece::Lit(l) => Value::Str(l),
                Piece::Expr(e) => self.expr(node, &e),
            });
        }
        if parts.len() == 1 {
            return parts.pop().unwrap_or(Value::Null);
        }
        let mut tpl = Vec::new();
        for p in parts {
            match p {
                Value::Str(s) => tpl.push(TemplatePart::Lit(s)),
                Value::Int(i) => tpl.push(TemplatePart::Lit(i.to_string())),
                Value::Bool(b) => tpl.push(TemplatePart::Lit(b.to_string())),
                Value::Ref(r) => tpl.push(TemplatePart::Ref(r)),
                Value::Null => return Value::Null,
                other => {
                    self.errors.push(Diagnostic::new(
                        node.pos.clone(),
                        format!("cannot put {} inside a string", describe(&other)),
                    ));
                    return Value::Null;
                }
            }
        }
        if tpl.iter().all(|p| matches!(p, TemplatePart::Lit(_))) {
            let s: String = tpl
                .iter()
                .map(|p| {
                    if let TemplatePart::Lit(l) = p {
                        l.as_str()
                    } else {
                        ""
                    }
                })
                .collect();
            Value::Str(s)
        } else {
            Value::Template(Template { parts: tpl })
        }
    }

    fn expr(&mut self, node: &Node, e: &Expr) -> Value {
        match e {
            Expr::Param(p) => match self.params.get(p) {
                Some(v) => v.clone(),
                None if self.poisoned.contains(p) => Value::Null,
                None => {
                    self.errors.push(unknown_param(node, p, self.params));
                    Value::Null
                }
            },
            Expr::Each(path) => match self.each_path(path) {
                Ok(v) => v,
                Err(msg) => {
                    self.errors.push(Diagnostic::new(node.pos.clone(), msg));
                    Value::Null
                }
            },
            Expr::Resource { name, index, attr } => {
                self.reference(node, name, index.as_ref(), attr)
            }
        }
    }

    fn each_path(&self, path: &[String]) -> Result<Value, String> {
        let Some(each) = self.each else {
            return Err("`each` is only available in a resource with `for_each`".into());
        };
        let mut v = match path.first().map(String::as_str) {
            Some("key") => Value::Str(each.key.clone()),
            Some("index") => Value::Int(each.index as i64),
            Some("value") => each.value.clone(),
            _ => return Err("expected each.key, each.value or each.index".into()),
        };
        for seg in path.iter().skip(1) {
            v = v
                .as_map()
                .and_then(|m| m.get(seg))
                .cloned()
                .ok_or_else(|| {
                    format!(
                        "each.value has no field `{seg}` for instance `{}`",
                        each.key
                    )
                })?;
        }
        Ok(v)
    }

    fn reference(&mut self, node: &Node, name: &str, index: Option<&Index>, attr: &str) -> Value {
        let Some(decl) = self.decls.iter().find(|d| d.name.name == name) else {
            let mut d = Diagnostic::new(
                node.pos.clone(),
                format!("reference to unknown resource `{name}`"),
            );
            d = d.suggest(
                name,
                self.decls.iter().map(|d| d.name.name.as_str()),
                "references name a resource declared under `resources:`",
            );
            self.errors.push(d);
            return Value::Null;
        };
        if let Some(schema) = decl.type_name.as_deref().and_then(|t| self.decls_schema(t)) {
            if !schema.attributes.contains(&attr) {
                let mut d = Diagnostic::new(
                    node.pos.clone(),
                    format!("`{name}` ({}) has no attribute `{attr}`", schema.type_name),
                );
                d = match did_you_mean(attr, schema.attributes.iter().copied()) {
                    Some(s) => d.hint(format!(
                        "did you mean `{s}`? attributes: {}",
                        schema.attributes.join(", ")
                    )),
                    None => d.hint(format!("attributes: {}", schema.attributes.join(", "))),
                };
                self.errors.push(d);
                return Value::Null;
            }
        }
        if decl.broken {
            return Value::Null;
        }
        let keys: Option<Vec<&str>> = decl
            .keys
            .as_ref()
            .map(|k| k.iter().map(|(k, _)| k.as_str()).collect());
        let (targets, splat) = match (index, keys) {
            (None, None) => (vec![Addr::new(name, None)], false),
            (None, Some(_)) => {
                self.errors.push(Diagnostic::new(node.pos.clone(), format!("`{name}` has `for_each`: say which instance, e.g. `${{{name}[each.key].{attr}}}` or `${{{name}[*].{attr}}}`")));
                return Value::Null;
            }
            (Some(_), None) => {
                self.errors.push(Diagnostic::new(
                    node.pos.clone(),
                    format!(
                        "`{name}` has no `for_each`: write `${{{name}.{attr}}}` without an index"
                    ),
                ));
                return Value::Null;
            }
            (Some(Index::All), Some(keys)) => (
                keys.iter().map(|k| Addr::new(name, Some(k))).collect(),
                true,
            ),
            (Some(ix), Some(keys)) => {
                let key = match ix {
                    Index::Key(k) => k.clone(),
                    Index::All => "*".to_string(),
                    Index::Each(path) => match self.each_path(path) {
                        Ok(Value::Str(s)) => s,
                        Ok(Value::Int(i)) => i.to_string(),
                        Ok(other) => {
                            self.errors.push(Diagnostic::new(
                                node.pos.clone(),
                                format!(
                                    "an instance key must be a string, found {}",
                                    describe(&other)
                                ),
                            ));
                            return Value::Null;
                        }
                        Err(msg) => {
                            self.errors.push(Diagnostic::new(node.pos.clone(), msg));
                            return Value::Null;
                        }
                    },
                };
                if !keys.contains(&key.as_str()) {
                    self.errors.push(
                        Diagnostic::new(node.pos.clone(), format!("reference to `{name}[{key}]`, but `{name}` has no instance `{key}`"))
                            .hint(format!("instances of `{name}`: {}", keys.join(", "))),
                    );
                    return Value::Null;
                }
                (vec![Addr::new(name, Some(&key))], false)
            }
        };
        self.deps.extend(targets.iter().cloned());
        Value::Ref(RefExpr {
            targets,
            attr: attr.to_string(),
            splat,
        })
    }

    fn decls_schema(&self, type_name: &str) -> Option<&'static crate::model::Schema> {
        self.types.schema(type_name)
    }
}

fn unknown_param(node: &Node, name: &str, params: &BTreeMap<String, Value>) -> Diagnostic {
    let d = Diagnostic::new(node.pos.clone(), format!("unknown parameter `{name}`"));
    match did_you_mean(name, params.keys().map(String::as_str)) {
        Some(s) => d.hint(format!("did you mean `param.{s}`?")),
        None => d.hint("declare it under `parameters:` in the stack file"),
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Str(_) => "a string",
        Value::List(_) => "a list",
        Value::Map(_) => "a mapping",
        _ => "a reference",
    }
}

/// A node without expressions, as a value.
fn plain(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Int(i) => Value::Int(*i),
        NodeKind::Float(f) => Value::Str(f.to_string()),
        NodeKind::Str(s) => Value::Str(s.clone()),
        NodeKind::Seq(items) => Value::List(items.iter().map(plain).collect()),
        NodeKind::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.name.clone(), plain(v))).collect()),
    }
}

/// What a value of parameter type `ty` must be, and an example, when `v` is not one.
fn param_type_error(ty: &str, v: &Value) -> Option<(&'static str, &'static str)> {
    let ok = match ty {
        "string" => matches!(v, Value::Str(_)),
        "int" => matches!(v, Value::Int(_)),
        "bool" => matches!(v, Value::Bool(_)),
        "cidr" => v
            .as_str()
            .is_some_and(|s| s.parse::<ipnet::Ipv4Net>().is_ok()),
        "list" => matches!(v, Value::List(_)),
        "map" => matches!(v, Value::Map(_)),
        _ => true,
    };
    if ok {
        return None;
    }
    Some(match ty {
        "string" => ("a string", "\"text\""),
        "int" => ("an integer", "8080"),
        "bool" => ("true or false", "true"),
        "cidr" => ("an IPv4 CIDR block such as 10.0.0.0/16", "10.0.0.0/16"),
        "list" => ("a list", "[eu-west-2a, eu-west-2b]"),
        _ => ("a mapping", "{ eu-west-2a: 10.0.0.0/24 }"),
    })
}

/// Check a value against its field kind, fill defaults of nested objects, and report
/// mismatches at the node they were written at.
fn conform(
    kind: &Kind,
    value: Value,
    node: &Node,
    what: &str,
    errors: &mut Vec<Diagnostic>,
) -> Value {
    if matches!(value, Value::Null) {
        return value;
    }
    let deferred = matches!(value, Value::Ref(_) | Value::Template(_));
    let mismatch = |errors: &mut Vec<Diagnostic>, found: &str| {
        errors.push(Diagnostic::new(
            node.pos.clone(),
            format!("{what}: expected {}, found {found}", kind.describe()),
        ));
    };
    match kind {
        Kind::Str => {
            if !(deferred || matches!(value, Value::Str(_))) {
                mismatch(errors, describe(&value));
            }
            value
        }
        Kind::Int => {
            if !(deferred || matches!(value, Value::Int(_))) {
                mismatch(errors, describe(&value));
            }
            value
        }
        Kind::Bool => {
            if !(deferred || matches!(value, Value::Bool(_))) {
                mismatch(errors, describe(&value));
            }
            value
        }
        Kind::OneOf(options) => {
            if let Value::Str(s) = &value {
                if !options.contains(&s.as_str()) {
                    let mut d = Diagnostic::new(
                        node.pos.clone(),
                        format!("{what}: `{s}` is not {}", kind.describe()),
                    );
                    if let Some(m) = did_you_mean(s, options.iter().copied()) {
                        d = d.hint(format!("did you mean `{m}`?"));
                    }
                    errors.push(d);
                }
            } else if !deferred {
                mismatch(errors, describe(&value));
            }
            value
        }
        Kind::Cidr => {
            match &value {
                Value::Str(s) => match s.parse::<ipnet::Ipv4Net>() {
                    Ok(net) if net.trunc() == net => {}
                    Ok(net) => errors.push(
                        Diagnostic::new(
                            node.pos.clone(),
                            format!("{what}: invalid CIDR block `{s}`: host bits are set"),
                        )
                        .hint(format!("did you mean `{}`?", net.trunc())),
                    ),
                    Err(_) => errors.push(
                        Diagnostic::new(
                            node.pos.clone(),
                            format!("{what}: invalid CIDR block `{s}`"),
                        )
                        .hint("write an IPv4 network as ADDRESS/PREFIX, for example 10.0.1.0/24"),
                    ),
                },
                _ if deferred => {}
                other => mismatch(errors, describe(other)),
            }
            value
        }
        Kind::List(inner) => match value {
            Value::List(items) => {
                let nodes: Vec<&Node> = match &node.kind {
                    NodeKind::Seq(n) if n.len() == items.len() => n.iter().collect(),
                    _ => vec![node; items.len()],
                };
                Value::List(
                    items
                        .into_iter()
                        .zip(nodes)
                        .map(|(v, n)| conform(inner, v, n, what, errors))
                        .collect(),
                )
            }
            Value::Ref(r) if r.splat => Value::Ref(r),
            other => {
                mismatch(errors, describe(&other));
                other
            }
        },
        Kind::Object(fields) => match value {
            Value::Map(mut m) => {
                let node_of = |k: &str| node.get(k).unwrap_or(node);
                for k in m.keys() {
                    if !fields.iter().any(|f| f.name == k) {
                        let pos = node
                            .as_map()
                            .and_then(|e| e.iter().find(|(kk, _)| &kk.name == k))
                            .map(|(kk, _)| kk.pos.clone())
                            .unwrap_or(node.pos.clone());
                        let mut d = Diagnostic::new(pos, format!("unknown field `{k}` in {what}"));
                        d = d.suggest(
                            k,
                            fields.iter().map(|f| f.name),
                            format!(
                                "expected fields: {}",
                                fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                            ),
                        );
                        errors.push(d);
                    }
                }
                let mut out = BTreeMap::new();
                for f in fields.iter() {
                    match m.remove(f.name) {
                        Some(v) => {
                            out.insert(
                                f.name.to_string(),
                                conform(
                                    &f.kind,
                                    v,
                                    node_of(f.name),
                                    &format!("{what} field `{}`", f.name),
                                    errors,
                                ),
                            );
                        }
                        None => {
                            if let Some(d) = &f.default {
                                out.insert(f.name.to_string(), d.value());
                            } else if f.required {
                                errors.push(
                                    Diagnostic::new(
                                        node.pos.clone(),
                                        format!("{what}: missing required field `{}`", f.name),
                                    )
                                    .hint(f.doc),
                                );
                            }
                        }
                    }
                }
                Value::Map(out)
            }
            other => {
                if !deferred {
                    mismatch(errors, describe(&other));
                }
                other
            }
        },
    }
}

/// `NAME` when `s` is exactly `${param.NAME}`.
fn single_param(s: &str) -> Option<String> {
    match expr::split(s).ok()?.as_slice() {
        [Piece::Expr(Expr::Param(p))] => Some(p.clone()),
        _ => None,
    }
}

/// Where each item and field inside a written property is: `ingress[0]`,
/// `ingress[0].from_port`. Values that come from a parameter have no entries.
fn nested_pos(path: &str, node: &Node, out: &mut BTreeMap<String, Pos>) {
    match &node.kind {
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.insert(p.clone(), item.pos.clone());
                nested_pos(&p, item, out);
            }
        }
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                let p = format!("{path}.{}", k.name);
                out.insert(p.clone(), v.pos.clone());
                nested_pos(&p, v, out);
            }
        }
        _ => {}
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The text of `path`, or its size when that is over the limit (0 when only reading
/// found it out): never more than the limit is read, even from a file that grows or is
/// not a regular file.
fn read_limited(path: &Path) -> std::io::Result<Result<String, u64>> {
    use std::io::Read;
    let limit = yaml::limits::FILE_BYTES;
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Ok(Err(size));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(Err(0));
    }
    String::from_utf8(bytes).map(Ok).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

fn list_envs(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root.join("environments"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".yaml"))
                        .filter(|n| check_env_name(n).is_ok())
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
