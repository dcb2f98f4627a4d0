//! Serde types that mirror Graph's JSON. They ignore unknown fields, keep unknown enum values as
//! text, and accept `null` wherever Graph may send it. Nothing outside `graph` and `model` uses them.

use serde::{Deserialize, Serialize};

/// A page of a Graph collection.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// `unifiedRoleAssignmentScheduleRequest`, with `principal` and `roleDefinition` expanded.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleRequest {
    pub id: String,
    pub approval_id: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub principal_id: Option<String>,
    pub role_definition_id: Option<String>,
    pub directory_scope_id: Option<String>,
    pub justification: Option<String>,
    pub created_date_time: Option<String>,
    pub schedule_info: Option<ScheduleInfo>,
    pub ticket_info: Option<TicketInfo>,
    pub principal: Option<DirectoryObject>,
    pub role_definition: Option<DirectoryObject>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleInfo {
    pub start_date_time: Option<String>,
    pub expiration: Option<Expiration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Expiration {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub end_date_time: Option<String>,
    pub duration: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TicketInfo {
    pub ticket_number: Option<String>,
    pub ticket_system: Option<String>,
}

/// `privilegedAccessGroupAssignmentScheduleRequest`, with `group` and `principal` expanded.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupRequest {
    pub id: String,
    pub approval_id: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub principal_id: Option<String>,
    pub group_id: Option<String>,
    /// `member` or `owner`.
    pub access_id: Option<String>,
    pub justification: Option<String>,
    pub created_date_time: Option<String>,
    pub schedule_info: Option<ScheduleInfo>,
    pub ticket_info: Option<TicketInfo>,
    pub principal: Option<DirectoryObject>,
    pub group: Option<DirectoryObject>,
}

/// A page of an ARM collection: `nextLink`, not `@odata.nextLink`.
#[derive(Debug, Deserialize)]
pub struct ArmPage<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "nextLink", default)]
    pub next_link: Option<String>,
}

/// ARM `RoleAssignmentScheduleRequest`: `{id, name, type, properties}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ArmRequest {
    pub id: Option<String>,
    pub name: Option<String>,
    pub properties: Option<ArmRequestProperties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArmRequestProperties {
    pub scope: Option<String>,
    pub role_definition_id: Option<String>,
    pub principal_id: Option<String>,
    pub request_type: Option<String>,
    pub status: Option<String>,
    /// Often a full resource path (`/providers/Microsoft.Authorization/roleAssignmentApprovals/{guid}`).
    pub approval_id: Option<String>,
    pub schedule_info: Option<ScheduleInfo>,
    pub justification: Option<String>,
    pub ticket_info: Option<TicketInfo>,
    pub created_on: Option<String>,
    pub expanded_properties: Option<ArmExpanded>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArmExpanded {
    pub scope: Option<ArmNamed>,
    pub role_definition: Option<ArmNamed>,
    pub principal: Option<ArmNamed>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ArmNamed {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// ARM `roleAssignmentApproval`: the stages sit in `properties`, each stage's fields in its own
/// `properties`, and its id is its `name`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ArmApproval {
    pub properties: Option<ArmApprovalProperties>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ArmApprovalProperties {
    pub stages: Vec<ArmStage>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ArmStage {
    pub id: Option<String>,
    pub name: Option<String>,
    pub properties: Option<ApprovalStep>,
}

impl From<ArmApproval> for Approval {
    /// ARM's nesting flattened into the shape Graph uses, so one rule picks the step to decide.
    fn from(a: ArmApproval) -> Approval {
        let stages = a
            .properties
            .unwrap_or_default()
            .stages
            .into_iter()
            .map(|s| {
                let id = s
                    .name
                    .or_else(|| s.id.as_deref().and_then(|p| p.rsplit('/').next()).map(str::to_string))
                    .unwrap_or_default();
                ApprovalStep { id, ..s.properties.unwrap_or_default() }
            })
            .collect();
        Approval { id: String::new(), steps: None, stages: Some(stages) }
    }
}

/// An expanded user, group, service principal or role definition: only the names matter here.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryObject {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
}

/// `approval` with its steps (beta) or stages (v1.0).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Approval {
    pub id: String,
    pub steps: Option<Vec<ApprovalStep>>,
    pub stages: Option<Vec<ApprovalStep>>,
}

impl Approval {
    /// Steps and stages are the same thing under two names.
    pub fn steps(&self) -> &[ApprovalStep] {
        self.steps.as_deref().or(self.stages.as_deref()).unwrap_or(&[])
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApprovalStep {
    pub id: String,
    pub status: Option<String>,
    pub assigned_to_me: Option<bool>,
    pub review_result: Option<String>,
    /// Who reviewed: a list of identities (beta) or one identity (ARM); only searched for an id.
    pub reviewed_by: Option<serde_json::Value>,
    pub justification: Option<String>,
}

impl ApprovalStep {
    /// Mine, not yet reviewed, and in progress. Status alone is not trusted (a Groups example
    /// shows a stage `Completed` yet `NotReviewed`), so all three are required.
    pub fn is_open_for_me(&self) -> bool {
        self.assigned_to_me == Some(true) && self.is_unreviewed() && eq(self.status.as_deref(), "InProgress")
    }

    pub fn is_unreviewed(&self) -> bool {
        eq(self.review_result.as_deref(), "NotReviewed")
    }
}

/// Case-insensitive comparison of an optional enum value (Graph mixes `selfActivate` and `SelfActivate`).
pub fn eq(value: Option<&str>, expected: &str) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case(expected))
}

/// ARM wraps the same body in `properties`.
#[derive(Debug, Serialize)]
pub struct ArmReviewBody<'a> {
    pub properties: ReviewBody<'a>,
}

/// The body of a step/stage decision, always built by the serializer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewBody<'a> {
    pub review_result: &'a str,
    pub justification: &'a str,
}

