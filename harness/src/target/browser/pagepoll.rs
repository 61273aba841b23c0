//! "Start then poll": for cases whose page meters need the harness to act while the case runs
//! (real pointer clicks for the UI meter, hiding the tab for the background meter and the
//! calibration), the case is started with a short script and polled, and between polls the
//! harness clicks `#target` through WebDriver actions at a fixed cadence or shows another tab.

use super::{Failure, bounded, clip, or_busy};
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

/// The WebDriver session of a polled case, for its commands: each bounded by [`COMMAND_LIMIT`]
/// and the case timeout.
struct Session<'a> {
    client: &'a Client,
    driver: &'a str,
    timeout: Duration,
}

impl Session<'_> {
    /// One command, `what` naming it in a failure; `None` when the page's renderer was too busy
    /// to take it ([`or_busy`]).
    async fn busy_or<T>(
        &self,
        what: &str,
        fut: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> Result<Option<T>, Failure> {
        bounded(
            self.client,
            self.driver,
            what,
            COMMAND_LIMIT,
            self.timeout,
            or_busy(fut),
        )
        .await
    }
}

/// Show a new tab for `ms`, then close it and come back; the time actually away, in ms, or None
/// when the switch did not happen because the page's renderer was too busy to take the driver's
/// commands (the probe tab is shown again before returning).
async fn hide_for(s: &Session<'_>, ms: u64, deadline: Instant) -> Result<Option<f64>, Failure> {
    let client = s.client;
    let Some(me) = s
        .busy_or("reading the window handle", client.window())
        .await?
    else {
        return Ok(None);
    };
    let away = Instant::now();
    let switched = async {
        let Some(tab) = s
            .busy_or("opening a second tab", client.new_window(true))
            .await?
        else {
            return Ok(false);
        };
        if s.busy_or(
            "switching to the second tab",
            client.switch_to_window(tab.handle),
        )
        .await?
        .is_none()
        {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<bool, Failure>(true)
    }
    .await?;
    let away = away.elapsed().as_secs_f64() * 1e3;
    back_to(s, &me, deadline).await?;
    Ok(switched.then_some(away))
}

/// Close every tab but `me` and show `me`, waiting out a busy renderer until `deadline`.
async fn back_to(
    s: &Session<'_>,
    me: &fantoccini::wd::WindowHandle,
    deadline: Instant,
) -> Result<(), Failure> {
    let client = s.client;
    loop {
        let done = async {
            let Some(all) = s.busy_or("listing the tabs", client.windows()).await? else {
                return Ok(false);
            };
            for w in all.into_iter().filter(|w| w != me) {
                let shown = s
                    .busy_or("switching to the second tab", client.switch_to_window(w))
                    .await?;
                let closed = match shown {
                    Some(()) => s
                        .busy_or("closing the second tab", client.close_window())
                        .await?
                        .is_some(),
                    None => false,
                };
                if !closed {
                    return Ok(false);
                }
            }
            Ok::<bool, Failure>(
                s.busy_or(
                    "switching back to the probe tab",
                    client.switch_to_window(me.clone()),
                )
                .await?
                .is_some(),
            )
        }
        .await?;
        if done {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(busy_timeout(s.timeout));
        }
    }
}

fn busy_timeout(timeout: Duration) -> Failure {
    Failure {
        status: Status::Timeout,
        message: format!(
            "no reply within the case timeout of {} s (the page's renderer was too busy to answer the driver)",
            timeout.as_secs()
        ),
        reset: true,
    }
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
    // Found before the case starts: a page training on its main thread may not answer after.
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
    bounded(
        client,
        driver,
        "starting the case",
        COMMAND_LIMIT,
        timeout,
        client.execute(START_SCRIPT, vec![Json::String(spec)]),
    )
    .await?;
    let deadline = Instant::now() + timeout;
    let session = Session {
        client,
        driver,
        timeout,
    };
    let mut next_click = Instant::now() + CLICK_EVERY;
    let mut shown: Option<f64> = None;
    // How long the page's renderer kept the driver out (polls lost or answered late).
    let mut starved = Duration::ZERO;
    loop {
        if Instant::now() >= deadline {
            return Err(if starved.is_zero() {
                Failure {
                    status: Status::Timeout,
                    message: format!(
                        "no reply within the case timeout of {} s",
                        timeout.as_secs()
                    ),
                    reset: true,
                }
            } else {
                busy_timeout(timeout)
            });
        }
        // `shown` goes with every poll until one is answered (the page acknowledges the request).
        let arg = shown.map(Json::from).unwrap_or(Json::Null);
        let asked = Instant::now();
        let answer = session
            .busy_or("polling the case", client.execute(POLL_SCRIPT, vec![arg]))
            .await?;
        // A poll the page answers a second or more late counts as time it kept the driver out.
        if answer.is_none() || asked.elapsed() >= Duration::from_secs(1) {
            starved += asked.elapsed();
        }
        let Some(answer) = answer else { continue };
        shown = None;
        let text = answer.as_str().unwrap_or_default().to_string();
        let state: Json = serde_json::from_str(&text).map_err(|e| {
            failed(format!(
                "the probe's poll answer is not readable ({e}): {}",
                clip(&text, 300)
            ))
        })?;
        if state["done"] == Json::Bool(true) {
            let reply = state["reply"].as_str().unwrap_or_default();
            let mut reply = serde_json::from_str::<Reply>(reply).map_err(|e| {
                failed(format!(
                    "the probe's reply is not readable ({e}): {}",
                    clip(reply, 300)
                ))
            })?;
            note_starved(&mut reply, starved);
            return Ok(reply);
        }
        if hide_at.is_some_and(|t| Instant::now() >= t) {
            hide_at = None;
            hide_for(&session, HIDE_FOR.as_millis() as u64, deadline).await?;
            continue;
        }
        if let Some(ms) = state["request"]["hide_ms"].as_u64() {
            // -1: the switch did not happen (the page hears so and stops waiting for it).
            let away = hide_for(&session, ms.min(60_000), deadline).await?;
            shown = Some(away.unwrap_or(-1.0));
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

/// Tell the page meters how long the driver was kept out of the page, so a click or tab switch
/// that never went out is put down to the page, not to chance.
fn note_starved(reply: &mut Reply, starved: Duration) {
    if starved.is_zero() {
        return;
    }
    for meter in ["ui", "background"] {
        if let Some(m) = reply.meters.get_mut(meter).and_then(Json::as_object_mut) {
            m.insert(
                "driver_starved_ms".into(),
                Json::from(starved.as_secs_f64() * 1e3),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starvation_goes_to_the_meters_that_ran() {
        let mut reply: Reply =
            serde_json::from_str(r#"{"status":"ok","meters":{"ui":{"frames":[]}}}"#).unwrap();
        note_starved(&mut reply, Duration::ZERO);
        assert!(reply.meters["ui"].get("driver_starved_ms").is_none());
        note_starved(&mut reply, Duration::from_millis(61_500));
        assert_eq!(reply.meters["ui"]["driver_starved_ms"], 61_500.0);
        assert!(reply.meters.get("background").is_none());
    }
}
