//! `aws_lambda_event_source_mapping`: Lambda polling a queue and invoking a worker with
//! batches of its messages (partial batch failures reported by the worker). AWS names a
//! mapping by a UUID; mappings carry tags (given to CreateEventSourceMapping), so they
//! are owned by tags like everything else. The queue cannot change (a new mapping is
//! made); the function and the batching settings change in place.

use super::{
    declared_function, deleted, error, eventually, function_name, list_tags, once, retag, settled,
    tags,
};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, tag_index, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, removed, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_lambda::types::{
    EventSourceMappingConfiguration as Mapping, FunctionResponseType, ScalingConfig,
};
use futures_util::future::join_all;
use std::collections::BTreeSet;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lambda_event_source_mapping",
    doc: "Feeds a queue's messages to a Lambda function in batches.",
    fields: &[
        Field {
            required: true,
            ..Field::new(
                "function",
                Kind::Str,
                "the function invoked, its name or ARN, e.g. ${worker.arn}",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("Lambda cannot point a mapping at another event source"),
            ..Field::new(
                "event_source_arn",
                Kind::Str,
                "the queue read, e.g. ${jobs.arn}",
            )
        },
        Field {
            default: Some(Default::Int(10)),
            ..Field::new(
                "batch_size",
                Kind::Int,
                "messages per invocation at most: 1 to 10000 (10 for a FIFO queue)",
            )
        },
        Field {
            default: Some(Default::Int(0)),
            ..Field::new(
                "batching_window",
                Kind::Int,
                "seconds to gather a batch: 0 to 300; at least 1 when batch_size is over 10",
            )
        },
        Field::new(
            "maximum_concurrency",
            Kind::Int,
            "concurrent invocations this queue may cause at most: 2 to 1000 (unset: no limit)",
        ),
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "report_batch_item_failures",
                Kind::Bool,
                "the worker reports which messages failed; only those are received again",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new("enabled", Kind::Bool, "Lambda polls the queue")
        },
    ],
    attributes: &["id", "arn", "uuid"],
};

/// The ranges Lambda accepts for an SQS source, per field.
const RANGES: &[(&str, i64, i64)] = &[
    ("batch_size", 1, 10_000),
    ("batching_window", 0, 300),
    ("maximum_concurrency", 2, 1000),
];

