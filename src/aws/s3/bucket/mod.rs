//! `aws_s3_bucket`: a bucket and all its settings (public access block, object
//! ownership, default encryption, versioning, lifecycle rules, a TLS-only policy, CORS),
//! named deterministically because bucket names are global.
//!
//! S3 cannot tag a bucket in `CreateBucket`, so an interrupted create can leave a bucket
//! with our name and no tags. Asked for one address (`read` with `only`), the provider
//! also accepts the bucket whose name is exactly that address's name if its tags are
//! absent or this stack's own for that address: nobody else can own it (the name holds
//! the account) and the engine then tags and configures it.

mod settings;

use super::{bucket_tags, deleted, error, eventually, once, owned, tagging};
use crate::aws::{account_of, live, millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
    TAG_RESOURCE,
};
use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier,
};
use futures_util::StreamExt;
use settings::{normal, Settings, FIELDS};
use std::collections::BTreeMap;
use std::time::Instant;

static ENCRYPTION: &[Field] = &[
    Field {
        default: Some(Default::Str("AES256")),
        ..Field::new(
            "sse_algorithm",
            Kind::OneOf(&["AES256", "aws:kms"]),
            "AES256 (S3-managed keys) or aws:kms",
        )
    },
    Field::new(
        "kms_key_id",
        Kind::Str,
        "the KMS key for aws:kms (AWS's own key for S3 when omitted)",
    ),
    Field {
        default: Some(Default::Bool(false)),
        ..Field::new(
            "bucket_key",
            Kind::Bool,
            "use an S3 Bucket Key to cut KMS requests",
        )
    },
];

static LIFECYCLE_RULE: &[Field] = &[
    Field {
        required: true,
        ..Field::new("id", Kind::Str, "the rule's name, unique in the bucket")
    },
    Field::new(
        "prefix",
        Kind::Str,
        "only objects whose key starts with this (every object when omitted)",
    ),
    Field {
        default: Some(Default::Bool(true)),
        ..Field::new("enabled", Kind::Bool, "whether the rule applies")
    },
    Field::new(
        "transition_days",
        Kind::Int,
        "move objects to `transition_storage_class` this many days after creation",
    ),
    Field::new(
        "transition_storage_class",
        Kind::OneOf(&[
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING",
            "GLACIER_IR",
            "GLACIER",
            "DEEP_ARCHIVE",
        ]),
        "where `transition_days` moves objects, e.g. STANDARD_IA (infrequent access)",
    ),
    Field::new(
        "noncurrent_expiration_days",
        Kind::Int,
        "delete versions this many days after a newer version replaced them",
    ),
    Field::new(
        "expiration_days",
        Kind::Int,
        "delete objects this many days after creation",
    ),
    Field::new(
        "abort_incomplete_multipart_days",
        Kind::Int,
        "abort multipart uploads left unfinished this many days",
    ),
];

static CORS_RULE: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "allowed_origins",
            Kind::List(&Kind::Str),
            "origins browsers may call from, e.g. https://app.example.com",
        )
    },
    Field {
        required: true,
        ..Field::new(
            "allowed_methods",
            Kind::List(&Kind::OneOf(&["GET", "PUT", "POST", "DELETE", "HEAD"])),
            "HTTP methods allowed, e.g. [PUT, POST] for uploads",
        )
    },
    Field {
        default: Some(Default::EmptyList),
        ..Field::new(
            "allowed_headers",
            Kind::List(&Kind::Str),
            "request headers allowed, e.g. [\"*\"]",
        )
    },
    Field {
        default: Some(Default::EmptyList),
        ..Field::new(
            "expose_headers",
            Kind::List(&Kind::Str),
            "response headers the browser may read, e.g. [ETag]",
        )
    },
    Field::new(
        "max_age_seconds",
        Kind::Int,
        "how long browsers may cache the preflight answer",
    ),
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_s3_bucket",
    doc: "An S3 bucket with its access, encryption, versioning, lifecycle and CORS settings. Named <stack>-<env>-<address>-<account>-<region>.",
    fields: &[
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "block_public_access",
                Kind::Bool,
                "turn on all four S3 Block Public Access settings",
            )
        },
        Field {
            default: Some(Default::Str("BucketOwnerEnforced")),
            ..Field::new(
                "object_ownership",
                Kind::OneOf(&["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]),
                "who owns uploaded objects; BucketOwnerEnforced turns ACLs off",
            )
        },
        Field::new(
            "encryption",
            Kind::Object(ENCRYPTION),
            "default encryption: { sse_algorithm, kms_key_id, bucket_key }; AES256 when omitted",
        ),
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new("versioning", Kind::Bool, "keep every version of every object")
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "lifecycle_rules",
                Kind::List(&Kind::Object(LIFECYCLE_RULE)),
                "transitions and expirations, compared by meaning",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "deny_insecure_transport",
                Kind::Bool,
                "a bucket policy denying every request not made over TLS",
            )
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "cors_rules",
                Kind::List(&Kind::Object(CORS_RULE)),
                "cross-origin rules, e.g. for uploads from the browser",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "force_destroy",
                Kind::Bool,
                "let a delete remove every object version first (otherwise a bucket holding objects is never deleted)",
            )
        },
    ],
    attributes: &["id", "name", "arn", "regional_domain_name"],
};

