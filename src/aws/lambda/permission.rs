//! `aws_lambda_permission`: one statement of a function's resource policy, letting a
//! service (API Gateway here) invoke it. A statement cannot carry tags: it is identified
//! by its function and its statement id, `<stack>-<env>-<address>`, deterministic, so
//! the prefix `<stack>-<env>-` marks the statements that are this stack's; any other
//! statement of the policy is someone else's and never touched. AddPermission cannot
//! change a statement: every field forces replacement (RemovePermission, AddPermission).

use super::{declared_function, deleted, error, function_name, once, settled};
use crate::aws::Clients;
use crate::model::document::parse;
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Outputs, Props, Value};
use crate::provider::{
    default_diff, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use futures_util::future::try_join_all;
use std::collections::{BTreeMap, BTreeSet};

const WHY: &str = "Lambda cannot change a policy statement: it is removed and added again";

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lambda_permission",
    doc: "Lets a service (API Gateway, S3, EventBridge...) invoke a Lambda function.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            replace_why: Some(WHY),
            ..Field::new(
                "function",
                Kind::Str,
                "the function, its name or ARN, e.g. ${worker.name}",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some(WHY),
            ..Field::new(
                "principal",
                Kind::Str,
                "who may invoke it: a service (apigateway.amazonaws.com) or an account",
            )
        },
        Field {
            force_new: true,
            replace_why: Some(WHY),
            ..Field::new(
                "source_arn",
                Kind::Str,
                "only on behalf of this ARN, e.g. the API's execution ARN followed by /*",
            )
        },
        Field {
            default: Some(Default::Str("lambda:InvokeFunction")),
            force_new: true,
            replace_why: Some(WHY),
            ..Field::new("action", Kind::Str, "the action allowed")
        },
    ],
    attributes: &["id", "statement_id"],
};

/// Statement ids: letters, digits, `-` and `_`, at most 100.
const MAX_SID: usize = 100;

/// The provider of `aws_lambda_permission`.
pub struct Permission {
    lambda: aws_sdk_lambda::Client,
}

impl Permission {
    pub fn new(c: &Clients) -> Self {
        Permission {
            lambda: c.lambda.clone(),
        }
    }

    /// The statements of `function`'s resource policy (GetPolicy; none when the function
    /// has no policy or is gone).
    async fn statements(&self, function: &str) -> Result<Vec<Statement>, ProviderError> {
        let out = match self
            .lambda
            .get_policy()
            .function_name(function)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => match error("GetPolicy", e) {
                e if e.is_not_found() => return Ok(Vec::new()),
                e => return Err(e),
            },
        };
        Ok(out
            .policy()
            .and_then(parse)
            .map(|p| statements_of(function, &p))
            .unwrap_or_default())
    }
}

/// One statement, in the stack's vocabulary.
#[derive(Debug, PartialEq)]
struct Statement {
    sid: String,
    function: String,
    function_arn: String,
    principal: String,
    source_arn: Option<String>,
    action: String,
}

fn one_str(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Str(s) => Some(s.clone()),
        Value::List(l) if l.len() == 1 => l[0].as_str().map(str::to_string),
        _ => None,
    }
}

