//! `aws_codebuild_project`: a CodeBuild project that builds an app image and pushes it to
//! ECR (privileged mode for Docker), run by a pipeline (source and artifacts
//! CODEPIPELINE), with its service role, compute type, image, environment variables,
//! CloudWatch Logs group and build timeout; changed in place by UpdateProject.

use super::{deleted, error, eventually, once, tag_list, tag_map};
use crate::aws::wait::{paced, Pace, Poll};
use crate::aws::{creation_tags, live, millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{
    default_diff, removed, Change, Live, Provider, ProviderError, Request, Scope, TagDelta,
};
use async_trait::async_trait;
use aws_sdk_codebuild::types::{
    ArtifactsType, CloudWatchLogsConfig, ComputeType, EnvironmentType, EnvironmentVariable,
    EnvironmentVariableType, LogsConfig, LogsConfigStatusType, Project as SdkProject,
    ProjectArtifacts, ProjectEnvironment, ProjectSource, SourceType, Tag,
};
use std::collections::BTreeMap;
use std::time::Duration;

const SOURCE_TYPES: &[&str] = &[
    "CODEPIPELINE",
    "NO_SOURCE",
    "S3",
    "GITHUB",
    "GITLAB",
    "BITBUCKET",
    "CODECOMMIT",
];

const COMPUTE_TYPES: &[&str] = &[
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_codebuild_project",
    doc: "A CodeBuild project (a build of an app image, run by a pipeline); changed in place.",
    fields: &[
        Field {
            default: Some(Default::Str("")),
            ..Field::new("description", Kind::Str, "what it builds (up to 255 characters)")
        },
        Field {
            required: true,
            ..Field::new(
                "service_role",
                Kind::Str,
                "the role builds run as, by ARN: ${build_role.arn}",
            )
        },
        Field {
            default: Some(Default::Str("CODEPIPELINE")),
            ..Field::new(
                "source_type",
                Kind::OneOf(SOURCE_TYPES),
                "where the source comes from: CODEPIPELINE (the pipeline's source artifact), NO_SOURCE, S3...",
            )
        },
        Field::new(
            "source_location",
            Kind::Str,
            "the source's location for S3 and repository sources (none for CODEPIPELINE and NO_SOURCE)",
        ),
        Field::new(
            "buildspec",
            Kind::Str,
            "the buildspec: a path inside the source (buildspecs/backend.yml) or the YAML itself; default buildspec.yml at the source's root",
        ),
        Field {
            default: Some(Default::Str("BUILD_GENERAL1_SMALL")),
            ..Field::new(
                "compute_type",
                Kind::OneOf(COMPUTE_TYPES),
                "the build machine: BUILD_GENERAL1_SMALL (3 GB, 2 vCPUs) to BUILD_GENERAL1_2XLARGE",
            )
        },
        Field {
            default: Some(Default::Str("LINUX_CONTAINER")),
            ..Field::new(
                "environment_type",
                Kind::OneOf(&["LINUX_CONTAINER", "ARM_CONTAINER"]),
                "LINUX_CONTAINER (x86_64) or ARM_CONTAINER (arm64, with an aarch64 image)",
            )
        },
        Field {
            default: Some(Default::Str("aws/codebuild/amazonlinux-x86_64-standard:5.0")),
            ..Field::new("image", Kind::Str, "the build image")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "privileged_mode",
                Kind::Bool,
                "run the Docker daemon (needed to build images)",
            )
        },
        Field::new(
            "environment",
            Kind::Document,
            "plain-text environment variables, a mapping NAME: value (never secrets)",
        ),
        Field::new(
            "log_group",
            Kind::Str,
            "the CloudWatch Logs group builds log to (default /aws/codebuild/<project>)",
        ),
        Field {
            default: Some(Default::Int(60)),
            ..Field::new("build_timeout", Kind::Int, "minutes a build may run: 5 to 2160")
        },
        Field {
            default: Some(Default::Str("CODEPIPELINE")),
            ..Field::new(
                "artifacts_type",
                Kind::OneOf(&["CODEPIPELINE", "NO_ARTIFACTS"]),
                "what the build's artifacts are: CODEPIPELINE (handed to the next stage) or NO_ARTIFACTS",
            )
        },
    ],
    attributes: &["id", "arn", "name"],
};