/// Graph's error body: `{"error": {"code", "message", "innerError": {"request-id"}}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorBody {
    pub error: Option<ErrorDetail>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    pub code: Option<String>,
    pub message: Option<String>,
    #[serde(rename = "innerError", alias = "innererror")]
    pub inner_error: Option<InnerError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InnerError {
    #[serde(rename = "request-id")]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The response of a real tenant, as `graph-pim-api.md` and the article show it.
    pub const REAL_RESPONSE: &str = r#"{ "value": [ { "justification": "need to create an app registration for project x", "targetScheduleId": "929cd687-a296-4f77-bdbc-b7cc22d3517e", "status": "PendingApproval", "isValidationOnly": false, "roleDefinitionId": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "completedDateTime": "2021-07-19T08:49:49.603Z", "createdDateTime": "2021-07-19T08:49:49.78Z", "appScopeId": null, "scheduleInfo": { "startDateTime": null, "expiration": { "type": "afterDuration", "endDateTime": null, "duration": "P1D" }, "recurrence": null }, "customData": null, "directoryScopeId": "/", "principalId": "fb0cf6ad-f076-419a-909e-d8751e8ae93c", "id": "929cd687-a296-4f77-bdbc-b7cc22d3517e", "approvalId": "929cd687-a296-4f77-bdbc-b7cc22d3517e", "action": "SelfActivate", "ticketInfo": { "ticketSystem": "", "ticketNumber": "" }, "createdBy": { "user": { "id": "fb0cf6ad-f076-419a-909e-d8751e8ae93c", "displayName": null }, "application": null, "device": null } } ], "@odata.context": "https://graph.microsoft.com/beta/$metadata#roleManagement/directory/roleAssignmentScheduleRequests" }"#;

    #[test]
    fn the_real_response_parses() {
        let page: Page<RoleRequest> = serde_json::from_str(REAL_RESPONSE).unwrap();
        assert_eq!(page.value.len(), 1);
        let r = &page.value[0];
        assert_eq!(r.approval_id.as_deref(), Some("929cd687-a296-4f77-bdbc-b7cc22d3517e"));
        assert!(eq(r.action.as_deref(), "selfActivate"));
        let exp = r.schedule_info.as_ref().unwrap().expiration.as_ref().unwrap();
        assert_eq!(exp.duration.as_deref(), Some("P1D"));
        assert!(page.next_link.is_none());
    }

    #[test]
    fn unknown_fields_values_and_nulls_are_tolerated() {
        let page: Page<RoleRequest> = serde_json::from_str(
            r#"{"value":[{"id":"a","status":"SomethingNew","action":"futureAction","brandNew":{"x":1},
                "scheduleInfo":null,"ticketInfo":null,"principal":null}],"@odata.nextLink":"https://x/next"}"#,
        )
        .unwrap();
        assert_eq!(page.value[0].status.as_deref(), Some("SomethingNew"));
        assert_eq!(page.next_link.as_deref(), Some("https://x/next"));
        let empty: Page<RoleRequest> = serde_json::from_str(r#"{"value":[]}"#).unwrap();
        assert!(empty.value.is_empty());
    }

    #[test]
    fn steps_are_chosen_case_insensitively_and_by_all_three_fields() {
        let a: Approval = serde_json::from_str(
            r#"{"id":"x","steps":[
                {"id":"1","status":"Completed","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"2","status":"inProgress","assignedToMe":false,"reviewResult":"notReviewed"},
                {"id":"3","status":"INPROGRESS","assignedToMe":true,"reviewResult":"notreviewed"}]}"#,
        )
        .unwrap();
        let open: Vec<&str> = a.steps().iter().filter(|s| s.is_open_for_me()).map(|s| s.id.as_str()).collect();
        assert_eq!(open, ["3"]);
        let v1: Approval = serde_json::from_str(r#"{"id":"x","stages":[{"id":"s"}]}"#).unwrap();
        assert_eq!(v1.steps().len(), 1);
    }

    #[test]
    fn arm_approvals_flatten_to_steps() {
        let a: ArmApproval = serde_json::from_str(
            r#"{"id":"/providers/Microsoft.Authorization/roleAssignmentApprovals/x","properties":{"stages":[
                {"id":"/providers/Microsoft.Authorization/roleAssignmentApprovals/x/stages/s1","name":"s1","type":"t",
                 "properties":{"status":"InProgress","assignedToMe":true,"reviewResult":"NotReviewed","newField":1}},
                {"id":"/providers/Microsoft.Authorization/roleAssignmentApprovals/x/stages/s2",
                 "properties":{"status":"Escalated","assignedToMe":false,"reviewResult":"NotReviewed"}}]}}"#,
        )
        .unwrap();
        let flat: Approval = a.into();
        let ids: Vec<&str> = flat.steps().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["s1", "s2"]);
        assert!(flat.steps()[0].is_open_for_me());
    }

    #[test]
    fn arm_requests_parse_with_expanded_names() {
        let page: ArmPage<ArmRequest> = serde_json::from_str(
            r#"{"value":[{"id":"/subscriptions/s/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/r","name":"r",
              "properties":{"scope":"/subscriptions/s","status":"PendingApprovalProvisioning","requestType":"SelfActivate",
              "approvalId":"/providers/Microsoft.Authorization/roleAssignmentApprovals/r",
              "expandedProperties":{"scope":{"displayName":"Prod"},"roleDefinition":{"displayName":"Owner"},
              "principal":{"displayName":"Jo","email":"jo@x"}}}}],"nextLink":"https://management.azure.com/next"}"#,
        )
        .unwrap();
        let p = page.value[0].properties.as_ref().unwrap();
        assert_eq!(p.expanded_properties.as_ref().unwrap().principal.as_ref().unwrap().email.as_deref(), Some("jo@x"));
        assert_eq!(page.next_link.as_deref(), Some("https://management.azure.com/next"));
    }

    #[test]
    fn the_review_body_is_serialized_not_concatenated() {
        let j = "He said \"ok\"\nO'Brien \\ Zürich";
        let body = serde_json::to_string(&ReviewBody { review_result: "Approve", justification: j }).unwrap();
        let back: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(back["justification"], j);
        assert_eq!(back["reviewResult"], "Approve");
    }

    #[test]
    fn error_bodies_parse_with_either_casing() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"error":{"code":"Conflict","message":"m","innerError":{"request-id":"r1","date":"d"}}}"#,
        )
        .unwrap();
        let d = e.error.unwrap();
        assert_eq!(d.code.as_deref(), Some("Conflict"));
        assert_eq!(d.inner_error.unwrap().request_id.as_deref(), Some("r1"));
        let e2: ErrorBody = serde_json::from_str(r#"{"error":{"code":"X","innererror":{"request-id":"r2"}}}"#).unwrap();
        assert_eq!(e2.error.unwrap().inner_error.unwrap().request_id.as_deref(), Some("r2"));
        let e3: ErrorBody = serde_json::from_str(r#"{"error":null}"#).unwrap();
        assert!(e3.error.is_none());
    }
}
