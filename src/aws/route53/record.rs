//! `aws_route53_record`: one record set (name and type) in a hosted zone, plain (TTL
//! and values) or an alias (an ALB, another record). Record sets cannot carry tags: each
//! is written together with its ownership marker (see the module `route53`), and a
//! record without our marker is never overwritten or deleted. Values, TTL and alias
//! change in place (UPSERT); zone, name and type force replacement.

use super::{
    apply_batch, change, dns_name, find_record, list_records, marker_fields, marker_name,
    marker_text, marker_value, markers, ours, owned_zones, record_value, txt_set, zone_id, Rrset,
};
use crate::aws::{Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Outputs, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta, TAG_ENV,
    TAG_PROTECT, TAG_STACK,
};
use async_trait::async_trait;
use aws_sdk_route53::types::{AliasTarget, ChangeAction, ResourceRecordSet, RrType};
use futures_util::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet};

const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX", "NS", "SRV", "CAA"];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_route53_record",
    doc: "A DNS record set in a hosted zone: values with a TTL, or an alias (an ALB).",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a record set is identified by its zone, name and type"),
            ..Field::new(
                "zone_id",
                Kind::Str,
                "the hosted zone, e.g. ${zone.id} or an existing zone's id",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a record set is identified by its zone, name and type"),
            ..Field::new("name", Kind::Str, "the full name, e.g. app.example.com")
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a record set is identified by its zone, name and type"),
            ..Field::new("type", Kind::OneOf(TYPES), "the record type")
        },
        Field::new(
            "ttl",
            Kind::Int,
            "seconds resolvers may cache it (not for aliases)",
        ),
        Field::new(
            "records",
            Kind::List(&Kind::Str),
            "the values as Route 53 takes them (TXT values in double quotes)",
        ),
        Field::new(
            "alias",
            Kind::Object(&[
                Field {
                    required: true,
                    ..Field::new(
                        "name",
                        Kind::Str,
                        "the target's DNS name, e.g. ${alb.dns_name}",
                    )
                },
                Field {
                    required: true,
                    ..Field::new(
                        "zone_id",
                        Kind::Str,
                        "the target's hosted zone, e.g. ${alb.zone_id}",
                    )
                },
                Field {
                    default: Some(Default::Bool(false)),
                    ..Field::new(
                        "evaluate_target_health",
                        Kind::Bool,
                        "answer only while the target is healthy",
                    )
                },
            ]),
            "an alias instead of ttl and records",
        ),
    ],
    attributes: &["id", "fqdn"],
};

/// The provider of `aws_route53_record`.
pub struct Record {
    r53: aws_sdk_route53::Client,
}

impl Record {
    pub fn new(c: &Clients) -> Self {
        Record {
            r53: c.route53.clone(),
        }
    }
}

/// The props a listed record set has, in the stack's vocabulary.
fn props_of(zone: &str, name: &str, rtype: &str, set: Option<&ResourceRecordSet>) -> Props {
    let mut p = Props::from([
        ("zone_id".to_string(), Value::Str(zone.to_string())),
        ("name".to_string(), Value::Str(dns_name(name))),
        ("type".to_string(), Value::Str(rtype.to_string())),
    ]);
    let Some(set) = set else { return p };
    if let Some(a) = set.alias_target() {
        p.insert(
            "alias".into(),
            Value::Map(BTreeMap::from([
                ("name".to_string(), Value::Str(dns_name(a.dns_name()))),
                (
                    "zone_id".to_string(),
                    Value::Str(a.hosted_zone_id().to_string()),
                ),
                (
                    "evaluate_target_health".to_string(),
                    Value::Bool(a.evaluate_target_health()),
                ),
            ])),
        );
    } else {
        if let Some(t) = set.ttl() {
            p.insert("ttl".into(), Value::Int(t));
        }
        let values = set
            .resource_records()
            .iter()
            .map(|r| Value::Str(r.value().to_string()))
            .collect();
        p.insert("records".into(), Value::List(values));
    }
    p
}

/// The desired props as Route 53 keeps them (names lowercase without the final dot).
fn normalized(props: &Props) -> Props {
    let mut p = props.clone();
    if let Some(Value::Str(n)) = p.get_mut("name") {
        *n = dns_name(n);
    }
    if let Some(Value::Str(t)) = p.get_mut("type") {
        *t = t.to_ascii_uppercase();
    }
    if let Some(Value::Map(a)) = p.get_mut("alias") {
        if let Some(Value::Str(n)) = a.get_mut("name") {
            *n = dns_name(n);
        }
        a.entry("evaluate_target_health".into())
            .or_insert(Value::Bool(false));
    }
    p
}

