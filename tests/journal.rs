//! The decision log: the chain after appends, each kind of tampering found at its exact line, a
//! torn last line, processes appending at once, intents without outcomes, filters, where the log
//! is, and the same through the C ABI.

use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::ptr::{null, null_mut};

use pim_bridge::ffi::*;
use pim_bridge::journal::{
    self, BreakReason, DecisionLog, Event, Filter, GENESIS, LogSource, Platform, resolve_path_with, sha256_hex,
};
use pim_bridge::{ErrorKind, Review, Surface};
use serde_json::{Value, json};

/// A fresh folder under the target directory, removed first if a previous run left it.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("journal").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn intent(id: &str) -> Event {
    let mut e = Event::intent(Surface::Group, id, Review::Approve);
    e.tenant = Some("contoso".into());
    e.principal = Some("alice@contoso.com".into());
    e.role = Some("Member".into());
    e.scope = Some("Finance".into());
    e.justification = Some("Approved by policy finance".into());
    e.rule = Some("finance".into());
    e
}

fn outcome(id: &str, result: &str) -> Event {
    let mut e = intent(id);
    e.kind = Some(journal::Kind::Outcome);
    e.result = Some(result.into());
    e.request_id = Some(format!("req-{id}"));
    e
}

/// A log of six lines: three decisions, each an intent and its outcome.
fn six_lines(name: &str) -> PathBuf {
    let path = scratch(name).join("logs").join("decisions.jsonl");
    let log = DecisionLog::open(&path).unwrap();
    for id in ["a", "b", "c"] {
        log.append(&intent(id)).unwrap();
        log.append(&outcome(id, "Approved")).unwrap();
    }
    path
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

fn rewrite(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

#[test]
fn many_appended_at_once_chain_as_one_by_one_and_an_invalid_one_writes_none() {
    let path = scratch("many").join("decisions.jsonl");
    let log = DecisionLog::open(&path).unwrap();
    log.append(&intent("a")).unwrap();
    let written = log.append_many(&[intent("b"), intent("c"), outcome("a", "Approved")]).unwrap();
    assert_eq!(written.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
    let raw = lines(&path);
    assert_eq!(raw.len(), 4);
    for i in 1..raw.len() {
        let v: Value = serde_json::from_str(&raw[i]).unwrap();
        assert_eq!(v["prev"], sha256_hex(raw[i - 1].as_bytes()));
        assert_eq!(v["seq"], i as u64 + 1);
    }
    let mut bad = intent("e");
    bad.action = Some("Maybe".into());
    let err = log.append_many(&[intent("d"), bad]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(log.append_many(&[]).unwrap_err().kind, ErrorKind::InvalidInput);
    assert_eq!(lines(&path).len(), 4, "nothing written when one event is refused");
    let v = journal::verify(&path).unwrap();
    assert!(v.is_valid, "{v:?}");
}

#[test]
fn appended_lines_chain_and_verify() {
    let path = six_lines("chain");
    let raw = lines(&path);
    assert_eq!(raw.len(), 6);
    let first: Value = serde_json::from_str(&raw[0]).unwrap();
    assert_eq!(first["prev"], GENESIS);
    assert_eq!(first["seq"], 1);
    assert_eq!(first["kind"], "intent");
    assert_eq!(first["result"], Value::Null);
    for i in 1..raw.len() {
        let v: Value = serde_json::from_str(&raw[i]).unwrap();
        assert_eq!(v["prev"], sha256_hex(raw[i - 1].as_bytes()));
        assert_eq!(v["seq"], i as u64 + 1);
    }
    let time = first["time"].as_str().unwrap();
    assert!(time.ends_with('Z') && time.parse::<jiff::Timestamp>().is_ok(), "{time}");
    let v = journal::verify(&path).unwrap();
    assert!(v.is_valid, "{v:?}");
    assert_eq!((v.lines, v.first_broken_line, v.reason), (6, None, None));
    assert_eq!(v.last_hash.as_deref(), Some(sha256_hex(raw[5].as_bytes()).as_str()));
}

fn broken(path: &Path) -> (Option<u64>, Option<BreakReason>) {
    let v = journal::verify(path).unwrap();
    assert!(!v.is_valid);
    (v.first_broken_line, v.reason)
}

#[test]
fn an_edited_line_is_found() {
    let path = six_lines("edited");
    let mut raw = lines(&path);
    raw[2] = raw[2].replace("Approved by policy finance", "Approved by policy finance!");
    rewrite(&path, &raw);
    assert_eq!(broken(&path), (Some(3), Some(BreakReason::Altered)));
}

#[test]
fn a_deleted_line_is_found() {
    let path = six_lines("deleted");
    let mut raw = lines(&path);
    raw.remove(2);
    rewrite(&path, &raw);
    assert_eq!(broken(&path), (Some(3), Some(BreakReason::DeletedOrReordered)));
}

#[test]
fn reordered_lines_are_found() {
    let path = six_lines("reordered");
    let mut raw = lines(&path);
    raw.swap(3, 4);
    rewrite(&path, &raw);
    assert_eq!(broken(&path), (Some(4), Some(BreakReason::DeletedOrReordered)));
}

#[test]
fn a_line_that_is_not_json_is_found() {
    let path = six_lines("garbage");
    let mut raw = lines(&path);
    raw[4] = "garbage".into();
    rewrite(&path, &raw);
    assert_eq!(broken(&path), (Some(5), Some(BreakReason::NotJson)));
    // The readers pass it over.
    assert_eq!(journal::read(&path, &Filter::default()).unwrap().len(), 5);
}

#[test]
fn a_torn_last_line_is_reported_and_nothing_is_appended_after_it() {
    let path = six_lines("torn");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
    let v = journal::verify(&path).unwrap();
    assert_eq!((v.is_valid, v.lines, v.first_broken_line, v.reason), (false, 6, Some(6), Some(BreakReason::Torn)));
    let err = DecisionLog::open(&path).unwrap().append(&intent("d")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::LogTampered);
    assert!(err.message.contains("torn line"), "{}", err.message);
    assert_eq!(std::fs::read(&path).unwrap().len(), bytes.len() - 20, "nothing appended");
}

#[test]
fn long_lines_chain_across_read_blocks() {
    let path = scratch("long").join("decisions.jsonl");
    let log = DecisionLog::open(&path).unwrap();
    for i in 0..5 {
        let mut e = intent(&format!("id{i}"));
        e.justification = Some("x".repeat(3990) + &"é".repeat(i * 700));
        log.append(&e).unwrap();
    }
    assert!(lines(&path).iter().all(|l| l.len() > 4000));
    assert!(journal::verify(&path).unwrap().is_valid);
}

#[test]
fn folders_read_only_files_and_missing_logs_give_their_own_errors() {
    let dir = scratch("errors");
    std::fs::create_dir_all(&dir).unwrap();
    let e = DecisionLog::open(&dir).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LogWriteFailed);
    assert!(e.message.contains("is a folder"), "{}", e.message);
    let ro = dir.join("ro.jsonl");
    std::fs::write(&ro, "").unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&ro, perms).unwrap();
    let e = DecisionLog::open(&ro).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LogWriteFailed);
    assert!(e.message.contains("read-only"), "{}", e.message);
    let e = journal::verify(&dir.join("none.jsonl")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::LogReadFailed);
    assert_eq!(journal::read(&dir, &Filter::default()).unwrap_err().kind, ErrorKind::LogReadFailed);
    let foreign = dir.join("foreign.txt");
    std::fs::write(&foreign, "not a log\n").unwrap();
    assert_eq!(DecisionLog::open(&foreign).unwrap().append(&intent("x")).unwrap_err().kind, ErrorKind::LogTampered);
}

#[test]
fn an_intent_without_an_outcome_shows_as_unknown() {
    let path = scratch("unknown").join("decisions.jsonl");
    let log = DecisionLog::open(&path).unwrap();
    log.append(&intent("a")).unwrap();
    log.append(&intent("b")).unwrap();
    log.append(&outcome("a", "Approved")).unwrap();
    log.append(&intent("c")).unwrap();
    let mut failed = outcome("c", "Failed");
    failed.error = Some("AlreadyDecided".into());
    log.append(&failed).unwrap();
    // The process "crashed" after b's intent; later c was tried again and that intent also lost.
    log.append(&intent("c")).unwrap();

    let all = journal::decisions(&path, &Filter::default()).unwrap();
    let summary: Vec<(&str, &str, Option<u64>, Option<u64>)> =
        all.iter().map(|d| (d.approval_id.as_str(), d.result.as_str(), d.intent_line, d.outcome_line)).collect();
    assert_eq!(
        summary,
        [
            ("a", "Approved", Some(1), Some(3)),
            ("b", "Unknown", Some(2), None),
            ("c", "Failed", Some(4), Some(5)),
            ("c", "Unknown", Some(6), None)
        ]
    );
    assert_eq!(all[2].error.as_deref(), Some("AlreadyDecided"));
    assert_eq!(all[0].request_id.as_deref(), Some("req-a"));

    let only = |f: Value| journal::decisions(&path, &serde_json::from_value::<Filter>(f).unwrap()).unwrap().len();
    assert_eq!(only(json!({"result": "unknown"})), 2);
    assert_eq!(only(json!({"approvalId": "C"})), 2);
    assert_eq!(only(json!({"rule": "Finance", "result": "Approved"})), 1);
    assert_eq!(only(json!({"from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"})), 4);
    assert_eq!(only(json!({"to": "2000-01-01T00:00:00Z"})), 0);
    let raw = journal::read(&path, &serde_json::from_value(json!({"approvalId": "c"})).unwrap()).unwrap();
    assert_eq!(raw.iter().map(|l| l.line).collect::<Vec<_>>(), [4, 5, 6]);
}

#[test]
fn the_logs_place_follows_parameter_environment_and_platform() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    };
    let home = env(&[("HOME", "/home/ann"), ("LOCALAPPDATA", "C:\\Users\\ann\\AppData\\Local")]);
    let at = |explicit: Option<&str>, e: &dyn Fn(&str) -> Option<String>, p: Platform| {
        let l = resolve_path_with(explicit, e, p).unwrap();
        (l.path.map(|p| p.display().to_string()), l.source)
    };
    let some = |s: &str, src| (Some(s.to_string()), src);
    assert_eq!(
        at(None, &home, Platform::Unix),
        some("/home/ann/.local/share/PimBridge/decisions.jsonl", LogSource::Default)
    );
    assert_eq!(
        at(None, &home, Platform::MacOs),
        some("/home/ann/Library/Application Support/PimBridge/decisions.jsonl", LogSource::Default)
    );
    assert_eq!(
        at(None, &home, Platform::Windows),
        some("C:\\Users\\ann\\AppData\\Local\\PimBridge\\decisions.jsonl", LogSource::Default)
    );
    let xdg = env(&[("HOME", "/home/ann"), ("XDG_DATA_HOME", "/data/ann")]);
    assert_eq!(at(None, &xdg, Platform::Unix), some("/data/ann/PimBridge/decisions.jsonl", LogSource::Default));
    let set = env(&[("HOME", "/home/ann"), ("PIMBRIDGE_DECISION_LOG", "/var/log/pim.jsonl")]);
    assert_eq!(at(None, &set, Platform::Unix), some("/var/log/pim.jsonl", LogSource::Environment));
    assert_eq!(at(Some("/tmp/x.jsonl"), &set, Platform::Unix), some("/tmp/x.jsonl", LogSource::Parameter));
    assert_eq!(at(Some("  "), &set, Platform::Unix), some("/var/log/pim.jsonl", LogSource::Environment));
    let off = env(&[("PIMBRIDGE_DECISION_LOG", "OFF")]);
    let l = resolve_path_with(None, &off, Platform::Unix).unwrap();
    assert_eq!((l.path, l.source, l.enabled), (None, LogSource::Environment, false));
    assert!(!resolve_path_with(Some("off"), &home, Platform::Windows).unwrap().enabled);
    let rel = resolve_path_with(Some("logs/x.jsonl"), &home, Platform::Unix).unwrap_err();
    assert_eq!(rel.kind, ErrorKind::InvalidInput);
    assert!(resolve_path_with(None, &env(&[]), Platform::Windows).unwrap_err().message.contains("LOCALAPPDATA"));
}