/// The longest and shortest region names, for the length check when the environment
/// names no region.
const LONGEST_REGION: &str = "ap-southeast-2";
const SHORTEST_REGION: &str = "us-east-1";
/// An account id is always 12 digits.
const ANY_ACCOUNT: &str = "123456789012";
/// How many object versions a refused delete counts before saying "at least".
const COUNT_UP_TO: i32 = 100;

/// S3's bucket name for `addr`: `<stack>-<env>-<address>-<account>-<region>`,
/// lowercased, every character S3 does not allow (`_`, `[`, `]`...) turned into `-`,
/// with no two hyphens in a row and none at either end.
pub fn bucket_name(stack: &str, env: &str, addr: &str, account: &str, region: &str) -> String {
    let raw = format!("{stack}-{env}-{addr}-{account}-{region}");
    clean(&raw).trim_matches('-').to_string()
}

/// What every bucket name of `scope` starts with (for ListBuckets' `Prefix`).
pub fn name_prefix(scope: &Scope) -> String {
    clean(&format!("{}-{}-", scope.stack, scope.env))
}

fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.to_lowercase().chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub struct Bucket {
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    /// Asked of STS once per run, when a bucket name is first needed.
    account: tokio::sync::OnceCell<String>,
}

impl Bucket {
    pub fn new(c: &Clients) -> Self {
        Bucket {
            s3: c.s3.clone(),
            sts: c.sts.clone(),
            account: tokio::sync::OnceCell::new(),
        }
    }

