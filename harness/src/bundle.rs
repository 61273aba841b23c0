//! The probe bundle: `wasm-probe` compiled to wasm32, bound with wasm-bindgen, plus the page,
//! worker and glue. Rebuilt automatically when its sources change. Each build (variant) is made
//! only when a case runs on it ([`ensure_variant`]): `simd` (burn's ndarray backend with SIMD128,
//! what most cases run), `nosimd` (without SIMD128: the SIMD gap is itself a measurement),
//! `flex` and `flex-nosimd` (burn's flex backend), `webgpu` (burn on WebGPU in the page, long
//! to compile), `threads` (ndarray with SIMD128 on a shared memory, trained by a pool of
//! workers: `-Z build-std` rebuilds std with atomics, about 4 minutes on 2 cores, 25 under
//! load), and `memory64` (ndarray with SIMD128 in a wasm64 module, without wasm-bindgen:
//! [`memory64`]). A first run pays about 4 minutes per variant it needs.

use crate::scenario::Simd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

#[path = "bundle_memory64.rs"]
pub mod memory64;

/// One build of the probe: its name (the bundle's subdirectory), rustflags and cargo features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub name: &'static str,
    pub rustflags: &'static str,
    /// Cargo features of `wasm-probe` (its default features are off in a wasm build: each
    /// variant compiles only the backend its cases run on).
    pub features: &'static str,
    /// Rebuild the standard library with these flags (`-Z build-std`, on the pinned stable
    /// toolchain with `RUSTC_BOOTSTRAP=1` and its `rust-src`): the `threads` build needs a std
    /// compiled with atomics.
    pub build_std: bool,
}

/// Every build the bundle can hold: burn's ndarray and flex backends, each with and without
/// SIMD128, ndarray with relaxed SIMD too (its matrix kernel multiplies and adds with
/// `f32x4.relaxed_madd`), burn's WebGPU backend (with SIMD128), the shared-memory `threads`
/// build, and ndarray with SIMD128 in a wasm64 module (`memory64`: a 64-bit memory; getrandom's
/// custom backend, fed by an import).
pub const ALL_VARIANTS: [Variant; 8] = [
    Variant {
        name: "simd",
        rustflags: "-C target-feature=+simd128",
        features: "ndarray",
        build_std: false,
    },
    Variant {
        name: "nosimd",
        rustflags: "",
        features: "ndarray",
        build_std: false,
    },
    Variant {
        name: "flex",
        rustflags: "-C target-feature=+simd128",
        features: "flex",
        build_std: false,
    },
    Variant {
        name: "flex-nosimd",
        rustflags: "",
        features: "flex",
        build_std: false,
    },
    Variant {
        name: "relaxed",
        rustflags: "-C target-feature=+simd128 --cfg gapbench_relaxed_simd",
        features: "ndarray",
        build_std: false,
    },
    Variant {
        name: "webgpu",
        rustflags: "-C target-feature=+simd128",
        features: "ndarray,flex,webgpu",
        build_std: false,
    },
    Variant {
        name: "threads",
        rustflags: THREADS_RUSTFLAGS,
        features: "ndarray,threads",
        build_std: true,
    },
    Variant {
        name: "memory64",
        rustflags: "-C target-feature=+simd128 --cfg getrandom_backend=\"custom\"",
        features: "ndarray",
        build_std: true,
    },
];

/// The `threads` build: SIMD128 plus atomics on a shared, imported memory (up to 4 GiB, the
/// wasm32 maximum, which a shared memory must declare), and the TLS exports wasm-bindgen's
/// threads transform needs to give each worker its own stack and thread-locals.
const THREADS_RUSTFLAGS: &str = "-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 \
    -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory \
    -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
    -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base";

/// How to install what `-Z build-std` compiles std from (the `threads` build).
pub const STD_SOURCES_INSTALL: &str = "rustup component add rust-src";

/// The toolchain's std sources, which the `threads` build compiles std from (`-Z build-std`):
/// where they are, or why not.
pub fn std_sources() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run {rustc}: {e}"))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let std = Path::new(&sysroot).join("lib/rustlib/src/rust/library/std/Cargo.toml");
    if std.is_file() {
        Ok(format!(
            "{}",
            std.parent().map(|p| p.display()).unwrap_or(std.display())
        ))
    } else {
        Err(format!("no {} ({STD_SOURCES_INSTALL})", std.display()))
    }
}

