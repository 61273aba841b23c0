//! Records what the binary is built from, for the run manifest: the compiler version, the git
//! commit of the sources (with `-dirty` when tracked files differ from it; `unknown` outside a
//! git checkout), the build profile, and a SHA-256 of each patched crate in `vendor/`.
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// SHA-256 over every file of `dir` (relative path, NUL, length, bytes), in path order.
fn tree_hash(dir: &Path) -> String {
    let mut all = Vec::new();
    files(dir, &mut all);
    all.sort();
    let mut h = Sha256::new();
    for p in all {
        let rel = p.strip_prefix(dir).unwrap_or(&p);
        let bytes = std::fs::read(&p).unwrap_or_default();
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn package_version(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap_or_default();
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(v) = line.strip_prefix("version") {
            return v
                .trim_start_matches([' ', '='])
                .trim_matches('"')
                .to_string();
        }
    }
    "unknown".into()
}

include!("src/build_profile.rs");

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc (unknown version)".into());
    println!("cargo:rustc-env=GAPBENCH_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");

    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.parent().unwrap_or(&manifest_dir).to_path_buf();

    // The commit, and whether tracked files differ from it. Rerun when HEAD moves, the index
    // changes, or any source of the build changes (so the dirty flag is current).
    let commit = match git(&root, &["rev-parse", "HEAD"]) {
        Some(c) => {
            let dirty = git(&root, &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        None => "unknown".into(),
    };
    println!("cargo:rustc-env=GAPBENCH_GIT_COMMIT={commit}");
    if let Some(git_dir) = git(&root, &["rev-parse", "--absolute-git-dir"]) {
        let git_dir = PathBuf::from(git_dir);
        for f in ["HEAD", "index", "packed-refs"] {
            println!("cargo:rerun-if-changed={}", git_dir.join(f).display());
        }
        if let Some(head_ref) = git(&root, &["symbolic-ref", "-q", "HEAD"]) {
            println!(
                "cargo:rerun-if-changed={}",
                git_dir.join(head_ref).display()
            );
        }
    }
    for p in [
        "harness/src",
        "harness/Cargo.toml",
        "wasm-probe/src",
        "wasm-probe/Cargo.toml",
        "wasm-probe/js",
        "vendor",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    // The profile as the workspace's Cargo.toml and the environment set it (codegen units and
    // LTO included: they change how fast the native cases train).
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    let upper = profile.to_uppercase();
    for key in ["OPT_LEVEL", "DEBUG", "CODEGEN_UNITS", "LTO", "INCREMENTAL"] {
        println!("cargo:rerun-if-env-changed=CARGO_PROFILE_{upper}_{key}");
    }
    println!("cargo:rerun-if-env-changed=CARGO_INCREMENTAL");
    let cargo_toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    // Cargo tells a build script the opt-level and debug it really builds with.
    let described = describe_profile(&cargo_toml, &profile, &|k| {
        let real = if k.ends_with("_OPT_LEVEL") {
            "OPT_LEVEL"
        } else if k.ends_with("_DEBUG") {
            "DEBUG"
        } else {
            k
        };
        std::env::var(real).ok()
    });
    println!("cargo:rustc-env=GAPBENCH_BUILD_PROFILE={described}");

    // Each patched crate: name, version, path, tree hash; `;` between crates.
    let mut patched = Vec::new();
    let vendor = root.join("vendor");
    let mut crates: Vec<PathBuf> = std::fs::read_dir(&vendor)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    crates.sort();
    for dir in crates {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        patched.push(format!(
            "{name} {} vendor/{name} {}",
            package_version(&dir.join("Cargo.toml")),
            tree_hash(&dir)
        ));
    }
    println!(
        "cargo:rustc-env=GAPBENCH_PATCHED_CRATES={}",
        patched.join(";")
    );
}
