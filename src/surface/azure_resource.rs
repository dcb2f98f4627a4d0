//! Azure resource roles, over Azure Resource Manager: requests are listed per scope with
//! `asApprover()`, and approvals have stages nested in `properties`. ARM has no JSON batching.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use super::api::{
    DecisionForm, DecisionRoute, Facts, ListQuery, SurfaceApi, body_bytes, keep_waiting, non_empty, schedule_and_ticket,
};
use crate::error::Result;
use crate::http::paging::Page;
use crate::http::urls::{Service, Urls};
use crate::model::{PendingRequest, Surface};
use crate::options::ListOptions;
use crate::validate::{ArmApprovalId, arm_scope};
use crate::wire::{Approval, ApprovalStep, ReviewBody, ScheduleInfo, TicketInfo};

const LIST_API: &str = "2020-10-01";
const APPROVAL_API: &str = "2021-01-01-preview";
/// Statuses that still wait for an approver.
const PENDING: &[&str] = &["PendingApproval", "PendingApprovalProvisioning", "PendingAdminDecision"];

pub(crate) struct AzureResources;

/// ARM checks no delegated scopes of ours (its own role assignments decide), and has no batching.
const FACTS: Facts =
    Facts { name: "AzureResource", service: Service::Arm, read_scopes: &[], decide_scopes: &[], batch_version: None };

impl SurfaceApi for AzureResources {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    /// Azure approval ids are resource paths; no other surface's ids start with `/`.
    fn owns_id_shape(&self, approval_id: &str) -> bool {
        approval_id.starts_with('/')
    }

    /// ARM expands names in `expandedProperties` by itself, and pages by its own `nextLink`.
    fn list_url(&self, urls: &Urls, options: &ListOptions, _query: ListQuery) -> Result<Url> {
        let scope = arm_scope(options.arm_scope.as_deref().unwrap_or(""))?;
        let segments = scope.iter().map(String::as_str).chain([
            "providers",
            "Microsoft.Authorization",
            "roleAssignmentScheduleRequests",
        ]);
        Ok(urls.arm(segments, LIST_API, Some("asApprover()")))
    }

    fn read_page(&self, body: &[u8]) -> serde_json::Result<Page<PendingRequest>> {
        let page: ArmPage<ArmRequest> = serde_json::from_slice(body)?;
        Ok((keep_waiting(page.value, ArmRequest::status, PENDING, to_pending), page.next_link))
    }

    fn decision_route(&self, urls: &Urls, approval_id: &str, review: &ReviewBody) -> Result<DecisionRoute> {
        let id = ArmApprovalId::parse(approval_id)?;
        let (wrapped, top) = (body_bytes(&ArmReviewBody { properties: review })?, body_bytes(review)?);
        Ok(DecisionRoute {
            approval: urls.arm(id.segments(), APPROVAL_API, None),
            steps: urls.arm(id.segments().chain(["stages"]), APPROVAL_API, None),
            // First the form EasyPIM reports working and the spec's PUT example shows (PUT, the
            // body in `properties`); then the others Microsoft publishes (the PATCH example, the
            // Entra how-to's top-level body): docs/service-fidelity.md, A3.
            forms: vec![
                DecisionForm { method: Method::PUT, body: wrapped.clone(), wrapped: true },
                DecisionForm { method: Method::PATCH, body: wrapped, wrapped: true },
                DecisionForm { method: Method::PUT, body: top.clone(), wrapped: false },
                DecisionForm { method: Method::PATCH, body: top, wrapped: false },
            ],
        })
    }

    /// ARM's approval has no principal and its id no scope: the requests made for the signed-in
    /// user (`asTarget()`, at the tenant root) are asked for, and the one of this approval is looked for.
    fn principal_lookup(&self, urls: &Urls, approval_id: &str) -> Result<Url> {
        ArmApprovalId::parse(approval_id)?;
        let segments = ["providers", "Microsoft.Authorization", "roleAssignmentScheduleRequests"];
        Ok(urls.arm(segments, LIST_API, Some("asTarget()")))
    }

    fn read_principals(&self, body: &[u8], approval_id: &str) -> serde_json::Result<Page<String>> {
        let page: ArmPage<ArmRequest> = serde_json::from_slice(body)?;
        let last = |p: &str| p.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
        let wanted = last(approval_id);
        let principals = page
            .value
            .into_iter()
            .filter_map(|r| r.properties)
            .filter(|p| p.approval_id.as_deref().is_some_and(|a| last(a) == wanted))
            .filter_map(|p| non_empty(p.principal_id))
            .collect();
        Ok((principals, page.next_link))
    }

