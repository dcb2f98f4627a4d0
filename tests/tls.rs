//! Certificate validation is always on and uses the operating system's trust store (what a
//! corporate TLS-inspecting proxy's CA is added to): an https emulator whose certificate is signed
//! by a CA made at start is refused until that CA is trusted, here through SSL_CERT_FILE.
//! A redirect from https down to http is refused. (One test in its own binary: it changes the
//! process's environment.)

use pim_bridge::{AccessToken, ClientOptions, ErrorKind, ListOptions, PimClient};
use pim_emulator::{Config, Scenario};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn an_https_emulator_is_refused_until_its_ca_is_trusted() {
    let emu = pim_emulator::start("127.0.0.1:0", Config { scenario: Scenario::Demo, tls: true, ..Config::default() })
        .await
        .unwrap();
    assert!(emu.base_url.starts_with("https://"));
    let ca = emu.ca_pem.clone().unwrap();
    // The test's own helper trusts the CA explicitly, to mint a token and read the stats.
    let helper = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let minted: Value =
        helper.post(format!("{}/_emulator/token", emu.base_url)).send().await.unwrap().json().await.unwrap();
    let token = AccessToken::new(minted["access_token"].as_str().unwrap()).unwrap();
    let options = || {
        ClientOptions::from_json(Some(&json!({"graphUri": emu.base_url, "retry": {"baseDelayMs": 10}}).to_string()))
            .unwrap()
    };
    let list = |client: PimClient| {
        let token = token.clone();
        async move {
            let mut n = 0;
            client
                .list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |p| n += p.len())
                .await
                .map(|_| n)
        }
    };

    // Not trusted: refused at the handshake, before any request is sent.
    let e = list(PimClient::new(options()).unwrap()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "{}", e.message);
    assert!(e.message.to_ascii_lowercase().contains("certificate"), "{}", e.message);
    let stats: Value =
        helper.get(format!("{}/_emulator/stats", emu.base_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["httpRequests"], 0, "nothing reached the service");

    // Trusted, as an administrator adds a proxy's CA to the system store: it works.
    let dir = std::env::temp_dir().join(format!("pim-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    // SAFETY: this test binary has this one test, so no other thread reads the environment now.
    unsafe { std::env::set_var("SSL_CERT_FILE", &ca_file) };
    let n = list(PimClient::new(options()).unwrap()).await.unwrap();
    assert_eq!(n, 6);

    // And a redirect from https down to plain http is refused, nothing sent there.
    let plain =
        pim_emulator::start("127.0.0.1:0", Config { scenario: Scenario::Demo, ..Config::default() }).await.unwrap();
    helper
        .post(format!("{}/_emulator/redirect", emu.base_url))
        .json(&json!({ "to": plain.base_url }))
        .send()
        .await
        .unwrap();
    let e = list(PimClient::new(options()).unwrap()).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "{}", e.message);
    assert!(e.message.contains("https to http"), "{}", e.message);
    let stats: Value = reqwest::get(format!("{}/_emulator/stats", plain.base_url)).await.unwrap().json().await.unwrap();
    assert_eq!(stats["httpRequests"], 0, "nothing went to the http host");
    let _ = std::fs::remove_dir_all(dir);
}
