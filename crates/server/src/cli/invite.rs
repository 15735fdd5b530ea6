//! `summit invite`: signs an invitation and prints its join link.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use summit_auth::InvitationClaims;
use summit_proto::{Language, LanguagePair, MeetingName, Role};

use super::secrets::SecretsFile;
use crate::registry::DataDir;
use crate::registry::RegistryBackend;

/// Arguments of `summit invite`.
#[derive(Args)]
pub(crate) struct InviteArgs {
    /// The meeting (created with defaults if it does not exist).
    #[arg(long)]
    meeting: MeetingName,
    /// The invitee's display name.
    #[arg(long)]
    name: String,
    /// host, delegate, interpreter or observer.
    #[arg(long, default_value = "delegate")]
    role: Role,
    /// How long the link works, e.g. 24h, 90m, 7d.
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    valid_for: Duration,
    /// The server's address as the invitee's browser reaches it.
    #[arg(long, default_value = "http://127.0.0.1:7880")]
    server: String,
    /// How many times the link may enter (unlimited when not given).
    #[arg(long)]
    uses: Option<u32>,
    /// For an interpreter: the two languages they interpret between, e.g. ru-zh (both become
    /// interpretation channels of the meeting if they are not yet). Partners invited with the
    /// same pair share one booth and one microphone.
    #[arg(long)]
    interprets: Option<LanguagePair>,
    /// Enter without waiting in the lobby.
    #[arg(long)]
    skip_lobby: bool,
    /// Print JSON instead of the bare link.
    #[arg(long)]
    json: bool,
    /// The organizer's file of meeting secrets (mode 0600; `summit serve` never reads it).
    #[arg(long, default_value = "./summit-secrets")]
    secrets: PathBuf,
}

pub(crate) fn run(data: &Path, args: InviteArgs) -> anyhow::Result<()> {
    match (&args.interprets, args.role) {
        (None, Role::Interpreter) => anyhow::bail!(
            "an interpreter works between two languages: add --interprets, e.g. --interprets ru-zh"
        ),
        (Some(_), role) if role != Role::Interpreter => {
            anyhow::bail!("--interprets is for --role interpreter")
        }
        _ => {}
    }
    let dir = DataDir::open(data)?;
    let key = dir.signing_key()?;
    let created = dir.create_meeting(&args.meeting, true)?;
    let e2ee = dir.meeting_e2ee(&args.meeting)?.unwrap_or(true);
    if let Some(pair) = &args.interprets {
        let added = dir.add_languages(&args.meeting, &[pair.a.clone(), pair.b.clone()])?;
        if !added.is_empty() {
            let list: Vec<&str> = added.iter().map(Language::as_str).collect();
            eprintln!(
                "Interpretation channels added to '{}': {}.",
                args.meeting,
                list.join(", ")
            );
        }
    }
    // The secret goes in the link's fragment, which browsers never send to a server.
    let fragment = if e2ee {
        let file = SecretsFile::new(&args.secrets);
        let (secret, made) = file.get_or_create(&args.meeting)?;
        if made && !created {
            eprintln!(
                "No secret for '{}' in {}: made a new one. Links made with another secrets file \
                 will not share keys with this one.",
                args.meeting,
                file.path().display()
            );
        }
        format!("#{}", secret.to_text())
    } else {
        String::new()
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = InvitationClaims::new(
        args.meeting.clone(),
        args.name.clone(),
        args.role,
        now,
        args.valid_for.as_secs(),
    );
    claims.uses = args.uses;
    claims.skip_lobby = args.skip_lobby;
    claims.no_e2ee = !e2ee;
    claims.interprets = args.interprets.clone();
    let token = claims.sign(&key).context("cannot sign the invitation")?;
    let url = format!(
        "{}/m/{}?invite={token}{fragment}",
        args.server.trim_end_matches('/'),
        args.meeting
    );
    let expires = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(claims.exp));
    if args.json {
        let out = serde_json::json!({
            "url": url,
            "invitation_id": claims.jti,
            "meeting": args.meeting,
            "name": args.name,
            "role": args.role,
            "e2ee": e2ee,
            "interprets": args.interprets,
            "expires": expires.to_string(),
        });
        println!("{out}");
    } else {
        if created {
            eprintln!("Created meeting '{}'.", args.meeting);
        }
        eprintln!(
            "Invitation for {} ({}) to '{}', valid until {expires}:",
            args.name, args.role, args.meeting
        );
        println!("{url}");
    }
    Ok(())
}
