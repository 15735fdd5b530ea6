//! The bench's Janus 1.1: a private configuration (VideoRoom and the HTTP API only), the
//! process pinned like Summit, and its HTTP API driving one publisher or subscriber per peer.
//!
//! Janus skips loopback interfaces for ICE, so the bench runs in a network namespace with a
//! veth address (scripts/bench; docs/performance.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::peer::{FromPeer, PeerLink, ToPeer};

/// Every Janus plugin but VideoRoom, and every transport but HTTP, is switched off.
const OTHER_PLUGINS: &str = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so";
const OTHER_TRANSPORTS: &str = "libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,libjanus_rabbitmq.so,libjanus_nanomsg.so";

/// Events of each handle, delivered by the session's long poll.
type Routes = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Value>>>>;

/// A running Janus and one API session on it.
pub(crate) struct JanusServer {
    child: Child,
    conf: PathBuf,
    base: String,
    session: u64,
    agent: ureq::Agent,
    routes: Routes,
    stop: Arc<AtomicBool>,
}

impl Drop for JanusServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.conf);
    }
}

fn transaction() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// One POST to the API; Janus answers errors in the body.
fn post(agent: &ureq::Agent, url: &str, mut body: Value) -> anyhow::Result<Value> {
    body["transaction"] = transaction().into();
    let v: Value = agent
        .post(url)
        .send_json(&body)
        .with_context(|| format!("Janus API {url}"))?
        .body_mut()
        .read_json()?;
    if v["janus"] == "error" {
        bail!("Janus refused {}: {}", body["janus"], v["error"]);
    }
    if let Some(e) = v["plugindata"]["data"].get("error") {
        bail!("VideoRoom refused: {e}");
    }
    Ok(v)
}

fn write_config(conf: &Path, ip: IpAddr) -> anyhow::Result<()> {
    let _ = std::fs::remove_dir_all(conf);
    std::fs::create_dir_all(conf)?;
    for entry in
        std::fs::read_dir("/etc/janus").context("Janus is not installed (apt-get install janus)")?
    {
        let entry = entry?;
        std::fs::copy(entry.path(), conf.join(entry.file_name()))?;
    }
    let edit = |file: &str, pairs: &[(&str, String)]| -> anyhow::Result<()> {
        let path = conf.join(file);
        let mut text = std::fs::read_to_string(&path)?;
        for (from, to) in pairs {
            if !text.contains(from) {
                bail!("{file} has no '{from}': another Janus version than 1.1?");
            }
            text = text.replacen(from, to, 1);
        }
        Ok(std::fs::write(path, text)?)
    };
    edit(
        "janus.jcfg",
        &[
            (
                "#rtp_port_range = \"20000-40000\"",
                "rtp_port_range = \"40000-60000\"".into(),
            ),
            (
                "#ice_enforce_list = \"eth0\"",
                format!("ice_enforce_list = \"{ip}\""),
            ),
            (
                "#disable = \"libjanus_voicemail.so,libjanus_recordplay.so\"",
                format!("disable = \"{OTHER_PLUGINS}\""),
            ),
            (
                "#disable = \"libjanus_rabbitmq.so\"",
                format!("disable = \"{OTHER_TRANSPORTS}\""),
            ),
        ],
    )?;
    edit(
        "janus.transport.http.jcfg",
        &[("#ip = \"192.168.0.1\"", format!("ip = \"{ip}\""))],
    )
}

