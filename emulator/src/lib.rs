//! `pim-emulator`: a local stand-in for the Microsoft Graph and Azure Resource Manager endpoints
//! that PIM approvals use.
//!
//! It serves the real routes under the real paths (`/v1.0/...`, `/beta/...`,
//! `/providers/Microsoft.Authorization/...`) with the services' paging, filters, expansions, error
//! bodies and status codes, checks bearer tokens it minted itself (audience `graph` or `arm`), and
//! offers a control API under `/_emulator/` for tests, benchmarks and demos.

pub mod odata;
pub mod state;
pub mod time;
pub mod token;

mod arm;
mod batch;
mod faults;
mod gate;
mod graph;
mod splitmix;
mod throttle;
pub mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub use faults::FaultConfig;
pub use state::Scenario;
use state::Tenant;
use token::Minter;

/// How an emulator is set up: the command line's options.
#[derive(Clone, Debug)]
pub struct Config {
    pub scenario: Scenario,
    /// Added to every answer on a PIM route (not the control API).
    pub latency: Duration,
    /// A Graph list response (`{"value": [...]}`) whose requests are added as pending.
    pub seed: Option<Value>,
    /// Decisions (writes) allowed per second per token, as a token bucket holding one second's
    /// worth; beyond it a decision is answered 429 with `Retry-After`. 0 = unlimited.
    pub write_rate: f64,
    /// Injected faults: rates (for soak runs) and a schedule (for tests).
    pub faults: FaultConfig,
    /// Hold every decision after the first N until the gate is opened (`POST /_emulator/gate`).
    pub gate_after: Option<u64>,
    /// Serve https with a certificate signed by a CA made at start ([`Running::ca_pem`]).
    pub tls: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scenario: Scenario::Empty,
            latency: Duration::ZERO,
            seed: None,
            write_rate: 0.0,
            faults: FaultConfig::default(),
            gate_after: None,
            tls: false,
        }
    }
}

/// Shared state behind every handler.
pub struct App {
    tenant: Mutex<Tenant>,
    /// `(method and route template, status)` -> count, for `/_emulator/stats`.
    stats: Mutex<BTreeMap<(String, u16), u64>>,
    minter: Minter,
    latency: Duration,
    throttle: throttle::Throttle,
    faults: faults::Faults,
    gate: gate::Gate,
    /// `http` or `https`, for the links the emulator writes.
    scheme: &'static str,
    /// When set, every PIM call is answered 307 to this base (same path and query): for testing
    /// what a client does with a redirect to another host or from https to http.
    redirect: Mutex<Option<String>>,
}

impl App {
    pub fn new(config: &Config) -> Result<App, String> {
        let mut tenant = Tenant::new(&config.scenario);
        if let Some(seed) = &config.seed {
            tenant.load_seed(seed)?;
        }
        Ok(App {
            minter: Minter::new(&tenant.tenant_id),
            tenant: Mutex::new(tenant),
            stats: Mutex::new(BTreeMap::new()),
            latency: config.latency,
            throttle: throttle::Throttle::new(config.write_rate),
            faults: faults::Faults::new(&config.faults)?,
            gate: gate::Gate::new(config.gate_after),
            scheme: if config.tls { "https" } else { "http" },
            redirect: Mutex::new(None),
        })
    }

