//! `output`: the stack's declared outputs, resolved from live AWS (the discovery `plan`
//! runs), as aligned text, JSON, or one bare value for scripts.

use super::{aws_registry, emit, load, Ctx, Outcome};
use crate::cli::OutputArgs;
use crate::config::did_you_mean;
use crate::plan::outputs::{self, ResolvedOutput};
use crate::ui;
use std::process::ExitCode;

pub async fn run(ctx: &Ctx, args: &OutputArgs) -> Outcome {
    let (stack, graph) = match load(ctx, &crate::aws::offline_registry()) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    if let Some(name) = &args.name {
        // A wrong name is found without reading AWS.
        if !stack.outputs.iter().any(|o| &o.name == name) {
            anyhow::bail!("{}", unknown_output(name, &stack.outputs));
        }
    }
    let (_, registry) = aws_registry(ctx, &stack).await?;
    let known = outputs::read(&stack, &graph, &registry, &crate::model::Quiet).await?;
    let resolved = outputs::resolve(&stack, &known);
    match &args.name {
        Some(name) => one(args, name, &resolved),
        None => all(args, &resolved),
    }
}

fn all(args: &OutputArgs, resolved: &[ResolvedOutput]) -> Outcome {
    if args.json {
        let json = ui::outputs::json(resolved, args.show_sensitive);
        emit(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
    } else if resolved.is_empty() {
        eprintln!(
            "The stack declares no outputs. Declare them under `outputs:` in the stack file."
        );
    } else {
        emit(&ui::outputs::render(resolved, args.show_sensitive))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn one(args: &OutputArgs, name: &str, resolved: &[ResolvedOutput]) -> Outcome {
    let Some(o) = resolved.iter().find(|o| o.name == name) else {
        anyhow::bail!("no output `{name}`");
    };
    if args.json {
        let json = ui::outputs::json_one(o, args.show_sensitive);
        emit(&format!("{}\n", serde_json::to_string_pretty(&json)?))?;
    } else if args.raw {
        emit(&format!("{}\n", raw(o, args.show_sensitive)?))?;
    } else {
        emit(&ui::outputs::render_one(o, args.show_sensitive))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The bare value for `--raw`, or why it cannot be given.
fn raw(o: &ResolvedOutput, show_sensitive: bool) -> anyhow::Result<String> {
    let name = &o.name;
    if o.sensitive && !show_sensitive {
        anyhow::bail!(
            "output `{name}` is sensitive: --raw prints it only with --show-sensitive \
             (bandup-infra output {name} --raw --show-sensitive)"
        );
    }
    if !o.missing.is_empty() {
        anyhow::bail!("output `{name}` is {}", ui::outputs::not_applied_note(o));
    }
    if o.value.has_unknown() {
        anyhow::bail!("output `{name}` is not known: AWS did not report an attribute it uses");
    }
    ui::outputs::raw(&o.value).ok_or_else(|| {
        anyhow::anyhow!(
            "output `{name}` is a list or a mapping: --raw prints only strings, numbers and \
             booleans; use --json"
        )
    })
}

/// "no output `x`", with the closest declared name and the list of them.
fn unknown_output(name: &str, declared: &[crate::config::OutputDecl]) -> String {
    let names: Vec<&str> = declared.iter().map(|o| o.name.as_str()).collect();
    if names.is_empty() {
        return format!(
            "no output `{name}`: the stack declares no outputs (declare them under `outputs:`)"
        );
    }
    match did_you_mean(name, names.iter().copied()) {
        Some(s) => format!(
            "no output `{name}`: did you mean `{s}`? outputs: {}",
            names.join(", ")
        ),
        None => format!("no output `{name}`; outputs: {}", names.join(", ")),
    }
}
