//! A fault-injecting HTTP proxy between the tool and the emulator, both on loopback:
//! per-operation rules delay a request, answer it with throttling or a server error
//! instead of forwarding it, drop the connection, or forward it and then lose the
//! answer (the work is done, the caller never hears so). Random rules draw from a seeded
//! generator and every rule is bounded, so a failing run can be replayed exactly.
//!
//! The proxy runs on a thread and runtime of its own, so it serves both async tests
//! (the engine in process) and sync tests that run the CLI in a child process.
//!
//! ```ignore
//! let proxy = Proxy::start(&moto.endpoint, 7);
//! proxy.rule(Rule::on("CreateVpc").fault(Fault::LoseAnswer).times(1));
//! proxy.rule(Rule::mutating().faults(&[Fault::LoseAnswer, Fault::LoseConnection]).chance(0.15).times(10));
//! // point AWS_ENDPOINT_URL (or the SDK config) at proxy.endpoint
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a rule does to a request it picks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// Wait this long, then forward as usual.
    Delay(Duration),
    /// Answer 503 with the throttling error (EC2's `RequestLimitExceeded`); not forwarded.
    Throttle,
    /// Answer 500 `InternalError`; not forwarded.
    ServerError,
    /// Answer 502 with an empty body, as a failing gateway does; not forwarded.
    BadGateway,
    /// Close the connection without an answer; not forwarded.
    Drop,
    /// Forward it (the emulator does the work), then answer 500 `InternalError`.
    LoseAnswer,
    /// Forward it (the emulator does the work), then close the connection.
    LoseConnection,
    /// Forward it (the emulator does the work), then wait this long before answering:
    /// a window in which the caller can be killed after the work was done.
    SlowAnswer(Duration),
    /// Answer 200 with this JSON body instead of the emulator (an index that lags, say);
    /// not forwarded.
    Answer(&'static str),
}

impl Fault {
    fn forwards(self) -> bool {
        matches!(
            self,
            Fault::Delay(_) | Fault::LoseAnswer | Fault::LoseConnection | Fault::SlowAnswer(_)
        )
    }
}

/// Which requests a rule applies to.
#[derive(Clone, Debug)]
enum Target {
    Operation(String),
    Mutating,
}

/// A fault, the requests it targets, how likely and how often.
#[derive(Clone, Debug)]
pub struct Rule {
    target: Target,
    /// One of these, drawn at random, each time the rule applies.
    faults: Vec<Fault>,
    chance: f64,
    /// At most this many more faults from this rule.
    left: usize,
}

impl Rule {
    /// Requests for one operation (`CreateVpc`, or `Service.Operation`'s last part).
    pub fn on(operation: &str) -> Rule {
        Rule::new(Target::Operation(operation.to_string()))
    }

    /// Requests that change something (Create*, Delete*, Authorize*, PUT, ...).
    pub fn mutating() -> Rule {
        Rule::new(Target::Mutating)
    }

    fn new(target: Target) -> Rule {
        Rule {
            target,
            faults: vec![Fault::ServerError],
            chance: 1.0,
            left: 1,
        }
    }

    pub fn fault(mut self, f: Fault) -> Rule {
        self.faults = vec![f];
        self
    }

    /// One of `fs`, drawn at random each time the rule applies.
    pub fn faults(mut self, fs: &[Fault]) -> Rule {
        self.faults = fs.to_vec();
        self
    }

    /// Apply to each matching request with this probability (seeded).
    pub fn chance(mut self, p: f64) -> Rule {
        self.chance = p;
        self
    }

    /// Inject at most `n` faults (the default is 1).
    pub fn times(mut self, n: usize) -> Rule {
        self.left = n;
        self
    }

    fn matches(&self, op: &str) -> bool {
        match &self.target {
            Target::Operation(o) => o == op,
            Target::Mutating => is_mutating(op),
        }
    }
}

