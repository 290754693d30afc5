//! `plan`: read live AWS, diff against the stack, print the plan.

use super::{aws_registry, load, Ctx, Outcome};
use crate::cli::PlanArgs;
use crate::plan::{self, Mode};
use crate::ui;
use std::process::ExitCode;

pub async fn run(ctx: &Ctx, args: &PlanArgs) -> Outcome {
    let (stack, graph) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let registry = aws_registry(ctx, &stack).await?;
    let reporter = if args.json {
        Box::new(crate::model::Quiet)
    } else {
        ui::progress::reporter(ctx.style)
    };
    let mode = if args.destroy {
        Mode::Destroy { force: false }
    } else {
        Mode::Normal
    };
    let plan = plan::plan(&stack, &graph, &registry, mode, reporter.as_ref()).await?;
    if args.json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&plan)?))?;
    } else {
        super::emit(&ui::plan::render(&plan))?;
    }
    Ok(if args.detailed_exitcode && plan.summary.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
