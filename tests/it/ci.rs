//! The CI journey: saved plans (`plan --out`, `show`, `apply FILE`) and their refusals,
//! the environment lock, the JSON event stream and the audit log. The real binary runs
//! against the emulator on a copy of the minimal example project (`examples/minimal`),
//! whose environment names the state bucket the harness bootstraps.

use crate::support::moto::{sdk_at, Moto};
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::{bandup, code, err, json_schema, out, project_root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BUCKET: &str = "bandup-state-sandbox";
const LOCK_KEY: &str = "locks/minimal/sandbox.json";

/// A writable copy of examples/minimal.
struct Minimal {
    dir: tempfile::TempDir,
}

impl Minimal {
    fn copy() -> Minimal {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["stacks", "environments"] {
            let from = project_root().join("examples/minimal").join(sub);
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
            for e in std::fs::read_dir(from).expect("read_dir") {
                let e = e.expect("entry");
                std::fs::copy(e.path(), dir.path().join(sub).join(e.file_name())).expect("copy");
            }
        }
        Minimal { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, file: &str) -> PathBuf {
        self.root().join(file)
    }

    /// Replace `from` by `to` in `file`; the text must be there.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.path(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }

    /// The binary in this project, against `endpoint`, with the emulator's dummy keys.
    fn cmd(&self, endpoint: &str, args: &[&str]) -> Command {
        bandup(self.root(), endpoint, args)
    }

    fn run(&self, endpoint: &str, args: &[&str]) -> Output {
        self.cmd(endpoint, args).output().expect("run bandup-infra")
    }

    fn spawn(&self, endpoint: &str, args: &[&str]) -> Child {
        self.cmd(endpoint, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bandup-infra")
    }
}

/// Every line of `stdout` is one JSON event of the documented shape.
fn events(stdout: &str) -> Vec<serde_json::Value> {
    let shape = json_schema("docs/apply-events.schema.json");
    stdout
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
            let problems: Vec<String> = shape.iter_errors(&event).map(|e| e.to_string()).collect();
            assert!(problems.is_empty(), "{line}\n{problems:#?}");
            event
        })
        .collect()
}

fn of_type<'a>(events: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

/// The VPCs of the minimal stack in the emulator.
async fn vpcs(moto: &Moto) -> Vec<aws_sdk_ec2::types::Vpc> {
    let ec2 = aws_sdk_ec2::Client::new(&sdk_at(&moto.endpoint).await);
    let out = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:bandup:stack")
                .values("minimal")
                .build(),
        )
        .send()
        .await
        .expect("describe vpcs");
    out.vpcs().to_vec()
}

