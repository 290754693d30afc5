//! `${...}` expressions inside stack strings: `${param.name}`, `${each.key}`,
//! `${each.value.field}`, `${resource.attr}`, `${resource[key].attr}`, `${resource[*].attr}`.

/// A string split into literal text and expressions.
#[derive(Debug, PartialEq)]
pub enum Piece {
    Lit(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Param(String),
    /// `each.key`, `each.value`, `each.value.a.b`, `each.index`.
    Each(Vec<String>),
    Resource {
        name: String,
        index: Option<Index>,
        attr: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Index {
    All,
    Key(String),
    Each(Vec<String>),
}

/// Split `s` into pieces; `$${` escapes a literal `${`.
pub fn split(s: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if i > 0 && rest[..i].ends_with('$') {
            lit.push_str(&rest[..i - 1]);
            lit.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        lit.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed expression in {s:?}: add the closing '}}'"))?;
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(Piece::Expr(parse(after[..end].trim())?));
        rest = &after[end + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn parse(e: &str) -> Result<Expr, String> {
    let bad = || {
        format!(
            "cannot read expression `${{{e}}}`: expected param.NAME, each.key, each.value, \
             RESOURCE.ATTRIBUTE or RESOURCE[KEY].ATTRIBUTE"
        )
    };
    let (head, index, tail) = match e.find('[') {
        Some(open) => {
            let close = e[open..].find(']').map(|c| c + open).ok_or_else(bad)?;
            let inner = e[open + 1..close].trim();
            let index = if inner == "*" {
                Index::All
            } else if let Some(path) = inner.strip_prefix("each.") {
                Index::Each(path.split('.').map(str::to_string).collect())
            } else {
                Index::Key(inner.trim_matches('"').trim_matches('\'').to_string())
            };
            (
                &e[..open],
                Some(index),
                e[close + 1..].strip_prefix('.').ok_or_else(bad)?,
            )
        }
        None => match e.split_once('.') {
            Some((h, t)) => (h, None, t),
            None => return Err(bad()),
        },
    };
    let path: Vec<String> = tail.split('.').map(str::to_string).collect();
    if !is_ident(head) || path.iter().any(|p| !is_ident(p)) {
        return Err(bad());
    }
    match (head, index) {
        ("param", None) if path.len() == 1 => Ok(Expr::Param(path[0].clone())),
        ("each", None) => Ok(Expr::Each(path)),
        ("param", _) | ("each", _) => Err(bad()),
        (name, index) if path.len() == 1 => Ok(Expr::Resource {
            name: name.to_string(),
            index,
            attr: path[0].clone(),
        }),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(parse("param.x"), Ok(Expr::Param("x".into())));
        assert_eq!(
            parse("each.value.nat"),
            Ok(Expr::Each(vec!["value".into(), "nat".into()]))
        );
        assert_eq!(
            parse("nat[each.value.nat].id"),
            Ok(Expr::Resource {
                name: "nat".into(),
                index: Some(Index::Each(vec!["value".into(), "nat".into()])),
                attr: "id".into()
            })
        );
        assert_eq!(
            parse("subnet[*].id"),
            Ok(Expr::Resource {
                name: "subnet".into(),
                index: Some(Index::All),
                attr: "id".into()
            })
        );
        assert!(parse("vpc").is_err());
        assert!(parse("a.b.c").is_err());
    }

    #[test]
    fn splits_text_and_expressions() {
        let p = split("pre-${vpc.id}-$${lit}").unwrap_or_default();
        assert_eq!(p.len(), 3);
        assert_eq!(p[2], Piece::Lit("-${lit}".into()));
        assert!(split("${oops").is_err());
    }
}
