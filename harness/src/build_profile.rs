// The cargo profile a build runs with, in words, for the run manifest: what `[profile.<name>]` of
// the workspace's Cargo.toml sets and the `CARGO_PROFILE_<NAME>_*` environment overrides. Used by
// build.rs (`include!`, for this gapbench and its native cases) and by the probe bundle (for the
// wasm build it starts), so the two are described the same way. Plain `//` comments: an inner
// doc comment cannot be `include!`d.

/// `[profile.<profile>]` of `cargo_toml` with `env` overrides (`CARGO_PROFILE_RELEASE_LTO`...),
/// e.g. `release (opt-level 3, debug false, codegen-units 256, incremental, lto off)`. Keys the
/// file does not set take cargo's defaults for release builds: 16 codegen units (256 when
/// incremental), no incremental build, no LTO; `inherits` is followed once.
pub fn describe_profile(
    cargo_toml: &str,
    profile: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    let section = |name: &str| -> Vec<(String, String)> {
        let header = format!("[profile.{name}]");
        let mut inside = false;
        let mut out = Vec::new();
        for line in cargo_toml.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.starts_with('[') {
                inside = line == header;
            } else if inside && let Some((k, v)) = line.split_once('=') {
                out.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
            }
        }
        out
    };
    let own = section(profile);
    let parent = own
        .iter()
        .find(|(k, _)| k == "inherits")
        .map(|(_, v)| section(v))
        .unwrap_or_default();
    let var = format!(
        "CARGO_PROFILE_{}_",
        profile.to_uppercase().replace('-', "_")
    );
    let get = |key: &str| -> Option<String> {
        env(&format!("{var}{}", key.to_uppercase().replace('-', "_")))
            .or_else(|| own.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
            .or_else(|| {
                parent
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
    };
    let incremental = env("CARGO_INCREMENTAL")
        .map(|v| v == "1")
        .or_else(|| get("incremental").map(|v| v == "true"))
        .unwrap_or(false);
    let units =
        get("codegen-units").unwrap_or_else(|| if incremental { "256" } else { "16" }.into());
    let lto = match get("lto").as_deref() {
        None | Some("false") | Some("off") => "off".to_string(),
        Some("true") => "fat".to_string(),
        Some(other) => other.to_string(),
    };
    format!(
        "{profile} (opt-level {}, debug {}, codegen-units {units}{}, lto {lto})",
        get("opt-level").unwrap_or_else(|| "3".into()),
        get("debug").unwrap_or_else(|| "false".into()),
        if incremental { ", incremental" } else { "" },
    )
}
