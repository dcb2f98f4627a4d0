//! The policy: the example in docs/ over requests of every surface, every way a document is
//! refused, the approver's own requests, windows across time zones and daylight saving, ages, and
//! the same through the C ABI.

use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};

use jiff::Timestamp;
use pim_bridge::ffi::*;
use pim_bridge::policy::{Action, Context, Evaluation, Policy, RequestFacts};
use pim_bridge::{ErrorKind, PendingRequest, Surface};
use serde_json::{Value, json};

const ME: &str = "99999999-9999-9999-9999-999999999999";
const DEV_SUB: &str = "/subscriptions/11111111-2222-3333-4444-555555555555";

fn example() -> Policy {
    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/example-policy.json")).unwrap();
    Policy::from_json(&json, Some("docs/example-policy.json"), false).unwrap()
}

/// Monday 4 May 2026, 09:30 in Berlin (UTC+2).
fn monday_morning() -> Timestamp {
    "2026-05-04T07:30:00Z".parse().unwrap()
}

/// A request in the model's JSON shape, created an hour before Monday morning.
fn request(surface: &str, id: &str, fields: Value) -> Value {
    let mut r = json!({
        "surface": surface, "approvalId": id, "requestId": id,
        "principalId": "11111111-0000-0000-0000-000000000001", "principalUpn": "alice@contoso.com",
        "principalName": "Alice", "createdAt": "2026-05-04T06:30:00Z", "duration": "PT2H",
        "durationSeconds": 7200.0, "status": "PendingApproval"
    });
    for (k, v) in fields.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn evaluate(policy: &Policy, r: &Value, now: Timestamp) -> Evaluation {
    let facts: RequestFacts = serde_json::from_value(r.clone()).unwrap();
    policy.evaluate(&facts, &Context::new(ME, now))
}

fn decided(e: &Evaluation) -> (Option<&str>, Action) {
    (e.rule.as_deref(), e.action)
}

#[test]
fn the_example_policy_decides_a_mixed_tenant_as_expected() {
    let p = example();
    let finance = json!({"roleName": "Member", "scopeId": "f1", "scopeName": "Finance Payroll",
                         "groupId": "f1", "groupName": "Finance Payroll", "accessType": "member"});
    let with = |base: &Value, extra: Value| {
        let mut b = base.clone();
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let dev_reader = json!({"roleName": "Reader", "scopeId": format!("{DEV_SUB}/resourceGroups/app"),
                            "scopeName": "app", "justification": "Debugging INC123456", "duration": "PT4H",
                            "durationSeconds": 14400.0});
    let cases: Vec<(Value, Option<&str>, Action)> = vec![
        (
            request("DirectoryRole", "a1", json!({"roleName": "Global Administrator", "scopeId": "/"})),
            Some("no-global-admin"),
            Action::Deny,
        ),
        (request("Group", "g1", finance.clone()), Some("finance-members"), Action::Approve),
        (
            request("Group", "g2", with(&finance, json!({"duration": "P1D", "durationSeconds": 86400.0}))),
            None,
            Action::Skip,
        ),
        (request("Group", "g3", with(&finance, json!({"roleName": "Owner"}))), None, Action::Skip),
        (
            request(
                "Group",
                "g4",
                with(&finance, json!({"principalUpn": "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"})),
            ),
            Some("guests-need-a-person"),
            Action::Skip,
        ),
        (
            request(
                "DirectoryRole",
                "h1",
                json!({"roleName": "Helpdesk Administrator", "ticketSystem": "ServiceNow",
                                                "ticketNumber": "INC0042"}),
            ),
            Some("ticketed-helpdesk"),
            Action::Approve,
        ),
        (request("DirectoryRole", "h2", json!({"roleName": "Helpdesk Administrator"})), None, Action::Skip),
        (
            request(
                "DirectoryRole",
                "h3",
                json!({"roleName": "helpdesk administrator", "ticketSystem": "Jira",
                                                "ticketNumber": "J-1"}),
            ),
            None,
            Action::Skip,
        ),
        (
            request(
                "AzureResource",
                "/providers/Microsoft.Authorization/roleAssignmentApprovals/r1",
                dev_reader.clone(),
            ),
            Some("dev-readers-office-hours"),
            Action::Approve,
        ),
        (
            request(
                "AzureResource",
                "r2",
                with(&dev_reader, json!({"scopeId": "/subscriptions/11111111-2222-3333-4444-5555555555556"})),
            ),
            None,
            Action::Skip,
        ),
        (request("AzureResource", "r3", with(&dev_reader, json!({"justification": "because"}))), None, Action::Skip),
        (request("AzureResource", "r4", with(&dev_reader, json!({"roleName": "Owner"}))), None, Action::Skip),
        (
            request("DirectoryRole", "s1", json!({"roleName": "Security Reader", "createdAt": "2026-05-03T09:00:00Z"})),
            Some("stale"),
            Action::Deny,
        ),
    ];
    for (r, rule, action) in &cases {
        let e = evaluate(&p, r, monday_morning());
        assert_eq!(decided(&e), (*rule, *action), "{}: {}\n{:#?}", r["approvalId"], e.summary, e.reasons);
        assert_eq!(e.justification.is_some(), *action != Action::Skip);
    }
    let ticket = evaluate(&p, &cases[5].0, monday_morning());
    assert_eq!(ticket.justification.as_deref(), Some("Ticket INC0042 checked by policy ticketed-helpdesk"));
    let reader = evaluate(&p, &cases[8].0, monday_morning());
    assert_eq!(
        reader.justification.as_deref(),
        Some("Approved by policy dev-readers-office-hours for alice@contoso.com on app")
    );
    // The same Azure request on Saturday, or on Monday at 19:00 in Berlin: outside the window.
    for now in ["2026-05-09T08:00:00Z", "2026-05-04T17:00:00Z"] {
        let later = request("AzureResource", "r5", with(&dev_reader, json!({"createdAt": now})));
        assert_eq!(decided(&evaluate(&p, &later, now.parse().unwrap())), (None, Action::Skip), "{now}");
    }
}

#[test]
fn the_why_names_each_condition_of_each_rule_tried() {
    let p = example();
    let r = request(
        "Group",
        "g1",
        json!({"roleName": "Member", "scopeName": "Finance", "duration": "P1D",
                                          "durationSeconds": 86400.0}),
    );
    let e = evaluate(&p, &r, monday_morning());
    let finance: Vec<_> = e.reasons.iter().filter(|x| x.rule == "finance-members").collect();
    let held: Vec<(&str, bool)> = finance.iter().map(|x| (x.condition.as_str(), x.held)).collect();
    assert_eq!(held, [("Surface", true), ("Role", true), ("Scope", true), ("MaxDuration", false)]);
    assert_eq!(finance[3].detail, "duration P1D is longer than PT4H");
    assert_eq!(finance[1].detail, "role 'Member' matches 'Member'");
    assert!(e.reasons.iter().any(|x| x.rule == "no-global-admin" && !x.held));
    assert_eq!(e.summary, "No rule matched (6 tried): a person decides.");
}

#[test]
fn the_approvers_own_request_is_never_decided_by_a_rule() {
    let p = example();
    let mine = request(
        "Group",
        "g1",
        json!({"roleName": "Member", "scopeName": "Finance",
                                             "principalId": ME.to_uppercase()}),
    );
    let e = evaluate(&p, &mine, monday_morning());
    assert_eq!(decided(&e), (Some("finance-members"), Action::Skip));
    assert_eq!(e.justification, None);
    let last = e.reasons.last().unwrap();
    assert_eq!((last.condition.as_str(), last.held), ("OwnRequest", false));
    assert!(e.summary.contains("approver's own"), "{}", e.summary);
    // Denials too, and a request that names no principal cannot be shown not to be mine.
    let mut ga = request("DirectoryRole", "a1", json!({"roleName": "Global Administrator", "principalId": ME}));
    assert_eq!(decided(&evaluate(&p, &ga, monday_morning())), (Some("no-global-admin"), Action::Skip));
    ga["principalId"] = Value::Null;
    assert_eq!(decided(&evaluate(&p, &ga, monday_morning())), (Some("no-global-admin"), Action::Skip));
}

fn refused(json: &str) -> String {
    let err = Policy::from_json(json, Some("policy.psd1"), false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidPolicy);
    err.message
}

#[test]
fn every_bad_document_is_refused_naming_the_file_the_rule_and_the_key() {
    let rule = |extra: &str| {
        format!(
            r#"{{"Rules": [{{"Name": "ok", "Role": "Reader", "Action": "Skip"}}, {{"Name": "r2", "Action": "Deny", "Justification": "j"{extra}}}]}}"#
        )
    };
    let cases = [
        (r#"{"Rules": [ {"Name": "a",  }"#.to_string(), "Policy 'policy.psd1': document: it does not parse as JSON"),
        (rule(r#", "Rol": "x""#), "rule 2 ('r2'), key 'Rol': 'Rol' is not a key (known: Name, Action"),
        (
            rule(r#", "role": "x""#),
            "rule 2 ('r2'), key 'role': 'role' is not a key; keys are written exactly: did you mean 'Role'?",
        ),
        (
            rule(r#", "TicketNumber": "INC(""#),
            "rule 2 ('r2'), key 'TicketNumber': 'INC(' is not a valid regular expression",
        ),
        (rule(r#", "MaxDuration": "PT4""#), "rule 2 ('r2'), key 'MaxDuration': 'PT4' is not an ISO 8601 duration"),
        (rule(r#", "OlderThan": "P1M""#), "key 'OlderThan': 'P1M' is not an ISO 8601 duration"),
        (
            rule(r#", "TicketRequired": "yes""#),
            "key 'TicketRequired': must be $true or $false (a JSON boolean), not a string",
        ),
        (rule(r#", "Role": 42"#), "key 'Role': must be a string or a list of strings, not a number"),
        (rule(r#", "Role": []"#), "key 'Role': an empty list matches nothing"),
        (rule(r#", "Surface": "Teams""#), "key 'Surface': 'Teams' is not a surface"),
        (
            rule(r#", "Window": {"Days": "Mon-Fri", "TimeZone": "Europe/Atlantis"}"#),
            "rule 2 ('r2'), key 'Window.TimeZone': Window.TimeZone 'Europe/Atlantis' is not a known time zone",
        ),
        (rule(r#", "Window": {"Days": "Mon-Fri", "Hours": "8 to 6", "TimeZone": "UTC"}"#), "key 'Window.Hours'"),
        (rule(r#", "Window": "System.Collections.Hashtable""#), "key 'Window': Window must be an object"),
        (rule(r#", "Role": "System.Collections.Hashtable""#), "ConvertTo-Json -Depth"),
        (rule(r#", "Justification": "{Ticket}""#), "key 'Justification': the key is given twice"),
        (
            r#"{"Rules": [{"Name": "a", "Action": "Deny", "Justification": "Denied by {Tiket}"}]}"#.to_string(),
            "rule 1 ('a'), key 'Justification': '{Tiket}' is not a placeholder",
        ),
        (
            r#"{"Rules": [{"Name": "a", "Action": "Approve", "Role": "x"}]}"#.to_string(),
            "rule 1 ('a'), key 'Justification': an Approve or Deny rule needs a Justification",
        ),
        (
            r#"{"Rules": [{"Name": "a", "Action": "Allow", "Role": "x"}]}"#.to_string(),
            "rule 1 ('a'), key 'Action': 'Allow' is not an action: Approve, Deny or Skip",
        ),
        (r#"{"Rules": [{"Action": "Skip", "Role": "x"}]}"#.to_string(), "rule 1, key 'Name': every rule needs a Name"),
        (
            r#"{"Rules": [{"Name": "Same", "Action": "Skip"}, {"Name": "same", "Action": "Skip"}]}"#.to_string(),
            "rule 2 ('same'), key 'Name': rule 1 has the same name",
        ),
        (r#"{"Rules": [{"Name": "a", "Action": "Skip"}], "Rulez": []}"#.to_string(), "document, key 'Rulez'"),
        (r#"{"Rule": []}"#.to_string(), "key 'Rules': the document has no Rules"),
        (r#"[1, 2]"#.to_string(), "it must be an object with a Rules list, not a list"),
    ];
    for (json, expected) in cases {
        let m = refused(&json);
        assert!(m.starts_with("Policy 'policy.psd1'"), "{m}");
        assert!(m.contains(expected), "expected «{expected}» in «{m}»");
    }
}

#[test]
fn several_problems_are_listed_one_per_line() {
    let m = refused(r#"{"Rules": [{"Name": "a", "Action": "Nope", "MaxDuration": "x"}, {"Name": "b"}]}"#);
    assert!(m.starts_with("Policy 'policy.psd1' has 3 problems:\n"), "{m}");
    assert_eq!(m.lines().count(), 4, "{m}");
}

#[test]
fn a_rule_that_approves_everything_needs_force() {
    for rule in [
        r#"{"Name": "yes", "Action": "Approve", "Justification": "ok"}"#,
        r#"{"Name": "yes", "Action": "Approve", "Justification": "ok", "Role": "*", "Surface": ["Group", "DirectoryRole", "AzureResource"]}"#,
        r#"{"Name": "yes", "Action": "Approve", "Justification": "ok", "RequestJustification": ".*", "TicketRequired": false}"#,
    ] {
        let doc = format!(r#"{{"Rules": [{rule}]}}"#);
        assert!(refused(&doc).contains("would approve every request"), "{rule}");
        let p = Policy::from_json(&doc, None, true).unwrap();
        let any = request("AzureResource", "x", json!({"roleName": "Owner"}));
        assert_eq!(evaluate(&p, &any, monday_morning()).action, Action::Approve);
    }
    // An unconditional Deny or Skip is fine: it sends no access.
    assert!(
        Policy::from_json(r#"{"Rules": [{"Name": "no", "Action": "Deny", "Justification": "no"}]}"#, None, false)
            .is_ok()
    );
}

#[test]
fn windows_hold_in_their_own_zone_across_daylight_saving() {
    let doc = |tz: &str| {
        format!(
            r#"{{"Rules": [{{"Name": "w", "Action": "Skip", "Window": {{"Days": "Mon-Fri", "Hours": "08:00-18:00", "TimeZone": "{tz}"}}}}]}}"#
        )
    };
    let held = |tz: &str, now: &str| {
        let p = Policy::from_json(&doc(tz), None, false).unwrap();
        let e = evaluate(&p, &request("Group", "g", json!({})), now.parse().unwrap());
        e.rule.is_some()
    };
    // New York: EST (UTC-5) until 8 March 2026, EDT (UTC-4) after.
    assert!(held("America/New_York", "2026-03-06T13:30:00Z"), "Friday 08:30 EST");
    assert!(!held("America/New_York", "2026-03-09T11:30:00Z"), "Monday 07:30 EDT");
    assert!(held("America/New_York", "2026-03-09T12:30:00Z"), "Monday 08:30 EDT");
    assert!(held("Eastern Standard Time", "2026-03-09T12:30:00Z"), "the Windows id");
    // Berlin changes three weeks later (29 March): 06:30Z is 07:30 CET before, 08:30 CEST after.
    assert!(!held("Europe/Berlin", "2026-03-27T06:30:00Z"), "Friday 07:30 CET");
    assert!(held("Europe/Berlin", "2026-03-30T06:30:00Z"), "Monday 08:30 CEST");
    assert!(!held("Europe/Berlin", "2026-03-30T16:30:00Z"), "Monday 18:30 CEST");
    // Tokyo has no daylight saving; Monday 08:00 there is Sunday 23:00 UTC.
    assert!(held("Asia/Tokyo", "2026-05-03T23:00:00Z"));
    assert!(!held("UTC", "2026-05-03T23:00:00Z"), "Sunday in UTC");
}

#[test]
fn requested_within_and_older_than_measure_from_created_at_to_now() {
    let p = Policy::from_json(
        r#"{"Rules": [{"Name": "fresh", "RequestedWithin": "PT1H", "Action": "Skip"},
                       {"Name": "old", "OlderThan": "P1D", "Action": "Skip"}]}"#,
        None,
        false,
    )
    .unwrap();
    let at = |created: &str| {
        let mut r = request("Group", "g", json!({}));
        r["createdAt"] = json!(created);
        evaluate(&p, &r, "2026-05-04T12:00:00Z".parse().unwrap()).rule
    };
    assert_eq!(at("2026-05-04T11:30:00Z").as_deref(), Some("fresh"));
    assert_eq!(at("2026-05-04T09:00:00Z"), None);
    assert_eq!(at("2026-05-03T11:00:00Z").as_deref(), Some("old"));
    let e = {
        let mut r = request("Group", "g", json!({}));
        r["createdAt"] = Value::Null;
        evaluate(&p, &r, monday_morning())
    };
    assert_eq!(e.reasons[0].detail, "the request has no creation time");
}

#[test]
fn max_duration_refuses_requests_without_an_end() {
    let p =
        Policy::from_json(r#"{"Rules": [{"Name": "short", "MaxDuration": "PT8H", "Action": "Skip"}]}"#, None, false)
            .unwrap();
    let mut r = request("AzureResource", "x", json!({}));
    for k in ["duration", "durationSeconds"] {
        r[k] = Value::Null;
    }
    assert_eq!(evaluate(&p, &r, monday_morning()).rule, None);
    r["startsAt"] = json!("2026-05-04T08:00:00Z");
    r["endsAt"] = json!("2026-05-04T12:00:00Z");
    assert_eq!(evaluate(&p, &r, monday_morning()).rule.as_deref(), Some("short"));
}

#[test]
fn a_model_request_evaluates_as_its_json_does() {
    let mut p = PendingRequest::new(Surface::Group, "g1".into(), "g1".into());
    p.role_name = Some("Member".into());
    p.group_name = Some("Finance EU".into());
    p.principal_id = Some("someone".into());
    p.duration_seconds = Some(3600.0);
    let e = example().evaluate(&RequestFacts::from(&p), &Context::new(ME, monday_morning()));
    assert_eq!(decided(&e), (Some("finance-members"), Action::Approve));
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn take(s: *mut c_char) -> String {
    let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_string();
    pim_string_free(s);
    text
}

#[test]
fn the_c_abi_loads_evaluates_and_refuses() {
    let json = c(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/example-policy.json")).unwrap());
    let mut policy = null_mut();
    assert_eq!(unsafe { pim_policy_load(json.as_ptr(), null(), false, &mut policy, null_mut()) }, PimResult::Ok);
    let requests = c(&json!([
        request("Group", "g1", json!({"roleName": "Member", "scopeName": "Finance"})),
        request("DirectoryRole", "a1", json!({"roleName": "Global Administrator"}))
    ])
    .to_string());
    let context = c(&json!({"callerId": ME, "now": "2026-05-04T07:30:00Z"}).to_string());
    let mut out = null_mut();
    let rc = unsafe { pim_policy_evaluate(policy, requests.as_ptr(), context.as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::Ok);
    let v: Value = serde_json::from_str(&take(out)).unwrap();
    assert_eq!(v[0]["action"], "Approve");
    assert_eq!(v[0]["rule"], "finance-members");
    assert_eq!(v[0]["justification"], "Approved by policy finance-members");
    assert_eq!(v[1]["action"], "Deny");
    assert_eq!(
        v[1]["reasons"][0],
        json!({"rule": "no-global-admin", "condition": "Role", "held": true,
                                          "detail": "role 'Global Administrator' matches 'Global Administrator'"})
    );

    // Bad context, bad requests, a NULL, a freed handle.
    let mut err = null_mut();
    let rc = unsafe { pim_policy_evaluate(policy, requests.as_ptr(), c("{}").as_ptr(), &mut out, &mut err) };
    assert_eq!(rc, PimResult::InvalidInput);
    pim_error_free(err);
    let rc = unsafe { pim_policy_evaluate(policy, c("[1]").as_ptr(), context.as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::InvalidInput);
    let rc = unsafe { pim_policy_evaluate(policy, null(), context.as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::NullParameter);
    pim_policy_free(policy);
    let rc = unsafe { pim_policy_evaluate(policy, requests.as_ptr(), context.as_ptr(), &mut out, null_mut()) };
    assert_eq!(rc, PimResult::InvalidHandle);
    pim_policy_free(policy);
    pim_policy_free(null_mut());

    let bad = c(r#"{"Rules": [{"Name": "x", "Action": "Approve", "Justification": "ok"}]}"#);
    let mut err = null_mut();
    let rc = unsafe { pim_policy_load(bad.as_ptr(), c("p.json").as_ptr(), false, &mut policy, &mut err) };
    assert_eq!(rc, PimResult::InvalidPolicy);
    assert_eq!(rc as u32, 7300);
    let message = unsafe { CStr::from_ptr(pim_error_message(err)) }.to_str().unwrap().to_string();
    assert!(message.starts_with("Policy 'p.json': rule 1 ('x'):"), "{message}");
    assert_eq!(unsafe { CStr::from_ptr(pim_error_kind(err)) }.to_str().unwrap(), "InvalidPolicy");
    pim_error_free(err);
    assert_eq!(unsafe { pim_policy_load(bad.as_ptr(), null(), true, &mut policy, null_mut()) }, PimResult::Ok);
    pim_policy_free(policy);
}

#[cfg(feature = "test-panic")]
#[test]
fn a_panic_in_policy_load_stays_behind_the_boundary() {
    let mut policy = null_mut();
    let rc = unsafe { pim_policy_load(c("{\"testPanic\":true}").as_ptr(), null(), false, &mut policy, null_mut()) };
    assert_eq!(rc, PimResult::Panic);
    assert!(policy.is_null());
}