/// Operation names that change something. REST requests are named by their method.
pub fn is_mutating(op: &str) -> bool {
    const VERBS: &[&str] = &[
        "Create",
        "Delete",
        "Modify",
        "Put",
        "Update",
        "Attach",
        "Detach",
        "Associate",
        "Disassociate",
        "Authorize",
        "Revoke",
        "Allocate",
        "Release",
        "Replace",
        "Register",
        "Deregister",
        "Run",
        "Terminate",
        "Tag",
        "Untag",
        "PUT ",
        "POST ",
        "DELETE ",
    ];
    VERBS.iter().any(|v| op.starts_with(v))
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    rng: Option<fastrand::Rng>,
    /// Every request, in order: (operation, what was done to it).
    log: Vec<(String, String)>,
}

/// A running proxy; stopped when dropped.
pub struct Proxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Start a proxy on a free loopback port in front of `upstream` (which must be on
    /// loopback too), drawing random faults from `seed`.
    pub fn start(upstream: &str, seed: u64) -> Proxy {
        let upstream_addr: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("upstream is http://IP:PORT");
        assert!(
            upstream_addr.ip().is_loopback(),
            "the proxy forwards to loopback only, not {upstream}"
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            rng: Some(fastrand::Rng::with_seed(seed)),
            ..State::default()
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let upstream = upstream.trim_end_matches('/').to_string();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(serve(listener, upstream, shared, stopped));
        });
        Proxy {
            endpoint,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn rule(&self, rule: Rule) {
        self.lock().rules.push(rule);
    }

    /// How many requests for `op` have arrived so far.
    pub fn seen(&self, op: &str) -> usize {
        self.lock().log.iter().filter(|(o, _)| o == op).count()
    }

    /// Every operation that has arrived so far, in order.
    pub fn ops(&self) -> Vec<String> {
        self.lock().log.iter().map(|(op, _)| op.clone()).collect()
    }

    /// The faults injected so far, as "CreateVpc: LoseAnswer".
    pub fn faults(&self) -> Vec<String> {
        self.lock()
            .log
            .iter()
            .filter(|(_, what)| what != "forwarded")
            .map(|(op, what)| format!("{op}: {what}"))
            .collect()
    }

    /// Block until a request for `op` has arrived (`n` in all), or `timeout` passes.
    pub fn wait_for(&self, op: &str, n: usize, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.seen(op) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type Body = Full<Bytes>;

async fn serve(
    listener: std::net::TcpListener,
    upstream: String,
    state: Arc<Mutex<State>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let client: Client<_, Body> = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stopped => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let (state, client, upstream) = (state.clone(), client.clone(), upstream.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                handle(req, state.clone(), client.clone(), upstream.clone())
            });
            // An error from the service closes the connection without an answer.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault-injecting proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Body>,
    upstream: String,
) -> Result<Response<Body>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let op = operation(&parts, &body);
    let protocol = Protocol::of(&parts, &body);
    let fault = pick(&state, &op);
    {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        let what = fault.map_or("forwarded".to_string(), |f| format!("{f:?}"));
        s.log.push((op.clone(), what));
    }
    if let Some(Fault::Delay(d)) = fault {
        tokio::time::sleep(d).await;
    }
    match fault {
        Some(Fault::Throttle) => {
            return Ok(protocol.error(503, "RequestLimitExceeded", "Request limit exceeded."))
        }
        Some(Fault::ServerError) => {
            return Ok(protocol.error(500, "InternalError", "An internal error has occurred."))
        }
        Some(Fault::BadGateway) => return Ok(status(502, Bytes::new())),
        Some(Fault::Drop) => return Err(Dropped),
        Some(Fault::Answer(json)) => {
            let mut r = status(200, Bytes::from_static(json.as_bytes()));
            r.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
            );
            return Ok(r);
        }
        _ => {}
    }
    debug_assert!(fault.is_none_or(Fault::forwards));
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut forward = Request::builder()
        .method(parts.method.clone())
        .uri(format!("{upstream}{path}"));
    for (k, v) in &parts.headers {
        forward = forward.header(k, v);
    }
    let forward = forward.body(Full::new(body)).map_err(|_| Dropped)?;
    let answer = client.request(forward).await.map_err(|_| Dropped)?;
    let (aparts, abody) = answer.into_parts();
    let abody = abody.collect().await.map_err(|_| Dropped)?.to_bytes();
    if let Some(Fault::SlowAnswer(d)) = fault {
        tokio::time::sleep(d).await;
    }
    match fault {
        Some(Fault::LoseAnswer) => {
            Ok(protocol.error(500, "InternalError", "An internal error has occurred."))
        }
        Some(Fault::LoseConnection) => Err(Dropped),
        _ => {
            let mut out = Response::from_parts(aparts, Full::new(abody));
            // The body was re-framed: let hyper set its length.
            out.headers_mut().remove(hyper::header::TRANSFER_ENCODING);
            Ok(out)
        }
    }
}

