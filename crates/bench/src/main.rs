//! `summit-bench`: a load generator that measures Summit (and, side by side, Janus) forwarding
//! real VP8 and Opus: packets per CPU-second, added latency, loss and memory, per scenario.
//!
//! The generator runs every simulated participant on one thread pinned to one core; the server
//! under test runs pinned to another, so the generator's own cost does not decide the result.
//! It drives `summit` binaries as child processes (`--summit-bin`), so two builds can be
//! compared in one run.

mod content;
mod floor;
mod janus;
mod peer;
mod peers;
mod process;
mod report;
mod scenario;
mod stamp;
mod summit;
mod tally;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use futures_util::future::try_join_all;
use tokio::task::JoinHandle;

use content::Content;
use janus::JanusServer;
use peer::{PeerLink, PeerSpec};
use report::{Report, Row};
use scenario::Scenario;
use summit::{RegistryPlace, SummitServer};
use tally::Tally;

/// summit-bench: measure Summit's forwarding under load (and Janus side by side).
#[derive(Parser)]
#[command(name = "summit-bench", version, about)]
pub(crate) struct BenchArgs {
    /// The address every server and simulated peer uses (Janus needs one that is not loopback:
    /// scripts/bench makes one in a private network namespace).
    #[arg(long, default_value = "127.0.0.1", value_parser = parse_ip)]
    ip: IpAddr,
    /// The `summit` binary to measure, as `[LABEL=]PATH`; repeat it to compare builds in one
    /// run (rows are then named `summit@LABEL`). Default: the `summit` beside this program,
    /// else the one on PATH.
    #[arg(long = "summit-bin", value_parser = parse_summit_bin)]
    summit_bins: Vec<SummitBin>,
    /// Runs of each fixed scenario, interleaved between servers and builds; the row shown is
    /// the run with the median CPU-seconds per million packets.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    repeat: u32,
    /// Servers to measure, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "summit")]
    servers: Vec<Server>,
    /// Scenarios to run (1-to-50, 12-party, 50-audio, join-storm, ramp); default all.
    /// join-storm runs each Summit build twice, its registry on disk and in memory.
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Seconds measured per scenario (after everyone's media flows).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Receivers added per ramp step (default: 1, 2, 5, 10, 20, 50, 100... receivers).
    #[arg(long)]
    ramp_step: Option<usize>,
    /// The ramp stops here at the latest.
    #[arg(long, default_value_t = 500)]
    ramp_max: usize,
    /// CPU for the server under test (default 0 where there are two or more).
    #[arg(long)]
    server_cpu: Option<usize>,
    /// CPU for the generator (default 1 where there are two or more).
    #[arg(long)]
    generator_cpu: Option<usize>,
    /// Do not pin processes to CPUs.
    #[arg(long, conflicts_with_all = ["server_cpu", "generator_cpu"])]
    no_pin: bool,
    /// Publishers send their camera in three simulcast layers (180p, 360p, 720p), as browsers
    /// do; receivers get the best their link carries. Summit only.
    #[arg(long)]
    simulcast: bool,
    /// Working directory: generated content (kept between runs) and the servers' files.
    #[arg(long, default_value = "./summit-bench")]
    work: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// What else the bench can do than measure.
#[derive(clap::Subcommand, Debug, Clone)]
enum Command {
    /// Join simulated participants into a meeting that people are in (for a browser test or
    /// a rehearsal of a big meeting), and keep them there; nothing is measured.
    Peers(peers::PeersArgs),
}

/// A server the bench can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Server {
    /// This Summit, as `summit serve` (with bandwidth estimation, as deployed).
    Summit,
    /// This Summit without bandwidth estimation (`--no-bandwidth-estimation`), to show its cost.
    SummitNoBwe,
    /// Janus 1.1's VideoRoom (Debian package `janus`).
    Janus,
}

impl Server {
    /// Whose microphones it sends each receiver: Summit runs with its default speaker slots.
    fn hearing(self) -> scenario::Hearing {
        match self {
            Server::Summit | Server::SummitNoBwe => scenario::Hearing::Loudest(summit::AUDIO_SLOTS),
            Server::Janus => scenario::Hearing::Everyone,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Server::Summit => "summit",
            Server::SummitNoBwe => "summit-no-bwe",
            Server::Janus => "janus",
        }
    }
}

/// A `summit` build under test.
#[derive(Debug, Clone)]
pub(crate) struct SummitBin {
    /// How rows name it when several are compared.
    label: String,
    path: PathBuf,
}

/// Parses `--summit-bin [LABEL=]PATH`.
fn parse_summit_bin(s: &str) -> Result<SummitBin, String> {
    let (label, path) = match s.split_once('=') {
        Some((label, path)) if !label.is_empty() && !label.contains('/') => (label, path),
        _ => (s, s),
    };
    if path.is_empty() {
        return Err("give the path of a summit binary".into());
    }
    Ok(SummitBin {
        label: label.to_owned(),
        path: PathBuf::from(path),
    })
}

/// Parses an IP address for clap.
fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("'{s}' is not an IP address"))
}

