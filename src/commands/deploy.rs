//! `deploy`: roll out a service's image tag or a worker's code. A deploy is an apply of
//! the stack with one parameter set to what is rolled out (the tag, the code path),
//! limited to the resources that parameter reaches, under the environment lock; on
//! success the value is written back to the environment file, so that the stack and AWS
//! agree and the next apply plans no rollback. A failure rolls back to what the file
//! says. See docs/deploy.md.

use super::{apply, aws_registry, load, Ctx, Outcome};
use crate::aws::ecr::images::{self, Tagged};
use crate::cli::DeployArgs;
use crate::config::{self, Resource, Stack};
use crate::graph::Dag;
use crate::model::{Addr, TemplatePart, Value};
use crate::plan::Mode;
use crate::provider::Scope;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const SERVICE: &str = "aws_ecs_service";
const TASK_DEFINITION: &str = "aws_ecs_task_definition";
const FUNCTION: &str = "aws_lambda_function";
const REPOSITORY: &str = "aws_ecr_repository";

/// What `apply` needs to carry out a deploy.
pub struct Deploy {
    /// The stack with the parameter set to what is rolled out.
    pub stack: Stack,
    pub graph: Dag<Addr>,
    /// The stack as the environment file says: what a failed deploy goes back to.
    pub baseline: Stack,
    pub baseline_graph: Dag<Addr>,
    /// The resources whose properties use the deployed parameter; `plan::restrict` adds
    /// those that must follow them.
    pub keep: BTreeSet<Addr>,
}

/// What is rolled out, found from the stack before any AWS call.
#[derive(Debug)]
struct Target {
    /// The parameter that carries it.
    param: String,
    /// Its new value, as written to the environment file.
    value: String,
    /// Every resource whose properties use the parameter.
    users: Vec<Addr>,
    /// For an image: the repository it must be in (address), and the tag.
    image: Option<(Option<Addr>, String)>,
}

