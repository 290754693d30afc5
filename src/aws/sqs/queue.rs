//! `aws_sqs_queue`: a standard or FIFO queue with its attributes (timeouts, retention,
//! long polling, delay, size), server-side encryption (SQS-managed or a KMS key), a
//! dead-letter queue (redrive policy) and a queue policy. A dead-letter queue is just
//! another `aws_sqs_queue`, referred to by its ARN.

use super::{deleted, error, eventually, list_tags, once, retag, tags};
use crate::aws::wait::{paced, Pace, Poll};
use crate::aws::{live, tag_index, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::document::{parse, to_json_string, with_default_resource};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, present, removed, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName as A;
use futures_util::future::join_all;
use std::collections::HashMap;
use std::time::Duration;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_sqs_queue",
    doc: "An SQS queue (standard or FIFO), with its dead-letter queue, encryption and policy.",
    fields: &[
        Field {
            default: Some(Default::Bool(false)),
            force_new: true,
            replace_why: Some("SQS cannot turn a queue into a FIFO queue or back (its name changes: `.fifo`)"),
            ..Field::new("fifo", Kind::Bool, "a FIFO queue (its name ends in `.fifo`)")
        },
        Field {
            default: Some(Default::Int(30)),
            ..Field::new(
                "visibility_timeout",
                Kind::Int,
                "seconds a received message stays hidden from other consumers: 0 to 43200",
            )
        },
        Field {
            default: Some(Default::Int(345_600)),
            ..Field::new(
                "message_retention_seconds",
                Kind::Int,
                "seconds a message is kept: 60 to 1209600 (14 days); default 4 days",
            )
        },
        Field {
            default: Some(Default::Int(0)),
            ..Field::new(
                "receive_wait_time",
                Kind::Int,
                "long polling: seconds a receive waits for a message, 0 to 20",
            )
        },
        Field {
            default: Some(Default::Int(0)),
            ..Field::new(
                "delay_seconds",
                Kind::Int,
                "seconds a new message is hidden: 0 to 900",
            )
        },
        Field {
            default: Some(Default::Int(1_048_576)),
            ..Field::new(
                "max_message_size",
                Kind::Int,
                "largest message in bytes: 1024 to 1048576 (1 MiB, the SQS default)",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "sqs_managed_sse",
                Kind::Bool,
                "encrypt with SQS-owned keys (ignored when kms_key_id is set)",
            )
        },
        Field::new(
            "kms_key_id",
            Kind::Str,
            "encrypt with this KMS key (id, ARN or alias) instead of SQS-owned keys",
        ),
        Field::new(
            "dead_letter_queue_arn",
            Kind::Str,
            "where messages go after max_receive_count receives: another queue's ARN",
        ),
        Field::new(
            "max_receive_count",
            Kind::Int,
            "receives before a message goes to the dead-letter queue: 1 to 1000",
        ),
        Field::new(
            "policy",
            Kind::Policy,
            "the queue policy (who may send to it); a statement without Resource applies to this queue",
        ),
    ],
    attributes: &["id", "url", "arn", "name"],
};

/// The integer fields and the SQS attribute each is.
const INTS: &[(&str, &str)] = &[
    ("visibility_timeout", "VisibilityTimeout"),
    ("message_retention_seconds", "MessageRetentionPeriod"),
    ("receive_wait_time", "ReceiveMessageWaitTimeSeconds"),
    ("delay_seconds", "DelaySeconds"),
    ("max_message_size", "MaximumMessageSize"),
];

/// The ranges SQS accepts, per field.
const RANGES: &[(&str, i64, i64)] = &[
    ("visibility_timeout", 0, 43_200),
    ("message_retention_seconds", 60, 1_209_600),
    ("receive_wait_time", 0, 20),
    ("delay_seconds", 0, 900),
    ("max_message_size", 1024, 1_048_576),
    ("max_receive_count", 1, 1000),
];

/// SQS queue names: at most 80 characters, `.fifo` included.
const MAX_NAME: usize = 80;

