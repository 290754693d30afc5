//! `validate`: check the files, make no AWS call.

use super::{load, Ctx, Outcome};
use std::process::ExitCode;

pub fn run(ctx: &Ctx) -> Outcome {
    let registry = crate::aws::offline_registry();
    match load(ctx, &registry) {
        Ok((stack, _)) => {
            println!(
                "The stack `{}` is valid for environment `{}`: {} resources.",
                stack.name,
                stack.env,
                stack.resources.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}
