//! CloudWatch Logs: log groups.