/// The provider of `aws_lambda_event_source_mapping`.
pub struct EventSourceMapping {
    lambda: aws_sdk_lambda::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl EventSourceMapping {
    pub fn new(c: &Clients) -> Self {
        EventSourceMapping {
            lambda: c.lambda.clone(),
            tagging: c.tagging.clone(),
        }
    }

    /// The mapping `uuid` now (GetEventSourceMapping; None once gone).
    async fn get(&self, uuid: &str) -> Result<Option<Mapping>, ProviderError> {
        let out = self
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .customize()
            .config_override(eventually::<
                aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingError,
            >())
            .send()
            .await;
        match out {
            Ok(o) => Ok(Some(
                Mapping::builder()
                    .set_uuid(o.uuid().map(str::to_string))
                    .set_state(o.state().map(str::to_string))
                    .set_function_arn(o.function_arn().map(str::to_string))
                    .set_event_source_arn(o.event_source_arn().map(str::to_string))
                    .set_batch_size(o.batch_size())
                    .set_maximum_batching_window_in_seconds(o.maximum_batching_window_in_seconds())
                    .set_scaling_config(o.scaling_config().cloned())
                    .set_function_response_types(Some(o.function_response_types().to_vec()))
                    .set_event_source_mapping_arn(o.event_source_mapping_arn().map(str::to_string))
                    .build(),
            )),
            Err(e) => match error("GetEventSourceMapping", e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// Wait until the mapping is out of Creating, Enabling, Disabling and Updating, at
    /// most the request's timeout (seconds in AWS; at once in the emulator).
    async fn steady(
        &self,
        req: &Request<'_>,
        uuid: &str,
        doing: &str,
    ) -> Result<Mapping, ProviderError> {
        wait::until(req, doing, || async {
            match self.get(uuid).await? {
                None => Err(ProviderError::new(
                    "GetEventSourceMapping",
                    format!("event source mapping {uuid} disappeared while {doing}"),
                )
                .kind(crate::provider::ErrorKind::NotFound)),
                Some(m) => match m.state() {
                    Some("Enabled" | "Disabled") | None => Ok(Poll::Ready(m)),
                    Some(s) => Ok(Poll::Pending(s.to_string())),
                },
            }
        })
        .await
    }
}

/// A mapping as the engine sees it.
fn to_live(owned: Owned, m: &Mapping) -> Live {
    let uuid = m.uuid().unwrap_or_default();
    let function_arn = m.function_arn().unwrap_or_default();
    let source = m.event_source_arn().unwrap_or_default();
    let mut props = Props::from([
        (
            "function".to_string(),
            Value::Str(function_name(function_arn).to_string()),
        ),
        (
            "event_source_arn".to_string(),
            Value::Str(source.to_string()),
        ),
        (
            "batch_size".to_string(),
            Value::Int(i64::from(m.batch_size().unwrap_or(10))),
        ),
        (
            "batching_window".to_string(),
            Value::Int(i64::from(
                m.maximum_batching_window_in_seconds().unwrap_or(0),
            )),
        ),
        (
            "report_batch_item_failures".to_string(),
            Value::Bool(
                m.function_response_types()
                    .contains(&FunctionResponseType::ReportBatchItemFailures),
            ),
        ),
        (
            "enabled".to_string(),
            Value::Bool(matches!(
                m.state(),
                Some("Enabled" | "Enabling" | "Creating" | "Updating")
            )),
        ),
    ]);
    if let Some(n) = m
        .scaling_config()
        .and_then(ScalingConfig::maximum_concurrency)
    {
        props.insert("maximum_concurrency".into(), Value::Int(i64::from(n)));
    }
    let arn = m.event_source_mapping_arn().unwrap_or_default();
    let mut l = live(
        owned,
        uuid,
        props,
        vec![function_arn.to_string(), source.to_string()],
        &[
            ("arn", Value::Str(arn.to_string())),
            ("uuid", Value::Str(uuid.to_string())),
        ],
    );
    l.pending = match m.state() {
        Some(s @ ("Creating" | "Enabling" | "Disabling" | "Updating")) => Some(s.to_string()),
        _ => None,
    };
    l
}

fn int(req: &Request<'_>, field: &str) -> Option<i32> {
    req.int(field).and_then(|n| i32::try_from(n).ok())
}

/// The response types for `report_batch_item_failures` (an empty list turns it off).
fn response_types(req: &Request<'_>) -> Vec<FunctionResponseType> {
    if req.bool("report_batch_item_failures") != Some(false) {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    }
}

/// The scaling configuration (an empty one removes the limit).
fn scaling(req: &Request<'_>) -> ScalingConfig {
    ScalingConfig::builder()
        .set_maximum_concurrency(int(req, "maximum_concurrency"))
        .build()
}

fn int_at<'a>(r: &'a Resource, field: &str) -> Option<(i64, &'a crate::config::Pos)> {
    Some((
        r.props.get(field).and_then(Value::as_int)?,
        r.field_pos.get(field).unwrap_or(&r.pos),
    ))
}

#[async_trait]
impl Provider for EventSourceMapping {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (field, lo, hi) in RANGES {
            if let Some((n, pos)) = int_at(r, field) {
                if !(*lo..=*hi).contains(&n) {
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!(
                                "event source mapping `{}` has {field} {n}: Lambda accepts {lo} to {hi}",
                                r.addr
                            ),
                        )
                        .hint(format!("use a value from {lo} to {hi}")),
                    );
                }
            }
        }
        let batch = r
            .props
            .get("batch_size")
            .and_then(Value::as_int)
            .unwrap_or(10);
        let window = r
            .props
            .get("batching_window")
            .and_then(Value::as_int)
            .unwrap_or(0);
        if batch > 10 && window < 1 {
            out.push(
                Diagnostic::new(
                    r.field_pos.get("batch_size").unwrap_or(&r.pos).clone(),
                    format!(
                        "event source mapping `{}` has batch_size {batch} with no batching_window: Lambda wants a batching window of at least 1 s for SQS batches over 10",
                        r.addr
                    ),
                )
                .hint("set batching_window: 1 (or more), or a batch_size of at most 10"),
            );
        }
        out
    }

