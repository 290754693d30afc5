//! Progress events the engine emits while it plans and applies; `ui` renders them.

use super::Addr;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn verb(self) -> &'static str {
        match self {
            Op::Create => "Creating",
            Op::Update => "Modifying",
            Op::Delete => "Destroying",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            Op::Create => "created",
            Op::Update => "modified",
            Op::Delete => "destroyed",
        }
    }

    pub fn done(self) -> &'static str {
        match self {
            Op::Create => "Creation complete",
            Op::Update => "Modifications complete",
            Op::Delete => "Destruction complete",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Event {
    /// Discovery of one resource type started.
    Reading {
        type_name: String,
    },
    /// Discovery of one resource type finished, with how many live resources it found.
    Read {
        type_name: String,
        found: usize,
    },
    Started {
        addr: Addr,
        op: Op,
    },
    Finished {
        addr: Addr,
        op: Op,
        id: String,
        elapsed: Duration,
    },
    Failed {
        addr: Addr,
        op: Op,
        error: String,
        /// AWS's error code and request id, when AWS answered.
        code: Option<String>,
        request_id: Option<String>,
    },
    Skipped {
        addr: Addr,
        op: Op,
        because: Addr,
    },
    /// Not started: the user interrupted the apply.
    Interrupted {
        addr: Addr,
        op: Op,
    },
    /// Something the user should know about an operation in flight: a resource found
    /// and adopted instead of created, a retry after an answer was lost.
    Note {
        addr: Addr,
        message: String,
    },
}

/// Where events go. Implementations must be cheap: they are called from the engine's tasks.
pub trait Reporter: Send + Sync {
    fn event(&self, e: Event);
}

/// Drops every event (tests, JSON output).
pub struct Quiet;

impl Reporter for Quiet {
    fn event(&self, _: Event) {}
}
