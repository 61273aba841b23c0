//! `gapbench doctor`: which browsers, drivers, runtimes and GPU adapters this machine has, with
//! versions, and the exact command that installs each missing one.

use std::path::Path;
use std::process::Command;

/// One thing gapbench can use.
pub struct Check {
    pub what: &'static str,
    pub found: Option<String>,
    pub install: &'static str,
}

fn version_of(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .to_string();
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())?
        .trim()
        .to_string();
    Some(line)
}

fn on_path(cmd: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let home_bin = std::env::var("HOME")
        .map(|h| format!("{h}/.cargo/bin"))
        .unwrap_or_default();
    path.split(':')
        .chain([home_bin.as_str()])
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

/// The MiniBrowser that WebKitWebDriver starts, where the webkit engine looks for it.
pub fn minibrowser() -> Option<String> {
    crate::target::browser::engines::webkit::MINIBROWSER
        .iter()
        .find(|p| Path::new(p).is_file())
        .map(|p| p.to_string())
}

fn vulkan_adapters() -> Option<String> {
    let dirs = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];
    let icds: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect();
    if icds.is_empty() {
        None
    } else {
        Some(format!("Vulkan ICDs: {}", icds.join(", ")))
    }
}

/// TensorFlow's version on the Python the Keras targets run, and which Python that is.
fn tensorflow() -> Option<String> {
    let python = crate::target::keras::python();
    let o = Command::new(&python)
        .args(["-c", "import tensorflow as tf; print(tf.__version__)"])
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let version = String::from_utf8_lossy(&o.stdout).trim().to_string();
    Some(format!("tensorflow {version} ({python})"))
}

pub fn checks() -> Vec<Check> {
    let with_version = |cmd: &str, args: &[&str]| on_path(cmd).and_then(|p| version_of(&p, args));
    vec![
        Check {
            what: "chromium",
            found: Path::new("/usr/lib/chromium/chromium")
                .is_file()
                .then(|| version_of("/usr/lib/chromium/chromium", &["--version"]))
                .flatten(),
            install: "apt-get install chromium",
        },
        Check {
            what: "chromedriver",
            found: with_version("chromedriver", &["--version"]),
            install: "apt-get install chromium-driver",
        },
        Check {
            what: "firefox-esr",
            found: with_version("firefox-esr", &["--version"]),
            install: "apt-get install firefox-esr",
        },
        Check {
            what: "geckodriver",
            found: with_version("geckodriver", &["--version"]),
            install: "cargo install --locked geckodriver --version 0.37.1",
        },
        Check {
            what: "WebKitWebDriver",
            found: on_path("WebKitWebDriver").map(|p| format!("{p} (webkit2gtk-driver)")),
            install: "apt-get install webkit2gtk-driver",
        },
        Check {
            what: "MiniBrowser (WebKitGTK)",
            found: minibrowser(),
            install: "apt-get install webkit2gtk-driver",
        },
        Check {
            what: "Xvfb",
            found: on_path("Xvfb"),
            install: "apt-get install xvfb",
        },
        Check {
            what: "node",
            found: with_version("node", &["--version"]),
            install: "apt-get install nodejs",
        },
        Check {
            what: "wasm32 target",
            found: Command::new("rustup")
                .args(["target", "list", "--installed"])
                .output()
                .ok()
                .filter(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
                .map(|_| "wasm32-unknown-unknown".to_string()),
            install: "rustup target add wasm32-unknown-unknown",
        },
        Check {
            // The memory64 build compiles std for wasm64 (tier 3) from the toolchain's sources.
            what: "memory64 build (rust-src)",
            found: crate::bundle::memory64::ready().ok(),
            install: crate::bundle::memory64::INSTALL,
        },
        Check {
            // The threads build rebuilds std with atomics (-Z build-std) from the toolchain's sources.
            what: "threads build (rust-src)",
            found: crate::bundle::std_sources().ok(),
            install: crate::bundle::STD_SOURCES_INSTALL,
        },
        Check {
            // The Keras peers (native-keras, native-keras-fit) on the Python gapbench runs them with.
            what: "TensorFlow (Keras peers)",
            found: tensorflow(),
            install: "python3 -m venv ~/.cache/gapbench-keras && ~/.cache/gapbench-keras/bin/pip install tensorflow-cpu==2.21.0 (.ci/setup; or set GAPBENCH_PYTHON)",
        },
        Check {
            what: "Vulkan adapter",
            found: vulkan_adapters(),
            install: "apt-get install mesa-vulkan-drivers",
        },
    ]
}

/// Print the table; returns how many are missing.
pub fn print() -> usize {
    let checks = checks();
    let mut missing = 0;
    for c in &checks {
        match &c.found {
            Some(v) => println!("  ok       {:24} {v}", c.what),
            None => {
                missing += 1;
                println!("  MISSING  {:24} install: {}", c.what, c.install);
            }
        }
    }
    if missing > 0 {
        println!("\n{missing} missing. `bash .ci/setup` installs all of them on Debian 12.");
    } else {
        println!("\nEverything gapbench can use is here.");
    }
    missing
}
