//! A new environment's file, before anything exists in AWS: the text derived from another
//! environment's file (comments kept; region, zones, addresses, names and the account
//! changed), the file written when there is none to copy, the VPC ranges the project's
//! environments already use, the CIDR arithmetic that picks a free one, and the name of
//! the state bucket. No AWS call is made here.

use super::diagnostic::Pos;
use super::edit::replace_scalars;
use super::environment::env_vpcs;
pub use super::environment::overlaps;
use super::files::list_envs;
use super::yaml::{self, Node, NodeKind};
use super::{LoadOptions, TypeInfo};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;
use std::path::Path;

/// Where new ranges are taken from when none is given.
pub const POOL: &str = "10.0.0.0/8";

/// The VPC ranges AWS accepts: /16 to /28.
pub const VPC_PREFIX: std::ops::RangeInclusive<u8> = 16..=28;

/// One VPC range an environment of the project uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvRange {
    pub env: String,
    /// The VPC's address in the stack (`vpc`).
    pub addr: String,
    pub net: Ipv4Net,
    /// Where the range is written: in the environment file when it is written there
    /// (a parameter), else in the stack.
    pub pos: Pos,
}

/// The VPC ranges of the project's environments other than `skip`, each environment
/// loaded on its own (with the stack it names). Environments that do not load well
/// enough to tell their ranges are listed in the second part (with their first problem),
/// not guessed at.
pub fn env_ranges(
    root: &Path,
    types: &dyn TypeInfo,
    skip: &str,
) -> (Vec<EnvRange>, Vec<(String, String)>) {
    let mut ranges = Vec::new();
    let mut unknown = Vec::new();
    for env in list_envs(root).into_iter().filter(|e| e != skip) {
        let opts = LoadOptions {
            root: root.to_path_buf(),
            env: Some(env.clone()),
            stack: None,
        };
        let (found, diags) = env_vpcs(&opts, types);
        if found.is_empty() {
            if let Some(d) = diags.items.iter().find(|d| d.is_error()) {
                unknown.push((env.clone(), format!("{}: {}", d.pos, d.message)));
            }
        }
        ranges.extend(found.into_iter().map(|v| EnvRange {
            env: env.clone(),
            addr: v.addr.to_string(),
            net: v.net,
            pos: v.pos,
        }));
    }
    (ranges, unknown)
}

/// The ranges of a loaded stack's `aws_vpc` resources.
pub fn vpc_nets(stack: &super::Stack) -> Vec<Ipv4Net> {
    let mut nets: Vec<Ipv4Net> = Vec::new();
    for r in stack.resources.iter().filter(|r| r.type_name == "aws_vpc") {
        let net = r
            .props
            .get("cidr_block")
            .and_then(|c| c.as_str()?.parse().ok());
        if let Some(net) = net.filter(|n| !nets.contains(n)) {
            nets.push(net);
        }
    }
    nets
}

/// `s` as a VPC range: an IPv4 network in CIDR notation with no host bits set and a
/// prefix AWS accepts for a VPC.
pub fn parse_vpc_cidr(s: &str) -> Result<Ipv4Net, String> {
    let net: Ipv4Net = s.trim().parse().map_err(|_| {
        format!("`{s}` is not an IPv4 range in CIDR notation, such as 10.30.0.0/16")
    })?;
    if net.trunc() != net {
        return Err(format!(
            "`{s}` has host bits set: the range it is in is written {}",
            net.trunc()
        ));
    }
    if !VPC_PREFIX.contains(&net.prefix_len()) {
        return Err(format!(
            "`{s}` is a /{}: a VPC's range is a /16 to a /28",
            net.prefix_len()
        ));
    }
    Ok(net)
}

/// The project's environments, by name.
pub fn environments(root: &Path) -> Vec<String> {
    list_envs(root)
}