fn id_of(zone: &str, name: &str, rtype: &str) -> String {
    format!("{zone}_{}_{rtype}", dns_name(name))
}

fn made(owned: Owned, props: Props) -> Live {
    let zone = crate::aws::prop_str(&props, "zone_id").to_string();
    let name = crate::aws::prop_str(&props, "name").to_string();
    let rtype = crate::aws::prop_str(&props, "type").to_string();
    let id = id_of(&zone, &name, &rtype);
    let mut outputs = Outputs::new();
    outputs.insert("id".into(), Value::Str(id.clone()));
    outputs.insert("fqdn".into(), Value::Str(name));
    Live {
        addr: owned.addr,
        id,
        props,
        outputs,
        refs: vec![zone],
        created: owned.created,
        tags: owned.tags,
        pending: None,
    }
}

/// The record set `props` describe.
fn record_set(props: &Props) -> Result<ResourceRecordSet, ProviderError> {
    let name = dns_name(crate::aws::prop_str(props, "name"));
    let rtype = crate::aws::prop_str(props, "type").to_ascii_uppercase();
    let mut b = ResourceRecordSet::builder()
        .name(format!("{name}."))
        .r#type(RrType::from(rtype.as_str()));
    let bad =
        |m: &str| ProviderError::new("ChangeResourceRecordSets", format!("{name} {rtype}: {m}"));
    match props.get("alias").and_then(Value::as_map) {
        Some(a) => {
            let target = AliasTarget::builder()
                .dns_name(a.get("name").and_then(Value::as_str).unwrap_or_default())
                .hosted_zone_id(a.get("zone_id").and_then(Value::as_str).unwrap_or_default())
                .evaluate_target_health(
                    a.get("evaluate_target_health")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                )
                .build()
                .map_err(|e| bad(&e.to_string()))?;
            b = b.alias_target(target);
        }
        None => {
            let values: Vec<&str> = props
                .get("records")
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            if values.is_empty() {
                return Err(bad("give `records` (with `ttl`) or `alias`"));
            }
            b = b.ttl(props.get("ttl").and_then(Value::as_int).unwrap_or(300));
            for v in values {
                b = b.resource_records(record_value(v)?);
            }
        }
    }
    b.build().map_err(|e| bad(&e.to_string()))
}

/// The marker of the record at `addr`: whose it is, and whether it is protected.
fn record_marker(scope: &Scope, addr: &Addr, protect: bool) -> String {
    let more: &[(&str, &str)] = if protect {
        &[(TAG_PROTECT, "true")]
    } else {
        &[]
    };
    marker_text(&scope.stack, &scope.env, addr.as_str(), more)
}

/// The zones whose records the stack's record sets may be in: the zones it owns and the
/// literal zone ids its declared records name (an existing zone passed as a parameter).
async fn zones_to_read(
    r53: &aws_sdk_route53::Client,
    scope: &Scope,
) -> Result<BTreeSet<String>, ProviderError> {
    let mut zones: BTreeSet<String> = owned_zones(r53, scope)
        .await?
        .iter()
        .map(|(z, _)| zone_id(z.id()))
        .collect();
    for (_, props) in scope.declared_of(SCHEMA.type_name) {
        if let Some(Value::Str(z)) = props.get("zone_id") {
            zones.insert(zone_id(z));
        }
    }
    Ok(zones)
}

