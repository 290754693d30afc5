//! CodeBuild: the projects that build the app images and push them to ECR.
