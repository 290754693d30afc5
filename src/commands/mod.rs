//! One thin file per subcommand: arguments -> engine call -> ui. What they share lives here:
//! loading the stack (diagnostics rendered once), building the AWS registry, confirmation.

pub mod apply;
pub mod bootstrap;
pub mod deploy;
pub mod drift;
pub mod graph;
pub mod history;
pub mod output;
pub mod plan;
pub mod show;
pub mod unlock;
pub mod validate;

use crate::cli::Global;
use crate::config::{self, Stack};
use crate::graph::Dag;
use crate::model::Addr;
use crate::provider::Registry;
use crate::ui::{self, Style};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// What every command gets.
pub struct Ctx {
    pub global: Global,
    pub style: Style,
    pub root: PathBuf,
}

impl Ctx {
    /// The same, for environment `env` (a saved plan's).
    pub fn for_env(&self, env: &str) -> Ctx {
        let mut global = self.global.clone();
        global.env = Some(env.to_string());
        Ctx {
            global,
            style: self.style,
            root: self.root.clone(),
        }
    }
}

/// The result of a command: an exit code, or an error main prints.
pub type Outcome = anyhow::Result<ExitCode>;

/// Load and validate the stack and its graph; on errors, render them all (with any
/// warnings) and return `Err(exit code 1)`. Warnings alone are printed to stderr and the
/// stack is returned.
pub fn load(ctx: &Ctx, registry: &Registry) -> Result<(Stack, Dag<Addr>), ExitCode> {
    let opts = config::LoadOptions {
        root: ctx.root.clone(),
        env: ctx.global.env.clone(),
        stack: ctx.global.stack.clone(),
    };
    let (stack, mut diags) = config::load(&opts, registry);
    let graph = match crate::graph::builder::build(&stack) {
        Ok(g) => Some(g),
        Err(d) => {
            diags.push(d);
            None
        }
    };
    let diags = diags.sorted();
    match graph {
        Some(g) if !diags.has_errors() => {
            // Warnings are shown and the command goes on.
            if !diags.is_empty() {
                eprint!("{}", ui::diagnostics::render(&diags, ctx.style));
            }
            Ok((stack, g))
        }
        _ => {
            eprint!("{}", ui::diagnostics::render(&diags, ctx.style));
            Err(ExitCode::from(1))
        }
    }
}

/// The project root: `--project` (or `BANDUP_PROJECT`) when given, else the current
/// directory or the nearest parent holding `environments/` or `stacks/`. With an explicit
/// `--stack` and no project around, the current directory. The error says where we
/// looked and how to point at the project.
pub fn project_root(global: &Global) -> Result<PathBuf, String> {
    if let Some(dir) = &global.project {
        if !dir.is_dir() {
            return Err(format!(
                "--project {}: no such directory. Point --project (or BANDUP_PROJECT) at the \
                 directory that holds environments/ and stacks/.",
                dir.display()
            ));
        }
        if !config::project::is_project(dir) {
            return Err(format!(
                "--project {}: not a bandup-infra project, it has no environments/ or stacks/ \
                 folder. Point --project (or BANDUP_PROJECT) at the directory that holds them.",
                dir.display()
            ));
        }
        return Ok(dir.clone());
    }
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    match config::project::find_root(&cwd) {
        Ok(root) => Ok(root),
        Err(_) if global.stack.is_some() => Ok(cwd),
        Err(tried) => {
            let tried: Vec<String> = tried.iter().map(|d| format!("  {}", d.display())).collect();
            Err(format!(
                "no bandup-infra project found: none of these directories has an environments/ \
                 or stacks/ folder:\n{}\n\
                 Run the command from the project (cd into it, or any folder below it), or point \
                 at it with --project DIR (or BANDUP_PROJECT=DIR). Nothing was sent to AWS.",
                tried.join("\n")
            ))
        }
    }
}

/// The SDK configuration and the registry with live AWS clients for the stack's region
/// and endpoint, after checking the account the environment pins.
pub async fn aws_registry(
    ctx: &Ctx,
    stack: &Stack,
) -> anyhow::Result<(aws_types::SdkConfig, Registry)> {
    let target = crate::aws::Target {
        region: ctx.global.region.clone().or_else(|| stack.region.clone()),
        endpoint_url: ctx.global.endpoint_url.clone(),
        profile: ctx.global.profile.clone(),
    };
    let sdk = crate::aws::sdk_config(&target)
        .await
        .map_err(anyhow::Error::msg)?;
    if let Some(expected) = &stack.account_id {
        let actual = crate::aws::caller_account(&sdk).await?;
        if &actual != expected {
            anyhow::bail!(
                "environment `{}` is pinned to AWS account {expected}, but the credentials in use are for account {actual}: \
                 nothing was read or changed. Switch credentials (--profile, AWS_PROFILE) to the right account.",
                stack.env
            );
        }
    }
    let registry = crate::aws::registry(&sdk);
    Ok((sdk, registry))
}

/// Refuse early when confirmation is needed but nobody can give it.
pub fn require_terminal(auto_approve: bool, what: &str) -> Result<(), ExitCode> {
    if auto_approve || std::io::stdin().is_terminal() {
        return Ok(());
    }
    eprintln!(
        "error: {what} needs confirmation, but stdin is not a terminal.\n\
         Run it from a terminal, or pass --auto-approve to {what} without asking (CI must opt in explicitly)."
    );
    Err(ExitCode::from(1))
}

/// Ask on the terminal; only `yes` counts.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    print!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Write to stdout; a reader that stopped early (`| head`) is not an error.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
