//! `show FILE`: a saved plan, checked as `apply` checks it, printed for people or as JSON.
//! No project and no AWS call are needed.

use super::{emit, Outcome};
use crate::cli::ShowArgs;
use crate::plan::saved::{short, SavedPlan};
use crate::ui;
use std::process::ExitCode;

pub fn run(args: &ShowArgs) -> Outcome {
    let saved = match SavedPlan::read(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if args.json {
        emit(&saved.to_json()?)?;
    } else {
        emit(&render(&saved))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The header (what, where, when, from what), then the plan as `plan` prints it.
pub fn render(saved: &SavedPlan) -> String {
    let mut out = format!(
        "Saved plan for stack {}, environment {}{}{}\n  made {} by bandup-infra {}, digest {}\n  from:\n",
        saved.stack,
        saved.env,
        saved
            .region
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        saved
            .account_id
            .as_ref()
            .map(|a| format!(", account {a}"))
            .unwrap_or_default(),
        saved.created,
        saved.tool_version,
        short(&saved.digest),
    );
    for (path, digest) in &saved.sources {
        out.push_str(&format!("    {path} {}\n", short(digest)));
    }
    out.push_str(&format!(
        "  {} live object{} read; apply refuses the plan if any of them changes.\n\n",
        saved.live.len(),
        if saved.live.len() == 1 { "" } else { "s" }
    ));
    out.push_str(&ui::plan::render(&saved.plan));
    out
}
