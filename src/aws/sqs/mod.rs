//! SQS: queues for the AI jobs, with dead-letter queues and queue policies.
