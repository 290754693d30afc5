//! `aws_api_gateway_rest_api`: a REST API with its routes. Each route is a path, an HTTP
//! method, a Lambda proxy integration (`AWS_PROXY` to a function's invoke ARN) and its
//! authorization (`AWS_IAM` by default). The resources, methods and integrations behind
//! the routes cannot carry tags: the API owns them (it makes, changes and deletes them,
//! intermediate path segments included). Its `revision` (a hash of the routes, policy
//! and endpoint type as applied) is what a stage redeploys on.

use super::{
    api_arn, deleted, error, eventually, execution_arn, once, owned_apis, patch, region, retag,
    tag_map,
};
use crate::aws::wait::{paced, Pace, Poll};
use crate::aws::{creation_tags, live, millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::document::{map_statements, parse, to_json_string, with_default_resource};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, present, removed, Change, ErrorKind, Live, Provider, ProviderError, Request,
    Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_apigateway::types::{EndpointConfiguration, EndpointType, IntegrationType, Op};
use futures_util::future::join_all;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY",
];

static ROUTE: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "path",
            Kind::Str,
            "the resource path, such as /writing-feedback or /jobs/{id}",
        )
    },
    Field {
        required: true,
        ..Field::new("method", Kind::OneOf(METHODS), "the HTTP method")
    },
    Field {
        required: true,
        ..Field::new(
            "function_invoke_arn",
            Kind::Str,
            "the Lambda function's invoke ARN (`${fn.invoke_arn}`): a proxy integration",
        )
    },
    Field {
        default: Some(Default::Str("AWS_IAM")),
        ..Field::new(
            "authorization",
            Kind::OneOf(&["AWS_IAM", "NONE"]),
            "AWS_IAM: callers sign with SigV4 and need execute-api:Invoke; NONE: open",
        )
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_api_gateway_rest_api",
    doc: "An API Gateway REST API with its routes (Lambda proxy integrations, IAM auth) and resource policy.",
    fields: &[
        Field::new("description", Kind::Str, "what the API is for"),
        Field {
            default: Some(Default::Str("REGIONAL")),
            ..Field::new(
                "endpoint_type",
                Kind::OneOf(&["REGIONAL", "PRIVATE"]),
                "REGIONAL (reached over the internet) or PRIVATE (only through VPC endpoints)",
            )
        },
        Field::new(
            "policy",
            Kind::Policy,
            "the resource policy (who may invoke); a statement without Resource applies to the whole API",
        ),
        Field {
            default: Some(Default::EmptyList),
            ..Field::new("routes", Kind::List(&Kind::Object(ROUTE)), "the API's routes")
        },
    ],
    attributes: &[
        "id",
        "arn",
        "name",
        "execution_arn",
        "root_resource_id",
        "revision",
    ],
};

/// One resource of the API as `GetResources` (embed=methods) shows it.
#[derive(Clone, Debug)]
struct Res {
    id: String,
    path: String,
    /// Method → (authorization type, integration type and URI).
    methods: BTreeMap<String, (String, Option<(String, String)>)>,
}

/// A route as the stack declares it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    path: String,
    method: String,
    uri: String,
    auth: String,
}

fn routes_of(props: &Props) -> Vec<Route> {
    let field = |m: &BTreeMap<String, Value>, k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out: Vec<Route> = props
        .get("routes")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_map)
        .map(|m| Route {
            path: field(m, "path"),
            method: field(m, "method"),
            uri: field(m, "function_invoke_arn"),
            auth: m
                .get("authorization")
                .and_then(Value::as_str)
                .unwrap_or("AWS_IAM")
                .to_string(),
        })
        .collect();
    out.sort();
    out
}

/// `/a/b/c` → `/`, `/a`, `/a/b`, `/a/b/c`.
fn prefixes(path: &str) -> Vec<String> {
    let mut out = vec!["/".to_string()];
    let mut cur = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        cur.push('/');
        cur.push_str(seg);
        out.push(cur.clone());
    }
    out
}

