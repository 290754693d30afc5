//! `apply` and `destroy`: plan, show, confirm, execute, report.

use super::{aws_registry, confirm, load, require_terminal, Ctx, Outcome};
use crate::plan::{self, Mode};
use crate::ui;
use std::process::ExitCode;
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
    let registry = aws_registry(ctx, &stack).await?;
    let reporter: Arc<dyn crate::model::Reporter> = Arc::from(ui::progress::reporter(ctx.style));
    let plan = plan::plan(&stack, &graph, &registry, mode, reporter.as_ref()).await?;
    print!("{}", ui::plan::render(&plan));
    if !plan.summary.has_changes() {
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
    // First Ctrl-C: finish what is in flight, start nothing new. Second: stop at once.
    let interrupt = crate::apply::Interrupt::default();
    let on_signal = interrupt.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.trigger();
            eprintln!("\nInterrupted: waiting for the operations in flight to finish; nothing new will start. Press Ctrl-C again to stop at once.");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let parallelism = usize::from(ctx.global.parallelism);
    let report =
        crate::apply::apply_until(&plan, &registry, parallelism, reporter, &interrupt).await;
    print!("\n{}", ui::plan::render_report(&report, destroy));
    Ok(if report.failed() + report.interrupted() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
