//! `apply` and `destroy`: plan (or check a saved plan), show, confirm, execute, report,
//! with the environment lock held from before anything is read until the end, and an
//! audit record written whatever the outcome. A first SIGINT (Ctrl-C) or SIGTERM (what CI
//! runners send on cancel) lets the operations in flight finish and starts nothing new;
//! a second one stops at once.

use super::deploy::Deploy;
use super::{aws_registry, confirm, load, require_terminal, Ctx, Outcome};
use crate::aws::state_bucket::audit::{self, Record, ResourceOutcome};
use crate::aws::state_bucket::lock::Lock;
use crate::aws::state_bucket::{now_ms, Caller, StateBucket};
use crate::cli::LockArgs;
use crate::plan::saved::{SavedPlan, SavedPlanError, Target};
use crate::plan::{self, Mode, Plan};
use crate::ui;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What `apply` or `destroy` was asked to do.
pub struct Options<'a> {
    /// A plan saved with `plan --out`, applied as it is.
    pub plan_file: Option<&'a Path>,
    pub auto_approve: bool,
    /// JSON events on stdout instead of the plan and progress.
    pub json: bool,
    pub lock: &'a LockArgs,
    pub mode: Mode,
    /// A deploy: its stack (a parameter set to what is rolled out) and what it may change.
    pub deploy: Option<&'a Deploy>,
}

/// The lock, where the signal handler can release it before stopping the process.
type LockSlot = Arc<tokio::sync::Mutex<Option<Lock>>>;

