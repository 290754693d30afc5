//! The CI role `bootstrap` makes for an environment (`examples/ci/`): trusted by
//! CodeBuild, holding the two managed policies of `examples/ci/ci-role-policy*.json` with
//! the account, region and state bucket filled in. It lives under the path
//! `/<stack>-bootstrap/`, outside `role/<stack>/*`, the roles those policies let CI
//! change, so that CI cannot rewrite its own permissions or trust. Everything is read
//! and compared by meaning first; only what differs is written.

use super::{error, eventually, iam_name, once, to_tags};
use crate::aws::state_bucket::bootstrap::Outcome;
use crate::model::document::{from_json, parse, same_policy};
use crate::provider::ProviderError;
use aws_sdk_iam::types::Role;
use std::collections::BTreeSet;

/// The CI role's permissions, as `examples/ci/` ships them (placeholders `ACCOUNT_ID`,
/// `REGION`, `STATE_BUCKET`). Two policies: one managed policy holds 6,144 characters.
const POLICIES: [&str; 2] = [
    include_str!("../../../examples/ci/ci-role-policy.json"),
    include_str!("../../../examples/ci/ci-role-policy-2.json"),
];

/// The tag on the role and its policies: whose CI they are, `<stack>/<env>`.
pub const TAG_CI_OF: &str = "bandup:ci-of";

/// The service that assumes the role: CodeBuild runs the CI stages.
pub const TRUSTED_SERVICE: &str = "codebuild.amazonaws.com";

/// IAM managed policies hold at most 5 versions.
const MAX_VERSIONS: usize = 5;

/// The CI role of one environment.
#[derive(Clone, Debug)]
pub struct Spec<'a> {
    pub stack: &'a str,
    pub env: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub state_bucket: &'a str,
}

impl Spec<'_> {
    /// `/<stack>-bootstrap/`: where bootstrap's IAM roles and policies live.
    pub fn path(&self) -> String {
        path(self.stack)
    }

    /// `<stack>-ci-<env>` (at most 64 characters).
    pub fn role_name(&self) -> String {
        iam_name(&format!("{}-ci-{}", self.stack, self.env), 64)
    }

    /// The two managed policies' names: the role's, and the role's with `-2`.
    pub fn policy_names(&self) -> [String; 2] {
        let role = self.role_name();
        [role.clone(), format!("{role}-2")]
    }

    fn partition(&self) -> &'static str {
        crate::aws::partition(self.region)
    }

    fn policy_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:policy{}{name}",
            self.partition(),
            self.account,
            self.path()
        )
    }

    fn ci_of(&self) -> String {
        format!("{}/{}", self.stack, self.env)
    }

    /// The trust policy: CodeBuild, on behalf of this account only.
    pub fn trust_policy(&self) -> serde_json::Value {
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": TRUSTED_SERVICE },
                "Action": "sts:AssumeRole",
                "Condition": { "StringEquals": { "aws:SourceAccount": self.account } }
            }]
        })
    }

    /// The policy documents with the placeholders filled in (and ARNs in the region's
    /// partition).
    pub fn policies(&self) -> Result<[serde_json::Value; 2], ProviderError> {
        let fill = |template: &str| -> Result<serde_json::Value, ProviderError> {
            let text = template
                .replace("ACCOUNT_ID", self.account)
                .replace("STATE_BUCKET", self.state_bucket)
                .replace("REGION", self.region)
                .replace("arn:aws:", &format!("arn:{}:", self.partition()));
            serde_json::from_str(&text).map_err(|e| {
                ProviderError::new("CreatePolicy", format!("the CI policy is not JSON: {e}"))
            })
        };
        Ok([fill(POLICIES[0])?, fill(POLICIES[1])?])
    }
}

/// `/<stack>-bootstrap/`.
pub fn path(stack: &str) -> String {
    format!("/{stack}-bootstrap/")
}

/// The role as it is before anything is changed (`None`: not there). Refused when a role
/// of that name is not bootstrap's (another path) or is another environment's. Asked
/// before the environment file is written, so a refusal leaves nothing behind.
pub async fn inspect(
    iam: &aws_sdk_iam::Client,
    spec: &Spec<'_>,
) -> Result<Option<Role>, ProviderError> {
    let name = spec.role_name();
    let role = match iam.get_role().role_name(&name).send().await {
        Ok(out) => out.role().cloned(),
        Err(e) => {
            let e = error("GetRole", e);
            if !e.is_not_found() {
                return Err(e);
            }
            None
        }
    };
    let Some(role) = role else { return Ok(None) };
    if role.path() != spec.path() {
        return Err(ProviderError::new(
            "GetRole",
            format!(
                "a role named `{name}` already exists under the path {}, not {}: bootstrap did not make it and leaves it alone. Rename or delete it, then run bootstrap again",
                role.path(),
                spec.path()
            ),
        ));
    }
    if let Some(other) = super::tag_map(role.tags())
        .get(TAG_CI_OF)
        .filter(|v| **v != spec.ci_of())
    {
        return Err(ProviderError::new(
            "GetRole",
            format!(
                "the role `{name}` is the CI role of `{other}` ({TAG_CI_OF}), not of `{}`: it is left alone",
                spec.ci_of()
            ),
        ));
    }
    Ok(Some(role))
}

