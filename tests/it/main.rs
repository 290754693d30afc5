//! All integration tests, in one binary: engine behaviour against an in-process fake
//! provider, stack validation fixtures, the network layer against a local moto server,
//! and the CLI as a user runs it.

mod apigateway;
mod bootstrap;
mod cache;
mod ci;
mod cli;
mod codebuild;
mod converge;
mod deploy;
mod drift;
mod ecs;
mod edge;
mod elb;
mod emulator;
mod engine;
mod faults;
mod iam;
mod lambda;
mod rds;
mod s3;
mod saved;
mod secrets;
mod sqs;
mod stack;
mod support;
mod tag_index;
mod validate;
mod workers;
