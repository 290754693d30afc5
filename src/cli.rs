//! Command-line definitions (clap) and nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "bandup-infra",
    version,
    about = "Provision and reconcile the IELTS BandUp platform on AWS from a YAML stack.",
    long_about = "Provision and reconcile the IELTS BandUp platform on AWS from a YAML stack.\n\n\
There is no state file: live AWS is the truth, and resources are found by their ownership\n\
tags (bandup:stack, bandup:env, bandup:resource). AWS is reached with the standard\n\
credential chain, profiles, region and AWS_ENDPOINT_URL.",
    after_help = "Examples:\n  bandup-infra validate --env dev\n  bandup-infra plan --env dev\n  bandup-infra apply --env prod"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Debug, Args)]
pub struct Global {
    /// Environment: reads environments/<ENV>.yaml. A name is lowercase letters, digits
    /// and '-', starting with a letter, at most 24 characters
    #[arg(long, global = true, env = "BANDUP_ENV", value_parser = env_name)]
    pub env: Option<String>,

    /// Project directory (holds environments/ and stacks/) [default: the current directory
    /// or the nearest parent that has environments/ or stacks/]
    #[arg(long, global = true, env = "BANDUP_PROJECT", value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Stack file [default: the stack the environment names, else stacks/bandup.yaml]
    #[arg(long, global = true)]
    pub stack: Option<PathBuf>,

    /// AWS region [default: the environment's `region`, then AWS_REGION, then the profile]
    #[arg(long, global = true)]
    pub region: Option<String>,

    /// Send every AWS call to this endpoint [default: AWS_ENDPOINT_URL, else AWS]
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,

    /// AWS profile [default: AWS_PROFILE, else `default`]
    #[arg(long, global = true)]
    pub profile: Option<String>,

    /// At most this many AWS operations at once
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,

