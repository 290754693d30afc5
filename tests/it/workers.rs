//! The example AI worker and API (`examples/workers/ai`), run by their own Python tests
//! against the emulator: what the stack deploys as its AI functions really works.

use crate::support::moto::Moto;
use crate::support::project_root;
use std::process::Command;

#[test]
fn the_example_ai_worker_and_api_pass_their_tests_against_the_emulator() {
    let moto = Moto::start();
    let out = Command::new(project_root().join(".venv/moto/bin/python"))
        .arg(project_root().join("examples/workers/tests/test_ai.py"))
        .envs(moto.env())
        .env("AWS_DEFAULT_REGION", "eu-west-2")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run the worker's tests");
    assert!(
        out.status.success(),
        "examples/workers/tests/test_ai.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
