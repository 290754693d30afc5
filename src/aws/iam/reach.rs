//! What a role's inline policies may name: the stack's own resources (written as
//! references), AWS-owned ARNs (foundation models, AWS managed policies), and `"*"` only
//! for actions AWS cannot limit to a resource. Anything else is reported before any AWS
//! call, so a policy never quietly reaches beyond the stack.

use crate::config::{Diagnostic, Pos};
use crate::model::Value;

/// Actions that support no resource-level permissions: AWS documents `"*"` as their only
/// resource (Service Authorization Reference, "Resource types: none").
const ONLY_STAR: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
    "logs:DescribeLogGroups",
    "sts:GetCallerIdentity",
    "codebuild:ListProjects",
    "codebuild:ListBuilds",
];

/// Warnings for every resource `policies` (a role's inline policies) names outside the
/// stack. `at` is where the policies were written.
pub fn outside_the_stack(addr: &str, policies: &Value, at: &Pos) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Value::Map(docs) = policies else {
        return out;
    };
    for (name, doc) in docs {
        for st in statements(doc) {
            if st.get("Effect").and_then(Value::as_str) == Some("Deny") {
                continue;
            }
            // A condition narrows `"*"` (to a cluster, to what a create tags...).
            let conditioned = st.contains_key("Condition");
            let actions = strings(st.get("Action"));
            for res in values(st.get("Resource")) {
                let problem = match res {
                    Value::Str(s) if s == "*" && conditioned => None,
                    Value::Str(s) if s == "*" => {
                        let limitable: Vec<&str> = actions
                            .iter()
                            .copied()
                            .filter(|a| !ONLY_STAR.iter().any(|o| o.eq_ignore_ascii_case(a)))
                            .collect();
                        (!limitable.is_empty()).then(|| {
                            (
                                format!(
                                    "`{addr}` policy `{name}` grants {} on every resource (\"*\")",
                                    limitable.join(", ")
                                ),
                                "name this stack's resources (`${name.arn}`): AWS limits these actions to a resource"
                                    .to_string(),
                            )
                        })
                    }
                    Value::Str(s) if !aws_owned(s) => Some((
                        format!("`{addr}` policy `{name}` names `{s}`, which is not a resource of this stack"),
                        "refer to the stack's resource (`${name.arn}`), so the grant follows it and ends with it; only AWS-owned ARNs (foundation models, AWS managed policies) may be written out"
                            .to_string(),
                    )),
                    _ => None,
                };
                if let Some((msg, hint)) = problem {
                    out.push(Diagnostic::warning(at.clone(), msg).hint(hint));
                }
            }
        }
    }
    out
}

/// ARNs AWS itself owns, which no stack can declare: foundation models (no account),
/// AWS managed policies (account `aws`).
fn aws_owned(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "bedrock", _, "", rest] => rest.starts_with("foundation-model/"),
        ["arn", _, _, _, "aws", _] => true,
        _ => false,
    }
}

fn statements(doc: &Value) -> Vec<&std::collections::BTreeMap<String, Value>> {
    match doc.as_map().and_then(|m| m.get("Statement")) {
        Some(Value::List(l)) => l.iter().filter_map(Value::as_map).collect(),
        Some(Value::Map(m)) => vec![m],
        _ => Vec::new(),
    }
}

fn values(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::List(l)) => l.iter().collect(),
        Some(other) => vec![other],
        None => Vec::new(),
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    values(v).into_iter().filter_map(Value::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foundation_models_and_managed_policies_are_aws_owned() {
        assert!(aws_owned(
            "arn:aws:bedrock:eu-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
        ));
        assert!(aws_owned("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(!aws_owned("arn:aws:s3:::someone-elses-bucket"));
        assert!(!aws_owned(
            "arn:aws:secretsmanager:eu-west-2:123456789012:secret:x"
        ));
    }
}
