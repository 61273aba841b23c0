//! The browser engines. Each is a module with a type implementing [`Engine`]: where its programs
//! are, how its WebDriver server starts, and what its sessions ask for. [`ENGINES`] lists them,
//! one line each; the target list, `gapbench list` and `target::open` read it. Everything else
//! (the driver's and the session's lifecycle, the case protocol, the memory cap) is the same for
//! every engine and lives in `target/browser/`.

mod chromium;
mod firefox;
pub mod webkit;

use super::discovery::Binaries;
use serde_json::Value as Json;
use std::path::Path;
use std::process::Command;

/// A browser engine the browser target drives over WebDriver.
pub trait Engine: Sync {
    /// The target's name (`chromium`), also in `GAPBENCH_<NAME>_BINARY`.
    fn name(&self) -> &'static str;
    /// What `gapbench list` says of the target.
    fn about(&self) -> &'static str;
    /// Its WebDriver server's name, for messages.
    fn driver_name(&self) -> &'static str;
    /// The installed driver and browser (and Xvfb where [`Engine::needs_display`]); the error
    /// says what is missing and how to install it ([`missing`]).
    fn find_installed(&self) -> Result<Binaries, String>;
    /// The browser needs an X display: the target starts Xvfb before the driver.
    fn needs_display(&self) -> bool {
        false
    }
    /// The browser keeps its data in a profile made with the driver (passed to
    /// [`Engine::driver_command`]), not in a fresh profile per session (passed to
    /// [`Engine::capabilities`]).
    fn profile_with_driver(&self) -> bool {
        false
    }
    /// The driver's arguments and environment to serve on `port`. `display` is Xvfb's display
    /// where [`Engine::needs_display`]; `profile` the driver's profile where
    /// [`Engine::profile_with_driver`].
    fn driver_command(&self, cmd: &mut Command, port: u16, display: u32, profile: Option<&Path>);
    /// The session's capabilities for the browser binary `browser` with the profile directory
    /// `profile` (either may be empty: a remote end without them here).
    fn capabilities(&self, browser: &str, profile: &str) -> Json;
}

/// Every engine, one line each.
pub const ENGINES: [&dyn Engine; 3] = [&chromium::Chromium, &firefox::Firefox, &webkit::Webkit];

/// The engine named `name`.
pub fn by_name(name: &str) -> Option<&'static dyn Engine> {
    ENGINES.iter().copied().find(|e| e.name() == name)
}

/// What [`Engine::find_installed`] says when `what` is missing.
fn missing(engine: &dyn Engine, what: &str, install: &str) -> String {
    format!(
        "{what} not found ({install}); {} cases are skipped",
        engine.name()
    )
}
