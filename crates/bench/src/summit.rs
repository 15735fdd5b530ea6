//! The bench's Summit: a `summit serve` child process on its own data directory, a meeting made
//! with `--no-e2ee` and a lobby-skipping invitation, and WebSocket signaling for each peer.

use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::peer::{FromPeer, PeerLink, ToPeer, SIMULCAST};

/// The speaker slots the bench runs Summit with (its default): each receiver hears the
/// loudest three.
pub(crate) const AUDIO_SLOTS: usize = 3;

/// A running Summit server under test.
pub(crate) struct SummitServer {
    child: Child,
    /// The `summit` binary under test.
    bin: PathBuf,
    data: PathBuf,
    ws_url: String,
    /// Where the server's metrics are (OpenMetrics text).
    metrics_url: Option<String>,
}

/// Where the server under test keeps its registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegistryPlace {
    /// Beside the bench's files, on disk, as deployed.
    Disk,
    /// In memory (a tmpfs, `/dev/shm`): the same SQLite, with nothing reaching a disk. Any
    /// build can run on it, so it is the baseline against which the registry's cost shows.
    Memory,
}

impl RegistryPlace {
    /// How rows name it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            RegistryPlace::Disk => "disk",
            RegistryPlace::Memory => "memory",
        }
    }
}

/// The media task's stall counters (`None` from a build that does not count them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Stalls {
    /// Turns over 5 ms, any cause.
    pub(crate) any: u64,
    /// Turns whose registry work alone took over 5 ms.
    pub(crate) registry: u64,
}

impl Drop for SummitServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn summit_command(bin: &Path, pin: Option<usize>) -> Command {
    super::pinned(bin.as_os_str(), pin)
}

