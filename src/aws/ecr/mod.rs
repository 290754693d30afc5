//! ECR: container image repositories.
