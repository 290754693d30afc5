//! `plan`: read live AWS, diff against the stack, print the plan.

use super::{aws_registry, load, Ctx, Outcome};
use crate::cli::PlanArgs;
use crate::plan::saved::{SavedPlan, Target};
use crate::plan::{self, Mode};
use crate::ui;
use std::process::ExitCode;

pub async fn run(ctx: &Ctx, args: &PlanArgs) -> Outcome {
    let (stack, graph) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let (sdk, registry) = aws_registry(ctx, &stack).await?;
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
    if let Some(out) = &args.out {
        let target = Target {
            region: sdk.region().map(|r| r.to_string()),
            account_id: Some(crate::aws::caller_account(&sdk).await?),
        };
        let saved = SavedPlan::new(
            &plan,
            &stack.sources,
            target,
            &registry,
            crate::aws::state_bucket::audit::now(),
        )?;
        write_atomically(out, &saved.to_json()?)
            .map_err(|e| anyhow::anyhow!("cannot write the plan to {}: {e}", out.display()))?;
        eprintln!(
            "Saved the plan to {} ({}). Apply exactly this plan with:\n  bandup-infra apply {}",
            out.display(),
            crate::plan::saved::short(&saved.digest),
            out.display()
        );
    }
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

/// Write `text` to `path` through a temporary file beside it, so that a reader never
/// sees half a plan.
fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