/// The lock id a refused command names in its `force-unlock` hint.
fn lock_id(stderr: &str) -> String {
    let at = stderr
        .find("force-unlock --env sandbox ")
        .unwrap_or_else(|| panic!("no force-unlock hint: {stderr}"));
    stderr[at + "force-unlock --env sandbox ".len()..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_saved_plan_applies_exactly_its_changes_and_history_records_each_apply() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let ep = moto.endpoint.as_str();

    let planned = p.run(ep, &["plan", "--env", "sandbox", "--out", "plan.json"]);
    assert_eq!(code(&planned), 0, "{}", err(&planned));
    assert!(
        err(&planned).contains("bandup-infra apply plan.json"),
        "{}",
        err(&planned)
    );
    let text = std::fs::read_to_string(p.path("plan.json")).expect("plan.json");
    let saved: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let problems: Vec<String> = json_schema("docs/saved-plan.schema.json")
        .iter_errors(&saved)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(saved["env"], "sandbox");
    assert_eq!(saved["plan"]["summary"]["add"], 3);

    // What a reviewer reads in the pull request.
    let shown = p.run(ep, &["show", "plan.json"]);
    assert_eq!(code(&shown), 0, "{}", err(&shown));
    insta::with_settings!({filters => vec![
        (r"sha256:[0-9a-f]{12}", "sha256:[digest]"),
        (r"bandup-infra \d+\.\d+\.\d+", "bandup-infra [version]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
        (r"with \d+ AWS API calls in [0-9.]+s", "with [n] AWS API calls in [t]s"),
    ]}, {
        insta::assert_snapshot!("show_a_saved_plan", out(&shown));
    });

    // The stack is edited after the plan was made: the plan is refused, nothing made.
    p.edit(
        "stacks/minimal.yaml",
        "project: minimal-example",
        "project: edited",
    );
    let refused = p.run(ep, &["apply", "plan.json"]);
    assert_eq!(code(&refused), 1, "{}", out(&refused));
    assert!(
        err(&refused).contains("the plan is stale"),
        "{}",
        err(&refused)
    );
    assert!(
        err(&refused).contains("stacks/minimal.yaml changed"),
        "{}",
        err(&refused)
    );
    assert!(vpcs(&moto).await.is_empty(), "nothing was created");

    // As it was planned, it applies: exactly the three creates, as JSON events.
    p.edit(
        "stacks/minimal.yaml",
        "project: edited",
        "project: minimal-example",
    );
    let applied = p.run(ep, &["apply", "plan.json", "--json"]);
    assert_eq!(code(&applied), 0, "{}\n{}", out(&applied), err(&applied));
    let events = events(&out(&applied));
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"lock"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"lock"), "{kinds:?}");
    let mut made: Vec<&str> = of_type(&events, "finished")
        .iter()
        .filter_map(|e| e["addr"].as_str())
        .collect();
    made.sort();
    assert_eq!(made, ["subnet", "vpc", "web_sg"]);
    let plan_event = of_type(&events, "plan")[0];
    assert_eq!(plan_event["saved_plan"], saved["digest"]);
    let summary = of_type(&events, "summary")[0];
    assert_eq!(summary["outcome"], "succeeded");
    assert_eq!(summary["added"], 3);
    assert_eq!(vpcs(&moto).await.len(), 1);

    // The same plan once more: what it was computed from has changed (it exists now).
    let again = p.run(ep, &["apply", "plan.json"]);
    assert_eq!(code(&again), 1);
    assert!(
        err(&again).contains("`vpc` (vpc-") && err(&again).contains("exists now but did not"),
        "{}",
        err(&again)
    );

    let plain = p.run(ep, &["apply", "--env", "sandbox", "--auto-approve"]);
    assert_eq!(code(&plain), 0, "{}", err(&plain));
    assert!(out(&plain).contains("No changes."), "{}", out(&plain));

    // The audit log: newest first, who, what, from which plan.
    let history = p.run(ep, &["history", "--env", "sandbox", "--json"]);
    assert_eq!(code(&history), 0, "{}", err(&history));
    let records: Vec<serde_json::Value> = serde_json::from_str(&out(&history)).expect("JSON");
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0]["outcome"], "no changes");
    assert_eq!(records[0]["saved_plan"], false);
    assert_eq!(records[1]["outcome"], "succeeded");
    assert_eq!(records[1]["saved_plan"], true);
    assert_eq!(records[1]["plan_digest"], saved["digest"]);
    assert_eq!(records[1]["who"], "arn:aws:sts::123456789012:user/moto");
    assert_eq!(records[1]["resources"].as_array().map(Vec::len), Some(3));
    assert!(records[1]["api_calls"].as_u64().unwrap_or(0) > 0);
    let table = p.run(ep, &["history", "--env", "sandbox"]);
    let lines: Vec<String> = out(&table).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[1].contains("apply    no changes"), "{lines:#?}");
    assert!(lines[2].contains("succeeded    3 0 0"), "{lines:#?}");
    assert!(lines[2].ends_with("(saved plan)"), "{lines:#?}");
}

