//! Lifecycle rules between S3's shape and the stack's: only the fields that are set, so
//! that rules read back compare equal to the rules declared.

use super::settings::{built, int, s, DEFAULT_STORAGE_CLASS};
use crate::model::Value;
use crate::provider::ProviderError;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, Transition, TransitionStorageClass,
};
use std::collections::BTreeMap;

/// A lifecycle rule as the stack writes it: only the fields that are set.
pub fn value(r: &LifecycleRule) -> Value {
    let mut m = BTreeMap::new();
    m.insert("id".to_string(), s(r.id().unwrap_or_default()));
    #[allow(deprecated)]
    let prefix = r
        .filter()
        .and_then(|f| f.prefix())
        .or(r.prefix())
        .filter(|p| !p.is_empty());
    if let Some(p) = prefix {
        m.insert("prefix".into(), s(p));
    }
    m.insert(
        "enabled".into(),
        Value::Bool(r.status() == &ExpirationStatus::Enabled),
    );
    if let Some(t) = r.transitions().first() {
        if let Some(d) = t.days() {
            m.insert("transition_days".into(), Value::Int(d.into()));
        }
        if let Some(c) = t.storage_class() {
            m.insert("transition_storage_class".into(), s(c.as_str()));
        }
    }
    if let Some(d) = r.expiration().and_then(|e| e.days()) {
        m.insert("expiration_days".into(), Value::Int(d.into()));
    }
    if let Some(d) = r
        .noncurrent_version_expiration()
        .and_then(|e| e.noncurrent_days())
    {
        m.insert("noncurrent_expiration_days".into(), Value::Int(d.into()));
    }
    if let Some(d) = r
        .abort_incomplete_multipart_upload()
        .and_then(|a| a.days_after_initiation())
    {
        m.insert(
            "abort_incomplete_multipart_days".into(),
            Value::Int(d.into()),
        );
    }
    Value::Map(m)
}

pub fn rule(m: &BTreeMap<String, Value>) -> Result<LifecycleRule, ProviderError> {
    let enabled = m.get("enabled").and_then(Value::as_bool).unwrap_or(true);
    let prefix = m.get("prefix").and_then(Value::as_str).unwrap_or_default();
    let mut b = LifecycleRule::builder()
        .id(m.get("id").and_then(Value::as_str).unwrap_or_default())
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .status(if enabled {
            ExpirationStatus::Enabled
        } else {
            ExpirationStatus::Disabled
        });
    if let Some(days) = int(m, "transition_days") {
        let class = m
            .get("transition_storage_class")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_STORAGE_CLASS);
        b = b.transitions(
            Transition::builder()
                .days(days)
                .storage_class(TransitionStorageClass::from(class))
                .build(),
        );
    }
    if let Some(days) = int(m, "expiration_days") {
        b = b.expiration(LifecycleExpiration::builder().days(days).build());
    }
    if let Some(days) = int(m, "noncurrent_expiration_days") {
        b = b.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        );
    }
    if let Some(days) = int(m, "abort_incomplete_multipart_days") {
        b = b.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        );
    }
    built("PutBucketLifecycleConfiguration", b.build())
}
