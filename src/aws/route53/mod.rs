//! Route 53: hosted zones and record sets (records cannot carry tags).
