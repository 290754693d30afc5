//! CodeBuild: the projects that build the app images and push them to ECR; what its
//! type shares: CodeBuild's error codes and tags (a list on the project itself: read in
//! the batched BatchGetProjects, and set only through UpdateProject, which replaces the
//! whole list: CodeBuild has no TagResource).

pub mod project;

use super::retry::service_calls;
use crate::provider::ErrorKind;
use aws_sdk_codebuild::types::Tag;
use std::collections::BTreeMap;

/// The kind of a CodeBuild error code.
fn codes(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ResourceAlreadyExistsException" => ErrorKind::Conflict,
        _ => return None,
    })
}

service_calls!(aws_sdk_codebuild, &[], codes);

/// CodeBuild's tags as a map.
pub fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// A map of tags as CodeBuild takes them.
pub fn tag_list<'a>(tags: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}