fn parent_of(path: &str) -> String {
    match path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => path[..i].to_string(),
    }
}

/// A policy as API Gateway returns it: JSON whose quotes may come back escaped
/// (`{\"Version\":...}`).
fn parse_policy(s: &str) -> Option<Value> {
    if s.is_empty() {
        return None;
    }
    parse(s).or_else(|| parse(&s.replace("\\\"", "\"").replace("\\\\", "\\")))
}

/// `policy` as API Gateway stores it: a statement without Resource applies to every
/// method of the API (`<execution arn>/*`), and `execute-api:/...` is expanded to the
/// API's execution ARN, as AWS does on save.
fn with_resource(policy: &Value, exec: &str) -> Value {
    let expand = |r: &Value| match r {
        Value::Str(s) => match s.strip_prefix("execute-api:") {
            Some(rest) => Value::Str(format!("{exec}{rest}")),
            None => r.clone(),
        },
        other => other.clone(),
    };
    let filled = with_default_resource(policy, &format!("{exec}/*"));
    map_statements(&filled, |mut m| {
        match m.get("Resource") {
            Some(Value::List(l)) => {
                let l = l.iter().map(expand).collect();
                m.insert("Resource".into(), Value::List(l));
            }
            Some(one) => {
                let one = expand(one);
                m.insert("Resource".into(), one);
            }
            None => {}
        }
        m
    })
}