    fn region(&self) -> String {
        self.s3
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into())
    }

    fn settings(&self) -> Settings<'_> {
        Settings {
            s3: &self.s3,
            partition: partition(self.s3.config().region().map_or("", |r| r.as_ref())),
        }
    }

    async fn name(&self, scope: &Scope, addr: &Addr) -> Result<String, ProviderError> {
        let account = self
            .account
            .get_or_try_init(|| account_of(&self.sts))
            .await?;
        Ok(bucket_name(
            &scope.stack,
            &scope.env,
            addr.as_str(),
            account,
            &self.region(),
        ))
    }

    fn outputs(&self, name: &str) -> Vec<(&'static str, Value)> {
        let region = self.region();
        vec![
            ("name", Value::Str(name.to_string())),
            (
                "arn",
                Value::Str(format!("arn:{}:s3:::{name}", partition(&region))),
            ),
            (
                "regional_domain_name",
                Value::Str(format!("{name}.s3.{region}.amazonaws.com")),
            ),
        ]
    }

    /// Buckets of this account in our region whose names start with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<(String, Option<u64>)>, ProviderError> {
        let region = self.region();
        let buckets: Vec<_> = self
            .s3
            .list_buckets()
            .prefix(prefix)
            .bucket_region(&region)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| error("ListBuckets", e))?;
        Ok(buckets
            .into_iter()
            .filter(|b| b.bucket_region().is_none_or(|r| r == region))
            .filter_map(|b| {
                let name = b.name()?.to_string();
                name.starts_with(prefix)
                    .then(|| (name, b.creation_date().and_then(millis)))
            })
            .collect())
    }

    /// One listed bucket as a live resource, if it is ours: its tags say so, or (with
    /// `adopt`) its name is exactly that address's and it has no tags or ours for it.
    async fn inspect(
        &self,
        scope: &Scope,
        name: String,
        created: Option<u64>,
        adopt: Option<&Addr>,
    ) -> Result<Option<Live>, ProviderError> {
        let tags = match bucket_tags(&self.s3, &name).await {
            Ok(t) => t,
            // Deleted since it was listed.
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let found = match (owned(scope, &tag_list(&tags)), adopt) {
            (Some(o), _) => Some(o),
            (None, Some(addr)) if tags.is_empty() => Some(Owned {
                addr: addr.clone(),
                created: None,
                tags,
            }),
            _ => None,
        };
        let Some(found) = found else {
            return Ok(None);
        };
        let props = match self.settings().read(&name).await {
            Ok(p) => normal(&p),
            Err(e) if e.code.as_deref() == Some("NoSuchBucket") => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(live(
            found.or_created(created),
            &name,
            props,
            Vec::new(),
            &self.outputs(&name),
        )))
    }

    /// How many object versions and delete markers `bucket` holds, up to `COUNT_UP_TO`;
    /// `true` if there are more.
    async fn count_objects(&self, bucket: &str) -> Result<(usize, bool), ProviderError> {
        let out = self
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(COUNT_UP_TO)
            .send()
            .await
            .map_err(|e| error("ListObjectVersions", e))?;
        Ok((
            out.versions().len() + out.delete_markers().len(),
            out.is_truncated() == Some(true),
        ))
    }

    /// Delete every object version and delete marker, 1000 per call, until none is left.
    async fn empty(&self, req: &Request<'_>, bucket: &str) -> Result<(), ProviderError> {
        let started = Instant::now();
        let mut removed = 0usize;
        loop {
            let out = self
                .s3
                .list_object_versions()
                .bucket(bucket)
                .max_keys(1000)
                .send()
                .await
                .map_err(|e| error("ListObjectVersions", e))?;
            let ids = out
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    out.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(k, v)| {
                    ObjectIdentifier::builder()
                        .key(k?)
                        .set_version_id(v.map(str::to_string))
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            if ids.is_empty() {
                return Ok(());
            }
            if started.elapsed() > req.timeout {
                return Err(ProviderError::new(
                    "DeleteObjects",
                    format!("{bucket} still holds objects after {}s of deleting them (something keeps writing?)", started.elapsed().as_secs()),
                )
                .kind(ErrorKind::Timeout));
            }
            let n = ids.len();
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| ProviderError::new("DeleteObjects", e.to_string()))?;
            let out = self
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| error("DeleteObjects", e))?;
            if let Some(e) = out.errors().first() {
                return Err(ProviderError {
                    code: e.code().map(str::to_string),
                    ..ProviderError::new(
                        "DeleteObjects",
                        format!(
                            "could not delete {} of the objects in {bucket}, {} version {}: {}",
                            out.errors().len(),
                            e.key().unwrap_or_default(),
                            e.version_id().unwrap_or("null"),
                            e.message().unwrap_or_default()
                        ),
                    )
                });
            }
            removed += n;
            (req.note)(format!("force_destroy: {removed} object versions deleted"));
        }
    }
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_s3::types::Tag> {
    tags.iter()
        .filter_map(|(k, v)| {
            aws_sdk_s3::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

#[async_trait]
impl Provider for Bucket {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One ListBuckets (narrowed by name prefix and region), then per bucket
    /// GetBucketTagging and, for ours, seven reads of its settings, all concurrently.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let exact = match only {
            Some(a) => Some(self.name(scope, a).await?),
            None => None,
        };
        let prefix = exact.clone().unwrap_or_else(|| name_prefix(scope));
        let listed = self.list(&prefix).await?;
        let found: Vec<Result<Option<Live>, ProviderError>> = futures_util::stream::iter(listed)
            .map(|(name, created)| {
                let adopt = only.filter(|_| exact.as_deref() == Some(name.as_str()));
                self.inspect(scope, name, created, adopt)
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut out = Vec::new();
        for f in found {
            if let Some(l) = f? {
                out.push(l);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let account = stack.account_id.as_deref().unwrap_or(ANY_ACCOUNT);
        let region = stack.region.as_deref().unwrap_or(LONGEST_REGION);
        let name = bucket_name(&stack.name, &stack.env, r.addr.as_str(), account, region);
        if name.len() > 63 {
            let shortest = bucket_name(
                &stack.name,
                &stack.env,
                r.addr.as_str(),
                account,
                SHORTEST_REGION,
            );
            let msg = format!(
                "the bucket name of `{}` would be {} characters, more than S3's 63: `{name}`",
                r.addr,
                name.len()
            );
            let hint = format!(
                "bucket names are <stack>-<env>-<address>-<account>-<region>: shorten the resource's name (or the stack's or environment's) by {} characters",
                name.len() - 63
            );
            let d = if stack.region.is_some() || shortest.len() > 63 {
                Diagnostic::new(r.pos.clone(), msg)
            } else {
                // Too long only in the longer regions: say so, but let it through.
                Diagnostic::warning(
                    r.pos.clone(),
                    format!("{msg} in region {region} (the environment names no region)"),
                )
            };
            out.push(d.hint(hint));
        }
        // Two addresses that clean to one name (`a_b` and `a[b]`) would share a bucket.
        for other in &stack.resources {
            if other.addr == r.addr {
                break;
            }
            if other.type_name == r.type_name
                && bucket_name(
                    &stack.name,
                    &stack.env,
                    other.addr.as_str(),
                    account,
                    region,
                ) == name
            {
                out.push(
                    Diagnostic::new(
                        r.pos.clone(),
                        format!(
                            "`{}` and `{}` would both be the bucket `{name}`",
                            other.addr, r.addr
                        ),
                    )
                    .related(other.pos.clone(), format!("`{}` declared here", other.addr))
                    .hint("rename one of them"),
                );
            }
        }
        let pos = |f: &str| r.field_pos.get(f).cloned().unwrap_or(r.pos.clone());
        let mut ids = Vec::new();
        for (i, rule) in r
            .props
            .get("lifecycle_rules")
            .and_then(Value::as_list)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let Some(m) = rule.as_map() else { continue };
            let at = pos(&format!("lifecycle_rules[{i}]"));
            let has = |k: &str| m.get(k).is_some_and(|v| !matches!(v, Value::Null));
            if let Some(id) = m.get("id").and_then(Value::as_str) {
                if ids.contains(&id) {
                    out.push(
                        Diagnostic::new(
                            at.clone(),
                            format!("lifecycle rule id `{id}` is used twice in `{}`", r.addr),
                        )
                        .hint("give each rule its own id"),
                    );
                }
                ids.push(id);
            }
            if has("transition_storage_class") && !has("transition_days") {
                out.push(
                    Diagnostic::new(
                        at.clone(),
                        "`transition_storage_class` needs `transition_days`",
                    )
                    .hint("say after how many days objects move, e.g. transition_days: 30"),
                );
            }
            let actions = [
                "transition_days",
                "noncurrent_expiration_days",
                "expiration_days",
                "abort_incomplete_multipart_days",
            ];
            if !actions.iter().any(|a| has(a)) {
                out.push(
                    Diagnostic::new(at, "a lifecycle rule that does nothing")
                        .hint(format!("give it at least one of {}", actions.join(", "))),
                );
            }
        }
        if let Some(enc) = r.props.get("encryption").and_then(Value::as_map) {
            let alg = enc.get("sse_algorithm").and_then(Value::as_str);
            if enc
                .get("kms_key_id")
                .is_some_and(|v| !matches!(v, Value::Null))
                && alg != Some("aws:kms")
            {
                out.push(
                    Diagnostic::new(
                        pos("encryption"),
                        "`kms_key_id` is only used with `sse_algorithm: aws:kms`",
                    )
                    .hint("set sse_algorithm: aws:kms, or remove kms_key_id"),
                );
            }
        }
        out
    }

    /// Compared in one shape (see `settings::normal`): `force_destroy` is not a setting
    /// of the bucket and never differs.
    fn diff(&self, desired: &Props, live: &Live) -> Vec<Change> {
        let mut l = live.clone();
        l.props = normal(&live.props);
        default_diff(self.schema(), &normal(desired), &l)
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = self.name(req.scope, req.addr).await?;
        let region = self.region();
        let mut call = self.s3.create_bucket().bucket(&name);
        if region != "us-east-1" {
            call = call.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        let made = call
            .customize()
            .config_override(once::<
                aws_sdk_s3::operation::create_bucket::CreateBucketError,
            >())
            .send()
            .await;
        if let Err(e) = made {
            let mut e = error("CreateBucket", e);
            match e.code.as_deref() {
                Some("BucketAlreadyExists") => {
                    e.message = format!(
                        "the bucket name `{name}` is taken by another AWS account (bucket names are global): rename `{}` (or the stack or environment) to get another name",
                        req.addr
                    );
                }
                Some("BucketAlreadyOwnedByYou") => {
                    e.message = format!(
                        "`{name}` already exists in this account; it is adopted only if it has no tags or this stack's tags for `{}`",
                        req.addr
                    );
                }
                _ => {}
            }
            return Err(e);
        }
        // In us-east-1 CreateBucket answers success for a bucket this account already
        // has: never take over one that is tagged as someone else's.
        let tags = bucket_tags(&self.s3, &name).await?;
        let ours = req.scope.owns(&tags)
            && tags.get(TAG_RESOURCE).map(String::as_str) == Some(req.addr.as_str());
        if !tags.is_empty() && !ours {
            return Err(ProviderError::new(
                "CreateBucket",
                format!("`{name}` already exists in this account with tags that are not this stack's for `{}`: it is left alone", req.addr),
            )
            .kind(ErrorKind::Conflict));
        }
        let tags: BTreeMap<String, String> = crate::aws::creation_tags(req).into_iter().collect();
        self.s3
            .put_bucket_tagging()
            .bucket(&name)
            .tagging(tagging(&tags)?)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingError,
            >())
            .send()
            .await
            .map_err(|e| error("PutBucketTagging", e))?;
        // A new bucket has no versioning, lifecycle, policy or CORS: set only what is
        // wanted of those; the rest are set whatever AWS's defaults are today.
        let want = normal(req.props);
        let settings = self.settings();
        for field in FIELDS {
            let Some(v) = want.get(*field) else { continue };
            let unset = match v {
                Value::Bool(false) => matches!(*field, "versioning" | "deny_insecure_transport"),
                Value::List(l) => l.is_empty(),
                _ => false,
            };
            if !unset {
                settings.write(&name, field, v).await?;
            }
        }
        let mut made = Owned::made(req);
        made.tags = tags;
        Ok(live(made, &name, want, Vec::new(), &self.outputs(&name)))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let want = normal(req.props);
        let settings = self.settings();
        for change in self.diff(req.props, l) {
            if let Some(v) = want.get(&change.field) {
                settings.write(&l.id, &change.field, v).await?;
            }
        }
        let mut next = l.clone();
        next.props = want;
        Ok(next)
    }

    /// S3 replaces a bucket's tags as one set.
    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let mut tags = l.tags.clone();
        tags.retain(|k, _| !delta.remove.contains(k));
        tags.extend(delta.set.clone());
        if tags.is_empty() {
            return deleted(
                "DeleteBucketTagging",
                self.s3.delete_bucket_tagging().bucket(&l.id).send().await,
            );
        }
        self.s3
            .put_bucket_tagging()
            .bucket(&l.id)
            .tagging(tagging(&tags)?)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingError,
            >())
            .send()
            .await
            .map_err(|e| error("PutBucketTagging", e))?;
        Ok(())
    }

    /// Never deletes objects unless `force_destroy: true`: a bucket that holds any object
    /// version or delete marker is refused, saying how many and what to do.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let bucket = &l.id;
        if req.bool("force_destroy") == Some(true) {
            match self.empty(req, bucket).await {
                Err(e) if e.is_not_found() => return Ok(()),
                other => other?,
            }
        } else {
            let (n, more) = match self.count_objects(bucket).await {
                Err(e) if e.is_not_found() => return Ok(()),
                other => other?,
            };
            if n > 0 {
                let count = if more {
                    format!("at least {n} object versions")
                } else if n == 1 {
                    "1 object version".to_string()
                } else {
                    format!("{n} object versions")
                };
                // Declared resources have `force_destroy` (its default); one removed
                // from the stack has only what was read, and no run can force it.
                let force = if req.props.contains_key("force_destroy") {
                    format!(", or set `force_destroy: true` on `{}` and run again to delete them with it", req.addr)
                } else {
                    String::new()
                };
                return Err(ProviderError {
                    code: Some("BucketNotEmpty".into()),
                    ..ProviderError::new(
                        "DeleteBucket",
                        format!(
                            "{bucket} still holds {count} (objects, old versions or delete markers); bandup-infra never deletes them unless told to: empty it first (`aws s3 rm s3://{bucket} --recursive`, then its old versions and delete markers with `aws s3api delete-objects`) and run again{force}"
                        ),
                    )
                }
                .kind(ErrorKind::InUse));
            }
        }
        deleted(
            "DeleteBucket",
            self.s3.delete_bucket().bucket(bucket).send().await,
        )
    }

    fn data_loss(&self, l: &Live) -> Option<String> {
        Some(format!(
            "the bucket {} and every object version in it are deleted",
            l.id
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_hyphenated_and_hold_account_and_region() {
        assert_eq!(
            bucket_name("bandup", "dev", "user_uploads", "123456789012", "eu-west-2"),
            "bandup-dev-user-uploads-123456789012-eu-west-2"
        );
        assert_eq!(
            bucket_name(
                "BandUp",
                "dev",
                "audio[Part_1]",
                "123456789012",
                "eu-west-2"
            ),
            "bandup-dev-audio-part-1-123456789012-eu-west-2"
        );
        assert!(
            bucket_name("bandup", "dev", "assets", "123456789012", "eu-west-2").starts_with(
                &name_prefix(&Scope {
                    stack: "bandup".into(),
                    env: "dev".into(),
                    tags: BTreeMap::new(),
                    run: String::new(),
                })
            )
        );
    }
}
