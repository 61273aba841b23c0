//! Chromium over chromedriver, headless.

use super::{Engine, missing};
use crate::target::browser::discovery::{Binaries, first_existing};
use crate::target::browser::driver;
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Chromium;

impl Engine for Chromium {
    fn name(&self) -> &'static str {
        "chromium"
    }

    fn about(&self) -> &'static str {
        "the wasm probe in Chromium over chromedriver"
    }

    fn driver_name(&self) -> &'static str {
        "chromedriver"
    }

    fn find_installed(&self) -> Result<Binaries, String> {
        let driver = driver::find_binary("chromedriver", &[]).ok_or_else(|| {
            missing(
                self,
                "chromedriver (on PATH)",
                "apt install chromium-driver",
            )
        })?;
        let browser = first_existing(&[PathBuf::from("/usr/lib/chromium/chromium")])
            .or_else(|| {
                ["chromium", "chromium-browser", "google-chrome"]
                    .iter()
                    .find_map(|n| driver::find_binary(n, &[]))
            })
            .ok_or_else(|| {
                missing(
                    self,
                    "the Chromium browser (/usr/lib/chromium/chromium)",
                    "apt install chromium",
                )
            })?;
        Ok(Binaries {
            driver,
            browser,
            xvfb: None,
        })
    }

    fn driver_command(&self, cmd: &mut Command, port: u16, _display: u32, _: Option<&Path>) {
        cmd.arg(format!("--port={port}"));
    }

    fn capabilities(&self, browser: &str, profile: &str) -> Json {
        json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": browser,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    format!("--user-data-dir={profile}"),
                    "--enable-unsafe-webgpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                ],
                "excludeSwitches": [
                    "disable-background-timer-throttling",
                    "disable-backgrounding-occluded-windows",
                    "enable-automation",
                ],
            },
        })
    }
}
