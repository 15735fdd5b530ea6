//! `summit invite`: signs an invitation and prints its join link.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use summit_auth::InvitationClaims;
use summit_proto::{MeetingName, Role};

use crate::data::DataDir;

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
    /// Enter without waiting in the lobby.
    #[arg(long)]
    skip_lobby: bool,
    /// Print JSON instead of the bare link.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(data: &Path, args: InviteArgs) -> anyhow::Result<()> {
    let dir = DataDir::open(data)?;
    let key = dir.signing_key()?;
    let created = dir.create_meeting(&args.meeting)?;
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
    let token = claims.sign(&key).context("cannot sign the invitation")?;
    let url = format!(
        "{}/m/{}?invite={token}",
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
