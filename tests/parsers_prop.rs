//! Property tests: random JSON shapes and random text thrown at every parser must never panic
//! (an error is fine; a panic would be caught at the C boundary, but must not happen at all).

use pim_bridge::surface::{azure_resource, directory_role, group};
use pim_bridge::time::iso8601_seconds;
use pim_bridge::token::TokenInfo;
use pim_bridge::validate::{ApprovalId, ArmApprovalId, Justification, arm_scope, service_uri};
use pim_bridge::wire;
use pim_bridge::{ClientOptions, ListOptions};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Arbitrary JSON, biased towards the field names the parsers look for.
fn json() -> impl Strategy<Value = Value> {
    let names = prop_oneof![
        Just("id".to_string()),
        Just("value".to_string()),
        Just("status".to_string()),
        Just("steps".to_string()),
        Just("stages".to_string()),
        Just("properties".to_string()),
        Just("scheduleInfo".to_string()),
        Just("expiration".to_string()),
        Just("duration".to_string()),
        Just("principal".to_string()),
        Just("error".to_string()),
        Just("@odata.nextLink".to_string()),
        Just("expandedProperties".to_string()),
        "[a-zA-Z@.]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        "P[0-9TDHMSW.]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn wire_types_never_panic(v in json()) {
        if let Ok(page) = serde_json::from_value::<wire::Page<directory_role::RoleRequest>>(v.clone()) {
            for r in page.value { let _ = directory_role::to_pending(r); }
        }
        if let Ok(page) = serde_json::from_value::<wire::Page<group::GroupRequest>>(v.clone()) {
            for r in page.value { let _ = group::to_pending(r); }
        }
        if let Ok(page) = serde_json::from_value::<azure_resource::ArmPage<azure_resource::ArmRequest>>(v.clone()) {
            for r in page.value { let _ = azure_resource::to_pending(r); }
        }
        if let Ok(a) = serde_json::from_value::<wire::Approval>(v.clone()) {
            let _ = a.steps().iter().filter(|s| s.is_open_for_me()).count();
        }
        if let Ok(a) = serde_json::from_value::<azure_resource::ArmApproval>(v.clone()) {
            let flat: wire::Approval = a.into();
            let _ = flat.steps().len();
        }
        let _ = serde_json::from_value::<wire::ErrorBody>(v.clone());
        let text = v.to_string();
        let _ = ClientOptions::from_json(Some(&text));
        let _ = ListOptions::from_json(Some(&text));
    }

    #[test]
    fn text_parsers_never_panic(s in ".{0,80}") {
        let _ = iso8601_seconds(&s);
        let _ = ApprovalId::parse(&s);
        let _ = ArmApprovalId::parse(&s);
        let _ = arm_scope(&s);
        let _ = Justification::parse(&s);
        let _ = service_uri(&s, "uri");
        let _ = TokenInfo::decode(&s);
        let _ = ClientOptions::from_json(Some(&s));
        let _ = pim_bridge::http::retry::parse_retry_after(&s, std::time::SystemTime::now());
    }

    #[test]
    fn token_claims_of_any_shape_never_panic(v in json(), header in "[A-Za-z0-9_-]{0,10}") {
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let token = format!("{header}.{payload}.sig");
        if let Some(info) = TokenInfo::decode(&token) {
            let _ = info.check_graph(&["A"], true);
            let _ = info.check_arm(true);
        }
    }
}
