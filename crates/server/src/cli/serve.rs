//! `summit serve`: wires the runtime together: the SFU task, the media sockets, the registry
//! poller, metrics and the HTTP server.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use summit_core::SfuConfig;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use std::sync::Arc;

use crate::registry::actor::Registry;
use crate::registry::recorder::Recorder;
use crate::registry::store;
use crate::registry::DataDir;
use crate::registry::RegistryBackend;
use crate::runtime::limits::{ConnectionCounts, Limits, ResumeFailures};
use crate::runtime::{http, metrics, sfu_task, tcp, udp};
use summit_recording::Recordings;

/// Media TCP connections the server holds at once (two per page that uses them).
const MAX_MEDIA_TCP_CONNECTIONS: usize = 4096;

/// Arguments of `summit serve`.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// HTTP and WebSocket address.
    #[arg(long, default_value = "127.0.0.1:7880", value_parser = crate::cli::parse_addr)]
    listen: SocketAddr,
    /// UDP port for all WebRTC media.
    #[arg(long, default_value_t = 7881)]
    udp: u16,
    /// TCP port for WebRTC media from networks that drop UDP (ICE over TCP); by default the
    /// same number as --udp, 0 for any free one.
    #[arg(long, conflicts_with = "no_tcp")]
    tcp: Option<u16>,
    /// Offer no media over TCP (pages behind a firewall that drops UDP cannot connect).
    #[arg(long)]
    no_tcp: bool,
    /// How long a page whose connection was lost (or whose server restarted) can take its
    /// session back by its resume token, e.g. 120s or 2m.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    resume_window: Duration,
    /// The address announced to browsers in ICE candidates (default: the --listen address).
    #[arg(long, value_parser = crate::cli::parse_ip)]
    public_ip: Option<IpAddr>,
    /// Serve HTTPS and WSS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Where Prometheus scrapes `/metrics`; keep it private (it shows meeting activity).
    #[arg(long, default_value = "127.0.0.1:7882", value_parser = crate::cli::parse_addr)]
    metrics_listen: SocketAddr,
    /// Do not estimate each subscriber's bandwidth: simulcast layers are then chosen by tile
    /// size alone. Saves CPU (docs/performance.md) on links known to be ample.
    #[arg(long)]
    no_bandwidth_estimation: bool,
    /// Do not offer RED audio redundancy (RFC 2198): pages then send Opus alone (with in-band
    /// FEC), about 40 % fewer audio bytes, but on a lossy link much more of the sound is lost
    /// (docs/connectivity.md).
    #[arg(long)]
    no_red: bool,
    /// How many speakers each page hears at once: the loudest, switched by the server as
    /// people speak (docs/architecture.md, "Speaker slots"). More costs every page a stream
    /// each; interpreters reach listeners through their channels, outside these.
    #[arg(long, default_value_t = summit_core::DEFAULT_AUDIO_SLOTS as u16, value_parser = clap::value_parser!(u16).range(1..=16))]
    audio_slots: u16,
    #[command(flatten)]
    limits: Limits,
    #[command(flatten)]
    turn: crate::runtime::turn::TurnArgs,
    /// Make the attacks a compromised server would (misroute-video, replay-audio), to test what
    /// pages withstand. Only in test builds.
    #[cfg(feature = "danger-test-attacks")]
    #[arg(long = "danger-test-attack")]
    danger_test_attacks: Vec<summit_core::Attack>,
}