/// What each VPC range of the environment copied (written in `file`) becomes: `given`
/// (there must be one range, of its size), or the first free range of the same size in
/// 10.0.0.0/8; never one overlapping `others` or each other.
pub fn moves(
    file: &str,
    ranges: &[Ipv4Net],
    given: Option<Ipv4Net>,
    others: &[EnvRange],
) -> Result<Vec<(Ipv4Net, Ipv4Net)>, String> {
    if let Some(want) = given {
        let [from] = ranges else {
            return Err(format!(
                "--vpc-cidr {want}: {file} has {} VPC ranges and --vpc-cidr gives one; leave it \
                 out to have each moved to a free range",
                ranges.len()
            ));
        };
        if want.prefix_len() != from.prefix_len() {
            let free = suggestion(from.prefix_len(), others, &[])
                .map_or("a free range".to_string(), |n| n.to_string());
            return Err(format!(
                "--vpc-cidr {want}: {file}'s VPC range {from} is a /{p}, and the addresses \
                 copied keep their offsets in it: give a /{p}, such as {free}",
                p = from.prefix_len()
            ));
        }
        check_free(&want, others, from.prefix_len())?;
        return Ok(vec![(*from, want)]);
    }
    let mut taken = Vec::new();
    let mut out = Vec::new();
    for from in ranges {
        let Some(to) = suggestion(from.prefix_len(), others, &taken) else {
            return Err(format!(
                "no /{} of {POOL} overlaps no other environment's VPC range: give one with \
                 --vpc-cidr",
                from.prefix_len()
            ));
        };
        taken.push(to);
        out.push((*from, to));
    }
    Ok(out)
}

/// Refuse `want` when it overlaps another environment's VPC range, naming where that
/// range is written and a free range of `prefix_len`.
pub fn check_free(want: &Ipv4Net, others: &[EnvRange], prefix_len: u8) -> Result<(), String> {
    let Some(o) = others.iter().find(|o| overlaps(want, &o.net)) else {
        return Ok(());
    };
    let free = suggestion(prefix_len, others, &[])
        .map_or(String::new(), |n| format!(" A free range: --vpc-cidr {n}"));
    Err(format!(
        "--vpc-cidr {want} overlaps {} of VPC `{}` of environment `{}` ({}): environments \
         whose ranges overlap can never be peered or joined over one VPN. Nothing was done.\
         {free}",
        o.net, o.addr, o.env, o.pos
    ))
}

/// The first range of `prefix_len` in 10.0.0.0/8 clear of `others`' and `taken`.
pub fn suggestion(prefix_len: u8, others: &[EnvRange], taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    let pool: Ipv4Net = POOL.parse().ok()?;
    let mut all: Vec<Ipv4Net> = others.iter().map(|o| o.net).collect();
    all.extend_from_slice(taken);
    free_range(&pool, prefix_len, &all)
}

/// The first range of prefix length `prefix_len` in `pool` that overlaps none of `taken`.
pub fn free_range(pool: &Ipv4Net, prefix_len: u8, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    if prefix_len < pool.prefix_len() || prefix_len > 32 {
        return None;
    }
    let mut candidates = pool.subnets(prefix_len).ok()?;
    candidates.find(|c| !taken.iter().any(|t| overlaps(c, t)))
}

/// `from`'s address `addr` moved to the same offset in `to` (which is as large).
fn moved(addr: Ipv4Addr, from: &Ipv4Net, to: &Ipv4Net) -> Ipv4Addr {
    let offset = u32::from(addr).wrapping_sub(u32::from(from.network()));
    Ipv4Addr::from(u32::from(to.network()).wrapping_add(offset))
}

