//! `summit`: the command-line entry point. Subcommands start the server and manage meetings and
//! invitations in a data directory.
#![forbid(unsafe_code)]

mod data;
mod http;
mod invite;
mod limits;
mod media;
mod meeting;
mod metrics;
mod record;
mod record_log;
mod recorder;
mod recording;
mod recording_key;
mod secrets;
mod serve;
mod signaling;
mod store;
mod tcp;
mod turn;
mod udp;
mod unseal;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Summit: video meetings for delegations.
#[derive(Parser)]
#[command(name = "summit", version, about)]
struct Cli {
    /// The data directory: signing keys and the meeting registry.
    #[arg(long, global = true, default_value = "./summit-data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (HTTP, WebSocket signaling and WebRTC media).
    Serve(serve::ServeArgs),
    /// Manage meetings: create, list (who took part, since when), show a timeline.
    #[command(visible_alias = "meetings")]
    Meeting {
        #[command(subcommand)]
        command: meeting::MeetingCommand,
    },
    /// A meeting's verifiable record: export it, verify it offline.
    Record {
        #[command(subcommand)]
        command: record::RecordCommand,
    },
    /// Make a key pair: `--recording` for sealing recordings of encrypted meetings.
    Keygen {
        /// A recording key pair (ECDH P-256): the private half is written to `--out`.
        #[arg(long, required = true)]
        recording: bool,
        /// Where to write the private key (mode 0600; never overwritten).
        #[arg(long, default_value = "./recording.key")]
        out: PathBuf,
    },
    /// The server's public keys.
    Key {
        #[command(subcommand)]
        command: record::KeyCommand,
    },
    /// Print a join link for someone.
    Invite(invite::InviteArgs),
    /// Revoke an invitation: its link no longer enters, and whoever is in with it leaves.
    Revoke {
        /// The invitation id (`summit invite --json` prints it).
        invitation_id: String,
    },
}

/// Parses an IP address for clap.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("'{s}' is not an IP address"))
}

/// Parses a socket address for clap.
pub(crate) fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not an address:port such as 127.0.0.1:7880"))
}

fn main() -> anyhow::Result<()> {
    // Keys, the registry (with its -wal and -shm files), secrets and recordings are the
    // owner's alone, whatever the shell's umask.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "summit=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve::run(&cli.data, args),
        Command::Invite(args) => invite::run(&cli.data, args),
        Command::Revoke { invitation_id } => {
            let dir = data::DataDir::open(&cli.data)?;
            if dir.revoke(&invitation_id, "revoked by the organizer")? {
                println!("Revoked invitation {invitation_id}; a running server honours it within a second.");
            } else {
                println!("Invitation {invitation_id} was already revoked.");
            }
            Ok(())
        }
        Command::Meeting { command } => meeting::run(&cli.data, command),
        Command::Record { command } => record::run(&cli.data, command),
        Command::Key { command } => record::key(&cli.data, command),
        Command::Keygen { recording: _, out } => {
            let public = recording_key::generate(&out)?;
            println!("{public}");
            eprintln!(
                "Wrote the recording private key to {} (keep it offline). Register the public key above with: summit meeting create <name> --recording-key {public}",
                out.display()
            );
            Ok(())
        }
    }
}