/// The `summit` beside this program (where cargo builds both), else the one on PATH.
fn default_summit_bin() -> SummitBin {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("summit")))
        .filter(|p| p.is_file());
    SummitBin {
        label: "summit".into(),
        path: beside.unwrap_or_else(|| PathBuf::from("summit")),
    }
}

/// One thing measured: a server kind and, for Summit, the build.
struct Subject {
    kind: Server,
    /// The Summit build (None for Janus).
    bin: Option<SummitBin>,
    /// How rows name it.
    name: String,
}

/// Every (server, build) pair, in the order given: builds are named only when several are.
fn subjects(servers: &[Server], bins: &[SummitBin]) -> Vec<Subject> {
    let mut out = Vec::new();
    for &kind in servers {
        if kind == Server::Janus {
            out.push(Subject {
                kind,
                bin: None,
                name: kind.name().into(),
            });
            continue;
        }
        for bin in bins {
            let name = if bins.len() > 1 {
                format!("{}@{}", kind.name(), bin.label)
            } else {
                kind.name().into()
            };
            out.push(Subject {
                kind,
                bin: Some(bin.clone()),
                name,
            });
        }
    }
    out
}

/// The run whose CPU cost is the median (the lower one of an even count), with every run's
/// cost recorded in it.
fn median_run(mut runs: Vec<Row>) -> Option<Row> {
    runs.sort_by(|a, b| {
        a.cpu_seconds_per_million
            .total_cmp(&b.cpu_seconds_per_million)
    });
    let all: Vec<f64> = runs.iter().map(|r| r.cpu_seconds_per_million).collect();
    let runs_p99: Vec<f64> = runs.iter().map(|r| r.latency_ms[1]).collect();
    // A storm's stalls in every run, so that "none" covers them all, not the median run only.
    let counted: Vec<summit::Stalls> = runs
        .iter()
        .filter_map(|r| r.storm.as_ref()?.stalls)
        .collect();
    let all_stalls = (!counted.is_empty()).then(|| {
        let sum = counted
            .iter()
            .fold(summit::Stalls::default(), |a, s| summit::Stalls {
                any: a.any + s.any,
                registry: a.registry + s.registry,
            });
        (counted.len(), sum)
    });
    let mut median = runs.into_iter().nth(all.len().saturating_sub(1) / 2)?;
    median.cpu_seconds_per_million_runs = all;
    let mut p99s: Vec<f64> = runs_p99;
    p99s.sort_by(f64::total_cmp);
    median.p99_ms_runs = p99s;
    if let Some(storm) = median.storm.as_mut() {
        storm.stalls_in_all_runs = all_stalls;
    }
    Some(median)
}

fn main() -> anyhow::Result<()> {
    run(BenchArgs::parse())
}

/// Limits of the ramp: past any of them a person would notice, or the result stops meaning much.
const RAMP_P99: Duration = Duration::from_millis(5);
const RAMP_LOSS: f64 = 0.001;
const RAMP_SERVER_CPU: f64 = 0.85;
const RAMP_STEP_SECONDS: u64 = 4;

/// `summit-bench peers`: the content, then the simulated participants until they are done.
fn run_peers(p: peers::PeersArgs, args: &BenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.work)
        .with_context(|| format!("cannot create {}", args.work.display()))?;
    let work = std::path::absolute(&args.work)?;
    let content = Rc::new(Content::load_or_make(&work.join("content"), false)?);
    str0m::crypto::from_feature_flags().install_process_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, peers::run(p, args.ip, content))
}

