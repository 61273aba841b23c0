use super::*;
use fantoccini::error::WebDriver;

#[test]
fn driver_errors_map_to_statuses() {
    let tab = CmdError::NotW3C(Json::String("tab crashed".into()));
    assert!(looks_crashed(&tab));
    assert_eq!(driver_text(&tab), "tab crashed");
    let wk = CmdError::Standard(WebDriver::new(
        ErrorStatus::UnknownError,
        "Could not parse script result",
    ));
    assert!(looks_crashed(&wk));
    assert_eq!(
        driver_text(&wk),
        "unknown error: Could not parse script result"
    );
    let ff = CmdError::Standard(WebDriver::new(
        ErrorStatus::UnknownError,
        "Failed to decode response from marionette",
    ));
    assert!(looks_crashed(&ff));
    let gone = CmdError::Standard(WebDriver::new(
        ErrorStatus::InvalidSessionId,
        "Tried to run command without establishing a connection",
    ));
    assert!(looks_crashed(&gone));
    let js = CmdError::Standard(WebDriver::new(
        ErrorStatus::JavascriptError,
        "ReferenceError: x is not defined",
    ));
    assert!(!looks_crashed(&js));
    let multi = CmdError::Standard(WebDriver::new(
        ErrorStatus::UnknownError,
        "tab crashed\n  (Session info: chrome=1)",
    ));
    assert_eq!(
        driver_text(&multi),
        "unknown error: tab crashed (Session info: chrome=1)"
    );
}

#[test]
fn a_starved_renderer_is_busy_not_crashed() {
    // What chromedriver said in CI while a main-thread case trained with `scheduler.yield()`.
    let busy = CmdError::Standard(WebDriver::new(
        ErrorStatus::Timeout,
        "Timed out receiving message from renderer: 60.000\n  (Session info: chrome=156.0.8078.114)",
    ));
    assert!(renderer_busy(&busy));
    assert!(!looks_crashed(&busy));
    let crashed = CmdError::NotW3C(Json::String("tab crashed".into()));
    assert!(!renderer_busy(&crashed));
    let script = CmdError::Standard(WebDriver::new(ErrorStatus::ScriptTimeout, "script timeout"));
    assert!(!renderer_busy(&script));
}

#[test]
fn new_starts_nothing_and_unknown_engines_fail_cleanly() {
    let t = BrowserTarget::new("chromium");
    assert!(t.rt.is_none() && t.driver.is_none() && t.server.is_none());
    assert_eq!(t.name(), "chromium");
    assert!(t.profile_prefix().contains("gapbench-profile-chromium-"));
    let mut bad = BrowserTarget::new("netscape");
    let case = crate::plan::Case {
        id: "mlp/0.1m/netscape/ndarray-simd/main/r1".into(),
        workload: "mlp".into(),
        size: "0.1m".into(),
        target: "netscape".into(),
        backend: "ndarray".into(),
        simd: Some(crate::scenario::Simd::On),
        context: "main".into(),
        repetition: 1,
        seed: 1,
        warmup: 0,
        steps: 1,
        epochs: None,
        timeout_s: 10,
        meters: vec![],
        classes: None,
        samples_per_class: None,
        fault: None,
        max_extra_warmup: 0,
        threads: None,
    };
    let o = bad.run(&case, &mut crate::target::NoWatch);
    assert_eq!(o.status, Status::Failed);
    assert!(o.message.contains("netscape"));
    let spec: Json = serde_json::from_str(&BrowserTarget::spec_json(&case)).unwrap();
    assert_eq!(spec["simd"], Json::Bool(true));
    assert_eq!(spec["context"], Json::String("main".into()));
}
