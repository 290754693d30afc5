//! AWS SDK errors as the engine reports them: operation, code, message, request id, the
//! kind of failure (each service supplies its own codes) and whether the call may have
//! been carried out although it failed.

use crate::provider::{ErrorKind, ProviderError};
use aws_runtime::retries::classifiers::THROTTLING_ERRORS;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

/// How one service names its failures: the kind of an error code, if it knows it.
pub type Codes = fn(&str) -> Option<ErrorKind>;

/// An SDK error as the engine reports it: operation, AWS error code, message, request id,
/// and whether the call may have been carried out although it failed.
pub fn aws_error<E>(operation: &str, e: SdkError<E, HttpResponse>, codes: Codes) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    SdkError<E, HttpResponse>: RequestId,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_string);
    let kind = match code.as_deref() {
        Some(c) if THROTTLING_ERRORS.contains(&c) => ErrorKind::Throttled,
        Some(c) => codes(c).unwrap_or_default(),
        None => ErrorKind::Other,
    };
    let ambiguous = match &e {
        SdkError::ConstructionFailure(_) => false,
        SdkError::DispatchFailure(d) => !d.is_user(),
        SdkError::ServiceError(_) => {
            status.is_some_and(|s| s >= 500)
                && !code
                    .as_deref()
                    .is_some_and(|c| THROTTLING_ERRORS.contains(&c))
        }
        _ => true,
    };
    let message = match (e.message(), &code, e.raw_response()) {
        (Some(m), _, _) => m.to_string(),
        // An answer that is not an AWS error at all: a proxy or gateway in between
        // failed, or the service is unavailable. Say that, not what the parser choked on.
        (None, None, Some(raw)) if raw.status().as_u16() >= 400 => not_aws(raw, ambiguous),
        _ => chain(&e),
    };
    ProviderError {
        operation: operation.to_string(),
        code,
        message,
        request_id: e.request_id().map(str::to_string),
        kind,
        ambiguous,
    }
}

/// "HTTP 502 Bad Gateway with an empty body instead of an AWS error response: ..."
fn not_aws(raw: &HttpResponse, ambiguous: bool) -> String {
    let status = raw.status().as_u16();
    let reason = http_reason(status);
    let body = raw
        .body()
        .bytes()
        .map(|b| {
            String::from_utf8_lossy(b)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let what = if body.is_empty() {
        "an empty body".to_string()
    } else {
        let shown: String = body.chars().take(120).collect();
        let more = if shown.len() < body.len() { "..." } else { "" };
        format!("a body that is not an AWS error ({shown}{more})")
    };
    let why = if status >= 500 {
        "a proxy or gateway between here and AWS failed, or the service is unavailable"
    } else {
        "something between here and AWS (a proxy, a firewall, a wrong --endpoint-url) refused the request"
    };
    let outcome = if ambiguous {
        " The request may have been carried out; running the command again is safe: it reads what exists first."
    } else {
        ""
    };
    format!("the endpoint answered HTTP {status}{reason} with {what} instead of an AWS error response: {why}.{outcome}")
}

fn http_reason(status: u16) -> &'static str {
    match status {
        400 => " Bad Request",
        403 => " Forbidden",
        404 => " Not Found",
        500 => " Internal Server Error",
        502 => " Bad Gateway",
        503 => " Service Unavailable",
        504 => " Gateway Timeout",
        _ => "",
    }
}

/// An error and its causes on one line, each said once, without debug dumps.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let m = cause.to_string();
        if !m.is_empty() && !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        next = cause.source();
    }
    if out.contains("credential") {
        out.push_str(" (configure AWS credentials: a profile with --profile or AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
    out
}
