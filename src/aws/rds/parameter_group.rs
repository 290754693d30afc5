//! `aws_db_parameter_group`: engine settings for RDS databases (`rds.force_ssl`...).
//! Named `<stack>-<env>-<address>` with hyphens for what RDS does not allow; the
//! parameters the stack sets are compared as a set of `name=value`, set in place with
//! ModifyDBParameterGroup and, when no longer declared, reset to the engine's default.

use super::{deleted, error, eventually, ident, instances_using, list_tags, once, retag, tags};
use crate::aws::{live, name_blockers, Clients, Owned};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter};
use futures_util::future::try_join_all;
use std::collections::BTreeMap;

static PARAMETER: &[Field] = &[
    Field {
        required: true,
        ..Field::new("name", Kind::Str, "the parameter, e.g. rds.force_ssl")
    },
    Field {
        required: true,
        ..Field::new("value", Kind::Str, "its value, quoted: \"1\"")
    },
    Field {
        default: Some(Default::Str("pending-reboot")),
        ..Field::new(
            "apply_method",
            Kind::OneOf(&["immediate", "pending-reboot"]),
            "when it takes effect: `immediate` works only for dynamic parameters (such as rds.force_ssl); static ones need `pending-reboot` (the default, accepted for both)",
        )
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_db_parameter_group",
    doc: "Engine parameters for RDS databases.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some("RDS cannot change a parameter group's family"),
            ..Field::new(
                "family",
                Kind::Str,
                "the engine family, e.g. postgres16. RDS cannot change a group's family: a new group is made, which AWS refuses while a database uses the old one (for a major upgrade, declare a second group and point the instance at it)",
            )
        },
        Field {
            default: Some(Default::Str("Managed by bandup-infra")),
            force_new: true,
            replace_why: Some("RDS cannot change a parameter group's description"),
            ..Field::new(
                "description",
                Kind::Str,
                "what the group is for. RDS cannot change a group's description: a new group is made",
            )
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "parameters",
                Kind::List(&Kind::Object(PARAMETER)),
                "parameters to set, each { name, value, apply_method }; compared by name and value, changed in place",
            )
        },
    ],
    attributes: &["id", "name", "arn"],
};

/// RDS takes at most 20 parameters per ModifyDBParameterGroup or ResetDBParameterGroup.
const PER_CALL: usize = 20;

/// The provider of `aws_db_parameter_group`.
pub struct ParameterGroup {
    rds: aws_sdk_rds::Client,
}

impl ParameterGroup {
    pub fn new(c: &Clients) -> Self {
        ParameterGroup { rds: c.rds.clone() }
    }

    /// The parameters set by the user (Source=user), one paginated call.
    async fn user_parameters(&self, name: &str) -> Result<Vec<Parameter>, ProviderError> {
        self.rds
            .describe_db_parameters()
            .db_parameter_group_name(name)
            .source("user")
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(|e| error("DescribeDBParameters", e))
    }

    /// Set `params`, at most 20 per call.
    async fn modify(&self, name: &str, params: Vec<Parameter>) -> Result<(), ProviderError> {
        for chunk in params.chunks(PER_CALL) {
            self.rds
                .modify_db_parameter_group()
                .db_parameter_group_name(name)
                .set_parameters(Some(chunk.to_vec()))
                .customize()
                .config_override(eventually::<
                    aws_sdk_rds::operation::modify_db_parameter_group::ModifyDBParameterGroupError,
                >())
                .send()
                .await
                .map_err(|e| error("ModifyDBParameterGroup", e))?;
        }
        Ok(())
    }
}

/// A parameter group's name: its deterministic name as RDS allows it.
fn name_of(scope: &Scope, addr: &Addr) -> String {
    ident(&scope.name_for(addr))
}

/// One declared parameter: name, value, apply method.
struct Param {
    name: String,
    value: String,
    method: String,
}

fn params(props: &Props) -> Vec<Param> {
    let Some(Value::List(items)) = props.get("parameters") else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let Value::Map(m) = item else { return None };
            let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            Some(Param {
                name: s("name")?,
                value: s("value").unwrap_or_default(),
                method: s("apply_method").unwrap_or_else(|| "pending-reboot".into()),
            })
        })
        .collect()
}

/// The parameters as a set of `name=value`, which is what is compared.
fn pairs(props: &Props) -> BTreeMap<String, String> {
    params(props)
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect()
}

fn to_sdk(p: &Param) -> Parameter {
    Parameter::builder()
        .parameter_name(&p.name)
        .parameter_value(&p.value)
        .apply_method(ApplyMethod::from(p.method.as_str()))
        .build()
}

fn props_of(g: &DbParameterGroup, user: &[Parameter]) -> Props {
    let list = user
        .iter()
        .filter_map(|p| {
            let method = p
                .apply_method()
                .map(|m| m.as_str().to_string())
                .unwrap_or_else(|| "pending-reboot".into());
            Some(Value::Map(BTreeMap::from([
                (
                    "name".to_string(),
                    Value::Str(p.parameter_name()?.to_string()),
                ),
                (
                    "value".to_string(),
                    Value::Str(p.parameter_value().unwrap_or_default().to_string()),
                ),
                ("apply_method".to_string(), Value::Str(method)),
            ])))
        })
        .collect();
    Props::from([
        (
            "family".to_string(),
            Value::Str(g.db_parameter_group_family().unwrap_or_default().into()),
        ),
        (
            "description".to_string(),
            Value::Str(g.description().unwrap_or_default().into()),
        ),
        ("parameters".to_string(), Value::List(list)),
    ])
}

