//! `aws_security_group`: a security group and its ingress/egress rules. A rule admits one
//! source: a CIDR block or another security group (the ALB -> app -> database chain).

use super::{
    deleted, error, interfaces, interfaces_managed, once, owned, owner_filters, retag, tag_spec,
};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, name_blockers, prop_str, Clients, Owned};
use crate::config::{Diagnostic, Pos, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use std::collections::BTreeMap;

static RULE: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "protocol",
            Kind::OneOf(&["tcp", "udp", "icmp", "-1"]),
            "tcp, udp, icmp, or -1 for all",
        )
    },
    Field::new("from_port", Kind::Int, "first port (omit for protocol -1)"),
    Field::new("to_port", Kind::Int, "last port (omit for protocol -1)"),
    Field::new(
        "cidr",
        Kind::Cidr,
        "source (ingress) or destination (egress) range",
    ),
    Field::new(
        "security_group_id",
        Kind::Str,
        "source or destination group, e.g. ${alb_sg.id}",
    ),
    Field {
        default: Some(Default::Str("")),
        ..Field::new("description", Kind::Str, "why the rule exists")
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_security_group",
    doc: "A VPC security group with its rules.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            ..Field::new("vpc_id", Kind::Str, "the VPC, e.g. ${vpc.id}")
        },
        Field {
            force_new: true,
            default: Some(Default::Str("Managed by bandup-infra")),
            ..Field::new(
                "description",
                Kind::Str,
                "shown in the console; AWS cannot change it in place",
            )
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new("ingress", Kind::List(&Kind::Object(RULE)), "inbound rules")
        },
        Field::new(
            "egress",
            Kind::List(&Kind::Object(RULE)),
            "outbound rules; when omitted AWS's default allow-all egress is left alone",
        ),
    ],
    attributes: &["id"],
};

pub struct SecurityGroup {
    ec2: aws_sdk_ec2::Client,
}

impl SecurityGroup {
    pub fn new(c: &Clients) -> Self {
        SecurityGroup { ec2: c.ec2.clone() }
    }

    async fn authorize(
        &self,
        id: &str,
        egress: bool,
        rules: &[Value],
    ) -> Result<(), ProviderError> {
        if rules.is_empty() {
            return Ok(());
        }
        let perms = Some(rules.iter().map(permission).collect());
        if egress {
            self.ec2
                .authorize_security_group_egress()
                .group_id(id)
                .set_ip_permissions(perms)
                .customize()
                .config_override(once::<aws_sdk_ec2::operation::authorize_security_group_egress::AuthorizeSecurityGroupEgressError>())
                .send()
                .await
                .map_err(|e| error("AuthorizeSecurityGroupEgress", e))?;
        } else {
            self.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(perms)
                .customize()
                .config_override(once::<aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressError>())
                .send()
                .await
                .map_err(|e| error("AuthorizeSecurityGroupIngress", e))?;
        }
        Ok(())
    }

    async fn revoke(&self, id: &str, egress: bool, rules: &[Value]) -> Result<(), ProviderError> {
        if rules.is_empty() {
            return Ok(());
        }
        let perms = Some(rules.iter().map(permission).collect());
        if egress {
            deleted(
                "RevokeSecurityGroupEgress",
                self.ec2
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(perms)
                    .send()
                    .await,
            )
        } else {
            deleted(
                "RevokeSecurityGroupIngress",
                self.ec2
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(perms)
                    .send()
                    .await,
            )
        }
    }

    /// Revoke what is no longer wanted, then authorize what is new.
    async fn converge(&self, id: &str, want: &Props, have: &Props) -> Result<(), ProviderError> {
        for (field, egress) in [("ingress", false), ("egress", true)] {
            let Some(w) = want.get(field).and_then(Value::as_list) else {
                continue;
            };
            let h = have.get(field).and_then(Value::as_list).unwrap_or_default();
            let gone: Vec<Value> = h.iter().filter(|r| !w.contains(r)).cloned().collect();
            let new: Vec<Value> = w.iter().filter(|r| !h.contains(r)).cloned().collect();
            self.revoke(id, egress, &gone).await?;
            self.authorize(id, egress, &new).await?;
        }
        Ok(())
    }
}

