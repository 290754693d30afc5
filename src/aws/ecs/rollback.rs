//! Putting a service back on the task definition revision it ran before a failed deploy,
//! and removing the revisions that deploy registered. (Applying the stack again would
//! register yet another revision instead of going back to the one that ran.)

use super::service::steadiness;
use super::task_definition::{family_of, revision_of};
use super::{deleted, error};
use crate::aws::wait::Poll;
use crate::provider::ProviderError;
use aws_sdk_ecs::types::{SortOrder, TaskDefinitionStatus};
use std::time::{Duration, Instant};

/// How long a service moved back may take to be steady before the rollback gives up.
const STEADY_WITHIN: Duration = Duration::from_secs(15 * 60);

/// Move `service` back to `previous` (unless its circuit breaker already did), wait until
/// that deployment is steady when `wait`, then deregister and delete every revision of
/// the family newer than `previous`. `say` reports each step.
pub async fn restore(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    previous: &str,
    wait: bool,
    say: &(dyn Fn(String) + Send + Sync),
) -> Result<(), ProviderError> {
    let described = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .map_err(|e| error("DescribeServices", e))?;
    let running = described
        .services()
        .first()
        .and_then(|s| s.task_definition())
        .unwrap_or_default()
        .to_string();
    let name = service.rsplit('/').next().unwrap_or(service);
    let short = previous.rsplit('/').next().unwrap_or(previous);
    if running == previous {
        say(format!("{name} runs {short} again"));
    } else {
        say(format!("{name}: moving back to {short}"));
        ecs.update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(previous)
            .send()
            .await
            .map_err(|e| error("UpdateService", e))?;
        if wait {
            let started = Instant::now();
            let mut last = String::new();
            loop {
                let out = ecs
                    .describe_services()
                    .cluster(cluster)
                    .services(service)
                    .send()
                    .await
                    .map_err(|e| error("DescribeServices", e))?;
                let Some(s) = out.services().first() else {
                    return Err(ProviderError::new(
                        "DescribeServices",
                        "the service is gone",
                    ));
                };
                match steadiness(s, previous) {
                    Poll::Ready(()) => break,
                    Poll::Failed(f) => return Err(ProviderError::new("rollback", f)),
                    Poll::Pending(p) => {
                        if p != last {
                            say(format!("{name}: {p}"));
                            last = p;
                        }
                    }
                }
                if started.elapsed() > STEADY_WITHIN {
                    return Err(ProviderError::new(
                        "rollback",
                        format!("{name} was not steady on {short} within 15 minutes ({last})"),
                    ));
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            say(format!("{name} is steady on {short}"));
        }
    }
    // The revisions the failed deploy registered.
    let family = family_of(previous);
    let newer: Vec<String> = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<String>, _>>()
        .await
        .map_err(|e| error("ListTaskDefinitions", e))?
        .into_iter()
        .filter(|a| family_of(a) == family && revision_of(a) > revision_of(previous))
        .collect();
    for arn in &newer {
        deleted(
            "DeregisterTaskDefinition",
            ecs.deregister_task_definition()
                .task_definition(arn)
                .send()
                .await,
        )?;
        say(format!(
            "deregistered {}",
            arn.rsplit('/').next().unwrap_or(arn)
        ));
    }
    if !newer.is_empty() {
        deleted(
            "DeleteTaskDefinitions",
            ecs.delete_task_definitions()
                .set_task_definitions(Some(newer.clone()))
                .send()
                .await,
        )?;
    }
    Ok(())
}
