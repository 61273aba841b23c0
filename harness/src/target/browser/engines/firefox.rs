//! Firefox over geckodriver, headless.

use super::{Engine, missing};
use crate::target::browser::discovery::{Binaries, first_existing, home_join};
use crate::target::browser::driver;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Firefox;

impl Engine for Firefox {
    fn name(&self) -> &'static str {
        "firefox"
    }

    fn about(&self) -> &'static str {
        "the wasm probe in Firefox over geckodriver"
    }

    fn driver_name(&self) -> &'static str {
        "geckodriver"
    }

    fn find_installed(&self) -> Result<Binaries, String> {
        let driver = driver::find_binary("geckodriver", &home_join(".cargo/bin/geckodriver"))
            .ok_or_else(|| {
                missing(
                    self,
                    "geckodriver (on PATH or in ~/.cargo/bin)",
                    "cargo install geckodriver",
                )
            })?;
        let browser = first_existing(&[PathBuf::from("/usr/bin/firefox-esr")])
            .or_else(|| {
                ["firefox-esr", "firefox"]
                    .iter()
                    .find_map(|n| driver::find_binary(n, &[]))
            })
            .ok_or_else(|| {
                missing(
                    self,
                    "Firefox (/usr/bin/firefox-esr)",
                    "apt install firefox-esr",
                )
            })?;
        Ok(Binaries {
            driver,
            browser,
            xvfb: None,
        })
    }

    fn driver_command(&self, cmd: &mut Command, port: u16, _display: u32, _: Option<&Path>) {
        cmd.args(["--port", &port.to_string(), "--host", "127.0.0.1"]);
    }

    fn capabilities(&self, browser: &str, profile: &str) -> Json {
        json!({
            "browserName": "firefox",
            "moz:firefoxOptions": {
                "binary": browser,
                "args": ["-headless", "-profile", profile],
                "prefs": {
                    "dom.webgpu.enabled": true,
                    "gfx.webgpu.ignore-blocklist": true,
                },
            },
        })
    }
}