/// The first rule that matches `op` and wins its draw, counted down.
fn pick(state: &Mutex<State>, op: &str) -> Option<Fault> {
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let State { rules, rng, .. } = &mut *s;
    let rng = rng.as_mut()?;
    for r in rules.iter_mut() {
        if r.left == 0 || !r.matches(op) {
            continue;
        }
        if r.chance >= 1.0 || rng.f64() < r.chance {
            r.left -= 1;
            return r.faults.get(rng.usize(..r.faults.len())).copied();
        }
    }
    None
}

/// The AWS operation a request calls: `Action=` of the query protocols, the target of
/// the JSON protocols, else "METHOD /path" for REST services.
fn operation(parts: &hyper::http::request::Parts, body: &[u8]) -> String {
    if let Some(t) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
    {
        return t.rsplit('.').next().unwrap_or(t).to_string();
    }
    let query = parts.uri.query().unwrap_or_default();
    let form = String::from_utf8_lossy(body);
    for pair in form.split('&').chain(query.split('&')) {
        if let Some(a) = pair.strip_prefix("Action=") {
            return a.to_string();
        }
    }
    format!("{} {}", parts.method, parts.uri.path())
}

/// How the service spells its errors.
#[derive(Clone, Copy)]
enum Protocol {
    Ec2,
    Query,
    Json,
    RestXml,
}

impl Protocol {
    fn of(parts: &hyper::http::request::Parts, body: &[u8]) -> Protocol {
        if parts.headers.contains_key("x-amz-target") {
            return Protocol::Json;
        }
        let form = String::from_utf8_lossy(body);
        if form.contains("Action=") {
            // EC2's API version: its errors have their own shape.
            if form.contains("Version=2016-11-15") {
                Protocol::Ec2
            } else {
                Protocol::Query
            }
        } else {
            Protocol::RestXml
        }
    }

    fn error(self, code: u16, name: &str, message: &str) -> Response<Body> {
        let id = "00000000-0000-0000-0000-0000fa017000";
        let body = match self {
            Protocol::Ec2 => format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{name}</Code><Message>{message}</Message></Error></Errors><RequestID>{id}</RequestID></Response>"
            ),
            Protocol::Query => format!(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>{name}</Code><Message>{message}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>"
            ),
            Protocol::Json => format!("{{\"__type\":\"{name}\",\"message\":\"{message}\"}}"),
            Protocol::RestXml => format!(
                "<Error><Code>{name}</Code><Message>{message}</Message><RequestId>{id}</RequestId></Error>"
            ),
        };
        let mut r = status(code, Bytes::from(body));
        if let Protocol::Json = self {
            if let Ok(v) = hyper::header::HeaderValue::from_str(name) {
                r.headers_mut().insert("x-amzn-errortype", v);
            }
        }
        r
    }
}

fn status(code: u16, body: Bytes) -> Response<Body> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() =
        hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    r
}