/// Runs the bench.
fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(Command::Peers(p)) = args.command.clone() {
        return run_peers(p, &args);
    }
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (server_cpu, generator_cpu) = if args.no_pin || cpus < 2 {
        (None, None)
    } else {
        (
            Some(args.server_cpu.unwrap_or(0)),
            Some(args.generator_cpu.unwrap_or(1)),
        )
    };
    if let Some(cpu) = generator_cpu {
        pin_self(cpu)?;
    }
    let scenarios: Vec<String> = if args.scenarios.is_empty() {
        ["1-to-50", "12-party", "50-audio", "join-storm", "ramp"]
            .map(String::from)
            .to_vec()
    } else {
        args.scenarios.clone()
    };
    for s in &scenarios {
        if s != "ramp" && !Scenario::all().iter().any(|x| x.name == s) {
            bail!(
                "unknown scenario '{s}': choose from 1-to-50, 12-party, 50-audio, join-storm, ramp"
            );
        }
    }
    if args.simulcast && args.servers.contains(&Server::Janus) {
        bail!("--simulcast measures Summit only: leave janus out of --servers");
    }
    if args.servers.contains(&Server::Janus) && args.ip.is_loopback() {
        bail!("Janus cannot do ICE on loopback: run the side-by-side bench with scripts/bench (it makes a private network namespace), or --servers summit");
    }
    let bins = if args.summit_bins.is_empty() {
        vec![default_summit_bin()]
    } else {
        args.summit_bins.clone()
    };
    let subjects = subjects(&args.servers, &bins);
    for bin in subjects.iter().filter_map(|s| s.bin.as_ref()) {
        check_summit_bin(&bin.path)?;
    }
    std::fs::create_dir_all(&args.work)
        .with_context(|| format!("cannot create {}", args.work.display()))?;
    // Absolute: the servers' data directories are also handed to CLI runs in other folders.
    let work = std::path::absolute(&args.work)?;
    eprintln!(
        "Preparing the content (ffmpeg, once: kept in {})",
        args.work.display()
    );
    let content = Rc::new(Content::load_or_make(
        &work.join("content"),
        args.simulcast,
    )?);
    eprintln!(
        "Content: 720p VP8 at {:.2} Mbit/s, {} packets/s; Opus at 50 packets/s",
        content.video_bitrate() as f64 / 1e6,
        content.video_packet_rate()
    );
    str0m::crypto::from_feature_flags().install_process_default();
    let floor = floor::measure(args.ip, server_cpu)?;
    eprintln!(
        "Latency floor between the CPUs (UDP echo, no server): p50 {:.3} ms, p99 {:.3} ms",
        floor[0].as_secs_f64() * 1e3,
        floor[1].as_secs_f64() * 1e3
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let mut report = Report {
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        machine: machine(),
        floor_ms: floor.map(|d| d.as_secs_f64() * 1e3),
        rows: Vec::new(),
        ramp_stops: Vec::new(),
        failures: Vec::new(),
    };
    let bench = Bench {
        ip: args.ip,
        work,
        pin: server_cpu,
        seconds: args.seconds,
        content,
    };
    local.block_on(&rt, async {
        for name in &scenarios {
            if name == "ramp" {
                for subject in &subjects {
                    // A scenario a server cannot carry is a result, not the end of the run.
                    match bench.ramp(subject, args.ramp_step, args.ramp_max).await {
                        Ok((rows, why)) => {
                            report.rows.extend(rows);
                            eprintln!("Ramp, {}: {why}", subject.name);
                            report.ramp_stops.push((subject.name.clone(), why));
                        }
                        Err(e) => report.failed(name, &subject.name, e),
                    }
                }
                continue;
            }
            let Some(sc) = Scenario::all().into_iter().find(|s| s.name == name) else {
                continue;
            };
            // A storm is measured twice per build: with its registry on disk, and in memory.
            let places: &[RegistryPlace] = if sc.storm > 0 {
                &[RegistryPlace::Disk, RegistryPlace::Memory]
            } else {
                &[RegistryPlace::Disk]
            };
            let runs_of: Vec<(&Subject, RegistryPlace)> = subjects
                .iter()
                .filter(|s| sc.storm == 0 || s.kind != Server::Janus)
                .flat_map(|s| places.iter().map(move |p| (s, *p)))
                .collect();
            if sc.storm > 0 && subjects.iter().any(|s| s.kind == Server::Janus) {
                eprintln!("{name}: measures Summit only (its registry); Janus is left out");
            }
            // Interleaved, so that a machine's slow minute does not land on one build only.
            let mut runs: Vec<Vec<Row>> = runs_of.iter().map(|_| Vec::new()).collect();
            for _ in 0..args.repeat {
                for ((subject, place), runs) in runs_of.iter().zip(&mut runs) {
                    match bench.fixed(subject, &sc, *place).await {
                        Ok(row) => runs.push(row),
                        Err(e) => report.failed(name, &subject.name, e),
                    }
                }
            }
            report.rows.extend(runs.into_iter().filter_map(median_run));
        }
        anyhow::Ok(())
    })?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.rows.is_empty() {
        bail!("nothing could be measured (the notes above say why)");
    }
    Ok(())
}