/// The variant named `name`, if there is one.
pub fn variant(name: &str) -> Option<Variant> {
    ALL_VARIANTS.iter().copied().find(|v| v.name == name)
}

/// The bundle variant a case runs on: its backend decides first (WebGPU and flex have builds of
/// their own), then SIMD.
pub fn variant_for(backend: &str, simd: Option<Simd>, threads: Option<u32>) -> &'static str {
    if threads.is_some() {
        // `threads = N` (1 too, the baseline its speed-up is read against): the shared-memory
        // build; the case checks that its backend and SIMD fit it (target/page.rs).
        return "threads";
    }
    match (backend, simd) {
        ("webgpu", _) => "webgpu",
        ("flex", Some(Simd::Off)) => "flex-nosimd",
        ("flex", _) => "flex",
        (_, Some(Simd::Off)) => "nosimd",
        (_, Some(Simd::Relaxed)) => "relaxed",
        (_, Some(Simd::Memory64)) => "memory64",
        _ => "simd",
    }
}

/// The repository this gapbench was built from.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness lives in the workspace")
        .to_path_buf()
}

/// Where the bundle is assembled and served from.
/// Cargo's target directory: `CARGO_TARGET_DIR` when set (CI keeps one between runs), else the
/// repository's `target/`.
pub fn target_root() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        _ => repo_root().join("target"),
    }
}

