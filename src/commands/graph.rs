//! `graph`: print the resource graph as DOT or Mermaid, grouped by the platform's layers
//! (network, data, edge, compute, AI, delivery).

use super::{load, Ctx, Outcome};
use crate::cli::{GraphArgs, GraphFormat};
use std::process::ExitCode;

pub fn run(ctx: &Ctx, args: &GraphArgs) -> Outcome {
    let registry = crate::aws::offline_registry();
    let (stack, graph) = match load(ctx, &registry) {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let label = |a: &crate::model::Addr| {
        let t = stack
            .resource(a)
            .map(|r| r.type_name.as_str())
            .unwrap_or("");
        format!("{a}\n{t}")
    };
    let group = |a: &crate::model::Addr| {
        stack
            .resource(a)
            .map(|r| layer_of(r, &stack).to_string())
            .unwrap_or_default()
    };
    let text = match args.format {
        GraphFormat::Dot => graph.to_dot(label, group),
        GraphFormat::Mermaid => graph.to_mermaid(|a| label(a).replace('\n', "<br/>"), group),
    };
    super::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Types every layer uses (roles, log groups, buckets, secrets): such a resource is drawn
/// in the layer of the resources that use it when they are all of one layer (a worker's
/// role with the AI layer, the load balancer's log bucket with the edge), else by its type.
const SHARED: &[&str] = &[
    "aws_iam_role",
    "aws_cloudwatch_log_group",
    "aws_s3_bucket",
    "aws_secretsmanager_secret",
];

/// The layer `r` is drawn in.
fn layer_of(r: &crate::config::Resource, stack: &crate::config::Stack) -> &'static str {
    let own = layer(&r.type_name);
    if !SHARED.contains(&r.type_name.as_str()) {
        return own;
    }
    let users: std::collections::BTreeSet<&str> = stack
        .resources
        .iter()
        .filter(|u| u.deps.contains(&r.addr) && !SHARED.contains(&u.type_name.as_str()))
        .map(|u| layer(&u.type_name))
        .collect();
    match users.into_iter().collect::<Vec<_>>().as_slice() {
        [one] => one,
        _ => own,
    }
}

/// The platform layer a resource type belongs to, for grouping the picture.
fn layer(type_name: &str) -> &'static str {
    let t = type_name.trim_start_matches("aws_");
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| t.starts_with(p));
    if starts(&[
        "vpc",
        "subnet",
        "internet_gateway",
        "eip",
        "nat_gateway",
        "route_table",
        "security_group",
    ]) {
        "network"
    } else if starts(&["db_", "elasticache_", "s3_", "secretsmanager_"]) {
        "data"
    } else if starts(&["route53_", "acm_", "lb", "wafv2_"]) {
        "edge"
    } else if starts(&["ecr_", "ecs_", "cloudwatch_log", "iam_"]) {
        "compute"
    } else if starts(&["sqs_", "lambda_", "api_gateway", "apigateway"]) {
        "AI"
    } else if starts(&["codebuild_", "codepipeline", "codeconnections_"]) {
        "delivery"
    } else {
        "other"
    }
}
