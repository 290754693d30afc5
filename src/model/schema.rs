//! The declared shape of a resource type: its fields (type, required, default, whether a
//! change forces replacement, whether it is secret) and the attributes others may reference.

use crate::model::Value;

#[derive(Debug)]
pub enum Kind {
    Str,
    Int,
    Bool,
    /// An IPv4 CIDR block such as `10.0.0.0/16`.
    Cidr,
    /// One of a fixed set of strings.
    OneOf(&'static [&'static str]),
    List(&'static Kind),
    Object(&'static [Field]),
    /// An IAM policy document, written as a mapping; compared by meaning
    /// (`model::document::same_policy`).
    Policy,
    /// Any JSON document (a mapping or a list), compared as data: key order and
    /// whitespace make no difference (`model::document::same_document`).
    Document,
    /// Function code from the project: a directory (packaged into a deterministic zip)
    /// or a `.zip`, written relative to the project root. Loading turns it into
    /// `{path, sha256}` (`config::package`); it is compared by digest alone.
    Package,
}

impl Kind {
    pub fn describe(&self) -> String {
        match self {
            Kind::Str => "a string".into(),
            Kind::Int => "an integer".into(),
            Kind::Bool => "a boolean (true or false)".into(),
            Kind::Cidr => "an IPv4 CIDR block such as 10.0.0.0/16".into(),
            Kind::OneOf(v) => format!("one of {}", v.join(", ")),
            Kind::List(k) => format!("a list of {}", strip_article(&k.describe())),
            Kind::Object(_) => "a mapping".into(),
            Kind::Policy => "an IAM policy document (a mapping with Version and Statement)".into(),
            Kind::Document => "a JSON document (a mapping or a list)".into(),
            Kind::Package => {
                "a path to a directory or .zip file, relative to the project root".into()
            }
        }
    }
}

fn strip_article(s: &str) -> String {
    s.trim_start_matches("an ")
        .trim_start_matches("a ")
        .to_string()
        + "s"
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Changing this field cannot be done in place: the resource is replaced.
    pub force_new: bool,
    /// Why AWS cannot change it in place, said next to `# forces replacement`.
    pub replace_why: Option<&'static str>,
    /// Never printed, logged or saved: shown as `(sensitive)`.
    pub sensitive: bool,
    pub default: Option<Default>,
    pub doc: &'static str,
}

#[derive(Debug)]
pub enum Default {
    Bool(bool),
    Int(i64),
    Str(&'static str),
    EmptyList,
}

impl Default {
    pub fn value(&self) -> Value {
        match self {
            Default::Bool(b) => Value::Bool(*b),
            Default::Int(i) => Value::Int(*i),
            Default::Str(s) => Value::Str((*s).to_string()),
            Default::EmptyList => Value::List(Vec::new()),
        }
    }
}

impl Field {
    /// A field with every flag off; build the rest with struct update syntax.
    pub const fn new(name: &'static str, kind: Kind, doc: &'static str) -> Self {
        Field {
            name,
            kind,
            required: false,
            force_new: false,
            replace_why: None,
            sensitive: false,
            default: None,
            doc,
        }
    }
}

#[derive(Debug)]
pub struct Schema {
    pub type_name: &'static str,
    pub doc: &'static str,
    pub fields: &'static [Field],
    /// Attributes readable as `${name.attr}` once the resource exists.
    pub attributes: &'static [&'static str],
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}
