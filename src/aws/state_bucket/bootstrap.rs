//! Creating the state bucket (`bootstrap`): private, encrypted, versioned, tagged
//! `bandup:state-of = <stack>/<env>` and never with the ownership tags, so that no plan
//! takes it for a resource of the stack. Each setting is read first and written only
//! when it differs, so a second run sends no write.

use crate::aws::s3::{error, eventually, once};
use crate::provider::{ProviderError, TAG_ENV, TAG_STACK};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use std::collections::BTreeMap;
use std::fmt;

/// The tag that says whose state bucket this is: `<stack>/<env>`.
pub const TAG_STATE_OF: &str = "bandup:state-of";

/// What one step of `bootstrap` did to one thing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Created,
    /// What was changed, by name (`versioning`, `trust policy`...).
    Updated(Vec<String>),
    Unchanged,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        *self != Outcome::Unchanged
    }

    /// `Updated` with these changes, or `Unchanged` when there are none.
    pub fn of(changes: Vec<String>) -> Outcome {
        if changes.is_empty() {
            Outcome::Unchanged
        } else {
            Outcome::Updated(changes)
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Created => f.write_str("created"),
            Outcome::Updated(what) => write!(f, "updated {}", what.join(", ")),
            Outcome::Unchanged => f.write_str("unchanged"),
        }
    }
}

/// The state bucket of one environment.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub bucket: &'a str,
    /// The environment's region: where the bucket is made (and must be, if it exists).
    pub region: &'a str,
    /// The account that must own it (every call says so: `ExpectedBucketOwner`).
    pub account: &'a str,
    pub stack: &'a str,
    pub env: &'a str,
}

impl Spec<'_> {
    fn state_of(&self) -> String {
        format!("{}/{}", self.stack, self.env)
    }
}

/// What is there before anything is changed: nothing, or a bucket of this account in the
/// environment's region that may become (or is) this environment's state bucket, with
/// its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Missing,
    Ours(BTreeMap<String, String>),
}

/// Look, changing nothing: refused when the name is another account's, the bucket is in
/// another region, or it is a stack's resource or another environment's state bucket.
/// Asked before the environment file is written, so a refusal leaves nothing behind.
pub async fn inspect(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<Found, ProviderError> {
    if !head(s3, spec).await? {
        return Ok(Found::Missing);
    }
    let tags = tags(s3, spec).await?;
    retag(spec, &tags)?;
    Ok(Found::Ours(tags))
}

/// Make the bucket if `found` says it is not there, then bring each of its settings to
/// what a state bucket needs: all four public access blocks on, default encryption SSE-S3
/// with a bucket key, versioning enabled, the `bandup:state-of` tag (other tags kept).
pub async fn ensure(
    s3: &aws_sdk_s3::Client,
    spec: &Spec<'_>,
    found: Found,
) -> Result<Outcome, ProviderError> {
    let (created, tags) = match found {
        Found::Ours(tags) => (false, tags),
        // Read again after a create: in us-east-1 CreateBucket succeeds for a bucket the
        // account has, which must still be checked.
        Found::Missing => (create(s3, spec).await?, tags(s3, spec).await?),
    };
    let mut changes = Vec::new();
    if let Some(want) = retag(spec, &tags)? {
        put_tags(s3, spec, &want).await?;
        changes.push("tags".to_string());
    }
    if !public_access_blocked(s3, spec).await? {
        block_public_access(s3, spec).await?;
        changes.push("public access block".to_string());
    }
    if !encrypted(s3, spec).await? {
        encrypt(s3, spec).await?;
        changes.push("encryption".to_string());
    }
    if !versioned(s3, spec).await? {
        enable_versioning(s3, spec).await?;
        changes.push("versioning".to_string());
    }
    Ok(if created {
        Outcome::Created
    } else {
        Outcome::of(changes)
    })
}

/// Whether the bucket exists and is this account's, in the right region.
async fn head(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<bool, ProviderError> {
    let answer = s3
        .head_bucket()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .send()
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            let region = e
                .raw_response()
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_string);
            let mut err = error("HeadBucket", e);
            match status {
                Some(404) => return Ok(false),
                Some(403) => err.message = taken(spec),
                Some(301) => err.message = elsewhere(spec, region.as_deref()),
                _ => {}
            }
            return Err(err);
        }
    };
    match out.bucket_region() {
        Some(r) if r != spec.region => {
            Err(ProviderError::new("HeadBucket", elsewhere(spec, Some(r))))
        }
        _ => Ok(true),
    }
}

