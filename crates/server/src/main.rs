//! `summit`: the command-line entry point. Subcommands start the server and manage meetings and
//! invitations in a data directory.
#![forbid(unsafe_code)]

mod data;
mod http;
mod invite;
mod limits;
mod media;
mod secrets;
mod serve;
mod signaling;
mod store;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use summit_proto::MeetingName;

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
    /// Manage meetings.
    Meeting {
        #[command(subcommand)]
        command: MeetingCommand,
    },
    /// Print a join link for someone.
    Invite(invite::InviteArgs),
    /// Revoke an invitation: its link no longer enters, and whoever is in with it leaves.
    Revoke {
        /// The invitation id (`summit invite --json` prints it).
        invitation_id: String,
    },
}

#[derive(Subcommand)]
enum MeetingCommand {
    /// Register a meeting (end-to-end encrypted unless `--no-e2ee`).
    Create {
        /// 1 to 64 letters, digits, '-', '_' or '.'.
        name: MeetingName,
        /// Without end-to-end encryption, for deployments that need server-side processing.
        #[arg(long)]
        no_e2ee: bool,
        /// The organizer's file of meeting secrets (mode 0600; `summit serve` never reads it).
        #[arg(long, default_value = "./summit-secrets")]
        secrets: PathBuf,
    },
    /// List registered meetings.
    List,
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
        Command::Meeting { command } => {
            let dir = data::DataDir::open(&cli.data)?;
            match command {
                MeetingCommand::Create {
                    name,
                    no_e2ee,
                    secrets,
                } => {
                    let created = dir.create_meeting(&name, !no_e2ee)?;
                    let e2ee = dir.meeting_e2ee(&name)?.unwrap_or(!no_e2ee);
                    let what = if e2ee {
                        "end-to-end encrypted"
                    } else {
                        "not end-to-end encrypted"
                    };
                    if created {
                        println!("Created meeting '{name}' ({what}).");
                    } else {
                        println!("Meeting '{name}' already exists ({what}).");
                    }
                    if e2ee {
                        let file = secrets::SecretsFile::new(&secrets);
                        let (_, made) = file.get_or_create(&name)?;
                        let verb = if made {
                            "Its secret is now in"
                        } else {
                            "Its secret is in"
                        };
                        println!(
                            "{verb} {}; invitations carry it in the link.",
                            file.path().display()
                        );
                    }
                    println!(
                        "Invite someone: summit invite --meeting {name} --name \"Their Name\" --role host"
                    );
                }
                MeetingCommand::List => {
                    for (name, created, e2ee) in dir.meetings()? {
                        let e2ee = if e2ee { "e2ee" } else { "no e2ee" };
                        println!("{name}\tcreated {created}\t{e2ee}");
                    }
                }
            }
            Ok(())
        }
    }
}
