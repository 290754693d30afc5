//! Secret values never leave AWS: every command that prints anything runs against the
//! dev stack (network and data layer), with debug logging on, and no secret value found
//! in the emulator appears in anything it wrote.

use crate::support::moto::{sdk_at, Moto};
use crate::support::Project;
use std::process::{Command, Stdio};

/// Run the binary in the project copy `p` against `moto`, with debug logs; stdout and
/// stderr together.
fn run(p: &Project, moto: &Moto, args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(args)
        .current_dir(p.root())
        .env_remove("AWS_PROFILE")
        .env_remove("BANDUP_ENV")
        .env_remove("BANDUP_PROJECT")
        .envs(moto.env())
        .env("BANDUP_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run bandup-infra");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn no_secret_value_appears_in_any_command_output() {
    let moto = Moto::start();
    let p = Project::copy();
    let mut written = String::new();
    let mut step = |args: &[&str]| {
        let (code, text) = run(&p, &moto, args);
        assert!(code == 0 || code == 2, "{args:?} exited {code}: {text}");
        written.push_str(&text);
    };
    step(&["plan", "--env", "dev"]);
    step(&["apply", "--env", "dev", "--auto-approve"]);

    // The operator sets the Gemini key out of band; the plan must not read it either.
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_at(&moto.endpoint).await);
    let secrets = sm.list_secrets().send().await.expect("list secrets");
    let gemini = secrets
        .secret_list()
        .iter()
        .filter_map(|s| s.name())
        .find(|n| n.contains("gemini"))
        .expect("the Gemini API key secret is declared")
        .to_string();
    sm.put_secret_value()
        .secret_id(&gemini)
        .secret_string("AIzaOperatorSetThisKey0123456789")
        .send()
        .await
        .expect("operator sets the key");

    for args in [
        &["plan", "--env", "dev"][..],
        &["plan", "--env", "dev", "--json"],
        &["apply", "--env", "dev", "--auto-approve"],
        &["output", "--env", "dev"],
        &["output", "--env", "dev", "--json"],
        &["graph", "--env", "dev"],
        &["validate", "--env", "dev"],
    ] {
        step(args);
    }

    let mut values = Vec::new();
    for s in sm.list_secrets().send().await.expect("list").secret_list() {
        let name = s.name().unwrap_or_default();
        if let Ok(v) = sm.get_secret_value().secret_id(name).send().await {
            let raw = v.secret_string().unwrap_or_default().to_string();
            // RDS keeps {"username": ..., "password": ...}: the password is the secret.
            let value = serde_json::from_str::<serde_json::Value>(&raw)
                .ok()
                .and_then(|j| j.get("password")?.as_str().map(str::to_string))
                .unwrap_or(raw);
            values.push((name.to_string(), value));
        }
    }
    // The generated Redis AUTH token, the database's master password, the Gemini key.
    assert!(values.len() >= 3, "secrets with values: {values:?}");
    for (name, value) in &values {
        assert!(
            value.len() >= 8,
            "{name} holds a real value: {} characters",
            value.len()
        );
        // Any 12 characters of it would be a leak, not only the whole value.
        let probe: String = value.chars().take(12).collect();
        assert!(
            !written.contains(&probe),
            "the value of {name} appears in command output"
        );
    }
    assert!(written.contains("Apply complete!"), "the commands ran");
}
