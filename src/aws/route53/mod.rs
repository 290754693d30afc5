//! Route 53: hosted zones and record sets (records cannot carry tags), and what they
//! share: error codes, zone tags (read ten zones per call), record listing, and the
//! ownership markers that say which record sets are ours.
//!
//! Record sets carry no tags, so ownership is written beside each record, in the same
//! change batch (Route 53 applies a batch atomically), as a TXT record in the manner of
//! external-dns's TXT registry: the record `app.example.com` of type `A` is ours when
//! `_bandup-a.app.example.com` holds `"bandup:stack=<stack> bandup:env=<env>
//! bandup:resource=<address>"`. A record without our marker is never changed or
//! deleted. Records other types write for themselves (an ACM certificate's validation
//! CNAMEs) add `bandup:part=<what>` to the marker, so the record type leaves them alone.

pub mod record;
pub mod zone;

use super::retry::service_calls;
use crate::provider::{ErrorKind, ProviderError, Scope, TagDelta};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType, Tag,
    TagResourceType,
};
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

/// The kind of a Route 53 error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "NoSuchHostedZone" | "NoSuchChange" => ErrorKind::NotFound,
        "HostedZoneNotEmpty" => ErrorKind::InUse,
        "HostedZoneAlreadyExists" | "ConflictingDomainExists" => ErrorKind::Conflict,
        "PriorRequestNotComplete" => ErrorKind::NotYetVisible,
        _ => return None,
    })
}

service_calls!(aws_sdk_route53, &["PriorRequestNotComplete"], codes);

/// A zone id as the stack writes it: `Z0123...`, without `/hostedzone/`.
pub fn zone_id(id: &str) -> String {
    id.trim_start_matches("/hostedzone/").to_string()
}

/// A DNS name as compared: lowercase, without the final dot, `*` as written (Route 53
/// answers `\052`).
pub fn dns_name(name: &str) -> String {
    name.trim_end_matches('.')
        .replace("\\052", "*")
        .to_ascii_lowercase()
}

/// The TXT record that says who owns the record `name` of type `rtype`.
pub fn marker_name(name: &str, rtype: &str) -> String {
    format!("_bandup-{}.{}", rtype.to_ascii_lowercase(), dns_name(name))
}

/// The marker's value: whose the record is (with `part` for records another type writes).
pub fn marker_value(scope: &Scope, addr: &str, part: Option<&str>) -> String {
    let part = part.map(|p| ("bandup:part", p));
    marker_text(&scope.stack, &scope.env, addr, part.as_slice())
}

/// A marker's value from its parts: stack, environment, address and any more fields
/// (`bandup:part`, `bandup:protect`).
pub fn marker_text(stack: &str, env: &str, addr: &str, more: &[(&str, &str)]) -> String {
    let mut v = format!("bandup:stack={stack} bandup:env={env} bandup:resource={addr}");
    for (k, val) in more {
        v.push_str(&format!(" {k}={val}"));
    }
    format!("\"{v}\"")
}

/// What a marker says: its `bandup:` keys and values.
pub fn marker_fields(value: &str) -> BTreeMap<String, String> {
    value
        .trim_matches('"')
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// A record set in a zone, as listed: its name, type and the set itself.
#[derive(Clone, Debug)]
pub struct Rrset {
    pub name: String,
    pub rtype: String,
    pub set: ResourceRecordSet,
}

impl Rrset {
    pub fn values(&self) -> Vec<String> {
        self.set
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect()
    }
}

/// Every record set of a zone (ListResourceRecordSets, paginated by name and type).
pub async fn list_records(
    r53: &aws_sdk_route53::Client,
    zone: &str,
) -> Result<Vec<Rrset>, ProviderError> {
    let mut out = Vec::new();
    let mut next: Option<(String, RrType, Option<String>)> = None;
    loop {
        let mut call = r53.list_resource_record_sets().hosted_zone_id(zone);
        if let Some((name, t, ident)) = next.take() {
            call = call
                .start_record_name(name)
                .start_record_type(t)
                .set_start_record_identifier(ident);
        }
        let page = call
            .send()
            .await
            .map_err(|e| error("ListResourceRecordSets", e))?;
        out.extend(page.resource_record_sets().iter().map(|s| Rrset {
            name: dns_name(s.name()),
            rtype: s.r#type().as_str().to_string(),
            set: s.clone(),
        }));
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(n), Some(t)) => {
                next = Some((
                    n.to_string(),
                    t.clone(),
                    page.next_record_identifier().map(str::to_string),
                ))
            }
            _ => return Ok(out),
        }
    }
}

/// The record set `name`/`rtype` of `zone`, if there is one (one ListResourceRecordSets
/// starting at it).
pub async fn find_record(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    name: &str,
    rtype: &str,
) -> Result<Option<Rrset>, ProviderError> {
    let out = r53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(format!("{}.", dns_name(name)))
        .start_record_type(RrType::from(rtype))
        .max_items(1)
        .send()
        .await
        .map_err(|e| error("ListResourceRecordSets", e))?;
    Ok(out
        .resource_record_sets()
        .iter()
        .find(|s| dns_name(s.name()) == dns_name(name) && s.r#type().as_str() == rtype)
        .map(|s| Rrset {
            name: dns_name(s.name()),
            rtype: rtype.to_string(),
            set: s.clone(),
        }))
}

/// A TXT record set holding `value` (the ownership marker).
pub fn txt_set(name: &str, value: &str) -> Result<ResourceRecordSet, ProviderError> {
    ResourceRecordSet::builder()
        .name(format!("{}.", dns_name(name)))
        .r#type(RrType::Txt)
        .ttl(300)
        .resource_records(record_value(value)?)
        .build()
        .map_err(|e| ProviderError::new("ChangeResourceRecordSets", e.to_string()))
}

pub fn record_value(value: &str) -> Result<ResourceRecord, ProviderError> {
    ResourceRecord::builder()
        .value(value)
        .build()
        .map_err(|e| ProviderError::new("ChangeResourceRecordSets", e.to_string()))
}

/// One change of a batch.
pub fn change(action: ChangeAction, set: ResourceRecordSet) -> Result<Change, ProviderError> {
    Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| ProviderError::new("ChangeResourceRecordSets", e.to_string()))
}

