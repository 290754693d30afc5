//! ACM certificates, Route 53 zones and records, and the WAF web ACL against the emulator.
