//! `aws_ecs_cluster`: the ECS cluster the stack's Fargate services run in, with
//! Container Insights as a field. Named `<stack>-<env>-<address>`.

use super::{arn_name, deleted, error, eventually, once, owned_clusters, retag, tags};
use crate::aws::{live, name_blockers, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ecs::types::{Cluster as EcsCluster, ClusterSetting, ClusterSettingName};

pub static SCHEMA: Schema = Schema {
    type_name: "aws_ecs_cluster",
    doc: "An ECS cluster for Fargate services.",
    fields: &[Field {
        default: Some(Default::Str("disabled")),
        ..Field::new(
            "container_insights",
            Kind::OneOf(&["enabled", "enhanced", "disabled"]),
            "CloudWatch Container Insights: per-task CPU, memory and network metrics (billed)",
        )
    }],
    attributes: &["id", "name", "arn"],
};

pub struct Cluster {
    ecs: aws_sdk_ecs::Client,
}

impl Cluster {
    pub fn new(c: &Clients) -> Self {
        Cluster { ecs: c.ecs.clone() }
    }

    /// The services still in cluster `name`.
    async fn services(&self, name: &str) -> Result<Vec<String>, ProviderError> {
        let arns: Vec<String> = self
            .ecs
            .list_services()
            .cluster(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListServices", e))?;
        Ok(arns
            .iter()
            .map(|a| format!("service {}", arn_name(a)))
            .collect())
    }
}

fn insights(c: &EcsCluster) -> String {
    c.settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .unwrap_or("disabled")
        .to_string()
}

fn setting(value: &str) -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value(value)
        .build()
}

fn to_live(owned: Owned, c: &EcsCluster) -> Live {
    let name = c.cluster_name().unwrap_or_default();
    let props = Props::from([("container_insights".to_string(), Value::Str(insights(c)))]);
    live(
        owned,
        name,
        props,
        Vec::new(),
        &[
            ("name", Value::Str(name.to_string())),
            (
                "arn",
                Value::Str(c.cluster_arn().unwrap_or_default().to_string()),
            ),
        ],
    )
}

#[async_trait]
impl Provider for Cluster {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One paginated ListClusters narrowed to the stack's name prefix, then
    /// DescribeClusters with tags (100 per call).
    async fn read(&self, scope: &Scope, _only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        Ok(owned_clusters(&self.ecs, scope)
            .await?
            .into_iter()
            .map(|(c, o)| to_live(o, &c))
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let out = self
            .ecs
            .create_cluster()
            .cluster_name(req.name())
            .settings(setting(req.str("container_insights")))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_ecs::operation::create_cluster::CreateClusterError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateCluster", e))?;
        let c = out
            .cluster()
            .cloned()
            .unwrap_or_else(|| EcsCluster::builder().build());
        let mut l = to_live(Owned::made(req), &c);
        // What was asked for, whatever the answer echoes.
        l.props.insert(
            "container_insights".into(),
            Value::Str(req.str("container_insights").to_string()),
        );
        Ok(l)
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        self.ecs
            .update_cluster()
            .cluster(&l.id)
            .settings(setting(req.str("container_insights")))
            .customize()
            .config_override(eventually::<
                aws_sdk_ecs::operation::update_cluster::UpdateClusterError,
            >())
            .send()
            .await
            .map_err(|e| error("UpdateCluster", e))?;
        let mut next = l.clone();
        next.props.insert(
            "container_insights".into(),
            Value::Str(req.str("container_insights").to_string()),
        );
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ecs, l, delta).await
    }

    /// AWS refuses while services are still in the cluster
    /// (`ClusterContainsServicesException`): they are named.
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let result = deleted(
            "DeleteCluster",
            self.ecs.delete_cluster().cluster(&l.id).send().await,
        );
        let advice = "delete those services first";
        name_blockers(result, &l.id, "still holds", self.services(&l.id), advice).await
    }
}
