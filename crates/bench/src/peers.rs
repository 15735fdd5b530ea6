//! `summit-bench peers`: simulated participants joined into a meeting that people are in (a
//! browser test's, or a rehearsal's), each publishing real Opus (and VP8) like a page, the
//! first few marked as speaking. Nothing is measured: they make a meeting big.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::content::Content;
use crate::peer::{self, Media, PeerSpec, QUIET_DBOV};
use crate::summit::SummitServer;
use crate::tally::Tally;

/// `summit-bench peers`: join simulated participants into a meeting.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct PeersArgs {
    /// The server, as pages reach it (`http://host:port`): signaling is its `/ws`.
    #[arg(long)]
    server: String,
    /// A file of invitation links, one per line, as `summit invite` prints them: one
    /// simulated participant per link. The meeting must be made with `--no-e2ee` (the
    /// simulated pages do not encrypt frames).
    #[arg(long)]
    links: PathBuf,
    /// How many of them speak (the first ones): their microphone packets carry a speaker's
    /// RFC 6464 level, each a little quieter than the one before; the others a quiet room's.
    #[arg(long, default_value_t = 3)]
    speakers: usize,
    /// Publish the microphone alone, no camera.
    #[arg(long)]
    audio_only: bool,
    /// Leave after this many seconds (default: stay until stopped).
    #[arg(long)]
    seconds: Option<u64>,
}

/// One link: the meeting it names and its invitation token.
fn parse_link(link: &str) -> anyhow::Result<(String, String)> {
    let (path, query) = link
        .split_once('?')
        .with_context(|| format!("not an invitation link: {link}"))?;
    let meeting = path
        .rsplit_once("/m/")
        .map(|(_, m)| m.to_owned())
        .filter(|m| !m.is_empty())
        .with_context(|| format!("no meeting in {link}"))?;
    let token = query
        .split(['&', '#'])
        .find_map(|kv| kv.strip_prefix("invite="))
        .filter(|t| !t.is_empty())
        .with_context(|| format!("no invitation in {link}"))?;
    Ok((meeting, token.to_owned()))
}

/// The level of the `i`th simulated participant's microphone.
fn level(i: usize, speakers: usize) -> i8 {
    if i < speakers {
        // -20, -23, -26... dBov: speakers who differ, all well above a quiet room.
        i8::try_from(20 + 3 * i.min(10)).map_or(-50, |d| -d)
    } else {
        QUIET_DBOV
    }
}

/// Joins one simulated participant per link and keeps them in the meeting.
pub(crate) async fn run(
    args: PeersArgs,
    ip: std::net::IpAddr,
    content: Rc<Content>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.links)
        .with_context(|| format!("cannot read {}", args.links.display()))?;
    let links: Vec<(String, String)> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(parse_link)
        .collect::<anyhow::Result<_>>()?;
    if links.is_empty() {
        bail!("{} has no invitation links", args.links.display());
    }
    let ws_url = format!(
        "{}/ws",
        args.server
            .trim_end_matches('/')
            .replacen("https://", "wss://", 1)
            .replacen("http://", "ws://", 1)
    );
    let tally = Rc::new(Tally::new());
    let media = if args.audio_only {
        Media::Audio
    } else {
        Media::AudioVideo
    };
    let mut tasks = Vec::new();
    for (i, (meeting, token)) in links.iter().enumerate() {
        let spec = PeerSpec {
            index: u32::try_from(i)?,
            publish: Some(media),
            subscribe: false,
            level: level(i, args.speakers),
        };
        let (link, task) = peer::spawn(spec, ip, content.clone(), tally.clone())?;
        tasks.push(task);
        let (url, meeting, token) = (ws_url.clone(), meeting.clone(), token.clone());
        tasks.push(tokio::task::spawn_local(async move {
            if let Err(e) = SummitServer::signal(url, meeting, token, link).await {
                eprintln!("simulated participant {i}: {e:#}");
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while tally.published() < links.len() {
        if Instant::now() > deadline {
            bail!(
                "only {} of {} simulated participants were answered within 30 s",
                tally.published(),
                links.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Tests wait for this line.
    println!(
        "{} simulated participants joined ({} speaking)",
        links.len(),
        args.speakers.min(links.len())
    );
    match args.seconds {
        Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
        None => tokio::signal::ctrl_c().await?,
    }
    for t in tasks {
        t.abort();
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_meeting_and_the_invitation() {
        let (m, t) =
            parse_link("http://127.0.0.1:7880/m/summit-1?invite=abc.def.ghi#s3cr3t").unwrap();
        assert_eq!((m.as_str(), t.as_str()), ("summit-1", "abc.def.ghi"));
        assert!(parse_link("http://127.0.0.1:7880/m/summit-1").is_err());
        assert!(parse_link("http://127.0.0.1:7880/?invite=x").is_err());
        assert!(parse_link("http://127.0.0.1:7880/m/x?invite=").is_err());
    }

    #[test]
    fn speakers_differ_and_the_rest_are_quiet() {
        assert_eq!((level(0, 3), level(1, 3), level(2, 3)), (-20, -23, -26));
        assert_eq!(level(3, 3), QUIET_DBOV);
        assert!(level(50, 100) >= -50);
    }
}
