//! One case on an open session: the page loaded, the probe run, its reply read, and every
//! WebDriver failure classified into a record status.

use super::*;

/// Runs one case on the page and hands back the probe's JSON reply (always a string).
pub(super) const RUN_SCRIPT: &str = "const [spec, done] = arguments; \
     window.gapbench.run(spec).then(done, e => done(JSON.stringify({status:'failed', message:String(e)})));";
pub(super) const READY_SCRIPT: &str = "return !!(window.gapbench && window.gapbench.ready);";

/// Why a case gave no reply.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) status: Status,
    pub(super) message: String,
    /// The session cannot be trusted for the next case.
    pub(super) reset: bool,
}

/// One case on an open session: load the page, wait for the probe, run, read the reply.
pub(super) async fn run_case(
    client: &Client,
    url: &str,
    spec: String,
    timeout: Duration,
    driver: &str,
    polled: Option<&Case>,
) -> Result<Reply, Failure> {
    bounded(
        client,
        driver,
        "loading the probe page",
        LOAD_TIMEOUT + SHORT_TIMEOUT,
        timeout,
        client.goto(url),
    )
    .await?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let ready = bounded(
            client,
            driver,
            "checking the probe is ready",
            SHORT_TIMEOUT,
            timeout,
            client.execute(READY_SCRIPT, vec![]),
        )
        .await?;
        if ready == Json::Bool(true) {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Failure {
                status: Status::Failed,
                message: format!(
                    "the probe page did not set window.gapbench.ready within {} s",
                    READY_TIMEOUT.as_secs()
                ),
                reset: true,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let limits = TimeoutConfiguration::new(Some(timeout), Some(LOAD_TIMEOUT), Some(Duration::ZERO));
    bounded(
        client,
        driver,
        "setting the script timeout",
        SHORT_TIMEOUT,
        timeout,
        client.update_timeouts(limits),
    )
    .await?;
    if let Some(case) = polled {
        return pagepoll::run_polled(client, case, spec, timeout, driver).await;
    }
    let answer = bounded(
        client,
        driver,
        "running the case",
        timeout + SCRIPT_GRACE,
        timeout,
        client.execute_async(RUN_SCRIPT, vec![Json::String(spec)]),
    )
    .await?;
    match answer {
        Json::String(text) => serde_json::from_str::<Reply>(&text).map_err(|e| Failure {
            status: Status::Failed,
            message: format!(
                "the probe's reply is not readable ({e}): {}",
                clip(&text, 300)
            ),
            reset: false,
        }),
        other => Err(non_string_answer(client, url, &other, driver).await),
    }
}

/// The probe always answers a string; anything else means the page went away under the script.
/// Firefox answers `null` when the tab's content process dies: ask the page where it is now to
/// tell a crash from a broken probe. Either way the next case gets a fresh session.
pub(super) async fn non_string_answer(
    client: &Client,
    url: &str,
    answer: &Json,
    driver: &str,
) -> Failure {
    let answered = clip(&answer.to_string(), 300);
    let now = tokio::time::timeout(
        SHORT_TIMEOUT,
        client.execute("return String(location.href)", vec![]),
    )
    .await;
    let (status, message) = match now {
        Err(_) => (
            Status::Crashed,
            format!(
                "the page stopped answering while running the case (the script answered {answered}; then {driver} did not answer within {} s)",
                SHORT_TIMEOUT.as_secs()
            ),
        ),
        Ok(Err(e)) => (
            Status::Crashed,
            format!(
                "the page's process died while running the case (the script answered {answered}; then {driver}: {})",
                driver_text(&e)
            ),
        ),
        Ok(Ok(Json::String(href))) if href == url => (
            Status::Failed,
            format!("the probe answered something other than a string: {answered}"),
        ),
        Ok(Ok(href)) => (
            Status::Crashed,
            format!(
                "the page's process died while running the case (the script answered {answered}; the tab now shows {})",
                clip(&href.to_string(), 200)
            ),
        ),
    };
    Failure {
        status,
        message,
        reset: true,
    }
}

/// Await one WebDriver command with a limit, turning its failure into a record status.
pub(super) async fn bounded<T>(
    client: &Client,
    driver: &str,
    what: &str,
    limit: Duration,
    case_timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, CmdError>>,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, fut).await {
        Err(_) => Err(Failure {
            status: Status::Timeout,
            message: format!(
                "{driver} did not answer within {} s while {what}",
                limit.as_secs()
            ),
            reset: true,
        }),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(client, &e, driver, what, case_timeout).await),
    }
}

