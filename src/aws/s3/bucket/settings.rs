//! A bucket's settings, one S3 call each way: read back into the stack's vocabulary
//! (where "not configured" is an error code, read as the empty setting) and written from
//! it. The TLS-only policy comes from `policy`, lifecycle rules' shape from `lifecycle`.

use super::super::{error, eventually};
use super::{lifecycle, policy};
use crate::model::{document, Props, Value};
use crate::provider::ProviderError;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, CorsConfiguration, CorsRule,
    ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::collections::BTreeMap;

/// The error codes S3 answers for a setting never made: read as the empty setting.
const NOT_CONFIGURED: &[&str] = &[
    "NoSuchLifecycleConfiguration",
    "NoSuchCORSConfiguration",
    "NoSuchBucketPolicy",
    "ServerSideEncryptionConfigurationNotFoundError",
    "OwnershipControlsNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
];

/// Where `transition_days` moves objects when the rule names no storage class.
pub(super) const DEFAULT_STORAGE_CLASS: &str = "STANDARD_IA";

/// The fields S3 keeps, in the order they are written on create.
pub const FIELDS: &[&str] = &[
    "block_public_access",
    "object_ownership",
    "encryption",
    "versioning",
    "lifecycle_rules",
    "deny_insecure_transport",
    "alb_access_logs_prefix",
    "cors_rules",
];

/// A read's answer, where "not configured" is `None`.
fn optional<T, E>(
    operation: &str,
    r: Result<T, SdkError<E, HttpResponse>>,
) -> Result<Option<T>, ProviderError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            let e = error(operation, e);
            if e.code
                .as_deref()
                .is_some_and(|c| NOT_CONFIGURED.contains(&c))
            {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

pub(super) fn built<T>(
    operation: &str,
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, ProviderError> {
    r.map_err(|e| ProviderError::new(operation, e.to_string()))
}

pub(super) fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn strs(items: &[String]) -> Value {
    Value::List(items.iter().map(|i| s(i)).collect())
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect()
}

pub(super) fn int(m: &BTreeMap<String, Value>, k: &str) -> Option<i32> {
    m.get(k)
        .and_then(Value::as_int)
        .and_then(|i| i32::try_from(i).ok())
}

/// Desired or read properties in one shape, so that equal meaning compares equal:
/// `encryption` filled with its defaults, null fields dropped, the lists inside CORS
/// rules sorted, a transition's storage class filled, and `force_destroy` (never read
/// back) left out.
pub fn normal(props: &Props) -> Props {
    let mut out = Props::new();
    for (k, v) in props {
        if k == "force_destroy" || matches!(v, Value::Null) {
            continue;
        }
        out.insert(k.clone(), drop_nulls(v));
    }
    let enc = match out.remove("encryption") {
        Some(Value::Map(m)) => m,
        Some(other) => {
            out.insert("encryption".into(), other);
            return rules_in_one_shape(out);
        }
        None => BTreeMap::new(),
    };
    let mut enc = enc;
    enc.entry("sse_algorithm".into())
        .or_insert_with(|| s("AES256"));
    enc.entry("bucket_key".into()).or_insert(Value::Bool(false));
    out.insert("encryption".into(), Value::Map(enc));
    rules_in_one_shape(out)
}

fn drop_nulls(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(_, v)| !matches!(v, Value::Null))
                .map(|(k, v)| (k.clone(), drop_nulls(v)))
                .collect(),
        ),
        Value::List(l) => Value::List(l.iter().map(drop_nulls).collect()),
        other => other.clone(),
    }
}

