//! `aws_acm_certificate`: a public TLS certificate validated by DNS. Requested with its
//! tags and an idempotency token; its validation CNAMEs are written into the given hosted
//! zone with ownership markers (`bandup:part=validation`, see the module `route53`) and
//! deleted with it; the create waits until ACM has issued it. Domain names force
//! replacement, made beside the old copy (a listener still uses it).

use super::{deleted, error, eventually, list_tags, once, retag, tags};
use crate::aws::route53::{
    apply_batch, change, dns_name, find_record, list_zones, marker_fields, marker_name,
    marker_value, ours, record_value, txt_set, zone_id,
};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, name_blockers, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta, Timeouts,
};
use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, ValidationMethod};
use aws_sdk_route53::types::{ChangeAction, ResourceRecordSet, RrType};
use futures_util::future::try_join_all;
use std::collections::BTreeSet;
use std::time::Duration;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_acm_certificate",
    doc: "A public TLS certificate from ACM, validated by DNS records in a hosted zone.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("a certificate's names cannot change: ACM issues a new one"),
            ..Field::new(
                "domain_name",
                Kind::Str,
                "the name it is for, e.g. app.example.com",
            )
        },
        Field {
            force_new: true,
            replace_why: Some("a certificate's names cannot change: ACM issues a new one"),
            default: Some(Default::EmptyList),
            ..Field::new(
                "subject_alternative_names",
                Kind::List(&Kind::Str),
                "further names it covers",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "zone_id",
                Kind::Str,
                "the hosted zone its validation records are written to, e.g. ${zone.id}",
            )
        },
    ],
    attributes: &["id", "arn", "domain_name", "status"],
};

/// The provider of `aws_acm_certificate`.
pub struct Certificate {
    acm: aws_sdk_acm::Client,
    r53: aws_sdk_route53::Client,
}

impl Certificate {
    pub fn new(c: &Clients) -> Self {
        Certificate {
            acm: c.acm.clone(),
            r53: c.route53.clone(),
        }
    }
}

/// What marks a validation record as written for this certificate.
const PART: &str = "validation";

