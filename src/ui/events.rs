//! `apply --json` and `destroy --json`: one JSON object per line on stdout, each with its
//! `type` and UTC `time`, in the shape `docs/apply-events.schema.json` documents.

use crate::apply::Report;
use crate::model::{Event, Reporter};
use crate::plan::{Action, Plan};
use serde_json::{json, Value};
use std::io::Write;

/// The events of one run, as JSON lines.
pub struct JsonLines;

impl Reporter for JsonLines {
    fn event(&self, e: Event) {
        let line = match e {
            // Discovery is one step of the plan, whose line says what it found.
            Event::Reading { .. } | Event::Read { .. } => return,
            Event::Started { addr, op } => json!({"type": "started", "addr": addr, "op": op}),
            Event::Finished {
                addr,
                op,
                id,
                elapsed,
            } => json!({
                "type": "finished", "addr": addr, "op": op, "id": id,
                "elapsed_ms": crate::plan::duration_ms(elapsed),
            }),
            Event::Failed {
                addr,
                op,
                error,
                code,
                request_id,
            } => json!({
                "type": "failed", "addr": addr, "op": op, "error": error,
                "code": code, "request_id": request_id,
            }),
            Event::Skipped { addr, op, because } => {
                json!({"type": "skipped", "addr": addr, "op": op, "because": because})
            }
            Event::Interrupted { addr, op } => {
                json!({"type": "interrupted", "addr": addr, "op": op})
            }
            Event::Note { addr, message } => {
                json!({"type": "progress", "addr": addr, "message": message})
            }
        };
        emit(line);
    }
}

/// The plan about to be applied: what changes, and where it came from.
pub fn plan(plan: &Plan, saved_digest: Option<&str>) {
    let changes: Vec<Value> = plan
        .resources
        .iter()
        .filter(|r| r.action != Action::NoOp)
        .map(|r| json!({"addr": r.addr, "type": r.type_name, "action": r.action}))
        .collect();
    emit(json!({
        "type": "plan",
        "stack": plan.scope.stack,
        "env": plan.scope.env,
        "saved_plan": saved_digest,
        "summary": plan.summary,
        "changes": changes,
    }));
}

/// Something about the environment lock: `acquired`, `waiting`, `released`, `note`.
pub fn lock(status: &str, message: &str) {
    emit(json!({"type": "lock", "status": status, "message": message}));
}

/// The last line: the outcome and its counts.
pub fn summary(outcome: &str, report: Option<&Report>) {
    use crate::model::Op;
    let n = |f: &dyn Fn(&Report) -> usize| report.map(f).unwrap_or(0);
    emit(json!({
        "type": "summary",
        "outcome": outcome,
        "added": n(&|r| r.count(Op::Create)),
        "changed": n(&|r| r.count(Op::Update)),
        "destroyed": n(&|r| r.count(Op::Delete)),
        "failed": n(&|r| r.failed()),
        "skipped": n(&|r| r.skipped()),
        "interrupted": n(&|r| r.interrupted()),
        "api_calls": report.map(|r| r.api_calls).unwrap_or(0),
        "elapsed_ms": report.map(|r| r.elapsed_ms).unwrap_or(0),
    }));
}

/// Why the command stopped without applying (a stale plan, a held lock).
pub fn error(message: &str) {
    emit(json!({"type": "error", "message": message}));
}

fn emit(mut line: Value) {
    if let Some(obj) = line.as_object_mut() {
        obj.insert(
            "time".into(),
            Value::String(crate::aws::state_bucket::audit::now()),
        );
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
