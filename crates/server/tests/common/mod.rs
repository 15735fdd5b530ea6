//! Shared by the server's integration tests: a `summit serve` on free ports with its own data
//! directory, and the CLI against that directory.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

pub(crate) mod ws;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) media: std::net::SocketAddr,
    /// The media TCP address (ICE over TCP), unless `--no-tcp`.
    pub(crate) media_tcp: Option<std::net::SocketAddr>,
    pub(crate) data: std::path::PathBuf,
    extra: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

pub(crate) fn start() -> Server {
    start_with(&[])
}

pub(crate) fn start_with(extra: &[&str]) -> Server {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data = std::env::temp_dir().join(format!("summit-proto-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    let (child, url, media, media_tcp) = spawn(&data, &extra);
    Server {
        child,
        url,
        media,
        media_tcp,
        data,
        extra,
    }
}

/// What `spawn` started: the process, its web address, and its UDP and TCP media addresses.
type Spawned = (
    Child,
    String,
    std::net::SocketAddr,
    Option<std::net::SocketAddr>,
);

/// Starts `summit serve` on `data`.
fn spawn(data: &std::path::Path, extra: &[String]) -> Spawned {
    let mut child = Command::new(env!("CARGO_BIN_EXE_summit"))
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--udp",
            "0",
            // Free ports for metrics too: tests run side by side.
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(u) = line.split("Web and signaling: ").nth(1) {
            break u.trim().to_owned();
        }
    };
    let media = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(u) = line.split("WebRTC media:      udp ").nth(1) {
            break u.trim().parse().unwrap();
        }
    };
    // The next line names the TCP address, unless TCP is off.
    let next = lines.next().expect("server exited").unwrap();
    let media_tcp = next
        .split("WebRTC over TCP:   tcp ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(|a| a.parse().unwrap());
    std::thread::spawn(move || for _ in lines {});
    (child, url, media, media_tcp)
}

impl Server {
    /// Stops the server as SIGTERM does and starts it again on the same data directory (new
    /// ports).
    pub(crate) fn restart(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let (child, url, media, media_tcp) = spawn(&self.data, &self.extra);
        (self.child, self.url, self.media, self.media_tcp) = (child, url, media, media_tcp);
    }

    /// Kills the server as a crash would (SIGKILL: nothing closed or flushed) and starts it
    /// again on the same data directory.
    pub(crate) fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, url, media, media_tcp) = spawn(&self.data, &self.extra);
        (self.child, self.url, self.media, self.media_tcp) = (child, url, media, media_tcp);
    }

    /// A query on the server's registry, for what the protocol does not show.
    pub(crate) fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.data.join("summit.db")).unwrap()
    }

    /// A lobby-skipping invitation token.
    pub(crate) fn token(&self, meeting: &str, name: &str) -> String {
        self.invite(meeting, name, &["--skip-lobby"]).0
    }

    /// An invitation made by `summit invite` with `extra` flags: (token, invitation id).
    pub(crate) fn invite(&self, meeting: &str, name: &str, extra: &[&str]) -> (String, String) {
        let mut args = vec!["invite", "--meeting", meeting, "--name", name, "--json"];
        args.extend_from_slice(extra);
        let v: serde_json::Value = serde_json::from_str(&self.summit(&args)).unwrap();
        let url = v["url"].as_str().unwrap();
        // The token, without the fragment that carries the meeting secret.
        let token = url.split("invite=").nth(1).unwrap();
        let token = token.split('#').next().unwrap().to_owned();
        (token, v["invitation_id"].as_str().unwrap().to_owned())
    }

    /// Runs a `summit` subcommand on this server's data directory; its exit status and output.
    pub(crate) fn summit_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_summit"))
            .current_dir(&self.data)
            .args(["--data", self.data.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs another `summit` subcommand on this server's data directory (also its working
    /// directory, so the organizer's `./summit-secrets` lands there); returns its stdout.
    pub(crate) fn summit(&self, args: &[&str]) -> String {
        let out = self.summit_output(args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}
