//! `aws_iam_role`: an IAM role with its trust policy and inline policies, written in the
//! stack (least privilege; AWS-managed policies only if listed in `managed_policy_arns`).
//! Named `<stack>-<env>-<address>` (64 characters at most: longer names are shortened
//! with a hash, see `iam::iam_name`) under the path `/<stack>/<env>/`, which scopes
//! discovery in an account-wide service. Policies are compared by meaning.

use super::{error, eventually, iam_name, once, owned, path, retag_role, tags};
use crate::aws::{live, name_blockers, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::document::{parse, same_policy, to_json_string};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_iam::types::{EntityType, Role as SdkRole, RoleDetail};
use std::collections::{BTreeMap, BTreeSet};

pub static SCHEMA: Schema = Schema {
    type_name: "aws_iam_role",
    doc: "An IAM role with inline policies, under the path /<stack>/<env>/.",
    fields: &[
        Field {
            required: true,
            ..Field::new(
                "assume_role_policy",
                Kind::Policy,
                "who may assume the role (the trust policy), e.g. ecs-tasks.amazonaws.com; changed in place",
            )
        },
        Field::new(
            "policies",
            Kind::Document,
            "the inline policies: a mapping of policy name to policy document; compared by meaning, each put or deleted in place (a name removed deletes that policy)",
        ),
        Field {
            default: Some(Default::Str("")),
            ..Field::new(
                "description",
                Kind::Str,
                "what the role is for (up to 1000 characters); changed in place",
            )
        },
        Field {
            default: Some(Default::Int(3600)),
            ..Field::new(
                "max_session_duration",
                Kind::Int,
                "longest session, in seconds, 3600 to 43200; changed in place",
            )
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "managed_policy_arns",
                Kind::List(&Kind::Str),
                "managed policies to attach, by ARN (prefer inline policies); attached and detached in place",
            )
        },
    ],
    attributes: &["id", "arn", "name", "unique_id"],
};

/// IAM allows role names of at most 64 characters.
const NAME_MAX: usize = 64;

/// The provider of `aws_iam_role`.
pub struct Role {
    iam: aws_sdk_iam::Client,
}

impl Role {
    pub fn new(c: &Clients) -> Self {
        Role { iam: c.iam.clone() }
    }

    async fn put_policy(&self, role: &str, name: &str, doc: &Value) -> Result<(), ProviderError> {
        self.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(to_json_string(doc))
            .customize()
            .config_override(eventually::<
                aws_sdk_iam::operation::put_role_policy::PutRolePolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("PutRolePolicy", e))?;
        Ok(())
    }

    async fn delete_policy(&self, role: &str, name: &str) -> Result<(), ProviderError> {
        super::deleted(
            "DeleteRolePolicy",
            self.iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await,
        )
    }

    async fn attach(&self, role: &str, arn: &str) -> Result<(), ProviderError> {
        self.iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .customize()
            .config_override(eventually::<
                aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyError,
            >())
            .send()
            .await
            .map_err(|e| error("AttachRolePolicy", e))?;
        Ok(())
    }

    async fn detach(&self, role: &str, arn: &str) -> Result<(), ProviderError> {
        super::deleted(
            "DetachRolePolicy",
            self.iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await,
        )
    }

    /// The instance profiles holding the role: what makes IAM refuse its delete.
    async fn profiles(&self, role: &str) -> Result<Vec<String>, ProviderError> {
        let profiles: Vec<_> = self
            .iam
            .list_instance_profiles_for_role()
            .role_name(role)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("ListInstanceProfilesForRole", e))?;
        Ok(profiles
            .iter()
            .map(|p| format!("instance profile {}", p.instance_profile_name()))
            .collect())
    }
}

/// The role's name for `req`: `<stack>-<env>-<address>`, at most 64 characters.
fn role_name(req: &Request<'_>) -> String {
    iam_name(&req.name(), NAME_MAX)
}

/// The inline policies of `props`: name -> document (none when not declared).
fn policies(props: &Props) -> BTreeMap<String, Value> {
    props
        .get("policies")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
}