pub struct Project {
    cb: aws_sdk_codebuild::Client,
}

impl Project {
    pub fn new(c: &Clients) -> Self {
        Project {
            cb: c.codebuild.clone(),
        }
    }
}

/// The declaration as CodeBuild's structures: source, artifacts, environment, logs.
struct Shape {
    source: ProjectSource,
    artifacts: ProjectArtifacts,
    environment: ProjectEnvironment,
    logs: Option<LogsConfig>,
}

fn built<T>(
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, ProviderError> {
    r.map_err(|e| ProviderError::new("CodeBuild request", e.to_string()))
}

/// A value of `environment` as CodeBuild keeps it: a string.
fn env_string(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

fn env_of(props: &Props) -> BTreeMap<String, String> {
    props
        .get("environment")
        .and_then(Value::as_map)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), env_string(v))).collect())
        .unwrap_or_default()
}

fn shape(props: &Props) -> Result<Shape, ProviderError> {
    let s = |f: &str| crate::aws::prop_str(props, f);
    let mut source = ProjectSource::builder().r#type(SourceType::from(s("source_type")));
    if !s("source_location").is_empty() {
        source = source.location(s("source_location"));
    }
    if !s("buildspec").is_empty() {
        source = source.buildspec(s("buildspec"));
    }
    let artifacts = ProjectArtifacts::builder().r#type(ArtifactsType::from(s("artifacts_type")));
    let mut env = ProjectEnvironment::builder()
        .r#type(EnvironmentType::from(s("environment_type")))
        .image(s("image"))
        .compute_type(ComputeType::from(s("compute_type")))
        .privileged_mode(props.get("privileged_mode").and_then(Value::as_bool) == Some(true));
    for (k, v) in env_of(props) {
        env = env.environment_variables(built(
            EnvironmentVariable::builder()
                .name(k)
                .value(v)
                .r#type(EnvironmentVariableType::Plaintext)
                .build(),
        )?);
    }
    let logs = if s("log_group").is_empty() {
        None
    } else {
        Some(
            LogsConfig::builder()
                .cloud_watch_logs(built(
                    CloudWatchLogsConfig::builder()
                        .status(LogsConfigStatusType::Enabled)
                        .group_name(s("log_group"))
                        .build(),
                )?)
                .build(),
        )
    };
    Ok(Shape {
        source: built(source.build())?,
        artifacts: built(artifacts.build())?,
        environment: built(env.build())?,
        logs,
    })
}

fn timeout(props: &Props) -> i32 {
    props
        .get("build_timeout")
        .and_then(Value::as_int)
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(60)
}

/// The project as the engine sees it, if `scope` owns it.
fn to_live(scope: &Scope, p: &SdkProject) -> Option<Live> {
    let owned = crate::aws::owned(scope, tag_map(p.tags()))?;
    Some(project_live(owned, p))
}

