//! How an emulator is set up ([`Config`], the command line's options) and the state every handler
//! shares ([`App`]): the tenant, the token minter, the throttle, faults, gate and request counts.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::faults::{FaultConfig, Faults};
use crate::forms::Forms;
use crate::gate::Gate;
use crate::state::{Scenario, Tenant};
use crate::throttle::Throttle;
use crate::token::Minter;

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
    /// Serve https with a certificate signed by a CA made at start ([`crate::Running::ca_pem`]).
    pub tls: bool,
    /// `KEY=VALUE` forms (see [`crate::forms::HELP`]): which published form to answer in where the
    /// sources disagree or are silent.
    pub forms: Vec<String>,
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
            forms: Vec::new(),
        }
    }
}

/// `(method and route template, status)` -> count, for `/_emulator/stats`.
pub(crate) type Stats = BTreeMap<(String, u16), u64>;

/// Shared state behind every handler.
pub(crate) struct App {
    tenant: Mutex<Tenant>,
    forms: Mutex<Forms>,
    stats: Mutex<Stats>,
    pub minter: Minter,
    pub latency: Duration,
    pub throttle: Throttle,
    pub faults: Faults,
    pub gate: Gate,
    /// `http` or `https`, for the links the emulator writes.
    pub scheme: &'static str,
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
        let mut forms = Forms::default();
        for pair in &config.forms {
            forms.set_pair(pair)?;
        }
        tenant.set_replication(forms.replication, std::time::SystemTime::now());
        Ok(App {
            minter: Minter::new(&tenant.tenant_id),
            tenant: Mutex::new(tenant),
            forms: Mutex::new(forms),
            stats: Mutex::new(Stats::new()),
            latency: config.latency,
            throttle: Throttle::new(config.write_rate),
            faults: Faults::new(&config.faults)?,
            gate: Gate::new(config.gate_after),
            scheme: if config.tls { "https" } else { "http" },
            redirect: Mutex::new(None),
        })
    }

    /// The tenant, even if a handler panicked while holding it (its data stays consistent per call),
    /// with every request past its 24 hours expired first.
    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        let status = self.forms().expiry_request_status;
        let mut t = self.tenant.lock().unwrap_or_else(|e| e.into_inner());
        t.expire_due(std::time::SystemTime::now(), &status);
        t
    }

    /// The forms in effect now (a copy: forms may change between calls, not within one).
    pub fn forms(&self) -> Forms {
        self.forms.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Applies `{"KEY": "VALUE", ...}` to the forms (all or nothing) and returns them all.
    pub fn set_forms(&self, body: &Value) -> Result<Value, String> {
        let next = self.forms().apply(body)?;
        let replication = next.replication;
        let changed = replication != self.forms().replication;
        *self.forms.lock().unwrap_or_else(|e| e.into_inner()) = next.clone();
        if changed {
            self.tenant().set_replication(replication, std::time::SystemTime::now());
        }
        Ok(next.describe())
    }

    /// Counts one answer for `/_emulator/stats`.
    pub fn count(&self, route: &str, status: u16) {
        *self.stats().entry((route.to_string(), status)).or_insert(0) += 1;
    }

    pub fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where PIM calls are redirected to, if anywhere.
    pub fn redirect(&self) -> Option<String> {
        self.redirect.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_redirect(&self, to: Option<String>) {
        *self.redirect.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}