pub fn bundle_dir() -> PathBuf {
    target_root().join("probe-bundle")
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

/// The newest modification time of what the wasm build depends on, `vendor/` included (the JS
/// is copied apart).
fn sources_mtime(root: &Path) -> SystemTime {
    let mut t = SystemTime::UNIX_EPOCH;
    for p in [
        "wasm-probe/src",
        "wasm-probe/Cargo.toml",
        // The patched crates the probe compiles (matrixmultiply's wasm kernel, burn-ndarray).
        "vendor",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        newest(&root.join(p), &mut t);
    }
    t
}

include!("build_profile.rs");

/// The cargo profile the probe's wasm builds run with: the workspace's `[profile.release]` with
/// the `CARGO_PROFILE_RELEASE_*` overrides in this process's environment, which the build
/// inherits (the run manifest names it).
pub fn probe_profile() -> String {
    let cargo_toml = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap_or_default();
    describe_profile(&cargo_toml, "release", &|k| std::env::var(k).ok())
}

/// What a variant's stamp holds: a build with other flags, features or profile is stale too.
fn stamp_text(v: &Variant) -> String {
    format!(
        "rustflags={}\nfeatures={}\nprofile={}\n{}",
        v.rustflags,
        v.features,
        probe_profile(),
        if v.build_std {
            "build-std=std,panic_abort\n"
        } else {
            ""
        }
    )
}

/// Whether the variant in `out` was built from the current sources with its current settings.
fn is_fresh(v: &Variant, out: &Path, sources: SystemTime) -> bool {
    let stamp = out.join(".stamp");
    let built = std::fs::metadata(&stamp).and_then(|m| m.modified());
    let same = std::fs::read_to_string(&stamp).is_ok_and(|s| s == stamp_text(v));
    same && built.is_ok_and(|b| b >= sources)
        && out.join("wasm_probe.js").is_file()
        && out.join("wasm_probe_bg.wasm").is_file()
}

/// Compile one variant to wasm and bind it into `dir/<name>`, unless it is current.
fn build_variant(root: &Path, dir: &Path, v: &Variant, progress: bool) -> Result<(), String> {
    let out = dir.join(v.name);
    let m64 = v.name == "memory64";
    let sources = sources_mtime(root);
    if (m64 && memory64::is_fresh(v, &out, sources)) || (!m64 && is_fresh(v, &out, sources)) {
        return Ok(());
    }
    if progress {
        let slow = if v.name == "webgpu" {
            " (burn's wgpu stack: the first build takes about 30 minutes on 2 cores)"
        } else if m64 {
            " (wasm64, std compiled for it: about 4 minutes on 2 cores the first time)"
        } else if v.build_std {
            " (std rebuilt with atomics: about 4 minutes on 2 cores the first time)"
        } else {
            " (about 5 minutes on 2 cores the first time)"
        };
        eprintln!("building the wasm probe ({}){slow} ...", v.name);
    }
    if m64 {
        let started = SystemTime::now();
        memory64::build(root, &out, v)?;
        return write_stamp(&out, &memory64::stamp(v), started);
    }
    let target_dir = target_root().join(format!("wasm-{}", v.name));
    let mut args = vec![
        "build",
        "--release",
        "--lib",
        "-p",
        "wasm-probe",
        "--target",
        "wasm32-unknown-unknown",
        "--no-default-features",
        "--features",
        v.features,
    ];
    if v.build_std {
        args.extend(["-Z", "build-std=std,panic_abort"]);
    }
    // The build reads the sources as they are now: stamp with this time, not the end's.
    let started = SystemTime::now();
    // Owned like every child of a run (process group, parent-death signal, owner tag): a build
    // does not outlive a gapbench that is killed.
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    crate::proc::own(&mut cargo)
        .current_dir(root)
        .args(&args)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", v.rustflags)
        .env_remove("RUSTFLAGS");
    if v.build_std {
        // `-Z build-std` on the pinned stable toolchain: its own std sources (rust-src), so the
        // build is the toolchain's, not a nightly's of the day.
        cargo.env("RUSTC_BOOTSTRAP", "1");
    }
    let status = cargo
        .status()
        .map_err(|e| format!("cannot run cargo to build the wasm probe: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building the wasm probe ({}) failed: `cargo {}` with CARGO_TARGET_DIR={}; \
             is the target installed? (rustup target add wasm32-unknown-unknown{})",
            v.name,
            args.join(" "),
            target_dir.display(),
            if v.build_std {
                "; the threads build also needs the toolchain's std sources: rustup component add rust-src"
            } else {
                ""
            }
        ));
    }
    let wasm = target_dir.join("wasm32-unknown-unknown/release/wasm_probe.wasm");
    // Bind into a private directory, then move each file into place (a rename replaces
    // atomically), so a server or another gapbench never sees a half-written variant.
    let tmp = dir.join(format!(".tmp-{}-{}", v.name, std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let bound = wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))
        .and_then(|b| {
            b.typescript(false)
                .generate(&tmp)
                .map_err(|e| format!("wasm-bindgen on {}: {e}", wasm.display()))
        });
    let moved = bound.and_then(|()| {
        for entry in std::fs::read_dir(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))? {
            let p = entry.map_err(|e| e.to_string())?.path();
            let dest = out.join(p.file_name().expect("a directory entry has a name"));
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&dest);
            }
            std::fs::rename(&p, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        }
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&tmp);
    moved?;
    write_stamp(&out, &stamp_text(v), started)
}

/// Write a variant's stamp, dated to when its build read the sources (`started`).
fn write_stamp(out: &Path, text: &str, started: SystemTime) -> Result<(), String> {
    let stamp = out.join(".stamp");
    std::fs::write(&stamp, text).map_err(|e| format!("{}: {e}", stamp.display()))?;
    // Date the stamp to when the build read the sources: an edit made during it is not lost.
    let f = std::fs::File::options()
        .write(true)
        .open(&stamp)
        .map_err(|e| format!("{}: {e}", stamp.display()))?;
    f.set_modified(started)
        .map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(())
}

/// Copy the page, worker and glue into the bundle where they differ (cheap, every time).
fn copy_js(root: &Path, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in
        std::fs::read_dir(root.join("wasm-probe/js")).map_err(|e| format!("wasm-probe/js: {e}"))?
    {
        let p = entry.map_err(|e| e.to_string())?.path();
        if !p.is_file() {
            continue;
        }
        let dest = dir.join(p.file_name().expect("a directory entry has a name"));
        let new = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if std::fs::read(&dest).ok().as_deref() == Some(new.as_slice()) {
            continue;
        }
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            p.file_name().and_then(|n| n.to_str()).unwrap_or("js"),
            std::process::id()
        ));
        std::fs::write(&tmp, &new).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    copy_tfjs(root, dir)?;
    copy_jaxjs(root, dir)?;
    copy_ortweb(root, dir)
}

