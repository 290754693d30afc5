//! A problem found in the stack or environment files: where it is (file:line:col), what is
//! wrong and what would be right. Rendering lives in `ui`.

use serde::Serialize;
use std::fmt;

/// A position in a source file; line and column start at 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pos {
    pub file: String,
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub fn new(file: &str, line: usize, col: usize) -> Self {
        Pos {
            file: file.to_string(),
            line,
            col,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// How serious a diagnostic is: errors stop every command; warnings are shown and the
/// command goes on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
    /// Other places that explain the problem (the first definition of a duplicate...).
    pub related: Vec<(Pos, String)>,
}

impl Diagnostic {
    /// An error.
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            pos,
            message: message.into(),
            hint: None,
            related: Vec::new(),
        }
    }

    /// A warning: shown, but validate still passes and plan/apply go on.
    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::new(pos, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Hint "did you mean `X`?" when a candidate is close to `word`, else `otherwise`.
    pub fn suggest<'a>(
        self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
        otherwise: impl Into<String>,
    ) -> Self {
        match did_you_mean(word, candidates) {
            Some(s) => self.hint(format!("did you mean `{s}`?")),
            None => self.hint(otherwise),
        }
    }

    pub fn related(mut self, pos: Pos, label: impl Into<String>) -> Self {
        self.related.push((pos, label.into()));
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.pos, self.message)?,
            Severity::Warning => write!(f, "{}: warning: {}", self.pos, self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

/// "did you mean ...?" for a misspelt name, when one of `candidates` is close: a typo or
/// two (edit distance, transpositions counted once), or a similar spelling (Jaro-Winkler).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let max_edits = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::osa_distance(word, c),
                strsim::jaro_winkler(word, c),
                c,
            )
        })
        .filter(|(d, jw, _)| *d <= max_edits || *jw > 0.85)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c.to_string())
}

/// Every problem (and warning) found while loading, in file order.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// The text of each file read, for rendering snippets.
    pub sources: Vec<(String, String)>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// No errors and no warnings.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Any error: the stack must not be planned or applied.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn sorted(mut self) -> Self {
        self.items.sort_by(|a, b| a.pos.cmp(&b.pos));
        self.items.dedup();
        self
    }
}
