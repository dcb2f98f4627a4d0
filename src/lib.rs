//! PimBridge: list, approve and deny Microsoft Entra PIM requests, behind a C ABI.
//!
//! The rooms, from the C boundary down: [`ffi`] (the C ABI, the only unsafe code), [`client`] (a
//! thin front that dispatches), `decide` (deciding many requests: batched rounds, one at a time,
//! and the rules of one decision), `listing` (the pages of one surface, query options a service
//! refused, names looked up in bulk), [`surface`] (each PIM surface's routes, versions, scopes,
//! statuses and wire types), [`http`] (transport, URLs, the one retry loop, paging, batching),
//! and below them [`model`] (one model for every surface), [`wire`] (shapes every surface shares),
//! [`validate`], [`token`], [`time`], [`options`] and [`error`]. `docs/architecture.md` walks
//! through them.

pub mod client;
mod decide;
pub mod error;
pub mod ffi;
pub mod http;
pub mod journal;
mod listing;
pub mod model;
pub mod options;
pub mod policy;
pub mod surface;
pub mod time;
pub mod token;
pub mod validate;
pub mod wire;

pub use client::{ClientOptions, ListOptions, PimClient, Tokens};
pub use error::{ErrorKind, PimError};
pub use model::{DecisionOutcome, DecisionRequest, DecisionTarget, ListError, PendingRequest, Review, Surface};
pub use token::AccessToken;
pub use validate::Justification;
