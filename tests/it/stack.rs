//! The whole BandUp stack, every layer at once, against the emulator: from empty in one
//! apply, a plan with nothing to do, then `destroy` leaves nothing behind, asked of every
//! service directly (`support::inventory`), not of our own discovery.
//!
//! What the emulator cannot show: the final database snapshot `destroy` keeps is not
//! counted (it is kept on purpose); AWS would take tens of minutes for the database,
//! the cache and the distribution of the certificate, moto none.

use crate::support::inventory::inventory;
use crate::support::moto::{sdk_at, Moto};
use crate::support::{load, Project};
use bandup_infra::apply::apply;
use bandup_infra::model::Quiet;
use bandup_infra::plan::{plan, Action, Mode, Plan};
use bandup_infra::provider::Registry;
use std::sync::Arc;

async fn plan_dev(p: &Project, registry: &Registry, mode: Mode) -> Plan {
    let (stack, graph) = load(p.root(), Some("dev"), registry);
    plan(&stack, &graph, registry, mode, &Quiet)
        .await
        .expect("plan")
}

async fn apply_dev(p: &Project, registry: &Registry, mode: Mode) -> Plan {
    let planned = plan_dev(p, registry, mode).await;
    let report = apply(&planned, registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:#?}", report.outcomes);
    planned
}

#[tokio::test]
async fn the_whole_dev_stack_applies_from_empty_replans_empty_and_destroy_leaves_nothing() {
    let moto = Moto::start();
    let sdk = sdk_at(&moto.endpoint).await;
    let before = inventory(&sdk).await;
    let registry = bandup_infra::aws::registry(&sdk);
    let p = Project::copy();

    let created = apply_dev(&p, &registry, Mode::Normal).await;
    assert!(created.resources.iter().all(|r| r.action == Action::Create));
    let during = inventory(&sdk).await;
    for kind in [
        "ec2 vpc",
        "ec2 nat gateway",
        "rds instance",
        "elasticache replication group",
        "s3 bucket",
        "secret",
        "sqs queue",
        "lambda function",
        "event source mapping",
        "rest api",
        "codebuild project",
        "pipeline",
        "connection",
    ] {
        assert!(during.contains_key(kind), "{kind} missing from {during:#?}");
    }
    let again = plan_dev(&p, &registry, Mode::Normal).await;
    assert!(!again.summary.has_changes(), "{:#?}", again.resources);

    apply_dev(&p, &registry, Mode::Destroy { force: true }).await;
    let after = plan_dev(&p, &registry, Mode::Normal).await;
    assert_eq!(after.summary.add, created.resources.len());
    assert_eq!(inventory(&sdk).await, before, "left behind after destroy");
}
