//! The Resource Groups Tagging API as an index of one scope's tags: one paginated
//! `GetResources`, filtered on the server by the stack and environment tags, stands in
//! for a per-resource tag read wherever it shows exactly what the stack wants.
//!
//! The index lags behind the services (it lists resources deleted minutes ago and may
//! not list one made seconds ago), so its answers are hints (`Scope::hint_holds`): each
//! type still lists its resources with its own service, and reads the tags of any
//! resource the index does not vouch for. Without permission for `tag:GetResources`,
//! every type reads its tags itself, as before.

use crate::provider::{ProviderError, Scope, TAG_ENV, TAG_STACK};
use aws_sdk_resourcegroupstagging::types::TagFilter;
use aws_sdk_resourcegroupstagging::Client;
use std::collections::BTreeMap;
use std::future::Future;

pub type Tags = BTreeMap<String, String>;

/// The resource types whose tags are taken from the index, as `GetResources` names them
/// (as their ARNs do). The rest read their tags in their listing (EC2, secrets, CodeBuild,
/// REST APIs), in batches (load balancers, zones), with a read they make anyway (Lambda
/// functions, ECS), or are not covered (IAM, and ACM certificates outside the region).
pub const INDEXED: &[&str] = &[
    "s3",
    "sqs",
    "logs:log-group",
    "ecr:repository",
    "rds:subgrp",
    "elasticache:subnetgroup",
    "wafv2",
    "lambda:event-source-mapping",
    "codepipeline",
    "codeconnections:connection",
];

/// The tags of `arn`: the index's when it vouches for them, else `direct`'s answer.
pub async fn tags<F>(
    tagging: &Client,
    scope: &Scope,
    arn: Option<&str>,
    direct: F,
) -> Result<Tags, ProviderError>
where
    F: Future<Output = Result<Tags, ProviderError>>,
{
    let index = scope
        .tag_index
        .get_or_init(|| {
            // On a task of its own: the call is shared by every type, so it counts in
            // the run's total but in no one type's reads.
            let (tagging, stack, env) = (tagging.clone(), scope.stack.clone(), scope.env.clone());
            async move {
                tokio::spawn(async move { fetch(&tagging, &stack, &env).await })
                    .await
                    .unwrap_or_default()
            }
        })
        .await;
    match arn.and_then(|a| index.get(a)) {
        Some(t) if scope.hint_holds(t) => Ok(t.clone()),
        _ => direct.await,
    }
}

/// Every resource of the indexed types carrying this scope's stack and environment
/// tags, a page at a time. An error leaves the index empty: the types read their own tags.
async fn fetch(tagging: &Client, stack: &str, env: &str) -> BTreeMap<String, Tags> {
    let filter = |k: &str, v: &str| TagFilter::builder().key(k).values(v).build();
    let pages: Result<Vec<_>, _> = tagging
        .get_resources()
        .tag_filters(filter(TAG_STACK, stack))
        .tag_filters(filter(TAG_ENV, env))
        .set_resource_type_filters(Some(INDEXED.iter().map(|t| t.to_string()).collect()))
        // Both limits bind: 500 tags are about 45 of our resources (ten tags each).
        .resources_per_page(100)
        .tags_per_page(500)
        .into_paginator()
        .send()
        .collect()
        .await;
    let pages = match pages {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(
                "tag index unavailable, reading tags per resource: {}",
                aws_sdk_resourcegroupstagging::error::DisplayErrorContext(&e)
            );
            return BTreeMap::new();
        }
    };
    pages
        .iter()
        .flat_map(|p| p.resource_tag_mapping_list())
        .filter_map(|m| {
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            Some((m.resource_arn()?.to_string(), tags))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::model::{Addr, Props};
    use crate::provider::Scope;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn scope(protected: &[&str]) -> Scope {
        let declared = BTreeMap::from([(
            "aws_sqs_queue".to_string(),
            vec![(Addr("jobs".into()), Props::new())],
        )]);
        Scope {
            stack: "s".into(),
            env: "dev".into(),
            declared: Arc::new(declared),
            protected: Arc::new(protected.iter().map(|a| Addr(a.to_string())).collect()),
            ..Default::default()
        }
    }

    fn tags(s: &Scope, addr: &str) -> BTreeMap<String, String> {
        s.desired_tags(&Addr(addr.into()), false)
            .into_iter()
            .collect()
    }

    #[test]
    fn a_hint_holds_only_for_a_declared_address_with_exactly_its_tags() {
        let s = scope(&[]);
        assert!(s.hint_holds(&tags(&s, "jobs")));
        let mut created = tags(&s, "jobs");
        created.insert("bandup:created".into(), "2026-11-30T00:00:00Z".into());
        assert!(s.hint_holds(&created), "creation tags are not compared");
        let mut extra = tags(&s, "jobs");
        extra.insert("owner".into(), "someone".into());
        assert!(!s.hint_holds(&extra), "a tag to remove is read again");
        assert!(!s.hint_holds(&tags(&s, "gone")), "an orphan is read again");
        assert!(!s.hint_holds(&BTreeMap::new()));
    }

    #[test]
    fn a_protected_address_needs_its_protect_tag_in_the_hint() {
        let s = scope(&["jobs"]);
        assert!(!s.hint_holds(&tags(&s, "jobs")));
        let mut p = tags(&s, "jobs");
        p.insert("bandup:protect".into(), "true".into());
        assert!(s.hint_holds(&p));
    }
}
