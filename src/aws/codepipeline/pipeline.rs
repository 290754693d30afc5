//! `aws_codepipeline`: one app's pipeline (type V2): Source (a CodeConnections
//! repository and branch), Build (a CodeBuild project: SourceOutput in, BuildOutput
//! out), Deploy (an ECS rolling deploy of the image named in the build's
//! imagedefinitions.json), with its role and its artifact bucket (encrypted: with the
//! declared KMS key, else the AWS-managed aws/s3 key CodePipeline uses by default).
//! Changed in place by UpdatePipeline with the whole declaration.

use super::{deleted, error, eventually, list_tags, once, retag, tags};
use crate::aws::wait::{paced, Pace, Poll};
use crate::aws::{live, tag_index, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, InputArtifact, OutputArtifact, PipelineDeclaration,
    PipelineType, StageDeclaration,
};
use futures_util::future::join_all;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

static SOURCE: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "connection_arn",
            Kind::Str,
            "the repository connection: ${github.arn}",
        )
    },
    Field {
        required: true,
        ..Field::new("repository", Kind::Str, "the repository, owner/name")
    },
    Field {
        default: Some(Default::Str("main")),
        ..Field::new(
            "branch",
            Kind::Str,
            "the branch whose commits start the pipeline",
        )
    },
    Field {
        default: Some(Default::Bool(true)),
        ..Field::new(
            "detect_changes",
            Kind::Bool,
            "start on every push to the branch (false: only when started by hand)",
        )
    },
];

static BUILD: &[Field] = &[Field {
    required: true,
    ..Field::new(
        "project",
        Kind::Str,
        "the CodeBuild project, by name: ${backend_build.name}",
    )
}];

static DEPLOY: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "cluster",
            Kind::Str,
            "the ECS cluster, by name: ${cluster.name}",
        )
    },
    Field {
        required: true,
        ..Field::new(
            "service",
            Kind::Str,
            "the ECS service, by name: ${backend_service.name}",
        )
    },
    Field {
        default: Some(Default::Str("imagedefinitions.json")),
        ..Field::new(
            "file",
            Kind::Str,
            "the build's file naming the image per container ([{name, imageUri}])",
        )
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_codepipeline",
    doc: "An app's pipeline (V2): source connection, CodeBuild build, ECS rolling deploy; changed in place.",
    fields: &[
        Field {
            required: true,
            ..Field::new(
                "role",
                Kind::Str,
                "the role the pipeline runs as, by ARN (trusting codepipeline.amazonaws.com)",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "artifact_bucket",
                Kind::Str,
                "the S3 bucket, by name, that holds what passes between stages",
            )
        },
        Field::new(
            "artifact_kms_key",
            Kind::Str,
            "the KMS key (ARN) the artifacts are encrypted with (default: the AWS-managed aws/s3 key)",
        ),
        Field {
            required: true,
            ..Field::new("source", Kind::Object(SOURCE), "where the code comes from")
        },
        Field {
            required: true,
            ..Field::new("build", Kind::Object(BUILD), "the build stage")
        },
        Field {
            required: true,
            ..Field::new("deploy", Kind::Object(DEPLOY), "the ECS rolling deploy")
        },
    ],
    attributes: &["id", "arn", "name"],
};

const SOURCE_OUTPUT: &str = "SourceOutput";
const BUILD_OUTPUT: &str = "BuildOutput";

pub struct Pipeline {
    cp: aws_sdk_codepipeline::Client,
    tagging: aws_sdk_resourcegroupstagging::Client,
}

impl Pipeline {
    pub fn new(c: &Clients) -> Self {
        Pipeline {
            cp: c.codepipeline.clone(),
            tagging: c.tagging.clone(),
        }
    }

