//! Helpers shared by the integration tests: an emulator on port 0, tokens, and its records.
#![allow(dead_code)]

pub mod hostile;

use pim_bridge::{AccessToken, ClientOptions, PimClient};
use pim_emulator::{Config, Running, Scenario};
use serde_json::{Value, json};

pub struct Env {
    pub emulator: Running,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn start(scenario: Scenario) -> Env {
        Env::with_config(Config { scenario, ..Config::default() }).await
    }

    pub async fn with_config(config: Config) -> Env {
        let emulator = pim_emulator::start("127.0.0.1:0", config).await.expect("emulator starts");
        Env { emulator, http: reqwest::Client::new() }
    }

    pub fn base(&self) -> &str {
        &self.emulator.base_url
    }

    /// A client with fast retries, pointed at the emulator.
    pub fn client(&self) -> PimClient {
        self.client_with_retry(json!({"maxAttempts": 3, "baseDelayMs": 10, "maxDelayMs": 50, "budgetMs": 2000}))
    }

    /// A client with these options on top of [`Env::client`]'s, pointed at the emulator.
    pub fn client_with_options(&self, extra: Value) -> PimClient {
        let mut o = json!({ "graphUri": self.base(), "armUri": self.base(),
                            "retry": {"maxAttempts": 3, "baseDelayMs": 10, "maxDelayMs": 50, "budgetMs": 2000} });
        for (k, v) in extra.as_object().into_iter().flatten() {
            o[k] = v.clone();
        }
        PimClient::new(ClientOptions::from_json(Some(&o.to_string())).unwrap()).unwrap()
    }

    /// A client with the given retry policy, pointed at the emulator.
    pub fn client_with_retry(&self, retry: Value) -> PimClient {
        let options = ClientOptions::from_json(Some(
            &json!({ "graphUri": self.base(), "armUri": self.base(), "retry": retry }).to_string(),
        ))
        .unwrap();
        PimClient::new(options).unwrap()
    }

    pub async fn raw_token(&self, body: Value) -> String {
        let v: Value = self
            .http
            .post(format!("{}/_emulator/token", self.base()))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().expect("a token").to_string()
    }

    pub async fn token(&self) -> AccessToken {
        AccessToken::new(&self.raw_token(json!({})).await).unwrap()
    }

    pub async fn arm_token(&self) -> AccessToken {
        AccessToken::new(&self.raw_token(json!({"audience": "arm"})).await).unwrap()
    }

    pub async fn token_for(&self, body: Value) -> AccessToken {
        AccessToken::new(&self.raw_token(body).await).unwrap()
    }

    pub async fn decisions(&self) -> Vec<Value> {
        let v: Value =
            self.http.get(format!("{}/_emulator/decisions", self.base())).send().await.unwrap().json().await.unwrap();
        v["value"].as_array().cloned().unwrap_or_default()
    }

    /// Requests the emulator answered on routes whose template contains `needle`.
    pub async fn calls(&self, needle: &str) -> u64 {
        let v: Value =
            self.http.get(format!("{}/_emulator/stats", self.base())).send().await.unwrap().json().await.unwrap();
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["route"].as_str().unwrap().contains(needle))
            .map(|r| r["count"].as_u64().unwrap())
            .sum()
    }

    pub async fn user_id(&self, upn_prefix: &str) -> String {
        let v: Value =
            self.http.get(format!("{}/_emulator/tenant", self.base())).send().await.unwrap().json().await.unwrap();
        v["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userPrincipalName"].as_str().unwrap().starts_with(upn_prefix))
            .map(|u| u["id"].as_str().unwrap().to_string())
            .expect("user exists")
    }
}

pub const UPN: &str = "@contoso.onmicrosoft.com";

/// The seed for faults by rate: `PIM_FAULT_SEED` when set (to replay a failing run), else a new
/// one. Printed, so that a failing test shows it (cargo shows a failing test's output).
pub fn fault_seed() -> u64 {
    let seed = std::env::var("PIM_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    println!("fault seed: {seed} (replay with PIM_FAULT_SEED={seed})");
    seed
}

/// Lists one surface with `token`.
pub async fn list_surface(
    env: &Env,
    token: &AccessToken,
    options: pim_bridge::ListOptions,
) -> Vec<pim_bridge::PendingRequest> {
    let mut all = Vec::new();
    env.client()
        .list_pending(token, &options, &tokio_util::sync::CancellationToken::new(), |page| all.extend(page))
        .await
        .expect("listing works");
    all
}
