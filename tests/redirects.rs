//! Redirects: followed, but the token never goes to another host.

mod common;

use common::Env;
use pim_bridge::{ErrorKind, ListOptions};
use pim_emulator::Scenario;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_redirect_to_another_host_does_not_carry_the_token() {
    let a = Env::start(Scenario::Demo).await;
    let b = Env::start(Scenario::Demo).await;
    // "localhost" is another host than "127.0.0.1" as far as the Authorization header is concerned.
    let other = format!("http://localhost:{}", b.emulator.addr.port());
    a.http.post(format!("{}/_emulator/redirect", a.base())).json(&json!({ "to": other })).send().await.unwrap();
    let e = a
        .client()
        .list_pending(&a.token().await, &ListOptions::default(), &CancellationToken::new(), |_| {})
        .await
        .unwrap_err();
    // B answered, and what it got had no token.
    assert_eq!((e.kind, e.http_status), (ErrorKind::InvalidToken, 401));
    assert!(e.message.contains("Access token is empty."), "{}", e.message);
    let stats: Value = b.http.get(format!("{}/_emulator/stats", b.base())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["httpRequests"], 1);
    assert!(a.decisions().await.is_empty() && b.decisions().await.is_empty());
}