/// `text` with every IPv4 address and CIDR range inside one of the `moves`' first ranges
/// rewritten to the same offset (and prefix length) in its second range. Ranges that only
/// partly fall inside (a larger range holding the VPC) are left alone.
pub fn remap_addresses(text: &str, moves: &[(Ipv4Net, Ipv4Net)]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
        if let Some((len, addr, prefix)) = starts.then(|| address_at(&text[i..])).flatten() {
            let whole = prefix.unwrap_or(32);
            let hit = moves
                .iter()
                .find(|(from, _)| from.contains(&addr) && whole >= from.prefix_len());
            if let Some((from, to)) = hit {
                out.push_str(&text[copied..i]);
                out.push_str(&moved(addr, from, to).to_string());
                if let Some(p) = prefix {
                    out.push_str(&format!("/{p}"));
                }
                copied = i + len;
            }
            i += len;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The IPv4 address (with its `/prefix`, if any) `s` starts with, and its length in bytes.
fn address_at(s: &str) -> Option<(usize, Ipv4Addr, Option<u8>)> {
    let b = s.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut at = 0;
    let mut octets = [0u8; 4];
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let d = digits(at);
        if d == 0 || d > 3 {
            return None;
        }
        *octet = s[at..at + d].parse().ok()?;
        at += d;
    }
    // `1.2.3.4.5` or `1.2.3.4x` is not an address.
    let next = b.get(at).copied();
    if next == Some(b'.') && b.get(at + 1).is_some_and(u8::is_ascii_digit)
        || next.is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let mut prefix = None;
    if next == Some(b'/') {
        let d = digits(at + 1);
        if (1..=2).contains(&d) && !b.get(at + 1 + d).is_some_and(u8::is_ascii_alphanumeric) {
            let p: u8 = s[at + 1..at + 1 + d].parse().ok()?;
            if p <= 32 {
                prefix = Some(p);
                at += 1 + d;
            }
        }
    }
    Some((at, Ipv4Addr::from(octets), prefix))
}

/// `text` with the region `from` written as `to` everywhere it stands as a region: in
/// zone names (`eu-west-2a`), ARNs and host names, but not inside a longer name.
pub fn replace_region(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(i) = rest.find(from) {
        let prev = rest[..i].chars().next_back().or(before);
        let next = rest[i + from.len()..].chars().next();
        let standalone = !prev.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            && !next.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..i]);
        out.push_str(if standalone { to } else { from });
        before = from.chars().next_back();
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

/// True when `line` holds `word` standing alone (not inside a longer name: `dev` in
/// `dev.bandup.example` or `-dev`, not in `develop`).
fn mentions(line: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(word).any(|(i, _)| {
        !line[..i].chars().next_back().is_some_and(is_name)
            && !line[i + word.len()..].chars().next().is_some_and(is_name)
    })
}

/// The lines (number, text) of `text` that still mention environment `env`: a domain
/// name, a branch, a comment, for the user to review.
pub fn review_lines(text: &str, env: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| mentions(l, env))
        .map(|(i, l)| (i + 1, l.trim().to_string()))
        .collect()
}

/// What a derivation changes in the source environment's text.
#[derive(Debug, Clone)]
pub struct Derivation<'a> {
    /// The environment copied, whose name is replaced in tag values.
    pub source_env: &'a str,
    /// Its region, replaced wherever it is written (zones, ARNs).
    pub source_region: Option<&'a str>,
    pub env: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
    pub state_bucket: &'a str,
    /// Each source VPC range and the range it becomes.
    pub vpcs: &'a [(Ipv4Net, Ipv4Net)],
}

/// The new environment's file from the text of `file` (the source environment's), with
/// its comments and layout: the region and its zones, every address inside the source
/// VPC ranges, `environment:`, `account_id:`, `state_bucket:` and the tag values naming
/// the source environment changed.
pub fn derive(file: &str, text: &str, d: &Derivation<'_>) -> Result<String, String> {
    let mut out = match d.source_region {
        Some(from) if from != d.region => replace_region(text, from, d.region),
        _ => text.to_string(),
    };
    out = remap_addresses(&out, d.vpcs);
    out = set_setting(file, &out, "environment", d.env, &[])?;
    out = set_setting(file, &out, "region", d.region, &["stack", "environment"])?;
    out = set_setting(
        file,
        &out,
        "account_id",
        &format!("\"{}\"", d.account_id),
        &["region", "stack", "environment"],
    )?;
    out = set_setting(
        file,
        &out,
        "state_bucket",
        &plain_or_quoted(d.state_bucket),
        &["account_id", "region", "stack", "environment"],
    )?;
    replace_tag_values(file, &out, d.source_env, d.env)
}

