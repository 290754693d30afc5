//! Rendering of the stack's outputs: `name = value` lines (for `output` and after an
//! apply), JSON, and one bare value for scripts. Sensitive values stay hidden unless
//! shown on purpose.

use crate::model::Value;
use crate::plan::outputs::ResolvedOutput;
use std::fmt::Write;

/// Shown for an output whose resources are not created yet.
pub const NOT_APPLIED: &str = "(not yet applied)";
/// Shown for a sensitive output.
pub const SENSITIVE: &str = "(sensitive)";

/// What to print for `o` in text: its value, or why it is not shown.
fn shown(o: &ResolvedOutput, show_sensitive: bool) -> String {
    if o.sensitive && !show_sensitive {
        SENSITIVE.to_string()
    } else if !o.missing.is_empty() {
        NOT_APPLIED.to_string()
    } else if o.value.has_unknown() {
        "(not known: AWS did not report it)".to_string()
    } else {
        o.value.to_string()
    }
}

/// `name = value` lines, the names aligned.
pub fn render(outputs: &[ResolvedOutput], show_sensitive: bool) -> String {
    let width = outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for o in outputs {
        let _ = writeln!(out, "{:width$} = {}", o.name, shown(o, show_sensitive));
    }
    out
}

/// The value alone, as in `render`.
pub fn render_one(o: &ResolvedOutput, show_sensitive: bool) -> String {
    format!("{}\n", shown(o, show_sensitive))
}

/// The block printed after a successful apply.
pub fn render_after_apply(outputs: &[ResolvedOutput]) -> String {
    if outputs.is_empty() {
        return String::new();
    }
    let lines = render(outputs, false);
    let mut out = String::from("\nOutputs:\n\n");
    for line in lines.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// One output as JSON: `{value, sensitive, description}`, with a `note` when the value is
/// not shown.
pub fn json_one(o: &ResolvedOutput, show_sensitive: bool) -> serde_json::Value {
    let (value, note) = if o.sensitive && !show_sensitive {
        (
            serde_json::Value::from(SENSITIVE),
            Some("sensitive: pass --show-sensitive to show it".to_string()),
        )
    } else if !o.missing.is_empty() {
        (serde_json::Value::Null, Some(not_applied_note(o)))
    } else {
        (to_json(&o.value), None)
    };
    let mut obj = serde_json::Map::new();
    obj.insert("value".into(), value);
    obj.insert("sensitive".into(), o.sensitive.into());
    obj.insert(
        "description".into(),
        o.description
            .clone()
            .map_or(serde_json::Value::Null, Into::into),
    );
    if let Some(n) = note {
        obj.insert("note".into(), n.into());
    }
    serde_json::Value::Object(obj)
}

/// Every output as a JSON object keyed by name.
pub fn json(outputs: &[ResolvedOutput], show_sensitive: bool) -> serde_json::Value {
    serde_json::Value::Object(
        outputs
            .iter()
            .map(|o| (o.name.clone(), json_one(o, show_sensitive)))
            .collect(),
    )
}

/// "not yet applied: `db` does not exist yet".
pub fn not_applied_note(o: &ResolvedOutput) -> String {
    let names: Vec<String> = o.missing.iter().map(|a| format!("`{a}`")).collect();
    let verb = if names.len() == 1 { "does" } else { "do" };
    format!(
        "not yet applied: {} {verb} not exist yet; run apply first",
        names.join(", ")
    )
}

/// The bare text of a value for `--raw`: strings unquoted, numbers and booleans as
/// written; `None` for lists, mappings and values not known.
pub fn raw(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A known value as plain JSON; what is not known is `null`.
fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Str(s) => s.clone().into(),
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => {
            serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::Sensitive => SENSITIVE.into(),
        Value::Null | Value::Ref(_) | Value::Template(_) | Value::Unknown => {
            serde_json::Value::Null
        }
    }
}
