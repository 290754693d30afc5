//! Diagnostics from the stack files, rendered with the offending line underlined
//! (miette), the file:line:col, and the hint.

use super::Style;
use crate::config::{Diagnostic, Diagnostics};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use std::fmt;

#[derive(Debug)]
struct Report {
    message: String,
    /// `None` for a place that is not in a file read (`--env`): no snippet then.
    src: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    help: Option<String>,
    related: Vec<Report>,
    /// `None` for an error; a warning; advice for a related place (not another error).
    severity: Option<miette::Severity>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn severity(&self) -> Option<miette::Severity> {
        self.severity
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.src.as_ref()?;
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

/// Byte span of the token starting at `line`:`col` (1-based, col in characters).
fn span(text: &str, line: usize, col: usize) -> SourceSpan {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let start = offset
                + l.char_indices()
                    .nth(col.saturating_sub(1))
                    .map(|(b, _)| b)
                    .unwrap_or(0);
            let rest = &text[start.min(text.len())..];
            let len = rest.find(['\n', ':', ',', '}', ']']).unwrap_or(rest.len());
            return SourceSpan::new(start.into(), len.max(1));
        }
        offset += l.len();
    }
    SourceSpan::new(offset.min(text.len()).into(), 0)
}

/// The text of `file`, if it was read.
fn source<'a>(sources: &'a [(String, String)], file: &str) -> Option<&'a str> {
    sources
        .iter()
        .find(|(f, _)| f == file)
        .map(|(_, t)| t.as_str())
}

fn report(d: &Diagnostic, sources: &[(String, String)]) -> Report {
    let text = source(sources, &d.pos.file);
    let label = LabeledSpan::new_with_span(
        Some("here".into()),
        span(text.unwrap_or_default(), d.pos.line, d.pos.col),
    );
    let related = d
        .related
        .iter()
        .map(|(pos, msg)| {
            let t = source(sources, &pos.file);
            Report {
                message: format!("{pos}: {msg}"),
                labels: vec![LabeledSpan::new_with_span(
                    Some(msg.clone()),
                    span(t.unwrap_or_default(), pos.line, pos.col),
                )],
                src: t.map(|t| NamedSource::new(&pos.file, t.to_string())),
                help: None,
                related: Vec::new(),
                severity: Some(miette::Severity::Advice),
            }
        })
        .collect();
    Report {
        message: format!("{}: {}", d.pos, d.message),
        src: text.map(|t| NamedSource::new(&d.pos.file, t.to_string())),
        labels: vec![label],
        help: d.hint.clone(),
        related,
        severity: (!d.is_error()).then_some(miette::Severity::Warning),
    }
}

/// Every diagnostic, then a count of errors and of warnings.
pub fn render(diags: &Diagnostics, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in &diags.items {
        let mut s = String::new();
        if handler
            .render_report(&mut s, &report(d, &diags.sources))
            .is_err()
        {
            s = format!("error: {d}\n");
        }
        out.push_str(&s);
        out.push('\n');
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (errors, warnings) = (diags.error_count(), diags.warning_count());
    let warned = format!("{warnings} warning{}", plural(warnings));
    out.push_str(&match (errors, warnings) {
        (0, w) if w > 0 => format!("{warned} found.\n"),
        (e, 0) => format!("{e} problem{} found; nothing was sent to AWS.\n", plural(e)),
        (e, _) => format!(
            "{e} problem{} and {warned} found; nothing was sent to AWS.\n",
            plural(e)
        ),
    });
    out
}
