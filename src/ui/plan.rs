//! Human rendering of a plan (+ ~ -/+ - with per-field changes) and of an apply report.

use crate::apply::{Report, Status};
use crate::model::{Op, Value};
use crate::plan::{Action, Plan, PlannedResource};
use console::style;
use std::fmt::Write;

fn symbol(r: &PlannedResource) -> String {
    let s = format!("{:>3}", r.symbol());
    match r.action {
        Action::Create => style(s).green().to_string(),
        Action::Update => style(s).yellow().to_string(),
        Action::Replace => style(s).magenta().to_string(),
        Action::Delete => style(s).red().to_string(),
        Action::NoOp => s,
    }
}

fn headline(r: &PlannedResource) -> String {
    match r.action {
        Action::Create => "will be created".into(),
        Action::Update => "will be updated in place".into(),
        Action::Replace if r.create_first => format!(
            "must be replaced (forced by {}), creating the replacement first: {}",
            r.forcing_fields().join(", "),
            r.reason.as_deref().unwrap_or("the old one is in use")
        ),
        Action::Replace => format!(
            "must be replaced (forced by {})",
            r.forcing_fields().join(", ")
        ),
        Action::Delete => match &r.reason {
            Some(why) if why != "destroy" => format!("will be destroyed ({why})"),
            _ => "will be destroyed".into(),
        },
        Action::NoOp => "is up to date".into(),
    }
}

/// Items in `a` that are not in `b` (lists are compared as sets).
fn minus<'a>(a: &'a [Value], b: &[Value]) -> Vec<&'a Value> {
    a.iter().filter(|x| !b.contains(x)).collect()
}

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let changing: Vec<&PlannedResource> = plan
        .resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .collect();
    if changing.is_empty() {
        let _ = writeln!(
            out,
            "No changes. The {} environment of stack {} matches the live resources ({} up to date).",
            plan.scope.env, plan.scope.stack, plan.summary.unchanged
        );
    } else {
        let _ = writeln!(out, "bandup-infra will perform the following actions:\n");
        for r in changing {
            let _ = writeln!(
                out,
                "  # {} ({}) {}",
                style(&r.addr).bold(),
                r.type_name,
                headline(r)
            );
            let _ = writeln!(out, "{} {}", symbol(r), r.addr);
            if let Some(loss) = &r.data_loss {
                let _ = writeln!(out, "      {} {loss}", style("! DATA LOSS:").red().bold());
            }
            match r.action {
                Action::Create => {
                    let props = r.preview.clone().unwrap_or_default();
                    let width = props.keys().map(String::len).max().unwrap_or(0);
                    for (k, v) in props.iter().filter(|(_, v)| !matches!(v, Value::Null)) {
                        let _ = writeln!(out, "      + {k:width$} = {v}");
                    }
                    let _ = writeln!(out, "      + {:width$} = (known after apply)", "id");
                }
                Action::Update | Action::Replace => {
                    for c in &r.changes {
                        let forces = if c.forces_replace {
                            let why = c
                                .why
                                .as_deref()
                                .map(|w| format!(": {w}"))
                                .unwrap_or_default();
                            style(format!("  # forces replacement{why}"))
                                .red()
                                .to_string()
                        } else {
                            // Why an in-place change is planned, where the field alone
                            // does not say.
                            c.why
                                .as_deref()
                                .map(|w| style(format!("  # {w}")).dim().to_string())
                                .unwrap_or_default()
                        };
                        match (&c.before, &c.after) {
                            (Value::List(b), Value::List(a)) => {
                                let _ = writeln!(out, "      ~ {}{forces}", c.field);
                                for gone in minus(b, a) {
                                    let _ = writeln!(out, "          {} {gone}", style("-").red());
                                }
                                for new in minus(a, b) {
                                    let _ = writeln!(out, "          {} {new}", style("+").green());
                                }
                            }
                            (b, a) => {
                                let _ = writeln!(out, "      ~ {} = {b} -> {a}{forces}", c.field);
                            }
                        }
                    }
                }
                Action::Delete => {
                    if let Some(l) = &r.live {
                        let _ = writeln!(out, "      - id = {:?}", l.id);
                    }
                }
                Action::NoOp => {}
            }
            out.push('\n');
        }
    }
    let losing: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.data_loss.is_some())
        .map(|r| r.addr.to_string())
        .collect();
    if !losing.is_empty() {
        let _ = writeln!(
            out,
            "{} this plan deletes or replaces resources that hold data: {}. Read the DATA LOSS lines above before you apply it.\n",
            style("Warning:").red().bold(),
            losing.join(", ")
        );
    }
    for r in plan.resources.iter() {
        if let Some(advice) = &r.advice {
            let _ = writeln!(out, "{} {}: {advice}\n", style("Note:").bold(), r.addr);
        }
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
        s.add, s.change, s.replace, s.destroy
    );
    let _ = writeln!(
        out,
        "Read live state with {} AWS API calls in {:.2}s.",
        plan.api_calls,
        plan.elapsed_ms as f64 / 1000.0
    );
    out
}

/// What happened, under `word` ("Apply", "Destroy", "Deploy", "Rollback").
pub fn render_report(report: &Report, word: &str) -> String {
    let mut out = String::new();
    for o in &report.outcomes {
        match &o.status {
            Status::Failed { error, .. } => {
                let _ = writeln!(out, "{} {error}", style("Error:").red().bold());
            }
            Status::Skipped { because } => {
                let _ = writeln!(
                    out,
                    "Skipped {} of {} because {because} failed.",
                    op_name(o.op),
                    o.addr
                );
            }
            Status::Done { .. } | Status::Interrupted => {}
        }
    }
    let (failed, skipped) = (report.failed(), report.skipped());
    let interrupted = report.interrupted();
    if failed > 0 {
        let _ = writeln!(out, "{word} failed: {failed} failed, {skipped} skipped.");
    } else if interrupted > 0 {
        let _ = writeln!(
            out,
            "{word} interrupted: {interrupted} operations not started. Run it again to finish: it picks up where this one stopped."
        );
    } else {
        let _ = writeln!(out, "{}", style(format!("{word} complete!")).green().bold());
    }
    let _ = writeln!(
        out,
        "Resources: {} added, {} changed, {} destroyed. {} AWS API calls in {:.2}s.",
        report.count(Op::Create),
        report.count(Op::Update),
        report.count(Op::Delete),
        report.api_calls,
        report.elapsed_ms as f64 / 1000.0
    );
    out
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Create => "create",
        Op::Update => "update",
        Op::Delete => "delete",
    }
}