/// Bring the two policies and the role (`found` by `inspect`) to what `spec` says, in
/// that order, and attach the policies. One outcome per policy, then the role's.
pub async fn ensure(
    iam: &aws_sdk_iam::Client,
    spec: &Spec<'_>,
    found: Option<Role>,
) -> Result<Vec<(String, Outcome)>, ProviderError> {
    let docs = spec.policies()?;
    let mut out = Vec::new();
    let mut arns = Vec::new();
    for (name, doc) in spec.policy_names().iter().zip(docs.iter()) {
        let arn = spec.policy_arn(name);
        let outcome = ensure_policy(iam, spec, name, &arn, doc).await?;
        out.push((format!("CI policy {name}"), outcome));
        arns.push(arn);
    }
    let role = spec.role_name();
    let outcome = ensure_role(iam, spec, &role, found, &arns).await?;
    out.push((format!("CI role {role}"), outcome));
    Ok(out)
}

/// A managed policy whose default version is `doc`.
async fn ensure_policy(
    iam: &aws_sdk_iam::Client,
    spec: &Spec<'_>,
    name: &str,
    arn: &str,
    doc: &serde_json::Value,
) -> Result<Outcome, ProviderError> {
    let found = match iam.get_policy().policy_arn(arn).send().await {
        Ok(out) => out.policy().cloned(),
        Err(e) => {
            let e = error("GetPolicy", e);
            if !e.is_not_found() {
                return Err(e);
            }
            None
        }
    };
    let Some(policy) = found else {
        iam.create_policy()
            .policy_name(name)
            .path(spec.path())
            .policy_document(doc.to_string())
            .description(format!(
                "CI of {} (bandup-infra bootstrap, examples/ci/)",
                spec.ci_of()
            ))
            .set_tags(Some(to_tags([(TAG_CI_OF.to_string(), spec.ci_of())])?))
            .customize()
            .config_override(once::<
                aws_sdk_iam::operation::create_policy::CreatePolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("CreatePolicy", e))?;
        return Ok(Outcome::Created);
    };
    let version = policy.default_version_id().unwrap_or("v1");
    let current = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| error("GetPolicyVersion", e))?;
    let have = current
        .policy_version()
        .and_then(|v| v.document())
        .and_then(parse);
    if have.is_some_and(|h| same_policy(&h, &from_json(doc))) {
        return Ok(Outcome::Unchanged);
    }
    make_room(iam, arn).await?;
    iam.create_policy_version()
        .policy_arn(arn)
        .policy_document(doc.to_string())
        .set_as_default(true)
        .customize()
        .config_override(once::<
            aws_sdk_iam::operation::create_policy_version::CreatePolicyVersionError,
        >())
        .send()
        .await
        .map_err(|e| error("CreatePolicyVersion", e))?;
    Ok(Outcome::Updated(vec!["document".into()]))
}

/// With five versions already, delete the oldest one that is not the default.
async fn make_room(iam: &aws_sdk_iam::Client, arn: &str) -> Result<(), ProviderError> {
    let out = iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| error("ListPolicyVersions", e))?;
    let versions = out.versions();
    if versions.len() < MAX_VERSIONS {
        return Ok(());
    }
    let oldest = versions
        .iter()
        .filter(|v| !v.is_default_version())
        .min_by_key(|v| {
            (
                v.create_date().and_then(crate::aws::millis),
                v.version_id()
                    .and_then(|id| id.trim_start_matches('v').parse::<u64>().ok()),
            )
        })
        .and_then(|v| v.version_id());
    if let Some(id) = oldest {
        super::deleted(
            "DeletePolicyVersion",
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
                .await,
        )?;
    }
    Ok(())
}