pub struct Queue {
    sqs: aws_sdk_sqs::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Queue {
    pub fn new(c: &Clients) -> Self {
        Queue {
            sqs: c.sqs.clone(),
            tagging: c.tagging.clone(),
        }
    }

    /// The queue's ARN, from its URL (`https://<host>/<account>/<name>`) and the region.
    fn arn_of(&self, url: &str) -> Option<String> {
        let mut parts = url.rsplit('/');
        let (name, account) = (parts.next()?, parts.next()?);
        let region = self.sqs.config().region()?.as_ref();
        let partition = crate::aws::partition(region);
        Some(format!("arn:{partition}:sqs:{region}:{account}:{name}"))
    }

    /// The queue at `url` as a `Live`, if `scope` owns it: its attributes and its tags,
    /// read concurrently (None when it is gone, as a queue deleted moments ago may still
    /// be listed).
    async fn describe(&self, scope: &Scope, url: &str) -> Result<Option<Live>, ProviderError> {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::All)
            .send();
        let arn = self.arn_of(url);
        let tags = tag_index::tags(
            &self.tagging,
            scope,
            arn.as_deref(),
            list_tags(&self.sqs, url),
        );
        let (attrs, tags) = tokio::join!(attrs, tags);
        let attrs = match attrs.map_err(|e| error("GetQueueAttributes", e)) {
            Ok(a) => a,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let tags = match tags {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(owned) = crate::aws::owned(scope, tags) else {
            return Ok(None);
        };
        let attrs: HashMap<String, String> = attrs
            .attributes()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(to_live(owned, url, &attrs)))
    }

    async fn set(&self, url: &str, attrs: HashMap<A, String>) -> Result<(), ProviderError> {
        if attrs.is_empty() {
            return Ok(());
        }
        self.sqs
            .set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(attrs))
            .customize()
            .config_override(eventually::<
                aws_sdk_sqs::operation::set_queue_attributes::SetQueueAttributesError,
            >())
            .send()
            .await
            .map_err(|e| error("SetQueueAttributes", e))?;
        Ok(())
    }
}

/// The queue's name: `<stack>-<env>-<address>`, and `.fifo` for a FIFO queue.
pub fn queue_name(base: &str, fifo: bool) -> String {
    if fifo {
        format!("{base}.fifo")
    } else {
        base.to_string()
    }
}

/// The last path segment of a queue URL: its name.
fn name_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// A queue as the engine sees it, from `GetQueueAttributes(All)`.
fn to_live(owned: Owned, url: &str, a: &HashMap<String, String>) -> Live {
    let get = |k: &str| a.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let mut props = Props::new();
    props.insert("fifo".into(), Value::Bool(get("FifoQueue") == Some("true")));
    for (field, attr) in INTS {
        if let Some(n) = get(attr).and_then(|v| v.parse::<i64>().ok()) {
            props.insert((*field).into(), Value::Int(n));
        }
    }
    props.insert(
        "sqs_managed_sse".into(),
        Value::Bool(get("SqsManagedSseEnabled") == Some("true")),
    );
    let mut refs = Vec::new();
    if let Some(k) = get("KmsMasterKeyId") {
        props.insert("kms_key_id".into(), Value::Str(k.into()));
        refs.push(k.to_string());
    }
    if let Some(Value::Map(r)) = get("RedrivePolicy").and_then(parse) {
        if let Some(dlq) = r.get("deadLetterTargetArn").and_then(Value::as_str) {
            props.insert("dead_letter_queue_arn".into(), Value::Str(dlq.into()));
            refs.push(dlq.to_string());
        }
        // A number, or a string holding one, depending on who set it.
        let count = match r.get("maxReceiveCount") {
            Some(Value::Int(n)) => Some(*n),
            Some(Value::Str(s)) => s.parse().ok(),
            _ => None,
        };
        if let Some(n) = count {
            props.insert("max_receive_count".into(), Value::Int(n));
        }
    }
    if let Some(p) = get("Policy").and_then(parse) {
        props.insert("policy".into(), p);
    }
    let arn = get("QueueArn").unwrap_or_default().to_string();
    let created = get("CreatedTimestamp")
        .and_then(|t| t.parse::<u64>().ok())
        .map(|s| s * 1000);
    live(
        owned.or_created(created),
        url,
        props,
        refs,
        &[
            ("url", Value::Str(url.to_string())),
            ("arn", Value::Str(arn)),
            ("name", Value::Str(name_of(url).to_string())),
        ],
    )
}

/// The redrive policy of `props`, as SQS wants it ("" to remove it).
fn redrive(props: &Props) -> String {
    match (
        present(props, "dead_letter_queue_arn").and_then(Value::as_str),
        present(props, "max_receive_count").and_then(Value::as_int),
    ) {
        (Some(arn), Some(n)) => serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": n,
        })
        .to_string(),
        _ => String::new(),
    }
}