/// The file of an environment that copies none: its settings and no parameters.
pub fn fresh(env: &str, stack: &str, region: &str, account_id: &str, state_bucket: &str) -> String {
    format!(
        "# The {env} environment. Set the stack's parameters under `parameters:` (see\n\
         # docs/stack-format.md), then: bandup-infra validate --env {env}\n\
         environment: {env}\n\
         stack: {}\n\
         region: {region}\n\
         # Plan, apply and destroy refuse credentials for any other account.\n\
         account_id: \"{account_id}\"\n\
         # Where the environment lock and the audit log live (bandup-infra bootstrap creates it).\n\
         state_bucket: {}\n\
         \n\
         parameters: {{}}\n",
        plain_or_quoted(stack),
        plain_or_quoted(state_bucket),
    )
}

/// `s` as a YAML scalar: plain when it reads back as the same string, else quoted.
fn plain_or_quoted(s: &str) -> String {
    let plain = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

/// The settings of an environment file that say which environment it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub state_bucket: Option<String>,
}

impl Settings {
    /// The settings in which `self` (a file's) differs from `want` (this run's): name,
    /// the file's value, the run's value.
    pub fn differences<'a>(
        &'a self,
        want: &'a Settings,
    ) -> Vec<(&'static str, Option<&'a str>, Option<&'a str>)> {
        [
            ("region", &self.region, &want.region),
            ("account_id", &self.account_id, &want.account_id),
            ("state_bucket", &self.state_bucket, &want.state_bucket),
        ]
        .into_iter()
        .filter(|(_, have, want)| have != want)
        .map(|(k, have, want)| (k, have.as_deref(), want.as_deref()))
        .collect()
    }
}

/// `region`, `account_id` and `state_bucket` as written in `text` (numbers as written).
pub fn settings(file: &str, text: &str) -> Result<Settings, String> {
    let doc = yaml::parse(file, text).map_err(|d| format!("{}: {}", d.pos, d.message))?;
    let get = |k: &str| {
        doc.get(k).and_then(|n| match &n.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(i) => Some(i.to_string()),
            _ => None,
        })
    };
    Ok(Settings {
        region: get("region"),
        account_id: get("account_id"),
        state_bucket: get("state_bucket"),
    })
}

/// `text` with the top-level setting `key` given the YAML scalar `value`: the value
/// written replaced in place; else a commented-out `# key: ...` line replaced; else a
/// line added after the first of `after` that is written (at the top when none is).
fn set_setting(
    file: &str,
    text: &str,
    key: &str,
    value: &str,
    after: &[&str],
) -> Result<String, String> {
    let doc = yaml::parse(file, text).map_err(|d| format!("{}: {}", d.pos, d.message))?;
    let entries = doc.as_map().unwrap_or_default();
    if let Some((k, v)) = entries.iter().find(|(k, _)| k.name == key) {
        if !is_scalar(v) || v.pos.line != k.pos.line {
            return Err(format!(
                "{file}:{}:{}: `{key}` is not a single value on its line",
                k.pos.line, k.pos.col
            ));
        }
        return replace_scalars(file, text, &[(v.pos.clone(), value.to_string())]);
    }
    let line = format!("{key}: {value}\n");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let commented = lines.iter().position(|l| {
        l.strip_prefix('#')
            .map(str::trim_start)
            .and_then(|l| l.strip_prefix(key))
            .is_some_and(|rest| rest.starts_with(':'))
    });
    let at = match commented {
        Some(i) => {
            let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            out[i] = line;
            return Ok(out.concat());
        }
        None => after
            .iter()
            .find_map(|a| entries.iter().find(|(k, _)| k.name == *a))
            .map(|(_, v)| last_line(v))
            // At the top, after the comments that open the file.
            .unwrap_or_else(|| lines.iter().take_while(|l| l.starts_with('#')).count()),
    };
    let mut out = String::with_capacity(text.len() + line.len());
    for (i, l) in lines.iter().enumerate() {
        if i == at {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line);
        }
        out.push_str(l);
    }
    if at >= lines.len() {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
    }
    Ok(out)
}

