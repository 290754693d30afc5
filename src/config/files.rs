//! Which files are read and how: the environment file `--env` selects, the stack it names
//! (or `--stack`), each read within the size limits and parsed into a `Node` tree, with
//! keys written twice reported.

use super::diagnostic::{did_you_mean, Diagnostic, Pos};
use super::load::{LoadOptions, Loader};
use super::names::check_env_name;
use super::yaml::{self, Node};
use std::path::{Path, PathBuf};

const STACK_KEYS: &[&str] = &[
    "stack",
    "description",
    "tags",
    "parameters",
    "resources",
    "outputs",
];
const ENV_KEYS: &[&str] = &[
    "environment",
    "description",
    "stack",
    "region",
    "account_id",
    "state_bucket",
    "tags",
    "parameters",
    "overrides",
];

/// The parsed files of one load.
pub(super) struct Files {
    /// The environment file, when `--env` names one.
    pub(super) env: Option<Node>,
    pub(super) stack: Node,
}

impl Loader<'_> {
    /// Read the environment file and the stack file, checking their top-level keys.
    pub(super) fn files(&mut self, opts: &LoadOptions) -> Option<Files> {
        let root = &opts.root;
        if let Some(Err(e)) = opts.env.as_deref().map(check_env_name) {
            // Before any file is opened: `../x` must never reach the filesystem.
            self.invalid_env_arg(root, &e);
            return None;
        }
        let env = match &opts.env {
            Some(env) => Some(self.env_file(root, env)?),
            None => None,
        };
        if let Some(e) = &env {
            self.known_keys(e, ENV_KEYS, "the environment file");
        }
        let stack_path = self.stack_path(opts, env.as_ref())?;
        let stack = self.read(root, &stack_path, true)?;
        self.known_keys(&stack, STACK_KEYS, "the stack file");
        Some(Files { env, stack })
    }

    fn invalid_env_arg(&mut self, root: &Path, problem: &str) {
        let known = list_envs(root);
        let hint = if known.is_empty() {
            "--env NAME reads environments/NAME.yaml".to_string()
        } else {
            format!("environments: {}", known.join(", "))
        };
        self.err(
            Diagnostic::new(
                Pos::new("--env", 1, 1),
                format!("invalid environment: {problem}"),
            )
            .hint(hint),
        );
    }

    /// `environments/<env>.yaml`, parsed; an unknown environment names the known ones.
    fn env_file(&mut self, root: &Path, env: &str) -> Option<Node> {
        let path = root.join("environments").join(format!("{env}.yaml"));
        if path.exists() {
            return self.read(root, &path, false);
        }
        let available = list_envs(root);
        let d = Diagnostic::new(
            Pos::new(&rel(root, &path), 1, 1),
            format!(
                "unknown environment `{env}`: {} does not exist",
                rel(root, &path)
            ),
        );
        let d = match did_you_mean(env, available.iter().map(String::as_str)) {
            Some(s) => d.hint(format!(
                "did you mean `{s}`? environments: {}",
                available.join(", ")
            )),
            None => d.hint(format!("environments: {}", available.join(", "))),
        };
        self.err(d);
        None
    }

    /// `--stack`, else the stack the environment names, else `stacks/bandup.yaml`.
    fn stack_path(&mut self, opts: &LoadOptions, env: Option<&Node>) -> Option<PathBuf> {
        match (&opts.stack, env.and_then(|e| e.get("stack"))) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(n)) => match n.as_str() {
                Some(s) => Some(opts.root.join(s)),
                None => {
                    self.err(Diagnostic::new(
                        n.pos.clone(),
                        "`stack` must be a path such as stacks/bandup.yaml",
                    ));
                    None
                }
            },
            (None, None) => Some(opts.root.join("stacks/bandup.yaml")),
        }
    }

    /// Read and parse one file; `stack` says it is a stack file, whose duplicate resource
    /// names `resources()` reports with its own message.
    pub(super) fn read(&mut self, root: &Path, path: &Path, stack: bool) -> Option<Node> {
        let name = rel(root, path);
        let text = match read_limited(path) {
            Ok(Ok(t)) => t,
            Ok(Err(size)) => {
                self.err(too_large(&name, size));
                return None;
            }
            Err(e) => {
                self.err(Diagnostic::new(
                    Pos::new(&name, 1, 1),
                    format!("cannot read file: {e}"),
                ));
                return None;
            }
        };
        let parsed = yaml::parse(&name, &text);
        self.diags.sources.push((name, text));
        match parsed {
            Ok(n) if n.as_map().is_some() => {
                self.duplicate_keys(&n, stack);
                Some(n)
            }
            Ok(n) => {
                let msg = format!(
                    "expected a mapping at the top of the file, found {}",
                    n.type_name()
                );
                self.err(Diagnostic::new(n.pos, msg));
                None
            }
            Err(d) => {
                self.err(d);
                None
            }
        }
    }

    fn duplicate_keys(&mut self, n: &Node, stack: bool) {
        for dup in yaml::duplicate_keys(n) {
            if stack && dup.path == ["resources"] {
                continue;
            }
            let key = &dup.again.name;
            self.err(
                Diagnostic::new(
                    dup.again.pos.clone(),
                    format!("duplicate key `{key}`: a YAML mapping may hold each key once"),
                )
                .hint(format!(
                    "keep one `{key}`: remove the other, or rename it if another key was meant"
                ))
                .related(dup.first.pos.clone(), "first written here"),
            );
        }
    }
}

/// A file over the size limit; `size` is 0 when only reading found it out.
fn too_large(name: &str, size: u64) -> Diagnostic {
    let limit = yaml::limits::FILE_BYTES;
    let size = if size > limit {
        format!("{size} bytes")
    } else {
        format!("more than {limit} bytes")
    };
    Diagnostic::new(
        Pos::new(name, 1, 1),
        format!("size limit exceeded: the file is {size}; at most {limit} bytes (4 MiB) are read"),
    )
    .hint(yaml::LIMIT_HINT)
}

/// `p` relative to the project root, as diagnostics name files.
pub(super) fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// The text of `path`, or its size when that is over the limit (0 when only reading
/// found it out): never more than the limit is read, even from a file that grows or is
/// not a regular file.
fn read_limited(path: &Path) -> std::io::Result<Result<String, u64>> {
    use std::io::Read;
    let limit = yaml::limits::FILE_BYTES;
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Ok(Err(size));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Ok(Err(0));
    }
    String::from_utf8(bytes).map(Ok).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The project's environments: `environments/*.yaml` with a valid name, sorted.
pub(super) fn list_envs(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root.join("environments"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".yaml"))
                        .filter(|n| check_env_name(n).is_ok())
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