/// One rule of ours as an AWS permission.
fn permission(rule: &Value) -> IpPermission {
    let m = rule.as_map().cloned().unwrap_or_default();
    let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let port = |k: &str| {
        m.get(k)
            .and_then(Value::as_int)
            .and_then(|p| i32::try_from(p).ok())
    };
    let desc = s("description").filter(|d| !d.is_empty());
    let mut p = IpPermission::builder()
        .set_ip_protocol(s("protocol"))
        .set_from_port(port("from_port"))
        .set_to_port(port("to_port"));
    if let Some(c) = s("cidr") {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(desc.clone())
                .build(),
        );
    }
    if let Some(g) = s("security_group_id") {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(desc)
                .build(),
        );
    }
    p.build()
}

/// AWS permissions as our rules: one rule per (permission, source).
fn rules(perms: &[IpPermission]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in perms {
        let mut base = BTreeMap::new();
        base.insert(
            "protocol".to_string(),
            Value::Str(p.ip_protocol().unwrap_or("-1").to_string()),
        );
        if p.ip_protocol() != Some("-1") {
            if let Some(f) = p.from_port() {
                base.insert("from_port".to_string(), Value::Int(f.into()));
            }
            if let Some(t) = p.to_port() {
                base.insert("to_port".to_string(), Value::Int(t.into()));
            }
        }
        for r in p.ip_ranges() {
            let mut m = base.clone();
            m.insert(
                "cidr".into(),
                Value::Str(r.cidr_ip().unwrap_or_default().to_string()),
            );
            m.insert(
                "description".into(),
                Value::Str(r.description().unwrap_or_default().to_string()),
            );
            out.push(Value::Map(m));
        }
        for g in p.user_id_group_pairs() {
            let mut m = base.clone();
            m.insert(
                "security_group_id".into(),
                Value::Str(g.group_id().unwrap_or_default().to_string()),
            );
            m.insert(
                "description".into(),
                Value::Str(g.description().unwrap_or_default().to_string()),
            );
            out.push(Value::Map(m));
        }
    }
    out
}

