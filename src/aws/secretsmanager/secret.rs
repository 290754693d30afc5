//! `aws_secretsmanager_secret`: a secret whose value the tool generates once, on create,
//! or one the stack only declares while an operator sets its value. Its value is never
//! read, compared, shown or logged; a secret is never replaced (its name would stay taken
//! for the recovery window).

use super::{deleted, error, eventually, once, owned, retag, tags};
use crate::aws::{live, millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta, TAG_ENV,
    TAG_STACK,
};
use async_trait::async_trait;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};

pub static SCHEMA: Schema = Schema {
    type_name: "aws_secretsmanager_secret",
    doc: "A Secrets Manager secret: generated on create, or set by an operator.",
    fields: &[
        Field {
            default: Some(Default::Str("")),
            ..Field::new("description", Kind::Str, "what the secret is for")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "generate",
                Kind::Bool,
                "generate a random value on create (never overwrites a value); false: an operator sets it",
            )
        },
        Field {
            default: Some(Default::Int(64)),
            ..Field::new("length", Kind::Int, "length of a generated value")
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "exclude_punctuation",
                Kind::Bool,
                "leave punctuation out of a generated value",
            )
        },
        Field {
            default: Some(Default::Int(30)),
            ..Field::new(
                "recovery_window_days",
                Kind::Int,
                "days a deleted secret can be restored: 7 to 30, or 0 to delete at once",
            )
        },
        Field::new(
            "kms_key_id",
            Kind::Str,
            "the KMS key that encrypts it (default: aws/secretsmanager)",
        ),
    ],
    attributes: &["id", "arn", "name"],
};

/// Fields that only steer what the tool does (generation, deletion): AWS keeps no record
/// of them, so they are never read back nor compared.
const NOT_READ: &[&str] = &["length", "exclude_punctuation", "recovery_window_days"];

pub struct Secret {
    sm: aws_sdk_secretsmanager::Client,
}

impl Secret {
    pub fn new(c: &Clients) -> Self {
        Secret {
            sm: c.secretsmanager.clone(),
        }
    }

    /// A random value from Secrets Manager itself. It lives only in memory, on its way
    /// into the secret.
    async fn random(&self, req: &Request<'_>) -> Result<String, ProviderError> {
        let out = self
            .sm
            .get_random_password()
            .password_length(req.int("length").unwrap_or(64))
            .exclude_punctuation(req.bool("exclude_punctuation").unwrap_or(true))
            .send()
            .await
            .map_err(|e| error("GetRandomPassword", e))?;
        out.random_password()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new("GetRandomPassword", "no password in the answer"))
    }

    /// The secret named `id` as a `Live`, if `scope` owns it (DescribeSecret).
    async fn describe(&self, scope: &Scope, id: &str) -> Result<Option<Live>, ProviderError> {
        let out = match self.sm.describe_secret().secret_id(id).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = error("DescribeSecret", e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let Some(owned) = owned(scope, out.tags()) else {
            return Ok(None);
        };
        let has_value = out
            .version_ids_to_stages()
            .is_some_and(|v| v.values().any(|s| s.iter().any(|s| s == "AWSCURRENT")));
        Ok(Some(to_live(
            owned.or_created(out.created_date().and_then(millis)),
            out.arn().unwrap_or_default(),
            out.name().unwrap_or_default(),
            out.description(),
            out.kms_key_id(),
            has_value,
        )))
    }

    /// Put a generated value into a secret that has none (turning `generate` on, or a
    /// restored secret without one). A secret with a value keeps it.
    async fn fill(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        if has_value(l) {
            return Ok(());
        }
        // Look again: an operator may have set a value since the plan.
        if let Some(now) = self.describe(req.scope, &l.id).await? {
            if has_value(&now) {
                return Ok(());
            }
        }
        let value = self.random(req).await?;
        self.sm
            .put_secret_value()
            .secret_id(&l.id)
            .secret_string(value)
            .client_request_token(req.scope.client_token(req.addr, req.props))
            .customize()
            .config_override(once::<
                aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError,
            >())
            .send()
            .await
            .map_err(|e| error("PutSecretValue", e))?;
        Ok(())
    }

    /// A secret found under our name where we meant to create one (restored from its
    /// scheduled deletion, or made by an earlier attempt): bring it to the stack.
    async fn take_over(&self, req: &Request<'_>, name: &str) -> Result<Live, ProviderError> {
        let Some(l) = self.describe(req.scope, name).await? else {
            return Err(ProviderError::new(
                "CreateSecret",
                format!("a secret named {name} exists and this stack does not own it: rename the resource or delete that secret"),
            ));
        };
        let delta = TagDelta::between(&l.tags, &req.tags());
        if !delta.is_empty() {
            retag(&self.sm, &l.id, &delta).await?;
        }
        let mut next = self.update(req, &l).await?;
        next.tags = req.tags().into_iter().collect();
        if let Some(created) = l.tags.get(crate::provider::TAG_CREATED) {
            next.tags
                .insert(crate::provider::TAG_CREATED.into(), created.clone());
        }
        Ok(next)
    }
}

