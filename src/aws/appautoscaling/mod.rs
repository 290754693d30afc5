//! Application Auto Scaling: target-tracking scaling of ECS services
//! (`service_scaling.rs`), and its error codes (`ObjectNotFoundException`,
//! `ConcurrentUpdateException`...).

pub mod service_scaling;

use super::retry::service_calls;
use crate::provider::ErrorKind;

/// The kind of an Application Auto Scaling error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ObjectNotFoundException" => ErrorKind::NotFound,
        "ConcurrentUpdateException" => ErrorKind::InUse,
        _ => return None,
    })
}

service_calls!(aws_sdk_applicationautoscaling, &[], codes);
