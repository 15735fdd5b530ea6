//! `summit serve --turn-url … --turn-secret-file …`: the TURN servers (coturn) pages may relay
//! their media through, and the time-limited credentials each page gets for them, in the form
//! coturn checks with `--use-auth-secret` (docs/connectivity.md).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use clap::Args;
use summit_core::TurnServers;
use summit_proto::IceServer;

/// TURN settings of `summit serve`.
#[derive(Args, Clone, Debug)]
pub(crate) struct TurnArgs {
    /// A TURN server pages may relay media through, as the browser takes it, e.g.
    /// `turns:turn.example.org:443?transport=tcp` or `turn:turn.example.org:3478`; repeatable.
    #[arg(long = "turn-url", requires = "turn_secret_file")]
    turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`), in a file only
    /// the server's user may read.
    #[arg(long, requires = "turn_urls")]
    turn_secret_file: Option<PathBuf>,
    /// How long the credentials a page gets stay valid; it gets new ones before then.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    turn_ttl: Duration,
}

impl TurnArgs {
    /// The TURN servers for the core, or `None` without `--turn-url`.
    pub(crate) fn servers(&self) -> anyhow::Result<Option<TurnServers>> {
        let Some(file) = &self.turn_secret_file else {
            return Ok(None);
        };
        for url in &self.turn_urls {
            if !(url.starts_with("turn:") || url.starts_with("turns:")) || url.len() > 512 {
                bail!("--turn-url {url}: a TURN URL starts with turn: or turns:");
            }
        }
        if self.turn_ttl < Duration::from_secs(1) || self.turn_ttl > Duration::from_secs(86_400) {
            bail!("--turn-ttl must be between 1 s and a day");
        }
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the TURN secret from {}", file.display()))?;
        let secret = text.trim_end_matches(['\n', '\r']).as_bytes().to_vec();
        if secret.is_empty() {
            bail!(
                "{} is empty: it must hold the TURN server's shared secret",
                file.display()
            );
        }
        let urls = self.turn_urls.clone();
        let ttl = self.turn_ttl;
        let mint = move |id| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let c = summit_auth::turn_credential(&secret, id, now + ttl.as_secs());
            vec![IceServer {
                urls: urls.clone(),
                username: c.username,
                credential: c.password,
            }]
        };
        Ok(Some(TurnServers {
            mint: Arc::new(mint),
            ttl,
        }))
    }

    /// The URLs, for the start-up lines.
    pub(crate) fn urls(&self) -> &[String] {
        &self.turn_urls
    }
}