pub async fn run(ctx: &Ctx, o: Options<'_>) -> Outcome {
    // A saved plan is checked before anything else: file, version, digest, environment.
    let saved = match o.plan_file {
        Some(path) => match SavedPlan::read(path) {
            Ok(s) => Some(s),
            Err(e) => return refuse(o.json, &e.to_string()),
        },
        None => None,
    };
    let mode = match &saved {
        Some(s) if s.plan.destroy => Mode::Destroy { force: false },
        _ => o.mode,
    };
    let destroy = matches!(mode, Mode::Destroy { .. });
    let what = match (&o.deploy, destroy) {
        (Some(_), _) => "deploy",
        (None, true) => "destroy",
        (None, false) => "apply",
    };
    if let (Some(s), Some(env)) = (&saved, &ctx.global.env) {
        if env != &s.env {
            let e = SavedPlanError::OtherEnv {
                path: path_of(o.plan_file),
                planned: s.env.clone(),
                asked: env.clone(),
            };
            return refuse(o.json, &e.to_string());
        }
    }
    if saved.is_none() {
        if o.json && !o.auto_approve {
            return refuse(
                o.json,
                &format!("--json prints events instead of asking: pass --auto-approve, or {what} a saved plan (plan --out FILE)"),
            );
        }
        if let Err(code) = require_terminal(o.auto_approve, what) {
            return Ok(code);
        }
    }
    // A saved plan is applied to the environment it was made for.
    let env_ctx;
    let ctx = match &saved {
        Some(s) => {
            env_ctx = ctx.for_env(&s.env);
            &env_ctx
        }
        None => ctx,
    };
    let (stack, graph) = match o.deploy {
        Some(d) => (d.stack.clone(), d.graph.clone()),
        None => match load(ctx, &crate::aws::offline_registry()) {
            Ok(x) => x,
            Err(code) => return Ok(code),
        },
    };
    if let Some(s) = &saved {
        if s.stack != stack.name {
            let e = SavedPlanError::OtherStack {
                path: path_of(o.plan_file),
                planned: s.stack.clone(),
                found: stack.name.clone(),
            };
            return refuse(o.json, &e.to_string());
        }
        let changes = s.changed_sources(&stack.sources);
        if !changes.is_empty() {
            return refuse(o.json, &SavedPlanError::Stale { changes }.to_string());
        }
    }
    if o.lock.lock && stack.state_bucket.is_none() {
        return refuse(
            o.json,
            &format!(
                "the {env} environment has no state bucket, so {what} cannot take the environment lock that keeps two commands from changing it at once. \
                 Add `state_bucket: NAME` to environments/{env}.yaml (`bandup-infra bootstrap` creates the bucket), \
                 or pass --lock=false to {what} without a lock and without an audit record.",
                env = stack.env
            ),
        );
    }

    let interrupt = crate::apply::Interrupt::default();
    let applying = Arc::new(AtomicBool::new(false));
    let slot: LockSlot = Arc::default();
    tokio::spawn(on_signals(
        interrupt.clone(),
        applying.clone(),
        slot.clone(),
    ));
    let (sdk, registry) = aws_registry(ctx, &stack).await?;
    let bucket = StateBucket::of(&stack, &sdk);
    let caller = match (&bucket, &saved) {
        (None, None) => Caller::default(),
        _ => Caller::identify(&sdk).await?,
    };
    if let Some(s) = &saved {
        let here = Target {
            region: sdk.region().map(|r| r.to_string()),
            account_id: Some(caller.account.clone()),
        };
        if let Err(e) = s.check_target(&here) {
            return refuse(o.json, &e);
        }
    }
    if let (Some(b), true) = (&bucket, o.lock.lock) {
        let json = o.json;
        let say = move |m: String| {
            if json {
                ui::events::lock("waiting", &m)
            } else {
                eprintln!("{m}")
            }
        };
        let lost = {
            let interrupt = interrupt.clone();
            Arc::new(move |m: String| {
                eprintln!("\n{m}\nNothing new will start; the operations in flight finish.");
                interrupt.trigger();
            })
        };
        match b.lock(&caller, what, o.lock.lock_timeout, &say, lost).await {
            Ok(lock) => {
                let m = format!("lock {} taken", lock.info.id);
                if o.json {
                    ui::events::lock("acquired", &m);
                }
                tracing::debug!("{m}");
                *slot.lock().await = Some(lock);
            }
            Err(e) => return refuse(o.json, &e.to_string()),
        }
    }
    let run = Run {
        ctx,
        stack: &stack,
        graph: &graph,
        registry: &registry,
        saved: saved.as_ref(),
        json: o.json,
        auto_approve: o.auto_approve,
        mode,
        interrupt: &interrupt,
        applying: &applying,
        bucket: bucket.as_ref(),
        caller: &caller,
        what,
        deploy: o.deploy,
        sdk: &sdk,
    };
    let result = run.locked().await;
    if let (true, Err(e)) = (o.json, &result) {
        ui::events::error(&format!("{e:#}"));
    }
    if let Some(lock) = slot.lock().await.take() {
        if let Err(e) = lock.release().await {
            eprintln!("warning: {e}");
        } else if o.json {
            ui::events::lock("released", "lock released");
        }
    }
    result
}

/// Everything done under the lock.
struct Run<'a> {
    ctx: &'a Ctx,
    stack: &'a crate::config::Stack,
    graph: &'a crate::graph::Dag<crate::model::Addr>,
    registry: &'a crate::provider::Registry,
    saved: Option<&'a SavedPlan>,
    json: bool,
    auto_approve: bool,
    mode: Mode,
    interrupt: &'a crate::apply::Interrupt,
    applying: &'a AtomicBool,
    bucket: Option<&'a StateBucket>,
    caller: &'a Caller,
    /// "apply", "destroy" or "deploy": the lock's and the audit record's command.
    what: &'static str,
    deploy: Option<&'a Deploy>,
    sdk: &'a aws_types::SdkConfig,
}

