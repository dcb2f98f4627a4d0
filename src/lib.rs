//! PimBridge: list, approve and deny Microsoft Entra PIM requests, behind a C ABI.
//!
//! The layers, top to bottom: [`ffi`] (the C ABI, the only unsafe code), [`client`] (HTTP, paging,
//! retries, decisions), [`model`] (one domain model for every surface), [`wire`] (Graph's JSON),
//! and the checks in [`validate`] and [`token`] that run before anything is sent.

mod batch;
pub mod client;
pub mod duration;
pub mod error;
pub mod ffi;
pub mod model;
pub mod retry;
pub mod token;
pub mod validate;
pub mod wire;

pub use client::{ClientOptions, ListOptions, PimClient};
pub use error::{ErrorKind, PimError};
pub use model::{DecisionOutcome, DecisionTarget, PendingRequest, Review, Surface};
pub use token::AccessToken;
pub use validate::Justification;
