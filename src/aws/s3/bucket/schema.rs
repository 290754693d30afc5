//! The fields of `aws_s3_bucket`: its settings, with the nested shapes of encryption,
//! lifecycle rules and CORS rules.

use crate::model::schema::{Default, Field, Kind, Schema};

static ENCRYPTION: &[Field] = &[
    Field {
        default: Some(Default::Str("AES256")),
        ..Field::new(
            "sse_algorithm",
            Kind::OneOf(&["AES256", "aws:kms"]),
            "AES256 (S3-managed keys) or aws:kms",
        )
    },
    Field::new(
        "kms_key_id",
        Kind::Str,
        "the KMS key for aws:kms (AWS's own key for S3 when omitted)",
    ),
    Field {
        default: Some(Default::Bool(false)),
        ..Field::new(
            "bucket_key",
            Kind::Bool,
            "use an S3 Bucket Key to cut KMS requests",
        )
    },
];

static LIFECYCLE_RULE: &[Field] = &[
    Field {
        required: true,
        ..Field::new("id", Kind::Str, "the rule's name, unique in the bucket")
    },
    Field::new(
        "prefix",
        Kind::Str,
        "only objects whose key starts with this (every object when omitted)",
    ),
    Field {
        default: Some(Default::Bool(true)),
        ..Field::new("enabled", Kind::Bool, "whether the rule applies")
    },
    Field::new(
        "transition_days",
        Kind::Int,
        "move objects to `transition_storage_class` this many days after creation",
    ),
    Field::new(
        "transition_storage_class",
        Kind::OneOf(&[
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING",
            "GLACIER_IR",
            "GLACIER",
            "DEEP_ARCHIVE",
        ]),
        "where `transition_days` moves objects; STANDARD_IA (infrequent access) when omitted",
    ),
    Field::new(
        "noncurrent_expiration_days",
        Kind::Int,
        "delete versions this many days after a newer version replaced them",
    ),
    Field::new(
        "expiration_days",
        Kind::Int,
        "delete objects this many days after creation",
    ),
    Field::new(
        "abort_incomplete_multipart_days",
        Kind::Int,
        "abort multipart uploads left unfinished this many days",
    ),
];

static CORS_RULE: &[Field] = &[
    Field {
        required: true,
        ..Field::new(
            "allowed_origins",
            Kind::List(&Kind::Str),
            "origins browsers may call from, e.g. https://app.example.com",
        )
    },
    Field {
        required: true,
        ..Field::new(
            "allowed_methods",
            Kind::List(&Kind::OneOf(&["GET", "PUT", "POST", "DELETE", "HEAD"])),
            "HTTP methods allowed, e.g. [PUT, POST] for uploads",
        )
    },
    Field {
        default: Some(Default::EmptyList),
        ..Field::new(
            "allowed_headers",
            Kind::List(&Kind::Str),
            "request headers allowed, e.g. [\"*\"]",
        )
    },
    Field {
        default: Some(Default::EmptyList),
        ..Field::new(
            "expose_headers",
            Kind::List(&Kind::Str),
            "response headers the browser may read, e.g. [ETag]",
        )
    },
    Field::new(
        "max_age_seconds",
        Kind::Int,
        "how long browsers may cache the preflight answer",
    ),
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_s3_bucket",
    doc: "An S3 bucket with its access, encryption, versioning, lifecycle and CORS settings. Named <stack>-<env>-<address>-<account>-<region>.",
    fields: &[
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "block_public_access",
                Kind::Bool,
                "turn on all four S3 Block Public Access settings",
            )
        },
        Field {
            default: Some(Default::Str("BucketOwnerEnforced")),
            ..Field::new(
                "object_ownership",
                Kind::OneOf(&["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]),
                "who owns uploaded objects; BucketOwnerEnforced turns ACLs off",
            )
        },
        Field::new(
            "encryption",
            Kind::Object(ENCRYPTION),
            "default encryption: { sse_algorithm, kms_key_id, bucket_key }; AES256 when omitted",
        ),
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new("versioning", Kind::Bool, "keep every version of every object")
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "lifecycle_rules",
                Kind::List(&Kind::Object(LIFECYCLE_RULE)),
                "transitions and expirations, compared by meaning",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "deny_insecure_transport",
                Kind::Bool,
                "a bucket policy denying every request not made over TLS",
            )
        },
        Field::new(
            "alb_access_logs_prefix",
            Kind::Str,
            "let Elastic Load Balancing write access logs under this prefix (\"\" for the root): the bucket policy grants it",
        ),
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "cors_rules",
                Kind::List(&Kind::Object(CORS_RULE)),
                "cross-origin rules, e.g. for uploads from the browser",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "force_destroy",
                Kind::Bool,
                "let a delete remove every object version first (otherwise a bucket holding objects is never deleted)",
            )
        },
    ],
    attributes: &["id", "name", "arn", "regional_domain_name"],
};
