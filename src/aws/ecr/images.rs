//! Images in a stack's repositories: whether a tag was pushed, asked before `deploy`
//! rolls it out.

use super::error;
use crate::provider::{ErrorKind, ProviderError};
use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, TagStatus};

/// What the repository holds under a tag.
#[derive(Debug, PartialEq, Eq)]
pub enum Tagged {
    Found,
    /// Not pushed: the repository's most recently pushed tags, newest first.
    Missing {
        recent: Vec<String>,
    },
    NoRepository,
}

/// Whether `repository` holds an image tagged `tag` (DescribeImages of that tag; when it
/// is missing, one more page of the repository's tagged images, to name recent tags).
pub async fn find_tag(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    tag: &str,
) -> Result<Tagged, ProviderError> {
    let asked = ecr
        .describe_images()
        .repository_name(repository)
        .image_ids(ImageIdentifier::builder().image_tag(tag).build())
        .send()
        .await;
    match asked.map_err(|e| error("DescribeImages", e)) {
        Ok(o) if !o.image_details().is_empty() => return Ok(Tagged::Found),
        Ok(_) => {}
        Err(e) if e.code.as_deref() == Some("RepositoryNotFoundException") => {
            return Ok(Tagged::NoRepository)
        }
        Err(e) if e.code.as_deref() == Some("ImageNotFoundException") => {}
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(Tagged::NoRepository),
        Err(e) => return Err(e),
    }
    let listed = ecr
        .describe_images()
        .repository_name(repository)
        .filter(
            DescribeImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .max_results(100)
        .send()
        .await
        .map_err(|e| error("DescribeImages", e))?;
    let mut images: Vec<_> = listed.image_details().to_vec();
    images.sort_by_key(|i| std::cmp::Reverse(i.image_pushed_at().map(|t| t.as_secs_f64() as i64)));
    let recent = images
        .iter()
        .flat_map(|i| i.image_tags().iter().cloned())
        .take(5)
        .collect();
    Ok(Tagged::Missing { recent })
}