    /// Counts one answer for `/_emulator/stats`.
    fn count(&self, route: &str, status: u16) {
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()).entry((route.to_string(), status)).or_insert(0) += 1;
    }

    /// The tenant, even if a handler panicked while holding it (its data stays consistent per call).
    fn tenant(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running emulator. Dropping it does not stop it; call [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    /// In https mode, the PEM of the CA that signed the emulator's certificate.
    pub ca_pem: Option<String>,
    app: Arc<App>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Changes the fault rates or schedule, as `POST /_emulator/faults` does.
    pub fn set_faults(&self, settings: &Value) -> Result<Value, String> {
        self.app.faults.set(settings)
    }

    /// The seed behind the fault rates (to replay a failing run with `--fault-seed`).
    pub fn fault_seed(&self) -> u64 {
        self.app.faults.describe()["seed"].as_u64().unwrap_or_default()
    }

    /// Sets the gate, as `POST /_emulator/gate` does.
    pub fn set_gate(&self, settings: &Value) -> Result<Value, String> {
        self.app.gate.set(settings)
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds `listen` (e.g. `127.0.0.1:0`) and serves in a background task of the current runtime.
pub async fn start(listen: &str, config: Config) -> Result<Running, String> {
    let app = Arc::new(App::new(&config)?);
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let router = Router::new().fallback(dispatch).with_state(app.clone());
    if config.tls {
        let tls = tls::make()?;
        let std_listener = listener.into_std().map_err(|e| e.to_string())?;
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(tls.config);
        let server = axum_server::tls_rustls::from_tcp_rustls(std_listener, rustls);
        let task = tokio::spawn(async move {
            let _ = server.serve(router.into_make_service()).await;
        });
        return Ok(Running { addr, base_url: format!("https://{addr}"), ca_pem: Some(tls.ca_pem), app, task });
    }
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(Running { addr, base_url: format!("http://{addr}"), ca_pem: None, app, task })
}

/// What one route answers before the common headers are added.
pub(crate) struct Answer {
    pub route: &'static str,
    pub status: StatusCode,
    pub body: Option<Value>,
    /// The `Retry-After` header's text.
    pub retry_after: Option<String>,
    /// Fault injection: the work is done, then the connection is dropped without an answer.
    pub lost: bool,
    /// Fault injection: a pause before answering, after the work is done.
    pub pause: Option<Duration>,
    /// A `Location` header (redirects).
    pub location: Option<String>,
}

impl Answer {
    pub fn json(route: &'static str, status: StatusCode, body: Value) -> Answer {
        Answer { route, status, body: Some(body), retry_after: None, lost: false, pause: None, location: None }
    }

    pub fn empty(route: &'static str, status: StatusCode) -> Answer {
        Answer { route, status, body: None, retry_after: None, lost: false, pause: None, location: None }
    }

    /// 429 with `Retry-After` (seconds), in Graph's words.
    pub fn throttled(route: &'static str, wait: f64) -> Answer {
        Answer::throttled_text(route, batch::format_retry_after(wait))
    }

    pub fn throttled_text(route: &'static str, retry_after: String) -> Answer {
        let mut a = Answer::error(route, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Please retry again later.");
        a.retry_after = Some(retry_after);
        a
    }

    /// An injected fault that answers at once, in the error shape of the service addressed.
    pub(crate) fn fault(route: &'static str, fault: faults::Fault, arm: bool) -> Answer {
        let mut a = match fault {
            faults::Fault::Reset => {
                let mut a = Answer::empty(route, StatusCode::OK);
                a.lost = true;
                return a;
            }
            faults::Fault::Slow(_) => unreachable_fault(),
            faults::Fault::Fail => {
                let mut a = Answer::error(
                    route,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serviceNotAvailable",
                    "The service is temporarily unavailable.",
                );
                a.retry_after = Some("0.2".into());
                a
            }
            faults::Fault::Throttle(text) => Answer::throttled_text(route, text),
        };
        if arm {
            // ARM's error body has no innerError.
            if let Some(e) = a.body.as_mut().and_then(|b| b.get_mut("error")).and_then(|e| e.as_object_mut()) {
                e.remove("innerError");
            }
        }
        a
    }

    /// Graph's error body. `request-id` and `date` are filled in by [`dispatch`].
    pub fn error(route: &'static str, status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
        Answer::json(route, status, json!({"error": {"code": code, "message": message.into(), "innerError": {}}}))
    }
}

/// `Slow` is not answered by [`Answer::fault`]: the route runs and the answer is delayed.
fn unreachable_fault() -> Answer {
    Answer::error("(fault injected)", StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Misrouted fault.")
}

/// Runs a route under fault injection: a reset or an immediate fault answers without doing the
/// work; a slow fault does the work and answers late; a lost answer is a decision applied and
/// then left unanswered.
pub(crate) fn with_faults(app: &App, arm: bool, method: &Method, route: impl FnOnce() -> Answer) -> Answer {
    let (ticket, fault) = app.faults.roll(faults::CallKind::of(method));
    let mut answer = match fault {
        Some(faults::Fault::Slow(pause)) => {
            let mut a = route();
            a.pause = Some(pause);
            a
        }
        Some(fault) => return Answer::fault("(fault injected)", fault, arm),
        None => route(),
    };
    if answer.status.is_success() && app.faults.lose(&ticket) {
        answer.lost = true;
    }
    answer
}

/// The per-call facts a route needs.
pub(crate) struct Call<'a> {
    pub method: &'a Method,
    pub segments: Vec<String>,
    pub query: std::collections::HashMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    /// `http://host:port` as the client addressed us, for `@odata.nextLink`.
    pub base: String,
}

impl Call<'_> {
    /// The `Authorization` header's text, if any. Throttling is keyed on it (per token, as
    /// Graph's buckets are per app and user).
    pub fn authorization(&self) -> Option<&str> {
        self.headers.get("authorization").and_then(|h| h.to_str().ok())
    }
}

async fn dispatch(State(app): State<Arc<App>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = odata::decode_path(uri.path());
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let call = Call {
        method: &method,
        segments: path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        query: odata::parse_query(uri.query()),
        headers: &headers,
        body: &body,
        base: format!("{}://{host}", app.scheme),
    };
    let is_control = call.segments.first().map(String::as_str) == Some("_emulator");
    let redirect = app.redirect.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !is_control && redirect.is_none() && faults::CallKind::of(&method) == faults::CallKind::Write {
        // A decision waits here while the gate is closed (batch items wait in batch::route).
        app.gate.admit().await;
    }
    let mut answer = if is_control && call.segments.get(1).map(String::as_str) == Some("wait") {
        wait(&app, &call).await
    } else if is_control {
        control(&app, &call)
    } else if let Some(to) = redirect {
        let mut a = Answer::empty("(redirected)", StatusCode::TEMPORARY_REDIRECT);
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        a.location = Some(format!("{}{}{query}", to.trim_end_matches('/'), uri.path()));
        a
    } else if batch::is_batch(&call) {
        // Faults are rolled per item inside the batch.
        batch::route(&app, &call).await
    } else if arm::is_arm_path(&path) {
        with_faults(&app, true, &method, || arm::route(&app, &call, &path))
    } else {
        with_faults(&app, false, &method, || graph::route(&app, &call))
    };
    if !is_control && !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    if let Some(pause) = answer.pause {
        tokio::time::sleep(pause).await;
    }
    let date = time::iso(std::time::SystemTime::now());
    if let Some(inner) = answer.body.as_mut().and_then(|b| b.pointer_mut("/error/innerError")) {
        inner["request-id"] = json!(request_id);
        inner["date"] = json!(date);
        if let Some(c) = headers.get("client-request-id").and_then(|h| h.to_str().ok()) {
            inner["client-request-id"] = json!(c);
        }
    }
    app.count(&format!("{} {}", method, answer.route), answer.status.as_u16());
    if !is_control {
        app.gate.bump();
    }
    if answer.lost {
        // The work is done; the answer never arrives.
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("response lost (fault injection)"))
        });
        return Response::new(axum::body::Body::from_stream(broken));
    }
    let mut response = match answer.body {
        Some(b) => (answer.status, axum::Json(b)).into_response(),
        None => answer.status.into_response(),
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("request-id", v.clone());
        h.insert("x-ms-request-id", v.clone());
        h.insert("client-request-id", v);
    }
    if let Some(text) = &answer.retry_after {
        if let Ok(v) = HeaderValue::from_str(text) {
            h.insert("retry-after", v);
        }
    }
    if let Some(location) = answer.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        h.insert("location", location);
    }
    if answer.status == StatusCode::UNAUTHORIZED {
        h.insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""));
    }
    response
}