/// The lists inside CORS rules sorted; a lifecycle rule's `transition_storage_class`
/// filled (STANDARD_IA, what the rule is written with) where it has `transition_days`
/// alone.
fn rules_in_one_shape(mut props: Props) -> Props {
    if let Some(Value::List(rules)) = props.get_mut("lifecycle_rules") {
        for r in rules.iter_mut() {
            if let Value::Map(m) = r {
                if m.contains_key("transition_days") {
                    m.entry("transition_storage_class".into())
                        .or_insert_with(|| s(DEFAULT_STORAGE_CLASS));
                }
            }
        }
    }
    if let Some(Value::List(rules)) = props.get_mut("cors_rules") {
        for r in rules.iter_mut() {
            if let Value::Map(m) = r {
                for (k, v) in m.iter_mut() {
                    if let (true, Value::List(items)) = (k != "max_age_seconds", v) {
                        items.sort_by_key(|i| serde_json::to_string(i).unwrap_or_default());
                    }
                }
            }
        }
    }
    props
}

/// Reads and writes the settings of buckets through one client.
pub struct Settings<'a> {
    pub s3: &'a aws_sdk_s3::Client,
    /// `aws`, `aws-cn` or `aws-us-gov`: the partition in ARNs.
    pub partition: &'a str,
    /// The region (which account Elastic Load Balancing writes access logs as).
    pub region: &'a str,
}

