//! The C ABI. Every export is `pim_<object>_<verb>` and lives with the object it acts on; the
//! plumbing sits in small private files that can be audited in one sitting. `include/pim_bridge.h`
//! is generated from these files by cbindgen.
//!
//! - `client.rs`, `op.rs`, `error.rs`: one file per C object, with its exports.
//! - `info.rs`: exports that need no object (versions, token claims, the surfaces).
//! - `result.rs`: the result enum (`pim_result`) and the one error shape, mapped from the core's errors.
//! - `panic.rs`: the panic boundary. `registry.rs`: the handles. `strings.rs`: C strings in and
//!   out. `out.rs`: out-parameters.
//!
//! Conventions, for every function:
//! - Fallible functions return a `pim_result`: `PIM_RESULT_OK` (0) on success, otherwise a stable
//!   code (7000 and up) that is never reused. Out-parameters are written only on success.
//! - `err_out` may be NULL. On failure, when it is not NULL, `*err_out` receives an error object
//!   to free with `pim_error_free`; on success it is left untouched.
//! - Input strings are NUL-terminated UTF-8, copied before the function returns; the caller keeps
//!   ownership. Output strings are UTF-8 JSON, freed with `pim_string_free`.
//! - Every function is thread-safe. Handles are checked against a registry: a NULL, freed, or
//!   foreign handle, or one of the wrong kind, is refused with `PIM_RESULT_INVALID_HANDLE` (or
//!   `PIM_RESULT_NULL_PARAMETER`), never dereferenced.
//! - The access token is always its own argument, never part of a JSON document, and is never
//!   logged or copied into an error.

#![allow(non_camel_case_types)]

mod client;
mod error;
mod info;
mod journal;
mod op;
mod out;
mod panic;
mod policy;
mod registry;
pub mod result;
mod strings;

pub use client::*;
pub use error::*;
pub use info::*;
pub use journal::*;
pub use op::*;
pub use policy::*;
pub use result::PimResult;
pub use strings::pim_string_free;
