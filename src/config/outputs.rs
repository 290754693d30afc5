//! The stack's `outputs:`: named values (`${db.endpoint}`, templates, parameters) read
//! from the live resources after apply, each checked here against the declared resources
//! and their types' attributes, without any AWS call.

use super::diagnostic::{Diagnostic, Pos};
use super::eval::Eval;
use super::for_each::Decl;
use super::load::{is_name, Loader};
use super::params::Params;
use super::yaml::{Key, Node, NodeKind};
use crate::model::Value;

const OUTPUT_KEYS: &[&str] = &["value", "description", "sensitive"];

/// One declared output.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputDecl {
    pub name: String,
    /// The value with references to resources kept as `Value::Ref` / `Value::Template`.
    pub value: Value,
    pub description: Option<String>,
    /// Declared `sensitive: true`: never shown unless asked for.
    pub sensitive: bool,
    /// Where the output's name is written.
    pub pos: Pos,
}

impl Loader<'_> {
    /// Every output under `outputs:`, in file order; problems reported.
    pub(super) fn outputs(
        &mut self,
        node: Option<&Node>,
        decls: &[Decl],
        params: &Params,
    ) -> Vec<OutputDecl> {
        let Some(node) = node else {
            return Vec::new();
        };
        let Some(entries) = node.as_map() else {
            self.err(
                Diagnostic::new(
                    node.pos.clone(),
                    format!(
                        "`outputs` must be a mapping of names to outputs, found {}",
                        node.type_name()
                    ),
                )
                .hint("for example: outputs: { vpc_id: { value: \"${vpc.id}\" } }"),
            );
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(k, body)| self.output(k, body, decls, params))
            .collect()
    }

    fn output(
        &mut self,
        k: &Key,
        body: &Node,
        decls: &[Decl],
        params: &Params,
    ) -> Option<OutputDecl> {
        if !is_name(&k.name) {
            self.err(Diagnostic::new(
                k.pos.clone(),
                format!(
                    "output name `{}` may hold only letters, digits, '_' and '-'",
                    k.name
                ),
            ));
        }
        if body.as_map().is_none() {
            self.err(
                Diagnostic::new(
                    body.pos.clone(),
                    format!(
                        "output `{}` must be a mapping with `value`, found {}",
                        k.name,
                        body.type_name()
                    ),
                )
                .hint(format!(
                    "for example: {}: {{ value: \"${{vpc.id}}\" }}",
                    k.name
                )),
            );
            return None;
        }
        self.known_keys(body, OUTPUT_KEYS, &format!("output `{}`", k.name));
        let value = self.output_value(k, body, decls, params)?;
        Some(OutputDecl {
            name: k.name.clone(),
            value,
            description: self.output_description(body),
            sensitive: self.output_sensitive(body),
            pos: k.pos.clone(),
        })
    }

    /// The evaluated `value`; `None` when it is missing (reported).
    fn output_value(
        &mut self,
        k: &Key,
        body: &Node,
        decls: &[Decl],
        params: &Params,
    ) -> Option<Value> {
        let Some(v) = body.get("value") else {
            self.err(
                Diagnostic::new(
                    k.pos.clone(),
                    format!("missing required field `value` in output `{}`", k.name),
                )
                .hint("for example: value: ${vpc.id}"),
            );
            return None;
        };
        let poisoned = self.poisoned.clone();
        let mut eval = Eval {
            params_used: Default::default(),
            params,
            poisoned: &poisoned,
            each: None,
            decls,
            types: self.types,
            deps: Vec::new(),
            absent_is_null: true,
            errors: Vec::new(),
        };
        let value = eval.value(v);
        for d in eval.errors {
            self.err_once(d);
        }
        Some(value)
    }

    fn output_description(&mut self, body: &Node) -> Option<String> {
        let d = body.get("description")?;
        match d.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.err(Diagnostic::new(
                    d.pos.clone(),
                    format!("`description` must be a string, found {}", d.type_name()),
                ));
                None
            }
        }
    }

    fn output_sensitive(&mut self, body: &Node) -> bool {
        match body.get("sensitive") {
            None => false,
            Some(Node {
                kind: NodeKind::Bool(b),
                ..
            }) => *b,
            Some(n) => {
                self.err(
                    Diagnostic::new(n.pos.clone(), "`sensitive` must be true or false")
                        .hint("sensitive: true hides the value unless --show-sensitive is given"),
                );
                false
            }
        }
    }
}