/// The attributes behind `fields` (every field when None), as SetQueueAttributes and
/// CreateQueue take them. `arn` fills the policy's missing Resource.
fn attributes(props: &Props, fields: Option<&[String]>, arn: &str) -> HashMap<A, String> {
    let wants = |f: &str| fields.is_none_or(|fs| fs.iter().any(|x| x == f));
    let mut out = HashMap::new();
    for (field, attr) in INTS {
        if wants(field) {
            if let Some(n) = present(props, field).and_then(Value::as_int) {
                out.insert(A::from(*attr), n.to_string());
            }
        }
    }
    let kms = present(props, "kms_key_id").and_then(Value::as_str);
    if wants("kms_key_id") || wants("sqs_managed_sse") {
        match kms {
            Some(k) => {
                out.insert(A::KmsMasterKeyId, k.to_string());
                out.insert(A::SqsManagedSseEnabled, "false".into());
            }
            None => {
                if fields.is_some() {
                    // Removing a KMS key, or switching SQS-managed encryption.
                    out.insert(A::KmsMasterKeyId, String::new());
                }
                let sse = present(props, "sqs_managed_sse").and_then(Value::as_bool);
                out.insert(A::SqsManagedSseEnabled, sse.unwrap_or(true).to_string());
            }
        }
    }
    if wants("dead_letter_queue_arn") || wants("max_receive_count") {
        let r = redrive(props);
        if fields.is_some() || !r.is_empty() {
            out.insert(A::RedrivePolicy, r);
        }
    }
    if wants("policy") {
        match present(props, "policy") {
            Some(p) => {
                out.insert(A::Policy, to_json_string(&with_default_resource(p, arn)));
            }
            None if fields.is_some() => {
                out.insert(A::Policy, String::new());
            }
            None => {}
        }
    }
    out
}

/// The declared integer `field` of `r`, with where it was written.
fn int_at<'a>(r: &'a Resource, field: &str) -> Option<(i64, &'a crate::config::Pos)> {
    Some((
        r.props.get(field).and_then(Value::as_int)?,
        r.field_pos.get(field).unwrap_or(&r.pos),
    ))
}

/// The queue declared in `stack` whose ARN `r`'s dead-letter queue refers to.
fn dead_letter_queue<'a>(r: &Resource, stack: &'a Stack) -> Option<&'a Resource> {
    let Some(Value::Ref(x)) = r.props.get("dead_letter_queue_arn") else {
        return None;
    };
    let target = stack.resource(x.targets.first()?)?;
    (target.type_name == SCHEMA.type_name && x.attr == "arn").then_some(target)
}

/// "A queue's visibility timeout is at least six times the timeout of the function that
/// consumes it" (AWS's advice for Lambda event sources: a message still being worked on,
/// or waiting out the poller's retries, must not reappear for a second worker). An error
/// per event source mapping from `r` to a function whose `timeout` breaks it.
pub fn worker_timeout_check(r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
    let visibility = r
        .props
        .get("visibility_timeout")
        .and_then(Value::as_int)
        .unwrap_or(30);
    let target = |field: &str, m: &Resource| match m.props.get(field) {
        Some(Value::Ref(x)) => x.targets.first().and_then(|a| stack.resource(a)),
        _ => None,
    };
    let mut out = Vec::new();
    for mapping in stack
        .resources
        .iter()
        .filter(|m| m.type_name == "aws_lambda_event_source_mapping")
    {
        if target("event_source_arn", mapping).map(|q| &q.addr) != Some(&r.addr) {
            continue;
        }
        let Some(worker) = target("function", mapping) else {
            continue;
        };
        let Some(timeout) = worker.props.get("timeout").and_then(Value::as_int) else {
            continue;
        };
        if visibility < 6 * timeout {
            let at = r
                .field_pos
                .get("visibility_timeout")
                .unwrap_or(&r.pos)
                .clone();
            out.push(
                Diagnostic::new(
                    at,
                    format!(
                        "queue `{}` has visibility_timeout {visibility} s, but its worker \
                         `{}` (through `{}`) may run for {timeout} s",
                        r.addr, worker.addr, mapping.addr
                    ),
                )
                .hint(format!(
                    "AWS advises at least six times the function's timeout: set \
                     visibility_timeout to {} or more, or lower the worker's timeout",
                    6 * timeout
                )),
            );
        }
    }
    out
}

