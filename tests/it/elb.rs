//! The application load balancer, target groups, listeners and rules against the emulator.
