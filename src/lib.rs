//! bandup-infra: provisions the IELTS BandUp platform on AWS from a declarative YAML stack
//! and keeps it reconciled. Data flows one way: config -> graph -> plan -> apply -> ui.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod drift;
pub mod graph;
pub mod model;
pub mod plan;
pub mod provider;
pub mod ui;
