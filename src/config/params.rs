//! Parameters: their declarations in the stack (type, default), the values the
//! environment sets, and the typed value of each; a parameter without a usable value is
//! reported once and its uses stay silent.

use super::diagnostic::{did_you_mean, Diagnostic, Pos};
use super::eval::plain;
use super::load::Loader;
use super::yaml::{Key, Node};
use crate::model::Value;
use std::collections::BTreeMap;

const PARAM_KEYS: &[&str] = &["type", "default", "description"];
const PARAM_TYPES: &[&str] = &["string", "int", "bool", "cidr", "list", "map"];

/// Parameter values by name.
pub(super) type Params = BTreeMap<String, Value>;

/// A declared parameter: its type, its default and where it was declared.
struct ParamDecl<'n> {
    ty: String,
    default: Option<&'n Node>,
    pos: Pos,
}

impl Loader<'_> {
    /// The typed value of every declared parameter that has a usable one.
    pub(super) fn params(
        &mut self,
        decl: Option<&Node>,
        set: Option<&Node>,
        have_env: bool,
    ) -> Params {
        let decls = self.param_decls(decl);
        let values = self.param_values(set, &decls);
        let mut out = BTreeMap::new();
        for (name, d) in decls {
            let Some(node) = values.get(&name).copied().or(d.default) else {
                self.param_not_set(&name, d.pos, have_env);
                continue;
            };
            if let Some(value) = self.param_value(&name, &d.ty, node) {
                self.param_pos.insert(name.clone(), node.pos.clone());
                out.insert(name, value);
            }
        }
        for (name, value) in &self.overrides {
            if out.contains_key(name) {
                out.insert(name.clone(), value.clone());
            }
        }
        out
    }

    /// The declarations under `parameters:` of the stack, broken ones reported.
    fn param_decls<'n>(&mut self, decl: Option<&'n Node>) -> BTreeMap<String, ParamDecl<'n>> {
        let mut out = BTreeMap::new();
        for (k, v) in decl.and_then(Node::as_map).unwrap_or_default() {
            if v.as_map().is_none() {
                self.err(
                    Diagnostic::new(
                        v.pos.clone(),
                        format!(
                            "parameter `{}` must be a mapping with `type` and optionally `default`",
                            k.name
                        ),
                    )
                    .hint("for example: { type: cidr, default: 10.0.0.0/16 }"),
                );
                self.poisoned.insert(k.name.clone());
                continue;
            }
            self.known_keys(v, PARAM_KEYS, &format!("parameter `{}`", k.name));
            let Some(ty) = self.param_type(k, v) else {
                self.poisoned.insert(k.name.clone());
                continue;
            };
            let d = ParamDecl {
                ty,
                default: v.get("default"),
                pos: k.pos.clone(),
            };
            out.insert(k.name.clone(), d);
        }
        out
    }

    /// The declared `type`, or `None` (reported) when it is missing or unknown.
    fn param_type(&mut self, k: &Key, v: &Node) -> Option<String> {
        let Some(t) = v.get("type") else {
            self.err(
                Diagnostic::new(
                    k.pos.clone(),
                    format!("missing required field `type` in parameter `{}`", k.name),
                )
                .hint(format!("one of: {}", PARAM_TYPES.join(", "))),
            );
            return None;
        };
        match t.as_str() {
            Some(s) if PARAM_TYPES.contains(&s) => Some(s.to_string()),
            _ => {
                let got = t.as_str().unwrap_or("?");
                self.err(
                    Diagnostic::new(t.pos.clone(), format!("unknown parameter type `{got}`"))
                        .suggest(
                            got,
                            PARAM_TYPES.iter().copied(),
                            format!("expected one of: {}", PARAM_TYPES.join(", ")),
                        ),
                );
                None
            }
        }
    }

    /// What the environment sets, by name, for the declared parameters.
    fn param_values<'n>(
        &mut self,
        set: Option<&'n Node>,
        decls: &BTreeMap<String, ParamDecl>,
    ) -> BTreeMap<String, &'n Node> {
        let mut values = BTreeMap::new();
        for (k, v) in set.and_then(Node::as_map).unwrap_or_default() {
            if !decls.contains_key(&k.name) {
                let mut d = Diagnostic::new(
                    k.pos.clone(),
                    format!(
                        "unknown parameter `{}`: the stack does not declare it",
                        k.name
                    ),
                );
                if let Some(s) = did_you_mean(&k.name, decls.keys().map(String::as_str)) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.err(d);
                continue;
            }
            values.insert(k.name.clone(), v);
        }
        // A parameter whose declaration is broken is reported there, not also as unknown.
        values.retain(|name, _| !self.poisoned.contains(name));
        values
    }

    fn param_not_set(&mut self, name: &str, pos: Pos, have_env: bool) {
        self.err(
            Diagnostic::new(
                pos,
                format!("parameter `{name}` has no default and the environment does not set it"),
            )
            .hint(if have_env {
                format!("set `{name}` under `parameters:` in the environment file")
            } else {
                format!("pass --env NAME to read environments/NAME.yaml, which sets `{name}`, or give it a `default:`")
            }),
        );
        self.poisoned.insert(name.to_string());
    }

    /// The value written at `node`, when it is of type `ty` (else reported).
    fn param_value(&mut self, name: &str, ty: &str, node: &Node) -> Option<Value> {
        let value = plain(node);
        let Some((msg, example)) = param_type_error(ty, &value) else {
            return Some(value);
        };
        self.err(
            Diagnostic::new(
                node.pos.clone(),
                format!(
                    "parameter `{name}`: expected {msg}, found {}",
                    node.type_name()
                ),
            )
            .hint(format!(
                "parameter `{name}` has type {ty}: for example {example}"
            )),
        );
        self.poisoned.insert(name.to_string());
        None
    }
}

/// "unknown parameter" at `node`, with the closest declared name.
pub(super) fn unknown_param(node: &Node, name: &str, params: &Params) -> Diagnostic {
    let d = Diagnostic::new(node.pos.clone(), format!("unknown parameter `{name}`"));
    match did_you_mean(name, params.keys().map(String::as_str)) {
        Some(s) => d.hint(format!("did you mean `param.{s}`?")),
        None => d.hint("declare it under `parameters:` in the stack file"),
    }
}

/// What a value of parameter type `ty` must be, and an example, when `v` is not one.
fn param_type_error(ty: &str, v: &Value) -> Option<(&'static str, &'static str)> {
    let ok = match ty {
        "string" => matches!(v, Value::Str(_)),
        "int" => matches!(v, Value::Int(_)),
        "bool" => matches!(v, Value::Bool(_)),
        "cidr" => v
            .as_str()
            .is_some_and(|s| s.parse::<ipnet::Ipv4Net>().is_ok()),
        "list" => matches!(v, Value::List(_)),
        "map" => matches!(v, Value::Map(_)),
        _ => true,
    };
    if ok {
        return None;
    }
    Some(match ty {
        "string" => ("a string", "\"text\""),
        "int" => ("an integer", "8080"),
        "bool" => ("true or false", "true"),
        "cidr" => ("an IPv4 CIDR block such as 10.0.0.0/16", "10.0.0.0/16"),
        "list" => ("a list", "[eu-west-2a, eu-west-2b]"),
        _ => ("a mapping", "{ eu-west-2a: 10.0.0.0/24 }"),
    })
}
