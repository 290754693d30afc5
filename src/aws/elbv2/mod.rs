//! Elastic Load Balancing v2: application load balancers, target groups, listeners and rules.
