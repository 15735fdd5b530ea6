//! The command line: one module per subcommand, and the parsers they share.

mod invite;
mod key;
mod keygen;
mod meeting;
mod record;
mod revoke;
mod secrets;
mod serve;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Summit: video meetings for delegations.
#[derive(Parser)]
#[command(name = "summit", version, about)]
pub struct Cli {
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
    Keygen(keygen::KeygenArgs),
    /// The server's public keys.
    Key {
        #[command(subcommand)]
        command: key::KeyCommand,
    },
    /// Print a join link for someone.
    Invite(invite::InviteArgs),
    /// Revoke an invitation: its link no longer enters, and whoever is in with it leaves.
    Revoke(revoke::RevokeArgs),
}

impl Cli {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        let data = &self.data;
        match self.command {
            Command::Serve(args) => serve::run(data, args),
            Command::Invite(args) => invite::run(data, args),
            Command::Revoke(args) => revoke::run(data, args),
            Command::Meeting { command } => meeting::run(data, command),
            Command::Record { command } => record::run(data, command),
            Command::Key { command } => key::run(data, command),
            Command::Keygen(args) => keygen::run(args),
        }
    }
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
