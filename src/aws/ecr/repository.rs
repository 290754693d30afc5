//! `aws_ecr_repository`: a container image repository (the frontend's and backend's
//! images). Named `<stack>-<env>-<address>` in ECR's lowercase alphabet; scans on push,
//! immutable tags and AES256 encryption by default; a lifecycle policy written by the
//! tool keeps the last `keep_last_images` images. A repository holding images is never
//! deleted unless `force_delete: true` is declared.

use super::{error, eventually, list_tags, once, retag, tags};
use crate::aws::{live, tag_index, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::document::parse;
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository as SdkRepository,
};
use futures_util::future::try_join_all;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_ecr_repository",
    doc: "An ECR container image repository.",
    fields: &[
        Field {
            default: Some(Default::Str("IMMUTABLE")),
            ..Field::new(
                "image_tag_mutability",
                Kind::OneOf(&["IMMUTABLE", "MUTABLE"]),
                "IMMUTABLE (a tag, once pushed, always names the same image) or MUTABLE; changed in place",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "scan_on_push",
                Kind::Bool,
                "scan each image for vulnerabilities when pushed; changed in place",
            )
        },
        Field {
            default: Some(Default::Str("AES256")),
            force_new: true,
            replace_why: Some("ECR cannot change a repository's encryption"),
            ..Field::new(
                "encryption_type",
                Kind::OneOf(&["AES256", "KMS"]),
                "AES256 (S3-managed keys) or KMS. ECR cannot change it: the repository is replaced",
            )
        },
        Field {
            force_new: true,
            replace_why: Some("ECR cannot change a repository's encryption"),
            ..Field::new(
                "kms_key",
                Kind::Str,
                "with encryption_type KMS, the key's ARN (default: the aws/ecr managed key)",
            )
        },
        Field {
            default: Some(Default::Int(30)),
            ..Field::new(
                "keep_last_images",
                Kind::Int,
                "the lifecycle policy expires all but the most recent N images (1 to 10000; 0: no lifecycle policy); changed in place",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "force_delete",
                Kind::Bool,
                "delete the repository even if it holds images (they are lost). Read when the repository is deleted while declared (destroy, a replacement); one removed from the stack is deleted as read, without it",
            )
        },
    ],
    attributes: &["id", "arn", "name", "repository_url"],
};

/// The provider of `aws_ecr_repository`.
pub struct Repository {
    ecr: aws_sdk_ecr::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Repository {
    pub fn new(c: &Clients) -> Self {
        Repository {
            ecr: c.ecr.clone(),
            tagging: c.tagging.clone(),
        }
    }

    /// The most recent N images kept, from the repository's lifecycle policy: 0 without
    /// one, a description of it when it is not the one this tool writes.
    async fn kept(&self, name: &str) -> Result<Value, ProviderError> {
        let out = self
            .ecr
            .get_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .map_err(|e| error("GetLifecyclePolicy", e));
        match out {
            Ok(o) => Ok(keep_count(o.lifecycle_policy_text().unwrap_or_default())),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Value::Int(0)),
            Err(e) => Err(e),
        }
    }

    async fn set_lifecycle(&self, name: &str, keep: i64) -> Result<(), ProviderError> {
        if keep == 0 {
            return super::deleted(
                "DeleteLifecyclePolicy",
                self.ecr
                    .delete_lifecycle_policy()
                    .repository_name(name)
                    .send()
                    .await,
            );
        }
        self.ecr
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(lifecycle_policy(keep))
            .customize()
            .config_override(eventually::<
                aws_sdk_ecr::operation::put_lifecycle_policy::PutLifecyclePolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("PutLifecyclePolicy", e))?;
        Ok(())
    }

    /// How many images the repository holds (ListImages, paginated).
    async fn image_count(&self, name: &str) -> Result<usize, ProviderError> {
        let ids: Vec<_> = self
            .ecr
            .list_images()
            .repository_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("ListImages", e))?;
        Ok(ids.len())
    }
}

/// The lifecycle policy this tool writes: expire all but the most recent `keep` images.
pub fn lifecycle_policy(keep: i64) -> String {
    serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("keep the last {keep} images (bandup-infra)"),
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": keep,
            },
            "action": { "type": "expire" },
        }]
    })
    .to_string()
}