/// Why a record set cannot be created: it exists and is not ours.
async fn not_ours(
    r53: &aws_sdk_route53::Client,
    scope: &Scope,
    addr: &Addr,
    zone: &str,
    name: &str,
    rtype: &str,
) -> Option<ProviderError> {
    let existing = find_record(r53, zone, name, rtype).await.ok()??;
    let marker = find_record(r53, zone, &marker_name(name, rtype), "TXT")
        .await
        .ok()
        .flatten();
    let whose = marker
        .and_then(|m| m.values().first().map(|v| marker_fields(v)))
        .filter(|f| f.contains_key("bandup:resource"))
        .map(|f| {
            format!(
                "its marker says it belongs to stack {}, environment {}, resource {}",
                f.get("bandup:stack").map_or("?", String::as_str),
                f.get("bandup:env").map_or("?", String::as_str),
                f.get("bandup:resource").map_or("?", String::as_str),
            )
        })
        .unwrap_or_else(|| "it has no bandup-infra ownership marker".into());
    Some(ProviderError::new(
        "ChangeResourceRecordSets",
        format!(
            "record {} {rtype} already exists in hosted zone {zone} and is not this stack's ({whose}). bandup-infra never overwrites a record it does not own: delete it, or adopt it by adding the TXT record {} with the value {} (the record itself is then brought to the stack), then run apply again",
            existing.name,
            marker_name(name, rtype),
            marker_value(scope, addr.as_str(), None),
        ),
    ))
}

