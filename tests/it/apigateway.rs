//! Emulator tests of the API Gateway REST API types.