pub(crate) fn run(data: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let dir = DataDir::open(data)?;
    let key = dir.verifying_key()?;
    // With the private key at hand, hosts can invite from the meeting page.
    let signing = dir.signing_key_if_present()?.map(Arc::new);
    // Sessions the last run held may come back for a short while, by their resume tokens.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let interrupted = dir
        .orphan_resume_tokens(started)
        .context("cannot read the resume tokens")?;
    let first_participant_id = dir.next_participant_id()?;
    // Once the server runs, the record is written on the registry actor's thread: the SFU task
    // never waits for it.
    let mut recorder = Recorder::new(dir.record_key()?);
    // The record of every meeting the last run left running says so, before anyone is back.
    // A recording it left running is cut there (its files end at the crash): the record says
    // so, and the meeting's hosts are told when they are back.
    let mut interrupted_recordings = std::collections::HashSet::new();
    for meeting in &interrupted {
        recorder.append(
            &dir,
            meeting,
            summit_record::RecordEvent::ServerRestarted {},
        )?;
        let (running, cut) = dir
            .recording_state(meeting.as_str())
            .context("cannot read a meeting's record")?;
        if running {
            recorder.append(
                &dir,
                meeting,
                summit_record::RecordEvent::RecordingStopped {
                    by: crate::registry::record_log::RESTART_STOPPED_RECORDING.to_owned(),
                },
            )?;
        }
        if running || cut {
            interrupted_recordings.insert(meeting.clone());
        }
    }
    // From here on the registry is the actor's alone.
    let (registry, records) = Registry::spawn(dir, recorder)?;
    let recordings = Recordings::spawn(data.join("recordings"))?;
    let public_ip = match args.public_ip {
        Some(ip) => ip,
        None if args.listen.ip().is_unspecified() => {
            bail!(
                "--listen {} needs --public-ip: the address browsers reach this server at",
                args.listen
            )
        }
        None => args.listen.ip(),
    };
    // Bind media where it is announced, or everywhere when an address is given explicitly
    // (behind NAT the public address is not local).
    let udp_bind: SocketAddr = if args.public_ip.is_some() {
        (IpAddr::V4(Ipv4Addr::UNSPECIFIED), args.udp).into()
    } else {
        (public_ip, args.udp).into()
    };
    str0m::crypto::from_feature_flags().install_process_default();
    // One worker per CPU this process may use: pinned to one CPU, a second worker would only
    // take turns with the media task and delay it.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let udp = UdpSocket::bind(udp_bind)
            .await
            .with_context(|| format!("cannot bind UDP {udp_bind}"))?;
        let udp_port = udp.local_addr()?.port();
        let public_addr = SocketAddr::new(public_ip, udp_port);
        let media_tcp = if args.no_tcp {
            None
        } else {
            // The same number as the UDP port asked for (7881), or any free one when UDP
            // took any free one: the number UDP got need not be free for TCP.
            let port = args.tcp.unwrap_or(args.udp);
            let bind = SocketAddr::new(udp_bind.ip(), port);
            let listener = TcpListener::bind(bind).await.with_context(|| {
                format!("cannot listen for media on TCP {bind} (choose another with --tcp, or --no-tcp)")
            })?;
            let announced = SocketAddr::new(public_ip, listener.local_addr()?.port());
            let limits = tcp::TcpLimits {
                max_connections: MAX_MEDIA_TCP_CONNECTIONS,
                max_per_ip: args.limits.max_connections_per_ip,
            };
            Some((tcp::TcpMedia::spawn(listener, limits), announced))
        };
        let tcp = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let http_addr = tcp.local_addr()?;
        let metrics_tcp = metrics::bind(args.metrics_listen).await?;
        let metrics_addr = metrics_tcp.local_addr()?;
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(
                axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .with_context(|| {
                        format!("cannot use {} and {} for TLS", cert.display(), key.display())
                    })?,
            ),
            _ => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (commands, rx) = mpsc::channel(1024);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut config = SfuConfig::new(public_addr);
        config.first_participant_id = first_participant_id;
        config.interrupted_recordings = interrupted_recordings;
        config.resume_window = args.resume_window;
        config.tcp_addr = media_tcp.as_ref().map(|(_, a)| *a);
        let tcp_line = config.tcp_addr;
        config.turn = args.turn.servers()?;
        args.limits.apply(&mut config);
        #[cfg(feature = "danger-test-attacks")]
        {
            tracing::warn!("this test build attacks its own meetings: {:?}", args.danger_test_attacks);
            config.attacks = args.danger_test_attacks.clone();
        }
        if args.no_bandwidth_estimation {
            config.initial_bandwidth = None;
        }
        if args.no_red {
            config.audio_redundancy = false;
        }
        config.audio_slots = usize::from(args.audio_slots);
        let udp = udp::MediaSocket::new(udp).context("cannot set up the media socket")?;
        let sfu = tokio::spawn(sfu_task::run(
            sfu_task::Transports {
                udp,
                tcp: media_tcp,
            },
            config,
            rx,
            events_tx,
            records,
            recordings,
            stop_rx.clone(),
        ));
        tokio::spawn(store::run(
            registry.clone(),
            events_rx,
            commands.clone(),
            args.resume_window,
        ));
        tokio::spawn(metrics::serve(
            metrics_tcp,
            commands.clone(),
            stop_rx.clone(),
        ));
        // A closed stdout (a pipe whose reader left) must not stop the server.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "Summit is running.");
        let _ = writeln!(out, "  Web and signaling: {scheme}://{http_addr}");
        let _ = writeln!(out, "  WebRTC media:      udp {public_addr}");
        if let Some(a) = tcp_line {
            let _ = writeln!(out, "  WebRTC over TCP:   tcp {a} (for networks that drop UDP)");
        }
        for url in args.turn.urls() {
            let _ = writeln!(out, "  TURN (relay):      {url}");
        }
        let _ = writeln!(out, "  Metrics:           http://{metrics_addr}/metrics");
        let _ = writeln!(out, "Invite someone (in another terminal):");
        let _ = writeln!(out, "  summit --data {} invite --meeting my-meeting --name \"Ada Lovelace\" --role host --server {scheme}://{http_addr}",
            data.display()
        );
        let _ = writeln!(out, "Press Ctrl-C to stop.");
        let (open, mut all_closed) = mpsc::channel::<()>(1);
        let app = http::router(http::AppState {
            open,
            key,
            signing,
            commands,
            registry,
            limits: args.limits,
            connections: ConnectionCounts::default(),
            resume_failures: ResumeFailures::default(),
            tls: tls.is_some(),
            resume_window: args.resume_window,
            #[cfg(feature = "danger-test-attacks")]
            attacks: args.danger_test_attacks.clone(),
        });
        // Ctrl-C first stops the SFU task, which closes every signaling connection with a
        // reason; then the HTTP server, which no longer waits on open WebSockets.
        // SIGTERM (systemd, docker stop, kill) stops it the same way, so recordings end as
        // playable files and pages get a reason.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot watch for SIGTERM")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            let _ = stop_tx.send(true);
        });
        let mut stop = stop_rx;
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        match tls {
            None => {
                axum::serve(tcp, service)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await?
            }
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    let _ = stop.wait_for(|s| *s).await;
                    h.graceful_shutdown(Some(Duration::from_secs(3)));
                });
                axum_server::from_tcp_rustls(tcp.into_std()?, tls)?
                    .handle(handle)
                    .serve(service)
                    .await?
            }
        }
        let _ = sfu.await;
        // Let every signaling task send its close frame before the runtime goes away.
        let _ = tokio::time::timeout(Duration::from_secs(3), all_closed.recv()).await;
        // stdout may be gone by now (a closed pipe); that is no reason to panic.
        let _ = writeln!(std::io::stdout(), "Summit stopped.");
        Ok(())
    })
}