fn status(c: &CertificateDetail) -> String {
    c.status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

fn names(c: &CertificateDetail) -> (String, Vec<String>) {
    let domain = c.domain_name().unwrap_or_default().to_string();
    let sans = c
        .subject_alternative_names()
        .iter()
        .filter(|s| **s != domain)
        .cloned()
        .collect();
    (domain, sans)
}

/// The validation CNAMEs ACM asks for (name and value), once it has said them.
fn validation_records(c: &CertificateDetail) -> Option<Vec<(String, String)>> {
    let opts = c.domain_validation_options();
    if opts.is_empty() {
        return None;
    }
    let mut out = BTreeSet::new();
    for o in opts {
        let r = o.resource_record()?;
        out.insert((dns_name(r.name()), r.value().to_string()));
    }
    Some(out.into_iter().collect())
}

fn made(owned: Owned, c: &CertificateDetail, zone: Option<String>) -> Live {
    let arn = c.certificate_arn().unwrap_or_default().to_string();
    let (domain, sans) = names(c);
    let mut props = Props::from([
        ("domain_name".to_string(), Value::Str(domain.clone())),
        (
            "subject_alternative_names".to_string(),
            Value::List(sans.into_iter().map(Value::Str).collect()),
        ),
    ]);
    if let Some(z) = &zone {
        props.insert("zone_id".into(), Value::Str(z.clone()));
    }
    let st = status(c);
    let mut l = live(
        owned,
        &arn,
        props,
        zone.into_iter().collect(),
        &[
            ("arn", Value::Str(arn.clone())),
            ("domain_name", Value::Str(domain)),
            ("status", Value::Str(st.clone())),
        ],
    );
    if st == "PENDING_VALIDATION" {
        l.pending = Some(st);
    }
    l
}

/// The hosted zone a domain's records live in: the zone whose name is the longest
/// suffix of it (ACM does not remember the zone; used to find the validation records
/// of a certificate no longer declared).
fn zone_for(zones: &[aws_sdk_route53::types::HostedZone], domain: &str) -> Option<String> {
    let d = dns_name(domain);
    zones
        .iter()
        .filter(|z| {
            let n = dns_name(z.name());
            d == n || d.ends_with(&format!(".{n}"))
        })
        .max_by_key(|z| z.name().len())
        .map(|z| zone_id(z.id()))
}

impl Certificate {
    async fn describe(&self, arn: &str) -> Result<CertificateDetail, ProviderError> {
        let out = self
            .acm
            .describe_certificate()
            .certificate_arn(arn)
            .customize()
            .config_override(eventually::<
                aws_sdk_acm::operation::describe_certificate::DescribeCertificateError,
            >())
            .send()
            .await
            .map_err(|e| error("DescribeCertificate", e))?;
        out.certificate().cloned().ok_or_else(|| {
            ProviderError::new("DescribeCertificate", "no certificate in the answer")
        })
    }

    /// Write the validation records ACM asks for into `zone` (each with its marker),
    /// leaving any that are already there with the value ACM wants (ACM gives the same
    /// record to every certificate of a domain in an account).
    async fn write_validation(
        &self,
        req: &Request<'_>,
        zone: &str,
        records: &[(String, String)],
    ) -> Result<(), ProviderError> {
        let mut changes = Vec::new();
        for (name, value) in records {
            if let Some(have) = find_record(&self.r53, zone, name, "CNAME").await? {
                if have.values().iter().any(|v| dns_name(v) == dns_name(value)) {
                    continue;
                }
                return Err(ProviderError::new(
                    "ChangeResourceRecordSets",
                    format!(
                        "the validation record {name} CNAME in hosted zone {zone} holds {} where ACM asks for {value}: it is not this stack's; delete it, then run apply again",
                        have.values().join(", ")
                    ),
                ));
            }
            let set = ResourceRecordSet::builder()
                .name(format!("{name}."))
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(record_value(value)?)
                .build()
                .map_err(|e| ProviderError::new("ChangeResourceRecordSets", e.to_string()))?;
            changes.push(change(ChangeAction::Create, set)?);
            changes.push(change(
                ChangeAction::Upsert,
                txt_set(
                    &marker_name(name, "CNAME"),
                    &marker_value(req.scope, req.addr.as_str(), Some(PART)),
                )?,
            )?);
        }
        apply_batch(
            &self.r53,
            zone,
            &format!("bandup-infra: {} validation", req.addr),
            changes,
        )
        .await
    }

    /// Delete the validation records of `arn` that this certificate's markers own in
    /// `zone`, except those another certificate of the stack still needs.
    async fn delete_validation(
        &self,
        scope: &Scope,
        addr: &Addr,
        arn: &str,
        zone: &str,
        records: &[(String, String)],
    ) -> Result<(), ProviderError> {
        let still_needed = self.needed_by_others(scope, arn, records).await?;
        let mut changes = Vec::new();
        for (name, _) in records.iter().filter(|(n, _)| !still_needed.contains(n)) {
            let Some(marker) =
                find_record(&self.r53, zone, &marker_name(name, "CNAME"), "TXT").await?
            else {
                continue;
            };
            let mine = marker
                .values()
                .first()
                .map(|v| marker_fields(v))
                .is_some_and(|f| {
                    ours(scope, &f)
                        && f.get("bandup:resource") == Some(&addr.0)
                        && f.get("bandup:part").map(String::as_str) == Some(PART)
                });
            if !mine {
                continue;
            }
            changes.push(change(ChangeAction::Delete, marker.set)?);
            if let Some(r) = find_record(&self.r53, zone, name, "CNAME").await? {
                changes.push(change(ChangeAction::Delete, r.set)?);
            }
        }
        apply_batch(
            &self.r53,
            zone,
            &format!("bandup-infra: {addr} validation deleted"),
            changes,
        )
        .await
    }

    /// Validation record names that another certificate of this stack (one covering the
    /// same domain, such as the replacement made beside this one) still needs.
    async fn needed_by_others(
        &self,
        scope: &Scope,
        arn: &str,
        records: &[(String, String)],
    ) -> Result<BTreeSet<String>, ProviderError> {
        let certs = self.list().await?;
        let others = certs.iter().filter(|(a, names)| {
            a != arn
                && names.iter().any(|n| {
                    records
                        .iter()
                        .any(|(r, _)| r.ends_with(&dns_name(n.trim_start_matches("*."))))
                })
        });
        let mut needed = BTreeSet::new();
        for (other, _) in others {
            if !scope.owns(&list_tags(&self.acm, other).await?) {
                continue;
            }
            if let Some(v) = validation_records(&self.describe(other).await?) {
                needed.extend(v.into_iter().map(|(n, _)| n));
            }
        }
        Ok(needed)
    }

    /// Every certificate of the account in this region: ARN and names (ListCertificates,
    /// paginated).
    async fn list(&self) -> Result<Vec<(String, Vec<String>)>, ProviderError> {
        let certs: Vec<aws_sdk_acm::types::CertificateSummary> = self
            .acm
            .list_certificates()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListCertificates", e))?;
        Ok(certs
            .iter()
            .filter_map(|c| {
                let mut names = vec![c.domain_name()?.to_string()];
                names.extend(c.subject_alternative_name_summaries().iter().cloned());
                Some((c.certificate_arn()?.to_string(), names))
            })
            .collect())
    }

    /// Wait until ACM has said which records to write, write them, and wait until the
    /// certificate is issued.
    async fn validate(
        &self,
        req: &Request<'_>,
        arn: &str,
    ) -> Result<CertificateDetail, ProviderError> {
        let zone = zone_id(req.str("zone_id"));
        let records = wait::until(req, "requesting", || async {
            let c = self.describe(arn).await?;
            Ok(match validation_records(&c) {
                Some(r) => Poll::Ready(r),
                None => Poll::Pending(status(&c)),
            })
        })
        .await?;
        self.write_validation(req, &zone, &records).await?;
        wait::until(req, "validating", || async {
            let c = self.describe(arn).await?;
            Ok(match c.status() {
                Some(CertificateStatus::Issued) => Poll::Ready(c),
                Some(CertificateStatus::PendingValidation) | None => Poll::Pending(status(&c)),
                Some(s) => Poll::Failed(s.as_str().to_string()),
            })
        })
        .await
    }
}

#[async_trait]
impl Provider for Certificate {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// ListCertificates (paginated), ListTagsForCertificate for each certificate (ACM
    /// has no batch), DescribeCertificate for each of ours, and ListHostedZones once when
    /// there is one (the zone of its validation records): 1 + n, and 1 + owned more
    /// when the stack has certificates.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let certs = self.list().await?;
        let tagged = try_join_all(certs.into_iter().map(|(arn, _)| async move {
            let tags = match list_tags(&self.acm, &arn).await {
                Ok(t) => t,
                Err(e) if e.is_not_found() => return Ok(None),
                Err(e) => return Err(e),
            };
            Ok::<_, ProviderError>(Some((arn, tags)))
        }))
        .await?;
        let ours: Vec<(String, Owned)> = tagged
            .into_iter()
            .flatten()
            .filter_map(|(arn, tags)| {
                let o = crate::aws::owned(scope, tags)?;
                only.is_none_or(|a| *a == o.addr).then_some((arn, o))
            })
            .collect();
        if ours.is_empty() {
            return Ok(Vec::new());
        }
        let zones = list_zones(&self.r53).await?;
        let zones = &zones;
        try_join_all(ours.into_iter().map(|(arn, o)| async move {
            let c = self.describe(&arn).await?;
            let zone = zone_for(zones, c.domain_name().unwrap_or_default());
            Ok(made(o, &c, zone))
        }))
        .await
    }

    /// The zone its validation records went to is not part of the certificate (ACM does
    /// not keep it): it is used when the records are written and is not compared.
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut d = desired.clone();
        d.remove("zone_id");
        if let Some(Value::List(sans)) = d.get_mut("subject_alternative_names") {
            let domain = crate::aws::prop_str(desired, "domain_name").to_string();
            sans.retain(|s| s.as_str() != Some(domain.as_str()));
        }
        let mut changes = default_diff(&SCHEMA, &d, live);
        // A certificate ACM will never issue (validation timed out, or failed) is of no
        // use to a listener: a new one is requested in its place.
        let status = crate::aws::prop_str(&live.outputs, "status");
        if ["VALIDATION_TIMED_OUT", "FAILED", "REVOKED", "EXPIRED"].contains(&status) {
            changes.push(Change {
                field: "status".into(),
                before: Value::Str(status.into()),
                after: Value::Str("ISSUED".into()),
                forces_replace: true,
                why: Some(
                    "ACM will not issue or renew this certificate: a new one is requested".into(),
                ),
            });
        }
        changes
    }

    fn create_before_delete(&self) -> bool {
        true
    }

    fn timeouts(&self) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(45 * 60),
            ..Timeouts::default()
        }
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let sans: Vec<String> = req
            .get("subject_alternative_names")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let mut all = vec![req.str("domain_name").to_string()];
        all.extend(sans.into_iter().filter(|s| s != req.str("domain_name")));
        let out = self
            .acm
            .request_certificate()
            .domain_name(req.str("domain_name"))
            .set_subject_alternative_names((all.len() > 1).then_some(all))
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(req.scope.client_token(req.addr, req.props))
            .set_tags(Some(tags(req)?))
            .customize()
            .config_override(once::<
                aws_sdk_acm::operation::request_certificate::RequestCertificateError,
            >())
            .send()
            .await
            .map_err(|e| error("RequestCertificate", e))?;
        let arn = out.certificate_arn().unwrap_or_default().to_string();
        let c = self.validate(req, &arn).await?;
        Ok(made(
            Owned::made(req),
            &c,
            Some(zone_id(req.str("zone_id"))),
        ))
    }

    /// A certificate found still waiting for validation (an apply stopped while
    /// waiting): its records are written if missing, and it is waited for.
    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        if l.pending.is_none() {
            return Ok(l);
        }
        let c = self.validate(req, &l.id).await?;
        let owned = Owned::of(&l);
        Ok(made(owned, &c, Some(zone_id(req.str("zone_id")))))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.acm, &l.id, delta).await
    }

    /// Refused (ResourceInUseException) while a load balancer's listener uses it: the
    /// users are named from DescribeCertificate's InUseBy. Its validation records go
    /// after it.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let c = match self.describe(&l.id).await {
            Ok(c) => Some(c),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        let result = deleted(
            "DeleteCertificate",
            self.acm
                .delete_certificate()
                .certificate_arn(&l.id)
                .send()
                .await,
        );
        let users = async {
            Ok(self
                .describe(&l.id)
                .await?
                .in_use_by()
                .iter()
                .map(|u| format!("{u} (is still using it)"))
                .collect())
        };
        let advice = "point those listeners at another certificate or delete them";
        name_blockers(result, &l.id, "is in use", users, advice).await?;
        let zone = match req.props.get("zone_id").and_then(Value::as_str) {
            Some(z) => zone_id(z),
            None => crate::aws::prop_str(&l.props, "zone_id").to_string(),
        };
        let records = c.as_ref().and_then(validation_records).unwrap_or_default();
        if zone.is_empty() || records.is_empty() {
            return Ok(());
        }
        match self
            .delete_validation(req.scope, &l.addr, &l.id, &zone, &records)
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outputs;
    use std::collections::BTreeMap;

    fn cert(status: &str) -> Live {
        let mut outputs = Outputs::new();
        outputs.insert("status".into(), Value::Str(status.into()));
        Live {
            addr: Addr("cert".into()),
            id: "arn:aws:acm:eu-west-2:1:certificate/x".into(),
            props: Props::from([
                (
                    "domain_name".to_string(),
                    Value::Str("app.example.com".into()),
                ),
                (
                    "subject_alternative_names".to_string(),
                    Value::List(Vec::new()),
                ),
            ]),
            outputs,
            refs: Vec::new(),
            created: None,
            tags: BTreeMap::new(),
            pending: None,
        }
    }

    #[test]
    fn a_certificate_acm_will_never_issue_is_replaced_and_the_zone_is_not_compared() {
        let desired = Props::from([
            (
                "domain_name".to_string(),
                Value::Str("app.example.com".into()),
            ),
            (
                "subject_alternative_names".to_string(),
                Value::List(vec![Value::Str("app.example.com".into())]),
            ),
            ("zone_id".to_string(), Value::Str("Z1".into())),
        ]);
        let p = Certificate {
            acm: aws_sdk_acm::Client::from_conf(
                aws_sdk_acm::Config::builder()
                    .behavior_version(aws_sdk_acm::config::BehaviorVersion::latest())
                    .build(),
            ),
            r53: aws_sdk_route53::Client::from_conf(
                aws_sdk_route53::Config::builder()
                    .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
                    .build(),
            ),
        };
        assert!(p.diff(&desired, &cert("ISSUED")).is_empty());
        let changes = p.diff(&desired, &cert("VALIDATION_TIMED_OUT"));
        assert_eq!(changes.len(), 1);
        assert!(changes[0].forces_replace);
        assert_eq!(changes[0].field, "status");
    }
}
