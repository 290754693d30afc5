//! CodePipeline: one pipeline per app, from the source connection through CodeBuild to the ECS service.
