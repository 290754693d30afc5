//! `aws_route53_zone`: a public hosted zone (Route 53 is global). Tagged right after
//! CreateHostedZone, which takes no tags; its caller reference names the stack,
//! environment and address, so a zone whose tagging was lost is still recognised as ours.
//! The comment changes in place; the name forces replacement. Deleted only when it holds
//! nothing but its SOA and NS records and records this stack owns.

use super::{
    apply_batch, change, deleted, dns_name, error, list_records, list_zones, markers, once, ours,
    retag, zone_id, zone_tags, Rrset,
};
use crate::aws::{creation_tags, live, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
    TAG_RESOURCE,
};
use async_trait::async_trait;
use aws_sdk_route53::types::{ChangeAction, HostedZone, HostedZoneConfig};

pub static SCHEMA: Schema = Schema {
    type_name: "aws_route53_zone",
    doc: "A public Route 53 hosted zone (a domain's DNS).",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a hosted zone's domain name cannot change"),
            ..Field::new("name", Kind::Str, "the domain, e.g. bandup.example.com")
        },
        Field {
            default: Some(Default::Str("Managed by bandup-infra")),
            ..Field::new("comment", Kind::Str, "what the zone is for")
        },
    ],
    attributes: &["id", "arn", "name", "name_servers"],
};

/// The provider of `aws_route53_zone`.
pub struct Zone {
    r53: aws_sdk_route53::Client,
}

impl Zone {
    pub fn new(c: &Clients) -> Self {
        Zone {
            r53: c.route53.clone(),
        }
    }
}

/// What every caller reference of `scope`'s zones starts with.
fn reference_prefix(scope: &Scope) -> String {
    format!("bandup:{}:{}:", scope.stack, scope.env)
}

/// The address a caller reference names, if it is one of `scope`'s.
fn addr_in_reference(scope: &Scope, reference: &str) -> Option<Addr> {
    let rest = reference.strip_prefix(&reference_prefix(scope))?;
    let (addr, _token) = rest.rsplit_once(':')?;
    Some(Addr(addr.to_string()))
}

fn made(owned: Owned, z: &HostedZone, name_servers: Vec<String>) -> Live {
    let id = zone_id(z.id());
    let props = Props::from([
        ("name".to_string(), Value::Str(dns_name(z.name()))),
        (
            "comment".to_string(),
            Value::Str(
                z.config()
                    .and_then(|c| c.comment())
                    .unwrap_or_default()
                    .to_string(),
            ),
        ),
    ]);
    let servers = Value::List(name_servers.into_iter().map(Value::Str).collect());
    live(
        owned,
        &id,
        props,
        Vec::new(),
        &[
            (
                "arn",
                Value::Str(format!("arn:aws:route53:::hostedzone/{id}")),
            ),
            ("name", Value::Str(dns_name(z.name()))),
            ("name_servers", servers),
        ],
    )
}

