//! `graph`: print the resource graph as DOT or Mermaid.

use super::{load, Ctx, Outcome};
use crate::cli::{GraphArgs, GraphFormat};
use std::process::ExitCode;

pub fn run(ctx: &Ctx, args: &GraphArgs) -> Outcome {
    let registry = crate::aws::offline_registry();
    let (stack, graph) = match load(ctx, &registry) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let label = |a: &crate::model::Addr| {
        let t = stack
            .resource(a)
            .map(|r| r.type_name.as_str())
            .unwrap_or("");
        format!("{a}\n{t}")
    };
    let text = match args.format {
        GraphFormat::Dot => graph.to_dot(label),
        GraphFormat::Mermaid => graph.to_mermaid(|a| label(a).replace('\n', "<br/>")),
    };
    super::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
