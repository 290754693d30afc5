//! The settings around the resources: the stack's name, the tags of stack and
//! environment, the environment's region, account and `environment:` name; and the
//! warning when this environment's VPC ranges overlap another environment's.

use super::diagnostic::{Diagnostic, Pos};
use super::files::{list_envs, Files};
use super::load::{is_name, LoadOptions, Loader};
use super::names::check_env_name;
use super::yaml::{Node, NodeKind};
use super::Stack;
use crate::model::Addr;
use std::collections::BTreeMap;

/// The stack's and environment's settings other than parameters and resources.
pub(super) struct Header {
    pub(super) name: String,
    pub(super) env: String,
    pub(super) region: Option<String>,
    pub(super) account_id: Option<String>,
    pub(super) state_bucket: Option<String>,
    pub(super) tags: BTreeMap<String, String>,
}

/// A VPC of one environment, for comparing environments' address ranges.
#[derive(Clone, Debug)]
pub struct EnvVpc {
    pub addr: Addr,
    pub net: ipnet::Ipv4Net,
    /// Where the range was written (the environment's parameter, when it comes from one).
    pub pos: Pos,
}

/// True when the two ranges share an address.
pub fn overlaps(a: &ipnet::Ipv4Net, b: &ipnet::Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The VPCs of the environment `opts` names, loaded on its own (the other environments
/// are not looked at), with the problems of loading it.
pub fn env_vpcs(
    opts: &LoadOptions,
    types: &dyn super::TypeInfo,
) -> (Vec<EnvVpc>, super::Diagnostics) {
    let mut l = Loader::new(types);
    let vpcs = l.run(opts).map(|s| l.vpcs(&s)).unwrap_or_default();
    (vpcs, l.diags)
}

impl Loader<'_> {
    pub(super) fn header(&mut self, files: &Files, env: Option<&str>) -> Header {
        let name = self.stack_name(&files.stack);
        let mut header = Header {
            name,
            env: env.unwrap_or("default").to_string(),
            region: None,
            account_id: None,
            state_bucket: None,
            tags: self.tags(files.stack.get("tags")),
        };
        if let Some(e) = &files.env {
            let tags = self.tags(e.get("tags"));
            header.tags.extend(tags);
            header.region = self.region(e);
            header.account_id = self.account_id(e);
            header.state_bucket = self.state_bucket(e);
            self.environment_name(e, &header.env);
        }
        header
    }

    fn stack_name(&mut self, stack: &Node) -> String {
        let Some(n) = stack.get("stack") else {
            self.err(
                Diagnostic::new(
                    stack.pos.clone(),
                    "missing required field `stack` (the stack's name)",
                )
                .hint("add `stack: bandup` at the top"),
            );
            return "stack".into();
        };
        match n.as_str() {
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
        }
    }

    fn region(&mut self, env: &Node) -> Option<String> {
        let r = env.get("region")?;
        match r.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.err(
                    Diagnostic::new(
                        r.pos.clone(),
                        format!("`region` must be a string, found {}", r.type_name()),
                    )
                    .hint("for example: region: eu-west-2"),
                );
                None
            }
        }
    }

    fn account_id(&mut self, env: &Node) -> Option<String> {
        let a = env.get("account_id")?;
        match &a.kind {
            NodeKind::Str(s) if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) => {
                Some(s.clone())
            }
            _ => {
                self.err(
                    Diagnostic::new(
                        a.pos.clone(),
                        "`account_id` must be a 12-digit AWS account id in quotes",
                    )
                    .hint("for example: account_id: \"123456789012\""),
                );
                None
            }
        }
    }

    /// `state_bucket:`, when written: an S3 bucket name (3-63 lowercase letters, digits,
    /// '-' and '.', starting and ending with a letter or digit).
    fn state_bucket(&mut self, env: &Node) -> Option<String> {
        let b = env.get("state_bucket")?;
        let ok = |s: &str| {
            (3..=63).contains(&s.len())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.ends_with(|c: char| c.is_ascii_alphanumeric())
                && !s.contains("..")
        };
        match b.as_str() {
            Some(s) if ok(s) => Some(s.to_string()),
            _ => {
                self.err(
                    Diagnostic::new(
                        b.pos.clone(),
                        "`state_bucket` must be an S3 bucket name: 3-63 lowercase letters, \
                         digits, '-' and '.', starting and ending with a letter or digit",
                    )
                    .hint("for example: state_bucket: bandup-dev-state-123456789012"),
                );
                None
            }
        }
    }

    /// `environment:`, when written, must be a valid name and the file's own.
    fn environment_name(&mut self, env: &Node, env_name: &str) {
        let Some(n) = env.get("environment") else {
            return;
        };
        if let Some(Err(problem)) = n.as_str().map(check_env_name) {
            self.err(
                Diagnostic::new(n.pos.clone(), format!("invalid `environment`: {problem}"))
                    .hint(format!("write `environment: {env_name}`")),
            );
        } else if n.as_str() != Some(env_name) {
            self.err(
                Diagnostic::new(
                    n.pos.clone(),
                    format!(
                        "this file is environments/{env_name}.yaml but says `environment: {}`",
                        n.as_str().unwrap_or("?")
                    ),
                )
                .hint(format!("write `environment: {env_name}`")),
            );
        }
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
            let value = match &v.kind {
                NodeKind::Str(s) => s.clone(),
                NodeKind::Int(i) => i.to_string(),
                NodeKind::Bool(b) => b.to_string(),
                _ => {
                    self.err(Diagnostic::new(
                        v.pos.clone(),
                        format!("tag values must be strings, found {}", v.type_name()),
                    ));
                    continue;
                }
            };
            out.insert(k.name.clone(), value);
        }
        out
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
    pub(super) fn overlapping_environments(
        &mut self,
        opts: &LoadOptions,
        env: &str,
        stack: &Stack,
    ) {
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
            let related_sources = self.warn_overlaps(&ours, &theirs, &other);
            // The other environment's text, so the related place shows its line.
            for (file, text) in sibling.diags.sources {
                let known = self.diags.sources.iter().any(|(f, _)| *f == file);
                if !known && related_sources.contains(&file) {
                    self.diags.sources.push((file, text));
                }
            }
        }
    }

    /// One warning per pair of overlapping VPCs; the files of `theirs` that were named.
    fn warn_overlaps(&mut self, ours: &[EnvVpc], theirs: &[EnvVpc], other: &str) -> Vec<String> {
        let mut related_sources = Vec::new();
        for vpc in ours {
            for o in theirs.iter().filter(|o| overlaps(&o.net, &vpc.net)) {
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
        related_sources
    }
}
