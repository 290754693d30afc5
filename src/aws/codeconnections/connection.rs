//! `aws_codeconnections_connection`: a connection to a repository host (GitHub, GitLab,
//! Bitbucket...) that a pipeline's source action uses. AWS creates it `PENDING`: the
//! operator approves it once in the console (the OAuth handshake with the host, which no
//! API can do); until then a pipeline using it fails at its source stage.

use super::{deleted, error, list_tags, once, retag, tags};
use crate::aws::iam::iam_name;
use crate::aws::{live, tag_index, Clients, Owned};
use crate::model::schema::{Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_codeconnections::types::{Connection as SdkConnection, ProviderType};
use futures_util::future::join_all;

/// The host kinds a connection can reach without a host resource (self-managed GitLab
/// and GitHub Enterprise Server need a `host_arn`, which this type does not declare).
const PROVIDERS: &[&str] = &["GitHub", "GitLab", "Bitbucket", "AzureDevOps"];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_codeconnections_connection",
    doc: "A connection to a repository host; created PENDING, approved once by the operator in the console.",
    fields: &[Field {
        required: true,
        force_new: true,
        replace_why: Some("a connection's provider cannot change: a new connection (and a new handshake) is needed"),
        ..Field::new(
            "provider_type",
            Kind::OneOf(PROVIDERS),
            "the repository host: GitHub, GitLab, Bitbucket or AzureDevOps",
        )
    }],
    attributes: &["id", "arn", "name", "status"],
};

/// CodeConnections names are at most 32 characters.
const MAX_NAME: usize = 32;

/// Where the operator completes the handshake.
pub const CONSOLE: &str = "https://console.aws.amazon.com/codesuite/settings/connections";

/// What the operator must do for a connection still `PENDING`.
pub fn handshake(name: &str, region: &str) -> String {
    format!(
        "connection {name} is PENDING: AWS requires a one-time approval that no API can give. Open {CONSOLE}?region={region}, select {name}, choose \"Update pending connection\" and authorize AWS with the repository host; pipelines using it fail at their source stage until then"
    )
}

/// The connection's name: `<stack>-<env>-<address>`, shortened with a hash to 32.
pub fn connection_name(full: &str) -> String {
    iam_name(full, MAX_NAME)
}

pub struct Connection {
    cc: aws_sdk_codeconnections::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Connection {
    pub fn new(c: &Clients) -> Self {
        Connection {
            cc: c.codeconnections.clone(),
            tagging: c.tagging.clone(),
        }
    }

    fn region(&self) -> String {
        self.cc
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    /// The connection as a `Live`, with its tags, if `scope` owns it (None when it is
    /// gone: a connection deleted moments ago may still be listed).
    async fn describe(
        &self,
        scope: &Scope,
        c: &SdkConnection,
    ) -> Result<Option<Live>, ProviderError> {
        let arn = c.connection_arn().unwrap_or_default();
        let direct = list_tags(&self.cc, arn);
        let tags = match tag_index::tags(&self.tagging, scope, Some(arn), direct).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(crate::aws::owned(scope, tags).map(|o| to_live(o, c)))
    }
}

fn to_live(owned: Owned, c: &SdkConnection) -> Live {
    let arn = c.connection_arn().unwrap_or_default();
    let mut props = Props::new();
    if let Some(p) = c.provider_type() {
        props.insert("provider_type".into(), Value::Str(p.as_str().to_string()));
    }
    let status = c
        .connection_status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    live(
        owned,
        arn,
        props,
        Vec::new(),
        &[
            ("arn", Value::Str(arn.to_string())),
            (
                "name",
                Value::Str(c.connection_name().unwrap_or_default().to_string()),
            ),
            ("status", Value::Str(status)),
        ],
    )
}

#[async_trait]
impl Provider for Connection {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // No tag filter on the server: list every connection, and read tags only of
        // those whose name starts as this stack's do (a shortened name keeps its first
        // 23 characters).
        let prefix = match only {
            Some(a) => connection_name(&scope.name_for(a)),
            None => scope.name_prefix(),
        };
        let prefix: String = prefix.chars().take(MAX_NAME - 9).collect();
        let pages: Vec<_> = self
            .cc
            .list_connections()
            .max_results(100)
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListConnections", e))?;
        let ours: Vec<&SdkConnection> = pages
            .iter()
            .flat_map(|p| p.connections())
            .filter(|c| c.connection_name().unwrap_or_default().starts_with(&prefix))
            .collect();
        let found = join_all(ours.iter().map(|c| self.describe(scope, c))).await;
        let mut out = Vec::new();
        for l in found {
            out.extend(l?);
        }
        Ok(out)
    }

    /// A connection still PENDING: where to approve it.
    fn advice(&self, l: &Live) -> Option<String> {
        if l.outputs.get("status").and_then(Value::as_str) != Some("PENDING") {
            return None;
        }
        let name = l.outputs.get("name").and_then(Value::as_str).unwrap_or("");
        Some(handshake(name, &self.region()))
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = connection_name(&req.name());
        let provider = ProviderType::from(req.str("provider_type"));
        let out = self
            .cc
            .create_connection()
            .connection_name(&name)
            .provider_type(provider.clone())
            .set_tags(Some(tags(req)?))
            .customize()
            .config_override(once::<
                aws_sdk_codeconnections::operation::create_connection::CreateConnectionError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateConnection", e))?;
        (req.note)(handshake(&name, &self.region()));
        let c = SdkConnection::builder()
            .connection_name(&name)
            .connection_arn(out.connection_arn())
            .provider_type(provider)
            .connection_status(aws_sdk_codeconnections::types::ConnectionStatus::Pending)
            .build();
        Ok(to_live(Owned::made(req), &c))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.cc, &l.id, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeleteConnection",
            self.cc
                .delete_connection()
                .connection_arn(&l.id)
                .send()
                .await,
        )
    }

    /// The approval: a new connection must be approved in the console again.
    fn data_loss(&self, l: &Live, _declared: Option<&Props>) -> Option<String> {
        let status = l.outputs.get("status").and_then(Value::as_str);
        (status == Some("AVAILABLE")).then(|| {
            format!(
                "the operator's approval of connection {}: a new connection needs the console handshake again ({CONSOLE})",
                l.id
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_fit_in_32_characters() {
        let n = connection_name("bandup-production-github_connection_for_everything");
        assert!(n.len() <= MAX_NAME, "{n}");
        assert!(n.starts_with("bandup-production-gith"), "{n}");
        assert_eq!(connection_name("bandup-dev-github"), "bandup-dev-github");
    }
}
