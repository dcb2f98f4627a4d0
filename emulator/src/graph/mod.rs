//! Microsoft Graph routes for Entra directory roles and PIM for Groups (listing, reading and
//! creating schedule requests, reading and deciding approvals) and the directory look-ups that
//! scripts make around them.
//!
//! This file is the route table and how a path is resolved against it, as Graph does: segment
//! names without case, an unknown segment answered 400 "Resource not found for the segment", a
//! known path with a method it does not take answered 405. `spec` holds what differs by surface
//! and the token check, `list` the request collections, `approvals` reading and deciding approvals,
//! `create` the requester's side, `directory` the look-ups, `render` the JSON.

mod approvals;
mod create;
mod directory;
mod list;
mod render;
mod spec;

use axum::http::{Method, StatusCode};

use crate::answer::{Answer, Call};
use crate::app::App;
use list::Mine;
use spec::{DIRECTORY, GROUP};

/// One segment of a route.
#[derive(Clone, Copy)]
enum Seg {
    /// A name, matched without case.
    Lit(&'static str),
    /// A key (any text).
    Id,
    /// A function or alternate key, `name(...)`, matched without case.
    Fn(&'static str),
}

/// Which versions have a route.
#[derive(Clone, Copy, PartialEq)]
enum Ver {
    Both,
    V1,
    Beta,
    /// Beta, when the form `group.betaCollection=stages` names a beta group approval's stages so.
    BetaStages,
}

/// What a resolved path asks for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    DirList,
    DirMine,
    DirGet,
    DirCreate,
    DirApproval,
    DirSteps,
    DirStep,
    DirDecide,
    RoleDefinition,
    GroupList,
    GroupMine,
    GroupGet,
    GroupCreate,
    GroupApprovalsMine,
    GroupApproval,
    GroupStages,
    GroupStage,
    GroupDecide,
    User,
    Group,
    DirectoryObject,
    GetByIds,
    DirectoryRole,
    DirectoryRoleByTemplate,
}

use Seg::{Fn, Id, Lit};

const RM: Seg = Lit("roleManagement");
const DIR: Seg = Lit("directory");
const RASR: Seg = Lit("roleAssignmentScheduleRequests");
const RAA: Seg = Lit("roleAssignmentApprovals");
const IG: Seg = Lit("identityGovernance");
const PA: Seg = Lit("privilegedAccess");
const GRP: Seg = Lit("group");
const ASR: Seg = Lit("assignmentScheduleRequests");
const AA: Seg = Lit("assignmentApprovals");
const MINE: Seg = Fn("filterByCurrentUser");

/// Every Graph route the emulator serves; functions before keys, so that
/// `filterByCurrentUser(...)` is never taken for an id.
const ROUTES: &[(Ver, &[Seg], Method, Kind)] = &[
    (Ver::Both, &[RM, DIR, RASR], Method::GET, Kind::DirList),
    (Ver::Both, &[RM, DIR, RASR], Method::POST, Kind::DirCreate),
    (Ver::Both, &[RM, DIR, RASR, MINE], Method::GET, Kind::DirMine),
    (Ver::Both, &[RM, DIR, RASR, Id], Method::GET, Kind::DirGet),
    (Ver::Beta, &[RM, DIR, RAA, Id], Method::GET, Kind::DirApproval),
    (Ver::Beta, &[RM, DIR, RAA, Id, Lit("steps")], Method::GET, Kind::DirSteps),
    (Ver::Beta, &[RM, DIR, RAA, Id, Lit("steps"), Id], Method::GET, Kind::DirStep),
    (Ver::Beta, &[RM, DIR, RAA, Id, Lit("steps"), Id], Method::PATCH, Kind::DirDecide),
    (Ver::Both, &[RM, DIR, Lit("roleDefinitions"), Id], Method::GET, Kind::RoleDefinition),
    (Ver::Both, &[IG, PA, GRP, ASR], Method::GET, Kind::GroupList),
    (Ver::Both, &[IG, PA, GRP, ASR], Method::POST, Kind::GroupCreate),
    (Ver::Both, &[IG, PA, GRP, ASR, MINE], Method::GET, Kind::GroupMine),
    (Ver::Both, &[IG, PA, GRP, ASR, Id], Method::GET, Kind::GroupGet),
    (Ver::Both, &[IG, PA, GRP, AA, MINE], Method::GET, Kind::GroupApprovalsMine),
    (Ver::Both, &[IG, PA, GRP, AA, Id], Method::GET, Kind::GroupApproval),
    (Ver::V1, &[IG, PA, GRP, AA, Id, Lit("stages")], Method::GET, Kind::GroupStages),
    (Ver::V1, &[IG, PA, GRP, AA, Id, Lit("stages"), Id], Method::GET, Kind::GroupStage),
    (Ver::V1, &[IG, PA, GRP, AA, Id, Lit("stages"), Id], Method::PATCH, Kind::GroupDecide),
    (Ver::Beta, &[IG, PA, GRP, AA, Id, Lit("steps")], Method::GET, Kind::GroupStages),
    (Ver::Beta, &[IG, PA, GRP, AA, Id, Lit("steps"), Id], Method::GET, Kind::GroupStage),
    (Ver::Beta, &[IG, PA, GRP, AA, Id, Lit("steps"), Id], Method::PATCH, Kind::GroupDecide),
    (Ver::BetaStages, &[IG, PA, GRP, AA, Id, Lit("stages")], Method::GET, Kind::GroupStages),
    (Ver::BetaStages, &[IG, PA, GRP, AA, Id, Lit("stages"), Id], Method::GET, Kind::GroupStage),
    (Ver::BetaStages, &[IG, PA, GRP, AA, Id, Lit("stages"), Id], Method::PATCH, Kind::GroupDecide),
    (Ver::Both, &[Lit("users"), Id], Method::GET, Kind::User),
    (Ver::Both, &[Lit("groups"), Id], Method::GET, Kind::Group),
    (Ver::Both, &[Lit("directoryObjects"), Lit("getByIds")], Method::POST, Kind::GetByIds),
    (Ver::Both, &[Lit("directoryObjects"), Id], Method::GET, Kind::DirectoryObject),
    (Ver::Both, &[Fn("directoryRoles")], Method::GET, Kind::DirectoryRoleByTemplate),
    (Ver::Both, &[Lit("directoryRoles"), Id], Method::GET, Kind::DirectoryRole),
];

fn seg_matches(seg: &Seg, text: &str) -> bool {
    match seg {
        Lit(name) => name.eq_ignore_ascii_case(text),
        Id => !text.is_empty(),
        Fn(name) => {
            text.len() > name.len() + 1
                && text.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && text.as_bytes()[name.len()] == b'('
                && text.ends_with(')')
        }
    }
}

fn version_has(v: Ver, beta: bool, beta_stages: bool) -> bool {
    match v {
        Ver::Both => true,
        Ver::V1 => !beta,
        Ver::Beta => beta,
        Ver::BetaStages => beta && beta_stages,
    }
}

/// How a path resolved.
enum Resolved {
    Route(Kind),
    /// The path is known, the method is not (405).
    Method,
    /// No route has this segment here (400 "Resource not found for the segment").
    UnknownSegment(String),
    /// A known prefix that the emulator does not serve by itself (e.g. `/v1.0/users`).
    NotServed,
}

fn resolve(method: &Method, rest: &[&str], beta: bool, beta_stages: bool) -> Resolved {
    let routes = || ROUTES.iter().filter(|(v, ..)| version_has(*v, beta, beta_stages));
    let full = |path: &&[Seg]| path.len() == rest.len() && path.iter().zip(rest).all(|(s, t)| seg_matches(s, t));
    let mut known = false;
    for (_, path, m, kind) in routes() {
        if full(path) {
            if m == method {
                return Resolved::Route(*kind);
            }
            known = true;
        }
    }
    if known {
        return Resolved::Method;
    }
    for i in 0..rest.len() {
        let prefix_known =
            routes().any(|(_, path, ..)| path.len() > i && path[..=i].iter().zip(rest).all(|(s, t)| seg_matches(s, t)));
        if !prefix_known {
            return Resolved::UnknownSegment(rest[i].to_string());
        }
    }
    Resolved::NotServed
}

pub(crate) fn route(app: &App, call: &Call) -> Answer {
    let seg: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let version = seg.first().copied().unwrap_or_default();
    if version != "v1.0" && version != "beta" {
        return Answer::error("/*", StatusCode::NOT_FOUND, "NotFound", "Unsupported API version.");
    }
    let rest = &seg[1..];
    let beta = version == "beta";
    let forms = app.forms();
    let kind = match resolve(call.method, rest, beta, forms.group_beta_stages) {
        Resolved::Route(k) => k,
        Resolved::Method => {
            return Answer::error(
                "/{ver}/* (method not allowed)",
                StatusCode::METHOD_NOT_ALLOWED,
                "Request_BadRequest",
                "Specified HTTP method is not allowed for the request target.",
            );
        }
        Resolved::UnknownSegment(s) => {
            return Answer::error(
                "/{ver}/* (unknown segment)",
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Resource not found for the segment '{s}'."),
            );
        }
        Resolved::NotServed => {
            return Answer::error(
                "/*",
                StatusCode::NOT_FOUND,
                "UnknownError",
                format!("No route for {} {}: pim-emulator does not serve it.", call.method, call.segments.join("/")),
            );
        }
    };
    // The keys, by position: ids after their collection, the function's argument inside it.
    let id = |i: usize| rest.get(i).copied().unwrap_or_default();
    match kind {
        Kind::DirList => list::requests(app, call, &DIRECTORY, Mine::No),
        Kind::DirMine => match list::mine(id(3)) {
            Ok(m) => list::requests(app, call, &DIRECTORY, m),
            Err(a) => a.on(DIRECTORY.mine_route),
        },
        Kind::DirGet => list::one(app, call, &DIRECTORY, id(3)),
        Kind::DirCreate => create::request(app, call, &DIRECTORY),
        Kind::DirApproval => approvals::get(app, call, &DIRECTORY, id(3), approvals::Part::Whole),
        Kind::DirSteps => approvals::get(app, call, &DIRECTORY, id(3), approvals::Part::Steps),
        Kind::DirStep => approvals::get(app, call, &DIRECTORY, id(3), approvals::Part::Step(id(5))),
        Kind::DirDecide => approvals::decide(app, call, &DIRECTORY, id(3), id(5)),
        Kind::RoleDefinition => directory::role_definition(app, call, id(3)),
        Kind::GroupList => list::requests(app, call, &GROUP, Mine::No),
        Kind::GroupMine => match list::mine(id(4)) {
            Ok(m) => list::requests(app, call, &GROUP, m),
            Err(a) => a.on(GROUP.mine_route),
        },
        Kind::GroupGet => list::one(app, call, &GROUP, id(4)),
        Kind::GroupCreate => create::request(app, call, &GROUP),
        Kind::GroupApprovalsMine => approvals::mine(app, call, id(4)),
        Kind::GroupApproval => approvals::get(app, call, &GROUP, id(4), approvals::Part::Whole),
        Kind::GroupStages => approvals::get(app, call, &GROUP, id(4), approvals::Part::Steps),
        Kind::GroupStage => approvals::get(app, call, &GROUP, id(4), approvals::Part::Step(id(6))),
        Kind::GroupDecide => approvals::decide(app, call, &GROUP, id(4), id(6)),
        Kind::User => directory::user(app, call, id(1)),
        Kind::Group => directory::group(app, call, id(1)),
        Kind::DirectoryObject => directory::object(app, call, id(1)),
        Kind::GetByIds => directory::get_by_ids(app, call),
        Kind::DirectoryRole => directory::role(app, call, directory::RoleKey::Id(id(1))),
        Kind::DirectoryRoleByTemplate => directory::role(app, call, directory::RoleKey::Template(id(0))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(m: Method, path: &str, beta: bool) -> String {
        let rest: Vec<&str> = path.split('/').collect();
        match resolve(&m, &rest, beta, false) {
            Resolved::Route(k) => format!("{k:?}"),
            Resolved::Method => "405".into(),
            Resolved::UnknownSegment(s) => format!("400 {s}"),
            Resolved::NotServed => "404".into(),
        }
    }

    #[test]
    fn paths_resolve_as_graph_resolves_them() {
        assert_eq!(
            kind(Method::GET, "roleManagement/directory/roleAssignmentApprovals/x", false),
            "400 roleAssignmentApprovals"
        );
        assert_eq!(kind(Method::GET, "roleManagement/directory/roleAssignmentApprovals/x", true), "DirApproval");
        assert_eq!(kind(Method::GET, "RoleManagement/Directory/RoleAssignmentApprovals/x/Steps", true), "DirSteps");
        assert_eq!(kind(Method::DELETE, "roleManagement/directory/roleAssignmentApprovals/x", true), "405");
        assert_eq!(
            kind(
                Method::GET,
                "identityGovernance/privilegedAccess/group/assignmentApprovals/filterByCurrentUser(on='approver')",
                false
            ),
            "GroupApprovalsMine"
        );
        assert_eq!(
            kind(Method::PATCH, "identityGovernance/privilegedAccess/group/assignmentApprovals/a/steps/a", false),
            "400 steps"
        );
        assert_eq!(
            kind(Method::PATCH, "identityGovernance/privilegedAccess/group/assignmentApprovals/a/steps/a", true),
            "GroupDecide"
        );
        assert_eq!(kind(Method::GET, "identityRiskEvents", false), "400 identityRiskEvents");
        assert_eq!(kind(Method::GET, "users", false), "404");
        assert_eq!(kind(Method::GET, "directoryRoles(roleTemplateId='x')", false), "DirectoryRoleByTemplate");
        assert_eq!(kind(Method::POST, "directoryObjects/getByIds", false), "GetByIds");
    }
}