impl JanusServer {
    /// Starts Janus on `ip` (not loopback) with its configuration in `work`, on CPU `pin`.
    pub(crate) fn start(ip: IpAddr, work: &Path, pin: Option<usize>) -> anyhow::Result<Self> {
        if ip.is_loopback() {
            bail!("Janus cannot do ICE on loopback: run the side-by-side bench with scripts/bench (a network namespace)");
        }
        let conf = work.join(format!("janus-conf-{}", std::process::id()));
        write_config(&conf, ip)?;
        let mut cmd = super::pinned("janus".as_ref(), pin);
        let child = cmd
            .arg("-F")
            .arg(&conf)
            .arg("-L")
            .arg(conf.join("janus.log"))
            .args(["-N", "-o", "-E", &ip.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start janus (apt-get install janus)")?;
        let base = format!("http://{ip}:8088/janus");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(40)))
            .build()
            .into();
        // Ready in about 0.1 s; wait up to 10.
        let started = Instant::now();
        let session = loop {
            match post(&agent, &base, json!({"janus": "create"})) {
                Ok(v) => break v["data"]["id"].as_u64().context("no session id")?,
                Err(e) if started.elapsed() > Duration::from_secs(10) => {
                    return Err(e.context("Janus did not start"))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let server = Self {
            child,
            conf,
            base,
            session,
            agent,
            routes: Arc::new(Mutex::new(HashMap::new())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        server.poll_events();
        Ok(server)
    }

    /// The Janus process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Long-polls the session's events and routes each to its handle (also the keepalive).
    fn poll_events(&self) {
        let url = format!("{}/{}?maxev=10", self.base, self.session);
        let (agent, routes, stop) = (self.agent.clone(), self.routes.clone(), self.stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut r) = agent.get(&url).call() else {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                };
                let Ok(v) = r.body_mut().read_json::<Value>() else {
                    continue;
                };
                let events = match v {
                    Value::Array(a) => a,
                    other => vec![other],
                };
                let Ok(routes) = routes.lock() else { return };
                for e in events {
                    if let Some(tx) = e["sender"].as_u64().and_then(|h| routes.get(&h)) {
                        let _ = tx.send(e);
                    }
                }
            }
        });
    }

    /// A new VideoRoom handle and its event stream.
    async fn attach(&self) -> anyhow::Result<Handle> {
        let (agent, url) = (
            self.agent.clone(),
            format!("{}/{}", self.base, self.session),
        );
        let v = blocking(move || {
            post(
                &agent,
                &url,
                json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
            )
        })
        .await?;
        let id = v["data"]["id"].as_u64().context("no handle id")?;
        let (tx, events) = mpsc::unbounded_channel();
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(id, tx);
        }
        Ok(Handle {
            agent: self.agent.clone(),
            url: format!("{}/{}/{id}", self.base, self.session),
            events,
        })
    }

    /// Creates room `room` for this run (the stock room caps bitrate and publishers).
    pub(crate) async fn create_room(&self, room: u64) -> anyhow::Result<()> {
        let h = self.attach().await?;
        h.message(
            json!({"request": "create", "room": room, "publishers": 1000,
            "bitrate": 3_000_000, "videocodec": "vp8", "audiocodec": "opus"}),
            None,
        )
        .await?;
        Ok(())
    }

    /// Publishes peer `link`'s offer in `room`; returns its feed id once answered.
    pub(crate) async fn publish(
        &self,
        room: u64,
        name: String,
        mut link: PeerLink,
    ) -> anyhow::Result<(u64, PeerLink)> {
        let mut h = self.attach().await?;
        h.message(
            json!({"request": "join", "ptype": "publisher", "room": room, "display": name}),
            None,
        )
        .await?;
        let joined = h
            .event(|e| e["plugindata"]["data"]["videoroom"] == "joined")
            .await?;
        let feed = joined["plugindata"]["data"]["id"]
            .as_u64()
            .context("no feed id")?;
        let Some(FromPeer::PublishOffer { sdp, .. }) = link.from_peer.recv().await else {
            bail!("the peer made no offer");
        };
        h.message(
            json!({"request": "configure", "audio": true, "video": true}),
            Some(json!({"type": "offer", "sdp": sdp, "trickle": false})),
        )
        .await?;
        let answer = h.event(|e| e["jsep"]["type"] == "answer").await?;
        let sdp = answer["jsep"]["sdp"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let _ = link.to_peer.send(ToPeer::PublishAnswer(sdp));
        // Subscribers find the feed once its media connection is up.
        h.event(|e| e["janus"] == "webrtcup").await?;
        Ok((feed, link))
    }

    /// Subscribes peer `link` to `feeds` in `room` over one connection.
    pub(crate) async fn subscribe(
        &self,
        room: u64,
        feeds: &[u64],
        mut link: PeerLink,
    ) -> anyhow::Result<PeerLink> {
        let mut h = self.attach().await?;
        let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
        h.message(
            json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams}),
            None,
        )
        .await?;
        let offer = h.event(|e| e["jsep"]["type"] == "offer").await?;
        let sdp = offer["jsep"]["sdp"].as_str().unwrap_or_default().to_owned();
        let _ = link.to_peer.send(ToPeer::SubscribeOffer(sdp));
        let Some(FromPeer::SubscribeAnswer(answer)) = link.from_peer.recv().await else {
            bail!("the peer did not answer Janus's offer");
        };
        h.message(
            json!({"request": "start"}),
            Some(json!({"type": "answer", "sdp": answer})),
        )
        .await?;
        Ok(link)
    }
}

/// One plugin handle.
struct Handle {
    agent: ureq::Agent,
    url: String,
    events: mpsc::UnboundedReceiver<Value>,
}

impl Handle {
    async fn message(&self, body: Value, jsep: Option<Value>) -> anyhow::Result<Value> {
        let mut msg = json!({"janus": "message", "body": body});
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        let (agent, url) = (self.agent.clone(), self.url.clone());
        blocking(move || post(&agent, &url, msg)).await
    }

    /// The next event that `wanted` accepts, within 20 s; a plugin error ends the wait.
    async fn event(&mut self, wanted: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let e = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .context("Janus did not answer within 20 s")?
                .context("Janus's event stream ended")?;
            if let Some(err) = e["plugindata"]["data"].get("error") {
                bail!("VideoRoom: {err}");
            }
            if wanted(&e) {
                return Ok(e);
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .context("the API call panicked")?
}