fn managed(props: &Props) -> BTreeSet<String> {
    props
        .get("managed_policy_arns")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// A document as IAM returns it (URL-encoded JSON), as a value; kept as the raw string
/// if it cannot be read, so that it shows as a change rather than vanishing.
fn document(s: Option<&str>) -> Value {
    match s {
        Some(s) => parse(s).unwrap_or_else(|| Value::Str(s.to_string())),
        None => Value::Null,
    }
}

/// True when two mappings of inline policies hold the same names with policies of the
/// same meaning.
fn same_policies(a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| same_policy(v, w)))
}

fn made(owned: Owned, name: &str, arn: &str, role_id: &str, props: Props) -> Live {
    live(
        owned,
        name,
        props,
        Vec::new(),
        &[
            ("name", Value::Str(name.to_string())),
            ("arn", Value::Str(arn.to_string())),
            ("unique_id", Value::Str(role_id.to_string())),
        ],
    )
}

/// The live role from ListRoles (description, session length, trust policy) and the
/// account's authorization details (tags, inline and attached policies).
fn live_role(scope: &Scope, r: &SdkRole, d: &RoleDetail) -> Option<Live> {
    let owned = owned(scope, d.tags())?;
    let inline: BTreeMap<String, Value> = d
        .role_policy_list()
        .iter()
        .filter_map(|p| Some((p.policy_name()?.to_string(), document(p.policy_document()))))
        .collect();
    let attached: Vec<Value> = d
        .attached_managed_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(|a| Value::Str(a.to_string())))
        .collect();
    let props = Props::from([
        (
            "assume_role_policy".to_string(),
            document(
                r.assume_role_policy_document()
                    .or(d.assume_role_policy_document()),
            ),
        ),
        ("policies".to_string(), Value::Map(inline)),
        (
            "description".to_string(),
            Value::Str(r.description().unwrap_or_default().to_string()),
        ),
        (
            "max_session_duration".to_string(),
            Value::Int(i64::from(r.max_session_duration().unwrap_or(3600))),
        ),
        ("managed_policy_arns".to_string(), Value::List(attached)),
    ]);
    let created = r
        .create_date()
        .to_millis()
        .ok()
        .and_then(|t| u64::try_from(t).ok());
    Some(made(
        owned.or_created(created),
        r.role_name(),
        r.arn(),
        r.role_id(),
        props,
    ))
}

