//! `aws_db_instance`: a PostgreSQL database on RDS. Its master password never passes
//! through the plan: RDS generates it and keeps it in a Secrets Manager secret of its own
//! (`ManageMasterUserPassword`), whose ARN is the attribute `master_secret_arn`. Creates,
//! changes and deletes wait for RDS (minutes to an hour); a delete keeps a final snapshot
//! named after the instance and when it was created, unless told not to.

use super::{deleted, error, eventually, ident, once, owned, retag, tags};
use crate::aws::wait::{self, Poll};
use crate::aws::{millis, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Outputs, Props, Value};
use crate::provider::{
    default_diff, Change, ErrorKind, Live, Provider, ProviderError, Request, Scope, TagDelta,
    Timeouts,
};
use async_trait::async_trait;
use aws_sdk_rds::types::DbInstance;
use aws_smithy_types::date_time::{DateTime, Format};
use std::time::Duration;

pub static SCHEMA: Schema = Schema {
    type_name: "aws_db_instance",
    doc: "A PostgreSQL database on RDS, its master password managed by RDS in Secrets Manager.",
    fields: &[
        Field {
            default: Some(Default::Str("postgres")),
            force_new: true,
            replace_why: Some("RDS cannot change an instance's engine"),
            ..Field::new(
                "engine",
                Kind::OneOf(&["postgres"]),
                "the database engine. RDS cannot change an instance's engine: a new instance is made",
            )
        },
        Field {
            required: true,
            ..Field::new(
                "engine_version",
                Kind::Str,
                "e.g. \"16\" (RDS picks and upgrades the minor version) or \"16.4\"; changed in place, a major upgrade too (it needs a parameter group of the new family)",
            )
        },
        Field {
            required: true,
            ..Field::new("instance_class", Kind::Str, "e.g. db.t4g.micro; changed in place")
        },
        Field {
            required: true,
            ..Field::new(
                "allocated_storage",
                Kind::Int,
                "storage in GiB (at least 20); grows in place, never shrinks: RDS cannot shrink a volume",
            )
        },
        Field::new(
            "max_allocated_storage",
            Kind::Int,
            "storage autoscaling up to this many GiB (above allocated_storage); omit for none",
        ),
        Field {
            default: Some(Default::Str("gp3")),
            ..Field::new(
                "storage_type",
                Kind::OneOf(&["gp2", "gp3"]),
                "the volume type; changed in place",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            force_new: true,
            replace_why: Some("RDS cannot change the encryption of an existing instance"),
            ..Field::new(
                "storage_encrypted",
                Kind::Bool,
                "encrypt the storage. RDS cannot change the encryption of an existing instance: a new instance is made",
            )
        },
        Field {
            force_new: true,
            replace_why: Some("RDS cannot change an instance's KMS key"),
            ..Field::new(
                "kms_key_id",
                Kind::Str,
                "the KMS key (ARN or key id, not an alias) for storage encryption (default: the account's RDS key). RDS cannot change an instance's key: a new instance is made",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "multi_az",
                Kind::Bool,
                "a standby in a second availability zone; changed in place",
            )
        },
        Field {
            force_new: true,
            replace_why: Some("RDS creates the initial database only when the instance is made"),
            ..Field::new(
                "db_name",
                Kind::Str,
                "the database created with the instance. RDS only creates it at launch: a new instance is made",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("RDS cannot rename the master user"),
            ..Field::new(
                "username",
                Kind::Str,
                "the master user (its password is generated and kept by RDS in Secrets Manager). RDS cannot rename the master user: a new instance is made",
            )
        },
        Field {
            required: true,
            force_new: true,
            replace_why: Some("RDS moves an instance to another subnet group only as a move to another VPC"),
            ..Field::new(
                "db_subnet_group_name",
                Kind::Str,
                "e.g. ${db_subnets.name}. Moving an instance to another subnet group is a move to another network: a new instance is made",
            )
        },
        Field::new(
            "parameter_group_name",
            Kind::Str,
            "e.g. ${db_params.name} (default: the engine's default group); changed in place",
        ),
        Field {
            required: true,
            ..Field::new(
                "vpc_security_group_ids",
                Kind::List(&Kind::Str),
                "e.g. [${db_sg.id}]; changed in place",
            )
        },
        Field {
            default: Some(Default::Int(7)),
            ..Field::new(
                "backup_retention_period",
                Kind::Int,
                "days of automated backups (0 turns them off); changed in place",
            )
        },
        Field::new(
            "backup_window",
            Kind::Str,
            "daily backup window in UTC, e.g. 03:00-04:00; changed in place",
        ),
        Field::new(
            "maintenance_window",
            Kind::Str,
            "weekly maintenance window in UTC, lowercase as RDS reports it, e.g. sun:05:00-sun:06:00; changed in place",
        ),
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "deletion_protection",
                Kind::Bool,
                "AWS refuses to delete the instance while on; changed in place",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "iam_database_authentication",
                Kind::Bool,
                "allow IAM users and roles to log in; changed in place",
            )
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "publicly_accessible",
                Kind::Bool,
                "give the instance a public address; changed in place",
            )
        },
        Field {
            default: Some(Default::Int(5432)),
            ..Field::new("port", Kind::Int, "the port it listens on; changed in place")
        },
        Field {
            default: Some(Default::Bool(false)),
            ..Field::new(
                "apply_immediately",
                Kind::Bool,
                "apply changes now rather than in the next maintenance window (instance class, storage, version, Multi-AZ...); not read back",
            )
        },
        Field {
            default: Some(Default::Bool(true)),
            ..Field::new(
                "final_snapshot",
                Kind::Bool,
                "keep a snapshot `<identifier>-final-<created>` when the instance is deleted or replaced; not read back",
            )
        },
    ],
    attributes: &[
        "id",
        "arn",
        "endpoint",
        "port",
        "master_secret_arn",
        "resource_id",
    ],
};