    /// ARM nests the stages in `properties`: flattened into Graph's shape.
    fn read_approval(&self, body: &[u8]) -> serde_json::Result<Approval> {
        serde_json::from_slice::<ArmApproval>(body).map(Approval::from)
    }
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
/// `properties`. A stage is addressed by the last segment of its `id`: its `name` may differ
/// (the spec's `GetRoleAssignmentApprovalById.json` example), and is never used.
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
    /// Not the stage's address: the published example's `name` differs from its id's last segment.
    pub name: Option<String>,
    pub properties: Option<ApprovalStep>,
}

impl ArmStage {
    /// The stage's own id, as its decision URL takes it: the last segment of its `id`. Empty (and
    /// so refused as not a plain id) when the service sent no `id`.
    pub fn stage_id(&self) -> String {
        self.id.as_deref().and_then(|p| p.trim_end_matches('/').rsplit('/').next()).unwrap_or_default().to_string()
    }
}

impl From<ArmApproval> for Approval {
    /// ARM's nesting flattened into the shape Graph uses, so one rule picks the step to decide.
    fn from(a: ArmApproval) -> Approval {
        let stages = a
            .properties
            .unwrap_or_default()
            .stages
            .into_iter()
            .map(|s| ApprovalStep { id: s.stage_id(), ..s.properties.unwrap_or_default() })
            .collect();
        Approval { id: String::new(), steps: None, stages: Some(stages) }
    }
}

impl ArmRequest {
    fn status(&self) -> Option<&str> {
        self.properties.as_ref().and_then(|p| p.status.as_deref())
    }
}

/// ARM wraps the review body in `properties`.
#[derive(Debug, Serialize)]
pub struct ArmReviewBody<'a> {
    pub properties: &'a ReviewBody<'a>,
}

/// A listed request as the model. ARM names the request by `name` (the last segment of its id).
pub fn to_pending(r: ArmRequest) -> PendingRequest {
    let props = r.properties.unwrap_or_default();
    let expanded = props.expanded_properties.unwrap_or_default();
    let principal = expanded.principal.unwrap_or_default();
    let role = expanded.role_definition.unwrap_or_default();
    let scope = expanded.scope.unwrap_or_default();
    let request_id = non_empty(r.name)
        .or_else(|| r.id.as_deref().and_then(|i| i.rsplit('/').next()).map(str::to_string))
        .unwrap_or_default();
    let approval_id = non_empty(props.approval_id).unwrap_or_else(|| request_id.clone());
    let mut p = PendingRequest::new(Surface::AzureResource, approval_id, request_id);
    p.principal_id = non_empty(props.principal_id).or(principal.id);
    p.principal_name = non_empty(principal.display_name);
    p.principal_upn = non_empty(principal.email);
    p.role_id = non_empty(props.role_definition_id).or(role.id);
    p.role_name = non_empty(role.display_name);
    p.scope_id = non_empty(props.scope).or(scope.id);
    p.scope_name = non_empty(scope.display_name);
    p.justification = props.justification;
    p.created_at = non_empty(props.created_on);
    p.action = non_empty(props.request_type);
    p.status = non_empty(props.status);
    schedule_and_ticket(&mut p, props.schedule_info, props.ticket_info);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_stage_is_addressed_by_its_id_never_its_name() {
        // As the spec's GetRoleAssignmentApprovalById.json example: name differs from the id's segment.
        let a: ArmApproval = serde_json::from_str(
            r#"{"properties":{"stages":[
                {"id":"/providers/Microsoft.Authorization/roleAssignmentApprovals/x/stages/4135f961-be78-4005-8101-c72a5af307a2",
                 "name":"fa73e90b-5bf1-45fd-a182-35ce5fc0674d",
                 "properties":{"status":"InProgress","assignedToMe":true,"reviewResult":"NotReviewed"}},
                {"name":"only-a-name","properties":{"status":"InProgress","assignedToMe":true,"reviewResult":"NotReviewed"}}]}}"#,
        )
        .unwrap();
        let flat: Approval = a.into();
        let ids: Vec<&str> = flat.steps().iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["4135f961-be78-4005-8101-c72a5af307a2", ""], "a stage without an id has no address");
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
}
