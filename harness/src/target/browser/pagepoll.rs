//! "Start then poll": for cases whose page meters need the harness to act while the case runs
//! (real pointer clicks for the UI meter, hiding the tab for the background meter and the
//! calibration), the case is started with a short script and polled, and between polls the
//! harness clicks `#target` through WebDriver actions at a fixed cadence or shows another tab.

use super::{Failure, bounded, clip};
use crate::plan::Case;
use crate::record::Status;
use crate::target::Reply;
use fantoccini::Client;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::wd::Locator;
use serde_json::Value as Json;
use std::time::{Duration, Instant};

/// Clicks go to the page this often while a UI-metered case runs.
pub const CLICK_EVERY: Duration = Duration::from_millis(250);
const POLL_EVERY: Duration = Duration::from_millis(50);
use crate::target::page::{HIDE_AFTER, HIDE_FOR};
/// Longest single poll or click (a page busy in a long step answers late).
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

const START_SCRIPT: &str = "return window.gapbench.start(arguments[0]);";
const POLL_SCRIPT: &str = "return window.gapbench.poll(arguments[0]);";

/// Whether `case` needs the start-then-poll mode.
pub fn needs_polling(case: &Case) -> bool {
    case.workload == "calibrate" || case.meters.iter().any(|m| m == "ui" || m == "background")
}

fn failed(message: String) -> Failure {
    Failure {
        status: Status::Failed,
        message,
        reset: false,
    }
}

/// Click the page's `#target` once (move, press, release).
async fn click(client: &Client, target: &fantoccini::elements::Element) -> Result<(), String> {
    let mouse = MouseActions::new("gapbench-mouse".into())
        .then(PointerAction::MoveToElement {
            element: target.clone(),
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client
        .perform_actions(mouse)
        .await
        .map_err(|e| e.to_string())
}

/// Show a new tab for `ms`, then close it and come back; the time actually away, in ms.
async fn hide_for(
    client: &Client,
    ms: u64,
    driver: &str,
    timeout: Duration,
) -> Result<f64, Failure> {
    let me = bounded(
        client,
        driver,
        "reading the window handle",
        COMMAND_LIMIT,
        timeout,
        client.window(),
    )
    .await?;
    let tab = bounded(
        client,
        driver,
        "opening a second tab",
        COMMAND_LIMIT,
        timeout,
        client.new_window(true),
    )
    .await?;
    bounded(
        client,
        driver,
        "switching to the second tab",
        COMMAND_LIMIT,
        timeout,
        client.switch_to_window(tab.handle),
    )
    .await?;
    let away = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    bounded(
        client,
        driver,
        "closing the second tab",
        COMMAND_LIMIT,
        timeout,
        client.close_window(),
    )
    .await?;
    bounded(
        client,
        driver,
        "switching back to the probe tab",
        COMMAND_LIMIT,
        timeout,
        client.switch_to_window(me),
    )
    .await?;
    Ok(away.elapsed().as_secs_f64() * 1e3)
}

/// Start the case on the loaded page and poll it to the end, clicking and hiding as asked.
pub async fn run_polled(
    client: &Client,
    case: &Case,
    spec: String,
    timeout: Duration,
    driver: &str,
) -> Result<Reply, Failure> {
    let clicks = case.meters.iter().any(|m| m == "ui");
    let mut hide_at = case
        .meters
        .iter()
        .any(|m| m == "background")
        .then(|| Instant::now() + HIDE_AFTER);
    bounded(
        client,
        driver,
        "starting the case",
        COMMAND_LIMIT,
        timeout,
        client.execute(START_SCRIPT, vec![Json::String(spec)]),
    )
    .await?;
    let target = if clicks {
        match client.find(Locator::Id("target")).await {
            Ok(t) => Some(t),
            Err(e) => {
                return Err(failed(format!(
                    "the probe page has no #target to click: {e}"
                )));
            }
        }
    } else {
        None
    };
    let deadline = Instant::now() + timeout;
    let mut next_click = Instant::now() + CLICK_EVERY;
    let mut shown: Option<f64> = None;
    loop {
        if Instant::now() >= deadline {
            return Err(Failure {
                status: Status::Timeout,
                message: format!(
                    "no reply within the case timeout of {} s",
                    timeout.as_secs()
                ),
                reset: true,
            });
        }
        let arg = shown.take().map(Json::from).unwrap_or(Json::Null);
        let answer = bounded(
            client,
            driver,
            "polling the case",
            COMMAND_LIMIT,
            timeout,
            client.execute(POLL_SCRIPT, vec![arg]),
        )
        .await?;
        let text = answer.as_str().unwrap_or_default().to_string();
        let state: Json = serde_json::from_str(&text).map_err(|e| {
            failed(format!(
                "the probe's poll answer is not readable ({e}): {}",
                clip(&text, 300)
            ))
        })?;
        if state["done"] == Json::Bool(true) {
            let reply = state["reply"].as_str().unwrap_or_default();
            return serde_json::from_str::<Reply>(reply).map_err(|e| {
                failed(format!(
                    "the probe's reply is not readable ({e}): {}",
                    clip(reply, 300)
                ))
            });
        }
        if hide_at.is_some_and(|t| Instant::now() >= t) {
            hide_at = None;
            hide_for(client, HIDE_FOR.as_millis() as u64, driver, timeout).await?;
            continue;
        }
        if let Some(ms) = state["request"]["hide_ms"].as_u64() {
            shown = Some(hide_for(client, ms.min(60_000), driver, timeout).await?);
            next_click = Instant::now() + CLICK_EVERY;
            continue;
        }
        if let Some(t) = &target
            && Instant::now() >= next_click
        {
            // A click the browser refuses is not a measurement; the next one may land.
            let _ = tokio::time::timeout(COMMAND_LIMIT, click(client, t)).await;
            next_click += CLICK_EVERY;
            if next_click < Instant::now() {
                next_click = Instant::now() + CLICK_EVERY;
            }
        }
        let wait = if target.is_some() {
            next_click
                .saturating_duration_since(Instant::now())
                .min(POLL_EVERY)
        } else {
            POLL_EVERY
        };
        tokio::time::sleep(wait).await;
    }
}