/// Fields that say how to make a change, not what the instance is: never compared.
const NOT_READ: &[&str] = &["apply_immediately", "final_snapshot"];

/// AWS statuses of an instance still being made: an apply stopped while RDS was making
/// it; the next one waits for it (`adopt`) instead of making another. (`modifying`,
/// `backing-up`... are a usable database busy with something.)
const NOT_YET_USABLE: &[&str] = &["creating"];

/// AWS statuses from which the instance does not come back by itself.
const FAILED: &[&str] = &[
    "failed",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-parameters",
    "incompatible-restore",
    "inaccessible-encryption-credentials",
];

/// The provider of `aws_db_instance`.
pub struct Instance {
    rds: aws_sdk_rds::Client,
}

impl Instance {
    pub fn new(c: &Clients) -> Self {
        Instance { rds: c.rds.clone() }
    }

    /// The instance `id` as RDS describes it now, if it exists.
    async fn describe(&self, id: &str) -> Result<Option<DbInstance>, ProviderError> {
        match self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out.db_instances().first().cloned()),
            Err(e) => {
                let e = error("DescribeDBInstances", e);
                if e.is_not_found() {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Wait until `id` is usable (`available`), telling the user what RDS is doing.
    async fn until_available(
        &self,
        req: &Request<'_>,
        doing: &str,
        id: &str,
    ) -> Result<DbInstance, ProviderError> {
        wait::until(req, doing, || async {
            let Some(db) = self.describe(id).await? else {
                return Ok(Poll::Pending("not yet visible".into()));
            };
            let status = db.db_instance_status().unwrap_or_default().to_string();
            // `storage-optimization` follows a storage change for hours; the database
            // is usable meanwhile.
            Ok(match status.as_str() {
                "available" | "storage-optimization" => Poll::Ready(db),
                s if FAILED.contains(&s) => Poll::Failed(status),
                _ => Poll::Pending(status),
            })
        })
        .await
    }
}

/// The instance identifier for `addr`: letters, digits and single hyphens, lowercase.
pub fn identifier(scope: &Scope, addr: &Addr) -> String {
    ident(&scope.name_for(addr))
}

fn s(v: Option<&str>) -> Value {
    crate::aws::str_value(v)
}

fn int(v: Option<i32>) -> Value {
    v.map(|i| Value::Int(i64::from(i))).unwrap_or(Value::Null)
}

/// The declared fields as RDS reports them, with the changes RDS holds for the next
/// maintenance window (`PendingModifiedValues`) taken as made: they were asked for, and
/// asking again would change nothing.
fn props_of(db: &DbInstance) -> Props {
    let pending = db.pending_modified_values();
    let mut p = Props::new();
    let mut put = |k: &str, v: Value| {
        p.insert(k.to_string(), v);
    };
    put("engine", s(db.engine()));
    put(
        "engine_version",
        s(pending
            .and_then(|p| p.engine_version())
            .or(db.engine_version())),
    );
    put(
        "instance_class",
        s(pending
            .and_then(|p| p.db_instance_class())
            .or(db.db_instance_class())),
    );
    put(
        "allocated_storage",
        int(pending
            .and_then(|p| p.allocated_storage())
            .or(db.allocated_storage())),
    );
    put("max_allocated_storage", int(db.max_allocated_storage()));
    put(
        "storage_type",
        s(pending.and_then(|p| p.storage_type()).or(db.storage_type())),
    );
    put(
        "storage_encrypted",
        Value::Bool(db.storage_encrypted().unwrap_or(false)),
    );
    put("kms_key_id", s(db.kms_key_id()));
    put(
        "multi_az",
        Value::Bool(
            pending
                .and_then(|p| p.multi_az())
                .or(db.multi_az())
                .unwrap_or(false),
        ),
    );
    put("db_name", s(db.db_name()));
    put("username", s(db.master_username()));
    put(
        "db_subnet_group_name",
        s(pending
            .and_then(|p| p.db_subnet_group_name())
            .or(db.db_subnet_group().and_then(|g| g.db_subnet_group_name()))),
    );
    put(
        "parameter_group_name",
        s(db.db_parameter_groups()
            .first()
            .and_then(|g| g.db_parameter_group_name())),
    );
    put(
        "vpc_security_group_ids",
        Value::List(
            db.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id())
                .map(|g| Value::Str(g.to_string()))
                .collect(),
        ),
    );
    put(
        "backup_retention_period",
        int(pending
            .and_then(|p| p.backup_retention_period())
            .or(db.backup_retention_period())),
    );
    put("backup_window", s(db.preferred_backup_window()));
    put("maintenance_window", s(db.preferred_maintenance_window()));
    put(
        "deletion_protection",
        Value::Bool(db.deletion_protection().unwrap_or(false)),
    );
    put(
        "iam_database_authentication",
        Value::Bool(
            pending
                .and_then(|p| p.iam_database_authentication_enabled())
                .or(db.iam_database_authentication_enabled())
                .unwrap_or(false),
        ),
    );
    put(
        "publicly_accessible",
        Value::Bool(db.publicly_accessible().unwrap_or(false)),
    );
    put(
        "port",
        int(pending
            .and_then(|p| p.port())
            .or(db.endpoint().and_then(|e| e.port()))
            .or(db.db_instance_port())),
    );
    p
}

/// The instance as the engine sees it: fields, attributes and what it points at.
fn to_live(owned: Owned, db: &DbInstance) -> Live {
    let id = db.db_instance_identifier().unwrap_or_default().to_string();
    let props = props_of(db);
    let mut refs: Vec<String> = Vec::new();
    for k in ["db_subnet_group_name", "parameter_group_name"] {
        if let Some(v) = props.get(k).and_then(Value::as_str) {
            refs.push(v.to_string());
        }
    }
    if let Some(Value::List(sgs)) = props.get("vpc_security_group_ids") {
        refs.extend(sgs.iter().filter_map(Value::as_str).map(str::to_string));
    }
    let mut outputs = Outputs::new();
    let mut out = |k: &str, v: Value| {
        outputs.insert(k.to_string(), v);
    };
    out("id", Value::Str(id.clone()));
    out("arn", s(db.db_instance_arn()));
    out("endpoint", s(db.endpoint().and_then(|e| e.address())));
    out("port", props.get("port").cloned().unwrap_or(Value::Null));
    out(
        "master_secret_arn",
        s(db.master_user_secret().and_then(|m| m.secret_arn())),
    );
    out("resource_id", s(db.dbi_resource_id()));
    let owned = owned.or_created(db.instance_create_time().and_then(millis));
    Live {
        addr: owned.addr,
        id,
        props,
        outputs,
        refs,
        created: owned.created,
        tags: owned.tags,
        pending: db
            .db_instance_status()
            .filter(|s| NOT_YET_USABLE.contains(s))
            .map(str::to_string),
    }
}

/// The final snapshot's name: the identifier and when this incarnation was created (UTC,
/// to the second), so that deletes of successive instances of one address never collide
/// (one is created only after the other is deleted, minutes apart in AWS).
pub fn final_snapshot_name(l: &Live) -> String {
    let stamp: String = l
        .created
        .and_then(|ms| i64::try_from(ms).ok())
        .map(DateTime::from_millis)
        .and_then(|t| t.fmt(Format::DateTime).ok())
        .map(|t| t.chars().filter(char::is_ascii_digit).take(14).collect())
        .unwrap_or_else(|| "unknown".to_string());
    format!("{}-final-{stamp}", l.id)
}

/// The major version of an engine version: `16` of `16.4`.
fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

fn ints(props: &Props, k: &str) -> Option<i64> {
    props.get(k).and_then(Value::as_int)
}

#[async_trait]
impl Provider for Instance {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    fn check(&self, r: &Resource, stack: &Stack) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let scope = Scope {
            stack: stack.name.clone(),
            env: stack.env.clone(),
            tags: std::collections::BTreeMap::new(),
            run: String::new(),
            ..std::default::Default::default()
        };
        let id = identifier(&scope, &r.addr);
        if id.len() > 63 || !id.starts_with(|c: char| c.is_ascii_lowercase()) || id.ends_with('-') {
            out.push(
                Diagnostic::new(
                    r.pos.clone(),
                    format!(
                        "`{}` would be the RDS identifier `{id}`: RDS wants at most 63 letters, digits and hyphens, starting with a letter and not ending with a hyphen",
                        r.addr
                    ),
                )
                .hint("give the resource a shorter name"),
            );
        }
        if let (Some(min), Some(max)) = (
            ints(&r.props, "allocated_storage"),
            ints(&r.props, "max_allocated_storage"),
        ) {
            if max <= min {
                let pos = r
                    .field_pos
                    .get("max_allocated_storage")
                    .cloned()
                    .unwrap_or(r.pos.clone());
                out.push(
                    Diagnostic::new(
                        pos,
                        format!(
                            "max_allocated_storage ({max}) must be above allocated_storage ({min})"
                        ),
                    )
                    .hint("raise it, or omit it to turn storage autoscaling off"),
                );
            }
        }
        out
    }