/// The TF.js files the page loads for the `tfjs-*` backends, from `node_modules` (`npm ci`).
pub const TFJS_FILES: [&str; 6] = [
    "@tensorflow/tfjs/dist/tf.min.js",
    "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
    "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
    "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
    "@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js",
];

/// Copy TF.js into `<bundle>/tfjs/` where it differs, so the page never fetches it from
/// elsewhere. Without `node_modules` the wasm probe still works; `tfjs-*` cases then fail
/// saying to run `npm ci`.
fn copy_tfjs(root: &Path, dir: &Path) -> Result<(), String> {
    let modules = root.join("node_modules");
    if !modules.join("@tensorflow/tfjs").is_dir() {
        return Ok(());
    }
    let out = dir.join("tfjs");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for file in TFJS_FILES {
        let src = modules.join(file);
        let dest = out.join(Path::new(file).file_name().expect("a file name"));
        let new = std::fs::read(&src).map_err(|e| {
            format!(
                "{}: {e} (run `npm ci` in {})",
                src.display(),
                root.display()
            )
        })?;
        if std::fs::read(&dest).ok().as_deref() == Some(new.as_slice()) {
            continue;
        }
        let tmp = out.join(format!(".tmp-tfjs-{}", std::process::id()));
        std::fs::write(&tmp, &new).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(())
}

/// Copy jax-js's ESM build (`dist/*.js`, loaded by `jaxjs.js` for the `jaxjs-*` backends) and its
/// `package.json` (the version the record names) into `<bundle>/jaxjs/` where they differ. Without
/// it in `node_modules` the `jaxjs-*` cases are skipped with the install command.
fn copy_jaxjs(root: &Path, dir: &Path) -> Result<(), String> {
    let pkg = root.join("node_modules/@jax-js/jax");
    let dist = pkg.join("dist");
    if !dist.is_dir() {
        return Ok(());
    }
    let out = dir.join("jaxjs");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut files = vec![pkg.join("package.json")];
    for entry in std::fs::read_dir(&dist).map_err(|e| format!("{}: {e}", dist.display()))? {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.extension().and_then(|e| e.to_str()) == Some("js") {
            files.push(p);
        }
    }
    for src in files {
        let dest = out.join(src.file_name().expect("a file name"));
        let new = std::fs::read(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        if std::fs::read(&dest).ok().as_deref() == Some(new.as_slice()) {
            continue;
        }
        let tmp = out.join(format!(".tmp-jaxjs-{}", std::process::id()));
        std::fs::write(&tmp, &new).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(())
}

/// The onnxruntime-web files `ortweb.js` loads for the `ortweb-*` backends (its `./training` build).
pub const ORTWEB_FILES: [&str; 4] = [
    "onnxruntime-web/package.json",
    "onnxruntime-web/dist/ort.training.wasm.min.mjs",
    "onnxruntime-web/dist/ort-training-wasm-simd-threaded.mjs",
    "onnxruntime-web/dist/ort-training-wasm-simd-threaded.wasm",
];

/// Copy onnxruntime-web's training build into `<bundle>/ort/` and the training artifacts
/// (`ort-artifacts/`, made by `.ci/setup` with wasm-probe/py/ort_artifacts.py) into
/// `<bundle>/ort/artifacts/`, where they differ. What is missing is skipped by the cases, with
/// the install command.
fn copy_ortweb(root: &Path, dir: &Path) -> Result<(), String> {
    let modules = root.join("node_modules");
    if !modules.join("onnxruntime-web/dist").is_dir() {
        return Ok(());
    }
    let out = dir.join("ort");
    let mut pairs: Vec<(PathBuf, PathBuf)> = ORTWEB_FILES
        .iter()
        .map(|f| {
            let name = Path::new(f).file_name().expect("a file name");
            (modules.join(f), out.join(name))
        })
        .collect();
    let artifacts = root.join("ort-artifacts");
    if let Ok(models) = std::fs::read_dir(&artifacts) {
        for model in models.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            let name = model.file_name().expect("a directory name").to_owned();
            for f in std::fs::read_dir(&model).map_err(|e| format!("{}: {e}", model.display()))? {
                let f = f.map_err(|e| e.to_string())?.path();
                let file = f.file_name().expect("a file name").to_owned();
                pairs.push((f, out.join("artifacts").join(&name).join(file)));
            }
        }
    }
    for (src, dest) in pairs {
        let parent = dest.parent().expect("a parent");
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let same = std::fs::metadata(&src)
            .and_then(|a| std::fs::metadata(&dest).map(|b| (a, b)))
            .is_ok_and(|(a, b)| a.len() == b.len() && a.modified().ok() <= b.modified().ok());
        if same {
            continue;
        }
        let tmp = parent.join(format!(".tmp-ort-{}", std::process::id()));
        std::fs::copy(&src, &tmp).map_err(|e| format!("{}: {e}", src.display()))?;
        std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    }
    Ok(())
}

/// Make sure the bundle's JS is current, next to whatever variants it holds; the variants
/// themselves are built per case ([`ensure_variant`]). Returns its directory.
pub fn ensure_js() -> Result<PathBuf, String> {
    let dir = bundle_dir();
    let _one = preparing(&dir)?;
    copy_js(&repo_root(), &dir)?;
    Ok(dir)
}

/// Held while the bundle is checked and brought up to date: one preparer at a time, whether
/// the shards of one run (threads of this process, `--sessions N`) or other gapbench processes
/// sharing this target directory (an exclusive `flock` on `<bundle>/.lock`, released when the
/// file closes or the process dies). Without it two preparers of one variant bind into the same
/// temporary directory and one removes it under the other.
fn preparing(dir: &Path) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(".lock");
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("{}: cannot lock: {e}", path.display()))?;
    Ok(file)
}

