//! A drift report as text (for people), JSON (`docs/drift.schema.json`), Markdown (a
//! pull-request comment or audit ticket: summary table first, details collapsed) and
//! SARIF 2.1.0 (one result per drifted resource, for code-scanning tools).

use crate::drift::{Item, Kind, Report};
use crate::model::Value;
use console::style;
use serde_json::json;
use std::fmt::Write;

fn coverage(r: &Report) -> String {
    let s = &r.summary;
    format!(
        "{} of {} live resource{} managed ({:.1}%)",
        s.managed,
        s.seen,
        if s.seen == 1 { "" } else { "s" },
        s.coverage_percent()
    )
}

fn symbol(kind: Kind) -> String {
    match kind {
        Kind::Changed => style("~").yellow().to_string(),
        Kind::Missing => style("+").green().to_string(),
        Kind::Unmanaged => style("?").red().to_string(),
    }
}

fn shown(v: &Value, sensitive: bool) -> String {
    if sensitive {
        "(sensitive)".into()
    } else {
        v.to_string()
    }
}

pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let region = r
        .region
        .as_ref()
        .map(|x| format!(" ({x})"))
        .unwrap_or_default();
    if !s.has_drift() {
        let _ = writeln!(
            out,
            "No drift: the {} environment of stack {}{region} matches the stack ({} resources in sync).",
            r.env, r.stack, s.in_sync
        );
        let _ = writeln!(out, "Coverage: {}.", coverage(r));
        return out;
    }
    let _ = writeln!(
        out,
        "Drift in the {} environment of stack {}{region}, read at {}:\n",
        r.env, r.stack, r.generated
    );
    for i in &r.items {
        let id = i.id.as_ref().map(|x| format!(" [{x}]")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {} ({}) {}{id}",
            symbol(i.kind),
            style(&i.addr).bold(),
            i.type_name,
            i.kind.word()
        );
        for f in &i.fields {
            match set_delta(f) {
                // Lists are compared as sets: say which items AWS has that the stack
                // does not, and the other way round.
                Some((extra, lacking)) => {
                    let _ = writeln!(out, "      {}:", f.field);
                    for v in extra {
                        let _ = writeln!(out, "        + {v}   (in AWS, not in the stack)");
                    }
                    for v in lacking {
                        let _ = writeln!(out, "        - {v}   (in the stack, not in AWS)");
                    }
                }
                None => {
                    let _ = writeln!(
                        out,
                        "      {}: expected {}, actual {}",
                        f.field,
                        shown(&f.expected, f.sensitive),
                        shown(&f.actual, f.sensitive)
                    );
                }
            }
        }
        if let Some(at) = &i.declared_at {
            let _ = writeln!(out, "      declared at {}:{}:{}", at.file, at.line, at.col);
        }
        if let Some(why) = &i.reason {
            let _ = writeln!(out, "      {why}");
        }
    }
    let _ = writeln!(
        out,
        "\nDrift: {} changed, {} missing, {} unmanaged; {} in sync. Coverage: {}.",
        s.changed,
        s.missing,
        s.unmanaged,
        s.in_sync,
        coverage(r)
    );
    out
}

/// For a list field: the items only AWS has, and those only the stack has.
fn set_delta(f: &crate::drift::FieldDrift) -> Option<(Vec<&Value>, Vec<&Value>)> {
    match (&f.actual, &f.expected) {
        (Value::List(actual), Value::List(expected)) if !f.sensitive => Some((
            actual.iter().filter(|v| !expected.contains(v)).collect(),
            expected.iter().filter(|v| !actual.contains(v)).collect(),
        )),
        _ => None,
    }
}

pub fn json(r: &Report) -> anyhow::Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(r)?))
}

/// A table cell: no line breaks, `|` escaped, in code.
fn cell(s: &str) -> String {
    format!(
        "`{}`",
        s.replace('|', "\\|").replace('\n', " ").replace('`', "'")
    )
}

