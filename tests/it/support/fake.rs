//! An in-process provider for engine tests: keeps resources in memory, logs every
//! operation in order, measures how many run at once, fails on request, loses answers
//! on request (the operation happens, the caller gets an ambiguous error), and lets a
//! test plant live copies as another run would have left them.

use super::{load, Project};
use async_trait::async_trait;
use bandup_infra::apply::apply;
use bandup_infra::model::schema::{Default, Field, Kind, Schema};
use bandup_infra::model::Quiet;
use bandup_infra::model::{Addr, Outputs, Props, Value};
use bandup_infra::plan::{plan, Mode, Plan};
use bandup_infra::provider::{
    CallCounter, ErrorKind, Live, Provider, ProviderError, Registry, Request, Scope, TagDelta,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `c` -> `b` -> `a` by reference, `free` on its own: the engine tests' usual stack.
pub const CHAIN: &str = r#"
stack: t
resources:
  a: { type: fake_thing }
  b: { type: fake_thing, properties: { parent: "${a.id}" } }
  c: { type: fake_thing, properties: { parent: "${b.id}" } }
  free: { type: fake_thing }
"#;

/// The plan of the project `p` (loaded without an environment) against `registry`.
pub async fn plan_of(p: &Project, registry: &Registry, mode: Mode) -> Plan {
    let (stack, graph) = load(p.root(), None, registry);
    plan(&stack, &graph, registry, mode, &Quiet)
        .await
        .expect("plan")
}

/// Plan and apply `p`; nothing may fail.
pub async fn converge(p: &Project, registry: &Registry) -> Plan {
    let pl = plan_of(p, registry, Mode::Normal).await;
    let report = apply(&pl, registry, 10, Arc::new(Quiet)).await;
    assert_eq!(report.failed(), 0, "{:?}", report.outcomes);
    pl
}

const FIELDS: &[Field] = &[
    Field {
        force_new: true,
        default: Some(Default::Str("a")),
        ..Field::new("zone", Kind::Str, "changing it replaces the thing")
    },
    Field {
        default: Some(Default::Int(1)),
        ..Field::new("size", Kind::Int, "changes in place")
    },
    Field::new("parent", Kind::Str, "another thing's id"),
    Field {
        force_new: true,
        ..Field::new(
            "inside",
            Kind::Str,
            "another thing's id; changing it replaces",
        )
    },
    Field {
        sensitive: true,
        ..Field::new("token", Kind::Str, "a secret: never shown or saved")
    },
    Field {
        force_new: true,
        ..Field::new(
            "using",
            Kind::Str,
            "another thing's id; changing it replaces",
        )
    },
];

pub static SCHEMA: Schema = Schema {
    type_name: "fake_thing",
    doc: "A thing that lives in memory.",
    fields: FIELDS,
    attributes: &["id", "arn", "endpoint"],
};

/// A second type with the same fields (`Fake::holder`): what other things live in.
pub static HOLDER: Schema = Schema {
    type_name: "fake_holder",
    doc: "A thing other things live in.",
    fields: FIELDS,
    attributes: &["id", "arn", "endpoint"],
};

#[derive(Default)]
pub struct Fake {
    /// id -> (owner env, live resource)
    state: Mutex<BTreeMap<String, (String, Live)>>,
    log: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    next_id: AtomicUsize,
    fail: Mutex<BTreeSet<String>>,
    /// addr -> how many more answers to lose for it.
    lose: Mutex<BTreeMap<String, usize>>,
    /// addr -> how many more requests to drop before they arrive.
    drop: Mutex<BTreeMap<String, usize>>,
    delay: Mutex<BTreeMap<String, Duration>>,
    default_delay: Mutex<Duration>,
    calls: CallCounter,
    /// Replacements may be made beside the old copy (`create_before_delete`).
    create_first: AtomicBool,
    /// An update gives the thing a new endpoint (`renewed_on_update`).
    renews: AtomicBool,
    /// Deleting a thing another live thing points at is refused, as AWS refuses to
    /// delete a target group a listener forwards to.
    guard_in_use: AtomicBool,
    /// `HOLDER` for `Fake::holder`, else `SCHEMA`.
    holder: bool,
}

impl Fake {
    pub fn new() -> Arc<Self> {
        Arc::new(Fake::default())
    }

    /// Let replacements be made beside the copy they replace.
    pub fn create_first(&self) {
        self.create_first.store(true, Ordering::SeqCst);
    }

    /// Updates give things a new endpoint.
    pub fn renew_endpoints(&self) {
        self.renews.store(true, Ordering::SeqCst);
    }

    /// Refuse to delete a thing that another live thing points at.
    pub fn guard_in_use(&self) {
        self.guard_in_use.store(true, Ordering::SeqCst);
    }

    /// A fake of the type `fake_holder`, for a registry with two types (`with`).
    pub fn holder() -> Arc<Self> {
        Arc::new(Fake {
            holder: true,
            ..Fake::default()
        })
    }

    /// A registry of this fake's type and `other`'s.
    pub fn with(self: &Arc<Self>, other: &Arc<Fake>) -> Registry {
        Registry::new(
            vec![self.clone() as Arc<dyn Provider>, other.clone()],
            self.calls.clone(),
        )
    }

    pub fn registry(self: &Arc<Self>) -> Registry {
        Registry::new(vec![self.clone() as Arc<dyn Provider>], self.calls.clone())
    }

    /// Every operation so far, as "create a", "update b", "delete c".
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    pub fn clear_log(&self) {
        self.log.lock().expect("log").clear();
    }

    /// Position of `entry` in the log; panics if absent.
    pub fn at(&self, entry: &str) -> usize {
        let log = self.log();
        log.iter()
            .position(|l| l == entry)
            .unwrap_or_else(|| panic!("{entry:?} not in {log:?}"))
    }

    /// Mark the copy `id` as made by the run `run` (its `bandup:run` tag).
    pub fn made_by(&self, id: &str, run: &str) {
        if let Some((_, l)) = self.state.lock().expect("state").get_mut(id) {
            l.tags.insert("bandup:run".into(), run.into());
        }
    }

    /// Set (`Some`) or remove (`None`) a tag on every copy of `addr`, as someone in the
    /// console would.
    pub fn tag_out_of_band(&self, addr: &str, key: &str, value: Option<&str>) {
        for (_, l) in self.state.lock().expect("state").values_mut() {
            if l.addr.as_str() == addr {
                match value {
                    Some(v) => l.tags.insert(key.to_string(), v.to_string()),
                    None => l.tags.remove(key),
                };
            }
        }
    }

    /// Leave every copy of `addr` as AWS shows one still being made (`status`), as an
    /// apply stopped while waiting for it would.
    pub fn still_making(&self, addr: &str, status: &str) {
        for (_, l) in self.state.lock().expect("state").values_mut() {
            if l.addr.as_str() == addr {
                l.pending = Some(status.to_string());
                l.outputs.insert("endpoint".into(), Value::Null);
            }
        }
    }

    pub fn fail_on(&self, addr: &str) {
        self.fail.lock().expect("fail").insert(addr.to_string());
    }

    /// The next `n` creates or updates of `addr` happen, but their answer is lost.
    pub fn lose_answers(&self, addr: &str, n: usize) {
        self.lose.lock().expect("lose").insert(addr.to_string(), n);
    }

    /// Put a live copy of `addr` in environment `env`, as a lost answer, a killed run or
    /// a concurrent run would leave it, created at time `created` (what the fake creates
    /// itself is created at 1000 and later). Returns its id.
    pub fn plant(&self, env: &str, addr: &str, props: &[(&str, Value)], created: u64) -> String {
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let id = format!("thing-{n}");
        let mut p: Props = [("zone", Value::Str("a".into())), ("size", Value::Int(1))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        p.extend(props.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let live = self.make(&Addr(addr.to_string()), id.clone(), &p, created);
        self.state
            .lock()
            .expect("state")
            .insert(id.clone(), (env.to_string(), live));
        id
    }

    /// The live copies of `addr`.
    pub fn copies_of(&self, addr: &str) -> Vec<Live> {
        self.state
            .lock()
            .expect("state")
            .values()
            .filter(|(_, l)| l.addr.as_str() == addr)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// How many live copies `addr` has.
    pub fn copies(&self, addr: &str) -> usize {
        self.copies_of(addr).len()
    }

    /// The next `n` creates or updates of `addr` fail as a dropped connection would,
    /// before anything happened: the caller cannot tell this from a lost answer.
    pub fn drop_requests(&self, addr: &str, n: usize) {
        self.drop.lock().expect("drop").insert(addr.to_string(), n);
    }

    /// Was the answer to this operation on `addr` to be lost? Counts it down.
    fn lost(&self, addr: &Addr) -> bool {
        countdown(&self.lose, addr)
    }

    fn dropped(&self, addr: &Addr) -> bool {
        countdown(&self.drop, addr)
    }

    pub fn heal(&self, addr: &str) {
        self.fail.lock().expect("fail").remove(addr);
    }

    pub fn slow(&self, addr: &str, d: Duration) {
        self.delay
            .lock()
            .expect("delay")
            .insert(addr.to_string(), d);
    }

    pub fn set_default_delay(&self, d: Duration) {
        *self.default_delay.lock().expect("delay") = d;
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Addresses of every live thing.
    pub fn live(&self) -> BTreeSet<String> {
        self.state
            .lock()
            .expect("state")
            .values()
            .map(|(_, l)| l.addr.to_string())
            .collect()
    }

    async fn op(&self, verb: &str, addr: &Addr) -> Result<(), ProviderError> {
        self.calls.add();
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = self
            .delay
            .lock()
            .expect("delay")
            .get(addr.as_str())
            .copied();
        let delay = delay.unwrap_or(*self.default_delay.lock().expect("delay"));
        tokio::time::sleep(delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if self.fail.lock().expect("fail").contains(addr.as_str()) {
            return Err(ProviderError {
                operation: format!("{verb} fake_thing"),
                code: Some("FakeFailure".into()),
                message: "told to fail".into(),
                request_id: Some("req-1".into()),
                kind: ErrorKind::Other,
                ambiguous: false,
            });
        }
        self.log.lock().expect("log").push(format!("{verb} {addr}"));
        Ok(())
    }

    fn make(&self, addr: &Addr, id: String, props: &Props, created: u64) -> Live {
        let refs = ["parent", "inside", "using"]
            .iter()
            .filter_map(|f| props.get(*f).and_then(Value::as_str).map(str::to_string))
            .collect();
        Live {
            addr: addr.clone(),
            id: id.clone(),
            props: props.clone(),
            outputs: Outputs::from([
                ("id".to_string(), Value::Str(id.clone())),
                ("arn".to_string(), Value::Str(format!("arn:fake:{id}"))),
                ("endpoint".to_string(), Value::Str(format!("{id}.example"))),
            ]),
            refs,
            created: Some(created),
            tags: BTreeMap::new(),
            pending: None,
        }
    }
}

#[async_trait]
impl Provider for Fake {
    fn schema(&self) -> &'static Schema {
        if self.holder {
            &HOLDER
        } else {
            &SCHEMA
        }
    }

    async fn read(&self, scope: &Scope, _only: Option<&Addr>) -> Result<Vec<Live>, ProviderError> {
        self.calls.add();
        let state = self.state.lock().expect("state");
        // What the fake made carries the stack's tags unless a test changed them.
        let tagged = |mut l: Live| {
            if l.tags.is_empty() {
                l.tags = scope.tags_for(&l.addr).into_iter().collect();
            }
            l
        };
        Ok(state
            .values()
            .filter(|(env, _)| *env == scope.env)
            .map(|(_, l)| tagged(l.clone()))
            .collect())
    }

    async fn create(&self, req: &Request<'_>) -> Result<Live, ProviderError> {
        let (scope, addr, props) = (req.scope, req.addr, req.props);
        if self.dropped(addr) {
            return Err(lost("create"));
        }
        self.op("create", addr).await?;
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let id = format!("thing-{n}");
        let mut live = self.make(addr, id.clone(), props, 1000 + n as u64);
        live.tags = req.tags().into_iter().collect();
        self.state
            .lock()
            .expect("state")
            .insert(id, (scope.env.clone(), live.clone()));
        if self.lost(addr) {
            return Err(lost("create"));
        }
        Ok(live)
    }

    async fn update(&self, req: &Request<'_>, live: &Live) -> Result<Live, ProviderError> {
        let (scope, props) = (req.scope, req.props);
        if self.dropped(&live.addr) {
            return Err(lost("update"));
        }
        self.op("update", &live.addr).await?;
        let mut next = self.make(
            &live.addr,
            live.id.clone(),
            props,
            live.created.unwrap_or(0),
        );
        next.tags = live.tags.clone();
        if self.renews.load(Ordering::SeqCst) {
            let n = self.next_id.fetch_add(1, Ordering::SeqCst);
            let endpoint = format!("{}.v{n}.example", live.id);
            next.outputs.insert("endpoint".into(), Value::Str(endpoint));
        }
        self.state
            .lock()
            .expect("state")
            .insert(live.id.clone(), (scope.env.clone(), next.clone()));
        if self.lost(&live.addr) {
            return Err(lost("update"));
        }
        Ok(next)
    }

    /// Waits for a copy still being made: it is ready when the wait is over.
    async fn adopt(&self, _req: &Request<'_>, live: Live) -> Result<Live, ProviderError> {
        self.op("wait", &live.addr).await?;
        let mut state = self.state.lock().expect("state");
        let (_, l) = state
            .get_mut(&live.id)
            .ok_or_else(|| ProviderError::new("wait", "gone while waiting"))?;
        l.pending = None;
        l.outputs
            .insert("endpoint".into(), Value::Str(format!("{}.example", l.id)));
        Ok(l.clone())
    }

    async fn retag(&self, live: &Live, delta: &TagDelta) -> Result<(), ProviderError> {
        self.op("retag", &live.addr).await?;
        let mut state = self.state.lock().expect("state");
        if let Some((_, l)) = state.get_mut(&live.id) {
            l.tags = live.tags.clone();
            l.tags.retain(|k, _| !delta.remove.contains(k));
            l.tags.extend(delta.set.clone());
        }
        Ok(())
    }

    fn create_before_delete(&self) -> bool {
        self.create_first.load(Ordering::SeqCst)
    }

    fn renewed_on_update(&self) -> &'static [&'static str] {
        if self.renews.load(Ordering::SeqCst) {
            &["endpoint"]
        } else {
            &[]
        }
    }

    async fn delete(&self, _req: &Request<'_>, live: &Live) -> Result<(), ProviderError> {
        if self.guard_in_use.load(Ordering::SeqCst) {
            let state = self.state.lock().expect("state");
            let keys: Vec<&str> = live.keys().collect();
            if let Some((_, user)) = state
                .values()
                .find(|(_, l)| l.id != live.id && l.refs.iter().any(|r| keys.contains(&r.as_str())))
            {
                return Err(ProviderError::new(
                    "delete fake_thing",
                    format!("{} is in use by {}", live.id, user.addr),
                )
                .kind(ErrorKind::InUse));
            }
        }
        self.op("delete", &live.addr).await?;
        self.state.lock().expect("state").remove(&live.id);
        Ok(())
    }
}

/// What a caller sees when the answer is lost after the work was done.
fn countdown(counts: &Mutex<BTreeMap<String, usize>>, addr: &Addr) -> bool {
    let mut counts = counts.lock().expect("counts");
    match counts.get_mut(addr.as_str()) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}

fn lost(verb: &str) -> ProviderError {
    ProviderError {
        operation: format!("{verb} fake_thing"),
        code: None,
        message: "connection closed before the answer arrived".into(),
        request_id: None,
        kind: ErrorKind::Other,
        ambiguous: true,
    }
}
