//! `force-unlock ID`: remove a lock its holder can no longer release (killed, its machine
//! gone), after showing who held it and asking.

use super::{confirm, load, Ctx, Outcome};
use crate::aws::state_bucket::{now_ms, StateBucket};
use crate::cli::ForceUnlockArgs;
use std::process::ExitCode;

pub async fn run(ctx: &Ctx, args: &ForceUnlockArgs) -> Outcome {
    if let Err(code) = super::require_terminal(args.force, "force-unlock") {
        return Ok(code);
    }
    let (stack, _) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if stack.state_bucket.is_none() {
        eprintln!(
            "error: the {env} environment has no state bucket, so it has no lock to remove.",
            env = stack.env
        );
        return Ok(ExitCode::from(1));
    }
    let (sdk, _) = super::aws_registry(ctx, &stack).await?;
    let bucket = StateBucket::of(&stack, &sdk)
        .ok_or_else(|| anyhow::anyhow!("the environment has no state bucket"))?;
    if !args.force {
        let holder = match bucket.current_lock().await {
            Ok(Some((info, _))) => info.describe(now_ms()),
            Ok(None) => {
                eprintln!(
                    "error: the {} environment of stack {} is not locked",
                    stack.env, stack.name
                );
                return Ok(ExitCode::from(1));
            }
            Err(e) => format!("an unreadable lock ({e})"),
        };
        println!("The lock is held by {holder}.");
        let q = format!(
            "Remove it? Only do so if that command is no longer running: two commands changing {} at once can leave it half-changed.",
            stack.env
        );
        if !confirm(&q)? {
            println!("\nNothing was removed.");
            return Ok(ExitCode::from(1));
        }
    }
    match bucket.force_unlock(&args.id).await {
        Ok(info) => {
            println!(
                "Removed the lock {} ({} by {} on {}). The next command can take it.",
                info.id, info.command, info.who, info.host
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