impl SummitServer {
    /// Starts `bin serve` on `ip` with fresh data in `work` (or in memory), on CPU `pin` if
    /// given, with or without bandwidth estimation.
    pub(crate) fn start(
        bin: &Path,
        ip: IpAddr,
        work: &Path,
        registry: RegistryPlace,
        pin: Option<usize>,
        bwe: bool,
    ) -> anyhow::Result<Self> {
        let root = match registry {
            RegistryPlace::Disk => work.to_owned(),
            RegistryPlace::Memory => PathBuf::from("/dev/shm"),
        };
        let data = root.join(format!("summit-bench-data-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        // The server's log stays beside the content for a look after a failed run.
        let log = std::fs::File::create(work.join("summit-serve.log"))?;
        let mut child = summit_command(bin, pin)
            .arg("--data")
            .arg(&data)
            .args(["serve", "--listen", &format!("{ip}:0"), "--udp", "0"])
            .args(["--metrics-listen", &format!("{ip}:0")])
            // The bench's hundreds of peers come from one address and share meetings.
            .args([
                "--max-connections-per-ip",
                "100000",
                "--max-participants",
                "10000",
            ])
            .args((!bwe).then_some("--no-bandwidth-estimation"))
            .args(["--audio-slots", &AUDIO_SLOTS.to_string()])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {} serve", bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            bail!("no output from summit serve");
        };
        let mut lines = BufReader::new(stdout).lines();
        let mut metrics_url = None;
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                bail!("summit serve exited at start (is {ip} an address of this machine?)");
            };
            if let Some(u) = line.split("Metrics: ").nth(1) {
                metrics_url = Some(u.trim().to_owned());
            }
            if let Some(u) = line.split("Web and signaling: ").nth(1) {
                break u.trim().to_owned();
            }
        };
        // The banner lists the metrics after the web address: read on to it.
        if metrics_url.is_none() {
            for line in lines.by_ref().take(20) {
                let Ok(line) = line else { break };
                if let Some(u) = line.split("Metrics: ").nth(1) {
                    metrics_url = Some(u.trim().to_owned());
                    break;
                }
            }
        }
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child,
            bin: bin.to_owned(),
            data,
            ws_url: format!("{}/ws", url.replacen("http", "ws", 1)),
            metrics_url,
        })
    }

    /// The media task's stall counters now, if this build counts them.
    pub(crate) fn stalls(&self) -> anyhow::Result<Option<Stalls>> {
        let Some(url) = &self.metrics_url else {
            return Ok(None);
        };
        let text = ureq::get(url)
            .call()
            .with_context(|| format!("cannot read {url}"))?
            .body_mut()
            .read_to_string()?;
        let counter = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        };
        Ok(
            match (
                counter("summit_media_task_stalls_total"),
                counter("summit_media_task_registry_stalls_total"),
            ) {
                (Some(any), Some(registry)) => Some(Stalls { any, registry }),
                _ => None,
            },
        )
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Creates meeting `name` without end-to-end encryption; an invitation all peers share.
    pub(crate) fn meeting(&self, name: &str) -> anyhow::Result<String> {
        self.cli(&["meeting", "create", name, "--no-e2ee"])?;
        let out = self.cli(&[
            "invite",
            "--meeting",
            name,
            "--name",
            "bench",
            "--skip-lobby",
            "--uses",
            "100000",
            "--json",
        ])?;
        let v: Value = serde_json::from_str(&out).context("summit invite --json")?;
        let url = v["url"].as_str().unwrap_or_default();
        let token = url
            .split("invite=")
            .nth(1)
            .and_then(|t| t.split('#').next())
            .context("no token in the invitation")?;
        Ok(token.to_owned())
    }

    fn cli(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = summit_command(&self.bin, None)
            .current_dir(&self.data)
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .output()?;
        if !out.status.success() {
            bail!(
                "summit {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Signaling for one peer until its channels close: join, publish, answer subscribe offers,
    /// keep the heartbeat. Like a page, it joins with video slots and tells the server whose
    /// cameras it shows (`view`): everyone else's camera, up to a gallery page's 25, as they
    /// come and go.
    pub(crate) async fn signal(
        ws_url: String,
        meeting: String,
        token: String,
        mut link: PeerLink,
    ) -> anyhow::Result<()> {
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .context("cannot open the signaling WebSocket")?;
        let join = json!({"type": "join", "version": 2, "meeting": meeting, "invite": token, "video_slots": true});
        ws.send(Message::text(join.to_string())).await?;
        let mut others = Vec::new();
        let mut heartbeat = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                m = link.from_peer.recv() => {
                    let msg = match m {
                        Some(FromPeer::PublishOffer { sdp, audio, video, simulcast }) => {
                            let mut tracks = vec![json!({"mid": audio, "source": "microphone"})];
                            if let Some(v) = video {
                                let layers: Vec<_> = SIMULCAST
                                    .iter()
                                    .filter(|_| simulcast)
                                    .map(|(rid, width, height)| json!({"rid": rid, "width": width, "height": height}))
                                    .collect();
                                tracks.push(json!({"mid": v, "source": "camera", "layers": layers}));
                            }
                            json!({"type": "publish", "sdp": sdp, "tracks": tracks})
                        }
                        Some(FromPeer::SubscribeAnswer(sdp)) => json!({"type": "subscribe_answer", "sdp": sdp}),
                        None => return Ok(()),
                    };
                    ws.send(Message::text(msg.to_string())).await?;
                }
                m = ws.next() => {
                    let Some(Ok(Message::Text(text))) = m else {
                        if matches!(m, Some(Ok(_))) { continue; }
                        bail!("the server closed signaling: {m:?}");
                    };
                    let v: Value = serde_json::from_str(&text)?;
                    let sdp = || v["sdp"].as_str().unwrap_or_default().to_owned();
                    match v["type"].as_str() {
                        Some("publish_answer") => { let _ = link.to_peer.send(ToPeer::PublishAnswer(sdp())); }
                        Some("subscribe_offer") => { let _ = link.to_peer.send(ToPeer::SubscribeOffer(sdp())); }
                        Some("error") => bail!("the server refused: {text}"),
                        Some(kind @ ("welcome" | "participant_joined" | "participant_updated" | "participant_left")) => {
                            if let Some(view) = shown(&mut others, kind, &v) {
                                ws.send(Message::text(view.to_string())).await?;
                            }
                        }
                        _ => {}
                    }
                }
                _ = heartbeat.tick() => {
                    ws.send(Message::text(r#"{"type":"ping"}"#)).await?;
                }
            }
        }
    }

    /// The WebSocket URL of the signaling endpoint.
    pub(crate) fn ws_url(&self) -> &str {
        &self.ws_url
    }
}

/// Most camera tiles a page shows (a gallery page), and so the most a peer's `view` lists.
const VIEW_TILES: usize = 25;

/// Follows whose cameras are on from a `welcome`, `participant_joined`, `participant_updated`
/// or `participant_left` (`kind`, in `v`); returns the `view` to send when the first
/// [`VIEW_TILES`] of them changed. A peer asks for a slot per camera shown (a page asks for
/// a page of its layout's worth).
fn shown(cameras: &mut Vec<u64>, kind: &str, v: &Value) -> Option<Value> {
    let before: Vec<u64> = cameras.iter().take(VIEW_TILES).copied().collect();
    match kind {
        "welcome" => {
            cameras.clear();
            let list = v["participants"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            list.iter().for_each(|p| note(cameras, p));
        }
        "participant_left" => {
            let gone = v["participant_id"].as_u64();
            cameras.retain(|id| Some(*id) != gone);
        }
        _ => note(cameras, &v["participant"]),
    }
    let tiles: Vec<u64> = cameras.iter().take(VIEW_TILES).copied().collect();
    (kind == "welcome" || tiles != before).then(|| json!({"type": "view", "tiles": tiles}))
}

/// Notes whether participant `p` (a `ParticipantInfo`) has a camera on.
fn note(cameras: &mut Vec<u64>, p: &Value) {
    let Some(id) = p["id"].as_u64() else { return };
    let on = p["camera_off"] == json!(false);
    let known = cameras.contains(&id);
    if on && !known {
        cameras.push(id);
    } else if !on && known {
        cameras.retain(|c| *c != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_shows_every_camera_up_to_a_gallery_page() {
        let person = |id: u64, on: bool| json!({"id": id, "camera_off": !on});
        let mut cameras = Vec::new();
        let welcome = json!({"participants": [person(2, true), person(3, false), person(4, true)]});
        let view = shown(&mut cameras, "welcome", &welcome).unwrap();
        assert_eq!(view["tiles"], json!([2, 4]));
        let updated = json!({"participant": person(3, true)});
        let view = shown(&mut cameras, "participant_updated", &updated).unwrap();
        assert_eq!(view["tiles"], json!([2, 4, 3]));
        // Someone without a camera changes nothing shown.
        let joined = json!({"participant": person(9, false)});
        assert!(shown(&mut cameras, "participant_joined", &joined).is_none());
        let left = json!({"participant_id": 4});
        assert_eq!(
            shown(&mut cameras, "participant_left", &left).unwrap()["tiles"],
            json!([2, 3])
        );
        // Past a page, another camera changes nothing shown.
        cameras.extend(100..130);
        let joined = json!({"participant": person(999, true)});
        assert!(shown(&mut cameras, "participant_joined", &joined).is_none());
    }
}