#[tokio::test]
async fn a_plan_gone_stale_is_refused_naming_the_changed_resource() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let ep = moto.endpoint.as_str();
    let first = p.run(ep, &["apply", "--env", "sandbox", "--auto-approve"]);
    assert_eq!(code(&first), 0, "{}", err(&first));

    p.edit(
        "stacks/minimal.yaml",
        "          description: HTTPS\n",
        "          description: HTTPS\n        - { protocol: tcp, from_port: 80, to_port: 80, cidr: 0.0.0.0/0, description: HTTP }\n",
    );
    let planned = p.run(ep, &["plan", "--env", "sandbox", "--out", "plan.json"]);
    assert_eq!(code(&planned), 0, "{}", err(&planned));
    assert!(
        out(&planned).contains("Plan: 0 to add, 1 to change"),
        "{}",
        out(&planned)
    );
    let shown = p.run(ep, &["show", "plan.json"]);
    insta::with_settings!({filters => vec![
        (r"sha256:[0-9a-f]{12}", "sha256:[digest]"),
        (r"bandup-infra \d+\.\d+\.\d+", "bandup-infra [version]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[time]"),
        (r"with \d+ AWS API calls in [0-9.]+s", "with [n] AWS API calls in [t]s"),
        (r"(vpc|sg|subnet)-[0-9a-f]+", "$1-[id]"),
    ]}, {
        insta::assert_snapshot!("show_a_saved_update", out(&shown));
    });

    // Someone changes the VPC by hand between the review and the apply.
    let vpc = vpcs(&moto).await[0]
        .vpc_id()
        .unwrap_or_default()
        .to_string();
    let ec2 = aws_sdk_ec2::Client::new(&sdk_at(&moto.endpoint).await);
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(false)
                .build(),
        )
        .send()
        .await
        .expect("modify the VPC");

    let refused = p.run(ep, &["apply", "plan.json"]);
    assert_eq!(code(&refused), 1, "{}", out(&refused));
    assert!(
        err(&refused).contains(&format!(
            "`vpc` ({vpc}) was changed: `enable_dns_hostnames`"
        )),
        "{}",
        err(&refused)
    );
    assert!(
        err(&refused).contains("Nothing was changed."),
        "{}",
        err(&refused)
    );
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:bandup:stack")
                .values("minimal")
                .build(),
        )
        .send()
        .await
        .expect("describe security groups");
    let rules = groups.security_groups()[0].ip_permissions().len();
    assert_eq!(rules, 1, "the planned rule was not added");
}

#[tokio::test]
async fn a_bad_plan_file_is_refused_before_any_aws_call() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let planned = p.run(
        &moto.endpoint,
        &["plan", "--env", "sandbox", "--out", "plan.json"],
    );
    assert_eq!(code(&planned), 0, "{}", err(&planned));
    let good = std::fs::read_to_string(p.path("plan.json")).expect("plan.json");
    drop(moto);
    // Nothing listens here: any AWS call would fail with a connection error.
    let nowhere = "http://127.0.0.1:9";

    let cases: Vec<(&str, String, &[&str], &str)> = vec![
        (
            "truncated.json",
            good[..good.len() / 2].to_string(),
            &[],
            "is not a complete plan file",
        ),
        (
            "edited.json",
            good.replacen("10.50.0.0/16", "10.60.0.0/16", 1),
            &[],
            "was edited after it was written",
        ),
        (
            "foreign.json",
            good.replacen(
                &format!("\"tool_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
                "\"tool_version\": \"9.9.9\"",
                1,
            ),
            &[],
            "was made by bandup-infra 9.9.9",
        ),
        (
            "not-a-saved-plan.json",
            "{\"format_version\": 1, \"resources\": []}".to_string(),
            &[],
            "not a bandup-infra plan file",
        ),
        (
            "plan.json",
            good.clone(),
            &["--env", "prod"],
            "is a plan for environment `sandbox`, not `prod`",
        ),
    ];
    // A plan made in another account (sealed again, as if made there).
    let mut elsewhere =
        bandup_infra::plan::saved::SavedPlan::parse("plan.json", &good).expect("parse");
    elsewhere.account_id = Some("111122223333".into());
    elsewhere.seal().expect("seal");
    let elsewhere = elsewhere.to_json().expect("JSON");
    for (file, text, extra, says) in cases {
        std::fs::write(p.path(file), &text).expect("write");
        let mut args = vec!["apply", file];
        args.extend_from_slice(extra);
        let o = p.run(nowhere, &args);
        assert_eq!(code(&o), 1, "{file}: {}", out(&o));
        assert!(err(&o).contains(says), "{file}: {}", err(&o));
        assert!(
            !err(&o).contains("dispatch failure"),
            "{file}: called AWS: {}",
            err(&o)
        );
        if extra.is_empty() {
            let shown = p.run(nowhere, &["show", file]);
            assert_eq!(code(&shown), 1, "show {file}");
            assert!(err(&shown).contains(says), "show {file}: {}", err(&shown));
        }
    }

    // Made in another region or account: refused before the lock is taken or anything
    // is read (only the caller's identity is asked).
    let moto = Moto::start();
    let o = p.run(
        &moto.endpoint,
        &["apply", "plan.json", "--region", "eu-west-1"],
    );
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains(
            "the plan was made for region eu-west-2, but this apply would run in eu-west-1"
        ),
        "{}",
        err(&o)
    );
    std::fs::write(p.path("elsewhere.json"), elsewhere).expect("write");
    let o = p.run(&moto.endpoint, &["apply", "elsewhere.json"]);
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains("made in AWS account 111122223333, but the credentials in use are for account 123456789012"),
        "{}",
        err(&o)
    );
    assert!(vpcs(&moto).await.is_empty());
}