impl Run<'_> {
    async fn locked(&self) -> Outcome {
        let destroy = matches!(self.mode, Mode::Destroy { .. });
        let started = now_ms();
        let reporter: Arc<dyn crate::model::Reporter> = if self.json {
            Arc::new(ui::events::JsonLines)
        } else {
            Arc::from(ui::progress::reporter(self.ctx.style))
        };
        let fresh = plan::plan(
            self.stack,
            self.graph,
            self.registry,
            self.mode,
            reporter.as_ref(),
        )
        .await?;
        let (plan, digest) = match self.saved {
            Some(s) => {
                let changes = s.changed_live(&fresh, self.registry);
                if !changes.is_empty() {
                    return refuse(self.json, &SavedPlanError::Stale { changes }.to_string());
                }
                (s.applicable(&fresh, self.stack), s.digest.clone())
            }
            None => {
                let fresh = match self.deploy {
                    Some(d) => match plan::restrict(fresh, &d.keep) {
                        Ok((p, _, left_out)) => {
                            if !left_out.is_empty() && !self.json {
                                let names: Vec<String> =
                                    left_out.iter().map(|a| a.to_string()).collect();
                                eprintln!(
                                    "note: {} other resource(s) have pending changes that this deploy leaves alone ({}); `plan` shows them.",
                                    names.len(),
                                    names.join(", ")
                                );
                            }
                            p
                        }
                        Err(e) => return refuse(self.json, &e),
                    },
                    None => fresh,
                };
                let target = Target {
                    region: None,
                    account_id: Some(self.caller.account.clone()),
                };
                let digest = SavedPlan::new(
                    &fresh,
                    &self.stack.sources,
                    target,
                    self.registry,
                    audit::now(),
                )
                .map(|s| s.digest)
                .unwrap_or_default();
                (fresh, digest)
            }
        };
        if self.json {
            ui::events::plan(&plan, self.saved.map(|s| s.digest.as_str()));
        } else {
            print!("{}", ui::plan::render(&plan));
        }
        if !plan.summary.has_changes() {
            self.record(&plan, &digest, started, "no changes", None)
                .await;
            if self.json {
                ui::events::summary("no changes", None);
            } else if !destroy {
                print_outputs(
                    self.stack,
                    self.graph,
                    self.registry,
                    &plan,
                    &Default::default(),
                )
                .await;
            }
            return Ok(ExitCode::SUCCESS);
        }
        if self.saved.is_none() && !self.auto_approve {
            let q = if self.deploy.is_some() {
                format!("Do you want to deploy this to {}?", self.stack.env)
            } else if destroy {
                format!(
                    "Do you really want to destroy every resource of stack {} in {}?",
                    self.stack.name, self.stack.env
                )
            } else {
                format!(
                    "Do you want to perform these actions in {}?",
                    self.stack.env
                )
            };
            if !confirm(&q)? {
                println!("\nCancelled: nothing was changed.");
                return Ok(ExitCode::from(1));
            }
        }
        if !self.json {
            println!();
        }
        self.applying.store(true, Ordering::SeqCst);
        if self.interrupt.is_set() {
            if !self.json {
                println!("Interrupted before any change was made.");
            }
            return Ok(ExitCode::from(130));
        }
        let parallelism = usize::from(self.ctx.global.parallelism);
        let report = crate::apply::apply_until(
            &plan,
            self.registry,
            parallelism,
            reporter.clone(),
            self.interrupt,
        )
        .await;
        let mut outcome = if report.failed() > 0 {
            "failed"
        } else if report.interrupted() > 0 {
            "interrupted"
        } else {
            "succeeded"
        };
        if self.json {
            ui::events::summary(outcome, Some(&report));
        } else {
            let word = match self.what {
                "deploy" => "Deploy",
                "destroy" => "Destroy",
                _ => "Apply",
            };
            print!("\n{}", ui::plan::render_report(&report, word));
        }
        if let (Some(d), "failed") = (self.deploy, outcome) {
            outcome = match self.roll_back(d, &plan, reporter.clone()).await {
                Ok(()) => "failed, rolled back",
                Err(e) => {
                    eprintln!("error: the rollback failed too: {e:#}");
                    "failed, rollback failed"
                }
            };
        }
        self.record(&plan, &digest, started, outcome, Some(&report))
            .await;
        if outcome != "succeeded" {
            return Ok(ExitCode::from(1));
        }
        if !destroy && !self.json && self.deploy.is_none() {
            print_outputs(
                self.stack,
                self.graph,
                self.registry,
                &plan,
                &report.outputs,
            )
            .await;
        }
        Ok(ExitCode::SUCCESS)
    }

    /// After a failed deploy, under the same lock: a service goes back to the revision
    /// it ran before (unless its circuit breaker already took it there) and the
    /// revisions the deploy registered are removed; anything else (a worker's code) is
    /// put back as the environment file says.
    async fn roll_back(
        &self,
        d: &Deploy,
        deployed: &Plan,
        reporter: Arc<dyn crate::model::Reporter>,
    ) -> anyhow::Result<()> {
        let services: Vec<(String, String, String)> = deployed
            .resources
            .iter()
            .filter(|r| r.type_name == "aws_ecs_service" && r.action == plan::Action::Update)
            .filter(|r| r.changes.iter().any(|c| c.field == "task_definition"))
            .filter_map(|r| {
                let l = r.live.as_ref()?;
                let get = |k: &str| l.props.get(k).and_then(crate::model::Value::as_str);
                Some((
                    get("cluster")?.to_string(),
                    l.id.clone(),
                    get("task_definition")?.to_string(),
                ))
            })
            .collect();
        if !services.is_empty() {
            println!("\nRolling back to the revisions that ran before:");
            let ecs = aws_sdk_ecs::Client::new(self.sdk);
            let say = |m: String| println!("  {m}");
            let wait = !d.stack.resources.iter().any(|r| {
                r.props.get("wait_for_steady_state") == Some(&crate::model::Value::Bool(false))
            });
            for (cluster, service, previous) in &services {
                crate::aws::ecs::rollback::restore(&ecs, cluster, service, previous, wait, &say)
                    .await?;
            }
            return Ok(());
        }
        println!(
            "\nRolling back to what environments/{}.yaml says:",
            self.stack.env
        );
        let fresh = plan::plan(
            &d.baseline,
            &d.baseline_graph,
            self.registry,
            Mode::Normal,
            reporter.as_ref(),
        )
        .await?;
        let (back, _, _) = plan::restrict(fresh, &d.keep).map_err(anyhow::Error::msg)?;
        print!("{}", ui::plan::render(&back));
        if !back.summary.has_changes() {
            return Ok(());
        }
        let parallelism = usize::from(self.ctx.global.parallelism);
        let report =
            crate::apply::apply_until(&back, self.registry, parallelism, reporter, self.interrupt)
                .await;
        print!("\n{}", ui::plan::render_report(&report, "Rollback"));
        if report.failed() + report.interrupted() > 0 {
            anyhow::bail!(
                "{} operation(s) of the rollback did not complete",
                report.failed() + report.interrupted()
            );
        }
        Ok(())
    }

    /// Append the audit record, when the environment has a state bucket. A record that
    /// cannot be written is said loudly, but does not undo what was applied.
    async fn record(
        &self,
        plan: &Plan,
        digest: &str,
        started: u64,
        outcome: &str,
        report: Option<&crate::apply::Report>,
    ) {
        let Some(bucket) = self.bucket else { return };
        let finished = now_ms();
        let resources = report
            .map(|r| {
                r.outcomes
                    .iter()
                    .map(|o| {
                        use crate::apply::Status;
                        let (outcome, id, error) = match &o.status {
                            Status::Done { id } => ("done", Some(id.clone()), None),
                            Status::Failed { error, .. } => ("failed", None, Some(error.clone())),
                            Status::Skipped { because } => {
                                ("skipped", None, Some(format!("{because} failed")))
                            }
                            Status::Interrupted => ("interrupted", None, None),
                        };
                        ResourceOutcome {
                            addr: o.addr.to_string(),
                            op: serde_json::to_value(o.op)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            outcome: outcome.into(),
                            id: id.filter(|i| !i.is_empty()),
                            error,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let record = Record {
            record_version: audit::RECORD_VERSION,
            command: self.what.into(),
            stack: self.stack.name.clone(),
            env: self.stack.env.clone(),
            who: self.caller.arn.clone(),
            host: self.caller.host.clone(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started: crate::aws::state_bucket::rfc3339(started),
            finished: crate::aws::state_bucket::rfc3339(finished),
            duration_ms: finished.saturating_sub(started),
            plan_digest: digest.into(),
            saved_plan: self.saved.is_some(),
            outcome: outcome.into(),
            api_calls: plan.api_calls + report.map(|r| r.api_calls).unwrap_or(0),
            resources,
        };
        if let Err(e) = bucket.append(&record, &plan.scope.run).await {
            eprintln!(
                "warning: the audit record of this {} could not be written to s3://{}: {e}",
                record.command, bucket.bucket
            );
        }
    }
}

/// Stop before changing anything: the reason on stderr (and as a JSON event), exit 1.
fn refuse(json: bool, message: &str) -> Outcome {
    if json {
        ui::events::error(message);
    }
    eprintln!("error: {message}");
    Ok(ExitCode::from(1))
}

fn path_of(p: Option<&Path>) -> String {
    p.map(|p| p.display().to_string()).unwrap_or_default()
}

/// The stack's outputs after a successful apply; the apply has succeeded even when
/// they cannot be read.
async fn print_outputs(
    stack: &crate::config::Stack,
    graph: &crate::graph::Dag<crate::model::Addr>,
    registry: &crate::provider::Registry,
    plan: &plan::Plan,
    applied: &plan::outputs::LiveOutputs,
) {
    if stack.outputs.is_empty() {
        return;
    }
    match plan::outputs::after_apply(stack, graph, registry, plan, applied).await {
        Ok(outputs) => print!("{}", ui::outputs::render_after_apply(&outputs)),
        Err(e) => println!(
            "\nOutputs could not be read ({e}); `bandup-infra output --env {}` reads them.",
            stack.env
        ),
    }
}

/// Wait for SIGINT or SIGTERM, as `what` ("Interrupted", "Terminated").
async fn next_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "Interrupted",
                _ = term.recv() => "Terminated",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "Interrupted"
}

/// Before changes start, a signal stops the command at once: nothing was changed. During
/// the apply, the first one lets what is in flight finish, the second stops at once.
/// Either way the lock is released before the process ends.
async fn on_signals(interrupt: crate::apply::Interrupt, applying: Arc<AtomicBool>, slot: LockSlot) {
    let what = next_signal().await;
    interrupt.trigger();
    if !applying.load(Ordering::SeqCst) {
        eprintln!("\n{what} before any change was made.");
        release_and_exit(&slot).await;
    }
    eprintln!("\n{what}: waiting for the operations in flight to finish; nothing new will start. Signal again to stop at once.");
    let what = next_signal().await;
    eprintln!("\n{what} again: stopping at once. Operations in flight may have completed; run apply again to converge.");
    release_and_exit(&slot).await;
}

/// Release the lock (giving up after a few seconds) and exit 130.
async fn release_and_exit(slot: &LockSlot) {
    let lock = match tokio::time::timeout(std::time::Duration::from_secs(1), slot.lock()).await {
        Ok(mut guard) => guard.take(),
        Err(_) => None,
    };
    if let Some(lock) = lock {
        let release = tokio::time::timeout(std::time::Duration::from_secs(5), lock.release());
        if let Ok(Err(e)) = release.await {
            eprintln!("warning: {e}");
        }
    }
    std::process::exit(130);
}
