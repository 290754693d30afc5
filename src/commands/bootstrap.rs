//! `bootstrap`: write a new environment's file and create its foundation in AWS: the
//! checks that need no AWS call, the account guard (STS), the file (derived from
//! `--from`'s, checked by loading it, kept only when valid), then the state bucket, the
//! CI role and API Gateway's logging role, one line per step. The text work is
//! `config::new_env`; the AWS work is `aws::state_bucket::bootstrap`, `aws::iam::ci_role`
//! and `aws::apigateway::account`.

use super::{Ctx, Outcome};
use crate::aws::apigateway::account;
use crate::aws::iam::ci_role;
use crate::aws::state_bucket::bootstrap::{self as bucket, Outcome as Step};
use crate::aws::state_bucket::Caller;
use crate::cli::BootstrapArgs;
use crate::config::new_env::{self, Derivation};
use crate::config::{self, Diagnostics, LoadOptions, Stack};
use crate::provider::Registry;
use crate::ui;
use ipnet::Ipv4Net;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The environment copied with `--from`.
struct Source {
    env: String,
    file: String,
    text: String,
    stack: Stack,
    /// Its VPC ranges, each once.
    ranges: Vec<Ipv4Net>,
}

/// The environment file as it stands before AWS is asked anything.
enum EnvFile {
    /// Already there: kept if its settings match this run's.
    Existing { text: String, stack: Box<Stack> },
    /// To be written, for the stack named `stack`.
    New { stack: String },
}

