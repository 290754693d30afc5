//! Drift for auditors: where live AWS and the stack disagree, sorted into *changed* (a
//! declared resource whose fields differ: field, expected, actual), *missing* (declared,
//! not in AWS) and *unmanaged* (carrying this stack and environment's ownership tags but
//! not declared), with coverage. Computed from a plan, which only ever reads: discovery
//! and diff, never a write.
//!
//! With no state file there is no "last applied" to compare with: drift is the stack as
//! written against AWS as it is. A stack edited and not yet applied shows as drift too;
//! run it on the commit that was last applied.

use crate::config::Stack;
use crate::model::Value;
use crate::plan::{Action, Plan};
use serde::Serialize;

/// Bumped on any change a reader of `--format json` must know about.
pub const FORMAT_VERSION: u32 = 1;

/// One drift report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub format_version: u32,
    pub stack: String,
    pub env: String,
    pub region: Option<String>,
    /// When the live resources were read (RFC 3339, UTC).
    pub generated: String,
    pub summary: Summary,
    /// Drifted resources, in the stack's order, then the unmanaged ones.
    pub items: Vec<Item>,
    /// AWS API calls the report took (all of them reads).
    pub api_calls: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub changed: usize,
    pub missing: usize,
    pub unmanaged: usize,
    /// Declared resources that match.
    pub in_sync: usize,
    /// Live resources the stack declares (in sync or changed).
    pub managed: usize,
    /// Every live resource seen: managed and unmanaged.
    pub seen: usize,
}

impl Summary {
    pub fn has_drift(&self) -> bool {
        self.changed + self.missing + self.unmanaged > 0
    }

    /// Managed as a share of all seen, in percent (100 when nothing was seen).
    pub fn coverage_percent(&self) -> f64 {
        if self.seen == 0 {
            100.0
        } else {
            self.managed as f64 * 100.0 / self.seen as f64
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Changed,
    Missing,
    Unmanaged,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Changed => "changed",
            Kind::Missing => "missing",
            Kind::Unmanaged => "unmanaged",
        }
    }
}

/// One drifted resource.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub kind: Kind,
    pub addr: String,
    #[serde(rename = "type")]
    pub type_name: String,
    /// The live resource's id, when there is one.
    pub id: Option<String>,
    /// Where the resource is declared (`file:line:col`), when it is.
    pub declared_at: Option<Location>,
    /// For `changed`: each field that differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDrift>,
    /// For `unmanaged`: why it is not managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

/// A field whose live value differs from the stack's. A secret's values are never
/// shown: both are `(sensitive)`, and `sensitive` says the field changed.
#[derive(Clone, Debug, Serialize)]
pub struct FieldDrift {
    pub field: String,
    pub expected: Value,
    pub actual: Value,
    pub sensitive: bool,
}

/// The drift `plan` shows between `stack` and live AWS.
pub fn report(stack: &Stack, plan: &Plan, generated: String) -> Report {
    let mut items = Vec::new();
    let mut summary = Summary::default();
    for r in &plan.resources {
        let declared_at = stack.resource(&r.addr).map(|d| Location {
            file: d.pos.file.clone(),
            line: d.pos.line,
            col: d.pos.col,
        });
        let id = r.live.as_ref().map(|l| l.id.clone());
        // What an earlier apply left being made (`status`) is not drift.
        let fields: Vec<FieldDrift> = r
            .changes
            .iter()
            .filter(|c| {
                !(c.field == "status" && r.live.as_ref().is_some_and(|l| l.pending.is_some()))
            })
            // What depends on a missing resource (its ARN) is not drift of its own.
            .filter(|c| !c.after.has_unknown())
            .map(|c| {
                let sensitive =
                    matches!(c.before, Value::Sensitive) || matches!(c.after, Value::Sensitive);
                FieldDrift {
                    field: c.field.clone(),
                    expected: c.after.clone(),
                    actual: c.before.clone(),
                    sensitive,
                }
            })
            .collect();
        let (kind, reason) = match r.action {
            Action::NoOp => {
                summary.in_sync += 1;
                summary.managed += 1;
                continue;
            }
            Action::Update | Action::Replace if fields.is_empty() => {
                summary.in_sync += 1;
                summary.managed += 1;
                continue;
            }
            Action::Update | Action::Replace => {
                summary.changed += 1;
                summary.managed += 1;
                (Kind::Changed, None)
            }
            Action::Create => {
                summary.missing += 1;
                (Kind::Missing, None)
            }
            Action::Delete => {
                summary.unmanaged += 1;
                let why = match r.reason.as_deref() {
                    Some("no longer declared in the stack") | None => {
                        "tagged for this stack and environment, but the stack does not declare it"
                            .to_string()
                    }
                    Some(other) => format!("tagged for this stack and environment: {other}"),
                };
                (Kind::Unmanaged, Some(why))
            }
        };
        items.push(Item {
            kind,
            addr: r.addr.to_string(),
            type_name: r.type_name.clone(),
            id,
            declared_at: if kind == Kind::Unmanaged {
                None
            } else {
                declared_at
            },
            fields: if kind == Kind::Changed {
                fields
            } else {
                Vec::new()
            },
            reason,
        });
    }
    summary.seen = summary.managed + summary.unmanaged;
    Report {
        format_version: FORMAT_VERSION,
        stack: plan.scope.stack.clone(),
        env: plan.scope.env.clone(),
        region: plan.region.clone(),
        generated,
        summary,
        items,
        api_calls: plan.api_calls,
    }
}

impl Report {
    /// Add what was found inside the stack's network without anyone's tags: `(type,
    /// id, what it is)`.
    pub fn add_untagged(&mut self, found: impl IntoIterator<Item = (String, String, String)>) {
        for (type_name, id, what) in found {
            self.summary.unmanaged += 1;
            self.summary.seen += 1;
            self.items.push(Item {
                kind: Kind::Unmanaged,
                addr: format!("(untagged {id})"),
                type_name,
                id: Some(id),
                declared_at: None,
                fields: Vec::new(),
                reason: Some(what),
            });
        }
    }
}
