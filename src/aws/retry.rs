//! Which failed calls the SDK may repeat by itself (see docs/architecture.md, "Retries"),
//! written once for every service: each service's `once` and `eventually` put these
//! classifiers into its own per-call configuration.

use aws_runtime::retries::classifiers::{AwsErrorCodeClassifier, THROTTLING_ERRORS};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use std::marker::PhantomData;
use std::time::Duration;

/// Backoff for calls naming something created moments before: about 25 s in all.
pub fn patient() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(250))
        .with_max_backoff(Duration::from_secs(8))
}

/// Retries the service's "not yet visible" codes (eventual consistency) besides what
/// the SDK retries anyway (throttling, server errors, timeouts).
pub fn transient<E>(not_yet_visible: &'static [&'static str]) -> AwsErrorCodeClassifier<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    AwsErrorCodeClassifier::<E>::builder()
        .transient_errors(not_yet_visible)
        .build()
}

/// Forbids a retry unless the answer proves the call did nothing (throttling, "not yet
/// visible"): an attempt whose outcome is unknown fails as `ambiguous`, and the engine
/// reads what exists before trying again.
pub struct NoAmbiguousRetry<E> {
    not_yet_visible: &'static [&'static str],
    error: PhantomData<E>,
}

impl<E> NoAmbiguousRetry<E> {
    pub fn new(not_yet_visible: &'static [&'static str]) -> Self {
        NoAmbiguousRetry {
            not_yet_visible,
            error: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for NoAmbiguousRetry<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoAmbiguousRetry")
    }
}

impl<E> ClassifyRetry for NoAmbiguousRetry<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(err)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = err
            .as_operation_error()
            .and_then(|e| e.downcast_ref::<E>())
            .and_then(|e| e.code());
        match code {
            Some(c) if THROTTLING_ERRORS.contains(&c) || self.not_yet_visible.contains(&c) => {
                RetryAction::NoActionIndicated
            }
            _ => RetryAction::RetryForbidden,
        }
    }

    fn name(&self) -> &'static str {
        "NoAmbiguousRetry"
    }
}

/// What every service module defines the same way, from its SDK crate, its "not yet
/// visible" codes and its error-code table: `error` (an SDK error as a `ProviderError`
/// of the right kind), `eventually` for idempotent calls, `once` for calls that make
/// something.
macro_rules! service_calls {
    ($sdk:ident, $not_yet_visible:expr, $codes:expr) => {
        /// An SDK error of this service as the engine reports it.
        pub fn error<E>(
            operation: &str,
            e: aws_smithy_runtime_api::client::result::SdkError<
                E,
                aws_smithy_runtime_api::client::orchestrator::HttpResponse,
            >,
        ) -> $crate::provider::ProviderError
        where
            E: aws_smithy_types::error::metadata::ProvideErrorMetadata
                + std::error::Error
                + 'static,
        {
            $crate::aws::error::aws_error(operation, e, $codes)
        }

        /// A delete's result, where "already gone" counts as success.
        #[allow(dead_code)]
        pub fn deleted<T, E>(
            operation: &str,
            r: Result<
                T,
                aws_smithy_runtime_api::client::result::SdkError<
                    E,
                    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
                >,
            >,
        ) -> Result<(), $crate::provider::ProviderError>
        where
            E: aws_smithy_types::error::metadata::ProvideErrorMetadata
                + std::error::Error
                + 'static,
        {
            $crate::provider::gone(r.map_err(|e| error(operation, e)))
        }

        /// Per-call configuration for idempotent calls that name resources created
        /// moments before: "not yet visible" is retried with backoff (about 25 s at
        /// most) by the SDK's own retry loop, as are throttling and server errors.
        /// `E` is the operation's error type.
        #[allow(dead_code)]
        pub fn eventually<E>() -> $sdk::config::Builder
        where
            E: aws_smithy_types::error::metadata::ProvideErrorMetadata
                + std::error::Error
                + Send
                + Sync
                + 'static,
        {
            $sdk::config::Builder::default()
                .retry_classifier($crate::aws::retry::transient::<E>($not_yet_visible))
                .retry_config($crate::aws::retry::patient())
        }

        /// Per-call configuration for calls that are not safe to repeat blindly
        /// (creates, authorizing a rule, associating): as `eventually`, but an attempt
        /// whose outcome is unknown is not retried by the SDK.
        #[allow(dead_code)]
        pub fn once<E>() -> $sdk::config::Builder
        where
            E: aws_smithy_types::error::metadata::ProvideErrorMetadata
                + std::error::Error
                + Send
                + Sync
                + 'static,
        {
            eventually::<E>().retry_classifier($crate::aws::retry::NoAmbiguousRetry::<E>::new(
                $not_yet_visible,
            ))
        }
    };
}
pub(crate) use service_calls;
