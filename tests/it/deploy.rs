//! Releases: `deploy <service> --image TAG` and `deploy <worker> --code PATH` against
//! the emulator, on a copy of the project whose dev environment was applied first. A
//! deploy writes what it rolled out back to the environment file, so the next plan is
//! empty; bad input is refused before any change; a failed rollout is rolled back.
//!
//! moto reports every ECS deployment COMPLETED at once (scripts/moto_server.py), so a
//! deployment that fails on its own (tasks that never get healthy, the circuit breaker
//! rolling back) cannot be shown here: the failed deploy below fails its UpdateService
//! instead, which exercises the same rollback; a code deploy fails one function's
//! UpdateFunctionCode.

use crate::support::moto::Moto;
use crate::support::proxy::{is_mutating, Fault, Proxy, Rule};
use crate::support::{bandup, code, err, out, project_root, Project};
use std::path::Path;

const TAG: &str = "2026.12.01-1";
const FRONTEND_REPO: &str = "bandup-dev-frontend_repo";

fn run(p: &Project, endpoint: &str, args: &[&str]) -> std::process::Output {
    bandup(p.root(), endpoint, args)
        .output()
        .expect("run bandup-infra")
}

/// Apply dev from empty.
fn apply_dev(p: &Project, moto: &Moto) {
    let o = run(
        p,
        &moto.endpoint,
        &["apply", "--env", "dev", "--auto-approve"],
    );
    assert_eq!(code(&o), 0, "{}\n{}", out(&o), err(&o));
}

/// Push an image (a manifest alone: nothing runs it) tagged `tag` to `repository`.
async fn push(ecr: &aws_sdk_ecr::Client, repository: &str, tag: &str) {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": format!("sha256:{:064x}", tag.len())
        },
        "layers": []
    });
    ecr.put_image()
        .repository_name(repository)
        .image_manifest(manifest.to_string())
        .image_tag(tag)
        .send()
        .await
        .expect("push image");
}

/// The image the frontend service runs now, and how many ACTIVE revisions its family has.
async fn frontend_image(ecs: &aws_sdk_ecs::Client) -> (String, usize) {
    let s = ecs
        .describe_services()
        .cluster("bandup-dev-cluster")
        .services("bandup-dev-frontend")
        .send()
        .await
        .expect("describe service");
    let td = s.services()[0]
        .task_definition()
        .unwrap_or_default()
        .to_string();
    let d = ecs
        .describe_task_definition()
        .task_definition(&td)
        .send()
        .await
        .expect("describe task definition");
    let image = d
        .task_definition()
        .and_then(|t| t.container_definitions().first())
        .and_then(|c| c.image())
        .unwrap_or_default()
        .to_string();
    let family = td
        .rsplit('/')
        .next()
        .and_then(|f| f.split(':').next())
        .unwrap_or_default()
        .to_string();
    let active = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("list task definitions")
        .task_definition_arns()
        .len();
    (image, active)
}