    /// No colours (also: the NO_COLOR environment variable)
    #[arg(long, global = true)]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the stack and environment files without calling AWS
    #[command(
        after_help = "Every problem is reported at once, with file:line:col and a hint.\nExit code: 0 valid, 1 problems.\n\nExamples:\n  bandup-infra validate --env dev\n  bandup-infra validate --stack stacks/bandup.yaml"
    )]
    Validate,

    /// Show what apply would change
    #[command(
        after_help = "Symbols: + create, ~ update in place, -/+ replace, - destroy.\n\nExamples:\n  bandup-infra plan --env dev\n  bandup-infra plan --env prod --json > plan.json\n  bandup-infra plan --env dev --detailed-exitcode   # 0 no changes, 1 error, 2 changes"
    )]
    Plan(PlanArgs),

    /// Plan, confirm, and make the live resources match the stack; or apply a saved plan
    #[command(
        after_help = "Without a terminal on stdin, --auto-approve is required (a saved plan needs none: it\nwas reviewed). A saved plan is refused, and nothing changed, when the stack, the\nenvironment or any live resource it was computed from changed since it was made.\nThe environment lock (state_bucket in the environment file) is held throughout.\n\nExamples:\n  bandup-infra apply --env dev\n  bandup-infra apply --env dev --auto-approve --parallelism 4\n  bandup-infra plan --env prod --out plan.json && bandup-infra apply plan.json\n  bandup-infra apply plan.json --json > apply.jsonl   # one JSON event per line\n  bandup-infra apply --env dev --auto-approve --lock-timeout 10m"
    )]
    Apply(ApplyArgs),

    /// Delete every resource this stack owns in the environment
    #[command(
        after_help = "Resources marked `protect: true` are refused unless --force is given.\nThe environment lock is held throughout, as for apply.\n\nExamples:\n  bandup-infra destroy --env dev\n  bandup-infra destroy --env dev --auto-approve"
    )]
    Destroy(DestroyArgs),

    /// Print a saved plan (made with `plan --out`) without calling AWS
    #[command(
        after_help = "The file is checked as apply checks it (complete, this version's format, not edited).\n\nExamples:\n  bandup-infra show plan.json\n  bandup-infra show plan.json --json | jq '.plan.summary'"
    )]
    Show(ShowArgs),

    /// Remove an environment lock left by a command that died
    #[command(
        after_help = "The lock's id is in the error of the command it blocked. Only that lock is removed,\nand only after confirmation (or --force); a lock taken since is left alone.\n\nExamples:\n  bandup-infra force-unlock --env dev 3f2a9c0d1e4b5a67\n  bandup-infra force-unlock --env dev 3f2a9c0d1e4b5a67 --force"
    )]
    ForceUnlock(ForceUnlockArgs),

    /// List the applies and destroys of the environment, newest first (the audit log)
    #[command(
        after_help = "Read from the environment's state bucket (state_bucket in the environment file).\n\nExamples:\n  bandup-infra history --env prod\n  bandup-infra history --env prod --limit 5 --json"
    )]
    History(HistoryArgs),

    /// Report where live AWS and the stack disagree: changed, missing, unmanaged (reads only)
    #[command(
        after_help = "Nothing is changed: only read permissions are needed (examples/auditor-policy.json).\nExit code: 0 no drift, 2 drift, 1 error.\n\nExamples:\n  bandup-infra drift --env prod\n  bandup-infra drift --env prod --format markdown > drift.md   # a pull-request comment\n  bandup-infra drift --env prod --format sarif --out drift.sarif\n  bandup-infra drift --env prod --format json | jq '.summary'"
    )]
    Drift(DriftArgs),

    /// Create a new environment: its file, state bucket and CI role
    #[command(
        after_help = "Writes environments/<ENV>.yaml from --from's file (the new region's zones, a VPC range\nthat overlaps no other environment's, the account guard, the state bucket) and checks it,\nthen creates the state bucket <stack>-state-<env>-<account> (private, encrypted,\nversioned), the CI role <stack>-ci-<env> of examples/ci/ with its two policies and, if\nthe region has none, API Gateway's CloudWatch Logs role. Running it again changes\nnothing and says so. An existing environment file with other settings, or credentials\nfor another account than --account-id, are refused before anything is written.\nSee docs/bootstrap.md.\n\nExamples:\n  bandup-infra bootstrap --env staging --region eu-west-1 --from dev\n  bandup-infra bootstrap --env staging --region eu-west-1 --from dev --vpc-cidr 10.30.0.0/16\n  bandup-infra bootstrap --env prod-us --region us-east-1 --from prod --account-id 123456789012"
    )]
    Bootstrap(BootstrapArgs),

    /// Roll out a new image of a service, or new code of a worker
    #[command(
        after_help = "The tag or code path is written back to the environment file's parameter, so the\nnext apply plans no rollback; commit that change. The environment lock is held\nthroughout. A service waits (bounded) until its deployment is steady; if it fails,\nits events are shown and the previous revision is restored.\n\nExamples:\n  bandup-infra deploy --env dev frontend --image 2026.12.01-1\n  bandup-infra deploy --env prod backend --image 2026.12.01-1 --auto-approve --no-wait\n  bandup-infra deploy --env dev writing --code build/worker"
    )]
    Deploy(DeployArgs),

    /// Print the resource graph
    #[command(
        after_help = "Edges point from a resource to the resources that depend on it.\n\nExamples:\n  bandup-infra graph --env dev | dot -Tsvg > graph.svg\n  bandup-infra graph --env prod --format mermaid"
    )]
    Graph(GraphArgs),

    /// Print the stack's outputs, read from the live resources
    #[command(
        after_help = "Values come from live AWS, like plan: there is no state file. An output whose\nresource is not created yet shows (not yet applied); a sensitive one shows\n(sensitive). Exit code: 0 ok, 1 error (unknown NAME, --raw value not available).\n\nExamples:\n  bandup-infra output --env dev\n  bandup-infra output --env dev --json > outputs.json\n  VPC_ID=$(bandup-infra output --env dev vpc_id --raw)\n  bandup-infra output --env dev redis_auth --raw --show-sensitive"
    )]
    Output(OutputArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Print the plan as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Plan the deletion of everything the stack owns
    #[arg(long)]
    pub destroy: bool,

    /// Also save the plan to FILE, for `apply FILE` (secrets only as references)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: apply exactly it, without asking
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,

    /// Do not ask for confirmation
    #[arg(long)]
    pub auto_approve: bool,

    /// Print one JSON event per line on stdout instead of the plan and progress
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for confirmation
    #[arg(long)]
    pub auto_approve: bool,

    /// Also destroy resources marked `protect: true`
    #[arg(long)]
    pub force: bool,

    /// Print one JSON event per line on stdout instead of the plan and progress
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Hold the environment lock while running (--lock=false: only when nothing else can
    /// change this environment at the same time)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub lock: bool,

    /// How long to wait for another command's lock: 30s, 10m, 1h [default: 0, fail at once]
    #[arg(long, value_name = "DURATION", value_parser = duration, default_value = "0s")]
    pub lock_timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Copy parameters, tags and the stack from this environment's file
    #[arg(long, value_name = "ENV", value_parser = env_name)]
    pub from: Option<String>,

    /// The AWS account the environment lives in: the credentials must be for it, and the
    /// environment file pins it [default: the credentials' account]
    #[arg(long, value_name = "ID", value_parser = account_id)]
    pub account_id: Option<String>,

    /// The new environment's VPC range, instead of --from's moved to the first free range of
    /// 10.0.0.0/8; it must overlap no other environment's and be as large as --from's
    #[arg(long, value_name = "CIDR", requires = "from", value_parser = vpc_cidr)]
    pub vpc_cidr: Option<ipnet::Ipv4Net>,

    /// The state bucket's name [default: <stack>-state-<env>-<account>]
    #[arg(long, value_name = "NAME")]
    pub state_bucket: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["image", "code"])))]