/// Fails early, with what to do, when `path` is no runnable `summit`.
fn check_summit_bin(path: &Path) -> anyhow::Result<()> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .output()
        .with_context(|| {
            format!(
                "cannot run the summit binary '{}': build it (cargo build --release -p summit) or give --summit-bin",
                path.display()
            )
        })?;
    if !out.status.success() {
        bail!(
            "'{} --version' failed: is it a summit binary?",
            path.display()
        );
    }
    Ok(())
}

/// A command running `program`, on CPU `pin` if given (through `taskset`).
fn pinned(program: &std::ffi::OsStr, pin: Option<usize>) -> std::process::Command {
    match pin {
        Some(cpu) => {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", &cpu.to_string()]).arg(program);
            c
        }
        None => std::process::Command::new(program),
    }
}

/// Pins this process (all its threads, and what it starts later) to `cpu`.
fn pin_self(cpu: usize) -> anyhow::Result<()> {
    let status = std::process::Command::new("taskset")
        .args([
            "-a",
            "-p",
            "-c",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .context("cannot run taskset (util-linux) to pin the generator; use --no-pin")?;
    if !status.success() {
        bail!("taskset could not pin the generator to CPU {cpu}");
    }
    Ok(())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned();
    // Counted from /proc: this process may already be pinned to one of them.
    let cpus = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpus} × {model}, Linux {}", kernel.trim())
}

/// A running server under test.
enum Running {
    Summit {
        server: SummitServer,
        token: String,
    },
    Janus {
        server: JanusServer,
        feeds: Vec<u64>,
    },
}

const MEETING: &str = "bench";
const ROOM: u64 = 4242;

impl Running {
    async fn start(
        subject: &Subject,
        bench: &Bench,
        registry: RegistryPlace,
    ) -> anyhow::Result<Self> {
        Ok(match (subject.kind, &subject.bin) {
            (Server::Summit | Server::SummitNoBwe, Some(bin)) => {
                let bwe = subject.kind == Server::Summit;
                let server = SummitServer::start(
                    &bin.path,
                    bench.ip,
                    &bench.work,
                    registry,
                    bench.pin,
                    bwe,
                )?;
                let token = server.meeting(MEETING)?;
                Running::Summit { server, token }
            }
            (Server::Summit | Server::SummitNoBwe, None) => {
                bail!("no summit binary for {}", subject.name)
            }
            (Server::Janus, _) => {
                let server = JanusServer::start(bench.ip, &bench.work, bench.pin)?;
                server.create_room(ROOM).await?;
                Running::Janus {
                    server,
                    feeds: Vec::new(),
                }
            }
        })
    }

    fn pid(&self) -> u32 {
        match self {
            Running::Summit { server, .. } => server.pid(),
            Running::Janus { server, .. } => server.pid(),
        }
    }

    /// Starts `specs`' peers and their signaling. Janus: publishers first (their feed ids are
    /// needed to subscribe), then each receiver subscribes to every feed but its own.
    async fn add(
        &mut self,
        specs: &[PeerSpec],
        bench: &Bench,
        tally: &Rc<Tally>,
        tasks: &mut Vec<JoinHandle<()>>,
        links: &mut Vec<PeerLink>,
    ) -> anyhow::Result<()> {
        let mut spawned = Vec::new();
        for spec in specs {
            let (link, task) = peer::spawn(*spec, bench.ip, bench.content.clone(), tally.clone())?;
            tasks.push(task);
            spawned.push((*spec, link));
        }
        match self {
            Running::Summit { server, token } => {
                // Publishers first, then receivers: a receiver joining a meeting whose tracks
                // are all there gets one offer, not one per publisher arriving after it.
                let (publishers, receivers): (Vec<_>, Vec<_>) = spawned
                    .into_iter()
                    .partition(|(spec, _)| spec.publish.is_some());
                let before = tally.published();
                let wanted = before + publishers.len();
                for group in [publishers, receivers] {
                    for (spec, link) in group {
                        let (url, token) = (server.ws_url().to_owned(), token.clone());
                        tasks.push(tokio::task::spawn_local(async move {
                            if let Err(e) =
                                SummitServer::signal(url, MEETING.into(), token, link).await
                            {
                                eprintln!("bench peer {}: {e:#}", spec.index);
                            }
                        }));
                    }
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while tally.published() < wanted {
                        if Instant::now() > deadline {
                            bail!(
                                "only {} of {} publishers were answered within 30 s",
                                tally.published() - before,
                                wanted - before
                            );
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            Running::Janus { server, feeds } => {
                let server = &*server;
                let published = try_join_all(spawned.into_iter().map(|(spec, link)| async move {
                    match spec.publish {
                        Some(_) => {
                            let (feed, link) = server
                                .publish(ROOM, format!("p{}", spec.index), link)
                                .await?;
                            anyhow::Ok((spec, Some(feed), link))
                        }
                        None => Ok((spec, None, link)),
                    }
                }))
                .await?;
                feeds.extend(published.iter().filter_map(|(_, f, _)| *f));
                let feeds = &*feeds;
                let subscribed =
                    try_join_all(published.into_iter().map(|(spec, own, link)| async move {
                        if !spec.subscribe {
                            return Ok(link);
                        }
                        let others: Vec<u64> =
                            feeds.iter().copied().filter(|f| Some(*f) != own).collect();
                        server.subscribe(ROOM, &others, link).await
                    }))
                    .await?;
                links.extend(subscribed);
            }
        }
        Ok(())
    }
}

struct Bench {
    ip: IpAddr,
    work: PathBuf,
    pin: Option<usize>,
    seconds: u64,
    content: Rc<Content>,
}

/// Peers and signaling of one run; aborted when dropped.
struct Crowd {
    tasks: Vec<JoinHandle<()>>,
    links: Vec<PeerLink>,
}

impl Drop for Crowd {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Bench {
    async fn fixed(
        &self,
        subject: &Subject,
        sc: &Scenario,
        registry: RegistryPlace,
    ) -> anyhow::Result<Row> {
        let label = match sc.storm {
            0 => format!("{:<6} {:<9}", subject.name, sc.name),
            _ => format!("{:<6} {} ({})", subject.name, sc.name, registry.name()),
        };
        let tally = Rc::new(Tally::new());
        let mut running = Running::start(subject, self, registry).await?;
        let mut crowd = Crowd {
            tasks: Vec::new(),
            links: Vec::new(),
        };
        running
            .add(
                &sc.peers(),
                self,
                &tally,
                &mut crowd.tasks,
                &mut crowd.links,
            )
            .await?;
        wait_flowing(&label, &tally, sc.pairs(subject.kind.hearing())).await;
        if sc.storm == 0 {
            return self
                .measure(&label, subject, sc, &tally, running.pid(), self.seconds)
                .await;
        }
        self.storm(&label, subject, sc, registry, &tally, running, crowd)
            .await
    }

    /// Measures the window during which the storm's receivers join (spread over
    /// [`scenario::STORM_SPREAD_MS`], starting half a second in), on their own tally: the row is
    /// the forwarding to the receivers who were there before, which the joins must not slow.
    #[allow(clippy::too_many_arguments)]
    async fn storm(
        &self,
        label: &str,
        subject: &Subject,
        sc: &Scenario,
        registry: RegistryPlace,
        tally: &Tally,
        mut running: Running,
        mut crowd: Crowd,
    ) -> anyhow::Result<Row> {
        let Running::Summit { server, .. } = &running else {
            bail!("{} measures Summit only", sc.name);
        };
        let pid = server.pid();
        let before = server.stalls()?;
        let joiners = Rc::new(Tally::new());
        let specs = sc.storm_peers();
        let gap = Duration::from_millis(scenario::STORM_SPREAD_MS / specs.len().max(2) as u64);
        let joins = async {
            // measure() settles for 2 s before its window opens.
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            for spec in &specs {
                running
                    .add(
                        std::slice::from_ref(spec),
                        self,
                        &joiners,
                        &mut crowd.tasks,
                        &mut crowd.links,
                    )
                    .await?;
                tokio::time::sleep(gap).await;
            }
            anyhow::Ok(())
        };
        let (row, joined) = tokio::join!(
            self.measure(
                label,
                subject,
                sc,
                tally,
                pid,
                scenario::STORM_WINDOW_SECONDS
            ),
            joins
        );
        joined?;
        let mut row = row?;
        let Running::Summit { server, .. } = &running else {
            bail!("{} measures Summit only", sc.name);
        };
        let after = server.stalls()?;
        // The joiners must really be in: their media flowing, not refused or stuck.
        let deadline = Instant::now() + Duration::from_secs(20);
        while joiners.flowing() < sc.storm_pairs(subject.kind.hearing())
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if registry == RegistryPlace::Memory {
            row.scenario = format!("{}{}", sc.name, report::MEMORY);
        }
        row.storm = Some(report::StormFigures {
            joined_streams: joiners.flowing(),
            expected_streams: sc.storm_pairs(subject.kind.hearing()),
            stalls: before.zip(after).map(|(b, a)| summit::Stalls {
                any: a.any.saturating_sub(b.any),
                registry: a.registry.saturating_sub(b.registry),
            }),
            stalls_in_all_runs: None,
        });
        Ok(row)
    }

    /// Adds receivers to one publisher step by step until a limit is passed.
    async fn ramp(
        &self,
        subject: &Subject,
        step: Option<usize>,
        max: usize,
    ) -> anyhow::Result<(Vec<Row>, String)> {
        let tally = Rc::new(Tally::new());
        let mut running = Running::start(subject, self, RegistryPlace::Disk).await?;
        let mut crowd = Crowd {
            tasks: Vec::new(),
            links: Vec::new(),
        };
        let mut rows = Vec::new();
        let mut listeners = 0;
        let mut first = true;
        while listeners < max {
            let next = next_ramp_step(listeners, step).min(max);
            let sc = Scenario::ramp(next);
            // Only the new peers are started; the publisher (index 0) comes with the first step.
            let specs: Vec<PeerSpec> = sc
                .peers()
                .into_iter()
                .filter(|p| (first && p.index == 0) || p.index as usize > listeners)
                .collect();
            first = false;
            running
                .add(&specs, self, &tally, &mut crowd.tasks, &mut crowd.links)
                .await?;
            listeners = next;
            let label = format!("{:<6} ramp +{listeners:<4}", subject.name);
            wait_flowing(&label, &tally, sc.pairs(subject.kind.hearing())).await;
            let mut row = self
                .measure(
                    &label,
                    subject,
                    &sc,
                    &tally,
                    running.pid(),
                    RAMP_STEP_SECONDS,
                )
                .await?;
            row.scenario = format!("ramp {listeners}");
            let why = if row.generator_limited() {
                Some(format!(
                    "the generator became the limit at {listeners} receivers ({:.0}% of its core, sending {:.1} ms late at p99)",
                    row.generator_cpu * 100.0,
                    row.generator_lag_p99_ms
                ))
            } else if row.latency_ms[1] > RAMP_P99.as_secs_f64() * 1e3 {
                Some(format!(
                    "p99 added latency passed 5 ms ({:.2} ms) at {listeners} receivers",
                    row.latency_ms[1]
                ))
            } else if row.loss > RAMP_LOSS {
                Some(format!(
                    "loss passed 0.1% ({:.3}%) at {listeners} receivers",
                    row.loss * 100.0
                ))
            } else if row.server_cpu > RAMP_SERVER_CPU {
                Some(format!(
                    "the server passed 85% of a core ({:.0}%) at {listeners} receivers",
                    row.server_cpu * 100.0
                ))
            } else {
                None
            };
            rows.push(row);
            if let Some(why) = why {
                return Ok((rows, why));
            }
        }
        Ok((
            rows,
            format!("reached --ramp-max ({max} receivers) within every limit"),
        ))
    }

    /// Measures `seconds` of the running scenario, printing progress each second.
    async fn measure(
        &self,
        label: &str,
        subject: &Subject,
        sc: &Scenario,
        tally: &Tally,
        pid: u32,
        seconds: u64,
    ) -> anyhow::Result<Row> {
        // Let the first keyframes and any renegotiation settle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let start = Instant::now();
        tally.open_window(start);
        let server0 = process::sample(Some(pid))?;
        let gen0 = process::sample(None)?;
        let (mut last_t, mut last_n, mut last_cpu) = (start, tally.received_total(), server0.cpu);
        for i in 1..=seconds {
            tokio::time::sleep_until((start + Duration::from_secs(i)).into()).await;
            let now = Instant::now();
            let s = process::sample(Some(pid))?;
            let n = tally.received_total();
            let dt = (now - last_t).as_secs_f64();
            eprintln!(
                "{label} measuring {i:>2}/{seconds} s: {:>8.0} pkt/s forwarded, server {:>5.1}% CPU",
                (n - last_n) as f64 / dt,
                (s.cpu.saturating_sub(last_cpu)).as_secs_f64() / dt * 100.0,
            );
            (last_t, last_n, last_cpu) = (now, n, s.cpu);
        }
        let end = Instant::now();
        tally.close_window(end);
        let server1 = process::sample(Some(pid))?;
        let gen1 = process::sample(None)?;
        // Packets sent just before the end are still on their way.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let counts = tally.counts();
        let secs = (end - start).as_secs_f64();
        let cpu = server1.cpu.saturating_sub(server0.cpu).as_secs_f64();
        let received = counts.received as f64;
        let expected = sc.expected(&counts.sent, subject.kind.hearing()) as f64;
        Ok(Row {
            scenario: sc.name.into(),
            server: subject.name.clone(),
            seconds: secs,
            forwarded_per_second: received / secs,
            server_cpu: cpu / secs,
            cpu_seconds_per_million: if received > 0.0 {
                cpu / (received / 1e6)
            } else {
                0.0
            },
            cpu_seconds_per_million_runs: Vec::new(),
            p99_ms_runs: Vec::new(),
            packets_per_cpu_second: if cpu > 0.0 { received / cpu } else { 0.0 },
            latency_ms: counts.latency.map(|d| d.as_secs_f64() * 1e3),
            loss: if expected > 0.0 {
                (1.0 - received / expected).max(0.0)
            } else {
                0.0
            },
            server_rss_mib: server1.rss as f64 / (1024.0 * 1024.0),
            generator_cpu: gen1.cpu.saturating_sub(gen0.cpu).as_secs_f64() / secs,
            generator_lag_p99_ms: counts.lag_p99.as_secs_f64() * 1e3,
            streams_flowing: tally.flowing(),
            streams_expected: sc.pairs(subject.kind.hearing()),
            storm: None,
        })
    }
}

/// The ramp's next size: `step` more, or by default the next of 1, 2, 5, 10, 20, 50, 100...
fn next_ramp_step(now: usize, step: Option<usize>) -> usize {
    if let Some(step) = step {
        return now + step.max(1);
    }
    let mut decade = 1;
    loop {
        for m in [1, 2, 5] {
            if m * decade > now {
                return m * decade;
            }
        }
        decade *= 10;
    }
}

/// Waits until every (receiver, stream) pair has delivered, printing progress; past the
/// deadline the run goes on with what flows (the row says how much did).
async fn wait_flowing(label: &str, tally: &Tally, pairs: usize) {
    let deadline =
        Instant::now() + Duration::from_secs(30) + Duration::from_millis(10 * pairs as u64);
    let mut shown = usize::MAX;
    loop {
        let n = tally.flowing();
        if n != shown {
            eprintln!("{label} connecting: {n}/{pairs} streams flowing");
            shown = n;
        }
        if n >= pairs {
            return;
        }
        if Instant::now() > deadline {
            eprintln!(
                "{label} measuring anyway: only {n} of {pairs} streams reached their receivers"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::next_ramp_step;

    #[test]
    fn the_ramp_grows_by_1_2_5_steps_or_by_a_fixed_step() {
        let mut n = 0;
        let mut seen = Vec::new();
        while n < 500 {
            n = next_ramp_step(n, None);
            seen.push(n);
        }
        assert_eq!(seen, [1, 2, 5, 10, 20, 50, 100, 200, 500]);
        assert_eq!(next_ramp_step(25, Some(25)), 50);
        assert_eq!(next_ramp_step(3, Some(0)), 4);
    }
}