/// `/_emulator/...`: tokens, the record of decisions, and request counts.
fn control(app: &App, call: &Call) -> Answer {
    let seg: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    match (call.method.clone(), seg.as_slice()) {
        (Method::POST, ["_emulator", "token"]) => mint_token(app, call.body),
        (Method::GET, ["_emulator", "decisions"]) => {
            let t = app.tenant();
            let value: Vec<Value> = t
                .decisions
                .iter()
                .map(|d| {
                    json!({
                        "approvalId": d.approval_id, "stepId": d.step_id, "reviewer": d.reviewer,
                        "reviewResult": d.review_result, "justification": d.justification,
                        "time": time::iso(d.time),
                    })
                })
                .collect();
            Answer::json("/_emulator/decisions", StatusCode::OK, json!({ "value": value }))
        }
        (Method::GET, ["_emulator", "stats"]) => {
            let stats = app.stats.lock().unwrap_or_else(|e| e.into_inner());
            let routes: Vec<Value> = stats
                .iter()
                .map(|((route, status), count)| json!({"route": route, "status": status, "count": count}))
                .collect();
            // HTTP requests on the PIM routes, and, apart, the items answered inside batches.
            let sum = |batch_items: bool| -> u64 {
                stats
                    .iter()
                    .filter(|((route, _), _)| {
                        !route.contains("/_emulator/") && route.ends_with("[batch item]") == batch_items
                    })
                    .map(|(_, c)| c)
                    .sum()
            };
            Answer::json(
                "/_emulator/stats",
                StatusCode::OK,
                json!({"httpRequests": sum(false), "batchItems": sum(true), "routes": routes}),
            )
        }
        (Method::POST, ["_emulator", "redirect"]) => {
            // {"to": "http://host:port"} sends every PIM call there; {"to": null} stops it.
            let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
            let to = body.get("to").and_then(Value::as_str).map(str::to_string);
            *app.redirect.lock().unwrap_or_else(|e| e.into_inner()) = to.clone();
            Answer::json("/_emulator/redirect", StatusCode::OK, json!({ "to": to }))
        }
        (Method::GET, ["_emulator", "faults"]) => {
            Answer::json("/_emulator/faults", StatusCode::OK, app.faults.describe())
        }
        (Method::POST, ["_emulator", "faults"]) => {
            let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
            match app.faults.set(&body) {
                Ok(v) => Answer::json("/_emulator/faults", StatusCode::OK, v),
                Err(e) => Answer::error("/_emulator/faults", StatusCode::BAD_REQUEST, "BadRequest", e),
            }
        }
        (Method::GET, ["_emulator", "gate"]) => Answer::json("/_emulator/gate", StatusCode::OK, app.gate.describe()),
        (Method::POST, ["_emulator", "gate"]) => {
            let body: Value = serde_json::from_slice(call.body).unwrap_or(Value::Null);
            match app.gate.set(&body) {
                Ok(v) => Answer::json("/_emulator/gate", StatusCode::OK, v),
                Err(e) => Answer::error("/_emulator/gate", StatusCode::BAD_REQUEST, "BadRequest", e),
            }
        }
        (Method::GET, ["_emulator", "tenant"]) => {
            let t = app.tenant();
            let users: Vec<Value> = t
                .users
                .values()
                .map(|u| json!({"id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn}))
                .collect();
            Answer::json(
                "/_emulator/tenant",
                StatusCode::OK,
                json!({"tenantId": t.tenant_id, "defaultApprover": t.default_approver, "users": users}),
            )
        }
        _ => Answer::error("/_emulator/*", StatusCode::NOT_FOUND, "NotFound", "No such control route."),
    }
}

/// `GET /_emulator/wait?decisions=N&held=N&heldMax=N&admitted=N&timeoutMs=N`: answers once every
/// counter named is at least (for `heldMax`, at most) its number: 200 with the counters, or 408
/// with them when `timeoutMs` (default 30 s) passes first. Tests wait on this, not on sleeps.
async fn wait(app: &App, call: &Call<'_>) -> Answer {
    const ROUTE: &str = "/_emulator/wait";
    let mut goal = std::collections::HashMap::new();
    for (k, v) in &call.query {
        let Ok(n) = v.parse::<u64>() else {
            return Answer::error(
                ROUTE,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("'{k}' is not a whole number."),
            );
        };
        if !["decisions", "held", "heldMax", "admitted", "timeoutMs"].contains(&k.as_str()) {
            return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", format!("Cannot wait for '{k}'."));
        }
        goal.insert(k.clone(), n);
    }
    let timeout = Duration::from_millis(goal.get("timeoutMs").copied().unwrap_or(30_000).min(600_000));
    let read = |g: &gate::Gate| {
        let (held, admitted) = g.counts();
        gate::Counters { decisions: app.tenant().decisions.len() as u64, held, admitted }
    };
    let at_least = |k: &str, have: u64| goal.get(k).is_none_or(|want| have >= *want);
    let reached = |c: &gate::Counters| {
        at_least("decisions", c.decisions)
            && at_least("held", c.held)
            && at_least("admitted", c.admitted)
            && goal.get("heldMax").is_none_or(|max| c.held <= *max)
    };
    let (c, ok) = app.gate.wait(timeout, read, reached).await;
    let status = if ok { StatusCode::OK } else { StatusCode::REQUEST_TIMEOUT };
    Answer::json(
        ROUTE,
        status,
        json!({"reached": ok, "decisions": c.decisions, "held": c.held, "admitted": c.admitted}),
    )
}

fn mint_token(app: &App, body: &Bytes) -> Answer {
    const ROUTE: &str = "/_emulator/token";
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "The body must be a JSON object."),
        }
    };
    let t = app.tenant();
    let user = match req.get("user").and_then(Value::as_str) {
        None => t.users.get(&t.default_approver),
        Some(u) => t.users.values().find(|x| x.id.eq_ignore_ascii_case(u) || x.upn.eq_ignore_ascii_case(u)),
    };
    let Some(user) = user else {
        return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "Unknown user.");
    };
    let audience = match req.get("audience").and_then(Value::as_str).unwrap_or("graph") {
        "graph" => token::GRAPH_AUDIENCE,
        "arm" => token::ARM_AUDIENCE,
        other => {
            return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", format!("Unknown audience '{other}'."));
        }
    };
    let scopes: Vec<String> = match req.get("scopes").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        None if audience == token::ARM_AUDIENCE => vec!["user_impersonation".into()],
        None => token::DEFAULT_GRAPH_SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    let app_only = req.get("appOnly").and_then(Value::as_bool).unwrap_or(false);
    let expires_in = req.get("expiresIn").and_then(Value::as_i64).unwrap_or(3600);
    let tok = app.minter.mint(&user.id, &user.upn, (!app_only).then_some(scopes.as_slice()), audience, expires_in);
    Answer::json(ROUTE, StatusCode::OK, json!({"access_token": tok, "token_type": "Bearer", "expires_in": expires_in}))
}