/// The N of a lifecycle policy that is exactly what `lifecycle_policy` writes; any other
/// policy as a description, which differs from every N (and so plans its replacement).
fn keep_count(text: &str) -> Value {
    let other = || Value::Str("(a lifecycle policy not written by bandup-infra)".into());
    let Some(doc) = parse(text) else {
        return other();
    };
    let rules = doc
        .as_map()
        .and_then(|m| m.get("rules"))
        .and_then(Value::as_list)
        .unwrap_or_default();
    let [rule] = rules else { return other() };
    let get = |path: &[&str]| {
        path.iter()
            .try_fold(rule, |v, k| v.as_map().and_then(|m| m.get(*k)))
            .cloned()
    };
    let ours = get(&["selection", "tagStatus"]) == Some(Value::Str("any".into()))
        && get(&["selection", "countType"]) == Some(Value::Str("imageCountMoreThan".into()))
        && get(&["action", "type"]) == Some(Value::Str("expire".into()));
    match get(&["selection", "countNumber"]) {
        Some(Value::Int(n)) if ours => Value::Int(n),
        _ => other(),
    }
}

/// A repository name for `name`: ECR allows lowercase letters, digits and single
/// separators (`.`, `_`, `-`, `/`) between them, up to 256 characters.
pub fn repo_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() || "._-/".contains(c) {
            c
        } else {
            '-'
        };
        let sep = !c.is_ascii_alphanumeric();
        if sep && (out.is_empty() || out.ends_with(|p: char| !p.is_ascii_alphanumeric())) {
            continue;
        }
        out.push(c);
    }
    out.trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(256)
        .collect()
}

fn name_of(scope: &Scope, addr: &Addr) -> String {
    repo_name(&scope.name_for(addr))
}

fn props_of(r: &SdkRepository, keep: Value) -> Props {
    let enc = r.encryption_configuration();
    Props::from([
        (
            "image_tag_mutability".to_string(),
            Value::Str(
                r.image_tag_mutability()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_else(|| "MUTABLE".into()),
            ),
        ),
        (
            "scan_on_push".to_string(),
            Value::Bool(
                r.image_scanning_configuration()
                    .is_some_and(|s| s.scan_on_push()),
            ),
        ),
        (
            "encryption_type".to_string(),
            Value::Str(
                enc.map(|e| e.encryption_type().as_str().to_string())
                    .unwrap_or_else(|| "AES256".into()),
            ),
        ),
        (
            "kms_key".to_string(),
            crate::aws::str_value(enc.and_then(|e| e.kms_key())),
        ),
        ("keep_last_images".to_string(), keep),
    ])
}

fn made(owned: Owned, name: &str, arn: &str, url: &str, props: Props) -> Live {
    live(
        owned,
        name,
        props,
        Vec::new(),
        &[
            ("name", Value::Str(name.to_string())),
            ("arn", Value::Str(arn.to_string())),
            ("repository_url", Value::Str(url.to_string())),
        ],
    )
}

