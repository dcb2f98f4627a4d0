//! Serde types for the shapes every surface shares: Graph's page, schedule, ticket, approval with
//! its steps, the review body and the error body (ARM uses the same schedule, ticket, step and
//! error shapes). They ignore unknown fields, keep unknown enum values as text, and accept `null`
//! wherever the service may send it. Each surface's own request types live in its `surface/` file.

use serde::{Deserialize, Serialize};

/// A page of a Graph collection.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
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

    /// The step (stage) to send a decision to: one open for me ([`ApprovalStep::is_open_for_me`]),
    /// an `InProgress` one first when there are several.
    pub fn step_open_for_me(&self) -> Option<&ApprovalStep> {
        let open = || self.steps().iter().filter(|s| s.is_open_for_me());
        open().find(|s| eq(s.status.as_deref(), "InProgress")).or_else(|| open().next())
    }

    /// Where the step open for me ([`Approval::step_open_for_me`], the one a decision would go
    /// to) stands: its position among the steps, from 1, and how many steps there are, in the
    /// order the service lists them. `None` when no step is open for me.
    pub fn stage_of_mine(&self) -> Option<(usize, usize)> {
        let open = self.step_open_for_me()?;
        let n = self.steps().iter().position(|s| std::ptr::eq(s, open))?;
        Some((n + 1, self.steps().len()))
    }
}

/// Step statuses that plainly say a step is over, whatever its review result: `Expired` is in
/// every published step/stage enum (Graph beta `approvalStep`, v1.0 `approvalStage`, ARM); the
/// others are no stage enum's but could only mean the same.
const OVER: &[&str] = &["Expired", "TimedOut", "Canceled", "Cancelled"];

/// Statuses of a step that expired unanswered.
const EXPIRED: &[&str] = &["Expired", "TimedOut"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ApprovalStep {
    pub id: String,
    pub status: Option<String>,
    pub assigned_to_me: Option<bool>,
    pub review_result: Option<String>,
    /// Who reviewed: a list of identities (beta) or one identity (ARM); only searched for an id.
    pub reviewed_by: Option<serde_json::Value>,
    /// When it was reviewed, as the service wrote it.
    pub reviewed_date_time: Option<String>,
    pub justification: Option<String>,
}

impl ApprovalStep {
    /// Open for me: assigned to me and not reviewed, whatever its status says, unless the status
    /// plainly says the step is over ([`ApprovalStep::is_over`]). The status is not required to be
    /// `InProgress`: the one published PIM-for-Groups approver answer shows the stage waiting on
    /// the approver as `Completed` with `NotReviewed` and `assignedToMe: true`
    /// (`docs/service-fidelity.md`, "The open-step rule"). A status that the service would not
    /// take a decision in is left to the service to refuse.
    pub fn is_open_for_me(&self) -> bool {
        self.assigned_to_me == Some(true) && self.is_unreviewed() && !self.is_over()
    }

    /// Not reviewed yet: `reviewResult` is `NotReviewed` (any case).
    pub fn is_unreviewed(&self) -> bool {
        eq(self.review_result.as_deref(), "NotReviewed")
    }

    /// Its status plainly says it is over (expired, timed out, cancelled).
    pub fn is_over(&self) -> bool {
        OVER.iter().any(|s| eq(self.status.as_deref(), s))
    }

    /// It expired unanswered: `Expired` (or `TimedOut`), and never reviewed.
    pub fn is_expired(&self) -> bool {
        self.is_unreviewed() && EXPIRED.iter().any(|s| eq(self.status.as_deref(), s))
    }
}

/// Case-insensitive comparison of an optional enum value (Graph mixes `selfActivate` and `SelfActivate`).
pub fn eq(value: Option<&str>, expected: &str) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case(expected))
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

    #[test]
    fn a_step_is_open_when_mine_and_unreviewed_whatever_its_status_unless_over() {
        let a: Approval = serde_json::from_str(
            r#"{"id":"x","steps":[
                {"id":"completed-waiting","status":"Completed","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"not-mine","status":"inProgress","assignedToMe":false,"reviewResult":"notReviewed"},
                {"id":"in-progress","status":"INPROGRESS","assignedToMe":true,"reviewResult":"notreviewed"},
                {"id":"escalating","status":"Escalating","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"no-status","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"expired","status":"Expired","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"timed-out","status":"timedOut","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"canceled","status":"Canceled","assignedToMe":true,"reviewResult":"NotReviewed"},
                {"id":"decided","status":"Completed","assignedToMe":true,"reviewResult":"Approve"},
                {"id":"no-result","status":"InProgress","assignedToMe":true},
                {"id":"unassigned","status":"InProgress","reviewResult":"NotReviewed"}]}"#,
        )
        .unwrap();
        let open: Vec<&str> = a.steps().iter().filter(|s| s.is_open_for_me()).map(|s| s.id.as_str()).collect();
        assert_eq!(open, ["completed-waiting", "in-progress", "escalating", "no-status"]);
        assert_eq!(a.step_open_for_me().map(|s| s.id.as_str()), Some("in-progress"), "InProgress first");
        let expired: Vec<&str> = a.steps().iter().filter(|s| s.is_expired()).map(|s| s.id.as_str()).collect();
        assert_eq!(expired, ["expired", "timed-out"]);
        assert_eq!(a.stage_of_mine(), Some((3, 11)), "the open step's place among all, from 1");
        let v1: Approval = serde_json::from_str(r#"{"id":"x","stages":[{"id":"s"}]}"#).unwrap();
        assert_eq!(v1.stage_of_mine(), None);
        assert_eq!(v1.steps().len(), 1);
        assert!(v1.step_open_for_me().is_none());
    }

    #[test]
    fn the_published_group_stage_waiting_as_completed_is_open() {
        // gdc api-reference/beta/api/approval-filterbycurrentuser.md, Example 2 (stage id = approval id).
        let a: Approval = serde_json::from_str(
            r#"{"id":"46bc634a-0696-43c5-bc99-d568bc3c27f5","stages":[{"id":"46bc634a-0696-43c5-bc99-d568bc3c27f5",
                "displayName":null,"reviewedDateTime":null,"reviewResult":"NotReviewed","status":"Completed",
                "assignedToMe":true,"justification":"","reviewedBy":null}]}"#,
        )
        .unwrap();
        assert_eq!(a.step_open_for_me().map(|s| s.id.as_str()), Some("46bc634a-0696-43c5-bc99-d568bc3c27f5"));
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