/// The role, trusted by CodeBuild, tagged, with `policies` (ARNs) attached; `found` is
/// what `inspect` read (already checked to be bootstrap's).
async fn ensure_role(
    iam: &aws_sdk_iam::Client,
    spec: &Spec<'_>,
    name: &str,
    found: Option<Role>,
    policies: &[String],
) -> Result<Outcome, ProviderError> {
    let trust = spec.trust_policy();
    let mut changes = Vec::new();
    let created = match found {
        None => {
            iam.create_role()
                .role_name(name)
                .path(spec.path())
                .assume_role_policy_document(trust.to_string())
                .description(format!(
                    "CI of {}: plans and applies it (bandup-infra bootstrap, examples/ci/)",
                    spec.ci_of()
                ))
                .set_tags(Some(to_tags([(TAG_CI_OF.to_string(), spec.ci_of())])?))
                .customize()
                .config_override(once::<aws_sdk_iam::operation::create_role::CreateRoleError>())
                .send()
                .await
                .map_err(|e| error("CreateRole", e))?;
            true
        }
        Some(role) => {
            if !super::tag_map(role.tags()).contains_key(TAG_CI_OF) {
                iam.tag_role()
                    .role_name(name)
                    .set_tags(Some(to_tags([(TAG_CI_OF.to_string(), spec.ci_of())])?))
                    .customize()
                    .config_override(eventually::<aws_sdk_iam::operation::tag_role::TagRoleError>())
                    .send()
                    .await
                    .map_err(|e| error("TagRole", e))?;
                changes.push("tags".to_string());
            }
            let have = role.assume_role_policy_document().and_then(parse);
            if !have.is_some_and(|h| same_policy(&h, &from_json(&trust))) {
                iam.update_assume_role_policy()
                    .role_name(name)
                    .policy_document(trust.to_string())
                    .customize()
                    .config_override(eventually::<
                        aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyError,
                    >())
                    .send()
                    .await
                    .map_err(|e| error("UpdateAssumeRolePolicy", e))?;
                changes.push("trust policy".to_string());
            }
            false
        }
    };
    let attached = if created {
        BTreeSet::new()
    } else {
        attached(iam, name).await?
    };
    for arn in policies.iter().filter(|a| !attached.contains(*a)) {
        iam.attach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .customize()
            .config_override(eventually::<
                aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("AttachRolePolicy", e))?;
        if !created {
            let short = arn.rsplit('/').next().unwrap_or(arn);
            changes.push(format!("attached {short}"));
        }
    }
    Ok(if created {
        Outcome::Created
    } else {
        Outcome::of(changes)
    })
}

/// The ARNs of the managed policies attached to the role.
async fn attached(
    iam: &aws_sdk_iam::Client,
    role: &str,
) -> Result<BTreeSet<String>, ProviderError> {
    let policies: Vec<_> = iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| error("ListAttachedRolePolicies", e))?;
    Ok(policies
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec<'static> {
        Spec {
            stack: "bandup",
            env: "staging",
            account: "123456789012",
            region: "eu-west-1",
            state_bucket: "bandup-state-staging-123456789012",
        }
    }

    #[test]
    fn names_and_path_stay_outside_the_roles_ci_may_change() {
        let s = spec();
        assert_eq!(s.role_name(), "bandup-ci-staging");
        assert_eq!(
            s.policy_names(),
            [
                "bandup-ci-staging".to_string(),
                "bandup-ci-staging-2".to_string()
            ]
        );
        assert_eq!(s.path(), "/bandup-bootstrap/");
        assert_eq!(
            s.policy_arn("bandup-ci-staging"),
            "arn:aws:iam::123456789012:policy/bandup-bootstrap/bandup-ci-staging"
        );
        // The policies let CI change roles under role/bandup/*: not this one.
        let role_arn = format!(
            "arn:aws:iam::123456789012:role{}{}",
            s.path(),
            s.role_name()
        );
        assert!(!role_arn.starts_with("arn:aws:iam::123456789012:role/bandup/"));
    }

    #[test]
    fn the_policies_are_filled_in_and_fit_iams_size_limit() {
        let docs = spec().policies().unwrap_or_else(|e| panic!("{e}"));
        for doc in &docs {
            let text = doc.to_string();
            for placeholder in ["ACCOUNT_ID", "\"REGION\"", "::REGION", "STATE_BUCKET"] {
                assert!(!text.contains(placeholder), "{placeholder} in {text}");
            }
            // IAM counts the characters of a managed policy without whitespace.
            let size = text.chars().filter(|c| !c.is_whitespace()).count();
            assert!(size <= 6144, "{size} characters");
        }
        let text = docs[0].to_string();
        assert!(text.contains("arn:aws:s3:::bandup-state-staging-123456789012/locks/*"));
        assert!(text.contains("\"aws:RequestedRegion\":\"eu-west-1\""));
        assert!(docs[1]
            .to_string()
            .contains("arn:aws:iam::123456789012:role/bandup/*"));
    }

    #[test]
    fn china_regions_get_their_partition_in_arns() {
        let s = Spec {
            region: "cn-north-1",
            ..spec()
        };
        let docs = s.policies().unwrap_or_else(|e| panic!("{e}"));
        assert!(docs[0].to_string().contains("arn:aws-cn:s3:::bandup-state"));
        assert!(!docs[1].to_string().contains("arn:aws:"));
    }

    #[test]
    fn the_trust_policy_read_back_url_encoded_compares_equal() {
        let trust = spec().trust_policy();
        let encoded: String = percent_encoding::utf8_percent_encode(
            &trust.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let back = parse(&encoded).unwrap_or(crate::model::Value::Null);
        assert!(same_policy(&back, &from_json(&trust)));
    }
}
