//! Emulator tests of the Lambda function, event source mapping and permission types.
