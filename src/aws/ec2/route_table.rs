//! `aws_route_table`: a route table with its routes and subnet associations (both
//! untaggable, so they are fields of the table and diffed as such).

use super::{deleted, error, eventually, once, owned, owner_filters, retag, tag_spec};
use crate::aws::{live, prop_str, Clients, Owned};
use crate::config::{Diagnostic, Resource, Stack};
use crate::model::schema::{Default, Field, Kind, Schema};
use crate::model::{Addr, Props, Value};
use crate::provider::{Live, Provider, ProviderError, Request, Scope, TagDelta};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, RouteOrigin};
use std::collections::BTreeMap;

static ROUTE: &[Field] = &[
    Field {
        required: true,
        ..Field::new("destination_cidr_block", Kind::Cidr, "e.g. 0.0.0.0/0")
    },
    Field::new(
        "gateway_id",
        Kind::Str,
        "an internet gateway, e.g. ${igw.id}",
    ),
    Field::new(
        "nat_gateway_id",
        Kind::Str,
        "a NAT gateway, e.g. ${nat[each.key].id}",
    ),
];

pub static SCHEMA: Schema = Schema {
    type_name: "aws_route_table",
    doc: "A route table, its routes and the subnets associated with it.",
    fields: &[
        Field {
            required: true,
            force_new: true,
            ..Field::new("vpc_id", Kind::Str, "the VPC, e.g. ${vpc.id}")
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "routes",
                Kind::List(&Kind::Object(ROUTE)),
                "routes besides the VPC's local route",
            )
        },
        Field {
            default: Some(Default::EmptyList),
            ..Field::new(
                "subnet_ids",
                Kind::List(&Kind::Str),
                "subnets that use this table, e.g. ${public_subnet[*].id}",
            )
        },
    ],
    attributes: &["id"],
};

pub struct RouteTable {
    ec2: aws_sdk_ec2::Client,
}

impl RouteTable {
    pub fn new(c: &Clients) -> Self {
        RouteTable { ec2: c.ec2.clone() }
    }

    async fn add_route(&self, id: &str, route: &Value, replace: bool) -> Result<(), ProviderError> {
        let m = route.as_map().cloned().unwrap_or_default();
        let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        if replace {
            self.ec2
                .replace_route()
                .route_table_id(id)
                .set_destination_cidr_block(get("destination_cidr_block"))
                .set_gateway_id(get("gateway_id"))
                .set_nat_gateway_id(get("nat_gateway_id"))
                .customize()
                .config_override(eventually::<
                    aws_sdk_ec2::operation::replace_route::ReplaceRouteError,
                >())
                .send()
                .await
                .map_err(|e| error("ReplaceRoute", e))?;
        } else {
            self.ec2
                .create_route()
                .route_table_id(id)
                .set_destination_cidr_block(get("destination_cidr_block"))
                .set_gateway_id(get("gateway_id"))
                .set_nat_gateway_id(get("nat_gateway_id"))
                .customize()
                .config_override(once::<aws_sdk_ec2::operation::create_route::CreateRouteError>())
                .send()
                .await
                .map_err(|e| error("CreateRoute", e))?;
        }
        Ok(())
    }

    /// Bring routes and associations of table `id` from `have` to `want`.
    async fn converge(
        &self,
        id: &str,
        want: &Props,
        have: &Props,
        assoc: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, ProviderError> {
        let routes = |p: &Props| -> BTreeMap<String, Value> {
            p.get("routes")
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    Some((
                        r.as_map()?
                            .get("destination_cidr_block")?
                            .as_str()?
                            .to_string(),
                        r.clone(),
                    ))
                })
                .collect()
        };
        let (want_routes, have_routes) = (routes(want), routes(have));
        for (dest, r) in &want_routes {
            match have_routes.get(dest) {
                Some(h) if h == r => {}
                Some(_) => self.add_route(id, r, true).await?,
                None => self.add_route(id, r, false).await?,
            }
        }
        for dest in have_routes.keys().filter(|d| !want_routes.contains_key(*d)) {
            deleted(
                "DeleteRoute",
                self.ec2
                    .delete_route()
                    .route_table_id(id)
                    .destination_cidr_block(dest)
                    .send()
                    .await,
            )?;
        }
        let subnets = |p: &Props| -> Vec<String> {
            p.get("subnet_ids")
                .and_then(Value::as_list)
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let want_subnets = subnets(want);
        let mut assoc = assoc.clone();
        for s in subnets(have).iter().filter(|s| !want_subnets.contains(s)) {
            if let Some(a) = assoc.remove(s).and_then(|a| a.as_str().map(str::to_string)) {
                deleted(
                    "DisassociateRouteTable",
                    self.ec2
                        .disassociate_route_table()
                        .association_id(a)
                        .send()
                        .await,
                )?;
            }
        }
        for s in &want_subnets {
            if assoc.contains_key(s) {
                continue;
            }
            let out = self
                .ec2
                .associate_route_table()
                .route_table_id(id)
                .subnet_id(s)
                .customize()
                .config_override(once::<
                    aws_sdk_ec2::operation::associate_route_table::AssociateRouteTableError,
                >())
                .send()
                .await
                .map_err(|e| error("AssociateRouteTable", e))?;
            assoc.insert(
                s.clone(),
                Value::Str(out.association_id().unwrap_or_default().to_string()),
            );
        }
        Ok(assoc)
    }
}

fn associations(l: &Live) -> BTreeMap<String, Value> {
    l.outputs
        .get("associations")
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default()
}

