//! `apply` and `destroy`: plan, show, confirm, execute, report. A first SIGINT (Ctrl-C)
//! or SIGTERM (what CI runners send on cancel) lets the operations in flight finish and
//! starts nothing new; a second one stops at once.

use super::{aws_registry, confirm, load, require_terminal, Ctx, Outcome};
use crate::plan::{self, Mode};
use crate::ui;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub async fn run(ctx: &Ctx, auto_approve: bool, mode: Mode) -> Outcome {
    let destroy = matches!(mode, Mode::Destroy { .. });
    let what = if destroy { "destroy" } else { "apply" };
    if let Err(code) = require_terminal(auto_approve, what) {
        return Ok(code);
    }
    let (stack, graph) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let interrupt = crate::apply::Interrupt::default();
    let applying = Arc::new(AtomicBool::new(false));
    tokio::spawn(on_signals(interrupt.clone(), applying.clone()));
    let registry = aws_registry(ctx, &stack).await?;
    let reporter: Arc<dyn crate::model::Reporter> = Arc::from(ui::progress::reporter(ctx.style));
    let plan = plan::plan(&stack, &graph, &registry, mode, reporter.as_ref()).await?;
    print!("{}", ui::plan::render(&plan));
    if !plan.summary.has_changes() {
        if !destroy {
            print_outputs(&stack, &graph, &registry, &plan, &Default::default()).await;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !auto_approve {
        let q = if destroy {
            format!(
                "Do you really want to destroy every resource of stack {} in {}?",
                stack.name, stack.env
            )
        } else {
            format!("Do you want to perform these actions in {}?", stack.env)
        };
        if !confirm(&q)? {
            println!("\n{} cancelled.", if destroy { "Destroy" } else { "Apply" });
            return Ok(ExitCode::from(1));
        }
    }
    println!();
    applying.store(true, Ordering::SeqCst);
    if interrupt.is_set() {
        println!("Interrupted before any change was made.");
        return Ok(ExitCode::from(130));
    }
    let parallelism = usize::from(ctx.global.parallelism);
    let report =
        crate::apply::apply_until(&plan, &registry, parallelism, reporter, &interrupt).await;
    print!("\n{}", ui::plan::render_report(&report, destroy));
    if report.failed() + report.interrupted() > 0 {
        return Ok(ExitCode::from(1));
    }
    if !destroy {
        print_outputs(&stack, &graph, &registry, &plan, &report.outputs).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The stack's outputs after a successful apply; the apply has succeeded even when
/// they cannot be read.
async fn print_outputs(
    stack: &crate::config::Stack,
    graph: &crate::graph::Dag<crate::model::Addr>,
    registry: &crate::provider::Registry,
    plan: &plan::Plan,
    applied: &plan::outputs::LiveOutputs,
) {
    if stack.outputs.is_empty() {
        return;
    }
    match plan::outputs::after_apply(stack, graph, registry, plan, applied).await {
        Ok(outputs) => print!("{}", ui::outputs::render_after_apply(&outputs)),
        Err(e) => println!(
            "\nOutputs could not be read ({e}); `bandup-infra output --env {}` reads them.",
            stack.env
        ),
    }
}

/// Wait for SIGINT or SIGTERM, as `what` ("Interrupted", "Terminated").
async fn next_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "Interrupted",
                _ = term.recv() => "Terminated",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "Interrupted"
}

/// Before changes start, a signal stops the command at once: nothing was changed. During
/// the apply, the first one lets what is in flight finish, the second stops at once.
async fn on_signals(interrupt: crate::apply::Interrupt, applying: Arc<AtomicBool>) {
    let what = next_signal().await;
    interrupt.trigger();
    if !applying.load(Ordering::SeqCst) {
        eprintln!("\n{what} before any change was made.");
        std::process::exit(130);
    }
    eprintln!("\n{what}: waiting for the operations in flight to finish; nothing new will start. Signal again to stop at once.");
    let what = next_signal().await;
    eprintln!("\n{what} again: stopping at once. Operations in flight may have completed; run apply again to converge.");
    std::process::exit(130);
}