/// Set by `two_processes_appending_at_once_never_corrupt_the_chain` for its children.
const CHILD_ENV: &str = "PIM_JOURNAL_TEST_CHILD";
const PER_CHILD: usize = 150;

/// Not a test on its own: the child process the concurrency test starts (it does nothing
/// unless that test set the variable).
#[test]
fn child_appender() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (path, who) = spec.split_once('|').unwrap();
    let go = PathBuf::from(format!("{path}.go"));
    while !go.exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let log = DecisionLog::open(path).unwrap();
    for i in 0..PER_CHILD {
        log.append(&intent(&format!("{who}-{i}"))).unwrap();
        log.append(&outcome(&format!("{who}-{i}"), "Approved")).unwrap();
    }
}

#[test]
fn two_processes_appending_at_once_never_corrupt_the_chain() {
    let path = scratch("processes").join("decisions.jsonl");
    DecisionLog::open(&path).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2", "p3"]
        .iter()
        .map(|who| {
            Command::new(&exe)
                .args(["child_appender", "--exact", "--quiet", "--test-threads=1"])
                .env(CHILD_ENV, format!("{}|{who}", path.display()))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // And this process too, from two threads, once the children are going.
    std::fs::write(format!("{}.go", path.display()), "").unwrap();
    let log = DecisionLog::open(&path).unwrap();
    std::thread::scope(|s| {
        for who in ["t1", "t2"] {
            let log = log.clone();
            s.spawn(move || {
                for i in 0..PER_CHILD / 3 {
                    log.append(&intent(&format!("{who}-{i}"))).unwrap();
                }
            });
        }
    });
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let v = journal::verify(&path).unwrap();
    let expected = 3 * 2 * PER_CHILD + 2 * (PER_CHILD / 3);
    assert!(v.is_valid, "{v:?}");
    assert_eq!(v.lines as usize, expected);
    let all = journal::read(&path, &Filter::default()).unwrap();
    assert!(all.iter().enumerate().all(|(i, l)| l.entry.seq == i as u64 + 1 && l.line == i as u64 + 1));
    // The writers really did take turns line by line (so the lock, not luck, kept the chain).
    let writer = |l: &journal::Line| l.entry.approval_id.split('-').next().unwrap_or("").to_string();
    let switches = all.windows(2).filter(|w| writer(&w[0]) != writer(&w[1])).count();
    assert!(switches > 10, "the writers hardly overlapped ({switches} switches)");
    let decisions = journal::decisions(&path, &Filter::default()).unwrap();
    let approved = decisions.iter().filter(|d| d.result == "Approved").count();
    assert_eq!((approved, decisions.len() - approved), (3 * PER_CHILD, 2 * (PER_CHILD / 3)));
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn take(s: *mut c_char) -> Value {
    let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_string();
    pim_string_free(s);
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_c_abi_resolves_opens_appends_reads_and_verifies() {
    let path = scratch("ffi").join("decisions.jsonl");
    let p = c(&path.display().to_string());
    let mut out = null_mut();
    assert_eq!(unsafe { pim_log_resolve_path(p.as_ptr(), &mut out, null_mut()) }, PimResult::Ok);
    assert_eq!(take(out), json!({"path": path.display().to_string(), "source": "parameter", "enabled": true}));
    assert_eq!(unsafe { pim_log_resolve_path(c("off").as_ptr(), &mut out, null_mut()) }, PimResult::Ok);
    assert_eq!(take(out)["enabled"], false);

    let mut log = null_mut();
    assert_eq!(unsafe { pim_log_open(p.as_ptr(), &mut log, null_mut()) }, PimResult::Ok);
    let event = json!({"kind": "intent", "surface": "group", "approvalId": "g1", "action": "approve",
                       "tenant": "t", "principal": "alice@contoso.com", "rule": "finance"});
    assert_eq!(unsafe { pim_log_append(log, c(&event.to_string()).as_ptr(), &mut out, null_mut()) }, PimResult::Ok);
    let line = take(out);
    assert_eq!(
        (line["seq"].clone(), line["surface"].clone(), line["action"].clone()),
        (json!(1), json!("Group"), json!("Approve"))
    );
    assert_eq!(line["prev"], GENESIS);

    let mut err = null_mut();
    let token = json!({"kind": "intent", "surface": "Group", "approvalId": "g2", "action": "Approve",
                       "justification": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln"});
    let rc = unsafe { pim_log_append(log, c(&token.to_string()).as_ptr(), &mut out, &mut err) };
    assert_eq!(rc, PimResult::InvalidInput);
    pim_error_free(err);
    let unknown_key =
        json!({"kind": "intent", "surface": "Group", "approvalId": "g2", "action": "Approve", "token": "x"});
    let rc = unsafe { pim_log_append(log, c(&unknown_key.to_string()).as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::InvalidInput);

    assert_eq!(unsafe { pim_log_read(p.as_ptr(), null(), &mut out, null_mut()) }, PimResult::Ok);
    assert_eq!(take(out)[0]["line"], 1);
    assert_eq!(
        unsafe { pim_log_decisions(p.as_ptr(), c(r#"{"result": "Unknown"}"#).as_ptr(), &mut out, null_mut()) },
        PimResult::Ok
    );
    assert_eq!(take(out)[0]["approvalId"], "g1");
    assert_eq!(unsafe { pim_log_verify(p.as_ptr(), &mut out, null_mut()) }, PimResult::Ok);
    let v = take(out);
    assert_eq!((v["isValid"].clone(), v["lines"].clone(), v["reason"].clone()), (json!(true), json!(1), Value::Null));
    let rc = unsafe { pim_log_read(p.as_ptr(), c(r#"{"since": "x"}"#).as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::InvalidInput);

    let group = json!([
        {"kind": "intent", "surface": "Group", "approvalId": "g3", "action": "Approve"},
        {"kind": "intent", "surface": "Group", "approvalId": "g4", "action": "Approve"}
    ]);
    assert_eq!(
        unsafe { pim_log_append_many(log, c(&group.to_string()).as_ptr(), &mut out, null_mut()) },
        PimResult::Ok
    );
    let written = take(out);
    assert_eq!((written[0]["seq"].clone(), written[1]["seq"].clone()), (json!(2), json!(3)));
    let refused =
        json!([{"kind": "intent", "surface": "Group", "approvalId": "g5", "action": "Approve"}, {"kind": "intent"}]);
    let rc = unsafe { pim_log_append_many(log, c(&refused.to_string()).as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::InvalidInput);
    assert_eq!(unsafe { pim_log_verify(p.as_ptr(), &mut out, null_mut()) }, PimResult::Ok);
    assert_eq!(take(out)["lines"], 3, "the refused group wrote nothing");

    pim_log_free(log);
    assert_eq!(
        unsafe { pim_log_append(log, c(&event.to_string()).as_ptr(), &mut out, null_mut()) },
        PimResult::InvalidHandle
    );
    pim_log_free(log);
    let dir = c(&scratch("ffi-dir").display().to_string());
    std::fs::create_dir_all(scratch("ffi-dir")).unwrap();
    assert_eq!(unsafe { pim_log_open(dir.as_ptr(), &mut log, null_mut()) }, PimResult::LogWriteFailed);
    assert_eq!(
        unsafe { pim_log_verify(c("/nonexistent/pim.jsonl").as_ptr(), &mut out, null_mut()) },
        PimResult::LogReadFailed
    );
    assert_eq!(unsafe { pim_log_open(null(), &mut log, null_mut()) }, PimResult::NullParameter);
}
