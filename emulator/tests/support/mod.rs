//! An emulator on port 0 and a small HTTP helper, shared by `fidelity.rs` and `conformance.rs`.

#![allow(dead_code)]

use pim_emulator::{Config, Running, Scenario};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub const MINE: &str =
    "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')";
pub const APPROVALS: &str = "/beta/roleManagement/directory/roleAssignmentApprovals";
pub const GROUPS: &str = "/v1.0/identityGovernance/privilegedAccess/group";
pub const BETA_GROUPS: &str = "/beta/identityGovernance/privilegedAccess/group";
pub const ARM_LIST: &str =
    "/providers/Microsoft.Authorization/roleAssignmentScheduleRequests?api-version=2020-10-01&$filter=asApprover()";
pub const ARM_VERSION: &str = "api-version=2021-01-01-preview";

pub struct Emu {
    pub emu: Running,
    pub http: Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

pub async fn start(scenario: Scenario, forms: &[&str]) -> Emu {
    start_with(Config { scenario, forms: forms.iter().map(|s| s.to_string()).collect(), ..Config::default() }).await
}

pub async fn start_with(config: Config) -> Emu {
    Emu { emu: pim_emulator::start("127.0.0.1:0", config).await.unwrap(), http: Client::new() }
}

impl Emu {
    pub async fn token(&self, body: Value) -> String {
        let v = self.call(Method::POST, "/_emulator/token", None, Some(body)).await;
        v.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn graph(&self) -> String {
        self.token(json!({})).await
    }

    pub async fn arm(&self) -> String {
        self.token(json!({"audience": "arm"})).await
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{}", self.emu.base_url, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Reply { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::Null), text }
    }

    /// GET that must answer 200.
    pub async fn get(&self, path: &str, token: &str) -> Value {
        let r = self.call(Method::GET, path, Some(token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        r.body
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, None, body).await
    }

    pub async fn decisions(&self) -> Vec<Value> {
        self.control(Method::GET, "/_emulator/decisions", None).await.body["value"].as_array().unwrap().clone()
    }

    pub async fn tenant(&self) -> Value {
        self.control(Method::GET, "/_emulator/tenant", None).await.body
    }

    pub async fn user(&self, nick: &str) -> String {
        let t = self.tenant().await;
        t["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["userPrincipalName"].as_str().unwrap().starts_with(&format!("{nick}@")))
            .map(|u| u["id"].as_str().unwrap().to_string())
            .unwrap()
    }
}

/// The last segment of an ARM id.
pub fn last_segment(id: &Value) -> String {
    id.as_str().unwrap().rsplit('/').next().unwrap().to_string()
}