#[async_trait]
impl Provider for Repository {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let pos = |f: &str| r.field_pos.get(f).cloned().unwrap_or(r.pos.clone());
        if let Some(Value::Int(n)) = r.props.get("keep_last_images") {
            if !(0..=10000).contains(n) {
                out.push(
                    Diagnostic::new(
                        pos("keep_last_images"),
                        format!("`{}` keep_last_images {n} is out of range", r.addr),
                    )
                    .hint("ECR counts 1 to 10000 images; 0 writes no lifecycle policy"),
                );
            }
        }
        let kms = r.props.get("encryption_type").and_then(Value::as_str) == Some("KMS");
        if !kms
            && r.props
                .get("kms_key")
                .is_some_and(|v| !matches!(v, Value::Null))
        {
            out.push(
                Diagnostic::new(
                    pos("kms_key"),
                    format!("`{}` sets kms_key without encryption_type KMS", r.addr),
                )
                .hint("set encryption_type: KMS, or remove kms_key"),
            );
        }
        out
    }

    /// DescribeRepositories (paginated), narrowed to names starting `<stack>-<env>-`,
    /// then for each of those, concurrently, ListTagsForResource and GetLifecyclePolicy:
    /// 1 + 2n calls (ECR lists no tags and has no batch tag read).
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let want = only.map(|a| name_of(scope, a));
        let prefix = repo_name(&scope.name_prefix()) + "-";
        let repos: Vec<SdkRepository> = self
            .ecr
            .describe_repositories()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("DescribeRepositories", e))?;
        let ours = repos.iter().filter(|r| {
            let name = r.repository_name().unwrap_or_default();
            match &want {
                Some(w) => name == w,
                None => name.starts_with(&prefix),
            }
        });
        let found = try_join_all(ours.map(|r| async move {
            let arn = r.repository_arn().unwrap_or_default();
            let name = r.repository_name().unwrap_or_default();
            let tags = tag_index::tags(&self.tagging, scope, Some(arn), list_tags(&self.ecr, arn));
            let (tags, keep) = futures_util::future::try_join(tags, self.kept(name)).await?;
            Ok::<_, ProviderError>((r, tags, keep))
        }))
        .await?;
        Ok(found
            .into_iter()
            .filter_map(|(r, tags, keep)| {
                let owned = crate::aws::owned(scope, tags)?;
                let created = r.created_at().and_then(crate::aws::millis);
                Some(made(
                    owned.or_created(created),
                    r.repository_name().unwrap_or_default(),
                    r.repository_arn().unwrap_or_default(),
                    r.repository_uri().unwrap_or_default(),
                    props_of(r, keep),
                ))
            })
            .collect())
    }

    /// The declared fields but `force_delete`, which AWS does not hold: it says how a
    /// delete is made.
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut rest = desired.clone();
        rest.remove("force_delete");
        default_diff(&SCHEMA, &rest, l)
    }

    /// CreateRepository with its tags, scanning, tag mutability and encryption, then the
    /// lifecycle policy.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = name_of(req.scope, req.addr);
        let kms = req
            .get("kms_key")
            .and_then(Value::as_str)
            .map(str::to_string);
        let encryption = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::from(req.str("encryption_type")))
            .set_kms_key(kms)
            .build()
            .map_err(|e| ProviderError::new("CreateRepository", e.to_string()))?;
        let out = self
            .ecr
            .create_repository()
            .repository_name(&name)
            .image_tag_mutability(ImageTagMutability::from(req.str("image_tag_mutability")))
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(req.bool("scan_on_push").unwrap_or(true))
                    .build(),
            )
            .encryption_configuration(encryption)
            .set_tags(Some(tags(req)?))
            .customize()
            .config_override(once::<
                aws_sdk_ecr::operation::create_repository::CreateRepositoryError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateRepository", e))?;
        let repo = out
            .repository()
            .ok_or_else(|| ProviderError::new("CreateRepository", "ECR returned no repository"))?;
        self.set_lifecycle(&name, req.int("keep_last_images").unwrap_or(0))
            .await?;
        Ok(made(
            Owned::made(req),
            &name,
            repo.repository_arn().unwrap_or_default(),
            repo.repository_uri().unwrap_or_default(),
            req.props.clone(),
        ))
    }

    /// Tag mutability, scanning and the lifecycle policy in place.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let differs = |f: &str| req.get(f).is_some_and(|v| Some(v) != l.props.get(f));
        if differs("image_tag_mutability") {
            self.ecr
                .put_image_tag_mutability()
                .repository_name(&l.id)
                .image_tag_mutability(ImageTagMutability::from(req.str("image_tag_mutability")))
                .customize()
                .config_override(eventually::<
                    aws_sdk_ecr::operation::put_image_tag_mutability::PutImageTagMutabilityError,
                >())
                .send()
                .await
                .map_err(|e| error("PutImageTagMutability", e))?;
        }
        if differs("scan_on_push") {
            self.ecr
                .put_image_scanning_configuration()
                .repository_name(&l.id)
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(req.bool("scan_on_push").unwrap_or(true))
                        .build(),
                )
                .customize()
                .config_override(eventually::<
                    aws_sdk_ecr::operation::put_image_scanning_configuration::PutImageScanningConfigurationError,
                >())
                .send()
                .await
                .map_err(|e| error("PutImageScanningConfiguration", e))?;
        }
        if differs("keep_last_images") {
            self.set_lifecycle(&l.id, req.int("keep_last_images").unwrap_or(0))
                .await?;
        }
        let mut next = l.clone();
        next.props = req.props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        retag(&self.ecr, arn, delta).await
    }

    /// DeleteRepository, with `force` only if `force_delete: true` is declared: ECR
    /// refuses to delete a repository holding images otherwise (RepositoryNotEmpty),
    /// and the refusal says how many and what to do.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let force = req.bool("force_delete").unwrap_or(false);
        let result = super::deleted(
            "DeleteRepository",
            self.ecr
                .delete_repository()
                .repository_name(&l.id)
                .force(force)
                .send()
                .await,
        );
        match result {
            Err(mut e) if e.kind == ErrorKind::InUse => {
                let count = self.image_count(&l.id).await.ok();
                let held = match count {
                    Some(1) => "1 image".to_string(),
                    Some(n) => format!("{n} images"),
                    None => "images".to_string(),
                };
                e.message = format!(
                    "repository {} still holds {held}; bandup-infra deletes a repository with its images only when `{}` declares `force_delete: true` (then run the plan again), or delete the images first (aws ecr batch-delete-image --repository-name {})",
                    l.id, l.addr, l.id
                );
                Err(e)
            }
            other => other,
        }
    }

    fn data_loss(&self, l: &Live, declared: Option<&Props>) -> Option<String> {
        let force = declared
            .and_then(|p| p.get("force_delete"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        force.then(|| format!("every image in {} (force_delete: true)", l.id))
    }
}