/// Make sure the bundle holds the variant `name` (e.g. "webgpu"), current, next to the JS.
/// Builds only that variant when it is stale. Returns the bundle's directory.
pub fn ensure_variant(name: &str, progress: bool) -> Result<PathBuf, String> {
    let v = variant(name).ok_or_else(|| {
        let names: Vec<&str> = ALL_VARIANTS.iter().map(|v| v.name).collect();
        format!(
            "unknown probe build `{name}` (expected one of: {})",
            names.join(", ")
        )
    })?;
    let root = repo_root();
    let dir = bundle_dir();
    let _one = preparing(&dir)?;
    build_variant(&root, &dir, &v, progress)?;
    copy_js(&root, &dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_has_one_preparer_at_a_time() {
        use std::sync::mpsc;
        use std::time::Duration;
        let dir = std::env::temp_dir().join(format!("gapbench-lock-test-{}", std::process::id()));
        let held = preparing(&dir).unwrap();
        let (tx, rx) = mpsc::channel();
        let d = dir.clone();
        let second = std::thread::spawn(move || {
            let _one = preparing(&d).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "a second preparer went on while the first held the bundle"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the second preparer goes on once the first is done");
        second.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn profile_is_described_from_cargo_toml_and_the_environment() {
        let toml = "[workspace]\n[profile.release]\nopt-level = 3\ndebug = false\n\
                    incremental = true # dev loop\n\n[profile.bench]\ninherits = \"release\"\n\
                    lto = \"thin\"\n[other]\nlto = true\n";
        let none = |_: &str| None;
        assert_eq!(
            describe_profile(toml, "release", &none),
            "release (opt-level 3, debug false, codegen-units 256, incremental, lto off)"
        );
        assert_eq!(
            describe_profile(toml, "bench", &none),
            "bench (opt-level 3, debug false, codegen-units 256, incremental, lto thin)"
        );
        let env = |k: &str| match k {
            "CARGO_PROFILE_RELEASE_INCREMENTAL" => Some("false".to_string()),
            "CARGO_PROFILE_RELEASE_CODEGEN_UNITS" => Some("1".to_string()),
            "CARGO_PROFILE_RELEASE_LTO" => Some("true".to_string()),
            _ => None,
        };
        assert_eq!(
            describe_profile(toml, "release", &env),
            "release (opt-level 3, debug false, codegen-units 1, lto fat)"
        );
        let plain = "[profile.release]\nopt-level = 3\n";
        assert_eq!(
            describe_profile(plain, "release", &none),
            "release (opt-level 3, debug false, codegen-units 16, lto off)"
        );
        assert!(stamp_text(&ALL_VARIANTS[0]).contains("\nprofile=release (opt-level "));
    }

    #[test]
    fn cases_pick_their_build() {
        assert_eq!(variant_for("webgpu", Some(Simd::On), None), "webgpu");
        assert_eq!(variant_for("webgpu", Some(Simd::Off), None), "webgpu");
        assert_eq!(variant_for("ndarray", Some(Simd::Off), None), "nosimd");
        assert_eq!(variant_for("ndarray", Some(Simd::On), None), "simd");
        assert_eq!(variant_for("ndarray", Some(Simd::Relaxed), None), "relaxed");
        assert_eq!(
            variant_for("ndarray", Some(Simd::Memory64), None),
            "memory64"
        );
        assert!(variant("memory64").is_some_and(|v| v.rustflags.contains("getrandom_backend")));
        assert!(variant("relaxed").is_some_and(|v| v.rustflags.contains("gapbench_relaxed_simd")));
        assert_eq!(variant_for("flex", None, None), "flex");
        assert_eq!(variant_for("flex", Some(Simd::On), None), "flex");
        assert!(ALL_VARIANTS.iter().all(|v| !v.features.is_empty()));
        assert_eq!(variant_for("flex", Some(Simd::Off), None), "flex-nosimd");
        assert_eq!(variant_for("ndarray", Some(Simd::On), Some(1)), "threads");
        assert_eq!(variant_for("ndarray", Some(Simd::On), Some(2)), "threads");
        assert!(variant("threads").is_some_and(|v| v.build_std
            && v.rustflags.contains("+atomics")
            && v.rustflags.contains("--shared-memory")
            && v.features.contains("threads")));
        assert!(variant("webgpu").is_some_and(|v| v.features.contains("webgpu")));
        assert!(
            ensure_variant("nope", false)
                .unwrap_err()
                .contains("webgpu")
        );
    }

    #[test]
    fn an_edit_in_vendor_makes_the_bundle_stale() {
        let root =
            std::env::temp_dir().join(format!("gapbench-vendor-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let kernel = root.join("vendor/matrixmultiply/src/wasm.rs");
        std::fs::create_dir_all(kernel.parent().unwrap()).unwrap();
        std::fs::create_dir_all(root.join("wasm-probe/src")).unwrap();
        std::fs::write(root.join("wasm-probe/src/lib.rs"), "").unwrap();
        std::fs::write(&kernel, "").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(3600);
        let f = std::fs::File::options()
            .write(true)
            .open(root.join("wasm-probe/src/lib.rs"))
            .unwrap();
        f.set_modified(old).unwrap();
        let edited = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&kernel)
            .unwrap()
            .set_modified(edited)
            .unwrap();
        assert_eq!(sources_mtime(&root), edited);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn stamps_are_per_variant_and_per_settings() {
        let dir = std::env::temp_dir().join(format!("gapbench-stamp-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let simd = variant("simd").unwrap();
        let webgpu = variant("webgpu").unwrap();
        let before = SystemTime::now() - std::time::Duration::from_secs(60);
        assert!(!is_fresh(&simd, &dir, before), "no stamp, no files: stale");
        std::fs::write(dir.join("wasm_probe.js"), "").unwrap();
        std::fs::write(dir.join("wasm_probe_bg.wasm"), "").unwrap();
        std::fs::write(dir.join(".stamp"), stamp_text(&simd)).unwrap();
        assert!(is_fresh(&simd, &dir, before));
        // Sources newer than the stamp: stale.
        let later = SystemTime::now() + std::time::Duration::from_secs(60);
        assert!(!is_fresh(&simd, &dir, later));
        // Another variant's settings: stale.
        assert!(!is_fresh(&webgpu, &dir, before));
        std::fs::remove_file(dir.join("wasm_probe_bg.wasm")).unwrap();
        assert!(!is_fresh(&simd, &dir, before), "a missing file: stale");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
