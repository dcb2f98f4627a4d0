//! The command line as architecture.md fixes it: flags, the first output line, a seed file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_where_it_listens_then_serves_the_seed() {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/real-response.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pim-emulator"))
        .args(["--listen", "127.0.0.1:0", "--scenario", "empty", "--latency-ms", "1", "--seed-file", seed])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening ").expect("first line is `listening URL`").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let count = rt.block_on(async {
        let c = reqwest::Client::new();
        let tok: serde_json::Value =
            c.post(format!("{base}/_emulator/token")).send().await.unwrap().json().await.unwrap();
        let v: serde_json::Value = c
            .get(format!(
                "{base}/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')"
            ))
            .bearer_auth(tok["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["value"].as_array().unwrap().len()
    });
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(count, 1);
}

#[test]
fn refuses_a_bad_scenario_and_a_missing_seed_file() {
    let bad = Command::new(env!("CARGO_BIN_EXE_pim-emulator")).args(["--scenario", "lots"]).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scenario"));
    let missing =
        Command::new(env!("CARGO_BIN_EXE_pim-emulator")).args(["--seed-file", "/nonexistent.json"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("seed file"));
}

#[test]
fn reports_the_fault_seed_and_refuses_a_bad_schedule() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pim-emulator"))
        .args(["--scenario", "empty", "--fail-rate", "0.5", "--fault-seed", "4242"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(line.contains("fault seed 4242"), "{line}");
    let bad = Command::new(env!("CARGO_BIN_EXE_pim-emulator"))
        .args(["--scenario", "empty", "--fault-schedule", "throttle@write:0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("throttle@write:0"));
}

#[test]
fn takes_forms_and_refuses_an_unknown_one() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pim-emulator"))
        .args(["--scenario", "empty", "--form", "group.stageId=own", "--form", "replication=reads:2"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening ").expect("first line is `listening URL`").to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let forms: serde_json::Value =
        rt.block_on(async { reqwest::get(format!("{base}/_emulator/forms")).await.unwrap().json().await.unwrap() });
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!((forms["group.stageId"].as_str(), forms["replication"].as_str()), (Some("own"), Some("reads:2")));
    let bad =
        Command::new(env!("CARGO_BIN_EXE_pim-emulator")).args(["--form", "group.stageId=maybe"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("group.stageId"));
    let help = Command::new(env!("CARGO_BIN_EXE_pim-emulator")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for key in pim_emulator::forms::KEYS {
        assert!(help.contains(key), "--help names the form {key}");
    }
}