    /// ListEventSourceMappings for the whole region (100 a page: one call for every
    /// mapping, where asking per function would be one call per function), then ListTags
    /// for each mapping whose function is this stack's by name or a function a declared
    /// mapping names, concurrently: 1 + mappings.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let prefix = scope.name_prefix();
        let named: BTreeSet<String> = scope
            .declared_of(SCHEMA.type_name)
            .iter()
            .filter_map(|(_, p)| declared_function(scope, p.get("function")))
            .collect();
        let all: Vec<Mapping> = self
            .lambda
            .list_event_source_mappings()
            .max_items(100)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListEventSourceMappings", e))?;
        let candidates: Vec<&Mapping> = all
            .iter()
            .filter(|m| {
                let f = function_name(m.function_arn().unwrap_or_default());
                f.starts_with(&prefix) || named.contains(f)
            })
            // A mapping being deleted is gone as far as the stack is concerned.
            .filter(|m| m.state() != Some("Deleting"))
            .collect();
        let found = join_all(candidates.iter().map(|m| async move {
            let arn = m.event_source_mapping_arn().unwrap_or_default();
            let direct = list_tags(&self.lambda, arn);
            match tag_index::tags(&self.tagging, scope, Some(arn), direct).await {
                Ok(t) => Ok(crate::aws::owned(scope, t).map(|o| to_live(o, m))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .await;
        let mut out = Vec::new();
        for l in found {
            if let Some(l) = l? {
                if only.is_none_or(|o| *o == l.addr) {
                    out.push(l);
                }
            }
        }
        Ok(out)
    }

    /// Waits until a mapping found still changing state is steady.
    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        if l.pending.is_none() {
            return Ok(l);
        }
        let m = self.steady(req, &l.id, "creating").await?;
        Ok(to_live(Owned::of(&l), &m))
    }

    /// The function compared by name, whether written as a name or an ARN; a
    /// `maximum_concurrency` no longer declared is removed.
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut want = desired.clone();
        if let Some(Value::Str(f)) = desired.get("function") {
            want.insert("function".into(), Value::Str(function_name(f).to_string()));
        }
        let mut out: Vec<Change> = default_diff(self.schema(), &want, l)
            .into_iter()
            .map(|mut c| {
                if c.field == "function" {
                    c.after = desired.get("function").cloned().unwrap_or(Value::Null);
                }
                c
            })
            .collect();
        out.extend(removed("maximum_concurrency", desired, l));
        out
    }

    /// CreateEventSourceMapping with its tags, then a wait until it is Enabled (or
    /// Disabled). Lambda checks that the function's role may read the queue: a role made
    /// moments before may not be usable yet, which is waited out.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let tags = tags(req);
        let m = settled(req, "creating", true, || async {
            self.lambda
                .create_event_source_mapping()
                .function_name(req.str("function"))
                .event_source_arn(req.str("event_source_arn"))
                .set_batch_size(int(req, "batch_size"))
                .set_maximum_batching_window_in_seconds(int(req, "batching_window"))
                .set_scaling_config(
                    req.get("maximum_concurrency").map(|_| scaling(req)),
                )
                .set_function_response_types(Some(response_types(req)))
                .enabled(req.bool("enabled") != Some(false))
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(once::<
                    aws_sdk_lambda::operation::create_event_source_mapping::CreateEventSourceMappingError,
                >())
                .send()
                .await
                .map_err(|e| error("CreateEventSourceMapping", e))
        })
        .await?;
        let uuid = m.uuid().unwrap_or_default().to_string();
        let m = self.steady(req, &uuid, "creating").await?;
        Ok(to_live(Owned::made(req), &m))
    }

    /// UpdateEventSourceMapping with every updatable field, then a wait until steady.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        settled(req, "updating", true, || async {
            self.lambda
                .update_event_source_mapping()
                .uuid(&l.id)
                .function_name(req.str("function"))
                .set_batch_size(int(req, "batch_size"))
                .set_maximum_batching_window_in_seconds(int(req, "batching_window"))
                .scaling_config(scaling(req))
                .set_function_response_types(Some(response_types(req)))
                .enabled(req.bool("enabled") != Some(false))
                .customize()
                .config_override(eventually::<
                    aws_sdk_lambda::operation::update_event_source_mapping::UpdateEventSourceMappingError,
                >())
                .send()
                .await
                .map_err(|e| error("UpdateEventSourceMapping", e))
        })
        .await?;
        let m = self.steady(req, &l.id, "updating").await?;
        Ok(to_live(Owned::of(l), &m))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        retag(&self.lambda, arn, delta).await
    }

    /// DeleteEventSourceMapping (tried again while the mapping is still changing state),
    /// then a wait until it is gone: a mapping in Deleting still reads its queue.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        settled(req, "deleting", false, || async {
            deleted(
                "DeleteEventSourceMapping",
                self.lambda
                    .delete_event_source_mapping()
                    .uuid(&l.id)
                    .send()
                    .await,
            )
        })
        .await?;
        wait::until(req, "deleting", || async {
            Ok(match self.get(&l.id).await? {
                None => Poll::Ready(()),
                Some(m) => Poll::Pending(m.state().unwrap_or("Deleting").to_string()),
            })
        })
        .await
    }
}