fn project_live(owned: Owned, p: &SdkProject) -> Live {
    let mut props = Props::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            props.insert(k.into(), Value::Str(v.to_string()));
        }
    };
    put("service_role", p.service_role());
    if let Some(src) = p.source() {
        put("source_type", Some(src.r#type().as_str()));
        put("source_location", src.location());
        put("buildspec", src.buildspec());
    }
    if let Some(a) = p.artifacts() {
        put("artifacts_type", Some(a.r#type().as_str()));
    }
    if let Some(e) = p.environment() {
        put("environment_type", Some(e.r#type().as_str()));
        put("image", Some(e.image()));
        put("compute_type", Some(e.compute_type().as_str()));
    }
    put(
        "log_group",
        p.logs_config()
            .and_then(|l| l.cloud_watch_logs())
            .and_then(|c| c.group_name()),
    );
    props.insert(
        "description".into(),
        Value::Str(p.description().unwrap_or_default().to_string()),
    );
    if let Some(e) = p.environment() {
        props.insert(
            "privileged_mode".into(),
            Value::Bool(e.privileged_mode() == Some(true)),
        );
        let vars: BTreeMap<String, Value> = e
            .environment_variables()
            .iter()
            .map(|v| (v.name().to_string(), Value::Str(v.value().to_string())))
            .collect();
        if !vars.is_empty() {
            props.insert("environment".into(), Value::Map(vars));
        }
    }
    if let Some(t) = p.timeout_in_minutes() {
        props.insert("build_timeout".into(), Value::Int(i64::from(t)));
    }
    let refs = p.service_role().map(str::to_string).into_iter().collect();
    let name = p.name().unwrap_or_default();
    let created = p.created().and_then(millis);
    live(
        owned.or_created(created),
        name,
        props,
        refs,
        &[
            ("arn", Value::Str(p.arn().unwrap_or_default().to_string())),
            ("name", Value::Str(name.to_string())),
        ],
    )
}

/// AWS refuses a role it cannot assume yet (IAM is eventually consistent: a role just
/// made, or its trust policy just changed): worth waiting for.
fn role_not_ready(e: &ProviderError) -> bool {
    e.code.as_deref() == Some("InvalidInputException")
        && e.message
            .contains("not authorized to perform: sts:AssumeRole")
}

const ROLE_PACE: Pace = Pace {
    first: Duration::from_secs(3),
    max: Duration::from_secs(10),
    say_every: Duration::from_secs(30),
};

#[async_trait]
impl Provider for Project {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let at = |f: &str| r.field_pos.get(f).unwrap_or(&r.pos).clone();
        if let Some(n) = r.props.get("build_timeout").and_then(Value::as_int) {
            if !(5..=2160).contains(&n) {
                out.push(
                    Diagnostic::new(
                        at("build_timeout"),
                        format!("project `{}` has build_timeout {n}: CodeBuild accepts 5 to 2160 minutes", r.addr),
                    )
                    .hint("use a value from 5 to 2160"),
                );
            }
        }
        let s = |f: &str, d: &'static str| {
            r.props
                .get(f)
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| d.to_string())
        };
        let (src, art) = (
            s("source_type", "CODEPIPELINE"),
            s("artifacts_type", "CODEPIPELINE"),
        );
        if (src == "CODEPIPELINE") != (art == "CODEPIPELINE") {
            out.push(
                Diagnostic::new(
                    at("artifacts_type"),
                    format!("project `{}` has source_type {src} and artifacts_type {art}: CodeBuild wants both CODEPIPELINE or neither", r.addr),
                )
                .hint("set both to CODEPIPELINE for a project a pipeline runs"),
            );
        }
        let needs_location = !matches!(src.as_str(), "CODEPIPELINE" | "NO_SOURCE");
        if needs_location && !r.props.contains_key("source_location") {
            out.push(
                Diagnostic::new(
                    at("source_type"),
                    format!(
                        "project `{}` has source_type {src} but no source_location",
                        r.addr
                    ),
                )
                .hint("add source_location (the bucket/key or the repository URL)"),
            );
        }
        if let Some(Value::Map(m)) = r.props.get("environment") {
            for k in m.keys() {
                let upper = k.to_ascii_uppercase();
                if ["PASSWORD", "SECRET", "TOKEN"]
                    .iter()
                    .any(|w| upper.contains(w))
                {
                    out.push(
                        Diagnostic::warning(
                            at("environment"),
                            format!("project `{}` sets {k} in plain text: CodeBuild shows environment variables to anyone who can read the project", r.addr),
                        )
                        .hint("read secrets in the buildspec (env: secrets-manager:) instead"),
                    );
                }
            }
        }
        out
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // ListProjects has no filter: keep the names that start as this stack's, then
        // BatchGetProjects (100 a call) brings each project with its tags.
        let prefix = scope.read_prefix(only);
        let pages: Vec<_> = self
            .cb
            .list_projects()
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListProjects", e))?;
        let names: Vec<String> = pages
            .iter()
            .flat_map(|p| p.projects())
            .filter(|n| n.starts_with(&prefix))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for chunk in names.chunks(100) {
            let got = self
                .cb
                .batch_get_projects()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| error("BatchGetProjects", e))?;
            out.extend(got.projects().iter().filter_map(|p| to_live(scope, p)));
        }
        Ok(out)
    }

    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        // Environment values are strings in CodeBuild: 8080 and "8080" are the same.
        let mut want = desired.clone();
        if let Some(Value::Map(m)) = desired.get("environment") {
            if !desired.get("environment").is_some_and(Value::has_unknown) {
                want.insert(
                    "environment".into(),
                    Value::Map(
                        m.iter()
                            .map(|(k, v)| (k.clone(), Value::Str(env_string(v))))
                            .collect(),
                    ),
                );
            }
        }
        let mut out = default_diff(self.schema(), &want, l);
        // Declared no longer: variables, a buildspec or a log group the project still has.
        out.extend(
            ["environment", "buildspec", "log_group", "source_location"]
                .iter()
                .filter_map(|f| removed(f, desired, l)),
        );
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = req.name();
        let sh = shape(req.props)?;
        let tags: Vec<Tag> = creation_tags(req)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let made = paced(req, "creating", ROLE_PACE, || async {
            let out = self
                .cb
                .create_project()
                .name(&name)
                .description(req.str("description"))
                .source(sh.source.clone())
                .artifacts(sh.artifacts.clone())
                .environment(sh.environment.clone())
                .service_role(req.str("service_role"))
                .timeout_in_minutes(timeout(req.props))
                .set_logs_config(sh.logs.clone())
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(once::<
                    aws_sdk_codebuild::operation::create_project::CreateProjectError,
                >())
                .send()
                .await
                .map_err(|e| error("CreateProject", e));
            match out {
                Ok(o) => Ok(Poll::Ready(o.project.unwrap_or_else(|| {
                    SdkProject::builder().name(&name).build()
                }))),
                Err(e) if role_not_ready(&e) => Ok(Poll::Pending(
                    "waiting for IAM: CodeBuild cannot assume the service role yet".into(),
                )),
                Err(mut e) if e.is_conflict() => {
                    e.message = format!(
                        "{}: a project named {name} exists and this stack does not own it (or another run made it)",
                        e.message
                    );
                    Err(e)
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(project_live(Owned::made(req), &made))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let sh = shape(req.props)?;
        // UpdateProject replaces each structure it is given: send them all. A log group
        // no longer declared goes back to CodeBuild's default group.
        let logs = sh.logs.clone().or_else(|| {
            CloudWatchLogsConfig::builder()
                .status(LogsConfigStatusType::Enabled)
                .build()
                .ok()
                .map(|c| LogsConfig::builder().cloud_watch_logs(c).build())
        });
        let out = self
            .cb
            .update_project()
            .name(&l.id)
            .description(req.str("description"))
            .source(sh.source)
            .artifacts(sh.artifacts)
            .environment(sh.environment)
            .service_role(req.str("service_role"))
            .timeout_in_minutes(timeout(req.props))
            .set_logs_config(logs)
            .customize()
            .config_override(eventually::<
                aws_sdk_codebuild::operation::update_project::UpdateProjectError,
            >())
            .send()
            .await
            .map_err(|e| error("UpdateProject", e))?;
        Ok(match out.project() {
            Some(p) => project_live(Owned::of(l), p),
            None => l.clone(),
        })
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        // CodeBuild has no TagResource: UpdateProject sets the whole list.
        let mut tags = l.tags.clone();
        for k in &delta.remove {
            tags.remove(k);
        }
        tags.extend(delta.set.clone());
        self.cb
            .update_project()
            .name(&l.id)
            .set_tags(Some(tag_list(&tags)))
            .customize()
            .config_override(eventually::<
                aws_sdk_codebuild::operation::update_project::UpdateProjectError,
            >())
            .send()
            .await
            .map_err(|e| error("UpdateProject", e))?;
        Ok(())
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeleteProject",
            self.cb.delete_project().name(&l.id).send().await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_are_strings() {
        let mut p = Props::new();
        p.insert(
            "environment".into(),
            Value::Map(BTreeMap::from([
                ("PORT".to_string(), Value::Int(8080)),
                ("NAME".to_string(), Value::Str("api".into())),
            ])),
        );
        let env = env_of(&p);
        assert_eq!(env.get("PORT").map(String::as_str), Some("8080"));
        assert_eq!(env.get("NAME").map(String::as_str), Some("api"));
    }
}