pub struct DeployArgs {
    /// The service (an aws_ecs_service) or worker (an aws_lambda_function, or its for_each
    /// key) to deploy
    pub name: String,

    /// The image tag to run, already pushed to the service's repository
    #[arg(long, value_name = "TAG")]
    pub image: Option<String>,

    /// The worker's code: a directory (packaged as a zip) or a .zip file
    #[arg(long, value_name = "PATH")]
    pub code: Option<PathBuf>,

    /// Do not wait for the service's deployment to be steady
    #[arg(long)]
    pub no_wait: bool,

    /// Do not ask for confirmation
    #[arg(long)]
    pub auto_approve: bool,

    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan file
    #[arg(value_name = "PLAN_FILE")]
    pub file: PathBuf,

    /// Print the saved plan as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ForceUnlockArgs {
    /// The lock's id, as the blocked command named it
    pub id: String,

    /// Do not ask for confirmation
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// At most this many records
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,

    /// Print the records as a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print only this output
    pub name: Option<String>,

    /// Print as JSON: name -> {value, sensitive, description}
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,

    /// Print NAME's value alone, unquoted, for scripts (strings, numbers, booleans)
    #[arg(long, requires = "name")]
    pub raw: bool,

    /// Show the values of sensitive outputs too
    #[arg(long)]
    pub show_sensitive: bool,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[arg(long, value_enum, default_value_t = DriftFormat::Text)]
    pub format: DriftFormat,

    /// Write the report to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DriftFormat {
    /// For people
    Text,
    /// Versioned, documented in docs/drift.schema.json
    Json,
    /// A pull-request comment or audit ticket: summary table first, details collapsed
    Markdown,
    /// SARIF 2.1.0, one result per drifted resource, for code-scanning tools
    Sarif,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

/// `30s`, `10m`, `1h`, `90` (seconds).
fn duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: write 30s, 10m or 1h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{s}` is not a duration: write 30s, 10m or 1h")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// `--env` and `BANDUP_ENV`: refused before anything is read when not a simple name.
fn env_name(s: &str) -> Result<String, String> {
    crate::config::check_env_name(s).map(|()| s.to_string())
}

/// `--account-id`: twelve digits.
fn account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.chars().all(|c| c.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not an AWS account id: twelve digits, such as 123456789012"
        ))
    }
}

/// `--vpc-cidr`: an IPv4 network AWS accepts as a VPC's range.
fn vpc_cidr(s: &str) -> Result<ipnet::Ipv4Net, String> {
    crate::config::new_env::parse_vpc_cidr(s)
}