fn has_value(l: &Live) -> bool {
    l.props.get("generate").and_then(Value::as_bool) == Some(true)
}

/// A secret as the engine sees it. `generate` reads as whether the secret holds a value:
/// a declared `generate: true` is satisfied by any value, and the value itself is never
/// read.
fn to_live(
    owned: Owned,
    arn: &str,
    name: &str,
    description: Option<&str>,
    kms_key_id: Option<&str>,
    has_value: bool,
) -> Live {
    let mut props = Props::from([
        (
            "description".to_string(),
            Value::Str(description.unwrap_or_default().to_string()),
        ),
        ("generate".to_string(), Value::Bool(has_value)),
    ]);
    if let Some(k) = kms_key_id {
        props.insert("kms_key_id".into(), Value::Str(k.to_string()));
    }
    live(
        owned,
        arn,
        props,
        Vec::new(),
        &[
            ("arn", Value::Str(arn.to_string())),
            ("name", Value::Str(name.to_string())),
        ],
    )
}

#[async_trait]
impl Provider for Secret {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if let (Some(days), Some(pos)) = (
            r.props.get("recovery_window_days").and_then(Value::as_int),
            r.field_pos.get("recovery_window_days"),
        ) {
            if days != 0 && !(7..=30).contains(&days) {
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        format!(
                            "secret `{}` has recovery_window_days {days}: Secrets Manager keeps a deleted secret 7 to 30 days",
                            r.addr
                        ),
                    )
                    .hint("use 7 to 30, or 0 to delete at once without recovery"),
                );
            }
        }
        if let (Some(len), Some(pos)) = (
            r.props.get("length").and_then(Value::as_int),
            r.field_pos.get("length"),
        ) {
            if !(1..=4096).contains(&len) {
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        format!(
                            "secret `{}` has length {len}: a generated value is 1 to 4096 characters",
                            r.addr
                        ),
                    )
                    .hint("the default, 64, is plenty"),
                );
            }
        }
        out
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // Tag filters are independent prefix matches (a key matching one pair and a value
        // another would pass): `owned` checks the pairs again.
        let filter = |key: FilterNameStringType, value: &str| {
            Filter::builder().key(key).values(value).build()
        };
        let mut filters = vec![
            filter(FilterNameStringType::TagKey, TAG_STACK),
            filter(FilterNameStringType::TagValue, &scope.stack),
            filter(FilterNameStringType::TagKey, TAG_ENV),
            filter(FilterNameStringType::TagValue, &scope.env),
        ];
        if let Some(a) = only {
            // Names are prefix matches too; the engine keeps only the address it asked for.
            filters.push(filter(FilterNameStringType::Name, &scope.name_for(a)));
        }
        let pages: Vec<_> = self
            .sm
            .list_secrets()
            .set_filters(Some(filters))
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListSecrets", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.secret_list())
            .filter(|s| s.deleted_date().is_none())
            .filter_map(|s| {
                let owned = owned(scope, s.tags())?.or_created(s.created_date().and_then(millis));
                let has_value = s
                    .secret_versions_to_stages()
                    .is_some_and(|v| v.values().any(|s| s.iter().any(|s| s == "AWSCURRENT")));
                Some(to_live(
                    owned,
                    s.arn()?,
                    s.name().unwrap_or_default(),
                    s.description(),
                    s.kms_key_id(),
                    has_value,
                ))
            })
            .collect())
    }

    /// `generate` differs only when a value is wanted and there is none; the value is
    /// never compared. Fields AWS keeps no record of are not compared either.
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let wants_value = desired.get("generate").and_then(Value::as_bool) == Some(true);
        default_diff(self.schema(), desired, l)
            .into_iter()
            .filter(|c| !NOT_READ.contains(&c.field.as_str()))
            .filter(|c| c.field != "generate" || (wants_value && !has_value(l)))
            .collect()
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = req.name();
        let generate = req.bool("generate") == Some(true);
        let mut call = self
            .sm
            .create_secret()
            .name(&name)
            .set_description(
                Some(req.str("description"))
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
            )
            .set_kms_key_id(
                req.get("kms_key_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            )
            .set_tags(Some(tags(req)))
            // The same token for every attempt of this create: a repeat is recognised.
            .client_request_token(req.scope.client_token(req.addr, req.props));
        if generate {
            // In the create call itself: the secret never exists without its value.
            call = call.secret_string(self.random(req).await?);
        }
        let out = call
            .customize()
            .config_override(once::<
                aws_sdk_secretsmanager::operation::create_secret::CreateSecretError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateSecret", e));
        let out = match out {
            Ok(out) => out,
            Err(e)
                if e.code.as_deref() == Some("InvalidRequestException")
                    && e.message.contains("scheduled for deletion") =>
            {
                // Deleted with a recovery window, and declared again: bring it back.
                self.sm
                    .restore_secret()
                    .secret_id(&name)
                    .customize()
                    .config_override(eventually::<
                        aws_sdk_secretsmanager::operation::restore_secret::RestoreSecretError,
                    >())
                    .send()
                    .await
                    .map_err(|e| error("RestoreSecret", e))?;
                (req.note)(format!(
                    "secret {name} was scheduled for deletion: restored it, with the value it had"
                ));
                return self.take_over(req, &name).await;
            }
            // A repeat whose first attempt went through (its answer lost, and the lookup
            // by tags missed it): the secret is ours already.
            Err(e) if e.is_conflict() => return self.take_over(req, &name).await,
            Err(e) => return Err(e),
        };
        let arn = out.arn().unwrap_or_default();
        Ok(to_live(
            Owned::made(req),
            arn,
            out.name().unwrap_or(&name),
            Some(req.str("description")),
            req.get("kms_key_id").and_then(Value::as_str),
            generate,
        ))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let want_kms = req.get("kms_key_id").and_then(Value::as_str);
        let have_kms = l.props.get("kms_key_id").and_then(Value::as_str);
        let description = req.str("description");
        let have_description = l
            .props
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if description != have_description || (want_kms.is_some() && want_kms != have_kms) {
            self.sm
                .update_secret()
                .secret_id(&l.id)
                .description(description)
                .set_kms_key_id(want_kms.map(str::to_string))
                .customize()
                .config_override(eventually::<
                    aws_sdk_secretsmanager::operation::update_secret::UpdateSecretError,
                >())
                .send()
                .await
                .map_err(|e| error("UpdateSecret", e))?;
        }
        let mut next = l.clone();
        next.props
            .insert("description".into(), Value::Str(description.to_string()));
        if let Some(k) = want_kms {
            next.props.insert("kms_key_id".into(), Value::Str(k.into()));
        }
        if req.bool("generate") == Some(true) {
            self.fill(req, l).await?;
            next.props.insert("generate".into(), Value::Bool(true));
        }
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.sm, &l.id, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let days = req.int("recovery_window_days").unwrap_or(30);
        let call = self.sm.delete_secret().secret_id(&l.id);
        let call = if days == 0 {
            call.force_delete_without_recovery(true)
        } else {
            call.recovery_window_in_days(days)
        };
        match deleted("DeleteSecret", call.send().await) {
            // Already scheduled for deletion (a repeat of a delete whose answer was lost).
            Err(e)
                if e.code.as_deref() == Some("InvalidRequestException")
                    && e.message.contains("marked deleted") =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Its value: kept for the recovery window (restore it with `aws secretsmanager
    /// restore-secret`), or gone at once with a window of 0.
    fn data_loss(&self, l: &Live, declared: Option<&Props>) -> Option<String> {
        let days = declared
            .and_then(|d| d.get("recovery_window_days"))
            .and_then(Value::as_int)
            .unwrap_or(30);
        Some(if days == 0 {
            format!(
                "the value of {} is deleted at once, without recovery (recovery_window_days: 0)",
                l.id
            )
        } else {
            format!("the value is kept {days} days, during which `aws secretsmanager restore-secret --secret-id {}` brings it back", l.id)
        })
    }
}
