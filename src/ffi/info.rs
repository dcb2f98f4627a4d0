//! What the library can say without a client: its versions, a token's claims, and the PIM
//! surfaces it knows, so that callers (the PowerShell module) hold no rule of their own about them.

use std::ffi::{CStr, CString, c_char};
use std::sync::LazyLock;

use serde::Serialize;
use zeroize::Zeroizing;

use super::error::pim_error;
use super::panic::ffi_value;
use super::result::{FfiError, PimResult};
use super::strings::{ffi_json, read_opt_str, read_str};
use crate::http::urls::Service;
use crate::model::Surface;
use crate::token::TokenInfo;

/// Major version of the library; equals the version in Cargo.toml.
pub const PIM_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const PIM_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const PIM_VERSION_PATCH: u32 = 0;
/// Version of the C ABI: bumped when a function's signature or meaning changes.
pub const PIM_ABI_VERSION: u32 = 1;
/// The longest access token accepted, in bytes: a longer one is refused with
/// `PIM_RESULT_INVALID_TOKEN` before any call.
pub const PIM_MAX_TOKEN_BYTES: u32 = 65536;

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_limit_is_the_core_s() {
        assert_eq!(super::PIM_MAX_TOKEN_BYTES as usize, crate::token::MAX_TOKEN_BYTES);
    }
}

/// The library's version, e.g. "0.1.0". Static: do not free.
#[unsafe(no_mangle)]
pub extern "C" fn pim_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The version of the C ABI this library implements: `PIM_ABI_VERSION` of the header it was
/// built with. A caller built against another ABI version must not use it.
#[unsafe(no_mangle)]
pub extern "C" fn pim_abi_version() -> u32 {
    PIM_ABI_VERSION
}

/// Reads (does not verify) a token's claims: `{audience, expiresAt, scopes, appOnly, objectId,
/// upn, tenantId}`. On success `*json_out` receives a string to free with `pim_string_free`; a token that is
/// not a readable JWT gives `PIM_RESULT_INVALID_TOKEN`. The token itself never appears in the output.
///
/// # Safety
/// `json_out` must be writable; `token` NULL or a valid string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_token_info(
    token: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let raw = Zeroizing::new(read_str(token, "token")?);
            let info = TokenInfo::decode(raw.trim()).ok_or_else(|| {
                FfiError::new(PimResult::InvalidToken, "The token is not a JWT whose claims can be read.")
            })?;
            serde_json::to_string(&info).map_err(|e| FfiError::new(PimResult::InvalidToken, e.to_string()))
        })
    }
}

/// One surface, as `pim_surfaces` describes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SurfaceInfo {
    name: &'static str,
    service: &'static str,
    read_scopes: &'static [&'static str],
    decide_scopes: &'static [&'static str],
}

/// Every surface's name as a C string, in [`Surface::ALL`]'s order.
static NAMES: LazyLock<Vec<(Surface, CString)>> =
    LazyLock::new(|| Surface::ALL.into_iter().map(|s| (s, CString::new(s.name()).unwrap_or_default())).collect());

static SURFACES: LazyLock<CString> = LazyLock::new(|| {
    let all: Vec<SurfaceInfo> = Surface::ALL
        .into_iter()
        .map(|s| SurfaceInfo {
            name: s.name(),
            service: match s.service() {
                Service::Graph => "graph",
                Service::Arm => "arm",
            },
            read_scopes: s.scopes(false),
            decide_scopes: s.scopes(true),
        })
        .collect();
    CString::new(serde_json::to_string(&all).unwrap_or_default()).unwrap_or_default()
});

/// The PIM surfaces this library knows, as a JSON array in the order they are listed:
/// `[{"name": "DirectoryRole", "service": "graph" | "arm", "readScopes": [...], "decideScopes":
/// [...]}]`. `service` says which token the surface takes (Microsoft Graph or Azure Resource
/// Manager); the scopes are the delegated scopes, any one of which lets a signed-in approver list
/// (`readScopes`) or decide (`decideScopes`) its requests (none for ARM, which checks none).
/// Static: do not free.
#[unsafe(no_mangle)]
pub extern "C" fn pim_surfaces() -> *const c_char {
    ffi_value(std::ptr::null(), || SURFACES.as_ptr())
}

/// The surface a request belongs to, as this library decides it. When `surface` is neither NULL
/// nor empty, it is matched, in any case, against the surfaces' names; otherwise the approval id
/// alone says: an Azure approval path (starting with `/`) is `AzureResource`, anything else
/// `DirectoryRole`. Returns the surface's name, static (do not free); NULL when `surface` names
/// no surface, or when a string needed is NULL or not UTF-8. A GUID alone may as well be a group
/// approval's id: to decide a request known by its id only, pass it to `pim_approve`/`pim_deny`
/// without `surface`, and the operation reads which surface has it.
///
/// # Safety
/// Each pointer is NULL or a NUL-terminated string that stays valid for this call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_surface_resolve(approval_id: *const c_char, surface: *const c_char) -> *const c_char {
    ffi_value(std::ptr::null(), || {
        // SAFETY: the caller's contract covers both strings.
        let resolved = unsafe {
            match read_opt_str(surface, "surface") {
                Ok(Some(name)) if !name.trim().is_empty() => Surface::from_name(&name),
                Ok(_) => read_str(approval_id, "approval_id").ok().map(|id| Surface::for_approval_id(&id)),
                Err(_) => None,
            }
        };
        let name = resolved.and_then(|s| NAMES.iter().find(|(n, _)| *n == s)).map(|(_, c)| c.as_c_str());
        name.map_or(std::ptr::null(), CStr::as_ptr)
    })
}
