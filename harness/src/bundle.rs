//! The probe bundle: `wasm-probe` compiled to wasm32 with and without SIMD128, bound with
//! wasm-bindgen, plus the page, worker and glue. Rebuilt automatically when its sources change.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// The two builds of the probe: the SIMD gap is itself a measurement.
pub const VARIANTS: [(&str, &str); 2] = [("simd", "-C target-feature=+simd128"), ("nosimd", "")];

/// The repository this gapbench was built from.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness lives in the workspace")
        .to_path_buf()
}

/// Where the bundle is assembled and served from.
pub fn bundle_dir() -> PathBuf {
    repo_root().join("target").join("probe-bundle")
}

fn newest(path: &Path, newest_seen: &mut SystemTime) {
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    newest(&e.path(), newest_seen);
                }
            }
        } else if let Ok(m) = meta.modified() {
            *newest_seen = (*newest_seen).max(m);
        }
    }
}

fn sources_mtime(root: &Path) -> SystemTime {
    let mut t = SystemTime::UNIX_EPOCH;
    for p in [
        "wasm-probe/src",
        "wasm-probe/js",
        "wasm-probe/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        newest(&root.join(p), &mut t);
    }
    t
}

/// Make sure the bundle is current; build it if not. Returns its directory.
pub fn ensure(progress: bool) -> Result<PathBuf, String> {
    let root = repo_root();
    let dir = bundle_dir();
    let stamp = dir.join(".stamp");
    let fresh = std::fs::metadata(&stamp)
        .and_then(|m| m.modified())
        .map(|built| built >= sources_mtime(&root))
        .unwrap_or(false);
    if fresh {
        return Ok(dir);
    }
    for (variant, flags) in VARIANTS {
        if progress {
            eprintln!("building the wasm probe ({variant}) ...");
        }
        let target_dir = root.join("target").join(format!("wasm-{variant}"));
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args([
                "build",
                "--release",
                "--lib",
                "-p",
                "wasm-probe",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", flags)
            .env_remove("RUSTFLAGS")
            .status()
            .map_err(|e| format!("cannot run cargo to build the wasm probe: {e}"))?;
        if !status.success() {
            return Err(format!(
                "building the wasm probe ({variant}) failed; is the target installed? \
                 (rustup target add wasm32-unknown-unknown)"
            ));
        }
        let wasm = target_dir.join("wasm32-unknown-unknown/release/wasm_probe.wasm");
        let out = dir.join(variant);
        std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&wasm)
            .web(true)
            .map_err(|e| format!("wasm-bindgen: {e}"))?
            .typescript(false)
            .generate(&out)
            .map_err(|e| format!("wasm-bindgen on {}: {e}", wasm.display()))?;
    }
    for entry in
        std::fs::read_dir(root.join("wasm-probe/js")).map_err(|e| format!("wasm-probe/js: {e}"))?
    {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.is_file() {
            std::fs::copy(&p, dir.join(p.file_name().unwrap()))
                .map_err(|e| format!("{}: {e}", p.display()))?;
        }
    }
    std::fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(dir)
}