/// The number of lines up to and including the last line of `node`.
fn last_line(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().map(last_line).max().unwrap_or(node.pos.line),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(_, v)| last_line(v))
            .max()
            .unwrap_or(node.pos.line),
        _ => node.pos.line,
    }
}

fn is_scalar(n: &Node) -> bool {
    !matches!(n.kind, NodeKind::Seq(_) | NodeKind::Map(_))
}

/// Tag values (under `tags:`) equal to `from` written as `to`.
fn replace_tag_values(file: &str, text: &str, from: &str, to: &str) -> Result<String, String> {
    let doc = yaml::parse(file, text).map_err(|d| format!("{}: {}", d.pos, d.message))?;
    let edits: Vec<(Pos, String)> = doc
        .get("tags")
        .and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter(|(_, v)| v.as_str() == Some(from))
        .map(|(_, v)| (v.pos.clone(), plain_or_quoted(to)))
        .collect();
    replace_scalars(file, text, &edits)
}

/// The state bucket's default name, `<stack>-state-<env>-<account>`: outside the
/// `<stack>-<env>-` prefix of the stack's own resources, so no plan takes it for one.
pub fn state_bucket_name(stack: &str, env: &str, account: &str) -> String {
    format!("{stack}-state-{env}-{account}").to_lowercase()
}

/// `Ok` when `name` can be the state bucket of `<stack>`'s environment `env`: a valid
/// S3 bucket name that does not start with the stack's prefix for `env`.
pub fn check_state_bucket(name: &str, stack: &str, env: &str) -> Result<(), String> {
    let valid = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
        && name.parse::<Ipv4Addr>().is_err()
        && !name.starts_with("xn--")
        && !name.starts_with("sthree-")
        && !name.ends_with("-s3alias")
        && !name.ends_with("--ol-s3");
    if !valid {
        return Err(format!(
            "`{name}` is not an S3 bucket name: 3 to 63 lowercase letters, digits, '-' and '.', \
             starting and ending with a letter or digit"
        ));
    }
    let prefix = format!("{stack}-{env}-").to_lowercase();
    if name.starts_with(&prefix) {
        return Err(format!(
            "`{name}` starts with `{prefix}`, the prefix of the stack's own buckets: plans \
             would take the state bucket for one of them. Choose a name outside it, such as \
             {}",
            state_bucket_name(stack, env, "<account>")
        ));
    }
    Ok(())
}

