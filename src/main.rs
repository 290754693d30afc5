//! Entry point: parse the command line, set up logging, run the command, map the
//! outcome to an exit code (0 ok, 1 error or bad usage, 2 changes under --detailed-exitcode).

use bandup_infra::cli::{Cli, Command};
use bandup_infra::commands::{self, Ctx};
use bandup_infra::plan::Mode;
use bandup_infra::ui::Style;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to stdout and succeed; a usage error exits 1 like
        // every other error, never 2, which `plan --detailed-exitcode` means "changes".
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BANDUP_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    // A saved plan is shown without a project.
    if let Command::Show(a) = &cli.command {
        return match commands::show::run(a) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let root = match commands::project_root(&cli.global) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let ctx = Ctx {
        style: Style::detect(cli.global.no_color),
        global: cli.global,
        root,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        match &cli.command {
            Command::Validate => commands::validate::run(&ctx),
            Command::Graph(a) => commands::graph::run(&ctx, a),
            Command::Output(a) => commands::output::run(&ctx, a).await,
            Command::Plan(a) => commands::plan::run(&ctx, a).await,
            Command::Apply(a) => {
                let o = commands::apply::Options {
                    plan_file: a.plan_file.as_deref(),
                    auto_approve: a.auto_approve,
                    json: a.json,
                    lock: &a.lock,
                    mode: Mode::Normal,
                    deploy: None,
                };
                commands::apply::run(&ctx, o).await
            }
            Command::Destroy(a) => {
                let o = commands::apply::Options {
                    plan_file: None,
                    auto_approve: a.auto_approve,
                    json: a.json,
                    lock: &a.lock,
                    mode: Mode::Destroy { force: a.force },
                    deploy: None,
                };
                commands::apply::run(&ctx, o).await
            }
            Command::Show(a) => commands::show::run(a),
            Command::Drift(a) => commands::drift::run(&ctx, a).await,
            Command::ForceUnlock(a) => commands::unlock::run(&ctx, a).await,
            Command::History(a) => commands::history::run(&ctx, a).await,
            Command::Bootstrap(a) => commands::bootstrap::run(&ctx, a).await,
            Command::Deploy(a) => commands::deploy::run(&ctx, a).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