/// The groups a group's rules point at: it must be deleted before them.
fn group_refs(props: &Props) -> Vec<String> {
    ["ingress", "egress"]
        .iter()
        .flat_map(|f| props.get(*f).and_then(Value::as_list).unwrap_or_default())
        .filter_map(|r| {
            r.as_map()?
                .get("security_group_id")?
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// Where rule `i` of `field` (or its `key`) was written, if it was written in the stack.
fn rule_pos(r: &Resource, field: &str, i: usize, key: Option<&str>) -> Option<Pos> {
    let rule = format!("{field}[{i}]");
    key.and_then(|k| r.field_pos.get(&format!("{rule}.{k}")))
        .or_else(|| r.field_pos.get(&rule))
        .cloned()
}

/// Ports AWS would refuse: tcp and udp ports outside 0-65535 or a range that runs
/// backwards; an ICMP type (from_port) or code (to_port) outside -1..=255.
fn port_problems(
    rule: &BTreeMap<String, Value>,
    addr: &Addr,
    field: &str,
    at: &dyn Fn(Option<&str>) -> Pos,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let port = |k: &str| rule.get(k).and_then(Value::as_int);
    let (from, to) = (port("from_port"), port("to_port"));
    match rule.get("protocol").and_then(Value::as_str) {
        Some(proto @ ("tcp" | "udp")) => {
            let mut in_range = true;
            for (key, p) in [("from_port", from), ("to_port", to)] {
                match p {
                    Some(p) if !(0..=65535).contains(&p) => {
                        in_range = false;
                        out.push(
                            Diagnostic::new(
                                at(Some(key)),
                                format!(
                                    "a rule in `{addr}` {field} has {key} {p}, which is not a {proto} port"
                                ),
                            )
                            .hint(format!("{proto} ports run from 0 to 65535")),
                        );
                    }
                    _ => {}
                }
            }
            if let (Some(f), Some(t), true) = (from, to, in_range) {
                if f > t {
                    out.push(
                        Diagnostic::new(
                            at(None),
                            format!(
                                "a rule in `{addr}` {field} has from_port {f} above to_port {t}"
                            ),
                        )
                        .hint(format!(
                            "from_port is the first port of the range and to_port the last, \
                             both from 0 to 65535: did you mean from_port: {t}, to_port: {f}?"
                        )),
                    );
                }
            }
        }
        Some("icmp") => {
            for (key, p, what) in [("from_port", from, "type"), ("to_port", to, "code")] {
                match p {
                    Some(p) if !(-1..=255).contains(&p) => out.push(
                        Diagnostic::new(
                            at(Some(key)),
                            format!(
                                "a rule in `{addr}` {field} has {key} {p}, which is not an ICMP {what}"
                            ),
                        )
                        .hint(
                            "for icmp, from_port is the ICMP type and to_port the ICMP code, \
                             each from 0 to 255, or -1 for any (echo request: from_port: 8, to_port: 0)",
                        ),
                    ),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// Ports of databases and caches that should never face the internet.
const DATA_PORTS: &[(i64, &str)] = &[
    (1433, "SQL Server"),
    (1521, "Oracle"),
    (3306, "MySQL/Aurora"),
    (5432, "PostgreSQL"),
    (6379, "Redis"),
    (11211, "Memcached"),
    (27017, "MongoDB"),
];

/// A warning for an ingress rule that admits the whole internet to a database or cache
/// port (its port range includes one, or protocol -1 admits every port).
fn open_data_port(
    rule: &BTreeMap<String, Value>,
    addr: &Addr,
    at: &dyn Fn(Option<&str>) -> Pos,
) -> Option<Diagnostic> {
    let cidr = rule.get("cidr").and_then(Value::as_str)?;
    if !matches!(cidr, "0.0.0.0/0" | "::/0") {
        return None;
    }
    let port = |k: &str| rule.get(k).and_then(Value::as_int);
    let (ports, exposed) = match rule.get("protocol").and_then(Value::as_str)? {
        "-1" => ("every port".to_string(), DATA_PORTS.to_vec()),
        "tcp" | "udp" => {
            let (from, to) = (port("from_port")?, port("to_port")?);
            let exposed: Vec<_> = DATA_PORTS
                .iter()
                .filter(|(p, _)| (from..=to).contains(p))
                .copied()
                .collect();
            let ports = if from == to {
                format!("port {from}")
            } else {
                format!("ports {from}-{to}")
            };
            (ports, exposed)
        }
        _ => return None,
    };
    if exposed.is_empty() {
        return None;
    }
    let named: Vec<String> = exposed
        .iter()
        .map(|(p, name)| format!("{p} ({name})"))
        .collect();
    Some(
        Diagnostic::warning(
            at(Some("cidr")),
            format!(
                "database or cache port open to the internet: `{addr}` admits {cidr} on {ports}, \
                 which include{} {}",
                if exposed.len() == 1 { "s" } else { "" },
                named.join(", ")
            ),
        )
        .hint(
            "admit only the clients' security group instead of a CIDR, \
             e.g. `security_group_id: ${app_sg.id}`",
        ),
    )
}

#[async_trait]
impl Provider for SecurityGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// A group a database, a load balancer or a service still runs in cannot be deleted
    /// (DependencyViolation): its replacement (a new description) is made beside it, with
    /// the plan's suffix on its name, and they move to it first.
    fn create_before_delete(&self) -> bool {
        true
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let groups: Vec<_> = self
            .ec2
            .describe_security_groups()
            .set_filters(Some(owner_filters(scope, only)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeSecurityGroups", e))?;
        Ok(groups
            .into_iter()
            .filter_map(|g| {
                let owned = owned(scope, g.tags())?;
                let id = g.group_id()?;
                let vpc = g.vpc_id().unwrap_or_default().to_string();
                let props = Props::from([
                    ("vpc_id".to_string(), Value::Str(vpc.clone())),
                    (
                        "description".to_string(),
                        Value::Str(g.description().unwrap_or_default().to_string()),
                    ),
                    (
                        "ingress".to_string(),
                        Value::List(rules(g.ip_permissions())),
                    ),
                    (
                        "egress".to_string(),
                        Value::List(rules(g.ip_permissions_egress())),
                    ),
                ]);
                let mut refs = vec![vpc];
                refs.extend(group_refs(&props));
                Some(live(owned, id, props, refs, &[]))
            })
            .collect())
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for field in ["ingress", "egress"] {
            let pos = r.field_pos.get(field).cloned().unwrap_or(r.pos.clone());
            // AWS refuses a rule twice (whatever its description says).
            let mut seen = Vec::new();
            for rule in r
                .props
                .get(field)
                .and_then(Value::as_list)
                .unwrap_or_default()
            {
                let mut key = rule.as_map().cloned().unwrap_or_default();
                key.remove("description");
                if seen.contains(&key) {
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!("`{}` {field} has the same rule twice: {rule}", r.addr),
                        )
                        .hint("remove one of them; AWS refuses duplicate rules"),
                    );
                }
                seen.push(key);
            }
            for (i, rule) in r
                .props
                .get(field)
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((i, v.as_map()?)))
            {
                if rule.contains_key("cidr") == rule.contains_key("security_group_id") {
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!("a rule in `{}` {field} needs exactly one source", r.addr),
                        )
                        .hint("set either `cidr` or `security_group_id`"),
                    );
                }
                let all = rule.get("protocol").and_then(Value::as_str) == Some("-1");
                let ports = rule.contains_key("from_port") && rule.contains_key("to_port");
                if all == (rule.contains_key("from_port") || rule.contains_key("to_port"))
                    || (!all && !ports)
                {
                    let hint = if all {
                        "protocol -1 covers every port: remove from_port and to_port"
                    } else {
                        "set both from_port and to_port"
                    };
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!(
                                "a rule in `{}` {field} has wrong ports for its protocol",
                                r.addr
                            ),
                        )
                        .hint(hint),
                    );
                }
                let at = |key: Option<&str>| rule_pos(r, field, i, key).unwrap_or(pos.clone());
                out.extend(port_problems(rule, &r.addr, field, &at));
                if field == "ingress" {
                    out.extend(open_data_port(rule, &r.addr, &at));
                }
            }
        }
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let vpc = prop_str(props, "vpc_id");
        let out = self
            .ec2
            .create_security_group()
            .group_name(req.name())
            .description(prop_str(props, "description"))
            .vpc_id(vpc)
            .tag_specifications(tag_spec(req, ResourceType::SecurityGroup))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::create_security_group::CreateSecurityGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateSecurityGroup", e))?;
        let id = out.group_id().unwrap_or_default().to_string();
        // A new group allows all egress; declared egress replaces that default.
        let fresh = Props::from([(
            "egress".to_string(),
            Value::List(vec![Value::Map(BTreeMap::from([
                ("protocol".to_string(), Value::Str("-1".into())),
                ("cidr".to_string(), Value::Str("0.0.0.0/0".into())),
                ("description".to_string(), Value::Str(String::new())),
            ]))]),
        )]);
        self.converge(&id, props, &fresh).await?;
        let mut refs = vec![vpc.to_string()];
        refs.extend(group_refs(props));
        Ok(live(Owned::made(req), &id, props.clone(), refs, &[]))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let props = req.props;
        self.converge(&l.id, props, &l.props).await?;
        let mut next = l.clone();
        next.props = props.clone();
        next.refs = vec![prop_str(props, "vpc_id").to_string()];
        next.refs.extend(group_refs(props));
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    /// Interfaces AWS manages for a service (a load balancer, Fargate tasks, a Lambda
    /// function) keep the group alive for minutes after that service is deleted: the
    /// delete waits for them, at most its timeout. Anyone else's interface is named and
    /// the delete refused at once.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let attempt = || async {
            let result = deleted(
                "DeleteSecurityGroup",
                self.ec2
                    .delete_security_group()
                    .group_id(&l.id)
                    .send()
                    .await,
            );
            match result {
                Err(e) if e.kind == ErrorKind::InUse => {
                    let enis = interfaces_managed(&self.ec2, "group-id", &l.id).await?;
                    if !enis.is_empty() && enis.iter().all(|(_, managed)| *managed) {
                        return Ok(Poll::Pending(format!(
                            "{} network interface{} of deleted services not yet released",
                            enis.len(),
                            if enis.len() == 1 { "" } else { "s" }
                        )));
                    }
                    let enis = interfaces(&self.ec2, "group-id", &l.id);
                    let advice = "delete them (or move them to another group)";
                    name_blockers(Err(e), &l.id, "is still used by", enis, advice)
                        .await
                        .map(Poll::Ready)
                }
                other => other.map(Poll::Ready),
            }
        };
        wait::until(req, "deleting", attempt).await
    }
}
