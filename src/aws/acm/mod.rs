//! ACM: TLS certificates validated by DNS.
