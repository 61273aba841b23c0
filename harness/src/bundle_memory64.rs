//! The memory64 probe build: `wasm-probe` for `wasm64-unknown-unknown` (a tier-3 target: no
//! prebuilt std, so std is compiled from the toolchain's `rust-src` with `-Z build-std`, on the
//! pinned stable toolchain with `RUSTC_BOOTSTRAP=1`, as the `threads` build does), without
//! wasm-bindgen (it cannot bind wasm64: wasm-bindgen issue #4436). The module's C ABI
//! (wasm-probe/src/wasm64.rs) is driven by the hand-written `memory64.js` among the bundle's JS,
//! so the variant's directory holds only `wasm_probe_bg.wasm`. Cost: the first build compiles
//! std and every dependency for wasm64 (23 minutes on this 2-core VM beside other builds, load
//! ~9; about 8 when idle, like the `threads` build); later ones recompile what changed.

use super::{Variant, stamp_text, target_root};
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// The command that installs what the build needs beyond the toolchain.
pub const INSTALL: &str = super::STD_SOURCES_INSTALL;

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The toolchain's rustc version when its std sources are there (doctor; the stamp).
pub fn ready() -> Result<String, String> {
    super::std_sources()?;
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(format!("{version} with rust-src"))
}

/// What the stamp holds: the variant's settings and the toolchain that built it.
pub fn stamp(v: &Variant) -> String {
    format!(
        "{}target=wasm64-unknown-unknown\ntoolchain={}\n",
        stamp_text(v),
        ready().unwrap_or_else(|e| e)
    )
}

/// Compile the memory64 build into `out` (its stamp is the caller's).
pub fn build(root: &Path, out: &Path, v: &Variant) -> Result<(), String> {
    ready().map_err(|e| format!("the memory64 probe build cannot be made: {e}"))?;
    let target_dir = target_root().join(format!("wasm-{}", v.name));
    let args = [
        "build",
        "--release",
        "--lib",
        "-p",
        "wasm-probe",
        "--target",
        "wasm64-unknown-unknown",
        "-Z",
        "build-std=std,panic_abort",
        "--no-default-features",
        "--features",
        v.features,
    ];
    let mut cargo = cargo();
    let status = crate::proc::own(&mut cargo)
        .current_dir(root)
        .args(args)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TARGET_WASM64_UNKNOWN_UNKNOWN_RUSTFLAGS", v.rustflags)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTFLAGS")
        .status()
        .map_err(|e| format!("cannot run cargo to build the memory64 probe: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the wasm probe (memory64) failed: `RUSTC_BOOTSTRAP=1 cargo {}` with \
             CARGO_TARGET_DIR={} (needs the toolchain's std sources: {INSTALL})",
            args.join(" "),
            target_dir.display()
        ));
    }
    let wasm = target_dir.join("wasm64-unknown-unknown/release/wasm_probe.wasm");
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    // Copy beside, then rename: a server never sees half a module.
    let tmp = out.join(format!(".tmp-wasm-{}", std::process::id()));
    std::fs::copy(&wasm, &tmp).map_err(|e| format!("{}: {e}", wasm.display()))?;
    std::fs::rename(&tmp, out.join("wasm_probe_bg.wasm"))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(())
}

/// Whether `out` holds a memory64 build made from the current sources with these settings.
pub fn is_fresh(v: &Variant, out: &Path, sources: SystemTime) -> bool {
    let stamp = out.join(".stamp");
    let built = std::fs::metadata(&stamp).and_then(|m| m.modified());
    let same = std::fs::read_to_string(&stamp).is_ok_and(|s| s == self::stamp(v));
    same && built.is_ok_and(|b| b >= sources) && out.join("wasm_probe_bg.wasm").is_file()
}
