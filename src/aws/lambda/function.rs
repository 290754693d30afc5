//! `aws_lambda_function`: an AI worker function (a Python handler reading SQS batches),
//! its code (a local directory or `.zip` packaged deterministically, or an S3 object),
//! configuration, log group and reserved concurrency. Named `<stack>-<env>-<address>`;
//! tagged in CreateFunction. Configuration, code and architecture change in place, one
//! change at a time as Lambda demands (each waited out before the next).

use super::{deleted, error, eventually, once, retag, settled, tags};
use crate::aws::wait::{self, Poll};
use crate::aws::{live, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, present, removed, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, FunctionConfiguration, LogFormat, LoggingConfig,
    Runtime,
};
use futures_util::future::join_all;
use std::collections::{BTreeMap, HashMap};

/// The runtimes a new worker may use: those AWS supports for creating functions and
/// will for a while (python3.9 and older, nodejs18.x and older are deprecated).
pub const RUNTIMES: &[&str] = &[
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs20.x",
    "nodejs22.x",
    "java21",
    "provided.al2023",
];

/// Why a code change is still an in-place update.
const CODE_NOTE: &str =
    "invocations already running finish on the old code; new ones get the new code";

pub static SCHEMA: Schema = Schema {
    type_name: "aws_lambda_function",
    doc: "A Lambda function (an AI worker), its code, configuration and reserved concurrency.",
    fields: &[
        Field {
            required: true,
            ..Field::new("runtime", Kind::OneOf(RUNTIMES), "the language runtime")
        },
        Field {
            required: true,
            ..Field::new(
                "handler",
                Kind::Str,
                "the entry point, e.g. worker.handler (module.function)",
            )
        },
        Field {
            default: Some(Default::Str("arm64")),
            ..Field::new(
                "architecture",
                Kind::OneOf(&["arm64", "x86_64"]),
                "the instruction set (arm64: Graviton, cheaper per GB-second)",
            )
        },
        Field {
            default: Some(Default::Int(128)),
            ..Field::new(
                "memory",
                Kind::Int,
                "MB of memory, 128 to 10240 (CPU grows with it)",
            )
        },
        Field {
            default: Some(Default::Int(3)),
            ..Field::new("timeout", Kind::Int, "seconds an invocation may run, 1 to 900")
        },
        Field::new(
            "environment",
            Kind::Document,
            "environment variables, a mapping NAME: value (never secrets: the worker reads them from Secrets Manager)",
        ),
        Field::new(
            "reserved_concurrency",
            Kind::Int,
            "concurrent executions reserved (and capped); 0 stops it being invoked; unset: unreserved",
        ),
        Field {
            required: true,
            ..Field::new(
                "role",
                Kind::Str,
                "the execution role's ARN, e.g. ${worker_role.arn}",
            )
        },
        Field::new(
            "log_group",
            Kind::Str,
            "the CloudWatch log group it logs to (text format), e.g. ${worker_logs.name}; unset: /aws/lambda/<name>",
        ),
        Field {
            default: Some(Default::Str("")),
            ..Field::new("description", Kind::Str, "what it does")
        },
        Field::new(
            "code",
            Kind::Package,
            "the code: a directory or .zip relative to the project root (packaged deterministically); or use s3_bucket and s3_key",
        ),
        Field::new("s3_bucket", Kind::Str, "the code: the bucket of a .zip (with s3_key)"),
        Field::new("s3_key", Kind::Str, "the code: the key of a .zip in s3_bucket"),
        Field::new(
            "s3_object_version",
            Kind::Str,
            "the code: the version of the object in a versioned bucket",
        ),
        Field::new(
            "code_sha256",
            Kind::Str,
            "with S3 code: the base64 SHA-256 of the .zip (openssl dgst -sha256 -binary f.zip | base64); a change deploys the object again. AWS does not say where code came from, so without it a new S3 object is not noticed",
        ),
    ],
    attributes: &["id", "name", "arn", "invoke_arn"],
};

/// Lambda function names: at most 64 letters, digits, `-` and `_`.
const MAX_NAME: usize = 64;

/// The ranges Lambda accepts, per field.
const RANGES: &[(&str, i64, i64)] = &[
    ("memory", 128, 10_240),
    ("timeout", 1, 900),
    ("reserved_concurrency", 0, 1_000_000),
];

/// The fields UpdateFunctionConfiguration changes.
const CONFIG: &[&str] = &[
    "runtime",
    "handler",
    "memory",
    "timeout",
    "environment",
    "role",
    "log_group",
    "description",
];