#[async_trait]
impl Provider for Record {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// The zones to look in (ListHostedZones, ListTagsForResources for ten zones a call,
    /// plus literal zone ids of declared records), then ListResourceRecordSets for each
    /// zone (paginated, concurrently): 1 + ceil(zones/10) + pages per zone.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let zones = zones_to_read(&self.r53, scope).await?;
        let listed = try_join_all(zones.into_iter().map(|z| async move {
            match list_records(&self.r53, &z).await {
                Ok(r) => Ok((z, r)),
                // A declared zone that does not exist (yet): nothing of ours in it.
                Err(e) if e.is_not_found() => Ok((z, Vec::new())),
                Err(e) => Err(e),
            }
        }))
        .await?;
        let mut out = Vec::new();
        for (zone, records) in &listed {
            let by_key: BTreeMap<(String, String), &Rrset> = records
                .iter()
                .map(|r| ((r.name.clone(), r.rtype.clone()), r))
                .collect();
            for ((name, rtype), fields) in markers(records) {
                if !ours(scope, &fields) || fields.contains_key("bandup:part") {
                    continue;
                }
                let Some(addr) = fields.get("bandup:resource").map(|a| Addr(a.clone())) else {
                    continue;
                };
                if only.is_some_and(|o| *o != addr) {
                    continue;
                }
                let set = by_key.get(&(name.clone(), rtype.clone())).map(|r| &r.set);
                // Record sets carry no tags: they are said to carry the ones the stack
                // wants, so that the engine finds nothing to retag.
                let protect = fields.get(TAG_PROTECT).is_some_and(|p| p == "true");
                let owned = Owned {
                    tags: scope.desired_tags(&addr, protect).into_iter().collect(),
                    addr,
                    created: None,
                };
                out.push(made(owned, props_of(zone, &name, &rtype, set)));
            }
        }
        Ok(out)
    }

    /// A record set is values with a TTL, or an alias: exactly one of them.
    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let has = |f: &str| r.props.get(f).is_some_and(|v| !matches!(v, Value::Null));
        let pos = |f: &str| r.field_pos.get(f).cloned().unwrap_or_else(|| r.pos.clone());
        match (has("alias"), has("records"), has("ttl")) {
            (true, true, _) | (true, _, true) => {
                let f = if has("records") { "records" } else { "ttl" };
                vec![Diagnostic::new(
                    pos(f),
                    format!("record `{}` has both `alias` and `{f}`", r.addr),
                )
                .hint("an alias answers with its target's addresses: remove `ttl` and `records`, or `alias`")]
            }
            (false, false, _) => vec![Diagnostic::new(
                r.pos.clone(),
                format!("record `{}` has neither `records` nor `alias`", r.addr),
            )
            .hint("give `records` (and `ttl`, 300 if left out), or `alias` with the target's name and zone_id")],
            _ => Vec::new(),
        }
    }

    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut d = normalized(desired);
        if let Some(Value::Str(z)) = d.get_mut("zone_id") {
            *z = zone_id(z);
        }
        default_diff(&SCHEMA, &d, live)
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = normalized(req.props);
        let zone = zone_id(req.str("zone_id"));
        let name = dns_name(req.str("name"));
        let rtype = crate::aws::prop_str(&props, "type").to_string();
        let set = record_set(&props)?;
        let marker = txt_set(
            &marker_name(&name, &rtype),
            &record_marker(req.scope, req.addr, req.protect),
        )?;
        // CREATE, not UPSERT: Route 53 refuses the whole batch if either exists, so a
        // record someone else made is never overwritten.
        let result = apply_batch(
            &self.r53,
            &zone,
            &format!("bandup-infra: {}", req.addr),
            vec![
                change(ChangeAction::Create, set)?,
                change(ChangeAction::Create, marker)?,
            ],
        )
        .await;
        if let Err(e) = result {
            if e.code.as_deref() == Some("InvalidChangeBatch") {
                if let Some(why) =
                    not_ours(&self.r53, req.scope, req.addr, &zone, &name, &rtype).await
                {
                    return Err(why);
                }
            }
            return Err(e);
        }
        let mut p = props;
        p.insert("zone_id".into(), Value::Str(zone));
        Ok(made(Owned::made(req), p))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let props = normalized(req.props);
        let zone = zone_id(req.str("zone_id"));
        let name = dns_name(req.str("name"));
        let rtype = crate::aws::prop_str(&props, "type").to_string();
        let mut changes = Vec::new();
        // From an alias to values or back: the old shape goes in the same batch.
        let have_alias = l.props.contains_key("alias");
        let want_alias = props.contains_key("alias");
        if have_alias != want_alias {
            if let Some(old) = find_record(&self.r53, &zone, &name, &rtype).await? {
                changes.push(change(ChangeAction::Delete, old.set)?);
                changes.push(change(ChangeAction::Create, record_set(&props)?)?);
            }
        }
        if changes.is_empty() {
            changes.push(change(ChangeAction::Upsert, record_set(&props)?)?);
        }
        changes.push(change(
            ChangeAction::Upsert,
            txt_set(
                &marker_name(&name, &rtype),
                &record_marker(req.scope, req.addr, req.protect),
            )?,
        )?);
        apply_batch(
            &self.r53,
            &zone,
            &format!("bandup-infra: {}", req.addr),
            changes,
        )
        .await?;
        let mut next = l.clone();
        let mut p = props;
        p.insert("zone_id".into(), Value::Str(zone));
        next.props = p;
        Ok(next)
    }

    /// Record sets carry no tags: ownership is the marker, which also says whether the
    /// record is protected (`bandup:protect`): that is the one tag rewritten here.
    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let set = delta.set.get(TAG_PROTECT).map(|v| v == "true");
        let removed = delta.remove.iter().any(|k| k == TAG_PROTECT);
        let protect = match (set, removed) {
            (Some(p), _) => p,
            (None, true) => false,
            (None, false) => return Ok(()),
        };
        let tag = |k: &str| l.tags.get(k).map(String::as_str).unwrap_or_default();
        let more: &[(&str, &str)] = if protect {
            &[(TAG_PROTECT, "true")]
        } else {
            &[]
        };
        let value = marker_text(tag(TAG_STACK), tag(TAG_ENV), l.addr.as_str(), more);
        let zone = zone_id(crate::aws::prop_str(&l.props, "zone_id"));
        let name = crate::aws::prop_str(&l.props, "name");
        let rtype = crate::aws::prop_str(&l.props, "type");
        apply_batch(
            &self.r53,
            &zone,
            &format!("bandup-infra: {} protection", l.addr),
            vec![change(
                ChangeAction::Upsert,
                txt_set(&marker_name(name, rtype), &value)?,
            )?],
        )
        .await
    }

    /// Deletes the record set and its marker in one batch, as they are now (Route 53
    /// wants a deleted set's exact values); only while the marker still says it is ours.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let zone = zone_id(crate::aws::prop_str(&l.props, "zone_id"));
        let name = crate::aws::prop_str(&l.props, "name").to_string();
        let rtype = crate::aws::prop_str(&l.props, "type").to_string();
        let marker = match find_record(&self.r53, &zone, &marker_name(&name, &rtype), "TXT").await {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some(marker) = marker else {
            return Ok(());
        };
        let mine = marker
            .values()
            .first()
            .map(|v| marker_fields(v))
            .is_some_and(|f| ours(req.scope, &f) && f.get("bandup:resource") == Some(&l.addr.0));
        if !mine {
            return Ok(());
        }
        let mut changes = vec![change(ChangeAction::Delete, marker.set)?];
        if let Some(r) = find_record(&self.r53, &zone, &name, &rtype).await? {
            changes.push(change(ChangeAction::Delete, r.set)?);
        }
        apply_batch(
            &self.r53,
            &zone,
            &format!("bandup-infra: {} deleted", l.addr),
            changes,
        )
        .await
    }
}
