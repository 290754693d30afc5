//! Emulator tests of the CodeBuild, CodePipeline and CodeConnections types.