#[test]
fn two_applies_at_once_the_second_fails_naming_the_holder_and_a_waiting_one_goes_next() {
    let moto = Moto::start();
    let p = Minimal::copy();
    // The first apply is slowed down in its creates, so the others meet its lock.
    let proxy = Proxy::start(&moto.endpoint, 61);
    proxy.rule(Rule::on("CreateVpc").fault(Fault::Delay(Duration::from_secs(4))));
    let first = p.spawn(
        &proxy.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert!(proxy.wait_for("CreateVpc", 1, Duration::from_secs(60)));

    let second = p.run(
        &moto.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert_eq!(code(&second), 1, "{}", out(&second));
    let e = err(&second);
    assert!(
        e.contains("the sandbox environment of stack minimal is locked"),
        "{e}"
    );
    assert!(
        e.contains("`apply` by arn:aws:sts::123456789012:user/moto on ")
            && e.contains(&format!("(pid {})", first.id())),
        "{e}"
    );
    assert!(e.contains("--lock-timeout"), "{e}");

    let third = p.spawn(
        &moto.endpoint,
        &[
            "apply",
            "--env",
            "sandbox",
            "--auto-approve",
            "--lock-timeout",
            "60s",
        ],
    );
    let first = first.wait_with_output().expect("first apply");
    assert_eq!(code(&first), 0, "{}", err(&first));
    let third = third.wait_with_output().expect("waiting apply");
    assert_eq!(code(&third), 0, "{}", err(&third));
    assert!(
        err(&third).contains("waiting for the lock"),
        "{}",
        err(&third)
    );
    assert!(out(&third).contains("No changes."), "{}", out(&third));
}

#[tokio::test]
async fn a_killed_apply_leaves_its_lock_which_is_reported_until_force_unlock_clears_it() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let proxy = Proxy::start(&moto.endpoint, 62);
    proxy.rule(Rule::on("CreateVpc").fault(Fault::SlowAnswer(Duration::from_secs(5))));
    let mut killed = p.spawn(
        &proxy.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert!(proxy.wait_for("CreateVpc", 1, Duration::from_secs(60)));
    killed.kill().expect("SIGKILL");
    let _ = killed.wait();

    let next = p.run(
        &moto.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert_eq!(code(&next), 1, "{}", out(&next));
    let e = err(&next);
    assert!(
        e.contains("is locked: `apply` by arn:aws:sts::123456789012:user/moto"),
        "{e}"
    );
    assert!(
        e.contains(&format!("(pid {})", killed.id())) && e.contains("s ago"),
        "{e}"
    );
    let id = lock_id(&e);

    let wrong = p.run(
        &moto.endpoint,
        &["force-unlock", "--env", "sandbox", "0000", "--force"],
    );
    assert_eq!(code(&wrong), 1);
    assert!(
        err(&wrong).contains("Nothing was removed"),
        "{}",
        err(&wrong)
    );
    let asks = p.run(&moto.endpoint, &["force-unlock", "--env", "sandbox", &id]);
    assert_eq!(code(&asks), 1, "no terminal to confirm on");

    let cleared = p.run(
        &moto.endpoint,
        &["force-unlock", "--env", "sandbox", &id, "--force"],
    );
    assert_eq!(code(&cleared), 0, "{}", err(&cleared));
    assert!(
        out(&cleared).contains(&format!("Removed the lock {id}")),
        "{}",
        out(&cleared)
    );

    let converged = p.run(
        &moto.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert_eq!(code(&converged), 0, "{}", err(&converged));
    assert_eq!(
        vpcs(&moto).await.len(),
        1,
        "the killed run's VPC was adopted"
    );
    let s3 = aws_sdk_s3::Client::new(&sdk_at(&moto.endpoint).await);
    let left = s3.get_object().bucket(BUCKET).key(LOCK_KEY).send().await;
    assert!(left.is_err(), "the lock was released at the end");
}

#[tokio::test]
async fn a_lock_object_that_cannot_be_parsed_is_reported_and_left_alone() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let s3 = aws_sdk_s3::Client::new(&sdk_at(&moto.endpoint).await);
    s3.put_object()
        .bucket(BUCKET)
        .key(LOCK_KEY)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(
            b"held by me",
        ))
        .send()
        .await
        .expect("put a broken lock");
    let o = p.run(
        &moto.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert_eq!(code(&o), 1);
    assert!(
        err(&o).contains(&format!(
            "s3://{BUCKET}/{LOCK_KEY} cannot be read as a lock"
        )),
        "{}",
        err(&o)
    );
    let body = s3
        .get_object()
        .bucket(BUCKET)
        .key(LOCK_KEY)
        .send()
        .await
        .expect("still there")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&body[..], b"held by me");
    assert!(vpcs(&moto).await.is_empty());
}

#[test]
fn without_a_state_bucket_apply_says_so_and_lock_false_goes_on() {
    let moto = Moto::start();
    let p = Minimal::copy();
    p.edit(
        "environments/sandbox.yaml",
        "state_bucket: bandup-state-sandbox",
        "",
    );
    let o = p.run(
        &moto.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert_eq!(code(&o), 1);
    assert!(err(&o).contains("has no state bucket"), "{}", err(&o));
    assert!(err(&o).contains("--lock=false"), "{}", err(&o));
    let o = p.run(
        &moto.endpoint,
        &[
            "apply",
            "--env",
            "sandbox",
            "--auto-approve",
            "--lock=false",
        ],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
}

#[test]
fn the_shell_recipe_in_examples_ci_runs_end_to_end() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let script = project_root().join("examples/ci/pipeline.sh");
    let stage = |name: &str| {
        Command::new("bash")
            .arg(&script)
            .arg(name)
            .current_dir(p.root())
            .env("BANDUP_INFRA", env!("CARGO_BIN_EXE_bandup-infra"))
            .env("BANDUP_ENV", "sandbox")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .output()
            .expect("run the recipe")
    };
    let plan = stage("plan");
    assert_eq!(code(&plan), 0, "{}\n{}", out(&plan), err(&plan));
    for artifact in ["plan.json", "plan.txt"] {
        assert!(p.path(artifact).exists(), "{artifact} is published");
    }
    let apply = stage("apply");
    assert_eq!(code(&apply), 0, "{}\n{}", out(&apply), err(&apply));
    assert!(p.path("apply.jsonl").exists());
    events(&std::fs::read_to_string(p.path("apply.jsonl")).expect("apply.jsonl"));
    let again = stage("plan");
    assert_eq!(code(&again), 0, "{}", err(&again));
    assert!(
        std::fs::read_to_string(p.path("plan.txt"))
            .expect("plan.txt")
            .contains("No changes."),
        "the next plan is empty"
    );
}

#[tokio::test]
async fn a_lock_past_its_expiry_is_taken_over() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let s3 = aws_sdk_s3::Client::new(&sdk_at(&moto.endpoint).await);
    let stale = serde_json::json!({
        "id": "0123456789abcdef", "who": "arn:aws:sts::123456789012:assumed-role/ci/gone",
        "host": "build-7", "pid": 4242, "command": "apply", "stack": "minimal",
        "env": "sandbox", "tool_version": env!("CARGO_PKG_VERSION"),
        "started": "2026-01-01T10:00:00Z", "expires": "2026-01-01T10:10:00Z",
    });
    s3.put_object()
        .bucket(BUCKET)
        .key(LOCK_KEY)
        .body(aws_sdk_s3::primitives::ByteStream::from(
            stale.to_string().into_bytes(),
        ))
        .send()
        .await
        .expect("plant an expired lock");
    let o = p.run(
        &moto.endpoint,
        &["apply", "--env", "sandbox", "--auto-approve"],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let e = err(&o);
    assert!(e.contains("took over an expired lock: `apply` by arn:aws:sts::123456789012:assumed-role/ci/gone on build-7 (pid 4242)"), "{e}");
    assert!(e.contains("(its holder stopped renewing it)"), "{e}");
    assert!(
        s3.get_object()
            .bucket(BUCKET)
            .key(LOCK_KEY)
            .send()
            .await
            .is_err(),
        "released"
    );
}

#[tokio::test]
async fn a_held_lock_is_renewed_and_a_command_whose_lock_is_taken_starts_nothing_new() {
    let moto = Moto::start();
    let p = Minimal::copy();
    let s3 = aws_sdk_s3::Client::new(&sdk_at(&moto.endpoint).await);
    let lock = || async {
        let body = s3
            .get_object()
            .bucket(BUCKET)
            .key(LOCK_KEY)
            .send()
            .await
            .expect("the lock is held")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        serde_json::from_slice::<serde_json::Value>(&body).expect("a lock")
    };
    let proxy = Proxy::start(&moto.endpoint, 63);
    proxy.rule(Rule::on("CreateVpc").fault(Fault::Delay(Duration::from_secs(6))));
    // Renewed every second: a lock of 3 s outlives the 6 s the VPC takes.
    let child = p
        .cmd(
            &proxy.endpoint,
            &["apply", "--env", "sandbox", "--auto-approve"],
        )
        .env("BANDUP_LOCK_TTL", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apply");
    assert!(proxy.wait_for("CreateVpc", 1, Duration::from_secs(60)));
    let first = lock().await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = lock().await;
    assert_eq!(first["id"], later["id"]);
    assert!(
        later["expires"].as_str() > first["expires"].as_str(),
        "{first} then {later}"
    );

    // Someone clears it while the apply runs: the apply notices at its next renewal.
    let id = later["id"].as_str().unwrap_or_default().to_string();
    let cleared = p.run(
        &moto.endpoint,
        &["force-unlock", "--env", "sandbox", &id, "--force"],
    );
    assert_eq!(code(&cleared), 0, "{}", err(&cleared));
    let o = child.wait_with_output().expect("apply ends");
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(
        err(&o).contains("the environment lock was taken from this command"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains("vpc: Creation complete"),
        "in flight finishes: {}",
        err(&o)
    );
    assert!(
        err(&o).contains("subnet: not created (interrupted)"),
        "{}",
        err(&o)
    );
}
