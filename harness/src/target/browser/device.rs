//! Devices as data: which device a browser session runs on (a Grid node's URI, from the Grid's
//! own API; the endpoint where it says nothing) and what its probe page tells about it (user
//! agent, platform, cores, device memory, the WebGPU adapter, secure context, cross-origin
//! isolation). Read once per session, after its first case; every outcome of the session carries it.

use super::*;
use crate::manifest::Device;
use http_body_util::BodyExt;

/// What a remote case does not measure, in the fleet list and in the skipped memory rows.
pub const NOT_MEASURED_REMOTE: &str = "memory (no process on this machine to sample: no peak_pss/mean_pss, no memory cap; the case's timeout still applies)";

/// The page's facts as JSON text: navigator fields, the WebGPU adapter's info (3 s at most),
/// and whether the page is a secure context and cross-origin isolated.
const PAGE_FACTS_SCRIPT: &str = r#"
const done = arguments[arguments.length - 1];
const n = navigator;
const out = {
  user_agent: n.userAgent || "", platform: n.platform || "",
  cores: n.hardwareConcurrency || null, memory: n.deviceMemory || null,
  secure: self.isSecureContext === true, isolated: self.crossOriginIsolated === true, gpu: "",
};
const finish = () => done(JSON.stringify(out));
if (!n.gpu) { out.gpu = out.secure ? "no WebGPU" : "no WebGPU (not a secure context)"; finish(); }
else {
  const ask = n.gpu.requestAdapter().then((a) => {
    if (!a) { out.gpu = "no WebGPU adapter"; return; }
    const i = a.info || {};
    out.gpu = [i.vendor, i.architecture, i.device, i.description].filter((x) => x).join(" ")
      || "WebGPU adapter (no info)";
  }, (e) => { out.gpu = "requestAdapter failed: " + e; });
  Promise.race([ask, new Promise((r) => setTimeout(r, 3000))]).then(finish, finish);
}
"#;

/// The page's facts, or None when the page does not answer within [`SHORT_TIMEOUT`].
pub(super) async fn page_facts(client: &Client) -> Option<Json> {
    let call = client.execute_async(PAGE_FACTS_SCRIPT, vec![]);
    match tokio::time::timeout(SHORT_TIMEOUT, call).await {
        Ok(Ok(Json::String(text))) => serde_json::from_str(&text).ok(),
        _ => None,
    }
}

/// Fill `d` from [`page_facts`]' answer.
pub(super) fn apply_facts(d: &mut Device, j: &Json) {
    let s = |k: &str| j[k].as_str().unwrap_or("").to_string();
    d.user_agent = s("user_agent");
    d.platform = s("platform");
    d.gpu = s("gpu");
    d.hardware_concurrency = j["cores"].as_u64();
    d.device_memory_gb = j["memory"].as_f64();
    d.secure_context = j["secure"].as_bool();
    d.cross_origin_isolated = j["isolated"].as_bool();
}

/// `GET url` on a plain http endpoint, its body as JSON; None on anything else.
async fn get_json(url: &str) -> Option<Json> {
    use hyper_util::client::legacy::Client as HttpClient;
    let uri: hyper::Uri = url.parse().ok()?;
    let client: HttpClient<HttpConnector, http_body_util::Empty<hyper::body::Bytes>> =
        HttpClient::builder(hyper_util::rt::TokioExecutor::new()).build(HttpConnector::new());
    let fetch = async {
        let resp = client.get(uri).await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        serde_json::from_slice::<Json>(&body).ok()
    };
    tokio::time::timeout(SHORT_TIMEOUT, fetch).await.ok()?
}

/// `http://host:port` of an endpoint URL.
fn origin(endpoint: &str) -> &str {
    let rest = endpoint.strip_prefix("http://").unwrap_or(endpoint);
    let end = rest
        .find('/')
        .map_or(endpoint.len(), |i| i + endpoint.len() - rest.len());
    &endpoint[..end]
}

/// The URI of the Grid node running `session`: Selenium Grid 3 answers
/// `/grid/api/testsession?session=ID` with the node as `proxyId`; Grid 4 lists its nodes and
/// their sessions at `/status`. None for an endpoint that is neither (a cloud provider, a
/// driver): the endpoint then names the device.
pub(super) async fn grid_node(endpoint: &str, session: &str) -> Option<String> {
    let base = origin(endpoint);
    let grid3 = format!("{base}/grid/api/testsession?session={session}");
    if let Some(j) = get_json(&grid3).await
        && let Some(node) = j["proxyId"].as_str()
    {
        return Some(node.trim_end_matches('/').to_string());
    }
    let status = get_json(&format!("{base}/status")).await?;
    node_of(&status, session)
}