/// A short hash of what a deployment captures: the routes, the policy and the endpoint
/// type, as read from AWS.
fn revision(props: &Props) -> String {
    let pick = |k: &str| props.get(k).cloned().unwrap_or(Value::Null);
    let mut routes: Vec<String> = pick("routes")
        .as_list()
        .unwrap_or_default()
        .iter()
        .map(to_json_string)
        .collect();
    routes.sort();
    let text = format!(
        "{}\n{}\n{}",
        to_json_string(&pick("endpoint_type")),
        to_json_string(&pick("policy")),
        routes.join("\n")
    );
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

pub struct RestApi {
    apigw: aws_sdk_apigateway::Client,
    /// The account, asked once per run for every type.
    account: crate::aws::Account,
}

impl RestApi {
    pub fn new(c: &Clients) -> Self {
        RestApi {
            apigw: c.apigateway.clone(),
            account: c.account.clone(),
        }
    }

    async fn account(&self) -> Result<String, ProviderError> {
        self.account.get().await
    }

    async fn exec_arn(&self, api: &str) -> Result<String, ProviderError> {
        Ok(execution_arn(
            &region(&self.apigw),
            &self.account().await?,
            api,
        ))
    }

    /// Every resource of the API with its methods and integrations: one paginated
    /// `GetResources` with `embed=methods`.
    async fn resources(&self, api: &str) -> Result<Vec<Res>, ProviderError> {
        let pages: Vec<_> = self
            .apigw
            .get_resources()
            .rest_api_id(api)
            .embed("methods")
            .limit(500)
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("GetResources", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.items())
            .map(|r| Res {
                id: r.id().unwrap_or_default().to_string(),
                path: r.path().unwrap_or("/").to_string(),
                methods: r
                    .resource_methods()
                    .map(|ms| {
                        ms.iter()
                            .map(|(verb, m)| {
                                let integ = m.method_integration().map(|i| {
                                    (
                                        i.r#type().map(|t| t.as_str()).unwrap_or_default().into(),
                                        i.uri().unwrap_or_default().to_string(),
                                    )
                                });
                                (
                                    verb.clone(),
                                    (m.authorization_type().unwrap_or("NONE").to_string(), integ),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// The API as the engine sees it.
    async fn to_live(
        &self,
        owned: Owned,
        api: &aws_sdk_apigateway::types::RestApi,
    ) -> Result<Live, ProviderError> {
        let id = api.id().unwrap_or_default().to_string();
        let (res, exec) = tokio::join!(self.resources(&id), self.exec_arn(&id));
        let (res, exec) = (res?, exec?);
        let mut props = Props::new();
        if let Some(d) = api.description().filter(|d| !d.is_empty()) {
            props.insert("description".into(), Value::Str(d.to_string()));
        }
        let endpoint = api
            .endpoint_configuration()
            .and_then(|e| e.types().first())
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        props.insert("endpoint_type".into(), Value::Str(endpoint));
        if let Some(p) = api.policy().and_then(parse_policy) {
            props.insert("policy".into(), p);
        }
        let mut routes = Vec::new();
        let mut refs = Vec::new();
        for r in &res {
            for (verb, (auth, integ)) in &r.methods {
                let uri = integ.as_ref().map(|(_, u)| u.clone());
                if let Some(u) = &uri {
                    refs.push(u.clone());
                }
                routes.push(Value::Map(BTreeMap::from([
                    ("path".to_string(), Value::Str(r.path.clone())),
                    ("method".to_string(), Value::Str(verb.clone())),
                    (
                        "function_invoke_arn".to_string(),
                        crate::aws::str_value(uri.as_deref()),
                    ),
                    ("authorization".to_string(), Value::Str(auth.clone())),
                ])));
            }
        }
        props.insert("routes".into(), Value::List(routes));
        let rev = revision(&props);
        let region = region(&self.apigw);
        let created = api.created_date().and_then(millis);
        Ok(live(
            owned.or_created(created),
            &id,
            props,
            refs,
            &[
                ("arn", Value::Str(api_arn(&region, &id))),
                ("name", crate::aws::str_value(api.name())),
                ("execution_arn", Value::Str(exec)),
                (
                    "root_resource_id",
                    crate::aws::str_value(api.root_resource_id()),
                ),
                ("revision", Value::Str(rev)),
            ],
        ))
    }

    /// The API `id` as it is now (`GetRestApi` and its resources).
    async fn describe(&self, owned: Owned, id: &str) -> Result<Live, ProviderError> {
        let api = self
            .apigw
            .get_rest_api()
            .rest_api_id(id)
            .customize()
            .config_override(eventually::<
                aws_sdk_apigateway::operation::get_rest_api::GetRestApiError,
            >())
            .send()
            .await
            .map_err(|e| error("GetRestApi", e))?;
        let api = aws_sdk_apigateway::types::RestApi::builder()
            .set_id(api.id)
            .set_name(api.name)
            .set_description(api.description)
            .set_created_date(api.created_date)
            .set_endpoint_configuration(api.endpoint_configuration)
            .set_policy(api.policy)
            .set_root_resource_id(api.root_resource_id)
            .build();
        self.to_live(owned, &api).await
    }

    /// Make the API's resources, methods and integrations those of `want`: missing
    /// paths and methods created, changed ones changed, removed ones deleted (a
    /// resource no route needs any more is deleted with everything under it). Changes
    /// reach callers only with the next deployment (the stage's `revision`).
    async fn reconcile(&self, api: &str, want: &[Route]) -> Result<(), ProviderError> {
        let have = self.resources(api).await?;
        let mut ids: BTreeMap<String, String> = have
            .iter()
            .map(|r| (r.path.clone(), r.id.clone()))
            .collect();
        let needed: BTreeSet<String> = want.iter().flat_map(|r| prefixes(&r.path)).collect();
        // What is no longer wanted first: a method moved elsewhere frees its path.
        let wanted: BTreeSet<(&str, &str)> = want
            .iter()
            .map(|r| (r.path.as_str(), r.method.as_str()))
            .collect();
        for r in &have {
            if !needed.contains(&r.path) {
                // Only the topmost resource no route needs: AWS deletes what is under it.
                if needed.contains(&parent_of(&r.path)) && r.path != "/" {
                    deleted(
                        "DeleteResource",
                        self.apigw
                            .delete_resource()
                            .rest_api_id(api)
                            .resource_id(&r.id)
                            .customize()
                            .config_override(eventually::<
                                aws_sdk_apigateway::operation::delete_resource::DeleteResourceError,
                            >())
                            .send()
                            .await,
                    )?;
                }
                continue;
            }
            for verb in r.methods.keys() {
                if !wanted.contains(&(r.path.as_str(), verb.as_str())) {
                    self.delete_method(api, &r.id, verb).await?;
                }
            }
        }
        for route in want {
            let mut parent = ids.get("/").cloned().unwrap_or_default();
            for p in prefixes(&route.path).into_iter().skip(1) {
                let id = match ids.get(&p) {
                    Some(id) => id.clone(),
                    None => {
                        let part = p.rsplit('/').next().unwrap_or_default();
                        let made = self
                            .apigw
                            .create_resource()
                            .rest_api_id(api)
                            .parent_id(&parent)
                            .path_part(part)
                            .customize()
                            .config_override(once::<
                                aws_sdk_apigateway::operation::create_resource::CreateResourceError,
                            >())
                            .send()
                            .await
                            .map_err(|e| error("CreateResource", e));
                        let id = match made {
                            Ok(made) => made.id().unwrap_or_default().to_string(),
                            // Made meanwhile (another apply of this stack, or a lost
                            // answer): the one that exists is the one to use.
                            Err(e) if e.is_conflict() => self
                                .resources(api)
                                .await?
                                .into_iter()
                                .find(|r| r.path == p)
                                .map(|r| r.id)
                                .ok_or(e)?,
                            Err(e) => return Err(e),
                        };
                        ids.insert(p.clone(), id.clone());
                        id
                    }
                };
                parent = id;
            }
            let res = parent;
            let live = have
                .iter()
                .find(|r| r.path == route.path)
                .and_then(|r| r.methods.get(&route.method));
            let proxy = |i: &Option<(String, String)>| {
                i.as_ref()
                    .is_some_and(|(t, u)| t == "AWS_PROXY" && *u == route.uri)
            };
            match live {
                Some((auth, integ)) if *auth == route.auth => {
                    if !proxy(integ) {
                        self.put_integration(api, &res, route).await?;
                    }
                }
                Some(_) => {
                    // PutMethod refuses a method that exists and the authorization of
                    // one is changed by replacing it: the draft API is not served until
                    // the next deployment, so callers never see it missing.
                    self.delete_method(api, &res, &route.method).await?;
                    self.put_method(api, &res, route).await?;
                }
                None => self.put_method(api, &res, route).await?,
            }
        }
        Ok(())
    }

    async fn delete_method(&self, api: &str, res: &str, verb: &str) -> Result<(), ProviderError> {
        deleted(
            "DeleteMethod",
            self.apigw
                .delete_method()
                .rest_api_id(api)
                .resource_id(res)
                .http_method(verb)
                .customize()
                .config_override(eventually::<
                    aws_sdk_apigateway::operation::delete_method::DeleteMethodError,
                >())
                .send()
                .await,
        )
    }

    /// A method and its Lambda proxy integration.
    async fn put_method(&self, api: &str, res: &str, r: &Route) -> Result<(), ProviderError> {
        let made = self
            .apigw
            .put_method()
            .rest_api_id(api)
            .resource_id(res)
            .http_method(&r.method)
            .authorization_type(&r.auth)
            .customize()
            .config_override(once::<
                aws_sdk_apigateway::operation::put_method::PutMethodError,
            >())
            .send()
            .await
            .map_err(|e| error("PutMethod", e));
        match made {
            // Put meanwhile by another apply of this stack: its integration is set below.
            Ok(_) => {}
            Err(e) if e.is_conflict() => {}
            Err(e) => return Err(e),
        }
        self.put_integration(api, res, r).await
    }

    /// The method's integration: a Lambda proxy (`AWS_PROXY`, always invoked with POST).
    /// PutIntegration replaces an existing one.
    async fn put_integration(&self, api: &str, res: &str, r: &Route) -> Result<(), ProviderError> {
        self.apigw
            .put_integration()
            .rest_api_id(api)
            .resource_id(res)
            .http_method(&r.method)
            .r#type(IntegrationType::AwsProxy)
            .integration_http_method("POST")
            .uri(&r.uri)
            .customize()
            .config_override(eventually::<
                aws_sdk_apigateway::operation::put_integration::PutIntegrationError,
            >())
            .send()
            .await
            .map_err(|e| error("PutIntegration", e))?;
        Ok(())
    }

    async fn set_policy(&self, api: &str, props: &Props) -> Result<(), ProviderError> {
        let exec = self.exec_arn(api).await?;
        let value = present(props, "policy")
            .map(|p| to_json_string(&with_resource(p, &exec)))
            .unwrap_or_default();
        self.patch_api(api, vec![patch(Op::Replace, "/policy", Some(&value))])
            .await
    }

    async fn patch_api(
        &self,
        api: &str,
        ops: Vec<aws_sdk_apigateway::types::PatchOperation>,
    ) -> Result<(), ProviderError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.apigw
            .update_rest_api()
            .rest_api_id(api)
            .set_patch_operations(Some(ops))
            .customize()
            .config_override(eventually::<
                aws_sdk_apigateway::operation::update_rest_api::UpdateRestApiError,
            >())
            .send()
            .await
            .map_err(|e| error("UpdateRestApi", e))?;
        Ok(())
    }
}

/// A path API Gateway accepts: `/`, or segments of letters, digits, `._-:`, a
/// `{param}` or a greedy `{param+}`.
fn valid_path(path: &str) -> bool {
    if path == "/" {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|seg| {
        let inner = seg
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .map(|s| s.strip_suffix('+').unwrap_or(s))
            .unwrap_or(seg);
        !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c))
    })
}

#[async_trait]
impl Provider for RestApi {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let list = r
            .props
            .get("routes")
            .and_then(Value::as_list)
            .unwrap_or_default();
        for (i, route) in list.iter().enumerate() {
            let Some(m) = route.as_map() else { continue };
            let pos = r
                .field_pos
                .get(&format!("routes[{i}].path"))
                .or_else(|| r.field_pos.get("routes"))
                .unwrap_or(&r.pos)
                .clone();
            let (Some(path), Some(verb)) = (
                m.get("path").and_then(Value::as_str),
                m.get("method").and_then(Value::as_str),
            ) else {
                continue;
            };
            if !valid_path(path) {
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        format!(
                            "API `{}` has route path `{path}`: API Gateway wants `/` or `/`-separated segments of letters, digits, `._-:`, `{{param}}` or `{{param+}}`, without a trailing `/`",
                            r.addr
                        ),
                    )
                    .hint("write it as /writing-feedback or /jobs/{id}"),
                );
            }
            if !seen.insert((path.to_string(), verb.to_string())) {
                out.push(
                    Diagnostic::new(
                        pos,
                        format!("API `{}` declares {verb} {path} twice", r.addr),
                    )
                    .hint("keep one route per path and method"),
                );
            }
        }
        out
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let apis = owned_apis(&self.apigw, scope).await?;
        let mine: Vec<_> = apis
            .iter()
            .filter_map(|a| {
                let owned = crate::aws::owned(scope, tag_map(a.tags()))?;
                only.is_none_or(|o| owned.addr == *o).then_some((owned, a))
            })
            .collect();
        let found = join_all(mine.into_iter().map(|(owned, a)| self.to_live(owned, a))).await;
        let mut out = Vec::new();
        for l in found {
            match l {
                Ok(l) => out.push(l),
                // Deleted between the listing and the look at its resources.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let exec = l
            .outputs
            .get("execution_arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut want = desired.clone();
        if let Some(p) = present(desired, "policy") {
            if !p.has_unknown() {
                want.insert("policy".into(), with_resource(p, exec));
            }
        }
        let mut out: Vec<Change> = default_diff(self.schema(), &want, l)
            .into_iter()
            .map(|mut c| {
                if c.field == "policy" {
                    if let Some(p) = present(desired, "policy") {
                        c.after = p.clone();
                    }
                }
                c
            })
            .collect();
        out.extend(
            ["policy", "description"]
                .iter()
                .filter_map(|f| removed(f, desired, l)),
        );
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let endpoint = EndpointType::from(req.str("endpoint_type"));
        let made = self
            .apigw
            .create_rest_api()
            .name(req.name())
            .set_description(
                present(req.props, "description").and_then(|d| d.as_str().map(String::from)),
            )
            .endpoint_configuration(EndpointConfiguration::builder().types(endpoint).build())
            .set_tags(Some(creation_tags(req).into_iter().collect()))
            .customize()
            .config_override(once::<
                aws_sdk_apigateway::operation::create_rest_api::CreateRestApiError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateRestApi", e))?;
        let id = made.id().unwrap_or_default().to_string();
        // The policy names the API's own execution ARN, known only now.
        if present(req.props, "policy").is_some() {
            self.set_policy(&id, req.props).await?;
        }
        self.reconcile(&id, &routes_of(req.props)).await?;
        self.describe(Owned::made(req), &id).await
    }

    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        // Found instead of created: its routes may be half made. Make them whole.
        self.reconcile(&l.id, &routes_of(req.props)).await?;
        self.describe(Owned::of(&l), &l.id).await
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: BTreeSet<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let mut ops = Vec::new();
        if changed.contains("description") {
            let d = req.str("description");
            ops.push(patch(Op::Replace, "/description", Some(d)));
        }
        if changed.contains("endpoint_type") {
            let old = l
                .props
                .get("endpoint_type")
                .and_then(Value::as_str)
                .unwrap_or("EDGE");
            ops.push(patch(
                Op::Replace,
                &format!("/endpointConfiguration/types/{old}"),
                Some(req.str("endpoint_type")),
            ));
        }
        self.patch_api(&l.id, ops).await?;
        if changed.contains("policy") {
            self.set_policy(&l.id, req.props).await?;
        }
        if changed.contains("routes") {
            self.reconcile(&l.id, &routes_of(req.props)).await?;
        }
        self.describe(Owned::of(l), &l.id).await
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.apigw, &api_arn(&region(&self.apigw), &l.id), delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        // API Gateway allows one DeleteRestApi every 30 s per account: a throttled
        // delete waits its turn, saying so, within the delete's timeout.
        let pace = Pace {
            first: Duration::from_secs(5),
            max: Duration::from_secs(30),
            say_every: Duration::from_secs(30),
        };
        paced(req, "deleting", pace, || async {
            let r = deleted(
                "DeleteRestApi",
                self.apigw.delete_rest_api().rest_api_id(&l.id).send().await,
            );
            match r {
                Ok(()) => Ok(Poll::Ready(())),
                Err(e) if e.kind == ErrorKind::Throttled => Ok(Poll::Pending(
                    "throttled (one DeleteRestApi per 30 s per account)".into(),
                )),
                Err(e) => Err(e),
            }
        })
        .await
    }

    fn renewed_on_update(&self) -> &'static [&'static str] {
        &["revision"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_prefixes() {
        assert!(valid_path("/"));
        assert!(valid_path("/writing-feedback"));
        assert!(valid_path("/jobs/{id}/{proxy+}"));
        assert!(!valid_path("writing"));
        assert!(!valid_path("/a/"));
        assert!(!valid_path("/a b"));
        assert_eq!(prefixes("/a/b"), vec!["/", "/a", "/a/b"]);
        assert_eq!(parent_of("/a/b"), "/a");
        assert_eq!(parent_of("/a"), "/");
    }

    #[test]
    fn an_escaped_policy_reads_back() {
        let p = parse_policy(r#"{\"Version\":\"2012-10-17\",\"Statement\":[]}"#);
        assert!(p.is_some());
        let exec = "arn:aws:execute-api:eu-west-2:1:abc";
        let filled = with_resource(
            &parse(r#"{"Statement":[{"Effect":"Allow","Resource":"execute-api:/*"},{"Effect":"Deny"}]}"#)
                .unwrap_or(Value::Null),
            exec,
        );
        let text = to_json_string(&filled);
        assert_eq!(
            text.matches("arn:aws:execute-api:eu-west-2:1:abc/*")
                .count(),
            2,
            "{text}"
        );
    }
}