#[async_trait]
impl Provider for Queue {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (field, lo, hi) in RANGES {
            if let Some((n, pos)) = int_at(r, field) {
                if !(*lo..=*hi).contains(&n) {
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!(
                                "queue `{}` has {field} {n}: SQS accepts {lo} to {hi}",
                                r.addr
                            ),
                        )
                        .hint(format!("use a value from {lo} to {hi}")),
                    );
                }
            }
        }
        let dlq = present(&r.props, "dead_letter_queue_arn").is_some();
        let count = present(&r.props, "max_receive_count").is_some();
        if dlq != count {
            let (has, lacks) = if dlq {
                ("dead_letter_queue_arn", "max_receive_count")
            } else {
                ("max_receive_count", "dead_letter_queue_arn")
            };
            out.push(
                Diagnostic::new(
                    r.field_pos.get(has).unwrap_or(&r.pos).clone(),
                    format!(
                        "queue `{}` sets {has} without {lacks}: a redrive policy needs both",
                        r.addr
                    ),
                )
                .hint(format!("add {lacks}, or remove {has}")),
            );
        }
        if present(&r.props, "kms_key_id").is_some()
            && r.field_pos.contains_key("sqs_managed_sse")
            && r.props.get("sqs_managed_sse").and_then(Value::as_bool) == Some(true)
        {
            out.push(
                Diagnostic::new(
                    r.field_pos.get("sqs_managed_sse").unwrap_or(&r.pos).clone(),
                    format!(
                        "queue `{}` sets both sqs_managed_sse and kms_key_id: a queue has one kind of server-side encryption",
                        r.addr
                    ),
                )
                .hint("remove sqs_managed_sse: kms_key_id encrypts with that key"),
            );
        }
        let base = Scope {
            stack: stack.name.clone(),
            env: stack.env.clone(),
            ..Scope::default()
        }
        .name_for(&r.addr);
        let fifo = r.props.get("fifo").and_then(Value::as_bool) == Some(true);
        let name = queue_name(&base, fifo);
        if name.len() > MAX_NAME
            || !base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!(
                        "queue `{}` would be named {name} ({} characters): SQS names are at most {MAX_NAME} characters of letters, digits, `-` and `_`",
                        r.addr,
                        name.len()
                    ),
                )
                .hint("shorten the resource's address (or the stack's name)"),
            );
        }
        if let Some(target) = dead_letter_queue(r, stack) {
            let pos = r.field_pos.get("dead_letter_queue_arn").unwrap_or(&r.pos);
            let target_fifo = target.props.get("fifo").and_then(Value::as_bool) == Some(true);
            if fifo != target_fifo {
                let kind = |f: bool| if f { "FIFO" } else { "standard" };
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        format!(
                            "queue `{}` is a {} queue and its dead-letter queue `{}` a {} one: SQS wants both of one kind",
                            r.addr,
                            kind(fifo),
                            target.addr,
                            kind(target_fifo)
                        ),
                    )
                    .hint(format!("set fifo: {fifo} on `{}`", target.addr)),
                );
            }
            let retention = |x: &Resource| {
                x.props
                    .get("message_retention_seconds")
                    .and_then(Value::as_int)
                    .unwrap_or(345_600)
            };
            let (mine, theirs) = (retention(r), retention(target));
            if theirs < mine {
                out.push(
                    Diagnostic::warning(
                        pos.clone(),
                        format!(
                            "queue `{}` keeps messages {mine} s and its dead-letter queue `{}` only {theirs} s: a message's age counts from when it was first sent, so it may expire in the dead-letter queue at once",
                            r.addr, target.addr
                        ),
                    )
                    .hint(format!(
                        "give `{}` a message_retention_seconds of at least {mine}",
                        target.addr
                    )),
                );
            }
        }
        out.extend(worker_timeout_check(r, stack));
        out
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // Names are prefix matches: `<stack>-<env>-` narrows to this stack; the engine
        // keeps only the address it asked for.
        let prefix = scope.read_prefix(only);
        let pages: Vec<_> = self
            .sqs
            .list_queues()
            .queue_name_prefix(prefix)
            .max_results(1000)
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListQueues", e))?;
        let urls: Vec<&str> = pages
            .iter()
            .flat_map(|p| p.queue_urls())
            .map(String::as_str)
            .collect();
        let found = join_all(urls.iter().map(|u| self.describe(scope, u))).await;
        let mut out = Vec::new();
        for l in found {
            out.extend(l?);
        }
        Ok(out)
    }

    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut want = desired.clone();
        if let Some(p) = present(desired, "policy") {
            if !p.has_unknown() {
                want.insert("policy".into(), with_default_resource(p, arn));
            }
        }
        let kms = present(desired, "kms_key_id").is_some();
        let mut out: Vec<Change> = default_diff(self.schema(), &want, l)
            .into_iter()
            // With a KMS key, SQS-managed encryption is off whatever the default says.
            .filter(|c| !(kms && c.field == "sqs_managed_sse"))
            .map(|mut c| {
                if c.field == "policy" {
                    if let Some(p) = present(desired, "policy") {
                        c.after = p.clone();
                    }
                }
                c
            })
            .collect();
        for f in [
            "kms_key_id",
            "dead_letter_queue_arn",
            "max_receive_count",
            "policy",
        ] {
            out.extend(removed(f, desired, l));
        }
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let fifo = req.bool("fifo") == Some(true);
        let name = queue_name(&req.name(), fifo);
        let mut attrs = attributes(req.props, None, "");
        // The policy waits for the queue's ARN (its statements may name no Resource).
        attrs.remove(&A::Policy);
        if fifo {
            attrs.insert(A::FifoQueue, "true".into());
        }
        let tags = tags(req);
        // SQS refuses a name deleted less than 60 s ago (QueueDeletedRecently): wait it
        // out, saying so, within the create's timeout.
        let pace = Pace {
            first: Duration::from_secs(5),
            max: Duration::from_secs(15),
            say_every: Duration::from_secs(30),
        };
        let url = paced(req, "creating", pace, || async {
            let out = self
                .sqs
                .create_queue()
                .queue_name(&name)
                .set_attributes(Some(attrs.clone()))
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(once::<aws_sdk_sqs::operation::create_queue::CreateQueueError>())
                .send()
                .await
                .map_err(|e| error("CreateQueue", e));
            match out {
                Ok(o) => Ok(Poll::Ready(o.queue_url().unwrap_or_default().to_string())),
                Err(e) if e.kind == crate::provider::ErrorKind::NotYetVisible => Ok(Poll::Pending(
                    "name-deleted-recently (SQS keeps a deleted queue's name 60 s)".into(),
                )),
                Err(mut e) if e.is_conflict() => {
                    e.message = format!(
                        "{}: a queue named {name} exists with other attributes, and this stack does not own it (or another run made it)",
                        e.message
                    );
                    Err(e)
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        // CreateQueue hands back an existing queue of this name whose attributes match,
        // whoever made it, and ignores the tags then: make sure it is ours.
        let Some(mut made) = self.describe(req.scope, &url).await? else {
            return Err(ProviderError::new(
                "CreateQueue",
                format!("a queue named {name} exists and this stack does not own it (SQS handed it back: its attributes match): rename the resource or delete that queue"),
            ));
        };
        if let Some(p) = present(req.props, "policy") {
            let arn = made
                .outputs
                .get("arn")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let fields = ["policy".to_string()];
            self.set(&url, attributes(req.props, Some(&fields), &arn))
                .await?;
            made.props
                .insert("policy".into(), with_default_resource(p, &arn));
        }
        Ok(made)
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.set(&l.id, attributes(req.props, Some(&changed), arn))
            .await?;
        let mut next = l.clone();
        for f in SCHEMA.fields {
            match present(req.props, f.name) {
                Some(v) if f.name == "policy" => {
                    next.props
                        .insert(f.name.into(), with_default_resource(v, arn));
                }
                Some(v) => {
                    next.props.insert(f.name.into(), v.clone());
                }
                None => {
                    next.props.remove(f.name);
                }
            }
        }
        if present(req.props, "kms_key_id").is_some() {
            next.props
                .insert("sqs_managed_sse".into(), Value::Bool(false));
        }
        next.refs = ["kms_key_id", "dead_letter_queue_arn"]
            .iter()
            .filter_map(|f| present(req.props, f).and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.sqs, &l.id, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeleteQueue",
            self.sqs.delete_queue().queue_url(&l.id).send().await,
        )
    }

    /// Its messages: a deleted queue's messages are gone, and its name cannot be used
    /// again for 60 s.
    fn data_loss(&self, l: &Live, _declared: Option<&Props>) -> Option<String> {
        let name = l
            .outputs
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(&l.id);
        Some(format!(
            "every message in queue {name} (and any in flight) is deleted with it"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_without_resource_gets_the_queue_arn() {
        let p = parse(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}}"#)
            .unwrap_or(Value::Null);
        let filled = with_default_resource(&p, "arn:aws:sqs:eu-west-2:1:q");
        assert!(to_json_string(&filled).contains("arn:aws:sqs:eu-west-2:1:q"));
        assert!(crate::model::document::same_policy(
            &filled,
            &with_default_resource(&filled, "other")
        ));
    }

    #[test]
    fn redrive_is_both_fields_or_nothing() {
        let mut p = Props::new();
        p.insert("dead_letter_queue_arn".into(), Value::Str("arn:x".into()));
        assert_eq!(redrive(&p), "");
        p.insert("max_receive_count".into(), Value::Int(5));
        assert!(redrive(&p).contains("\"maxReceiveCount\":5"));
    }
}