/// Apply `changes` to `zone` as one batch (all or nothing). Route 53 makes a change live
/// on its name servers within seconds (GetChange: INSYNC); nothing here waits for that:
/// what reads the records next (ACM's validation) keeps looking by itself.
pub async fn apply_batch(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    comment: &str,
    changes: Vec<Change>,
) -> Result<(), ProviderError> {
    if changes.is_empty() {
        return Ok(());
    }
    let batch = ChangeBatch::builder()
        .comment(comment)
        .set_changes(Some(changes))
        .build()
        .map_err(|e| ProviderError::new("ChangeResourceRecordSets", e.to_string()))?;
    // A change batch is not idempotent (a repeated CREATE fails, a repeated DELETE
    // fails): never repeated blindly; the engine reads the markers before trying again.
    r53.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(batch)
        .customize()
        .config_override(once::<
            aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError,
        >())
        .send()
        .await
        .map_err(|e| error("ChangeResourceRecordSets", e))?;
    Ok(())
}

pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// The tags of `zones` (ids), ten per ListTagsForResources call, concurrently.
pub async fn zone_tags(
    r53: &aws_sdk_route53::Client,
    zones: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ProviderError> {
    let pages = try_join_all(zones.chunks(10).map(|ids| async move {
        r53.list_tags_for_resources()
            .resource_type(TagResourceType::Hostedzone)
            .set_resource_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| error("ListTagsForResources", e))
    }))
    .await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.resource_tag_sets())
        .filter_map(|s| Some((zone_id(s.resource_id()?), tag_map(s.tags()))))
        .collect())
}

/// Every public or private zone of the account: id and name (ListHostedZones, paginated;
/// Route 53 is global).
pub async fn list_zones(
    r53: &aws_sdk_route53::Client,
) -> Result<Vec<aws_sdk_route53::types::HostedZone>, ProviderError> {
    let pages: Vec<_> = r53
        .list_hosted_zones()
        .into_paginator()
        .send()
        .collect::<Result<_, _>>()
        .await
        .map_err(|e| error("ListHostedZones", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.hosted_zones().iter().cloned())
        .collect())
}

/// The ids of the zones `scope` owns (by their tags), with those tags.
pub async fn owned_zones(
    r53: &aws_sdk_route53::Client,
    scope: &Scope,
) -> Result<Vec<(aws_sdk_route53::types::HostedZone, BTreeMap<String, String>)>, ProviderError> {
    let zones = list_zones(r53).await?;
    let ids: Vec<String> = zones.iter().map(|z| zone_id(z.id())).collect();
    let mut tags = zone_tags(r53, &ids).await?;
    Ok(zones
        .into_iter()
        .filter_map(|z| {
            let t = tags.remove(&zone_id(z.id()))?;
            scope.owns(&t).then_some((z, t))
        })
        .collect())
}

/// Set and remove tags on a hosted zone.
pub async fn retag(
    r53: &aws_sdk_route53::Client,
    zone: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    let add: Vec<Tag> = delta
        .set
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    let mut call = r53
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(zone);
    if !add.is_empty() {
        call = call.set_add_tags(Some(add));
    }
    if !delta.remove.is_empty() {
        call = call.set_remove_tag_keys(Some(delta.remove.clone()));
    }
    call.send()
        .await
        .map_err(|e| error("ChangeTagsForResource", e))?;
    Ok(())
}

/// Whose a record set is, from the markers among `records` (one zone's listing): the
/// marker's fields, keyed by the marked record's name and type.
pub fn markers(records: &[Rrset]) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    records
        .iter()
        .filter(|r| r.rtype == "TXT" && r.name.starts_with("_bandup-"))
        .filter_map(|r| {
            let (head, name) = r.name.split_once('.')?;
            let rtype = head.trim_start_matches("_bandup-").to_ascii_uppercase();
            let fields = marker_fields(r.values().first()?);
            fields
                .contains_key("bandup:resource")
                .then(|| ((name.to_string(), rtype), fields))
        })
        .collect()
}

/// True when the marker `fields` say the record belongs to `scope`.
pub fn ours(scope: &Scope, fields: &BTreeMap<String, String>) -> bool {
    fields.get("bandup:stack") == Some(&scope.stack) && fields.get("bandup:env") == Some(&scope.env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_names_the_record_it_marks_and_says_whose_it_is() {
        let scope = Scope {
            stack: "bandup".into(),
            env: "dev".into(),
            ..Default::default()
        };
        assert_eq!(
            marker_name("App.Example.com.", "A"),
            "_bandup-a.app.example.com"
        );
        let v = marker_value(&scope, "app_alias[a]", None);
        assert_eq!(
            v,
            "\"bandup:stack=bandup bandup:env=dev bandup:resource=app_alias[a]\""
        );
        let f = marker_fields(&v);
        assert!(ours(&scope, &f));
        assert_eq!(f["bandup:resource"], "app_alias[a]");
        assert_eq!(dns_name("\\052.example.com."), "*.example.com");
    }
}