fn made(owned: Owned, name: &str, arn: &str, props: Props) -> Live {
    live(
        owned,
        name,
        props,
        Vec::new(),
        &[
            ("name", Value::Str(name.to_string())),
            ("arn", Value::Str(arn.to_string())),
        ],
    )
}

#[async_trait]
impl Provider for ParameterGroup {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// One paginated DescribeDBParameterGroups narrowed to `<stack>-<env>-` names, then
    /// for each of those, concurrently, ListTagsForResource and DescribeDBParameters
    /// (Source=user): 1 + 2n calls.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let want = only.map(|a| name_of(scope, a));
        let prefix = ident(&scope.name_prefix());
        let groups: Vec<DbParameterGroup> = self
            .rds
            .describe_db_parameter_groups()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeDBParameterGroups", e))?;
        let ours = groups.into_iter().filter(|g| {
            let name = g.db_parameter_group_name().unwrap_or_default();
            match &want {
                Some(w) => name == w,
                None => name.starts_with(&prefix),
            }
        });
        let found = try_join_all(ours.map(|g| async move {
            let arn = g.db_parameter_group_arn().unwrap_or_default().to_string();
            let name = g.db_parameter_group_name().unwrap_or_default().to_string();
            let (tags, user) = futures_util::future::try_join(
                list_tags(&self.rds, &arn),
                self.user_parameters(&name),
            )
            .await?;
            Ok::<_, ProviderError>((g, name, arn, tags, user))
        }))
        .await?;
        Ok(found
            .into_iter()
            .filter_map(|(g, name, arn, tags, user)| {
                let owned = crate::aws::owned(scope, tags)?;
                Some(made(owned, &name, &arn, props_of(&g, &user)))
            })
            .collect())
    }

    /// The declared fields, with `parameters` compared as a set of `name=value` (the
    /// apply method says how a change is made, not what the group holds).
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut rest = desired.clone();
        let want = rest.remove("parameters");
        let mut changes = default_diff(&SCHEMA, &rest, l);
        if let Some(want) = want {
            let wanted = Props::from([("parameters".to_string(), want.clone())]);
            if want.has_unknown() || pairs(&wanted) != pairs(&l.props) {
                changes.push(Change {
                    field: "parameters".into(),
                    before: l.props.get("parameters").cloned().unwrap_or(Value::Null),
                    after: want,
                    forces_replace: false,
                    why: None,
                });
            }
        }
        changes
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = name_of(req.scope, req.addr);
        let out = self
            .rds
            .create_db_parameter_group()
            .db_parameter_group_name(&name)
            .db_parameter_group_family(req.str("family"))
            .description(req.str("description"))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_rds::operation::create_db_parameter_group::CreateDBParameterGroupError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateDBParameterGroup", e))?;
        let arn = out
            .db_parameter_group()
            .and_then(|g| g.db_parameter_group_arn())
            .unwrap_or_default()
            .to_string();
        self.modify(&name, params(req.props).iter().map(to_sdk).collect())
            .await?;
        Ok(made(Owned::made(req), &name, &arn, req.props.clone()))
    }

    /// Set what is new or changed, then reset what is no longer declared to the engine's
    /// default (RDS has no "unset").
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let have = pairs(&l.props);
        let want = params(req.props);
        let set: Vec<Parameter> = want
            .iter()
            .filter(|p| have.get(&p.name) != Some(&p.value))
            .map(to_sdk)
            .collect();
        self.modify(&l.id, set).await?;
        let declared: Vec<&str> = want.iter().map(|p| p.name.as_str()).collect();
        let reset: Vec<Parameter> = params(&l.props)
            .into_iter()
            .filter(|p| !declared.contains(&p.name.as_str()))
            .map(|p| {
                Parameter::builder()
                    .parameter_name(p.name)
                    .apply_method(ApplyMethod::PendingReboot)
                    .build()
            })
            .collect();
        for chunk in reset.chunks(PER_CALL) {
            self.rds
                .reset_db_parameter_group()
                .db_parameter_group_name(&l.id)
                .set_parameters(Some(chunk.to_vec()))
                .customize()
                .config_override(eventually::<
                    aws_sdk_rds::operation::reset_db_parameter_group::ResetDBParameterGroupError,
                >())
                .send()
                .await
                .map_err(|e| error("ResetDBParameterGroup", e))?;
        }
        let mut next = l.clone();
        next.props = req.props.clone();
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.rds, l, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        // Refused (InvalidDBParameterGroupState) while a database uses it: the stack's
        // own are deleted or changed first (they reference the group); others are named.
        let result = deleted(
            "DeleteDBParameterGroup",
            self.rds
                .delete_db_parameter_group()
                .db_parameter_group_name(&l.id)
                .send()
                .await,
        );
        let users = instances_using(&self.rds, req.scope, |db| {
            db.db_parameter_groups()
                .iter()
                .any(|g| g.db_parameter_group_name() == Some(l.id.as_str()))
        });
        let advice = "point them at another parameter group";
        name_blockers(result, &l.id, "is still used by", users, advice).await
    }
}
