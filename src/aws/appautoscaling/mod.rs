//! Application Auto Scaling: target-tracking scaling of ECS services.
