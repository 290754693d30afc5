//! Edits of an environment file's text that keep its comments and layout: one-line
//! scalars replaced where they are written (`bootstrap` deriving a new environment's
//! file), and a parameter set (`deploy` writing back the tag or code it rolled out).

use super::diagnostic::Pos;
use super::yaml::{self, NodeKind};

/// `text` with `parameters.<name>` set to the string `value`: the written scalar replaced
/// in place, or a line added under `parameters:` (made if missing). The value is written
/// double-quoted, so a tag like `1.10` stays a string.
pub fn set_parameter(file: &str, text: &str, name: &str, value: &str) -> Result<String, String> {
    let doc = yaml::parse(file, text).map_err(|d| format!("{}: {}", d.pos, d.message))?;
    let quoted = serde_json::to_string(value).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let params = doc.get("parameters");
    let entry = params
        .and_then(|p| p.as_map())
        .and_then(|m| m.iter().find(|(k, _)| k.name == name));
    if let Some((k, v)) = entry {
        if matches!(v.kind, NodeKind::Map(_) | NodeKind::Seq(_)) || v.pos.line != k.pos.line {
            return Err(format!(
                "{file}:{}:{}: parameter `{name}` is not a single value; set it by hand",
                v.pos.line, v.pos.col
            ));
        }
        return replace_scalars(file, text, &[(v.pos.clone(), quoted)]);
    }
    let key_line = doc
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.name == "parameters"))
        .map(|(k, _)| k.pos.line);
    match (params.map(|p| &p.kind), key_line) {
        // A block mapping: a line before its first entry, indented as that entry.
        (Some(NodeKind::Map(entries)), _) if !entries.is_empty() => {
            let first = &entries[0].0.pos;
            let indent = " ".repeat(first.col.saturating_sub(1));
            let mut out = String::new();
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == first.line {
                    out.push_str(&format!("{indent}{name}: {quoted}\n"));
                }
                out.push_str(l);
            }
            Ok(out)
        }
        // `parameters: {}`, or `parameters:` with nothing under it: the line replaced.
        (Some(_), Some(line)) => {
            let at = lines
                .get(line.saturating_sub(1))
                .copied()
                .unwrap_or_default();
            let rest = at
                .trim_start()
                .trim_start_matches("parameters")
                .trim_start();
            if !(rest.starts_with(':') && matches!(rest[1..].trim(), "" | "{}")) {
                return Err(format!(
                    "{file}:{line}: `parameters:` is not a block mapping; add `{name}: {quoted}` by hand"
                ));
            }
            let mut out = String::new();
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == line {
                    out.push_str(&format!("parameters:\n  {name}: {quoted}\n"));
                } else {
                    out.push_str(l);
                }
            }
            Ok(out)
        }
        _ => {
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&format!("parameters:\n  {name}: {quoted}\n"));
            Ok(out)
        }
    }
}

/// `text` with the one-line scalar written at each position replaced by the YAML text
/// given for it (later positions first, so earlier ones stay valid).
pub(super) fn replace_scalars(
    file: &str,
    text: &str,
    edits: &[(Pos, String)],
) -> Result<String, String> {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut edits = edits.to_vec();
    edits.sort_by_key(|e| std::cmp::Reverse((e.0.line, e.0.col)));
    for (pos, value) in edits {
        let line = lines
            .get_mut(pos.line.saturating_sub(1))
            .ok_or_else(|| format!("{file}: line {} not found", pos.line))?;
        let start = line
            .char_indices()
            .nth(pos.col.saturating_sub(1))
            .map_or(line.len(), |(i, _)| i);
        let len = scalar_len(&line[start..]).ok_or_else(|| {
            format!(
                "{file}:{}:{}: the value goes on past its line; change it by hand",
                pos.line, pos.col
            )
        })?;
        line.replace_range(start..start + len, &value);
    }
    Ok(lines.concat())
}

/// The length in bytes of the one-line scalar `s` starts with: quoted (to its closing
/// quote) or plain (to a comment, a flow separator or the end of the line). `None` for
/// a block scalar or a quoted one that goes on past the line.
fn scalar_len(s: &str) -> Option<usize> {
    let line = s
        .split('\n')
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    let mut chars = line.char_indices();
    match chars.next() {
        Some((_, '"')) => {
            let mut escaped = false;
            for (i, c) in chars {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return Some(i + 1),
                    _ => escaped = false,
                }
            }
            None
        }
        Some((_, '\'')) => {
            let rest = &line[1..];
            let mut i = 0;
            while let Some(q) = rest[i..].find('\'') {
                let at = i + q;
                if rest[at + 1..].starts_with('\'') {
                    i = at + 2;
                } else {
                    return Some(at + 2);
                }
            }
            None
        }
        Some((_, '|' | '>')) | None => None,
        Some(_) => {
            let end = [" #", ", ", ",\t", "}", "]"]
                .iter()
                .filter_map(|stop| line.find(stop))
                .min()
                .unwrap_or(line.len());
            let body = line[..end].trim_end();
            let body = body.strip_suffix(',').unwrap_or(body);
            Some(body.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::set_parameter;

    const ENV: &str = "environment: dev\n# images\nparameters:\n  vpc_cidr: 10.10.0.0/16  # the VPC\n  frontend_image_tag: \"2026.11.30-1\"\n  backend_image_tag: '2026.11.30-1' # pinned\n  plain: abc\n";

    #[test]
    fn a_quoted_value_is_replaced_and_everything_else_kept() {
        let out = set_parameter("dev.yaml", ENV, "frontend_image_tag", "2026.12.01-2").unwrap();
        assert_eq!(out, ENV.replace("\"2026.11.30-1\"", "\"2026.12.01-2\""));
    }

    #[test]
    fn a_single_quoted_value_keeps_its_comment() {
        let out = set_parameter("dev.yaml", ENV, "backend_image_tag", "v2").unwrap();
        assert!(
            out.contains("  backend_image_tag: \"v2\" # pinned\n"),
            "{out}"
        );
    }

    #[test]
    fn a_plain_value_is_replaced_up_to_its_comment() {
        let out = set_parameter("dev.yaml", ENV, "vpc_cidr", "10.20.0.0/16").unwrap();
        assert!(
            out.contains("  vpc_cidr: \"10.20.0.0/16\"  # the VPC\n"),
            "{out}"
        );
        let out = set_parameter("dev.yaml", ENV, "plain", "x y").unwrap();
        assert!(out.ends_with("  plain: \"x y\"\n"), "{out}");
    }

    #[test]
    fn a_parameter_not_written_is_added_under_parameters() {
        let out = set_parameter("dev.yaml", ENV, "ai_worker_code", "build/worker").unwrap();
        assert!(
            out.contains("parameters:\n  ai_worker_code: \"build/worker\"\n  vpc_cidr:"),
            "{out}"
        );
    }

    #[test]
    fn without_parameters_the_section_is_made() {
        let out = set_parameter("x.yaml", "environment: x\n", "t", "1.10").unwrap();
        assert_eq!(out, "environment: x\nparameters:\n  t: \"1.10\"\n");
        let out = set_parameter("x.yaml", "environment: x\nparameters: {}\n", "t", "1").unwrap();
        assert_eq!(out, "environment: x\nparameters:\n  t: \"1\"\n");
    }

    #[test]
    fn a_mapping_or_a_block_scalar_is_left_to_the_user() {
        let text = "parameters:\n  m: { a: 1 }\n  b: |\n    x\n";
        assert!(set_parameter("x.yaml", text, "m", "v").is_err());
        assert!(set_parameter("x.yaml", text, "b", "v").is_err());
    }
}