pub async fn run(ctx: &Ctx, a: &BootstrapArgs) -> Outcome {
    // 1. What needs no AWS call.
    let Some(env) = ctx.global.env.clone() else {
        anyhow::bail!(
            "bootstrap needs --env NAME: the new environment's name (environments/NAME.yaml is written). Nothing was done."
        );
    };
    let Some(region) = ctx.global.region.clone() else {
        anyhow::bail!(
            "bootstrap needs --region, the region of the new environment `{env}` (such as eu-west-1): it is written into environments/{env}.yaml, so it is never taken from AWS_REGION or a profile. Nothing was done."
        );
    };
    new_env::check_region(&region).map_err(|e| anyhow::anyhow!("--region: {e}"))?;
    if a.from.as_deref() == Some(env.as_str()) {
        anyhow::bail!("--from {env} names the environment being bootstrapped: copy another one");
    }
    let types = crate::aws::offline_registry();
    let file = format!("environments/{env}.yaml");
    let path = ctx.root.join(&file);
    let source = match &a.from {
        Some(from) => match load_source(ctx, from, &types)? {
            Ok(s) => Some(s),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    let existing = path.exists();
    let env_file = if existing {
        match load_env(ctx, &env, &types) {
            (stack, diags) if !diags.has_errors() => EnvFile::Existing {
                text: read(&path)?,
                stack: Box::new(stack),
            },
            (_, diags) => {
                eprint!("{}", ui::diagnostics::render(&diags.sorted(), ctx.style));
                eprintln!(
                    "error: {file} exists and has the problems above: the name `{env}` is taken. Fix the file, or bootstrap another name. Nothing was done in AWS."
                );
                return Ok(ExitCode::from(1));
            }
        }
    } else {
        let stack = match &source {
            Some(s) => s.stack.name.clone(),
            None => stack_name(&stack_path(ctx))?,
        };
        EnvFile::New { stack }
    };
    let stack_name = match &env_file {
        EnvFile::Existing { stack, .. } => stack.name.clone(),
        EnvFile::New { stack } => stack.clone(),
    };
    if let Some(b) = &a.state_bucket {
        new_env::check_state_bucket(b, &stack_name, &env)
            .map_err(|e| anyhow::anyhow!("--state-bucket: {e}"))?;
    }
    // The other environments' VPC ranges, when a range is to be chosen or checked.
    let (others, unknown) = if source.is_some() || a.vpc_cidr.is_some() {
        new_env::env_ranges(&ctx.root, &types, &env)
    } else {
        (Vec::new(), Vec::new())
    };
    for (other, problem) in &unknown {
        eprintln!(
            "note: the VPC ranges of environment `{other}` are not known, its file does not load ({problem}): they are not avoided."
        );
    }
    let moves = match (&env_file, &source) {
        (EnvFile::New { .. }, Some(s)) => {
            new_env::moves(&s.file, &s.ranges, a.vpc_cidr, &others).map_err(anyhow::Error::msg)?
        }
        _ => Vec::new(),
    };
    if let (Some(want), EnvFile::Existing { .. }) = (a.vpc_cidr, &env_file) {
        new_env::check_free(&want, &others, want.prefix_len()).map_err(anyhow::Error::msg)?;
    }

    // 2. Whose credentials: before anything is written or created.
    let target = crate::aws::Target {
        region: Some(region.clone()),
        endpoint_url: ctx.global.endpoint_url.clone(),
        profile: ctx.global.profile.clone(),
    };
    let sdk = crate::aws::sdk_config(&target)
        .await
        .map_err(anyhow::Error::msg)?;
    let caller = Caller::identify(&sdk).await?;
    if let Some(want) = &a.account_id {
        if *want != caller.account {
            eprintln!(
                "error: --account-id {want}, but the credentials in use are for account {}: nothing was written or created. Switch credentials (--profile, AWS_PROFILE) to account {want}, or leave out --account-id.",
                caller.account
            );
            return Ok(ExitCode::from(1));
        }
    }
    let account = caller.account.clone();
    let state_bucket = match &a.state_bucket {
        Some(b) => b.clone(),
        None => {
            let b = new_env::state_bucket_name(&stack_name, &env, &account);
            new_env::check_state_bucket(&b, &stack_name, &env)
                .map_err(|e| anyhow::anyhow!("{e}: name the state bucket with --state-bucket"))?;
            b
        }
    };

    if let EnvFile::Existing { text, stack } = &env_file {
        let differences = differences(&file, text, stack, &region, &account, &state_bucket, a)?;
        if !differences.is_empty() {
            eprintln!(
                "error: {file} already exists with other settings than this run's, so the name `{env}` is taken:\n{}\nNothing was written or created. Bootstrap another name, or run again with the file's settings.",
                differences.join("\n")
            );
            return Ok(ExitCode::from(1));
        }
    }

    // What is in AWS already, read only: a bucket or role that is not ours is refused
    // before the file is written.
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let bucket_spec = bucket::Spec {
        bucket: &state_bucket,
        region: &region,
        account: &account,
        stack: &stack_name,
        env: &env,
    };
    let role_spec = ci_role::Spec {
        stack: &stack_name,
        env: &env,
        account: &account,
        region: &region,
        state_bucket: &state_bucket,
    };
    let found_bucket = bucket::inspect(&s3, &bucket_spec)
        .await
        .map_err(|e| nothing_done(&file, existing, e))?;
    let found_role = ci_role::inspect(&iam, &role_spec)
        .await
        .map_err(|e| nothing_done(&file, existing, e))?;
    let apigw = aws_sdk_apigateway::Client::new(&sdk);
    let logs_role = account::current(&apigw)
        .await
        .map_err(|e| nothing_done(&file, existing, e))?;

    // 3. The environment file.
    let mut report = String::new();
    let mut changed = false;
    match &env_file {
        EnvFile::Existing { .. } => {
            let _ = writeln!(report, "{file}: unchanged");
        }
        EnvFile::New { .. } => {
            let text = match &source {
                Some(s) => {
                    let d = Derivation {
                        source_env: &s.env,
                        source_region: s.stack.region.as_deref(),
                        env: &env,
                        region: &region,
                        account_id: &account,
                        state_bucket: &state_bucket,
                        vpcs: &moves,
                    };
                    new_env::derive(&s.file, &s.text, &d).map_err(anyhow::Error::msg)?
                }
                None => new_env::fresh(
                    &env,
                    &relative(&ctx.root, &stack_path(ctx)),
                    &region,
                    &account,
                    &state_bucket,
                ),
            };
            let settings = format!(
                "region: {region}, account_id: \"{account}\", state_bucket: {state_bucket}"
            );
            let fresh = source.is_none().then_some(settings.as_str());
            if let Some(code) = write_checked(ctx, &env, &path, &text, &types, fresh)? {
                return Ok(code);
            }
            changed = true;
            let _ = writeln!(
                report,
                "{file}: written{}",
                what_written(&source, &region, &moves, &account, &state_bucket)
            );
            if let Some(s) = &source {
                for (line, text) in new_env::review_lines(&text, &s.env) {
                    let _ = writeln!(
                        report,
                        "review: {file}:{line} still names {}: {text}",
                        s.env
                    );
                }
            }
        }
    }
    super::emit(&report)?;

    // 4. The state bucket.
    let outcome = bucket::ensure(&s3, &bucket_spec, found_bucket)
        .await
        .map_err(|e| unfinished(&file, existing, e))?;
    changed |= outcome.changed();
    let detail = match outcome {
        Step::Created => format!(
            " (in {region}: public access blocked, SSE-S3 with a bucket key, versioning, tag {}={stack_name}/{env})",
            bucket::TAG_STATE_OF
        ),
        _ => String::new(),
    };
    super::emit(&format!("state bucket {state_bucket}: {outcome}{detail}\n"))?;

    // 5. The CI role and its policies.
    let steps = ci_role::ensure(&iam, &role_spec, found_role)
        .await
        .map_err(|e| unfinished(&file, existing, e))?;
    let mut lines = String::new();
    for (what, outcome) in &steps {
        changed |= outcome.changed();
        let detail = match (outcome, what.starts_with("CI role")) {
            (Step::Created, true) => format!(
                " (path {}, trusted by {}, both policies attached)",
                role_spec.path(),
                ci_role::TRUSTED_SERVICE
            ),
            _ => String::new(),
        };
        let _ = writeln!(lines, "{what}: {outcome}{detail}");
    }
    super::emit(&lines)?;

    // 6. The account's CloudWatch Logs role for API Gateway (per region), if none is set.
    let spec = account::Spec {
        stack: &stack_name,
        region: &region,
    };
    let outcome = account::ensure(&apigw, &iam, &spec, logs_role.as_deref())
        .await
        .map_err(|e| unfinished(&file, existing, e))?;
    changed |= outcome.changed();
    let detail = match (&outcome, &logs_role) {
        (Step::Unchanged, Some(arn)) => format!(" ({arn})"),
        _ => String::new(),
    };
    super::emit(&format!(
        "API Gateway CloudWatch Logs role in {region}: {outcome}{detail}\n"
    ))?;

    let review = if existing {
        String::new()
    } else {
        format!("review {file}, then ")
    };
    super::emit(&if changed {
        format!("Environment {env} is bootstrapped. Next: {review}bandup-infra plan --env {env}.\n")
    } else {
        format!("Nothing changed: environment {env} was already bootstrapped.\n")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What is in AWS stands in the way: nothing was written or created.
fn nothing_done(file: &str, existed: bool, e: crate::provider::ProviderError) -> anyhow::Error {
    let kept = if existed {
        format!(" ({file} is left as it is)")
    } else {
        String::new()
    };
    anyhow::anyhow!("{e}\nNothing was written or created{kept}.")
}

/// An AWS step failed after the file was written or kept: say what is done.
fn unfinished(file: &str, existed: bool, e: crate::provider::ProviderError) -> anyhow::Error {
    let state = if existed { "was kept" } else { "is written" };
    anyhow::anyhow!("{e}\n{file} {state}; run the same bootstrap again once this is fixed: it finishes what is missing and changes nothing else.")
}

/// `--from`'s environment, loaded: it must be valid, since the new file is its copy.
fn load_source(
    ctx: &Ctx,
    from: &str,
    types: &Registry,
) -> anyhow::Result<Result<Source, ExitCode>> {
    let file = format!("environments/{from}.yaml");
    let path = ctx.root.join(&file);
    if !path.exists() {
        let known = new_env::environments(&ctx.root);
        anyhow::bail!(
            "--from {from}: {file} does not exist (environments: {}). Nothing was done.",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    let (stack, diags) = load_env(ctx, from, types);
    if diags.has_errors() {
        eprint!("{}", ui::diagnostics::render(&diags.sorted(), ctx.style));
        eprintln!("error: --from {from}: {file} has the problems above; bootstrap copies it, so fix it first. Nothing was done.");
        return Ok(Err(ExitCode::from(1)));
    }
    let text = read(&path)?;
    let ranges = new_env::vpc_nets(&stack);
    Ok(Ok(Source {
        env: from.to_string(),
        file,
        text,
        stack,
        ranges,
    }))
}

fn load_env(ctx: &Ctx, env: &str, types: &Registry) -> (Stack, Diagnostics) {
    let opts = LoadOptions {
        root: ctx.root.clone(),
        env: Some(env.to_string()),
        stack: ctx.global.stack.clone(),
    };
    let (stack, mut diags) = config::load(&opts, types);
    if let Err(d) = crate::graph::builder::build(&stack) {
        diags.push(d);
    }
    (stack, diags)
}

/// How an existing environment file differs from what this run would write, one line
/// each.
fn differences(
    file: &str,
    text: &str,
    stack: &Stack,
    region: &str,
    account: &str,
    state_bucket: &str,
    a: &BootstrapArgs,
) -> anyhow::Result<Vec<String>> {
    let have = new_env::settings(file, text).map_err(anyhow::Error::msg)?;
    let want = new_env::Settings {
        region: Some(region.to_string()),
        account_id: Some(account.to_string()),
        state_bucket: Some(state_bucket.to_string()),
    };
    let mut out: Vec<String> = have
        .differences(&want)
        .into_iter()
        .map(|(key, had, would)| {
            let how = match (key, had) {
                ("account_id", None) => format!(
                    " (add `account_id: \"{account}\"` to the file to bootstrap the environment it describes)"
                ),
                ("account_id", _) if a.account_id.is_none() => {
                    " (the credentials' account)".to_string()
                }
                ("state_bucket", Some(b)) if a.state_bucket.is_none() => {
                    format!(" (pass --state-bucket {b} to use the file's)")
                }
                _ => String::new(),
            };
            format!(
                "  {key}: the file has {}, this run would write {}{how}",
                had.unwrap_or("none"),
                would.unwrap_or("none")
            )
        })
        .collect();
    if let Some(want) = a.vpc_cidr {
        let ranges = new_env::vpc_nets(stack);
        if !ranges.contains(&want) {
            let have: Vec<String> = ranges.iter().map(ToString::to_string).collect();
            out.push(format!(
                "  VPC range: the file has {}, --vpc-cidr says {want}",
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            ));
        }
    }
    Ok(out)
}

/// Write the new file (never over one that appeared meanwhile), load it with every
/// check, and keep it only if it is valid. `Some(code)` when it was not kept.
fn write_checked(
    ctx: &Ctx,
    env: &str,
    path: &Path,
    text: &str,
    types: &Registry,
    fresh: Option<&str>,
) -> anyhow::Result<Option<ExitCode>> {
    let file = format!("environments/{env}.yaml");
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {file}: {e}"))?;
    if let Err(e) = f.write_all(text.as_bytes()).and_then(|()| f.sync_all()) {
        let _ = std::fs::remove_file(path);
        anyhow::bail!("cannot write {file}: {e}");
    }
    drop(f);
    let (_, diags) = load_env(ctx, env, types);
    let diags = diags.sorted();
    if !diags.is_empty() {
        eprint!("{}", ui::diagnostics::render(&diags, ctx.style));
    }
    if !diags.has_errors() {
        return Ok(None);
    }
    let _ = std::fs::remove_file(path);
    let missing = diags.items.iter().any(|d| {
        d.is_error()
            && d.message
                .contains("has no default and the environment does not set it")
    });
    let hint = match fresh.filter(|_| missing) {
        Some(settings) => {
            let known = new_env::environments(&ctx.root);
            format!(
                "\nThe stack's parameters are not set: pass --from ENV to copy another environment's{}. Or write {file} yourself, with the parameters and {settings}, and run bootstrap again: it keeps a file whose settings match and creates the rest.",
                if known.is_empty() { String::new() } else { format!(" ({})", known.join(", ")) }
            )
        }
        None => String::new(),
    };
    eprintln!("error: the new {file} has the problems above, so it was not kept and nothing was created in AWS.{hint}");
    Ok(Some(ExitCode::from(1)))
}

fn what_written(
    source: &Option<Source>,
    region: &str,
    moves: &[(Ipv4Net, Ipv4Net)],
    account: &str,
    state_bucket: &str,
) -> String {
    let vpc: Vec<String> = moves
        .iter()
        .map(|(f, t)| format!("VPC {f} -> {t}"))
        .collect();
    let from = match source {
        Some(s) => format!(" from {}", s.file),
        None => String::new(),
    };
    let mut parts = vec![format!("region {region}")];
    parts.extend(vpc);
    parts.push(format!("account {account}"));
    parts.push(format!("state bucket {state_bucket}"));
    format!("{from} ({})", parts.join(", "))
}

/// `--stack`, else `stacks/bandup.yaml` of the project.
fn stack_path(ctx: &Ctx) -> PathBuf {
    match &ctx.global.stack {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => ctx.root.join(p),
        None => ctx.root.join("stacks/bandup.yaml"),
    }
}

/// `path` as the environment file names it: relative to the project when inside it.
fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The name (`stack:`) of the stack file at `path`.
fn stack_name(path: &Path) -> anyhow::Result<String> {
    let text = read(path)?;
    let shown = path.display().to_string();
    let tree = config::yaml::parse(&shown, &text)
        .map_err(|d| anyhow::anyhow!("{}: {}", d.pos, d.message))?;
    tree.get("stack")
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("{shown}: no `stack:` name; run validate to see why"))
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}
