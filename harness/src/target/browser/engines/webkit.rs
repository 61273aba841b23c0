//! WebKitGTK's MiniBrowser over WebKitWebDriver, on an Xvfb display, its data in XDG directories
//! made with the driver.

use super::{Engine, missing};
use crate::target::browser::discovery::{Binaries, first_existing};
use crate::target::browser::driver;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where MiniBrowser is installed, by distribution layout (`gapbench doctor` reads it too).
pub const MINIBROWSER: [&str; 6] = [
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser",
    "/usr/lib/aarch64-linux-gnu/webkit2gtk-4.0/MiniBrowser",
    "/usr/libexec/webkit2gtk-4.1/MiniBrowser",
    "/usr/libexec/webkit2gtk-4.0/MiniBrowser",
];

pub struct Webkit;

impl Engine for Webkit {
    fn name(&self) -> &'static str {
        "webkit"
    }

    fn about(&self) -> &'static str {
        "the wasm probe in WebKitGTK's MiniBrowser over WebKitWebDriver, under Xvfb"
    }

    fn driver_name(&self) -> &'static str {
        "WebKitWebDriver"
    }

    fn find_installed(&self) -> Result<Binaries, String> {
        let driver = driver::find_binary(
            "WebKitWebDriver",
            &[PathBuf::from("/usr/bin/WebKitWebDriver")],
        )
        .ok_or_else(|| {
            missing(
                self,
                "WebKitWebDriver (on PATH)",
                "apt install webkit2gtk-driver",
            )
        })?;
        let candidates: Vec<PathBuf> = MINIBROWSER.iter().map(PathBuf::from).collect();
        let browser = first_existing(&candidates).ok_or_else(|| {
            missing(
                self,
                "MiniBrowser (in /usr/lib/x86_64-linux-gnu/webkit2gtk-4.1 or -4.0, or /usr/libexec)",
                "apt install webkit2gtk-driver libwebkit2gtk-4.1-0",
            )
        })?;
        let xvfb = driver::find_binary("Xvfb", &[])
            .ok_or_else(|| missing(self, "Xvfb (on PATH)", "apt install xvfb"))?;
        Ok(Binaries {
            driver,
            browser,
            xvfb: Some(xvfb),
        })
    }

    fn needs_display(&self) -> bool {
        true
    }

    fn profile_with_driver(&self) -> bool {
        true
    }

    fn driver_command(&self, cmd: &mut Command, port: u16, display: u32, profile: Option<&Path>) {
        let profile = profile.expect("WebKit's profile is made with the driver");
        cmd.arg(format!("--port={port}"))
            .env("DISPLAY", format!(":{display}"))
            .env("JSC_useSharedArrayBuffer", "true")
            .env("XDG_DATA_HOME", profile.join("data"))
            .env("XDG_CACHE_HOME", profile.join("cache"))
            .env("XDG_CONFIG_HOME", profile.join("config"));
    }

    fn capabilities(&self, browser: &str, _profile: &str) -> Json {
        json!({
            "browserName": "MiniBrowser",
            "webkitgtk:browserOptions": {
                "binary": browser,
                "args": ["--automation"],
            },
        })
    }
}
