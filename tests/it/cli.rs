//! The CLI as a user runs it: the real binary in a real process.

use crate::support::moto::Moto;
use crate::support::project_root;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], env: &[(&'static str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(args)
        .current_dir(project_root())
        // Never the caller's AWS: only what the test gives (the emulator, dummy keys).
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run bandup-infra")
}

/// Run the binary in `dir`, with no AWS configuration at all.
fn run_in(dir: &std::path::Path, args: &[&str], env: &[(&'static str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(args)
        .current_dir(dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env_remove("BANDUP_ENV")
        .env_remove("BANDUP_PROJECT")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run bandup-infra")
}

/// True when a line of `text` starts with `name`, then (after alignment) `rest`.
fn has_line(text: &str, name: &str, rest: &str) -> bool {
    text.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|after| after.starts_with(' ') && after.trim_start().starts_with(rest))
    })
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn validate_accepts_the_project_and_exits_zero() {
    let o = run(&["validate", "--env", "dev"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("valid for environment `dev`: 89 resources"));
}

#[test]
fn validate_reports_problems_with_position_and_exits_one() {
    let o = run(
        &[
            "validate",
            "--stack",
            "tests/fixtures/invalid/many_problems.yaml",
        ],
        &[],
    );
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains("tests/fixtures/invalid/many_problems.yaml:9:11"),
        "{err}"
    );
    assert!(
        err.contains("did you mean `aws_internet_gateway`?"),
        "{err}"
    );
    assert!(
        err.contains("4 problems found; nothing was sent to AWS."),
        "{err}"
    );
}

#[test]
fn validate_without_an_environment_says_how_to_choose_one() {
    let o = run(&["validate"], &[]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("parameter `vpc_cidr` has no default"), "{err}");
    assert!(err.contains("pass --env NAME"), "{err}");
}

#[test]
fn an_unknown_environment_is_an_error() {
    let o = run(&["plan", "--env", "stagin"], &[]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("unknown environment `stagin`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn apply_without_a_terminal_refuses_unless_auto_approved() {
    for cmd in ["apply", "destroy"] {
        let o = run(&[cmd, "--env", "dev"], &[]);
        assert_eq!(code(&o), 1);
        let err = stderr(&o);
        assert!(err.contains("stdin is not a terminal"), "{err}");
        assert!(err.contains("--auto-approve"), "{err}");
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    use clap::CommandFactory;
    let cli = bandup_infra::cli::Cli::command();
    let commands: Vec<String> = cli
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for cmd in commands.iter().map(String::as_str) {
        let o = run(&[cmd, "--help"], &[]);
        assert_eq!(code(&o), 0);
        assert!(
            stdout(&o).contains("Examples:"),
            "{cmd} --help has no example"
        );
    }
}

#[test]
fn graph_prints_dot_and_mermaid() {
    let dot = stdout(&run(&["graph", "--env", "dev"], &[]));
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("nat[eu-west-2a]"));
    let mermaid = stdout(&run(&["graph", "--env", "dev", "--format", "mermaid"], &[]));
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
}

#[test]
fn plan_apply_plan_against_the_emulator() {
    let moto = Moto::start();
    let env = moto.env();

    let before = run(&["plan", "--env", "dev", "--detailed-exitcode"], &env);
    assert_eq!(code(&before), 2, "changes pending: {}", stderr(&before));
    assert!(stdout(&before).contains("Plan: 89 to add, 0 to change, 0 to replace, 0 to destroy."));

    let json = run(&["plan", "--env", "dev", "--json"], &env);
    assert_eq!(code(&json), 0);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json is JSON");
    assert_eq!(parsed["summary"]["add"], 89);
    assert_eq!(parsed["format_version"], 1);

    let applied = run(&["apply", "--env", "dev", "--auto-approve"], &env);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(
        stdout(&applied).contains("Resources: 89 added, 0 changed, 0 destroyed."),
        "{}",
        stdout(&applied)
    );
    assert!(
        stderr(&applied).contains("vpc: Creation complete"),
        "progress lines in CI: {}",
        stderr(&applied)
    );

    let after = run(&["plan", "--env", "dev", "--detailed-exitcode"], &env);
    assert_eq!(code(&after), 0, "{}", stdout(&after));
    assert!(stdout(&after).contains("No changes."));

    // Every type reads the same twice: a saved plan of the whole stack is not stale
    // the moment it is made.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("plan.json");
    let file = file.to_str().expect("utf-8 path");
    let saved = run(&["plan", "--env", "dev", "--out", file], &env);
    assert_eq!(code(&saved), 0, "{}", stderr(&saved));
    let applied = run(&["apply", file], &env);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(
        stdout(&applied).contains("No changes."),
        "{}",
        stdout(&applied)
    );

    let destroyed = run(&["destroy", "--env", "dev", "--auto-approve"], &env);
    assert_eq!(code(&destroyed), 0, "{}", stderr(&destroyed));
    assert!(
        stdout(&destroyed).contains("0 added, 0 changed, 89 destroyed"),
        "{}",
        stdout(&destroyed)
    );
}

#[test]
fn aws_errors_name_the_resource_operation_code_and_request_id() {
    let moto = Moto::start();
    let root = project_root().join("tests/fixtures/aws_error");
    let o = Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args([
            "apply",
            "--auto-approve",
            "--region",
            "eu-west-2",
            "--lock=false",
        ])
        .current_dir(&root)
        .env_remove("AWS_PROFILE")
        .envs(moto.env())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("subnet: CreateSubnet failed: InvalidParameterValue: "),
        "{out}"
    );
    assert!(out.contains("(request id "), "{out}");
    assert!(
        out.contains("Skipped create of after_subnet because subnet failed."),
        "{out}"
    );
    assert!(out.contains("Apply failed: 1 failed, 1 skipped."), "{out}");

    // The same as JSON events: the failure with AWS's code and request id.
    let o = Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args([
            "apply",
            "--auto-approve",
            "--region",
            "eu-west-2",
            "--lock=false",
            "--json",
        ])
        .current_dir(&root)
        .env_remove("AWS_PROFILE")
        .envs(moto.env())
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(code(&o), 1);
    let events: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let failed: Vec<_> = events.iter().filter(|e| e["type"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert_eq!(failed[0]["addr"], "subnet");
    assert_eq!(failed[0]["code"], "InvalidParameterValue");
    assert!(failed[0]["request_id"].is_string(), "{:#?}", failed[0]);
    let summary = events.last().expect("events");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["outcome"], "failed");
    assert_eq!(summary["skipped"], 1);
}

#[test]
fn missing_credentials_are_explained_once() {
    let moto = Moto::start();
    let env: Vec<_> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .collect();
    let o = Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(["plan", "--env", "dev"])
        .current_dir(project_root())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("no credentials found in chain"), "{err}");
    assert!(err.contains("configure AWS credentials"), "{err}");
    assert!(!err.contains("DispatchFailure("), "no debug dump: {err}");
}

#[test]
fn an_environment_pinned_to_another_account_is_refused_before_any_read() {
    let moto = Moto::start();
    let root = project_root().join("tests/fixtures/account");
    let run_in = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
            .args(args)
            .current_dir(&root)
            .env_remove("AWS_PROFILE")
            .envs(moto.env())
            .stdin(Stdio::null())
            .output()
            .expect("run")
    };
    let wrong = run_in(&["apply", "--env", "wrong", "--auto-approve", "--lock=false"]);
    assert_eq!(code(&wrong), 1);
    let err = stderr(&wrong);
    assert!(err.contains("pinned to AWS account 111122223333, but the credentials in use are for account 123456789012"), "{err}");
    assert!(!stdout(&wrong).contains("Plan:"), "nothing was planned");

    let right = run_in(&["plan", "--env", "right", "--detailed-exitcode"]);
    assert_eq!(code(&right), 2, "{}", stderr(&right));

    let malformed = run_in(&["validate", "--env", "malformed"]);
    assert_eq!(code(&malformed), 1);
    assert!(
        stderr(&malformed).contains("environments/malformed.yaml:2:13"),
        "{}",
        stderr(&malformed)
    );
}

#[test]
fn usage_errors_exit_one_never_the_changes_code() {
    let o = run(&["plan", "--detailed-exitcode", "--no-such-flag"], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("--no-such-flag"), "{}", stderr(&o));
    let help = run(&["--help"], &[]);
    assert_eq!(code(&help), 0);
}

#[test]
fn environment_names_are_checked_on_the_command_line_and_in_bandup_env() {
    let o = run(&["validate", "--env", "../x"], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("invalid value '../x' for '--env <ENV>'"),
        "{err}"
    );
    assert!(
        err.contains("lowercase letters (a-z), digits and '-', starting with a letter"),
        "{err}"
    );
    let o = run(
        &["plan", "--detailed-exitcode"],
        &[("BANDUP_ENV", "Prod".into())],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("`Prod` contains `P`"), "{}", stderr(&o));
}

#[test]
fn warnings_are_shown_but_validate_passes_and_other_commands_go_on() {
    let dir = project_root().join("tests/fixtures/warnings");
    let o = run_in(&dir, &["validate"], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("is valid"), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("stacks/bandup.yaml:14:66: database or cache port open to the internet"),
        "{err}"
    );
    assert!(err.ends_with("1 warning found.\n"), "{err}");
    assert!(!err.contains("nothing was sent to AWS"), "{err}");

    let graph = run_in(&dir, &["graph"], &[]);
    assert_eq!(code(&graph), 0, "{}", stderr(&graph));
    assert!(stdout(&graph).starts_with("digraph"), "{}", stdout(&graph));
    assert!(stderr(&graph).contains("1 warning found."));
}

#[test]
fn outside_any_project_the_error_lists_where_it_looked_and_how_to_point_at_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let below = dir.path().join("a/b");
    std::fs::create_dir_all(&below).expect("mkdir");
    let o = run_in(&below, &["plan", "--env", "dev"], &[]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: no bandup-infra project found"),
        "{err}"
    );
    for tried in [
        below.clone(),
        dir.path().join("a"),
        dir.path().to_path_buf(),
    ] {
        assert!(
            err.contains(&format!("\n  {}\n", tried.display())),
            "{tried:?}: {err}"
        );
    }
    assert!(err.contains("cd into it"), "{err}");
    assert!(
        err.contains("--project DIR (or BANDUP_PROJECT=DIR)"),
        "{err}"
    );
    assert!(err.contains("Nothing was sent to AWS."), "{err}");
}

#[test]
fn commands_find_the_project_from_a_folder_below_it() {
    let o = run_in(
        &project_root().join("docs"),
        &["validate", "--env", "dev"],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("valid for environment `dev`: 89 resources"));
}

#[test]
fn project_points_at_the_project_from_anywhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = project_root().display().to_string();
    let o = run_in(
        dir.path(),
        &["validate", "--env", "dev", "--project", &root],
        &[],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run_in(
        dir.path(),
        &["validate", "--env", "prod"],
        &[("BANDUP_PROJECT", root)],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).contains("valid for environment `prod`"));
    let o = run_in(dir.path(), &["validate", "--project", "."], &[]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("--project .: not a bandup-infra project"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn output_has_help_with_an_example() {
    let o = run(&["output", "--help"], &[]);
    assert_eq!(code(&o), 0);
    let help = stdout(&o);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--show-sensitive"), "{help}");
}

/// `output` before and after an apply of the dev network, in a copy of the project
/// whose stack adds a sensitive output.
#[test]
fn output_reads_the_stack_outputs_from_live_aws() {
    let moto = Moto::start();
    let env = moto.env();
    let project = crate::support::Project::copy();
    project.edit(
        "stacks/bandup.yaml",
        "outputs:\n",
        "outputs:\n  vpc_range:\n    value: ${vpc.cidr_block}\n    sensitive: true\n",
    );
    let dir = project.root();
    let output = |args: &[&str]| {
        let mut all = vec!["output", "--env", "dev"];
        all.extend_from_slice(args);
        run_in(dir, &all, &env)
    };

    let before = output(&[]);
    assert_eq!(code(&before), 0, "{}", stderr(&before));
    assert!(
        has_line(&stdout(&before), "vpc_id", "= (not yet applied)"),
        "{}",
        stdout(&before)
    );
    let missing = output(&["vpc_id", "--raw"]);
    assert_eq!(code(&missing), 1);
    assert!(
        stderr(&missing).contains("output `vpc_id` is not yet applied: `vpc` does not exist yet"),
        "{}",
        stderr(&missing)
    );

    let applied = run_in(dir, &["apply", "--env", "dev", "--auto-approve"], &env);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    let report = stdout(&applied);
    assert!(report.contains("\nOutputs:\n\n"), "{report}");
    assert!(
        has_line(&report, "  vpc_range", "= (sensitive)"),
        "{report}"
    );
    assert!(has_line(&report, "  vpc_id", "= \"vpc-"), "{report}");

    let text = output(&[]);
    assert_eq!(code(&text), 0, "{}", stderr(&text));
    // The ids and public addresses AWS chooses differ from run to run.
    let filters = vec![
        (r"(vpc|subnet|sg)-[0-9a-f]+", "[id]"),
        (r#""\d+\.\d+\.\d+\.\d+""#, "\"[ip]\""),
        // Secret ARNs end in six random characters; RDS names its secret by a UUID.
        (
            r"rds!db-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
            "rds!db-[uuid]",
        ),
        (r#"-[A-Za-z0-9]{6}""#, "-[random]\""),
        (r"master\.([a-z0-9-]+)\.[a-z0-9]+\.", "master.$1.[random]."),
        // A connection is named by a UUID, a REST API by a random id.
        (
            r"connection/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
            "connection/[uuid]",
        ),
        (
            r"https://[a-z0-9]+\.execute-api",
            "https://[api].execute-api",
        ),
    ];
    insta::with_settings!({ filters => filters }, {
        insta::assert_snapshot!("output_text_after_apply", stdout(&text));
    });

    let json = output(&["--json"]);
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json is JSON");
    let vpc_id = parsed["vpc_id"]["value"].as_str().expect("vpc_id is known");
    assert!(vpc_id.starts_with("vpc-"), "{parsed}");
    assert_eq!(parsed["vpc_id"]["description"], "The environment's VPC");
    assert_eq!(parsed["vpc_id"]["sensitive"], false);
    assert_eq!(
        parsed["private_subnet_ids"]["value"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(parsed["vpc_range"]["value"], "(sensitive)");
    assert_eq!(parsed["vpc_range"]["sensitive"], true);

    let raw = output(&["vpc_id", "--raw"]);
    assert_eq!(code(&raw), 0, "{}", stderr(&raw));
    assert_eq!(stdout(&raw), format!("{vpc_id}\n"));

    let unknown = output(&["vpc_idd"]);
    assert_eq!(code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("no output `vpc_idd`: did you mean `vpc_id`?"),
        "{}",
        stderr(&unknown)
    );

    let refused = output(&["vpc_range", "--raw"]);
    assert_eq!(code(&refused), 1);
    assert!(stdout(&refused).is_empty(), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains("output `vpc_range` is sensitive")
            && stderr(&refused).contains("--show-sensitive"),
        "{}",
        stderr(&refused)
    );
    let shown = output(&["vpc_range", "--raw", "--show-sensitive"]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    assert_eq!(stdout(&shown), "10.10.0.0/16\n");
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    // `bandup-infra graph | head -1`: the pipe is closed before anything is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_bandup-infra"))
        .args(["graph", "--env", "prod"])
        .current_dir(project_root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run bandup-infra");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn graph_groups_the_stack_by_layer_and_docs_hold_the_current_picture() {
    let o = run(&["graph", "--env", "dev", "--format", "mermaid"], &[]);
    assert!(o.status.success());
    let text = stdout(&o);
    for layer in ["network", "data", "edge", "compute", "AI", "delivery"] {
        assert!(
            text.contains(&format!("[\"{layer}\"]")),
            "{layer} missing:\n{text}"
        );
    }
    let docs =
        std::fs::read_to_string(project_root().join("docs/graph.md")).expect("docs/graph.md");
    assert!(
        docs.contains(&text),
        "docs/graph.md is out of date: regenerate it with `bandup-infra graph --env dev --format mermaid`"
    );
}