#[async_trait]
impl Provider for Zone {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// ListHostedZones (paginated), ListTagsForResources for ten zones a call, and
    /// GetHostedZone for each zone of ours (its name servers): 1 + ceil(n/10) + owned.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let zones = list_zones(&self.r53).await?;
        let ids: Vec<String> = zones.iter().map(|z| zone_id(z.id())).collect();
        let mut tags = zone_tags(&self.r53, &ids).await?;
        let ours: Vec<(HostedZone, Owned)> = zones
            .into_iter()
            .filter_map(|z| {
                let t = tags.remove(&zone_id(z.id())).unwrap_or_default();
                let owned = match crate::aws::owned(scope, t.clone()) {
                    Some(o) => o,
                    // Made by this stack, but the tagging after CreateHostedZone was
                    // lost: its caller reference says whose it is; the engine tags it.
                    None if !t.contains_key(TAG_RESOURCE) => Owned {
                        addr: addr_in_reference(scope, z.caller_reference())?,
                        created: None,
                        tags: t,
                    },
                    None => return None,
                };
                only.is_none_or(|a| *a == owned.addr).then_some((z, owned))
            })
            .collect();
        let found = futures_util::future::try_join_all(ours.into_iter().map(|(z, o)| async move {
            let out = self
                .r53
                .get_hosted_zone()
                .id(z.id())
                .send()
                .await
                .map_err(|e| error("GetHostedZone", e))?;
            let servers = out
                .delegation_set()
                .map(|d| d.name_servers().to_vec())
                .unwrap_or_default();
            Ok::<_, ProviderError>(made(o, &z, servers))
        }))
        .await?;
        Ok(found)
    }

    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut d = desired.clone();
        if let Some(Value::Str(n)) = d.get_mut("name") {
            *n = dns_name(n);
        }
        default_diff(&SCHEMA, &d, live)
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let token = req.scope.client_token(req.addr, req.props);
        let mut reference = format!("{}{}:{token}", reference_prefix(req.scope), req.addr);
        if reference.len() > 128 {
            reference = token;
        }
        let out = self
            .r53
            .create_hosted_zone()
            .name(dns_name(req.str("name")))
            .caller_reference(reference)
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .comment(req.str("comment"))
                    .private_zone(false)
                    .build(),
            )
            .customize()
            .config_override(once::<
                aws_sdk_route53::operation::create_hosted_zone::CreateHostedZoneError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateHostedZone", e))?;
        let zone = out
            .hosted_zone()
            .ok_or_else(|| ProviderError::new("CreateHostedZone", "no hosted zone in the answer"))?
            .clone();
        // CreateHostedZone takes no tags: tag at once (the caller reference covers the
        // moment between).
        let delta = TagDelta {
            set: creation_tags(req).into_iter().collect(),
            remove: Vec::new(),
        };
        retag(&self.r53, &zone_id(zone.id()), &delta).await?;
        let servers = out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        Ok(made(Owned::made(req), &zone, servers))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        self.r53
            .update_hosted_zone_comment()
            .id(&l.id)
            .comment(req.str("comment"))
            .send()
            .await
            .map_err(|e| error("UpdateHostedZoneComment", e))?;
        let mut next = l.clone();
        next.props
            .insert("comment".into(), Value::Str(req.str("comment").into()));
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.r53, &l.id, delta).await
    }

    /// Deletes what is left of this stack's records in it (markers and what they mark),
    /// then the zone; a zone holding anyone else's records is refused, naming them.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let records = match list_records(&self.r53, &l.id).await {
            Ok(r) => r,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let apex = dns_name(crate::aws::prop_str(&l.props, "name"));
        let marks = markers(&records);
        let is_ours = |r: &Rrset| {
            let marked = marks
                .get(&(r.name.clone(), r.rtype.clone()))
                .is_some_and(|f| ours(req.scope, f));
            let marker = r.rtype == "TXT"
                && r.name.starts_with("_bandup-")
                && r.values()
                    .first()
                    .is_some_and(|v| ours(req.scope, &super::marker_fields(v)));
            marked || marker
        };
        let mut foreign = Vec::new();
        let mut mine = Vec::new();
        for r in &records {
            if r.name == apex && (r.rtype == "SOA" || r.rtype == "NS") {
                continue;
            }
            if is_ours(r) {
                mine.push(change(ChangeAction::Delete, r.set.clone())?);
            } else {
                foreign.push(format!("{} {}", r.name, r.rtype));
            }
        }
        if !foreign.is_empty() {
            return Err(ProviderError::new(
                "DeleteHostedZone",
                format!(
                    "hosted zone {} ({apex}) still holds records this stack does not own: {}. bandup-infra never deletes what this stack does not own: delete them (or move them to another zone), then run destroy again",
                    l.id,
                    foreign.join("; ")
                ),
            )
            .kind(ErrorKind::InUse));
        }
        apply_batch(&self.r53, &l.id, "bandup-infra: zone deleted", mine).await?;
        deleted(
            "DeleteHostedZone",
            self.r53.delete_hosted_zone().id(&l.id).send().await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_reference_names_the_zone_it_made() {
        let scope = Scope {
            stack: "bandup".into(),
            env: "dev".into(),
            ..Scope::default()
        };
        let r = format!("{}zone:abc123", reference_prefix(&scope));
        assert_eq!(addr_in_reference(&scope, &r), Some(Addr("zone".into())));
        assert_eq!(addr_in_reference(&scope, "bandup:other:dev:zone:abc"), None);
    }
}