fn taken(spec: &Spec<'_>) -> String {
    format!(
        "the bucket `{}` exists but does not belong to account {} (bucket names are global), \
         or these credentials may not read it: choose another name with --state-bucket",
        spec.bucket, spec.account
    )
}

fn elsewhere(spec: &Spec<'_>, region: Option<&str>) -> String {
    format!(
        "the bucket `{}` exists in region {}, not in the environment's region {}: choose \
         another name with --state-bucket",
        spec.bucket,
        region.unwrap_or("(another)"),
        spec.region
    )
}

/// Make the bucket; `false` when it turns out to exist already and be ours.
async fn create(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<bool, ProviderError> {
    let mut call = s3.create_bucket().bucket(spec.bucket);
    // us-east-1 is the default location and must not be named.
    if spec.region != "us-east-1" {
        call = call.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(spec.region))
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
    match made {
        Ok(_) => Ok(true),
        Err(e) => {
            let mut e = error("CreateBucket", e);
            match e.code.as_deref() {
                Some("BucketAlreadyOwnedByYou") => Ok(false),
                Some("BucketAlreadyExists") => {
                    e.message = taken(spec);
                    Err(e)
                }
                _ => {
                    if e.ambiguous {
                        e.message = format!(
                            "{} (the bucket may have been created: run bootstrap again, it \
                             takes over what exists)",
                            e.message
                        );
                    }
                    Err(e)
                }
            }
        }
    }
}

/// The bucket's tags (none set is S3's `NoSuchTagSet`).
async fn tags(
    s3: &aws_sdk_s3::Client,
    spec: &Spec<'_>,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let answer = s3
        .get_bucket_tagging()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .customize()
        .config_override(eventually::<
            aws_sdk_s3::operation::get_bucket_tagging::GetBucketTaggingError,
        >())
        .send()
        .await;
    match answer {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) => {
            let e = error("GetBucketTagging", e);
            if e.code.as_deref() == Some("NoSuchTagSet") {
                Ok(BTreeMap::new())
            } else {
                Err(e)
            }
        }
    }
}

/// The tag set to write, if the bucket's differs from what it must carry; refused when
/// the bucket belongs to a stack or to another environment.
fn retag(
    spec: &Spec<'_>,
    tags: &BTreeMap<String, String>,
) -> Result<Option<BTreeMap<String, String>>, ProviderError> {
    let want = spec.state_of();
    if tags.contains_key(TAG_STACK) || tags.contains_key(TAG_ENV) {
        return Err(ProviderError::new(
            "GetBucketTagging",
            format!(
                "the bucket `{}` is tagged as a resource of stack `{}` in environment `{}`, \
                 not a state bucket: it is left alone. Choose another name with --state-bucket",
                spec.bucket,
                tags.get(TAG_STACK).map_or("?", String::as_str),
                tags.get(TAG_ENV).map_or("?", String::as_str),
            ),
        ));
    }
    match tags.get(TAG_STATE_OF) {
        Some(v) if *v == want => Ok(None),
        Some(other) => Err(ProviderError::new(
            "GetBucketTagging",
            format!(
                "the bucket `{}` is the state bucket of `{other}` ({TAG_STATE_OF}), not of \
                 `{want}`: it is left alone. Choose another name with --state-bucket",
                spec.bucket
            ),
        )),
        None => {
            let mut all = tags.clone();
            all.insert(TAG_STATE_OF.to_string(), want);
            Ok(Some(all))
        }
    }
}

async fn put_tags(
    s3: &aws_sdk_s3::Client,
    spec: &Spec<'_>,
    tags: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let op = "PutBucketTagging";
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ProviderError::new(op, e.to_string()))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| ProviderError::new(op, e.to_string()))?;
    s3.put_bucket_tagging()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .tagging(tagging)
        .customize()
        .config_override(eventually::<
            aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingError,
        >())
        .send()
        .await
        .map_err(|e| error(op, e))?;
    Ok(())
}

