//! Published versions of a function: `deploy` publishes one after rolling out new code,
//! so that what ran at each release can be named and invoked again.

use super::error;
use crate::provider::ProviderError;

/// PublishVersion of `function`'s current code, guarded by its SHA-256 (base64, as Lambda
/// reports it): if another update replaced the code since, Lambda refuses rather than
/// publishing code this deploy did not roll out. Returns the version number.
pub async fn publish(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    code_sha256: &str,
    description: &str,
) -> Result<String, ProviderError> {
    let out = lambda
        .publish_version()
        .function_name(function)
        .code_sha256(code_sha256)
        .description(description)
        .send()
        .await
        .map_err(|e| error("PublishVersion", e))?;
    Ok(out.version().unwrap_or_default().to_string())
}
