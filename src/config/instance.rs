//! Resource instances: for each declaration and each of its instances, the properties
//! (the environment's overrides applied, values evaluated and conformed to the type's
//! schema, defaults filled in, required ones checked), `protect` and `depends_on`.

use super::conform::conform;
use super::diagnostic::{did_you_mean, Diagnostic, Pos};
use super::eval::{single_param, Eval};
use super::for_each::{Decl, Each};
use super::load::Loader;
use super::params::Params;
use super::yaml::{Key, Node, NodeKind};
use super::Resource;
use crate::model::{Addr, Kind, Props, Schema, TimeoutOverrides, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What the properties of one instance came to.
struct Properties {
    props: Props,
    field_pos: BTreeMap<String, Pos>,
    deps: Vec<Addr>,
    params: BTreeMap<String, BTreeSet<String>>,
}

impl Loader<'_> {
    /// The entries under `resources:`; `None` when it is missing or not a mapping.
    pub(super) fn resource_entries<'n>(&mut self, stack: &'n Node) -> Option<&'n [(Key, Node)]> {
        let res_node = stack.get("resources")?;
        let entries = res_node.as_map();
        if entries.is_none() {
            self.err(Diagnostic::new(
                res_node.pos.clone(),
                "`resources` must be a mapping of names to resources",
            ));
        }
        entries
    }

    /// Every instance of every declared resource.
    pub(super) fn resources(
        &mut self,
        decls: &[Decl],
        overrides: Option<&Node>,
        params: &Params,
    ) -> Vec<Resource> {
        let overrides = self.overrides(overrides, decls);
        let mut out = Vec::new();
        for decl in decls {
            let over = overrides.get(decl.name.name.as_str()).copied();
            for each in decl.instances() {
                if let Some(r) = self.instance(decl, each.as_ref(), decls, params, over) {
                    out.push(r);
                }
            }
        }
        out
    }

    /// The environment's `overrides:`, by resource name; those naming no resource reported.
    fn overrides<'n>(
        &mut self,
        overrides: Option<&'n Node>,
        decls: &[Decl],
    ) -> BTreeMap<&'n str, &'n Node> {
        let mut out = BTreeMap::new();
        for (k, v) in overrides.and_then(Node::as_map).unwrap_or_default() {
            if !decls.iter().any(|d| d.name.name == k.name) {
                let mut d = Diagnostic::new(
                    k.pos.clone(),
                    format!("override for unknown resource `{}`", k.name),
                );
                if let Some(s) = did_you_mean(&k.name, decls.iter().map(|d| d.name.name.as_str())) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.err(d);
            } else if v.as_map().is_none() {
                self.err(Diagnostic::new(
                    v.pos.clone(),
                    "an override must be a mapping of property names to values",
                ));
            } else {
                out.insert(k.name.as_str(), v);
            }
        }
        out
    }

    /// One instance of `decl`; `None` when its type is unknown (reported already).
    fn instance(
        &mut self,
        decl: &Decl,
        each: Option<&Each>,
        decls: &[Decl],
        params: &Params,
        overrides: Option<&Node>,
    ) -> Option<Resource> {
        let addr = Addr::new(&decl.name.name, each.map(|e| e.key.as_str()));
        let type_name = decl.type_name.clone()?;
        let schema = self.types.schema(&type_name)?;
        let fields = self.fields(decl, overrides);
        let poisoned = self.poisoned.clone();
        let mut eval = Eval {
            params_used: Default::default(),
            params,
            poisoned: &poisoned,
            each,
            decls,
            types: self.types,
            deps: Vec::new(),
            absent_is_null: false,
            errors: Vec::new(),
        };
        let Properties {
            props,
            field_pos,
            mut deps,
            params: params_used,
        } = self.properties(&addr, decl, schema, fields, &mut eval);
        self.depends_on(decl, decls, &mut deps);
        let protect = self.protect(decl, &mut eval);
        let timeouts = self.timeouts(decl);
        deps.sort();
        deps.dedup();
        deps.retain(|d| d != &addr);
        Some(Resource {
            addr,
            type_name,
            props,
            deps,
            protect,
            timeouts,
            pos: decl.name.pos.clone(),
            field_pos,
            params: params_used,
        })
    }

    /// The written properties, with the environment's overrides in place of theirs.
    fn fields<'n>(
        &mut self,
        decl: &Decl<'n>,
        overrides: Option<&'n Node>,
    ) -> Vec<(&'n Key, &'n Node)> {
        let mut fields: Vec<(&Key, &Node)> = Vec::new();
        if let Some(p) = decl.body.get("properties") {
            match p.as_map() {
                Some(m) => fields.extend(m.iter().map(|(k, v)| (k, v))),
                None => self.err(Diagnostic::new(
                    p.pos.clone(),
                    format!("`properties` must be a mapping, found {}", p.type_name()),
                )),
            }
        }
        for (k, v) in overrides.and_then(Node::as_map).unwrap_or_default() {
            fields.retain(|(fk, _)| fk.name != k.name);
            fields.push((k, v));
        }
        fields
    }

    /// Each field evaluated and conformed to `schema`; then defaults and missing ones.
    fn properties(
        &mut self,
        addr: &Addr,
        decl: &Decl,
        schema: &'static Schema,
        fields: Vec<(&Key, &Node)>,
        eval: &mut Eval,
    ) -> Properties {
        let only_first = eval.each.is_none_or(|e| e.index == 0);
        // Fields the user probably meant with a misspelt one: not also "missing".
        let mut meant: Vec<&str> = Vec::new();
        let mut props = Props::new();
        let mut field_pos = BTreeMap::new();
        let mut params = BTreeMap::new();
        for (k, v) in fields {
            let Some(field) = schema.field(&k.name) else {
                let d = unknown_field(k, decl, schema, &mut meant);
                if only_first {
                    self.err(d);
                }
                continue;
            };
            eval.params_used.clear();
            let value = eval.value(v);
            if !eval.params_used.is_empty() {
                params.insert(k.name.clone(), eval.params_used.clone());
            }
            let mut value = conform(
                &field.kind,
                value,
                v,
                &format!("`{}`", k.name),
                &mut eval.errors,
            );
            if let (Kind::Package, Value::Str(path)) = (&field.kind, &value) {
                match super::package::resolve(&self.root, path) {
                    Ok(packaged) => {
                        if let Some(sha) = packaged
                            .as_map()
                            .and_then(|m| m.get("sha256"))
                            .and_then(Value::as_str)
                        {
                            self.packages
                                .insert(path.clone(), super::package::base64_to_hex(sha));
                        }
                        value = packaged
                    }
                    Err(e) => eval
                        .errors
                        .push(Diagnostic::new(v.pos.clone(), format!("`{}`: {e}", k.name))),
                }
            }
            field_pos.insert(k.name.clone(), v.pos.clone());
            nested_pos(&k.name, v, &mut field_pos);
            if let Some(p) = v.as_str().and_then(single_param) {
                if let Some(at) = self.param_pos.get(&p) {
                    self.origins
                        .insert((addr.clone(), k.name.clone()), at.clone());
                }
            }
            props.insert(k.name.clone(), value);
        }
        let errors = std::mem::take(&mut eval.errors);
        let missing = defaults(decl, schema, &meant, &mut props);
        for d in errors.into_iter().chain(missing) {
            self.err_once(d);
        }
        Properties {
            props,
            field_pos,
            deps: std::mem::take(&mut eval.deps),
            params,
        }
    }

    /// The instances `depends_on` names, added to `deps`.
    fn depends_on(&mut self, decl: &Decl, decls: &[Decl], deps: &mut Vec<Addr>) {
        let Some(dep_node) = decl.body.get("depends_on") else {
            return;
        };
        let names: Vec<&Node> = match &dep_node.kind {
            NodeKind::Seq(items) => items.iter().collect(),
            NodeKind::Str(_) => vec![dep_node],
            _ => Vec::new(),
        };
        for n in names {
            let Some(target) = n.as_str() else {
                self.err(Diagnostic::new(
                    n.pos.clone(),
                    "`depends_on` entries must be resource names",
                ));
                continue;
            };
            match decls.iter().find(|d| d.name.name == target) {
                Some(d) if d.broken => {}
                Some(d) => match &d.keys {
                    Some(keys) => deps.extend(keys.iter().map(|(k, _)| Addr::new(target, Some(k)))),
                    None => deps.push(Addr::new(target, None)),
                },
                None => {
                    let mut d = Diagnostic::new(
                        n.pos.clone(),
                        format!("`depends_on` names unknown resource `{target}`"),
                    );
                    if let Some(s) =
                        did_you_mean(target, decls.iter().map(|d| d.name.name.as_str()))
                    {
                        d = d.hint(format!("did you mean `{s}`?"));
                    }
                    self.err_once(d);
                }
            }
        }
    }

    /// `protect: true`, or a boolean parameter (`${param.protect_data}`) so that one
    /// stack protects its data in prod only.
    fn protect(&mut self, decl: &Decl, eval: &mut Eval) -> bool {
        let Some(n) = decl.body.get("protect") else {
            return false;
        };
        let value = match &n.kind {
            NodeKind::Bool(b) => return *b,
            NodeKind::Str(_) => eval.value(n),
            _ => crate::model::Value::Null,
        };
        for e in std::mem::take(&mut eval.errors) {
            self.err(e);
        }
        match value {
            crate::model::Value::Bool(b) => b,
            _ => {
                self.err(
                    Diagnostic::new(n.pos.clone(), "`protect` must be true or false").hint(
                        "write true or false, or a boolean parameter such as ${param.protect_data}",
                    ),
                );
                false
            }
        }
    }

    /// `timeouts: { create: 60m, update: 80m, delete: 30m }`.
    fn timeouts(&mut self, decl: &Decl) -> TimeoutOverrides {
        let mut t = TimeoutOverrides::default();
        let Some(n) = decl.body.get("timeouts") else {
            return t;
        };
        let Some(m) = n.as_map() else {
            self.err(
                Diagnostic::new(n.pos.clone(), "`timeouts` must be a mapping")
                    .hint("for example: timeouts: { create: 60m, delete: 30m }"),
            );
            return t;
        };
        for (k, v) in m.iter() {
            let slot = match k.name.as_str() {
                "create" => &mut t.create,
                "update" => &mut t.update,
                "delete" => &mut t.delete,
                other => {
                    let mut d =
                        Diagnostic::new(k.pos.clone(), format!("unknown timeout `{other}`"));
                    d = match did_you_mean(other, ["create", "update", "delete"]) {
                        Some(m) => d.hint(format!("did you mean `{m}`?")),
                        None => d.hint("the timeouts are create, update and delete"),
                    };
                    self.err(d);
                    continue;
                }
            };
            match duration_secs(v) {
                Some(secs) => *slot = Some(secs),
                None => self.err(
                    Diagnostic::new(v.pos.clone(), format!("`{}` is not a duration", k.name))
                        .hint("write a number with s, m or h, such as 90s, 45m, 2h or 1h30m"),
                ),
            }
        }
        t
    }
}

