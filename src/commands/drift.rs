//! `drift`: plan (which only reads), sort what differs into changed, missing and
//! unmanaged, and print it in the asked format. Exit 0 no drift, 2 drift, 1 error.

use super::{aws_registry, emit, load, Ctx, Outcome};
use crate::cli::{DriftArgs, DriftFormat};
use crate::plan::{self, Mode};
use crate::ui;
use std::collections::BTreeSet;
use std::process::ExitCode;

pub async fn run(ctx: &Ctx, args: &DriftArgs) -> Outcome {
    let (stack, graph) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let (sdk, registry) = aws_registry(ctx, &stack).await?;
    let reporter = ui::progress::reporter(ctx.style);
    let plan = plan::plan(&stack, &graph, &registry, Mode::Normal, reporter.as_ref()).await?;
    let mut report = crate::drift::report(&stack, &plan, crate::aws::state_bucket::audit::now());
    // Inside the stack's own VPCs: what nobody tagged.
    let vpcs: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.type_name == "aws_vpc")
        .filter_map(|r| r.live.as_ref().map(|l| l.id.clone()))
        .collect();
    let known: BTreeSet<String> = plan
        .resources
        .iter()
        .filter_map(|r| r.live.as_ref().map(|l| l.id.clone()))
        .collect();
    let before = registry.calls.get();
    let ec2 = crate::aws::Clients::new(&sdk, &registry.calls).ec2;
    let strays = crate::aws::ec2::untagged::in_vpcs(&ec2, &vpcs, &known).await?;
    report.add_untagged(
        strays
            .into_iter()
            .map(|s| (s.type_name.to_string(), s.id, s.what)),
    );
    report.api_calls += registry.calls.get() - before;
    let text = match args.format {
        DriftFormat::Text => ui::drift::text(&report),
        DriftFormat::Json => ui::drift::json(&report)?,
        DriftFormat::Markdown => ui::drift::markdown(&report),
        DriftFormat::Sarif => {
            ui::drift::sarif(&report, &format!("environments/{}.yaml", stack.env))?
        }
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!(
                "Wrote the drift report to {}: {} changed, {} missing, {} unmanaged.",
                path.display(),
                report.summary.changed,
                report.summary.missing,
                report.summary.unmanaged
            );
        }
        None => emit(&text)?,
    }
    Ok(if report.summary.has_drift() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}