/// The fields UpdateFunctionCode changes.
const CODE: &[&str] = &[
    "code",
    "architecture",
    "s3_bucket",
    "s3_key",
    "s3_object_version",
    "code_sha256",
];

/// The zip of a packaged `code` value, as it was when the stack was loaded.
fn package_bytes(code: &Value) -> Result<std::sync::Arc<Vec<u8>>, ProviderError> {
    crate::config::package::bytes(code).map_err(|e| ProviderError::new("package code", e))
}

/// The provider of `aws_lambda_function`.
pub struct Function {
    lambda: aws_sdk_lambda::Client,
}

impl Function {
    pub fn new(c: &Clients) -> Self {
        Function {
            lambda: c.lambda.clone(),
        }
    }

    /// The function `name` now, with its tags and reserved concurrency (GetFunction: all
    /// three in one call; None when gone).
    async fn describe(&self, name: &str) -> Result<Option<Described>, ProviderError> {
        let out = self
            .lambda
            .get_function()
            .function_name(name)
            .customize()
            .config_override(eventually::<
                aws_sdk_lambda::operation::get_function::GetFunctionError,
            >())
            .send()
            .await;
        match out {
            Ok(o) => Ok(o.configuration().cloned().map(|c| Described {
                config: c,
                tags: o
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                reserved: o
                    .concurrency()
                    .and_then(|c| c.reserved_concurrent_executions()),
            })),
            Err(e) => match error("GetFunction", e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// Wait until the function is Active and no update is in progress (AWS: Pending
    /// for seconds after a create, InProgress after an update; the emulator: at once).
    async fn ready(
        &self,
        req: &Request<'_>,
        name: &str,
        doing: &str,
    ) -> Result<Described, ProviderError> {
        wait::until(req, doing, || async {
            let Some(d) = self.describe(name).await? else {
                return Err(ProviderError::new(
                    "GetFunction",
                    format!("function {name} disappeared while {doing}"),
                )
                .kind(crate::provider::ErrorKind::NotFound));
            };
            let state = d.config.state().map(|s| s.as_str().to_string());
            let update = d
                .config
                .last_update_status()
                .map(|s| s.as_str().to_string());
            let reason = |r: Option<&str>| r.unwrap_or_default().to_string();
            Ok(match (state.as_deref(), update.as_deref()) {
                (Some("Failed"), _) => {
                    Poll::Failed(format!("Failed: {}", reason(d.config.state_reason())))
                }
                (_, Some("Failed")) => Poll::Failed(format!(
                    "update Failed: {}",
                    reason(d.config.last_update_status_reason())
                )),
                (Some("Pending"), _) => Poll::Pending("Pending".into()),
                (_, Some("InProgress")) => Poll::Pending("update InProgress".into()),
                _ => Poll::Ready(d),
            })
        })
        .await
    }

    /// Reserve `n` concurrent executions, or release them (None).
    async fn concurrency(
        &self,
        req: &Request<'_>,
        name: &str,
        n: Option<i32>,
    ) -> Result<(), ProviderError> {
        settled(req, "setting reserved concurrency", false, || async {
            match n {
                Some(n) => self
                    .lambda
                    .put_function_concurrency()
                    .function_name(name)
                    .reserved_concurrent_executions(n)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| error("PutFunctionConcurrency", e)),
                None => deleted(
                    "DeleteFunctionConcurrency",
                    self.lambda
                        .delete_function_concurrency()
                        .function_name(name)
                        .send()
                        .await,
                ),
            }
        })
        .await
    }
}

/// What GetFunction says of a function.
struct Described {
    config: FunctionConfiguration,
    tags: BTreeMap<String, String>,
    reserved: Option<i32>,
}

/// `invoke_arn`: what API Gateway's Lambda proxy integration calls.
pub fn invoke_arn(arn: &str) -> String {
    // arn:<partition>:lambda:<region>:...
    let parts: Vec<&str> = arn.split(':').collect();
    let (partition, region) = match parts.as_slice() {
        [_, p, _, r, ..] => (*p, *r),
        _ => ("aws", ""),
    };
    format!(
        "arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    )
}

/// A function as the engine sees it.
fn to_live(owned: Owned, d: &Described) -> Live {
    let c = &d.config;
    let name = c.function_name().unwrap_or_default();
    let arn = c.function_arn().unwrap_or_default();
    let sha = c.code_sha256().unwrap_or_default();
    let mut props = Props::from([
        (
            "runtime".to_string(),
            Value::Str(
                c.runtime()
                    .map(|r| r.as_str().to_string())
                    .unwrap_or_default(),
            ),
        ),
        (
            "handler".to_string(),
            Value::Str(c.handler().unwrap_or_default().to_string()),
        ),
        (
            "architecture".to_string(),
            Value::Str(
                c.architectures()
                    .first()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_else(|| "x86_64".into()),
            ),
        ),
        (
            "memory".to_string(),
            Value::Int(i64::from(c.memory_size().unwrap_or(128))),
        ),
        (
            "timeout".to_string(),
            Value::Int(i64::from(c.timeout().unwrap_or(3))),
        ),
        (
            "role".to_string(),
            Value::Str(c.role().unwrap_or_default().to_string()),
        ),
        (
            "description".to_string(),
            Value::Str(c.description().unwrap_or_default().to_string()),
        ),
        (
            "code".to_string(),
            Value::Map(BTreeMap::from([(
                "sha256".to_string(),
                Value::Str(sha.to_string()),
            )])),
        ),
        ("code_sha256".to_string(), Value::Str(sha.to_string())),
    ]);
    let env: BTreeMap<String, Value> = c
        .environment()
        .and_then(|e| e.variables())
        .map(|v| {
            v.iter()
                .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    if !env.is_empty() {
        props.insert("environment".into(), Value::Map(env));
    }
    if let Some(n) = d.reserved {
        props.insert("reserved_concurrency".into(), Value::Int(i64::from(n)));
    }
    if let Some(g) = c.logging_config().and_then(|l| l.log_group()) {
        props.insert("log_group".into(), Value::Str(g.to_string()));
    }
    let mut refs = vec![c.role().unwrap_or_default().to_string()];
    refs.extend(
        c.logging_config()
            .and_then(|l| l.log_group())
            .map(str::to_string),
    );
    live(
        owned,
        name,
        props,
        refs,
        &[
            ("name", Value::Str(name.to_string())),
            ("arn", Value::Str(arn.to_string())),
            ("invoke_arn", Value::Str(invoke_arn(arn))),
        ],
    )
}

/// An environment value as Lambda keeps it: a string.
fn env_string(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => crate::model::document::to_json_string(other),
    }
}

/// The declared environment as Lambda keeps it.
fn environment(props: &Props) -> BTreeMap<String, String> {
    match props.get("environment") {
        Some(Value::Map(m)) => m.iter().map(|(k, v)| (k.clone(), env_string(v))).collect(),
        _ => BTreeMap::new(),
    }
}

fn int(req: &Request<'_>, field: &str) -> Option<i32> {
    req.int(field).and_then(|n| i32::try_from(n).ok())
}

/// The code to deploy: the packaged zip, or the S3 object.
enum Code {
    Zip(std::sync::Arc<Vec<u8>>),
    S3 {
        bucket: String,
        key: String,
        version: Option<String>,
    },
}

fn code_of(req: &Request<'_>) -> Result<Code, ProviderError> {
    match req.get("code") {
        Some(c) => Ok(Code::Zip(package_bytes(c)?)),
        None => Ok(Code::S3 {
            bucket: req.str("s3_bucket").to_string(),
            key: req.str("s3_key").to_string(),
            version: req
                .get("s3_object_version")
                .and_then(Value::as_str)
                .map(str::to_string),
        }),
    }
}

fn architecture(req: &Request<'_>) -> Architecture {
    Architecture::from(match req.str("architecture") {
        "" => "arm64",
        a => a,
    })
}

fn logging(req: &Request<'_>) -> Option<LoggingConfig> {
    req.get("log_group").and_then(Value::as_str).map(|g| {
        LoggingConfig::builder()
            .log_format(LogFormat::Text)
            .log_group(g)
            .build()
    })
}

fn env_of(req: &Request<'_>) -> Environment {
    Environment::builder()
        .set_variables(Some(
            environment(req.props)
                .into_iter()
                .collect::<HashMap<_, _>>(),
        ))
        .build()
}

fn pos<'a>(r: &'a Resource, field: &str) -> &'a crate::config::Pos {
    r.field_pos.get(field).unwrap_or(&r.pos)
}

#[async_trait]
impl Provider for Function {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (field, lo, hi) in RANGES {
            if let Some(n) = r.props.get(*field).and_then(Value::as_int) {
                if !(*lo..=*hi).contains(&n) {
                    out.push(
                        Diagnostic::new(
                            pos(r, field).clone(),
                            format!(
                                "function `{}` has {field} {n}: Lambda accepts {lo} to {hi}",
                                r.addr
                            ),
                        )
                        .hint(format!("use a value from {lo} to {hi}")),
                    );
                }
            }
        }
        let has = |f: &str| present(&r.props, f).is_some();
        let s3 = ["s3_bucket", "s3_key", "s3_object_version", "code_sha256"];
        let s3_given: Vec<&str> = s3.iter().copied().filter(|f| has(f)).collect();
        if has("code") && !s3_given.is_empty() {
            out.push(
                Diagnostic::new(
                    pos(r, s3_given[0]).clone(),
                    format!(
                        "function `{}` sets both code and {}: its code comes from one place",
                        r.addr,
                        s3_given.join(", ")
                    ),
                )
                .related(pos(r, "code").clone(), "code is set here")
                .hint("keep `code` (a local directory or .zip) or the S3 object, not both"),
            );
        } else if !(has("code") || has("s3_bucket") && has("s3_key")) {
            let (at, msg) = match s3_given.first() {
                Some(f) => (
                    pos(r, f),
                    format!(
                        "function `{}` names an S3 object without both s3_bucket and s3_key",
                        r.addr
                    ),
                ),
                None => (&r.pos, format!("function `{}` has no code", r.addr)),
            };
            out.push(
                Diagnostic::new(at.clone(), msg)
                    .hint("set `code` to a directory or .zip, or both s3_bucket and s3_key"),
            );
        }
        let name = Scope {
            stack: stack.name.clone(),
            env: stack.env.clone(),
            ..Scope::default()
        }
        .name_for(&r.addr);
        if name.len() > MAX_NAME
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!(
                        "function `{}` would be named {name} ({} characters): Lambda names are at most {MAX_NAME} letters, digits, `-` and `_`",
                        r.addr,
                        name.len()
                    ),
                )
                .hint("shorten the resource's address (or the stack's name)"),
            );
        }
        out
    }

    /// ListFunctions (50 a page, narrowed to names starting `<stack>-<env>-`), then
    /// GetFunction for each of those, concurrently: configuration, tags and reserved
    /// concurrency in one call (ListFunctions has neither tags nor concurrency):
    /// 1 + functions.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let prefix = scope.read_prefix(only);
        let listed: Vec<FunctionConfiguration> = self
            .lambda
            .list_functions()
            .max_items(50)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListFunctions", e))?;
        let names: Vec<&str> = listed
            .iter()
            .filter_map(FunctionConfiguration::function_name)
            .filter(|n| n.starts_with(&prefix))
            .collect();
        let found = join_all(names.iter().map(|n| self.describe(n))).await;
        let mut out = Vec::new();
        for d in found {
            let Some(d) = d? else { continue };
            let Some(owned) = crate::aws::owned(scope, d.tags.clone()) else {
                continue;
            };
            let mut l = to_live(owned, &d);
            l.pending = match d.config.state().map(|s| s.as_str()) {
                Some("Pending") => Some("Pending".into()),
                _ => None,
            };
            out.push(l);
        }
        Ok(out)
    }

    /// Waits until a function found still Pending is Active.
    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        if l.pending.is_none() {
            return Ok(l);
        }
        let d = self.ready(req, &l.id, "creating").await?;
        Ok(to_live(Owned::of(&l), &d))
    }

    /// Code by its SHA-256 only (a rebuild of the same files plans nothing); the S3
    /// location is not compared (AWS does not return it: `code_sha256` is); environment
    /// values as the strings Lambda keeps; a removed environment or reserved concurrency
    /// is a change.
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut want = desired.clone();
        for f in ["s3_bucket", "s3_key", "s3_object_version"] {
            want.remove(f);
        }
        if let Some(Value::Map(env)) = desired.get("environment") {
            if !env.values().any(Value::has_unknown) {
                want.insert(
                    "environment".into(),
                    Value::Map(
                        environment(desired)
                            .into_iter()
                            .map(|(k, v)| (k, Value::Str(v)))
                            .collect(),
                    ),
                );
            }
        }
        let mut out = default_diff(self.schema(), &want, l);
        for c in out.iter_mut() {
            if c.field == "code" || c.field == "code_sha256" {
                c.why = Some(CODE_NOTE.into());
            }
        }
        out.extend(
            ["environment", "reserved_concurrency"]
                .iter()
                .filter_map(|f| removed(f, desired, l)),
        );
        out
    }

    /// CreateFunction with its code and tags (a role made moments before is waited
    /// for), PutFunctionConcurrency if reserved, then a wait until Active.
    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = req.name();
        let code = match code_of(req)? {
            Code::Zip(z) => FunctionCode::builder()
                .zip_file(Blob::new(z.to_vec()))
                .build(),
            Code::S3 {
                bucket,
                key,
                version,
            } => FunctionCode::builder()
                .s3_bucket(bucket)
                .s3_key(key)
                .set_s3_object_version(version)
                .build(),
        };
        let tags = tags(req);
        settled(req, "creating", true, || async {
            self.lambda
                .create_function()
                .function_name(&name)
                .runtime(Runtime::from(req.str("runtime")))
                .handler(req.str("handler"))
                .role(req.str("role"))
                .code(code.clone())
                .description(req.str("description"))
                .set_memory_size(int(req, "memory"))
                .set_timeout(int(req, "timeout"))
                .architectures(architecture(req))
                .environment(env_of(req))
                .set_logging_config(logging(req))
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(once::<
                    aws_sdk_lambda::operation::create_function::CreateFunctionError,
                >())
                .send()
                .await
                .map_err(|e| error("CreateFunction", e))
                .map_err(|mut e| {
                    if e.is_conflict() {
                        e.message = format!(
                            "{}: a function named {name} exists and this stack does not own it (or another run made it)",
                            e.message
                        );
                    }
                    e
                })
        })
        .await?;
        if let Some(n) = int(req, "reserved_concurrency") {
            self.concurrency(req, &name, Some(n)).await?;
        }
        let d = self.ready(req, &name, "creating").await?;
        Ok(to_live(Owned::made(req), &d))
    }

    /// UpdateFunctionConfiguration, then UpdateFunctionCode (with the architecture),
    /// then the reserved concurrency, each only when one of its fields changed, each
    /// waited out before the next (Lambda refuses concurrent updates).
    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let name = l.id.clone();
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let any = |fields: &[&str]| changed.iter().any(|c| fields.contains(&c.as_str()));
        if any(CONFIG) {
            let logging = logging(req).unwrap_or_else(|| {
                LoggingConfig::builder()
                    .log_format(LogFormat::Text)
                    .log_group(format!("/aws/lambda/{name}"))
                    .build()
            });
            settled(req, "updating the configuration", true, || async {
                self.lambda
                    .update_function_configuration()
                    .function_name(&name)
                    .runtime(Runtime::from(req.str("runtime")))
                    .handler(req.str("handler"))
                    .role(req.str("role"))
                    .description(req.str("description"))
                    .set_memory_size(int(req, "memory"))
                    .set_timeout(int(req, "timeout"))
                    .environment(env_of(req))
                    .logging_config(logging.clone())
                    .customize()
                    .config_override(eventually::<
                        aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationError,
                    >())
                    .send()
                    .await
                    .map_err(|e| error("UpdateFunctionConfiguration", e))
            })
            .await?;
            self.ready(req, &name, "updating").await?;
        }
        if any(CODE) {
            let code = code_of(req)?;
            settled(req, "updating the code", false, || async {
                let call = self
                    .lambda
                    .update_function_code()
                    .function_name(&name)
                    .architectures(architecture(req));
                let call = match &code {
                    Code::Zip(z) => call.zip_file(Blob::new(z.to_vec())),
                    Code::S3 {
                        bucket,
                        key,
                        version,
                    } => call
                        .s3_bucket(bucket)
                        .s3_key(key)
                        .set_s3_object_version(version.clone()),
                };
                call.customize()
                    .config_override(eventually::<
                        aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeError,
                    >())
                    .send()
                    .await
                    .map_err(|e| error("UpdateFunctionCode", e))
            })
            .await?;
            self.ready(req, &name, "updating").await?;
        }
        if any(&["reserved_concurrency"]) {
            self.concurrency(req, &name, int(req, "reserved_concurrency"))
                .await?;
        }
        let d = self.ready(req, &name, "updating").await?;
        Ok(to_live(Owned::of(l), &d))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        retag(&self.lambda, arn, delta).await
    }

    /// DeleteFunction (its versions, policy and concurrency go with it); already gone
    /// is success.
    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        settled(req, "deleting", false, || async {
            deleted(
                "DeleteFunction",
                self.lambda
                    .delete_function()
                    .function_name(&l.id)
                    .send()
                    .await,
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoke_arn_is_what_api_gateway_calls() {
        assert_eq!(
            invoke_arn("arn:aws:lambda:eu-west-2:123456789012:function:bandup-dev-ai"),
            "arn:aws:apigateway:eu-west-2:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-2:123456789012:function:bandup-dev-ai/invocations"
        );
    }

    #[test]
    fn environment_values_compare_as_strings() {
        let p = Props::from([(
            "environment".to_string(),
            Value::Map(BTreeMap::from([
                ("N".to_string(), Value::Int(3)),
                ("B".to_string(), Value::Bool(true)),
            ])),
        )]);
        let env = environment(&p);
        assert_eq!(env.get("N").map(String::as_str), Some("3"));
        assert_eq!(env.get("B").map(String::as_str), Some("true"));
    }
}