    /// One paginated DescribeDBInstances (tags come with each instance; RDS filters by
    /// identifier, not by tag). Instances being deleted are gone as far as a plan goes.
    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let mut call = self.rds.describe_db_instances();
        if let Some(a) = only {
            call = call.db_instance_identifier(identifier(scope, a));
        }
        let found: Result<Vec<DbInstance>, _> = call
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await;
        let dbs = match found.map_err(|e| error("DescribeDBInstances", e)) {
            Ok(d) => d,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(dbs
            .iter()
            .filter(|db| db.db_instance_status() != Some("deleting"))
            .filter_map(|db| Some(to_live(owned(scope, db.tag_list())?, db)))
            .collect())
    }

    /// The declared fields, except those that only say how to make a change; an engine
    /// version given as a major (`16`) matches any of its minors; a KMS key id matches
    /// its ARN; windows are compared without case; storage grown by autoscaling above
    /// what is declared is not a change.
    fn diff(&self, desired: &Props, l: &Live) -> Vec<Change> {
        let mut changes = default_diff(&SCHEMA, desired, l);
        changes.retain(|c| {
            if NOT_READ.contains(&c.field.as_str()) {
                return false;
            }
            match (c.field.as_str(), &c.before, &c.after) {
                ("engine_version", Value::Str(have), Value::Str(want)) => {
                    !have.starts_with(&format!("{want}."))
                }
                // RDS reports the key's ARN; a key id names the same key.
                ("kms_key_id", Value::Str(have), Value::Str(want)) => {
                    !have.ends_with(&format!(":key/{want}"))
                }
                ("backup_window" | "maintenance_window", Value::Str(have), Value::Str(want)) => {
                    !have.eq_ignore_ascii_case(want)
                }
                ("allocated_storage", Value::Int(have), Value::Int(want)) => {
                    let autoscaled = ints(desired, "max_allocated_storage").is_some();
                    !(autoscaled && have > want)
                }
                _ => true,
            }
        });
        changes
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let id = identifier(req.scope, req.addr);
        let sgs: Vec<String> = match req.get("vpc_security_group_ids") {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let opt = |k: &str| req.get(k).and_then(Value::as_str).map(str::to_string);
        let int = |k: &str| req.int(k).and_then(|i| i32::try_from(i).ok());
        self.rds
            .create_db_instance()
            .db_instance_identifier(&id)
            .engine(req.str("engine"))
            .engine_version(req.str("engine_version"))
            .db_instance_class(req.str("instance_class"))
            .set_allocated_storage(int("allocated_storage"))
            .set_max_allocated_storage(int("max_allocated_storage"))
            .storage_type(req.str("storage_type"))
            .set_storage_encrypted(req.bool("storage_encrypted"))
            .set_kms_key_id(opt("kms_key_id"))
            .set_multi_az(req.bool("multi_az"))
            .set_db_name(opt("db_name"))
            .master_username(req.str("username"))
            // RDS makes the password and keeps it in Secrets Manager: it is never in
            // the stack, the plan or this process.
            .manage_master_user_password(true)
            .db_subnet_group_name(req.str("db_subnet_group_name"))
            .set_db_parameter_group_name(opt("parameter_group_name"))
            .set_vpc_security_group_ids(Some(sgs))
            .set_backup_retention_period(int("backup_retention_period"))
            .set_preferred_backup_window(opt("backup_window"))
            .set_preferred_maintenance_window(opt("maintenance_window"))
            .set_deletion_protection(req.bool("deletion_protection"))
            .set_enable_iam_database_authentication(req.bool("iam_database_authentication"))
            .set_publicly_accessible(req.bool("publicly_accessible"))
            .set_port(int("port"))
            .set_tags(Some(tags(req)))
            .customize()
            .config_override(once::<
                aws_sdk_rds::operation::create_db_instance::CreateDBInstanceError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateDBInstance", e))?;
        let db = self.until_available(req, "creating", &id).await?;
        Ok(to_live(Owned::made(req), &db))
    }

    /// An instance found instead of created (an interrupted apply, another run) may
    /// still be creating or modifying: wait for it rather than make a second.
    async fn adopt(&self, req: &Request<'_>, l: Live) -> Result<Live, ProviderError> {
        let db = self.until_available(req, "creating", &l.id).await?;
        Ok(to_live(Owned::of(&l), &db))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let changed: Vec<String> = self
            .diff(req.props, l)
            .into_iter()
            .map(|c| c.field)
            .collect();
        let has = |f: &str| changed.iter().any(|c| c == f);
        let (want_gb, have_gb) = (
            ints(req.props, "allocated_storage"),
            ints(&l.props, "allocated_storage"),
        );
        if let (true, Some(want), Some(have)) = (has("allocated_storage"), want_gb, have_gb) {
            if want < have {
                return Err(ProviderError::new(
                    format!("update {}", req.addr),
                    format!(
                        "RDS cannot shrink storage: `{}` has {have} GiB and the stack asks for {want}. Keep allocated_storage at {have} or more (a smaller volume means a new instance restored from a dump)",
                        l.id
                    ),
                ));
            }
        }
        let want_version = req.str("engine_version");
        let have_version = l
            .props
            .get("engine_version")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let opt = |f: &str| {
            has(f)
                .then(|| req.get(f).and_then(Value::as_str).map(str::to_string))
                .flatten()
        };
        let int = |f: &str| {
            has(f)
                .then(|| req.int(f).and_then(|i| i32::try_from(i).ok()))
                .flatten()
        };
        let flag = |f: &str| has(f).then(|| req.bool(f)).flatten();
        let sgs = has("vpc_security_group_ids").then(|| match req.get("vpc_security_group_ids") {
            Some(Value::List(l)) => l
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        });
        self.rds
            .modify_db_instance()
            .db_instance_identifier(&l.id)
            .apply_immediately(req.bool("apply_immediately").unwrap_or(false))
            .set_engine_version(opt("engine_version"))
            .set_allow_major_version_upgrade(
                (has("engine_version") && major(want_version) != major(have_version))
                    .then_some(true),
            )
            .set_db_instance_class(opt("instance_class"))
            .set_allocated_storage(int("allocated_storage"))
            .set_max_allocated_storage(int("max_allocated_storage"))
            .set_storage_type(opt("storage_type"))
            .set_multi_az(flag("multi_az"))
            .set_db_parameter_group_name(opt("parameter_group_name"))
            .set_vpc_security_group_ids(sgs)
            .set_backup_retention_period(int("backup_retention_period"))
            .set_preferred_backup_window(opt("backup_window"))
            .set_preferred_maintenance_window(opt("maintenance_window"))
            .set_deletion_protection(flag("deletion_protection"))
            .set_enable_iam_database_authentication(flag("iam_database_authentication"))
            .set_publicly_accessible(flag("publicly_accessible"))
            .set_db_port_number(int("port"))
            .customize()
            .config_override(eventually::<
                aws_sdk_rds::operation::modify_db_instance::ModifyDBInstanceError,
            >())
            .send()
            .await
            .map_err(|e| error("ModifyDBInstance", e))?;
        let db = self.until_available(req, "modifying", &l.id).await?;
        Ok(to_live(Owned::of(l), &db))
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.rds, l, delta).await
    }

    async fn delete(&self, req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        if l.props.get("deletion_protection").and_then(Value::as_bool) == Some(true) {
            return Err(ProviderError::new(
                format!("delete {}", req.addr),
                format!(
                    "`{}` has deletion protection on, and AWS refuses to delete it. Set `deletion_protection: false` on `{}` in the stack and apply, then run this again",
                    l.id, req.addr
                ),
            ));
        }
        let snapshot = (req.bool("final_snapshot") != Some(false)).then(|| final_snapshot_name(l));
        let sent = self
            .rds
            .delete_db_instance()
            .db_instance_identifier(&l.id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot.clone())
            .send()
            .await;
        match deleted("DeleteDBInstance", sent) {
            Ok(()) => {}
            // Already being deleted (an earlier attempt whose answer was lost): wait.
            Err(e) if e.kind == ErrorKind::InUse => {
                let status = self
                    .describe(&l.id)
                    .await?
                    .and_then(|d| d.db_instance_status().map(str::to_string));
                if status.as_deref() != Some("deleting") {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
        if let Some(name) = &snapshot {
            (req.note)(format!("final snapshot {name}"));
        }
        wait::until(req, "deleting", || async {
            Ok(match self.describe(&l.id).await? {
                None => Poll::Ready(()),
                Some(db) => Poll::Pending(db.db_instance_status().unwrap_or_default().to_string()),
            })
        })
        .await
    }

    fn timeouts(&self) -> Timeouts {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Timeouts {
            create: minutes(60),
            update: minutes(80),
            delete: minutes(60),
        }
    }

    /// What is lost with the instance, and which snapshot keeps it: a delete takes a
    /// final snapshot unless the stack declares `final_snapshot: false` (one no longer
    /// declared is deleted as read: with a snapshot).
    fn data_loss(&self, l: &Live, declared: Option<&Props>) -> Option<String> {
        let snapshot = declared
            .and_then(|d| d.get("final_snapshot"))
            .and_then(Value::as_bool)
            != Some(false);
        Some(if snapshot {
            format!(
                "the database `{}` is deleted with its automated backups; final snapshot `{}` is kept",
                l.id,
                final_snapshot_name(l)
            )
        } else {
            format!(
                "the database `{}` is deleted with its automated backups; no final snapshot (`final_snapshot: false`): its data is lost",
                l.id
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::PendingModifiedValues;

    fn db(pending: Option<PendingModifiedValues>) -> DbInstance {
        DbInstance::builder()
            .db_instance_identifier("bandup-dev-db")
            .db_instance_class("db.t4g.micro")
            .allocated_storage(20)
            .engine_version("16.3")
            .multi_az(false)
            .set_pending_modified_values(pending)
            .build()
    }

    fn live_of(db: &DbInstance) -> Live {
        let owned = Owned {
            addr: Addr("db".into()),
            created: Some(0),
            tags: std::collections::BTreeMap::new(),
        };
        to_live(owned, db)
    }

    fn diff(desired: &[(&str, Value)], l: &Live) -> Vec<String> {
        let props: Props = desired
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let registry = crate::aws::offline_registry();
        let provider = registry.get("aws_db_instance").expect("registered");
        provider
            .diff(&props, l)
            .into_iter()
            .map(|c| c.field)
            .collect()
    }

    /// Without `apply_immediately`, RDS holds a change for the maintenance window and
    /// reports it in `PendingModifiedValues`; moto never does. A plan after such an apply
    /// must not ask for the same change again.
    #[test]
    fn changes_held_for_the_maintenance_window_are_read_as_made() {
        let want = [
            ("instance_class", Value::Str("db.t4g.small".into())),
            ("allocated_storage", Value::Int(30)),
            ("multi_az", Value::Bool(true)),
            ("apply_immediately", Value::Bool(false)),
        ];
        assert_eq!(
            diff(&want, &live_of(&db(None))),
            ["instance_class", "allocated_storage", "multi_az"]
        );
        let pending = PendingModifiedValues::builder()
            .db_instance_class("db.t4g.small")
            .allocated_storage(30)
            .multi_az(true)
            .build();
        assert!(diff(&want, &live_of(&db(Some(pending)))).is_empty());
    }

    #[test]
    fn a_major_version_matches_its_minors_and_autoscaled_storage_is_no_change() {
        let l = live_of(&db(None));
        assert!(diff(&[("engine_version", Value::Str("16".into()))], &l).is_empty());
        assert_eq!(
            diff(&[("engine_version", Value::Str("17".into()))], &l),
            ["engine_version"]
        );
        let grown = [("allocated_storage", Value::Int(10))];
        assert_eq!(diff(&grown, &l), ["allocated_storage"], "a shrink is shown");
        let autoscaled = [
            ("allocated_storage", Value::Int(10)),
            ("max_allocated_storage", Value::Int(100)),
        ];
        assert_eq!(diff(&autoscaled, &l), ["max_allocated_storage"]);
    }

    #[test]
    fn a_kms_key_id_matches_its_arn_and_windows_ignore_case() {
        let d = DbInstance::builder()
            .db_instance_identifier("bandup-dev-db")
            .kms_key_id("arn:aws:kms:eu-west-2:123456789012:key/1234abcd-12ab")
            .preferred_maintenance_window("sun:05:00-sun:06:00")
            .build();
        let l = live_of(&d);
        let want = [
            ("kms_key_id", Value::Str("1234abcd-12ab".into())),
            (
                "maintenance_window",
                Value::Str("Sun:05:00-Sun:06:00".into()),
            ),
        ];
        assert!(diff(&want, &l).is_empty());
        let other = [("kms_key_id", Value::Str("9999".into()))];
        assert_eq!(diff(&other, &l), ["kms_key_id"]);
    }

    /// moto makes instances `available` at once, so an instance found still `creating`
    /// (an apply stopped while RDS made it) is shown on a described instance.
    #[test]
    fn an_instance_still_creating_is_pending_and_a_busy_one_is_not() {
        let with = |status: &str| {
            let d = DbInstance::builder()
                .db_instance_identifier("bandup-dev-db")
                .db_instance_status(status)
                .build();
            live_of(&d).pending
        };
        assert_eq!(with("creating"), Some("creating".to_string()));
        assert_eq!(with("backing-up"), None);
        assert_eq!(with("modifying"), None);
        assert_eq!(with("available"), None);
    }

    #[test]
    fn final_snapshots_are_named_after_the_instance_and_its_creation() {
        let mut l = live_of(&db(None));
        l.created = Some(1_796_011_200_000);
        assert_eq!(
            final_snapshot_name(&l),
            "bandup-dev-db-final-20261130040000"
        );
    }
}
