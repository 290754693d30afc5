//! API Gateway: the REST API in front of the AI services, its deployment and stage.