/// The statements of a function policy document.
fn statements_of(function: &str, policy: &Value) -> Vec<Statement> {
    let list = match policy.as_map().and_then(|m| m.get("Statement")) {
        Some(Value::List(l)) => l.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    list.iter()
        .filter_map(|s| {
            let s = s.as_map()?;
            let principal = match s.get("Principal")? {
                Value::Str(p) => p.clone(),
                Value::Map(m) => one_str(m.get("Service").or_else(|| m.get("AWS")))?,
                _ => return None,
            };
            let source_arn = s
                .get("Condition")
                .and_then(Value::as_map)
                .and_then(|c| c.get("ArnLike").or_else(|| c.get("ArnEquals")))
                .and_then(Value::as_map)
                .and_then(|c| one_str(c.get("AWS:SourceArn")));
            let function_arn = one_str(s.get("Resource")).unwrap_or_default();
            Some(Statement {
                sid: one_str(s.get("Sid"))?,
                function: if function_arn.is_empty() {
                    function.to_string()
                } else {
                    function_name(&function_arn).to_string()
                },
                function_arn,
                principal,
                source_arn,
                action: one_str(s.get("Action")).unwrap_or_default(),
            })
        })
        .collect()
}

/// A statement as the engine sees it; it carries no tags, so it is said to carry
/// `tags` (the ones the stack wants) and the engine finds nothing to retag.
fn to_live(addr: Addr, s: &Statement, tags: BTreeMap<String, String>) -> Live {
    let mut props = Props::from([
        ("function".to_string(), Value::Str(s.function.clone())),
        ("principal".to_string(), Value::Str(s.principal.clone())),
        ("action".to_string(), Value::Str(s.action.clone())),
    ]);
    if let Some(a) = &s.source_arn {
        props.insert("source_arn".into(), Value::Str(a.clone()));
    }
    let id = format!("{}/{}", s.function, s.sid);
    let mut outputs = Outputs::new();
    outputs.insert("id".into(), Value::Str(id.clone()));
    outputs.insert("statement_id".into(), Value::Str(s.sid.clone()));
    let mut refs = vec![s.function.clone()];
    if !s.function_arn.is_empty() {
        refs.push(s.function_arn.clone());
    }
    Live {
        addr,
        id,
        props,
        outputs,
        refs,
        created: None,
        tags,
        pending: None,
    }
}

/// The prefix of this stack's statement ids.
fn prefix(scope: &Scope) -> String {
    scope.name_prefix()
}

#[async_trait]
impl Provider for Permission {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(
        &self,
        r: &crate::config::Resource,
        stack: &crate::config::Stack,
    ) -> Vec<crate::config::Diagnostic> {
        let sid = Scope {
            stack: stack.name.clone(),
            env: stack.env.clone(),
            ..Scope::default()
        }
        .name_for(&r.addr);
        if sid.len() > MAX_SID
            || !sid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return vec![crate::config::Diagnostic::new(
                r.pos.clone(),
                format!(
                    "permission `{}` would have the statement id {sid} ({} characters): Lambda takes at most {MAX_SID} letters, digits, `-` and `_`",
                    r.addr,
                    sid.len()
                ),
            )
            .hint("shorten the resource's address (or the stack's name)")];
        }
        Vec::new()
    }

    /// GetPolicy for each function a declared permission names and each function this
    /// stack declares (a permission removed from the stack is found through its
    /// function), concurrently: one call per function, nothing per permission.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let declared: Vec<(Addr, String)> = scope
            .declared_of(SCHEMA.type_name)
            .iter()
            .map(|(a, _)| (a.clone(), scope.name_for(a)))
            .collect();
        let mut functions: BTreeSet<String> = scope
            .declared_of(SCHEMA.type_name)
            .iter()
            .filter(|(a, _)| only.is_none_or(|o| o == a))
            .filter_map(|(_, p)| declared_function(scope, p.get("function")))
            .collect();
        if only.is_none() {
            functions.extend(
                scope
                    .declared_of(super::function::SCHEMA.type_name)
                    .iter()
                    .map(|(a, _)| scope.name_for(a)),
            );
        }
        let found = try_join_all(functions.iter().map(|f| self.statements(f))).await?;
        let ours = prefix(scope);
        let mut out = Vec::new();
        for s in found.into_iter().flatten() {
            let Some(rest) = s.sid.strip_prefix(&ours) else {
                continue;
            };
            let addr = declared
                .iter()
                .find(|(_, sid)| *sid == s.sid)
                .map(|(a, _)| a.clone())
                .unwrap_or_else(|| Addr(rest.to_string()));
            if only.is_some_and(|o| *o != addr) {
                continue;
            }
            let tags = scope.tags_for(&addr).into_iter().collect();
            out.push(to_live(addr, &s, tags));
        }
        Ok(out)
    }

    /// The function compared by name, whether it is written as a name or an ARN.
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut want = desired.clone();
        if let Some(Value::Str(f)) = desired.get("function") {
            want.insert("function".into(), Value::Str(function_name(f).to_string()));
        }
        default_diff(self.schema(), &want, l)
            .into_iter()
            .map(|mut c| {
                if c.field == "function" {
                    c.after = desired.get("function").cloned().unwrap_or(Value::Null);
                }
                c
            })
            .collect()
    }

    /// AddPermission (refused while the function is being updated: tried again).
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let sid = req.name();
        let function = req.str("function").to_string();
        let action = match req.str("action") {
            "" => "lambda:InvokeFunction",
            a => a,
        }
        .to_string();
        let principal = req.str("principal").to_string();
        let source_arn = req
            .get("source_arn")
            .and_then(Value::as_str)
            .map(str::to_string);
        let out = settled(req, "adding the permission", false, || async {
            self.lambda
                .add_permission()
                .function_name(&function)
                .statement_id(&sid)
                .action(&action)
                .principal(&principal)
                .set_source_arn(source_arn.clone())
                .customize()
                .config_override(once::<
                    aws_sdk_lambda::operation::add_permission::AddPermissionError,
                >())
                .send()
                .await
                .map_err(|e| error("AddPermission", e))
        })
        .await?;
        let statement = out
            .statement()
            .and_then(parse)
            .map(|s| {
                let policy = Value::Map(BTreeMap::from([(
                    "Statement".to_string(),
                    Value::List(vec![s]),
                )]));
                statements_of(function_name(&function), &policy)
            })
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or(Statement {
                sid: sid.clone(),
                function: function_name(&function).to_string(),
                function_arn: String::new(),
                principal: principal.clone(),
                source_arn: source_arn.clone(),
                action: action.clone(),
            });
        Ok(to_live(
            req.addr.clone(),
            &statement,
            req.tags().into_iter().collect(),
        ))
    }

    fn taggable(&self) -> bool {
        false
    }

    /// Statements carry no tags.
    async fn retag(&self, _l: &Live, _delta: &TagDelta) -> Result<(), ProviderError> {
        Ok(())
    }

    /// RemovePermission; a statement or function already gone is success.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        let function = crate::aws::prop_str(&l.props, "function").to_string();
        let sid = l
            .outputs
            .get("statement_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        settled(req, "removing the permission", false, || async {
            deleted(
                "RemovePermission",
                self.lambda
                    .remove_permission()
                    .function_name(&function)
                    .statement_id(&sid)
                    .send()
                    .await,
            )
        })
        .await
    }
}
