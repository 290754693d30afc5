//! `history`: the environment's audit log, newest first, as a table or JSON.

use super::{emit, load, Ctx, Outcome};
use crate::aws::state_bucket::audit::Record;
use crate::aws::state_bucket::StateBucket;
use crate::cli::HistoryArgs;
use std::fmt::Write;
use std::process::ExitCode;

pub async fn run(ctx: &Ctx, args: &HistoryArgs) -> Outcome {
    let (stack, _) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if stack.state_bucket.is_none() {
        eprintln!(
            "error: the {env} environment has no state bucket, so it has no audit log. Add `state_bucket: NAME` to environments/{env}.yaml (`bandup-infra bootstrap` creates the bucket).",
            env = stack.env
        );
        return Ok(ExitCode::from(1));
    }
    let (sdk, _) = super::aws_registry(ctx, &stack).await?;
    let bucket = StateBucket::of(&stack, &sdk)
        .ok_or_else(|| anyhow::anyhow!("the environment has no state bucket"))?;
    let records = bucket
        .history(usize::from(args.limit))
        .await
        .map_err(anyhow::Error::msg)?;
    if args.json {
        let items: Vec<serde_json::Value> = records
            .iter()
            .map(|r| match r {
                Ok(rec) => serde_json::to_value(rec).unwrap_or_default(),
                Err(e) => serde_json::json!({ "unreadable": e }),
            })
            .collect();
        emit(&format!("{}\n", serde_json::to_string_pretty(&items)?))?;
    } else {
        emit(&render(&stack.name, &stack.env, &records))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per record, newest first.
pub fn render(stack: &str, env: &str, records: &[Result<Record, String>]) -> String {
    let mut out = String::new();
    if records.is_empty() {
        let _ = writeln!(
            out,
            "No applies or destroys of stack {stack} in {env} are recorded yet."
        );
        return out;
    }
    let _ = writeln!(
        out,
        "{:<24} {:<8} {:<12} {:<18} {:>8}  {:<19} WHO",
        "STARTED", "COMMAND", "OUTCOME", "+ ~ -", "TOOK", "PLAN"
    );
    for r in records {
        match r {
            Ok(r) => {
                let (add, change, destroy) = r.counts();
                let failed = r.resources.iter().filter(|x| x.outcome == "failed").count();
                let counts = if failed > 0 {
                    format!("{add} {change} {destroy} ({failed} failed)")
                } else {
                    format!("{add} {change} {destroy}")
                };
                let _ = writeln!(
                    out,
                    "{:<24} {:<8} {:<12} {:<18} {:>8}  {:<19} {} on {}{}",
                    r.started,
                    r.command,
                    r.outcome,
                    counts,
                    crate::aws::state_bucket::human(r.duration_ms),
                    crate::plan::saved::short(&r.plan_digest),
                    r.who,
                    r.host,
                    if r.saved_plan { " (saved plan)" } else { "" }
                );
            }
            Err(e) => {
                let _ = writeln!(out, "(unreadable record) {e}");
            }
        }
    }
    out
}
