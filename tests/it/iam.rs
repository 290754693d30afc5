//! ECR repositories, CloudWatch log groups and IAM roles against the emulator.