/// `fut`, with a renderer too busy to answer as `Ok(None)` rather than an error (for [`bounded`]):
/// chromedriver gives up on a page whose main thread does not let its command in within the
/// page-load timeout (`Timed out receiving message from renderer`), which a page training on its
/// main thread with `scheduler.yield()` does for as long as it trains. The caller decides how
/// long to wait.
pub(super) async fn or_busy<T>(
    fut: impl std::future::Future<Output = Result<T, CmdError>>,
) -> Result<Option<T>, CmdError> {
    match fut.await {
        Err(e) if renderer_busy(&e) => Ok(None),
        r => r.map(Some),
    }
}

/// chromedriver's word for a renderer that did not take its command in time (the page's main
/// thread busy or starving the driver's tasks); a crashed renderer is worded otherwise.
pub(super) fn renderer_busy(e: &CmdError) -> bool {
    matches!(e, CmdError::Standard(w) if w.message.contains("Timed out receiving message from renderer"))
}

/// What the driver said, verbatim (one line).
pub(super) fn driver_text(e: &CmdError) -> String {
    let text = match e {
        CmdError::Standard(w) => format!("{}: {}", w.error(), w.message),
        CmdError::NotW3C(Json::String(s)) => s.clone(),
        CmdError::NotW3C(v) => v.to_string(),
        other => other.to_string(),
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Errors that mean the page or the browser is gone: Chromium's non-W3C `tab crashed` and
/// `session deleted because of page crash`, Firefox's lost Marionette connection, WebKit's
/// `Could not parse script result`, a vanished session or window, a lost driver connection.
pub(super) fn looks_crashed(e: &CmdError) -> bool {
    const SIGNS: [&str; 7] = [
        "crash",
        "Could not parse script result",
        "Failed to decode response from marionette",
        "browser has closed",
        "not connected to DevTools",
        "disconnected",
        "without establishing a connection",
    ];
    match e {
        CmdError::Standard(w) => {
            matches!(
                w.error,
                ErrorStatus::InvalidSessionId | ErrorStatus::NoSuchWindow
            ) || SIGNS.iter().any(|s| w.message.contains(s))
        }
        CmdError::NotW3C(v) => {
            let s = v.to_string();
            SIGNS.iter().any(|sign| s.contains(sign))
        }
        CmdError::Lost(_) | CmdError::Failed(_) | CmdError::FailedC(_) => true,
        _ => false,
    }
}

pub(super) async fn classify(
    client: &Client,
    e: &CmdError,
    driver: &str,
    what: &str,
    case_timeout: Duration,
) -> Failure {
    let said = driver_text(e);
    if let CmdError::Standard(w) = e
        && w.error == ErrorStatus::ScriptTimeout
    {
        return Failure {
            status: Status::Timeout,
            message: format!(
                "no reply within the case timeout of {} s ({driver}: {said})",
                case_timeout.as_secs()
            ),
            reset: true,
        };
    }
    // Does the session still answer? It tells a page whose process died (the browser shows a
    // crashed tab and answers) from a browser that is gone, whichever way the driver worded it:
    // Firefox's `Failed to decode response from marionette` comes from either, as the race
    // between the content process's death and the script's reply goes.
    let alive = matches!(
        tokio::time::timeout(SHORT_TIMEOUT, client.execute("return 1;", vec![])).await,
        Ok(Ok(_))
    );
    if looks_crashed(e) {
        let message = if alive {
            format!(
                "the page's process died while {what} ({driver}: {said}; the browser still answers)"
            )
        } else {
            format!("the browser crashed while {what} ({driver}: {said})")
        };
        return Failure {
            status: Status::Crashed,
            message,
            reset: true,
        };
    }
    // Anything else: crashed if the session no longer answers, failed if it does.
    if alive {
        Failure {
            status: Status::Failed,
            message: format!("{what} failed ({driver}: {said})"),
            reset: false,
        }
    } else {
        Failure {
            status: Status::Crashed,
            message: format!("the browser stopped answering while {what} ({driver}: {said})"),
            reset: true,
        }
    }
}

pub(super) fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}