    /// The pipeline `name` as a `Live`, if `scope` owns it (None when it is gone).
    async fn describe(&self, scope: &Scope, name: &str) -> Result<Option<Live>, ProviderError> {
        let got = match self
            .cp
            .get_pipeline()
            .name(name)
            .send()
            .await
            .map_err(|e| error("GetPipeline", e))
        {
            Ok(g) => g,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(p) = got.pipeline() else {
            return Ok(None);
        };
        let arn = got
            .metadata()
            .and_then(|m| m.pipeline_arn())
            .unwrap_or_default()
            .to_string();
        let direct = list_tags(&self.cp, &arn);
        let tags = match tag_index::tags(&self.tagging, scope, Some(&arn), direct).await {
            Ok(t) => t,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let created = got
            .metadata()
            .and_then(|m| m.created())
            .and_then(crate::aws::millis);
        Ok(crate::aws::owned(scope, tags).map(|o| to_live(o.or_created(created), p, &arn)))
    }
}

fn built<T>(
    r: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, ProviderError> {
    r.map_err(|e| ProviderError::new("CodePipeline request", e.to_string()))
}

fn sub<'a>(props: &'a Props, obj: &str, field: &str) -> &'a str {
    props
        .get(obj)
        .and_then(Value::as_map)
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn sub_bool(props: &Props, obj: &str, field: &str, default: bool) -> bool {
    props
        .get(obj)
        .and_then(Value::as_map)
        .and_then(|m| m.get(field))
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

fn action(
    name: &str,
    category: ActionCategory,
    provider: &str,
    config: &[(&str, String)],
    input: Option<&str>,
    output: Option<&str>,
) -> Result<ActionDeclaration, ProviderError> {
    let mut a = ActionDeclaration::builder()
        .name(name)
        .action_type_id(built(
            ActionTypeId::builder()
                .category(category)
                .owner(ActionOwner::Aws)
                .provider(provider)
                .version("1")
                .build(),
        )?)
        .run_order(1)
        .set_configuration(Some(
            config
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect::<HashMap<_, _>>(),
        ));
    if let Some(i) = input {
        a = a.input_artifacts(built(InputArtifact::builder().name(i).build())?);
    }
    if let Some(o) = output {
        a = a.output_artifacts(built(OutputArtifact::builder().name(o).build())?);
    }
    built(a.build())
}

fn stage(name: &str, a: ActionDeclaration) -> Result<StageDeclaration, ProviderError> {
    built(StageDeclaration::builder().name(name).actions(a).build())
}

/// The whole declaration AWS takes, from the stack's fields.
fn declaration(name: &str, props: &Props) -> Result<PipelineDeclaration, ProviderError> {
    let s = |f: &str| crate::aws::prop_str(props, f);
    let mut store = ArtifactStore::builder()
        .r#type(ArtifactStoreType::S3)
        .location(s("artifact_bucket"));
    if !s("artifact_kms_key").is_empty() {
        store = store.encryption_key(built(
            EncryptionKey::builder()
                .id(s("artifact_kms_key"))
                .r#type(EncryptionKeyType::Kms)
                .build(),
        )?);
    }
    let source = action(
        "Source",
        ActionCategory::Source,
        "CodeStarSourceConnection",
        &[
            (
                "ConnectionArn",
                sub(props, "source", "connection_arn").into(),
            ),
            (
                "FullRepositoryId",
                sub(props, "source", "repository").into(),
            ),
            ("BranchName", sub(props, "source", "branch").into()),
            ("OutputArtifactFormat", "CODE_ZIP".into()),
            (
                "DetectChanges",
                sub_bool(props, "source", "detect_changes", true).to_string(),
            ),
        ],
        None,
        Some(SOURCE_OUTPUT),
    )?;
    let build = action(
        "Build",
        ActionCategory::Build,
        "CodeBuild",
        &[("ProjectName", sub(props, "build", "project").into())],
        Some(SOURCE_OUTPUT),
        Some(BUILD_OUTPUT),
    )?;
    let deploy = action(
        "Deploy",
        ActionCategory::Deploy,
        "ECS",
        &[
            ("ClusterName", sub(props, "deploy", "cluster").into()),
            ("ServiceName", sub(props, "deploy", "service").into()),
            ("FileName", sub(props, "deploy", "file").into()),
        ],
        Some(BUILD_OUTPUT),
        None,
    )?;
    built(
        PipelineDeclaration::builder()
            .name(name)
            .role_arn(s("role"))
            .artifact_store(built(store.build())?)
            .pipeline_type(PipelineType::V2)
            .stages(stage("Source", source)?)
            .stages(stage("Build", build)?)
            .stages(stage("Deploy", deploy)?)
            .build(),
    )
}

/// The configuration of the first action of `category`.
fn config_of<'a>(
    p: &'a PipelineDeclaration,
    category: &ActionCategory,
) -> Option<&'a HashMap<String, String>> {
    p.stages()
        .iter()
        .flat_map(|s| s.actions())
        .find(|a| a.action_type_id().map(|t| t.category()) == Some(category))
        .and_then(|a| a.configuration())
}

fn to_live(owned: Owned, p: &PipelineDeclaration, arn: &str) -> Live {
    let mut props = Props::new();
    props.insert("role".into(), Value::Str(p.role_arn().to_string()));
    let mut refs = vec![p.role_arn().to_string()];
    if let Some(store) = p.artifact_store() {
        props.insert(
            "artifact_bucket".into(),
            Value::Str(store.location().to_string()),
        );
        refs.push(store.location().to_string());
        if let Some(k) = store.encryption_key() {
            props.insert("artifact_kms_key".into(), Value::Str(k.id().to_string()));
            refs.push(k.id().to_string());
        }
    }
    let mut obj = |field: &str, category: ActionCategory, keys: &[(&str, &str)]| {
        let Some(c) = config_of(p, &category) else {
            return;
        };
        let mut m = BTreeMap::new();
        for (ours, theirs) in keys {
            if let Some(v) = c.get(*theirs) {
                let v = match (*ours, v.as_str()) {
                    ("detect_changes", b) => Value::Bool(b != "false"),
                    (_, s) => {
                        refs.push(s.to_string());
                        Value::Str(s.to_string())
                    }
                };
                m.insert((*ours).to_string(), v);
            }
        }
        if field == "source" && !m.contains_key("detect_changes") {
            m.insert("detect_changes".into(), Value::Bool(true));
        }
        props.insert(field.into(), Value::Map(m));
    };
    obj(
        "source",
        ActionCategory::Source,
        &[
            ("connection_arn", "ConnectionArn"),
            ("repository", "FullRepositoryId"),
            ("branch", "BranchName"),
            ("detect_changes", "DetectChanges"),
        ],
    );
    obj(
        "build",
        ActionCategory::Build,
        &[("project", "ProjectName")],
    );
    obj(
        "deploy",
        ActionCategory::Deploy,
        &[
            ("cluster", "ClusterName"),
            ("service", "ServiceName"),
            ("file", "FileName"),
        ],
    );
    live(
        owned,
        p.name(),
        props,
        refs,
        &[
            ("arn", Value::Str(arn.to_string())),
            ("name", Value::Str(p.name().to_string())),
        ],
    )
}

/// AWS refuses a role it cannot assume yet (IAM is eventually consistent).
fn role_not_ready(e: &ProviderError) -> bool {
    e.code.as_deref() == Some("InvalidStructureException")
        && e.message.contains("not authorized to perform AssumeRole")
}

const ROLE_PACE: Pace = Pace {
    first: Duration::from_secs(3),
    max: Duration::from_secs(10),
    say_every: Duration::from_secs(30),
};

#[async_trait]
impl Provider for Pipeline {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    /// The build stage's project, when the stack declares it, must take its source from
    /// the pipeline and hand its artifacts back (CodeBuild refuses the build otherwise,
    /// and only when the pipeline first runs).
    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let Some(Value::Ref(x)) = r
            .props
            .get("build")
            .and_then(Value::as_map)
            .and_then(|m| m.get("project"))
        else {
            return Vec::new();
        };
        let Some(target) = x.targets.first().and_then(|a| stack.resource(a)) else {
            return Vec::new();
        };
        if target.type_name != crate::aws::codebuild::project::SCHEMA.type_name {
            return Vec::new();
        }
        let kind = |f: &str| {
            target
                .props
                .get(f)
                .and_then(Value::as_str)
                .unwrap_or("CODEPIPELINE")
                .to_string()
        };
        let (src, art) = (kind("source_type"), kind("artifacts_type"));
        if src == "CODEPIPELINE" && art == "CODEPIPELINE" {
            return Vec::new();
        }
        vec![Diagnostic::new(
            r.field_pos.get("build").unwrap_or(&r.pos).clone(),
            format!(
                "pipeline `{}` builds with project `{}`, whose source_type is {src} and artifacts_type {art}: a pipeline's build project takes both from the pipeline",
                r.addr, target.addr
            ),
        )
        .hint(format!(
            "set source_type and artifacts_type of `{}` to CODEPIPELINE (the defaults)",
            target.addr
        ))]
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        // ListPipelines has no filter and no tags: only pipelines named as this stack's
        // get GetPipeline and ListTagsForResource, concurrently.
        let prefix = scope.read_prefix(only);
        let pages: Vec<_> = self
            .cp
            .list_pipelines()
            .into_paginator()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("ListPipelines", e))?;
        let names: Vec<&str> = pages
            .iter()
            .flat_map(|p| p.pipelines())
            .filter_map(|p| p.name())
            .filter(|n| n.starts_with(&prefix))
            .collect();
        let found = join_all(names.iter().map(|n| self.describe(scope, n))).await;
        let mut out = Vec::new();
        for l in found {
            out.extend(l?);
        }
        Ok(out)
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let name = req.name();
        let decl = declaration(&name, req.props)?;
        let tags = tags(req)?;
        let out = paced(req, "creating", ROLE_PACE, || async {
            let out = self
                .cp
                .create_pipeline()
                .pipeline(decl.clone())
                .set_tags(Some(tags.clone()))
                .customize()
                .config_override(once::<
                    aws_sdk_codepipeline::operation::create_pipeline::CreatePipelineError,
                >())
                .send()
                .await
                .map_err(|e| error("CreatePipeline", e));
            match out {
                Ok(o) => Ok(Poll::Ready(o)),
                Err(e) if role_not_ready(&e) => Ok(Poll::Pending(
                    "waiting for IAM: CodePipeline cannot assume the pipeline role yet".into(),
                )),
                Err(e) => Err(e),
            }
        })
        .await?;
        let made = out.pipeline().cloned().unwrap_or(decl);
        // CreatePipeline answers without the ARN: GetPipeline has it.
        let arn = match self.describe(req.scope, &name).await? {
            Some(l) => l
                .outputs
                .get("arn")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            None => String::new(),
        };
        Ok(to_live(Owned::made(req), &made, &arn))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let decl = declaration(&l.id, req.props)?;
        let out = self
            .cp
            .update_pipeline()
            .pipeline(decl.clone())
            .customize()
            .config_override(eventually::<
                aws_sdk_codepipeline::operation::update_pipeline::UpdatePipelineError,
            >())
            .send()
            .await
            .map_err(|e| error("UpdatePipeline", e))?;
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(to_live(Owned::of(l), out.pipeline().unwrap_or(&decl), arn))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        let arn = l
            .outputs
            .get("arn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        retag(&self.cp, arn, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        deleted(
            "DeletePipeline",
            self.cp.delete_pipeline().name(&l.id).send().await,
        )
    }
}
