//! `pim-emulator`: a local stand-in for the Microsoft Graph and Azure Resource Manager endpoints
//! that PIM approvals use.
//!
//! It serves the real routes under the real paths (`/v1.0/...`, `/beta/...`,
//! `/providers/Microsoft.Authorization/...`) with the services' paging, filters, expansions, error
//! bodies and status codes, checks bearer tokens it minted itself (audience `graph` or `arm`), and
//! offers a control API under `/_emulator/` for tests, benchmarks and demos.
//!
//! # The rooms
//!
//! One request goes `dispatch` -> a route -> `dispatch`; each room imports only rooms below it,
//! never back:
//!
//! | room | holds |
//! | --- | --- |
//! | `lib.rs` | the public API: [`start`], [`Running`], and re-exports; no logic |
//! | `app` | [`Config`] and the state every handler shares (tenant, minter, throttle, faults, gate, stats) |
//! | `dispatch` | the one HTTP handler: picks the room, applies gate, redirect and latency, writes headers |
//! | `answer` | `Call` (what a route gets) and `Answer` (what it returns): the contract of every route |
//! | `control` | the control API `/_emulator/...`, token minting included |
//! | `graph/` | Graph routes: `mod` (route table), `spec` (per-surface scopes and the token check), `list`, `approvals`, `render` (Graph JSON) |
//! | `arm/` | ARM routes: `mod` (route table, checks, handlers), `render` (ARM JSON) |
//! | `batch` | Graph `$batch`: each item through the Graph routes |
//! | `faults/` | `mod` (rates and counters), `schedule` (rules), `inject` (what a fault does to an answer) |
//! | `gate`, `throttle` | holding decisions (and listing pages) at a known point; the per-token write bucket |
//! | `state/` | `model` (the tenant and its rules: who may decide, applying a decision, refusals), `scenarios` (demo, empty, bulk:N), `seed` (seed files) |
//! | `forms` | the published forms the emulator can answer in where sources disagree (`--form`, `/_emulator/forms`) |
//! | `token`, `tls`, `odata`, `time`, `splitmix` | self-contained helpers with no knowledge of HTTP routes |
//!
//! Where this differs from the shape issue 10 recommends, and why:
//! - `app` is its own room (not `lib.rs`), so that `lib.rs`, `dispatch` and the routes never
//!   import each other: everything that needs the shared state imports `app`, and `app` imports
//!   only the helpers.
//! - Token *minting* as a route lives in `control`, while `token` keeps the token format (mint and
//!   check) free of HTTP: `app` owns a `token::Minter`, so a `token` that knew `app` would be a cycle.
//! - Fault injection is split in three: what to fault (`faults`, unit-tested without HTTP), which
//!   calls a rule names (`faults::schedule`), and what a fault does to an answer (`faults::inject`,
//!   used by `dispatch` and `batch` alike).
//! - Seed files have their own file next to the built-in scenarios; request counts moved from the
//!   tenant to `app` (they are about HTTP, not the tenant); `time` and `splitmix` are shared by
//!   the model, the routes and the fault generator, so they belong to none of them.

pub mod forms;
pub mod odata;
pub mod state;
pub mod time;
pub mod tls;
pub mod token;

mod answer;
mod app;
mod arm;
mod batch;
mod control;
mod dispatch;
mod faults;
mod gate;
mod graph;
mod splitmix;
mod throttle;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use serde_json::Value;

use app::App;
pub use app::Config;
pub use faults::FaultConfig;
pub use state::Scenario;

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

    /// Changes the forms, as `POST /_emulator/forms` does: `{"group.stageId": "own", ...}`.
    pub fn set_forms(&self, forms: &Value) -> Result<Value, String> {
        self.app.set_forms(forms)
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
    let router = Router::new().fallback(dispatch::dispatch).with_state(app.clone());
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