/// "unknown field" for a property the type does not have; a close name it suggests is
/// added to `meant`, so it is not also reported missing.
fn unknown_field<'s>(
    k: &Key,
    decl: &Decl,
    schema: &'s Schema,
    meant: &mut Vec<&'s str>,
) -> Diagnostic {
    let type_name = decl.type_name.as_deref().unwrap_or(schema.type_name);
    let d = Diagnostic::new(
        k.pos.clone(),
        format!("unknown field `{}` for resource type `{type_name}`", k.name),
    );
    match did_you_mean(&k.name, schema.fields.iter().map(|f| f.name)) {
        Some(s) => {
            meant.extend(schema.field(&s).map(|f| f.name));
            d.hint(format!("did you mean `{s}`?"))
        }
        None => d.hint(format!(
            "fields of {type_name}: {}",
            schema
                .fields
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Fill in the defaults of fields not written; the required ones missing, as errors.
fn defaults(decl: &Decl, schema: &Schema, meant: &[&str], props: &mut Props) -> Vec<Diagnostic> {
    let name = &decl.name.name;
    let type_name = decl.type_name.as_deref().unwrap_or(schema.type_name);
    let mut missing = Vec::new();
    for f in schema.fields {
        if props.contains_key(f.name) {
            continue;
        }
        if let Some(d) = &f.default {
            props.insert(f.name.to_string(), d.value());
        } else if f.required && !meant.contains(&f.name) {
            missing.push(
                Diagnostic::new(
                    decl.name.pos.clone(),
                    format!(
                        "missing required field `{}` in resource `{name}` ({type_name})",
                        f.name
                    ),
                )
                .hint(format!("add `{}:` under `properties:` — {}", f.name, f.doc)),
            );
        }
    }
    missing
}

/// Where each item and field inside a written property is: `ingress[0]`,
/// `ingress[0].from_port`. Values that come from a parameter have no entries.
fn nested_pos(path: &str, node: &Node, out: &mut BTreeMap<String, Pos>) {
    match &node.kind {
        NodeKind::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.insert(p.clone(), item.pos.clone());
                nested_pos(&p, item, out);
            }
        }
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                let p = format!("{path}.{}", k.name);
                out.insert(p.clone(), v.pos.clone());
                nested_pos(&p, v, out);
            }
        }
        _ => {}
    }
}

/// Seconds of a duration written `90s`, `45m`, `2h` or `1h30m` (at least one second).
fn duration_secs(n: &Node) -> Option<u64> {
    let NodeKind::Str(s) = &n.kind else {
        return None;
    };
    let (mut total, mut digits) = (0u64, String::new());
    for c in s.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            'h' | 'm' | 's' if !digits.is_empty() => {
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = total.checked_add(digits.parse::<u64>().ok()?.checked_mul(unit)?)?;
                digits.clear();
            }
            _ => return None,
        }
    }
    (digits.is_empty() && total > 0).then_some(total)
}