/// All four public access blocks on (none configured counts as off).
async fn public_access_blocked(
    s3: &aws_sdk_s3::Client,
    spec: &Spec<'_>,
) -> Result<bool, ProviderError> {
    let answer = s3
        .get_public_access_block()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .customize()
        .config_override(eventually::<
            aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockError,
        >())
        .send()
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            let e = error("GetPublicAccessBlock", e);
            if e.code.as_deref() == Some("NoSuchPublicAccessBlockConfiguration") {
                return Ok(false);
            }
            return Err(e);
        }
    };
    Ok(out.public_access_block_configuration().is_some_and(|c| {
        [
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets(),
        ]
        .iter()
        .all(|f| *f == Some(true))
    }))
}

async fn block_public_access(
    s3: &aws_sdk_s3::Client,
    spec: &Spec<'_>,
) -> Result<(), ProviderError> {
    let all = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
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

/// Default encryption is SSE-S3 (AES256) with the bucket key on.
async fn encrypted(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<bool, ProviderError> {
    let answer = s3
        .get_bucket_encryption()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .customize()
        .config_override(eventually::<
            aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionError,
        >())
        .send()
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            let e = error("GetBucketEncryption", e);
            if e.code.as_deref() == Some("ServerSideEncryptionConfigurationNotFoundError") {
                return Ok(false);
            }
            return Err(e);
        }
    };
    let rules = out
        .server_side_encryption_configuration()
        .map(|c| c.rules())
        .unwrap_or_default();
    Ok(rules.len() == 1
        && rules.iter().all(|r| {
            r.bucket_key_enabled() == Some(true)
                && r.apply_server_side_encryption_by_default()
                    .is_some_and(|d| d.sse_algorithm() == &ServerSideEncryption::Aes256)
        }))
}

async fn encrypt(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<(), ProviderError> {
    let op = "PutBucketEncryption";
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| ProviderError::new(op, e.to_string()))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .bucket_key_enabled(true)
        .build();
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| ProviderError::new(op, e.to_string()))?;
    s3.put_bucket_encryption()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
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

async fn versioned(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<bool, ProviderError> {
    let out = s3
        .get_bucket_versioning()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .customize()
        .config_override(eventually::<
            aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningError,
        >())
        .send()
        .await
        .map_err(|e| error("GetBucketVersioning", e))?;
    Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
}

async fn enable_versioning(s3: &aws_sdk_s3::Client, spec: &Spec<'_>) -> Result<(), ProviderError> {
    s3.put_bucket_versioning()
        .bucket(spec.bucket)
        .expected_bucket_owner(spec.account)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .customize()
        .config_override(eventually::<
            aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningError,
        >())
        .send()
        .await
        .map_err(|e| error("PutBucketVersioning", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec<'static> {
        Spec {
            bucket: "bandup-state-qa-123456789012",
            region: "eu-west-1",
            account: "123456789012",
            stack: "bandup",
            env: "qa",
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_state_of_tag_is_added_to_the_tags_a_bucket_has() {
        assert_eq!(
            retag(&spec(), &map(&[("team", "platform")])).ok(),
            Some(Some(map(&[
                ("team", "platform"),
                (TAG_STATE_OF, "bandup/qa")
            ])))
        );
        assert_eq!(
            retag(&spec(), &map(&[(TAG_STATE_OF, "bandup/qa")])).ok(),
            Some(None)
        );
    }

    #[test]
    fn a_stack_resource_or_another_environments_bucket_is_refused() {
        let stack = retag(&spec(), &map(&[(TAG_STACK, "bandup"), (TAG_ENV, "qa")]));
        assert!(stack.is_err_and(|e| e.message.contains("resource of stack `bandup`")));
        let other = retag(&spec(), &map(&[(TAG_STATE_OF, "bandup/prod")]));
        assert!(other.is_err_and(|e| e.message.contains("state bucket of `bandup/prod`")));
    }

    #[test]
    fn outcomes_read_as_what_happened() {
        assert_eq!(Outcome::Created.to_string(), "created");
        assert_eq!(
            Outcome::of(vec!["versioning".into(), "tags".into()]).to_string(),
            "updated versioning, tags"
        );
        assert_eq!(Outcome::of(Vec::new()), Outcome::Unchanged);
    }
}