#[async_trait]
impl Provider for Role {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let pos = |f: &str| r.field_pos.get(f).cloned().unwrap_or(r.pos.clone());
        if let Some(Value::Int(n)) = r.props.get("max_session_duration") {
            if !(3600..=43200).contains(n) {
                out.push(
                    Diagnostic::new(
                        pos("max_session_duration"),
                        format!("`{}` max_session_duration {n} is out of range", r.addr),
                    )
                    .hint("IAM accepts 3600 (one hour) to 43200 (12 hours) seconds"),
                );
            }
        }
        let unversioned = |doc: &Value| doc.as_map().is_some_and(|m| !m.contains_key("Version"));
        let mut docs: Vec<(&str, String, &Value)> = Vec::new();
        if let Some(d) = r.props.get("assume_role_policy") {
            docs.push(("assume_role_policy", "assume_role_policy".into(), d));
        }
        if let Some(Value::Map(m)) = r.props.get("policies") {
            docs.extend(
                m.iter()
                    .map(|(k, d)| ("policies", format!("policy `{k}`"), d)),
            );
        }
        for (field, what, _) in docs.iter().filter(|(_, _, d)| unversioned(d)) {
            out.push(
                Diagnostic::warning(
                    pos(field),
                    format!("`{}` {what} has no Version", r.addr),
                )
                .hint("add Version: \"2012-10-17\": without it IAM reads the 2008 language, where policy variables are not replaced (and some tools refuse it)"),
            );
        }
        match r.props.get("policies") {
            None | Some(Value::Null | Value::Ref(_) | Value::Template(_)) => {}
            Some(Value::Map(m)) => {
                for (name, doc) in m {
                    let bad_name = name.is_empty()
                        || name.len() > 128
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
                    if bad_name {
                        out.push(
                            Diagnostic::new(
                                pos("policies"),
                                format!(
                                    "`{}` has an inline policy named `{name}`, which IAM refuses",
                                    r.addr
                                ),
                            )
                            .hint("use up to 128 letters, digits and +=,.@_-"),
                        );
                    }
                    if !matches!(doc, Value::Map(_) | Value::Ref(_) | Value::Template(_)) {
                        out.push(
                            Diagnostic::new(
                                pos("policies"),
                                format!("`{}` policy `{name}` is not a policy document", r.addr),
                            )
                            .hint("write it as a mapping with Version and Statement"),
                        );
                    }
                }
            }
            Some(_) => out.push(
                Diagnostic::new(
                    pos("policies"),
                    format!("`{}` policies must map policy names to documents", r.addr),
                )
                .hint("policies: { read-secrets: { Version: \"2012-10-17\", Statement: [...] } }"),
            ),
        }
        if let Some(p) = r.props.get("policies") {
            out.extend(super::reach::outside_the_stack(
                r.addr.as_str(),
                p,
                &pos("policies"),
            ));
        }
        out
    }

    /// ListRoles with PathPrefix `/<stack>/<env>/` (description, session length, trust
    /// policy), then, if it found any, GetAccountAuthorizationDetails(Filter=Role) for
    /// the tags and the inline and attached policies of every role at once (ListRoles
    /// does not return tags): 2 paginated calls whatever the number of roles, instead of
    /// ListRoleTags + ListRolePolicies + GetRolePolicy per policy for each role.
    async fn read(
        &self,
        scope: &Scope,
        _only: Option<&crate::model::Addr>,
    ) -> Result<Vec<Live>, ProviderError> {
        let prefix = path(scope);
        let roles: Vec<SdkRole> = self
            .iam
            .list_roles()
            .path_prefix(&prefix)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("ListRoles", e))?;
        // A prefix also matches deeper paths: keep the stack's own.
        let roles: BTreeMap<&str, &SdkRole> = roles
            .iter()
            .filter(|r| r.path() == prefix)
            .map(|r| (r.role_name(), r))
            .collect();
        if roles.is_empty() {
            return Ok(Vec::new());
        }
        let pages: Vec<_> = self
            .iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .max_items(1000)
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("GetAccountAuthorizationDetails", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.role_detail_list())
            .filter(|d| d.path() == Some(prefix.as_str()))
            .filter_map(|d| live_role(scope, roles.get(d.role_name()?)?, d))
            .collect())
    }

    /// The declared fields, with the inline policies compared name by name, by meaning
    /// (undeclared `policies` is none: a role keeps only what the stack writes).
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut rest = desired.clone();
        let want = rest.remove("policies").unwrap_or(Value::Null);
        let mut changes = default_diff(&SCHEMA, &rest, l);
        let want_map = match &want {
            Value::Null => Value::Map(BTreeMap::new()),
            other => other.clone(),
        };
        let have = policies(&l.props);
        let differs = want_map.has_unknown()
            || !same_policies(want_map.as_map().unwrap_or(&BTreeMap::new()), &have);
        if differs {
            changes.push(Change {
                field: "policies".into(),
                before: Value::Map(have),
                after: want_map,
                forces_replace: false,
                why: None,
            });
        }
        changes
    }

    /// CreateRole with its path, trust policy and tags (so it never exists untagged),
    /// then its inline policies and attachments. IAM is eventually consistent: the calls
    /// naming the new role retry `NoSuchEntity` for a while.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = role_name(req);
        let out = self
            .iam
            .create_role()
            .role_name(&name)
            .path(path(req.scope))
            .assume_role_policy_document(to_json_string(
                req.get("assume_role_policy").unwrap_or(&Value::Null),
            ))
            .set_description(
                Some(req.str("description"))
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
            )
            .set_max_session_duration(
                req.int("max_session_duration")
                    .and_then(|n| i32::try_from(n).ok()),
            )
            .set_tags(Some(tags(req)?))
            .customize()
            .config_override(once::<aws_sdk_iam::operation::create_role::CreateRoleError>())
            .send()
            .await
            .map_err(|e| error("CreateRole", e))?;
        let role = out
            .role()
            .ok_or_else(|| ProviderError::new("CreateRole", "IAM returned no role"))?;
        for (policy, doc) in policies(req.props) {
            self.put_policy(&name, &policy, &doc).await?;
        }
        for arn in managed(req.props) {
            self.attach(&name, &arn).await?;
        }
        Ok(made(
            Owned::made(req),
            &name,
            role.arn(),
            role.role_id(),
            req.props.clone(),
        ))
    }

    /// Trust policy, description and session length in place; inline policies put where
    /// new or changed and deleted where no longer declared; attachments likewise.
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let name = &l.id;
        let want_trust = req.get("assume_role_policy").unwrap_or(&Value::Null);
        let have_trust = l.props.get("assume_role_policy").unwrap_or(&Value::Null);
        if !same_policy(want_trust, have_trust) {
            self.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(to_json_string(want_trust))
                .customize()
                .config_override(eventually::<
                    aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyError,
                >())
                .send()
                .await
                .map_err(|e| error("UpdateAssumeRolePolicy", e))?;
        }
        let description = req.get("description").and_then(Value::as_str);
        let session = req.int("max_session_duration");
        let role_changed = (description.is_some()
            && description != l.props.get("description").and_then(Value::as_str))
            || (session.is_some()
                && session != l.props.get("max_session_duration").and_then(Value::as_int));
        if role_changed {
            self.iam
                .update_role()
                .role_name(name)
                .set_description(description.map(str::to_string))
                .set_max_session_duration(session.and_then(|n| i32::try_from(n).ok()))
                .customize()
                .config_override(eventually::<
                    aws_sdk_iam::operation::update_role::UpdateRoleError,
                >())
                .send()
                .await
                .map_err(|e| error("UpdateRole", e))?;
        }
        let want = policies(req.props);
        let have = policies(&l.props);
        for (policy, doc) in &want {
            if !have.get(policy).is_some_and(|h| same_policy(h, doc)) {
                self.put_policy(name, policy, doc).await?;
            }
        }
        for policy in have.keys().filter(|k| !want.contains_key(*k)) {
            self.delete_policy(name, policy).await?;
        }
        let want = managed(req.props);
        let have = managed(&l.props);
        for arn in want.difference(&have) {
            self.attach(name, arn).await?;
        }
        for arn in have.difference(&want) {
            self.detach(name, arn).await?;
        }
        let mut next = l.clone();
        next.props = req.props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag_role(&self.iam, &l.id, delta).await
    }

    /// IAM deletes a role only once it has no inline policy and no attached one: those
    /// are removed first (as listed now, not as read, so one added by hand goes too).
    /// A role still in an instance profile is refused (DeleteConflict), naming it.
    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let name = &l.id;
        let inline: Result<Vec<String>, _> = self
            .iam
            .list_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await;
        let inline = match inline.map_err(|e| error("ListRolePolicies", e)) {
            Ok(v) => v,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for policy in &inline {
            self.delete_policy(name, policy).await?;
        }
        let attached: Vec<_> = self
            .iam
            .list_attached_role_policies()
            .role_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("ListAttachedRolePolicies", e))?;
        for arn in attached.iter().filter_map(|p| p.policy_arn()) {
            self.detach(name, arn).await?;
        }
        let result = super::deleted(
            "DeleteRole",
            self.iam.delete_role().role_name(name).send().await,
        );
        let advice = "remove the role from them (aws iam remove-role-from-instance-profile)";
        name_blockers(result, name, "is still in", self.profiles(name), advice).await
    }
}