impl Settings<'_> {
    /// Every setting of `bucket`, concurrently: seven calls.
    pub async fn read(&self, bucket: &str) -> Result<Props, ProviderError> {
        let (pab, own, enc, ver, life, policy, cors) = tokio::join!(
            self.public_access(bucket),
            self.ownership(bucket),
            self.encryption(bucket),
            self.versioning(bucket),
            self.lifecycle(bucket),
            self.policy(bucket),
            self.cors(bucket),
        );
        let policy = policy?;
        Ok(Props::from([
            ("block_public_access".to_string(), pab?),
            ("object_ownership".to_string(), own?),
            ("encryption".to_string(), enc?),
            ("versioning".to_string(), ver?),
            ("lifecycle_rules".to_string(), life?),
            ("deny_insecure_transport".to_string(), policy.0),
            ("alb_access_logs_prefix".to_string(), policy.1),
            ("cors_rules".to_string(), cors?),
        ]))
    }

    /// `true` when all four flags are on, `false` when none is (or none is set), else
    /// which are on.
    async fn public_access(&self, bucket: &str) -> Result<Value, ProviderError> {
        let out = optional(
            "GetPublicAccessBlock",
            self.s3
                .get_public_access_block()
                .bucket(bucket)
                .send()
                .await,
        )?;
        let Some(c) = out
            .as_ref()
            .and_then(|o| o.public_access_block_configuration())
        else {
            return Ok(Value::Bool(false));
        };
        let flags = [
            ("BlockPublicAcls", c.block_public_acls()),
            ("IgnorePublicAcls", c.ignore_public_acls()),
            ("BlockPublicPolicy", c.block_public_policy()),
            ("RestrictPublicBuckets", c.restrict_public_buckets()),
        ];
        let on: Vec<&str> = flags
            .iter()
            .filter(|(_, v)| *v == Some(true))
            .map(|(k, _)| *k)
            .collect();
        Ok(match on.len() {
            4 => Value::Bool(true),
            0 => Value::Bool(false),
            _ => s(&format!("only {}", on.join(", "))),
        })
    }

    /// No ownership controls means ACLs decide: `ObjectWriter`.
    async fn ownership(&self, bucket: &str) -> Result<Value, ProviderError> {
        let out = optional(
            "GetBucketOwnershipControls",
            self.s3
                .get_bucket_ownership_controls()
                .bucket(bucket)
                .send()
                .await,
        )?;
        let rule = out
            .as_ref()
            .and_then(|o| o.ownership_controls())
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string());
        Ok(s(rule.as_deref().unwrap_or("ObjectWriter")))
    }

    async fn encryption(&self, bucket: &str) -> Result<Value, ProviderError> {
        let out = optional(
            "GetBucketEncryption",
            self.s3.get_bucket_encryption().bucket(bucket).send().await,
        )?;
        let Some(rule) = out
            .as_ref()
            .and_then(|o| o.server_side_encryption_configuration())
            .and_then(|c| c.rules().first())
        else {
            return Ok(s("none"));
        };
        let mut m = BTreeMap::new();
        if let Some(d) = rule.apply_server_side_encryption_by_default() {
            m.insert("sse_algorithm".into(), s(d.sse_algorithm().as_str()));
            if let Some(k) = d.kms_master_key_id() {
                m.insert("kms_key_id".into(), s(k));
            }
        }
        m.insert(
            "bucket_key".into(),
            Value::Bool(rule.bucket_key_enabled().unwrap_or(false)),
        );
        Ok(Value::Map(m))
    }

    /// Suspended versioning keeps old versions but makes no new ones: `false`.
    async fn versioning(&self, bucket: &str) -> Result<Value, ProviderError> {
        let out = self
            .s3
            .get_bucket_versioning()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| error("GetBucketVersioning", e))?;
        Ok(Value::Bool(
            out.status() == Some(&BucketVersioningStatus::Enabled),
        ))
    }

    async fn lifecycle(&self, bucket: &str) -> Result<Value, ProviderError> {
        let out = optional(
            "GetBucketLifecycleConfiguration",
            self.s3
                .get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
                .await,
        )?;
        let rules = out.as_ref().map(|o| o.rules()).unwrap_or_default();
        Ok(Value::List(rules.iter().map(lifecycle::value).collect()))
    }

    /// What the bucket's policy stands for: `deny_insecure_transport` (`true` or `false`)
    /// and `alb_access_logs_prefix` (the prefix, or null), when it is a policy this tool
    /// writes; otherwise a description of the other policy for both (an apply replaces it).
    async fn policy(&self, bucket: &str) -> Result<(Value, Value), ProviderError> {
        let out = optional(
            "GetBucketPolicy",
            self.s3.get_bucket_policy().bucket(bucket).send().await,
        )?;
        let Some(text) = out.as_ref().and_then(|o| o.policy()) else {
            return Ok((Value::Bool(false), Value::Null));
        };
        let have: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let deny = policy::has_deny(&have);
        let prefix = policy::alb_logs_prefix(&have, self.partition, bucket);
        let ours = policy::policy(self.partition, bucket, self.region, deny, prefix.as_deref());
        if let Some(ours) = ours {
            if document::same_policy(&document::from_json(&have), &document::from_json(&ours)) {
                return Ok((Value::Bool(deny), str_or_null(prefix)));
            }
        }
        let n = have
            .get("Statement")
            .map(|s| s.as_array().map_or(1, Vec::len))
            .unwrap_or(0);
        let other = s(&format!("another policy ({n} statements)"));
        Ok((other.clone(), other))
    }

    async fn cors(&self, bucket: &str) -> Result<Value, ProviderError> {
        let out = optional(
            "GetBucketCors",
            self.s3.get_bucket_cors().bucket(bucket).send().await,
        )?;
        let rules = out.as_ref().map(|o| o.cors_rules()).unwrap_or_default();
        Ok(Value::List(
            rules
                .iter()
                .map(|r| {
                    let mut m = BTreeMap::from([
                        ("allowed_origins".to_string(), strs(r.allowed_origins())),
                        ("allowed_methods".to_string(), strs(r.allowed_methods())),
                        ("allowed_headers".to_string(), strs(r.allowed_headers())),
                        ("expose_headers".to_string(), strs(r.expose_headers())),
                    ]);
                    if let Some(age) = r.max_age_seconds() {
                        m.insert("max_age_seconds".into(), Value::Int(age.into()));
                    }
                    Value::Map(m)
                })
                .collect(),
        ))
    }

    /// Bring one setting (a name from `FIELDS`) of `bucket` to `want`; `all` is every
    /// desired setting (the policy stands for two of them).
    pub async fn write(
        &self,
        bucket: &str,
        field: &str,
        want: &Value,
        all: &Props,
    ) -> Result<(), ProviderError> {
        match field {
            "block_public_access" => self.set_public_access(bucket, want).await,
            "object_ownership" => self.set_ownership(bucket, want).await,
            "encryption" => self.set_encryption(bucket, want).await,
            "versioning" => self.set_versioning(bucket, want).await,
            "lifecycle_rules" => self.set_lifecycle(bucket, want).await,
            "deny_insecure_transport" | "alb_access_logs_prefix" => {
                self.set_policy(bucket, all).await
            }
            "cors_rules" => self.set_cors(bucket, want).await,
            _ => Ok(()),
        }
    }

    async fn set_public_access(&self, bucket: &str, want: &Value) -> Result<(), ProviderError> {
        if want.as_bool() != Some(true) {
            let r = self
                .s3
                .delete_public_access_block()
                .bucket(bucket)
                .customize()
                .config_override(eventually::<
                    aws_sdk_s3::operation::delete_public_access_block::DeletePublicAccessBlockError,
                >())
                .send()
                .await;
            return optional("DeletePublicAccessBlock", r).map(|_| ());
        }
        let all = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        self.s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(all)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_public_access_block::PutPublicAccessBlockError,
            >())
            .send()
            .await
            .map_err(|e| error("PutPublicAccessBlock", e))?;
        Ok(())
    }

    async fn set_ownership(&self, bucket: &str, want: &Value) -> Result<(), ProviderError> {
        let op = "PutBucketOwnershipControls";
        let rule = built(
            op,
            OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::from(
                    want.as_str().unwrap_or("BucketOwnerEnforced"),
                ))
                .build(),
        )?;
        let controls = built(op, OwnershipControls::builder().rules(rule).build())?;
        self.s3
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_ownership_controls::PutBucketOwnershipControlsError,
            >())
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(())
    }

    async fn set_encryption(&self, bucket: &str, want: &Value) -> Result<(), ProviderError> {
        let op = "PutBucketEncryption";
        let empty = BTreeMap::new();
        let m = want.as_map().unwrap_or(&empty);
        let alg = m
            .get("sse_algorithm")
            .and_then(Value::as_str)
            .unwrap_or("AES256");
        let default = built(
            op,
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(alg))
                .set_kms_master_key_id(
                    m.get("kms_key_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                )
                .build(),
        )?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default)
            .bucket_key_enabled(
                m.get("bucket_key")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
            .build();
        let config = built(
            op,
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build(),
        )?;
        self.s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(config)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_encryption::PutBucketEncryptionError,
            >())
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(())
    }

    async fn set_versioning(&self, bucket: &str, want: &Value) -> Result<(), ProviderError> {
        let status = if want.as_bool() == Some(true) {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        self.s3
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningError,
            >())
            .send()
            .await
            .map_err(|e| error("PutBucketVersioning", e))?;
        Ok(())
    }

    async fn set_lifecycle(&self, bucket: &str, want: &Value) -> Result<(), ProviderError> {
        let op = "PutBucketLifecycleConfiguration";
        let rules = want.as_list().unwrap_or_default();
        if rules.is_empty() {
            let r = self
                .s3
                .delete_bucket_lifecycle()
                .bucket(bucket)
                .customize()
                .config_override(eventually::<
                    aws_sdk_s3::operation::delete_bucket_lifecycle::DeleteBucketLifecycleError,
                >())
                .send()
                .await;
            return optional("DeleteBucketLifecycle", r).map(|_| ());
        }
        let rules = rules
            .iter()
            .map(|r| lifecycle::rule(r.as_map().unwrap_or(&BTreeMap::new())))
            .collect::<Result<Vec<_>, _>>()?;
        let config = built(
            op,
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build(),
        )?;
        self.s3
            .put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(config)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_lifecycle_configuration::PutBucketLifecycleConfigurationError,
            >())
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(())
    }

    async fn set_policy(&self, bucket: &str, all: &Props) -> Result<(), ProviderError> {
        let deny = all
            .get("deny_insecure_transport")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let prefix = all.get("alb_access_logs_prefix").and_then(Value::as_str);
        let Some(policy) = policy::policy(self.partition, bucket, self.region, deny, prefix) else {
            let r = self
                .s3
                .delete_bucket_policy()
                .bucket(bucket)
                .customize()
                .config_override(eventually::<
                    aws_sdk_s3::operation::delete_bucket_policy::DeleteBucketPolicyError,
                >())
                .send()
                .await;
            return optional("DeleteBucketPolicy", r).map(|_| ());
        };
        self.s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_string())
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("PutBucketPolicy", e))?;
        Ok(())
    }

    async fn set_cors(&self, bucket: &str, want: &Value) -> Result<(), ProviderError> {
        let op = "PutBucketCors";
        let rules = want.as_list().unwrap_or_default();
        if rules.is_empty() {
            let r = self
                .s3
                .delete_bucket_cors()
                .bucket(bucket)
                .customize()
                .config_override(eventually::<
                    aws_sdk_s3::operation::delete_bucket_cors::DeleteBucketCorsError,
                >())
                .send()
                .await;
            return optional("DeleteBucketCors", r).map(|_| ());
        }
        let empty = BTreeMap::new();
        let rules = rules
            .iter()
            .map(|r| {
                let m = r.as_map().unwrap_or(&empty);
                built(
                    op,
                    CorsRule::builder()
                        .set_allowed_origins(Some(str_list(m.get("allowed_origins"))))
                        .set_allowed_methods(Some(str_list(m.get("allowed_methods"))))
                        .set_allowed_headers(Some(str_list(m.get("allowed_headers"))))
                        .set_expose_headers(Some(str_list(m.get("expose_headers"))))
                        .set_max_age_seconds(int(m, "max_age_seconds"))
                        .build(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let config = built(
            op,
            CorsConfiguration::builder()
                .set_cors_rules(Some(rules))
                .build(),
        )?;
        self.s3
            .put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(config)
            .customize()
            .config_override(eventually::<
                aws_sdk_s3::operation::put_bucket_cors::PutBucketCorsError,
            >())
            .send()
            .await
            .map_err(|e| error(op, e))?;
        Ok(())
    }
}

fn str_or_null(v: Option<String>) -> Value {
    v.map(Value::Str).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn normal_fills_encryption_defaults_and_sorts_cors_lists() {
        let props = Props::from([
            ("force_destroy".to_string(), Value::Bool(true)),
            (
                "cors_rules".to_string(),
                Value::List(vec![Value::Map(BTreeMap::from([(
                    "allowed_methods".to_string(),
                    Value::List(vec![s("PUT"), s("GET")]),
                )]))]),
            ),
        ]);
        let mut props = props;
        props.insert(
            "lifecycle_rules".to_string(),
            Value::List(vec![Value::Map(BTreeMap::from([(
                "transition_days".to_string(),
                Value::Int(30),
            )]))]),
        );
        let n = normal(&props);
        assert!(!n.contains_key("force_destroy"));
        assert_eq!(
            n["lifecycle_rules"],
            Value::List(vec![Value::Map(BTreeMap::from([
                ("transition_days".to_string(), Value::Int(30)),
                ("transition_storage_class".to_string(), s("STANDARD_IA")),
            ]))])
        );
        assert_eq!(
            n["encryption"],
            Value::Map(BTreeMap::from([
                ("bucket_key".to_string(), Value::Bool(false)),
                ("sse_algorithm".to_string(), s("AES256")),
            ]))
        );
        assert_eq!(
            n["cors_rules"],
            Value::List(vec![Value::Map(BTreeMap::from([(
                "allowed_methods".to_string(),
                Value::List(vec![s("GET"), s("PUT")]),
            )]))])
        );
    }
}