#[async_trait]
impl Provider for RouteTable {
    fn schema(&self) -> &'static Schema {
        &SCHEMA
    }

    async fn read(&self, scope: &Scope, only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        let tables: Vec<_> = self
            .ec2
            .describe_route_tables()
            .set_filters(Some(owner_filters(scope, only)))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<_, _>>()
            .await
            .map_err(|e| error("DescribeRouteTables", e))?;
        Ok(tables
            .into_iter()
            .filter_map(|t| {
                let owned = owned(scope, t.tags())?;
                let id = t.route_table_id()?;
                let vpc = t.vpc_id().unwrap_or_default().to_string();
                let mut refs = vec![vpc.clone()];
                let mut targets: Vec<&str> = Vec::new();
                let routes: Vec<Value> = t
                    .routes()
                    .iter()
                    .filter(|r| r.origin() == Some(&RouteOrigin::CreateRoute))
                    .filter_map(|r| {
                        let mut m = BTreeMap::new();
                        m.insert(
                            "destination_cidr_block".to_string(),
                            Value::Str(r.destination_cidr_block()?.to_string()),
                        );
                        if let Some(g) = r.gateway_id().filter(|g| *g != "local") {
                            m.insert("gateway_id".to_string(), Value::Str(g.to_string()));
                        }
                        if let Some(n) = r.nat_gateway_id() {
                            m.insert("nat_gateway_id".to_string(), Value::Str(n.to_string()));
                        }
                        // The table uses its routes' targets: it goes before them.
                        targets.extend(r.gateway_id().filter(|g| *g != "local"));
                        targets.extend(r.nat_gateway_id());
                        Some(Value::Map(m))
                    })
                    .collect();
                let mut assoc = BTreeMap::new();
                for a in t.associations() {
                    if let (Some(s), Some(aid), false) = (
                        a.subnet_id(),
                        a.route_table_association_id(),
                        a.main().unwrap_or(false),
                    ) {
                        assoc.insert(s.to_string(), Value::Str(aid.to_string()));
                    }
                }
                refs.extend(assoc.keys().cloned());
                refs.extend(targets.into_iter().map(str::to_string));
                let props = Props::from([
                    ("vpc_id".to_string(), Value::Str(vpc)),
                    ("routes".to_string(), Value::List(routes)),
                    (
                        "subnet_ids".to_string(),
                        Value::List(assoc.keys().map(|s| Value::Str(s.clone())).collect()),
                    ),
                ]);
                Some(live(
                    owned,
                    id,
                    props,
                    refs,
                    &[("associations", Value::Map(assoc))],
                ))
            })
            .collect())
    }

    fn check(&self, r: &Resource, _stack: &Stack) -> Vec<Diagnostic> {
        let routes = r
            .props
            .get("routes")
            .and_then(Value::as_list)
            .unwrap_or_default();
        let pos = r.field_pos.get("routes").cloned().unwrap_or(r.pos.clone());
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for m in routes.iter().filter_map(Value::as_map) {
            if m.contains_key("gateway_id") == m.contains_key("nat_gateway_id") {
                out.push(
                    Diagnostic::new(
                        pos.clone(),
                        format!("a route of `{}` needs exactly one target", r.addr),
                    )
                    .hint("set either `gateway_id` or `nat_gateway_id`"),
                );
            }
            if let Some(dest) = m.get("destination_cidr_block").and_then(Value::as_str) {
                if seen.contains(&dest) {
                    out.push(
                        Diagnostic::new(
                            pos.clone(),
                            format!("`{}` has two routes to {dest}", r.addr),
                        )
                        .hint("a destination can have only one route: remove one"),
                    );
                }
                seen.push(dest);
            }
        }
        out
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let props = req.props;
        let vpc = prop_str(props, "vpc_id");
        let out = self
            .ec2
            .create_route_table()
            .vpc_id(vpc)
            .client_token(req.scope.client_token(req.addr, props))
            .tag_specifications(tag_spec(req, ResourceType::RouteTable))
            .customize()
            .config_override(once::<
                aws_sdk_ec2::operation::create_route_table::CreateRouteTableError,
            >())
            .send()
            .await
            .map_err(|e| error("CreateRouteTable", e))?;
        let id = out
            .route_table()
            .and_then(|t| t.route_table_id())
            .unwrap_or_default()
            .to_string();
        let assoc = self
            .converge(&id, props, &Props::new(), &BTreeMap::new())
            .await?;
        Ok(live(
            Owned::made(req),
            &id,
            props.clone(),
            vec![vpc.to_string()],
            &[("associations", Value::Map(assoc))],
        ))
    }

    async fn update(&self, req: &Request<'_>, l: &Live) -> Result<Live, ProviderError> {
        let props = req.props;
        let assoc = self
            .converge(&l.id, props, &l.props, &associations(l))
            .await?;
        let mut next = l.clone();
        next.props = props.clone();
        next.outputs
            .insert("associations".into(), Value::Map(assoc));
        Ok(next)
    }

    async fn retag(&self, l: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        retag(&self.ec2, &l.id, delta).await
    }

    async fn delete(&self, _req: &Request<'_>, l: &Live) -> Result<(), ProviderError> {
        for a in associations(l).values().filter_map(Value::as_str) {
            deleted(
                "DisassociateRouteTable",
                self.ec2
                    .disassociate_route_table()
                    .association_id(a)
                    .send()
                    .await,
            )?;
        }
        deleted(
            "DeleteRouteTable",
            self.ec2
                .delete_route_table()
                .route_table_id(&l.id)
                .send()
                .await,
        )
    }
}
