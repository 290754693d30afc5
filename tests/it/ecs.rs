//! ECS cluster, task definitions, services and their auto scaling against the emulator.