pub async fn run(ctx: &Ctx, a: &DeployArgs) -> Outcome {
    let Some(env) = ctx.global.env.clone() else {
        eprintln!("error: deploy needs an environment: pass --env NAME (or set BANDUP_ENV).");
        return Ok(ExitCode::from(1));
    };
    let offline = crate::aws::offline_registry();
    let (baseline, baseline_graph) = match load(ctx, &offline) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let target = match find_target(&baseline, &ctx.root, a) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}\nNothing was changed.");
            return Ok(ExitCode::from(1));
        }
    };
    // The stack with the parameter set to what is rolled out.
    let opts = config::LoadOptions {
        root: ctx.root.clone(),
        env: Some(env.clone()),
        stack: ctx.global.stack.clone(),
    };
    let overrides = BTreeMap::from([(target.param.clone(), Value::Str(target.value.clone()))]);
    let (mut stack, diags) = config::load_overriding(&opts, &offline, &overrides);
    if diags.has_errors() {
        eprint!(
            "{}",
            crate::ui::diagnostics::render(&diags.sorted(), ctx.style)
        );
        eprintln!(
            "error: the stack with {} = {:?} is not valid; nothing was changed.",
            target.param, target.value
        );
        return Ok(ExitCode::from(1));
    }
    let graph = match crate::graph::builder::build(&stack) {
        Ok(g) => g,
        Err(d) => anyhow::bail!("{}", d.message),
    };
    let keep: BTreeSet<Addr> = target.users.iter().cloned().collect();
    if a.no_wait {
        for r in stack.resources.iter_mut() {
            if r.type_name == SERVICE && keep.contains(&r.addr) {
                r.props
                    .insert("wait_for_steady_state".into(), Value::Bool(false));
            }
        }
    }
    let users: Vec<String> = keep.iter().map(Addr::to_string).collect();
    let was = match baseline.params.get(&target.param) {
        Some(Value::Str(s)) => format!("{s:?}"),
        _ => "unset".into(),
    };
    println!(
        "Deploying {} = {:?} (was {was}) to {env}: {}, and what must follow.\n",
        target.param,
        target.value,
        users.join(", ")
    );
    let (sdk, _) = aws_registry(ctx, &stack).await?;
    if let Some((Some(repo), tag)) = &target.image {
        let scope = scope_of(&stack);
        let name = crate::aws::ecr::repository::repo_name(&scope.name_for(repo));
        let ecr = aws_sdk_ecr::Client::new(&sdk);
        match images::find_tag(&ecr, &name, tag).await? {
            Tagged::Found => {}
            Tagged::Missing { recent } => {
                let recent = if recent.is_empty() {
                    "it holds no tagged image".to_string()
                } else {
                    format!("its most recent tags: {}", recent.join(", "))
                };
                eprintln!(
                    "error: image tag {tag:?} is not in repository {name} ({repo}): {recent}. \
                     Push the image first. Nothing was changed."
                );
                return Ok(ExitCode::from(1));
            }
            Tagged::NoRepository => {
                eprintln!(
                    "error: repository {name} ({repo}) does not exist in {env}: apply the stack first. Nothing was changed."
                );
                return Ok(ExitCode::from(1));
            }
        }
    }
    let deploy = Deploy {
        stack,
        graph,
        baseline,
        baseline_graph,
        keep,
    };
    let o = apply::Options {
        plan_file: None,
        auto_approve: a.auto_approve,
        json: false,
        lock: &a.lock,
        mode: Mode::Normal,
        deploy: Some(&deploy),
    };
    let code = apply::run(ctx, o).await?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    write_back(ctx, &env, &target)?;
    if target.image.is_none() {
        publish(&sdk, &deploy.stack, &target).await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The parameter a deploy of `a.name` sets, and its new value; every mistake said before
/// anything is sent to AWS.
fn find_target(stack: &Stack, root: &Path, a: &DeployArgs) -> Result<Target, String> {
    match (&a.image, &a.code) {
        (Some(tag), _) => image_target(stack, &a.name, tag),
        (None, Some(path)) => code_target(stack, root, &a.name, path),
        (None, None) => Err("say what to deploy: --image TAG or --code PATH".into()),
    }
}

fn names_of(stack: &Stack, type_name: &str) -> String {
    let names: Vec<&str> = stack
        .resources
        .iter()
        .filter(|r| r.type_name == type_name)
        .map(|r| r.addr.as_str())
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn image_target(stack: &Stack, name: &str, tag: &str) -> Result<Target, String> {
    let services = || names_of(stack, SERVICE);
    let worker =
        |r: &&Resource| r.type_name == FUNCTION && r.addr.as_str().ends_with(&format!("[{name}]"));
    let Some(service) = stack
        .resources
        .iter()
        .find(|r| r.addr.as_str() == name)
        .or_else(|| stack.resources.iter().find(worker))
    else {
        return Err(format!(
            "no service `{name}` in stack {}: the services are {}",
            stack.name,
            services()
        ));
    };
    if service.type_name == FUNCTION {
        return Err(format!(
            "`{name}` is a worker (aws_lambda_function): deploy its code with --code PATH"
        ));
    }
    if service.type_name != SERVICE {
        return Err(format!(
            "`{name}` is an {}, not a service: the services are {}",
            service.type_name,
            services()
        ));
    }
    if !valid_tag(tag) {
        return Err(format!(
            "--image {tag:?} is not an image tag: letters, digits, '_', '.' and '-', starting with a letter, digit or '_', at most 128 characters"
        ));
    }
    let task = service
        .deps
        .iter()
        .filter_map(|d| stack.resource(d))
        .find(|r| r.type_name == TASK_DEFINITION)
        .ok_or_else(|| format!("service `{name}` takes its task definition from no aws_ecs_task_definition of the stack"))?;
    let images = container_images(stack, task);
    let used = task.params.get("containers").cloned().unwrap_or_default();
    // The parameter whose value is the tag some container's image ends with.
    let mut found: Vec<(String, Option<Addr>)> = Vec::new();
    for p in &used {
        let Some(Value::Str(current)) = stack.params.get(p) else {
            continue;
        };
        for (text, repo) in &images {
            if text.ends_with(&format!(":{current}")) {
                found.push((p.clone(), repo.clone()));
            }
        }
    }
    found.dedup_by(|a, b| a.0 == b.0);
    match found.as_slice() {
        [(param, repo)] => Ok(Target {
            param: param.clone(),
            value: tag.to_string(),
            users: users_of(stack, param),
            image: Some((repo.clone(), tag.to_string())),
        }),
        [] => Err(format!(
            "the image of `{}` takes its tag from no parameter, so a deploy could not record it: \
             write it as \"${{<repository>.repository_url}}:${{param.<name>_image_tag}}\" in the stack",
            task.addr
        )),
        more => Err(format!(
            "the image of `{}` could come from any of the parameters {}: give its tag a parameter of its own",
            task.addr,
            more.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Each container's image as text (references as `${...}`), with the repository of the
/// stack it names, if any.
fn container_images(stack: &Stack, task: &Resource) -> Vec<(String, Option<Addr>)> {
    let Some(Value::List(containers)) = task.props.get("containers") else {
        return Vec::new();
    };
    containers
        .iter()
        .filter_map(|c| match c {
            Value::Map(m) => m.get("image"),
            _ => None,
        })
        .map(|image| match image {
            Value::Str(s) => (s.clone(), None),
            Value::Template(t) => {
                let mut text = String::new();
                let mut repo = None;
                for part in &t.parts {
                    match part {
                        TemplatePart::Lit(l) => text.push_str(l),
                        TemplatePart::Ref(r) => {
                            text.push_str("${ref}");
                            let target = r.targets.first().and_then(|t| stack.resource(t));
                            if let Some(t) = target.filter(|t| t.type_name == REPOSITORY) {
                                repo = Some(t.addr.clone());
                            }
                        }
                    }
                }
                (text, repo)
            }
            _ => (String::new(), None),
        })
        .collect()
}

/// An ECR image tag: up to 128 of letters, digits, '_', '.', '-', not starting with '.' or '-'.
fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn code_target(stack: &Stack, root: &Path, name: &str, path: &Path) -> Result<Target, String> {
    let functions: Vec<&Resource> = stack
        .resources
        .iter()
        .filter(|r| r.type_name == FUNCTION)
        .collect();
    let by_key: Vec<&&Resource> = functions
        .iter()
        .filter(|r| r.addr.as_str().ends_with(&format!("[{name}]")))
        .collect();
    let function = match functions.iter().find(|r| r.addr.as_str() == name) {
        Some(f) => *f,
        None if by_key.len() == 1 => by_key[0],
        None => {
            if stack
                .resources
                .iter()
                .any(|r| r.addr.as_str() == name && r.type_name == SERVICE)
            {
                return Err(format!(
                    "`{name}` is a service: deploy an image with --image TAG"
                ));
            }
            return Err(format!(
                "no worker `{name}` in stack {}: the workers are {}{}",
                stack.name,
                names_of(stack, FUNCTION),
                if by_key.len() > 1 {
                    " (name one by its address)"
                } else {
                    ""
                }
            ));
        }
    };
    let params: Vec<&String> = function
        .params
        .get("code")
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let [param] = params.as_slice() else {
        return Err(format!(
            "the code of `{}` is written in the stack, not taken from a parameter, so a deploy could not record it: write `code: ${{param.<name>}}`",
            function.addr
        ));
    };
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?
            .join(path)
    };
    let meta = std::fs::metadata(&full).map_err(|e| format!("--code {}: {e}", path.display()))?;
    if !(meta.is_dir() || full.extension().is_some_and(|x| x == "zip")) {
        return Err(format!(
            "--code {}: a worker's code is a directory (packaged as a zip) or a .zip file",
            path.display()
        ));
    }
    // Written relative to the project when it is inside it, as the stack's paths are.
    let full = full.canonicalize().unwrap_or(full);
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let value = match full.strip_prefix(&root) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => full.to_string_lossy().into_owned(),
    };
    Ok(Target {
        param: (*param).clone(),
        value,
        users: users_of(stack, param),
        image: None,
    })
}

/// Every resource whose properties use parameter `p`.
fn users_of(stack: &Stack, p: &str) -> Vec<Addr> {
    stack
        .resources
        .iter()
        .filter(|r| r.params.values().any(|ps| ps.contains(p)))
        .map(|r| r.addr.clone())
        .collect()
}

fn scope_of(stack: &Stack) -> Scope {
    Scope {
        stack: stack.name.clone(),
        env: stack.env.clone(),
        ..Default::default()
    }
}

/// Record what was rolled out in the environment file, so the stack says what runs.
fn write_back(ctx: &Ctx, env: &str, target: &Target) -> anyhow::Result<()> {
    let rel = PathBuf::from("environments").join(format!("{env}.yaml"));
    let path = ctx.root.join(&rel);
    let text = std::fs::read_to_string(&path)?;
    let file = rel.display().to_string();
    let edited = config::edit::set_parameter(&file, &text, &target.param, &target.value)
        .map_err(anyhow::Error::msg)?;
    if edited == text {
        return Ok(());
    }
    let tmp = path.with_extension("yaml.tmp");
    std::fs::write(&tmp, &edited)?;
    std::fs::rename(&tmp, &path)?;
    println!(
        "\n{file}: {} = {:?}. Commit this change: the stack now says what runs, and the next apply keeps it.",
        target.param, target.value
    );
    Ok(())
}

/// Publish a version of each function whose code was rolled out.
async fn publish(sdk: &aws_types::SdkConfig, stack: &Stack, target: &Target) -> anyhow::Result<()> {
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let scope = scope_of(stack);
    for addr in &target.users {
        let Some(r) = stack.resource(addr).filter(|r| r.type_name == FUNCTION) else {
            continue;
        };
        let Some(sha) = r
            .props
            .get("code")
            .and_then(Value::as_map)
            .and_then(|m| m.get("sha256"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let name = scope.name_for(addr);
        let description = format!("{} = {}", target.param, target.value);
        let version =
            crate::aws::lambda::version::publish(&lambda, &name, sha, &description).await?;
        println!("{addr}: version {version} published");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_tag;

    #[test]
    fn image_tags_follow_ecrs_rule() {
        for ok in ["2026.12.01-1", "v1", "_x", "a".repeat(128).as_str()] {
            assert!(valid_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a/b",
            "a:b",
            "a b",
            "a".repeat(129).as_str(),
        ] {
            assert!(!valid_tag(bad), "{bad}");
        }
    }
}
