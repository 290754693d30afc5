//! `aws_wafv2_web_acl_association`: a web ACL put in front of a load balancer. An
//! association cannot carry tags: it is identified by its load balancer (which has at
//! most one web ACL) and is this stack's when that load balancer is one a declared
//! association names (a literal ARN, or a reference to a load balancer this stack owns),
//! or one this stack owns associated with a web ACL of this stack (then, no longer
//! declared, it is removed). Both ends force replacement.

use super::{error, eventually, web_acl::named_ours};
use crate::aws::wait::{self, Poll};
use crate::aws::Clients;
use crate::model::schema::{Field, Kind, Schema};
use crate::model::{Addr, Outputs, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_wafv2_web_acl_association",
    doc: "Puts a regional web ACL in front of a load balancer.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("an association is made anew for another web ACL"),
            ..Field::new("web_acl_arn", Kind::Str, "the web ACL, e.g. ${waf.arn}")
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("an association is made anew for another load balancer"),
            ..Field::new(
                "resource_arn",
                Kind::Str,
                "the load balancer, e.g. ${alb.arn}",
            )
        },
    ],
    attributes: &["id"],
};

/// The provider of `aws_wafv2_web_acl_association`.
pub struct Association {
    waf: aws_sdk_wafv2::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

impl Association {
    pub fn new(c: &Clients) -> Self {
        Association {
            waf: c.wafv2.clone(),
            elbv2: c.elbv2.clone(),
        }
    }
}

/// An association as found: it carries no tags, so it is said to carry `tags` (the ones
/// the stack wants), and the engine finds nothing to retag.
fn made(addr: Addr, acl: &str, resource: &str, tags: BTreeMap<String, String>) -> Live {
    let props = Props::from([
        ("web_acl_arn".to_string(), Value::Str(acl.to_string())),
        ("resource_arn".to_string(), Value::Str(resource.to_string())),
    ]);
    let mut outputs = Outputs::new();
    outputs.insert("id".into(), Value::Str(resource.to_string()));
    Live {
        addr,
        id: resource.to_string(),
        props,
        outputs,
        refs: vec![acl.to_string(), resource.to_string()],
        created: None,
        tags,
        pending: None,
    }
}

/// The load balancers this stack owns: ARN -> address (DescribeLoadBalancers, then
/// DescribeTags for twenty at a time).
async fn owned_load_balancers(
    elbv2: &aws_sdk_elasticloadbalancingv2::Client,
    scope: &Scope,
) -> Result<BTreeMap<String, Addr>, ProviderError> {
    // The load balancer service's own errors (its provider lives in `elbv2`).
    fn elb_error<E>(
        operation: &str,
        e: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> ProviderError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        crate::aws::aws_error(operation, e, |c| {
            (c == "LoadBalancerNotFound").then_some(crate::provider::ErrorKind::NotFound)
        })
    }
    let lbs: Vec<_> = elbv2
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| elb_error("DescribeLoadBalancers", e))?;
    let arns: Vec<String> = lbs
        .iter()
        .filter_map(|l| l.load_balancer_arn().map(str::to_string))
        .collect();
    let pages = try_join_all(arns.chunks(20).map(|chunk| async move {
        elbv2
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| elb_error("DescribeTags", e))
    }))
    .await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.tag_descriptions())
        .filter_map(|d| {
            let tags: BTreeMap<String, String> = d
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect();
            let owned = crate::aws::owned(scope, tags)?;
            Some((d.resource_arn()?.to_string(), owned.addr))
        })
        .collect())
}

/// A declared end: a literal ARN, or the address a reference points at.
enum End {
    Arn(String),
    Ref(Addr),
}

fn end(v: Option<&Value>) -> Option<End> {
    match v? {
        Value::Str(s) => Some(End::Arn(s.clone())),
        Value::Ref(r) => r.targets.first().cloned().map(End::Ref),
        _ => None,
    }
}

