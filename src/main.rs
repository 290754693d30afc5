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
            Command::Apply(a) => commands::apply::run(&ctx, a.auto_approve, Mode::Normal).await,
            Command::Destroy(a) => {
                commands::apply::run(&ctx, a.auto_approve, Mode::Destroy { force: a.force }).await
            }
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