pub fn markdown(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.summary;
    let verdict = if s.has_drift() {
        "drift found"
    } else {
        "no drift"
    };
    let _ = writeln!(
        out,
        "## Drift: stack `{}`, environment `{}`: {verdict}\n",
        r.stack, r.env
    );
    let _ = writeln!(out, "| | count |\n|---|---|");
    let _ = writeln!(out, "| changed | {} |", s.changed);
    let _ = writeln!(out, "| missing | {} |", s.missing);
    let _ = writeln!(out, "| unmanaged | {} |", s.unmanaged);
    let _ = writeln!(out, "| in sync | {} |", s.in_sync);
    let _ = writeln!(out, "| coverage | {} |", coverage(r));
    let _ = writeln!(
        out,
        "\nRead at {}{} with {} AWS API calls, all of them reads.",
        r.generated,
        r.region
            .as_ref()
            .map(|x| format!(" in {x}"))
            .unwrap_or_default(),
        r.api_calls
    );
    for i in &r.items {
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code> ({}): {}</summary>\n",
            i.addr.replace('<', "&lt;"),
            i.type_name,
            i.kind.word()
        );
        if !i.fields.is_empty() {
            let _ = writeln!(
                out,
                "| field | expected (the stack) | actual (AWS) |\n|---|---|---|"
            );
            for f in &i.fields {
                let (expected, actual) = match set_delta(f) {
                    Some((extra, lacking)) => (
                        lacking
                            .iter()
                            .map(|v| cell(&format!("- {v}")))
                            .collect::<Vec<_>>()
                            .join("<br>"),
                        extra
                            .iter()
                            .map(|v| cell(&format!("+ {v}")))
                            .collect::<Vec<_>>()
                            .join("<br>"),
                    ),
                    None => (
                        cell(&shown(&f.expected, f.sensitive)),
                        cell(&shown(&f.actual, f.sensitive)),
                    ),
                };
                let or_dash = |s: String| if s.is_empty() { "—".to_string() } else { s };
                let (expected, actual) = (or_dash(expected), or_dash(actual));
                let _ = writeln!(out, "| {} | {expected} | {actual} |", cell(&f.field));
            }
            if i.fields.iter().any(|f| set_delta(f).is_some()) {
                let _ = writeln!(
                    out,
                    "\nLists are compared as sets: only the items on one side are shown."
                );
            }
            out.push('\n');
        }
        let mut facts = Vec::new();
        if let Some(at) = &i.declared_at {
            facts.push(format!("Declared at `{}:{}:{}`.", at.file, at.line, at.col));
        }
        if let Some(id) = &i.id {
            facts.push(format!("Live id `{id}`."));
        }
        if i.kind == Kind::Missing {
            facts.push("Not found in AWS.".into());
        }
        if let Some(why) = &i.reason {
            let mut chars = why.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            facts.push(format!("{}{}.", first.unwrap_or_default(), chars.as_str()));
        }
        let _ = writeln!(out, "{}\n\n</details>", facts.join(" "));
    }
    out
}

/// SARIF 2.1.0: one result per drifted resource, located at its declaration (an
/// unmanaged one at the environment file, which owns the tags it carries).
pub fn sarif(r: &Report, env_file: &str) -> anyhow::Result<String> {
    let rules = [
        (
            Kind::Changed,
            "A declared resource whose live fields differ from the stack.",
            "warning",
        ),
        (
            Kind::Missing,
            "A declared resource that does not exist in AWS.",
            "error",
        ),
        (
            Kind::Unmanaged,
            "A resource tagged for this stack and environment that the stack does not declare.",
            "warning",
        ),
    ];
    let rule_id = |k: Kind| format!("drift/{}", k.word());
    let results: Vec<serde_json::Value> = r
        .items
        .iter()
        .map(|i| {
            let level = rules
                .iter()
                .find(|x| x.0 == i.kind)
                .map(|x| x.2)
                .unwrap_or("warning");
            result(i, env_file, level, &rule_id(i.kind))
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "bandup-infra",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|(k, text, level)| json!({
                    "id": rule_id(*k),
                    "name": format!("Drift{}", match k { Kind::Changed => "Changed", Kind::Missing => "Missing", Kind::Unmanaged => "Unmanaged" }),
                    "shortDescription": {"text": text},
                    "defaultConfiguration": {"level": level},
                })).collect::<Vec<_>>(),
            }},
            "automationDetails": {"id": format!("bandup-infra/drift/{}/{}/", r.stack, r.env)},
            "results": results,
        }],
    });
    Ok(format!("{}\n", serde_json::to_string_pretty(&doc)?))
}

fn result(i: &Item, env_file: &str, level: &str, rule_id: &str) -> serde_json::Value {
    let what = match i.kind {
        Kind::Changed => {
            let fields: Vec<String> = i
                .fields
                .iter()
                .map(|f| {
                    format!(
                        "{} (expected {}, actual {})",
                        f.field,
                        shown(&f.expected, f.sensitive),
                        shown(&f.actual, f.sensitive)
                    )
                })
                .collect();
            format!(
                "`{}` ({}) changed in AWS: {}",
                i.addr,
                i.type_name,
                fields.join("; ")
            )
        }
        Kind::Missing => format!(
            "`{}` ({}) is declared but missing in AWS",
            i.addr, i.type_name
        ),
        Kind::Unmanaged => format!(
            "`{}` ({}, {}) is unmanaged: {}",
            i.addr,
            i.type_name,
            i.id.as_deref().unwrap_or("?"),
            i.reason
                .as_deref()
                .unwrap_or("the stack does not declare it")
        ),
    };
    let (uri, line, col) = match &i.declared_at {
        Some(at) => (at.file.clone(), at.line, at.col),
        None => (env_file.to_string(), 1, 1),
    };
    json!({
        "ruleId": rule_id,
        "level": level,
        "message": {"text": what},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": uri},
            "region": {"startLine": line.max(1), "startColumn": col.max(1)},
        }}],
        "partialFingerprints": {"bandupAddress/v1": format!("{}:{}", i.type_name, i.addr)},
        "properties": {"kind": i.kind.word(), "address": i.addr, "type": i.type_name, "id": i.id},
    })
}
