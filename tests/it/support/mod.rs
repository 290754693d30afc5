//! Shared test helpers: loading a stack, copies of the project to edit, the emulator and
//! the fault-injecting proxy in front of it.

pub mod fake;
pub mod inventory;
pub mod lifecycle;
pub mod moto;
pub mod proxy;

use bandup_infra::config::{self, LoadOptions, Stack, TypeInfo};
use bandup_infra::graph::{builder, Dag};
use bandup_infra::model::Addr;
use std::path::{Path, PathBuf};

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Load `env` of the project at `root`; panics with every diagnostic if it has errors
/// (warnings, such as a test role's policy naming a literal ARN, are allowed here; the
/// project's own stack is held to none by `validate::the_project_stack_is_valid...`).
pub fn load(root: &Path, env: Option<&str>, types: &dyn TypeInfo) -> (Stack, Dag<Addr>) {
    let opts = LoadOptions {
        root: root.to_path_buf(),
        env: env.map(str::to_string),
        stack: None,
    };
    let (stack, diags) = config::load(&opts, types);
    assert!(
        !diags.has_errors(),
        "unexpected problems: {:#?}",
        diags.items
    );
    let graph = builder::build(&stack).expect("no cycle");
    (stack, graph)
}

/// A writable copy of the project's stacks/ and environments/, and the AI functions' code
/// the stack packages (examples/workers/ai).
pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn copy() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["stacks", "environments"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
            for e in std::fs::read_dir(project_root().join(sub)).expect("read_dir") {
                let e = e.expect("entry");
                std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).expect("copy");
            }
        }
        let code = Path::new("examples/workers/ai");
        std::fs::create_dir_all(dir.path().join(code)).expect("mkdir");
        for e in std::fs::read_dir(project_root().join(code)).expect("read_dir") {
            let e = e.expect("entry");
            if e.path().is_file() {
                std::fs::copy(e.path(), dir.path().join(code).join(e.file_name())).expect("copy");
            }
        }
        Project { dir }
    }

    /// An empty project with one stack file.
    pub fn with_stack(yaml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("stacks")).expect("mkdir");
        std::fs::write(dir.path().join("stacks/bandup.yaml"), yaml).expect("write");
        Project { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Replace `from` by `to` in `file`; the text must be there.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} does not contain {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }
}

/// The binary in `dir`, sending every call to `endpoint` (the emulator, or a proxy in
/// front of it) with dummy keys: nothing of the caller's AWS configuration is used.
pub fn bandup(dir: &Path, endpoint: &str, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_bandup-infra"));
    c.args(args)
        .current_dir(dir)
        .env_remove("AWS_PROFILE")
        .env_remove("BANDUP_ENV")
        .env_remove("BANDUP_PROJECT")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    c
}

/// A finished command's exit code (-1 when killed by a signal).
pub fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// What a finished command printed on stdout.
pub fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a finished command printed on stderr.
pub fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A validator for the JSON Schema at `path` (relative to the project).
pub fn json_schema(path: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(project_root().join(path)).expect("schema");
    let value: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&value).expect("a valid JSON Schema")
}
