//! The committed header is what cbindgen generates now, and every version number agrees.
//! `PIM_BLESS_HEADER=1 cargo test --test header` rewrites the header instead of comparing.

use std::ffi::CStr;
use std::path::PathBuf;

fn generate() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&root)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_is_fresh() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/pim_bridge.h");
    let fresh = generate();
    if std::env::var_os("PIM_BLESS_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default().replace("\r\n", "\n");
    assert!(committed == fresh, "include/pim_bridge.h is stale: run `pwsh ./build.ps1 -Task Header` and commit it");
}

#[test]
fn versions_agree() {
    let cargo = env!("CARGO_PKG_VERSION");
    // SAFETY: pim_version returns a static NUL-terminated string.
    let runtime = unsafe { CStr::from_ptr(pim_bridge::ffi::pim_version()) }.to_str().unwrap();
    assert_eq!(runtime, cargo);
    let macros = format!(
        "{}.{}.{}",
        pim_bridge::ffi::PIM_VERSION_MAJOR,
        pim_bridge::ffi::PIM_VERSION_MINOR,
        pim_bridge::ffi::PIM_VERSION_PATCH
    );
    assert_eq!(macros, cargo);
    let header =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("include/pim_bridge.h")).unwrap();
    let parts: Vec<&str> = cargo.split('.').collect();
    for (name, value) in ["MAJOR", "MINOR", "PATCH"].iter().zip(parts) {
        assert!(
            header.contains(&format!("#define PIM_VERSION_{name} {value}")),
            "header PIM_VERSION_{name} != {value}"
        );
    }
}