/// How many slots the Grid at `endpoint` lists for `engine`'s browser (Selenium Grid 4's
/// `/status`); None where it does not say (Grid 3, a cloud endpoint, a driver).
pub fn grid_slots(endpoint: &str, engine: &str) -> Option<usize> {
    let caps = engines::by_name(engine)?.capabilities("", "");
    let browser = caps["browserName"].as_str()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let status = rt.block_on(get_json(&format!("{}/status", origin(endpoint))))?;
    slots_for(&status, browser)
}

/// The slots for `browser` in a Grid 4 `/status` answer (None when it lists none).
fn slots_for(status: &Json, browser: &str) -> Option<usize> {
    let n = status["value"]["nodes"]
        .as_array()?
        .iter()
        .filter_map(|n| n["slots"].as_array())
        .flatten()
        .filter(|s| s["stereotype"]["browserName"].as_str() == Some(browser))
        .count();
    (n > 0).then_some(n)
}

/// The node of `session` in a Grid 4 `/status` answer.
fn node_of(status: &Json, session: &str) -> Option<String> {
    let nodes = status["value"]["nodes"].as_array()?;
    nodes.iter().find_map(|n| {
        let slots = n["slots"].as_array()?;
        slots
            .iter()
            .any(|s| s["session"]["sessionId"].as_str() == Some(session))
            .then(|| {
                n["uri"]
                    .as_str()
                    .map(|u| u.trim_end_matches('/').to_string())
            })?
    })
}

impl BrowserTarget {
    /// The device of a session just opened: the Grid node where the Grid says, else the
    /// endpoint; `local` for a local driver.
    pub(super) fn session_device(&self, client: &Client) -> Device {
        let mut d = Device {
            id: "local".into(),
            engine: self.name.clone(),
            engine_version: self.version.clone(),
            ..Device::default()
        };
        if let Some(endpoint) = &self.remote {
            d.endpoint = endpoint.clone();
            d.not_measured = NOT_MEASURED_REMOTE.into();
            let rt = self.rt.as_ref().expect("runtime started");
            let node = rt.block_on(async {
                let id = client.session_id().await.ok().flatten()?;
                grid_node(endpoint, &id).await
            });
            d.id = node.unwrap_or_else(|| endpoint.trim_end_matches('/').to_string());
        }
        d
    }

    /// The device for an outcome: the session's, or (no session) the endpoint's.
    pub(super) fn outcome_device(&self) -> Option<Device> {
        if let Some(d) = self.session.as_ref().map(|s| s.device.clone()) {
            return Some(d);
        }
        self.remote.as_ref().map(|endpoint| Device {
            id: endpoint.trim_end_matches('/').to_string(),
            endpoint: endpoint.clone(),
            engine: self.name.clone(),
            engine_version: self.version.clone(),
            not_measured: NOT_MEASURED_REMOTE.into(),
            ..Device::default()
        })
    }

    /// Read the page's facts once per session (after a case, while its page is still open).
    pub(super) fn read_page_facts(&mut self) {
        let Some(rt) = self.rt.as_ref() else { return };
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if session.facts_read {
            return;
        }
        session.facts_read = true;
        if let Some(j) = rt.block_on(page_facts(&session.client)) {
            apply_facts(&mut session.device, &j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid4_status_names_the_node_of_a_session() {
        let status = serde_json::json!({"value": {"ready": true, "nodes": [
            {"uri": "http://10.0.0.2:5555", "slots": [{"session": null}]},
            {"uri": "http://10.0.0.3:5555/", "slots": [{"session": {"sessionId": "abc"}}]},
        ]}});
        assert_eq!(
            node_of(&status, "abc").as_deref(),
            Some("http://10.0.0.3:5555")
        );
        assert_eq!(node_of(&status, "zzz"), None);
        assert_eq!(node_of(&serde_json::json!({}), "abc"), None);
        let two = serde_json::json!({"value": {"nodes": [
            {"slots": [{"stereotype": {"browserName": "chrome"}}]},
            {"slots": [{"stereotype": {"browserName": "chrome"}}, {"stereotype": {"browserName": "firefox"}}]},
        ]}});
        assert_eq!(slots_for(&two, "chrome"), Some(2));
        assert_eq!(slots_for(&two, "firefox"), Some(1));
        assert_eq!(slots_for(&two, "MiniBrowser"), None);
    }

    #[test]
    fn origins_of_endpoints() {
        assert_eq!(origin("http://h:4444/wd/hub/"), "http://h:4444");
        assert_eq!(origin("http://h:4444"), "http://h:4444");
    }

    #[test]
    fn page_facts_fill_a_device() {
        let mut d = Device::default();
        let j = serde_json::json!({"user_agent": "UA", "platform": "Linux x86_64", "cores": 8,
            "memory": 4, "secure": true, "isolated": false, "gpu": "no WebGPU"});
        apply_facts(&mut d, &j);
        assert_eq!(d.user_agent, "UA");
        assert_eq!(d.hardware_concurrency, Some(8));
        assert_eq!(d.device_memory_gb, Some(4.0));
        assert_eq!(d.secure_context, Some(true));
        assert_eq!(d.cross_origin_isolated, Some(false));
    }
}
