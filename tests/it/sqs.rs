//! SQS queues against the emulator.
