//! IAM: roles with inline policies, scoped to the stack by path and tags (IAM is global).
