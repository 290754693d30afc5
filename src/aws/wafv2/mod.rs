//! WAFv2: regional web ACLs and their association with load balancers.