#[async_trait]
impl Provider for Association {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// DescribeLoadBalancers and DescribeTags (twenty a call) for the load balancers
    /// this stack owns, then GetWebACLForResource for each of those and each literal
    /// load balancer ARN declared, concurrently: 1 + ceil(n/20) + candidates.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let owned = owned_load_balancers(&self.elbv2, scope).await?;
        let declared: Vec<(Addr, End)> = scope
            .declared_of(SCHEMA.type_name)
            .iter()
            .filter_map(|(a, p)| Some((a.clone(), end(p.get("resource_arn"))?)))
            .collect();
        let mut candidates: Vec<String> = owned.keys().cloned().collect();
        for (_, e) in &declared {
            if let End::Arn(a) = e {
                if !candidates.contains(a) {
                    candidates.push(a.clone());
                }
            }
        }
        let found = try_join_all(candidates.into_iter().map(|lb| async move {
            let out = self
                .waf
                .get_web_acl_for_resource()
                .resource_arn(&lb)
                .send()
                .await;
            match out {
                Ok(o) => Ok(o.web_acl().map(|w| (lb, w.arn().to_string()))),
                // The load balancer is gone: nothing is associated with it.
                Err(e) => match error("GetWebACLForResource", e) {
                    e if e.is_not_found() => Ok(None),
                    e => Err(e),
                },
            }
        }))
        .await?;
        let mut out = Vec::new();
        for (lb, acl) in found.into_iter().flatten() {
            let lb_addr = owned.get(&lb);
            let addr = declared
                .iter()
                .find(|(_, e)| match e {
                    End::Arn(a) => *a == lb,
                    End::Ref(t) => Some(t) == lb_addr,
                })
                .map(|(a, _)| a.clone())
                .or_else(|| {
                    // No longer declared: ours to remove when both ends are this stack's.
                    let lb_addr = lb_addr?;
                    named_ours(scope, &acl)
                        .then(|| Addr::new(SCHEMA.type_name, Some(lb_addr.as_str())))
                });
            let Some(addr) = addr else { continue };
            if only.is_some_and(|o| *o != addr) {
                continue;
            }
            let tags = scope.tags_for(&addr).into_iter().collect();
            out.push(made(addr, &acl, &lb, tags));
        }
        Ok(out)
    }

    /// A load balancer still provisioning is refused (WAFUnavailableEntityException):
    /// tried again until it is ready, at most the create timeout.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let acl = req.str("web_acl_arn").to_string();
        let lb = req.str("resource_arn").to_string();
        wait::until(req, "associating", || async {
            let r = self
                .waf
                .associate_web_acl()
                .web_acl_arn(&acl)
                .resource_arn(&lb)
                .customize()
                .config_override(eventually::<
                    aws_sdk_wafv2::operation::associate_web_acl::AssociateWebACLError,
                >())
                .send()
                .await
                .map_err(|e| error("AssociateWebACL", e));
            match r {
                Ok(_) => Ok(Poll::Ready(())),
                Err(e) if e.code.as_deref() == Some("WAFUnavailableEntityException") => {
                    Ok(Poll::Pending("load balancer not yet available".into()))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(made(
            req.addr.clone(),
            &acl,
            &lb,
            req.tags().into_iter().collect(),
        ))
    }

    fn taggable(&self) -> bool {
        false
    }

    /// Associations carry no tags.
    async fn retag(&self, _l: &Live, _delta: &TagDelta) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Removes the web ACL from the load balancer, unless another web ACL has been put
    /// there since (that one is not this association's).
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let acl = crate::aws::prop_str(&l.props, "web_acl_arn");
        let current = match self
            .waf
            .get_web_acl_for_resource()
            .resource_arn(&l.id)
            .send()
            .await
        {
            Ok(o) => o.web_acl().map(|w| w.arn().to_string()),
            Err(e) => match error("GetWebACLForResource", e) {
                e if e.is_not_found() => return Ok(()),
                e => return Err(e),
            },
        };
        if current.as_deref() != Some(acl) {
            return Ok(());
        }
        super::deleted(
            "DisassociateWebACL",
            self.waf
                .disassociate_web_acl()
                .resource_arn(&l.id)
                .send()
                .await,
        )
    }
}