/// A region name such as `eu-west-1`, `us-gov-west-1` or `cn-north-1`.
pub fn check_region(region: &str) -> Result<(), String> {
    let parts: Vec<&str> = region.split('-').collect();
    let ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{region}` is not an AWS region name, such as eu-west-1 or us-east-1"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    const DEV: &str = "\
# Development: two AZs.
environment: dev
stack: stacks/bandup.yaml
region: eu-west-2
# Where the lock lives.
state_bucket: bandup-state-dev
tags:
  environment: dev   # the name
  cost-centre: engineering

parameters:
  vpc_cidr: 10.10.0.0/16
  public_subnets:
    eu-west-2a: 10.10.0.0/24
    eu-west-2b: \"10.10.1.0/24\"
  private_subnets:
    eu-west-2a: { cidr: 10.10.10.0/24, nat: eu-west-2a }
  nat_azs: [eu-west-2a]
  app_origins: [https://dev.bandup.example, http://localhost:3000]
  peer: 10.1.0.0/16
  wide: 10.0.0.0/8
  host: 10.10.3.7
  bedrock_model_arns:
    - arn:aws:bedrock:eu-west-2::foundation-model/x
  deploy_branch: develop
";

    fn staging() -> Derivation<'static> {
        const MOVES: &[(Ipv4Net, Ipv4Net)] = &[];
        Derivation {
            source_env: "dev",
            source_region: Some("eu-west-2"),
            env: "staging",
            region: "eu-west-1",
            account_id: "123456789012",
            state_bucket: "bandup-state-staging-123456789012",
            vpcs: MOVES,
        }
    }

    #[test]
    fn a_derived_file_keeps_comments_and_changes_region_zones_names_and_addresses() {
        let moves = [(net("10.10.0.0/16"), net("10.0.0.0/16"))];
        let d = Derivation {
            vpcs: &moves,
            ..staging()
        };
        let out = derive("environments/dev.yaml", DEV, &d).unwrap_or_else(|e| panic!("{e}"));
        let want = "\
# Development: two AZs.
environment: staging
stack: stacks/bandup.yaml
region: eu-west-1
account_id: \"123456789012\"
# Where the lock lives.
state_bucket: bandup-state-staging-123456789012
tags:
  environment: staging   # the name
  cost-centre: engineering

parameters:
  vpc_cidr: 10.0.0.0/16
  public_subnets:
    eu-west-1a: 10.0.0.0/24
    eu-west-1b: \"10.0.1.0/24\"
  private_subnets:
    eu-west-1a: { cidr: 10.0.10.0/24, nat: eu-west-1a }
  nat_azs: [eu-west-1a]
  app_origins: [https://dev.bandup.example, http://localhost:3000]
  peer: 10.1.0.0/16
  wide: 10.0.0.0/8
  host: 10.0.3.7
  bedrock_model_arns:
    - arn:aws:bedrock:eu-west-1::foundation-model/x
  deploy_branch: develop
";
        assert_eq!(out, want);
        let review: Vec<usize> = review_lines(&out, "dev").iter().map(|(n, _)| *n).collect();
        assert_eq!(review, vec![20]);
    }

    #[test]
    fn a_commented_out_account_replaces_its_comment_and_a_missing_bucket_follows_it() {
        let text = "environment: prod\nregion: eu-west-2\n# Pin it:\n# account_id: \"123456789012\"\ntags:\n  environment: prod\n";
        let d = Derivation {
            source_env: "prod",
            env: "prod-us",
            region: "us-east-1",
            account_id: "210987654321",
            state_bucket: "bandup-state-prod-us-210987654321",
            ..staging()
        };
        let out = derive("environments/prod.yaml", text, &d).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "environment: prod-us\nregion: us-east-1\n# Pin it:\naccount_id: \"210987654321\"\nstate_bucket: bandup-state-prod-us-210987654321\ntags:\n  environment: prod-us\n"
        );
    }

    #[test]
    fn settings_that_are_missing_are_added_after_those_written() {
        let text = "# Header\nstack: stacks/bandup.yaml\nparameters: {}\n";
        let out = derive("x.yaml", text, &staging()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "# Header\nenvironment: staging\nstack: stacks/bandup.yaml\nregion: eu-west-1\naccount_id: \"123456789012\"\nstate_bucket: bandup-state-staging-123456789012\nparameters: {}\n"
        );
    }

    #[test]
    fn quoted_settings_and_flow_tags_are_replaced_in_place() {
        let text = "environment: 'dev'\nregion: \"eu-west-2\" # London\naccount_id: \"111111111111\"\ntags: {environment: dev, team: dev-tools}\n";
        let out = derive("x.yaml", text, &staging()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out,
            "environment: staging\nregion: eu-west-1 # London\naccount_id: \"123456789012\"\nstate_bucket: bandup-state-staging-123456789012\ntags: {environment: staging, team: dev-tools}\n"
        );
    }

    #[test]
    fn the_region_is_replaced_only_where_it_stands_as_a_region() {
        assert_eq!(
            replace_region(
                "eu-west-2a eu-west-2 arn:aws:s3:eu-west-2:1 s3.eu-west-2.amazonaws.com eu-west-20 xeu-west-2 eu-west-2eu-west-2",
                "eu-west-2",
                "us-east-1"
            ),
            "us-east-1a us-east-1 arn:aws:s3:us-east-1:1 s3.us-east-1.amazonaws.com eu-west-20 xeu-west-2 us-east-1eu-west-2"
        );
    }

    #[test]
    fn addresses_inside_the_range_move_with_their_offset_and_prefix() {
        let moves = [(net("10.20.0.0/16"), net("10.3.0.0/16"))];
        assert_eq!(
            remap_addresses(
                "10.20.14.0/23 10.20.255.255 10.2.0.0/16 10.0.0.0/8 10.20.0.0/15 v10.20.0.1 10.20.0.1.5 1.10.20.0.0 2026.11.30",
                &moves
            ),
            "10.3.14.0/23 10.3.255.255 10.2.0.0/16 10.0.0.0/8 10.20.0.0/15 v10.20.0.1 10.20.0.1.5 1.10.20.0.0 2026.11.30"
        );
        let moves = [(net("172.16.0.0/20"), net("10.9.16.0/20"))];
        assert_eq!(
            remap_addresses("a: 172.16.15.0/24\nb: 172.16.16.0/24\n", &moves),
            "a: 10.9.31.0/24\nb: 172.16.16.0/24\n"
        );
    }

    #[test]
    fn the_free_range_is_the_first_of_that_size_overlapping_nothing() {
        let pool = net(POOL);
        assert_eq!(
            free_range(&pool, 16, &[net("10.10.0.0/16"), net("10.20.0.0/16")]),
            Some(net("10.0.0.0/16"))
        );
        assert_eq!(
            free_range(&pool, 16, &[net("10.0.0.0/15"), net("10.2.128.0/17")]),
            Some(net("10.3.0.0/16"))
        );
        assert_eq!(
            free_range(&pool, 9, &[net("10.0.0.0/9"), net("10.200.0.0/16")]),
            None
        );
        assert_eq!(free_range(&pool, 7, &[]), None);
    }

    fn range(env: &str, cidr: &str, line: usize) -> EnvRange {
        EnvRange {
            env: env.into(),
            addr: "vpc".into(),
            net: net(cidr),
            pos: Pos::new(&format!("environments/{env}.yaml"), line, 13),
        }
    }

    #[test]
    fn each_range_copied_moves_to_a_free_one_or_the_one_given() {
        let others = [
            range("dev", "10.10.0.0/16", 13),
            range("prod", "10.0.0.0/16", 14),
        ];
        let from = [net("10.10.0.0/16")];
        assert_eq!(
            moves("environments/dev.yaml", &from, None, &others),
            Ok(vec![(net("10.10.0.0/16"), net("10.1.0.0/16"))])
        );
        let two = [net("10.10.0.0/16"), net("10.11.0.0/16")];
        assert_eq!(
            moves("environments/dev.yaml", &two, None, &others),
            Ok(vec![
                (net("10.10.0.0/16"), net("10.1.0.0/16")),
                (net("10.11.0.0/16"), net("10.2.0.0/16"))
            ])
        );
        assert_eq!(
            moves(
                "environments/dev.yaml",
                &from,
                Some(net("10.30.0.0/16")),
                &others
            ),
            Ok(vec![(net("10.10.0.0/16"), net("10.30.0.0/16"))])
        );
        let smaller = moves(
            "environments/dev.yaml",
            &from,
            Some(net("10.30.0.0/20")),
            &others,
        );
        assert!(smaller.is_err_and(|e| e.contains("give a /16, such as 10.1.0.0/16")));
    }

    #[test]
    fn a_range_given_that_overlaps_names_the_file_line_and_a_free_range() {
        let others = [
            range("dev", "10.10.0.0/16", 13),
            range("prod", "10.20.0.0/16", 14),
        ];
        let err = check_free(&net("10.10.128.0/17"), &others, 16)
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("overlaps 10.10.0.0/16 of VPC `vpc` of environment `dev` (environments/dev.yaml:13:13)"),
            "{err}"
        );
        assert!(
            err.ends_with("A free range: --vpc-cidr 10.0.0.0/16"),
            "{err}"
        );
        assert_eq!(check_free(&net("10.30.0.0/16"), &others, 16), Ok(()));
    }

    #[test]
    fn vpc_ranges_must_be_networks_aws_accepts() {
        assert_eq!(parse_vpc_cidr("10.30.0.0/16"), Ok(net("10.30.0.0/16")));
        assert!(parse_vpc_cidr("10.30.0.1/16").is_err_and(|e| e.contains("written 10.30.0.0/16")));
        assert!(parse_vpc_cidr("10.0.0.0/8").is_err_and(|e| e.contains("/16 to a /28")));
        assert!(parse_vpc_cidr("10.300.0.0/16").is_err());
        assert!(parse_vpc_cidr("fd00::/16").is_err());
        assert!(overlaps(&net("10.10.0.0/16"), &net("10.10.4.0/24")));
        assert!(overlaps(&net("10.10.4.0/24"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("10.10.0.0/16"), &net("10.11.0.0/16")));
    }

    #[test]
    fn the_state_bucket_is_outside_the_stacks_prefix() {
        let name = state_bucket_name("bandup", "staging", "123456789012");
        assert_eq!(name, "bandup-state-staging-123456789012");
        assert_eq!(check_state_bucket(&name, "bandup", "staging"), Ok(()));
        assert!(
            check_state_bucket("bandup-staging-state", "bandup", "staging")
                .is_err_and(|e| e.contains("`bandup-staging-`"))
        );
        assert!(check_state_bucket("Bandup_State", "bandup", "staging").is_err());
        assert!(check_state_bucket("10.1.2.3", "bandup", "staging").is_err());
    }

    #[test]
    fn a_fresh_file_is_valid_yaml_with_the_settings() {
        let text = fresh(
            "qa",
            "stacks/bandup.yaml",
            "us-east-1",
            "123456789012",
            "bandup-state-qa-123456789012",
        );
        assert_eq!(
            settings("environments/qa.yaml", &text),
            Ok(Settings {
                region: Some("us-east-1".into()),
                account_id: Some("123456789012".into()),
                state_bucket: Some("bandup-state-qa-123456789012".into()),
            })
        );
        assert!(text.ends_with("parameters: {}\n"), "{text}");
    }

    #[test]
    fn an_existing_file_differs_in_the_settings_not_written_alike() {
        let have = settings(
            "environments/dev.yaml",
            "region: eu-west-2\nstate_bucket: bandup-state-dev\n",
        )
        .unwrap_or_default();
        let want = Settings {
            region: Some("eu-west-2".into()),
            account_id: Some("123456789012".into()),
            state_bucket: Some("bandup-state-dev".into()),
        };
        assert_eq!(
            have.differences(&want),
            vec![("account_id", None, Some("123456789012"))]
        );
        assert_eq!(want.differences(&want.clone()), Vec::new());
    }

    #[test]
    fn region_names_are_checked() {
        for ok in ["eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-2"] {
            assert_eq!(check_region(ok), Ok(()), "{ok}");
        }
        for bad in ["", "eu-west", "EU-WEST-1", "eu-west-1a", "eu--1"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }
}
