//! Lambda: the AI worker functions, their event source mappings from the queues, and the permissions that let other services invoke them.
//! What the three types share: Lambda's error codes, tags (a map per ARN, read per
//! function or mapping: Lambda has no batch tag read), retagging, and waiting out
//! Lambda's one-change-at-a-time rule (`ResourceConflictException` while an update is in
//! progress).

pub mod event_source_mapping;
pub mod function;
pub mod permission;
pub mod version;

use super::creation_tags;
use super::retry::service_calls;
use crate::aws::wait::{paced, Pace, Poll};
use crate::model::Value;
use crate::provider::{ErrorKind, ProviderError, Request, TagDelta};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

/// The kind of a Lambda error code. `ResourceConflictException` means both "a function
/// of this name exists" (on create) and "an update is in progress" (on update); the
/// callers that can meet the second wait it out with `settled`.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceConflictException" => ErrorKind::Conflict,
        "ResourceInUseException" => ErrorKind::InUse,
        "TooManyRequestsException" => ErrorKind::Throttled,
        _ => return None,
    })
}

service_calls!(aws_sdk_lambda, &["TooManyRequestsException"], codes);

/// The tags a new function or mapping is created with.
pub fn tags(req: &Request<'_>) -> HashMap<String, String> {
    creation_tags(req).into_iter().collect()
}

/// Every tag of the function or event source mapping `arn` (ListTags).
pub async fn list_tags(
    lambda: &aws_sdk_lambda::Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = lambda
        .list_tags()
        .resource(arn)
        .send()
        .await
        .map_err(|e| error("ListTags", e))?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Set and remove tags on the function or event source mapping `arn`.
pub async fn retag(
    lambda: &aws_sdk_lambda::Client,
    arn: &str,
    delta: &TagDelta,
) -> Result<(), ProviderError> {
    if !delta.set.is_empty() {
        lambda
            .tag_resource()
            .resource(arn)
            .set_tags(Some(delta.set.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| error("TagResource", e))?;
    }
    if !delta.remove.is_empty() {
        lambda
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(delta.remove.clone()))
            .send()
            .await
            .map_err(|e| error("UntagResource", e))?;
    }
    Ok(())
}

/// How often to try again a call Lambda refuses for a moment (an update in progress,
/// a role not yet assumable): seconds in AWS.
const RETRY: Pace = Pace {
    first: Duration::from_secs(1),
    max: Duration::from_secs(10),
    say_every: Duration::from_secs(30),
};

/// Run `call` until Lambda stops refusing it for a passing reason, at most the request's
/// timeout: `ResourceConflictException` (another update of the function is in progress;
/// AWS allows one at a time) and, when `role_race` is set, the execution role Lambda
/// cannot yet assume (IAM takes seconds to make a new role usable: AWS answers
/// `InvalidParameterValueException` "cannot be assumed by Lambda" or "does not have
/// permissions to call ReceiveMessage"), which a call that makes something can meet.
pub async fn settled<T, F, Fut>(
    req: &Request<'_>,
    doing: &str,
    role_race: bool,
    mut call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    // The role race is given two minutes: longer, the role really lacks the permission.
    let started = std::time::Instant::now();
    paced(req, doing, RETRY, || {
        let r = call();
        async move {
            match r.await {
                Ok(t) => Ok(Poll::Ready(t)),
                Err(e) if in_progress(&e) => Ok(Poll::Pending("update in progress".into())),
                Err(e)
                    if role_race
                        && started.elapsed() < Duration::from_secs(120)
                        && role_not_ready(&e) =>
                {
                    Ok(Poll::Pending(
                        "execution role not yet usable by Lambda (IAM propagation)".into(),
                    ))
                }
                Err(e) => Err(e),
            }
        }
    })
    .await
}

/// Lambda refuses for now: a `ResourceConflictException` about an operation in progress
/// (not about a name taken: "Function already exist", "The statement id (...) provided
/// already exists"), or a `ResourceInUseException` (a mapping still changing state).
fn in_progress(e: &ProviderError) -> bool {
    match e.code.as_deref() {
        Some("ResourceConflictException") => {
            !e.message.to_ascii_lowercase().contains("already exist")
        }
        Some("ResourceInUseException") => true,
        _ => false,
    }
}

/// Lambda cannot yet use a role made moments before.
fn role_not_ready(e: &ProviderError) -> bool {
    e.code.as_deref() == Some("InvalidParameterValueException")
        && (e.message.contains("cannot be assumed by Lambda")
            || e.message.contains("does not have permissions to call"))
}

/// The function's name in a name or an ARN (`arn:aws:lambda:<region>:<account>:function:
/// <name>[:<qualifier>]`): Lambda accepts either wherever a function is named.
pub fn function_name(name_or_arn: &str) -> &str {
    match name_or_arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => name_or_arn,
    }
}

/// The name of the function a declared `function` field names, references unresolved
/// (how discovery knows the functions to look at before anything resolves): a reference
/// to a function of this stack is its deterministic name; a literal name or ARN, itself.
pub fn declared_function(scope: &crate::provider::Scope, v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Str(s) => Some(function_name(s).to_string()),
        Value::Ref(r) => r.targets.first().map(|t| scope.name_for(t)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: &str, message: &str) -> ProviderError {
        let mut e = ProviderError::new("X", message);
        e.code = Some(code.into());
        e
    }

    #[test]
    fn a_taken_name_is_no_update_in_progress() {
        assert!(!in_progress(&err(
            "ResourceConflictException",
            "Function already exist: x"
        )));
        assert!(in_progress(&err(
            "ResourceConflictException",
            "The operation cannot be performed at this time. An update is in progress for resource: arn"
        )));
    }

    #[test]
    fn a_function_is_named_by_its_name_or_its_arn() {
        assert_eq!(
            function_name("arn:aws:lambda:eu-west-2:1:function:bandup-dev-ai:live"),
            "bandup-dev-ai"
        );
        assert_eq!(function_name("bandup-dev-ai"), "bandup-dev-ai");
    }

    #[test]
    fn the_role_race_is_recognised_by_its_message() {
        assert!(role_not_ready(&err(
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda."
        )));
        assert!(!role_not_ready(&err(
            "InvalidParameterValueException",
            "Value 99999 for MemorySize is invalid"
        )));
    }
}
