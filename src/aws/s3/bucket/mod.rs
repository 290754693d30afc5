//! `aws_s3_bucket`: a bucket and all its settings (public access block, object
//! ownership, default encryption, versioning, lifecycle rules, a TLS-only policy, CORS),
//! named deterministically because bucket names are global.
//!
//! S3 cannot tag a bucket in `CreateBucket`, so an interrupted create can leave a bucket
//! with our name and no tags. Asked for one address (`read` with `only`), the provider
//! also accepts the bucket whose name is exactly that address's name if its tags are
//! absent or this stack's own for that address: nobody else can own it (the name holds
//! the account) and the engine then tags and configures it.

mod check;
mod lifecycle;
mod name;
mod objects;
mod policy;
mod schema;
mod settings;

use super::{bucket_tags, deleted, error, eventually, once, tagging};
use crate::aws::{live, millis, partition, tag_index, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::Schema;
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
    TAG_RESOURCE,
};
use async_trait::async_trait;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use futures_util::StreamExt;
pub use name::{bucket_name, name_prefix};
use settings::{normal, Settings, FIELDS};
use std::collections::BTreeMap;

pub use schema::SCHEMA;

pub struct Bucket {
    s3: aws_sdk_s3::Client,
    /// The account, asked once per run for every type.
    account: crate::aws::Account,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Bucket {
    pub fn new(c: &Clients) -> Self {
        Bucket {
            s3: c.s3.clone(),
            account: c.account.clone(),
            tagging: c.tagging.clone(),
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
        let region = self.s3.config().region().map_or("", |r| r.as_ref());
        Settings {
            s3: &self.s3,
            partition: partition(region),
            region,
        }
    }

    async fn name(&self, scope: &Scope, addr: &Addr) -> Result<String, ProviderError> {
        let account = self.account.get().await?;
        Ok(bucket_name(
            &scope.stack,
            &scope.env,
            addr.as_str(),
            &account,
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
        let arn = format!("arn:{}:s3:::{name}", partition(&self.region()));
        let direct = bucket_tags(&self.s3, &name);
        let tags = match tag_index::tags(&self.tagging, scope, Some(&arn), direct).await {
            Ok(t) => t,
            // Deleted since it was listed.
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let found = match (crate::aws::owned(scope, tags.clone()), adopt) {
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
}

#[async_trait]
impl Provider for Bucket {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One ListBuckets (narrowed by name prefix and region), then per bucket its tags
    /// (from the tag index, or GetBucketTagging) and, for ours, seven reads of its
    /// settings, all concurrently.
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
        check::check(r, stack)
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
                Value::Null => true,
                Value::List(l) => l.is_empty(),
                _ => false,
            };
            if !unset {
                settings.write(&name, field, v, &want).await?;
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
                settings.write(&l.id, &change.field, v, &want).await?;
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
        let emptied = if req.bool("force_destroy") == Some(true) {
            objects::empty(&self.s3, req, bucket).await
        } else {
            match objects::count(&self.s3, bucket).await {
                Ok((0, _)) => Ok(()),
                Ok((n, more)) => return Err(objects::refusal(req, bucket, n, more)),
                Err(e) => Err(e),
            }
        };
        match emptied {
            Err(e) if e.is_not_found() => return Ok(()),
            other => other?,
        }
        deleted(
            "DeleteBucket",
            self.s3.delete_bucket().bucket(bucket).send().await,
        )
    }

    fn data_loss(&self, l: &Live, _declared: Option<&Props>) -> Option<String> {
        Some(format!(
            "the bucket {} and every object version in it are deleted",
            l.id
        ))
    }
}