fn env_file(p: &Project) -> String {
    std::fs::read_to_string(p.root().join("environments/dev.yaml")).expect("dev.yaml")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        if e.path().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

#[tokio::test]
async fn a_deploy_rolls_out_an_image_and_code_and_the_next_plan_is_empty() {
    let moto = Moto::start();
    let p = Project::copy();
    apply_dev(&p, &moto);
    let sdk = moto.sdk().await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let (before, _) = frontend_image(&ecs).await;
    assert!(before.ends_with(":2026.11.30-1"), "{before}");

    // Bad input: each refused, and nothing changed (no write call reached AWS).
    let proxy = Proxy::start(&moto.endpoint, 1);
    let refused = |args: &[&str], says: &str| {
        let o = run(&p, &proxy.endpoint, args);
        assert_eq!(code(&o), 1, "{args:?}: {}\n{}", out(&o), err(&o));
        assert!(err(&o).contains(says), "{args:?}: {}", err(&o));
    };
    refused(
        &["deploy", "--env", "dev", "website", "--image", TAG],
        "the services are frontend, backend",
    );
    refused(
        &["deploy", "--env", "dev", "frontend", "--image", "bad/tag"],
        "is not an image tag",
    );
    refused(
        &["deploy", "--env", "dev", "writing", "--image", TAG],
        "deploy its code with --code PATH",
    );
    refused(
        &["deploy", "--env", "dev", "writing", "--code", "no/such/dir"],
        "--code no/such/dir",
    );
    refused(
        &[
            "deploy",
            "--env",
            "dev",
            "frontend",
            "--image",
            TAG,
            "--auto-approve",
        ],
        &format!("image tag \"{TAG}\" is not in repository {FRONTEND_REPO}"),
    );
    let writes: Vec<String> = proxy.ops().into_iter().filter(|o| is_mutating(o)).collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(env_file(&p).contains("frontend_image_tag: \"2026.11.30-1\""));

    // An image that was pushed: a new revision, the service moved to it, the old
    // revision gone, the tag written back; the next plan is empty.
    push(&ecr, FRONTEND_REPO, TAG).await;
    let o = run(
        &p,
        &moto.endpoint,
        &[
            "deploy",
            "--env",
            "dev",
            "frontend",
            "--image",
            TAG,
            "--auto-approve",
        ],
    );
    assert_eq!(code(&o), 0, "{}\n{}", out(&o), err(&o));
    let (after, active) = frontend_image(&ecs).await;
    assert!(after.ends_with(&format!(":{TAG}")), "{after}");
    assert_eq!(
        active, 2,
        "the previous revision stays, for the circuit breaker"
    );
    assert!(
        env_file(&p).contains(&format!("frontend_image_tag: \"{TAG}\"")),
        "{}",
        env_file(&p)
    );
    assert!(out(&o).contains("frontend_task"), "{}", out(&o));
    let plan = run(
        &p,
        &moto.endpoint,
        &["plan", "--env", "dev", "--detailed-exitcode"],
    );
    assert_eq!(code(&plan), 0, "no rollback planned: {}", out(&plan));

    // New code for the workers: every function of that code parameter is updated and
    // publishes a version; the path is written back; the next plan is empty.
    copy_dir(
        &project_root().join("examples/workers/ai"),
        &p.root().join("build/worker"),
    );
    let worker = p.root().join("build/worker/worker.py");
    let text = std::fs::read_to_string(&worker).expect("worker.py");
    std::fs::write(&worker, format!("{text}\n# release 2026.12.01\n")).expect("write");
    let o = run(
        &p,
        &moto.endpoint,
        &[
            "deploy",
            "--env",
            "dev",
            "writing",
            "--code",
            "build/worker",
            "--auto-approve",
        ],
    );
    assert_eq!(code(&o), 0, "{}\n{}", out(&o), err(&o));
    for f in [
        "ai_worker[writing]",
        "ai_worker[speaking]",
        "ai_worker[flashcards]",
        "ai_api_fn",
    ] {
        assert!(
            out(&o).contains(&format!("{f}: version 1 published")),
            "{f}: {}",
            out(&o)
        );
    }
    assert!(env_file(&p).contains("ai_worker_code: \"build/worker\""));
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let versions = lambda
        .list_versions_by_function()
        .function_name("bandup-dev-ai_worker-writing")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 2, "$LATEST and version 1");
    let plan = run(
        &p,
        &moto.endpoint,
        &["plan", "--env", "dev", "--detailed-exitcode"],
    );
    assert_eq!(code(&plan), 0, "no rollback planned: {}", out(&plan));

    // Both deploys are in the audit log.
    let history = run(&p, &moto.endpoint, &["history", "--env", "dev", "--json"]);
    let records: serde_json::Value = serde_json::from_str(&out(&history)).expect("json");
    let commands: Vec<&str> = records
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["command"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(commands, ["deploy", "deploy", "apply"], "{records:#}");
    assert!(
        records[0]["plan_digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "a deploy records the digest of the plan it applied: {records:#}"
    );
}

#[tokio::test]
async fn a_deploy_that_fails_is_rolled_back_and_the_file_is_left_as_it_was() {
    let moto = Moto::start();
    let p = Project::copy();
    apply_dev(&p, &moto);
    let sdk = moto.sdk().await;
    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    let (before, _) = frontend_image(&ecs).await;
    push(&ecr, FRONTEND_REPO, TAG).await;
    let file = env_file(&p);

    // The service's update fails however often it is tried.
    let proxy = Proxy::start(&moto.endpoint, 1);
    proxy.rule(
        Rule::on("UpdateService")
            .fault(Fault::ServerError)
            .times(1000),
    );
    let o = run(
        &p,
        &proxy.endpoint,
        &[
            "deploy",
            "--env",
            "dev",
            "frontend",
            "--image",
            TAG,
            "--auto-approve",
        ],
    );
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    assert!(out(&o).contains("Rolling back"), "{}", out(&o));
    let (after, active) = frontend_image(&ecs).await;
    assert_eq!(after, before, "the service runs the previous revision");
    assert_eq!(active, 1, "the new revision is deregistered");
    assert_eq!(env_file(&p), file, "the environment file is left as it was");
    let plan = run(
        &p,
        &moto.endpoint,
        &["plan", "--env", "dev", "--detailed-exitcode"],
    );
    assert_eq!(code(&plan), 0, "{}", out(&plan));
    let history = run(&p, &moto.endpoint, &["history", "--env", "dev", "--json"]);
    assert!(
        out(&history).contains("failed, rolled back"),
        "{}",
        out(&history)
    );
}

#[tokio::test]
async fn a_code_deploy_that_fails_part_way_puts_the_previous_code_back() {
    let moto = Moto::start();
    let p = Project::copy();
    apply_dev(&p, &moto);
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
    let functions = [
        "bandup-dev-ai_worker-writing",
        "bandup-dev-ai_worker-speaking",
        "bandup-dev-ai_worker-flashcards",
        "bandup-dev-ai_api_fn",
    ];
    let code_of = || async {
        let mut out = Vec::new();
        for f in functions {
            let c = lambda
                .get_function()
                .function_name(f)
                .send()
                .await
                .expect("function");
            let sha = c
                .configuration()
                .and_then(|c| c.code_sha256())
                .unwrap_or_default();
            out.push(sha.to_string());
        }
        out
    };
    let before = code_of().await;
    copy_dir(
        &project_root().join("examples/workers/ai"),
        &p.root().join("build/worker"),
    );
    let worker = p.root().join("build/worker/worker.py");
    let text = std::fs::read_to_string(&worker).expect("worker.py");
    std::fs::write(&worker, format!("{text}\n# broken release\n")).expect("write");
    let file = env_file(&p);

    // The writing worker's new code is refused however often it is sent; the other
    // functions take theirs, and are put back.
    let proxy = Proxy::start(&moto.endpoint, 1);
    proxy.rule(
        Rule::on("PUT /2015-03-31/functions/bandup-dev-ai_worker-writing/code")
            .fault(Fault::ServerError)
            .times(1000),
    );
    let o = run(
        &p,
        &proxy.endpoint,
        &[
            "deploy",
            "--env",
            "dev",
            "writing",
            "--code",
            "build/worker",
            "--auto-approve",
        ],
    );
    assert_eq!(code(&o), 1, "{}\n{}", out(&o), err(&o));
    assert!(
        out(&o).contains("Rolling back to what environments/dev.yaml says"),
        "{}",
        out(&o)
    );
    assert!(out(&o).contains("Rollback complete!"), "{}", out(&o));
    assert!(!out(&o).contains("version 1 published"), "{}", out(&o));
    assert_eq!(
        code_of().await,
        before,
        "every function runs the previous code"
    );
    assert_eq!(env_file(&p), file, "the environment file is left as it was");
    let plan = run(
        &p,
        &moto.endpoint,
        &["plan", "--env", "dev", "--detailed-exitcode"],
    );
    assert_eq!(code(&plan), 0, "{}", out(&plan));
}
