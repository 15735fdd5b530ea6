//! `summit meeting` (or `summit meetings`): registers meetings (encryption, interpretation
//! channels), lists them with who took part, and shows one meeting's timeline.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use summit_proto::{Language, MeetingName};

use super::secrets::SecretsFile;
use crate::registry::RegistryBackend;
use crate::registry::{parse_languages, DataDir, RegisteredMeeting};

/// Subcommands of `summit meeting`.
#[derive(Subcommand)]
pub(crate) enum MeetingCommand {
    /// Register a meeting (end-to-end encrypted unless `--no-e2ee`).
    Create {
        /// 1 to 64 letters, digits, '-', '_' or '.'.
        name: MeetingName,
        /// Without end-to-end encryption, for deployments that need server-side processing.
        #[arg(long)]
        no_e2ee: bool,
        /// Interpretation channels besides the floor, e.g. ru,zh,en: each listener picks one
        /// and hears it over the original (docs/interpretation.md).
        #[arg(long, value_parser = parse_language_list, default_value = "")]
        languages: LanguageList,
        /// The organizer's file of meeting secrets (mode 0600; `summit serve` never reads it).
        #[arg(long, default_value = "./summit-secrets")]
        secrets: PathBuf,
        /// For an encrypted meeting: the public recording key its recordings are sealed to
        /// (`summit keygen --recording` makes a pair; keep the private half offline).
        #[arg(long, value_parser = summit_recording::key::parse_public)]
        recording_key: Option<summit_recording::key::PublicKey>,
    },
    /// List meetings, optionally only those someone took part in, or since a date.
    List {
        /// Only meetings this person (display name, any case) took part in; repeat for several.
        #[arg(long = "with", value_name = "NAME")]
        with: Vec<String>,
        /// Only meetings first started on or after this date (2026-01-31 or RFC 3339).
        #[arg(long, value_parser = parse_since)]
        since: Option<String>,
    },
    /// Show one meeting: who was present when, and its recorded timeline.
    Show {
        /// The meeting.
        name: MeetingName,
    },
}

/// A date or time as the registry stores times (RFC 3339, UTC), for comparison.
fn parse_since(s: &str) -> Result<String, String> {
    let full = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    };
    humantime::parse_rfc3339_weak(&full)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .map_err(|_| format!("'{s}' is not a date such as 2026-01-31"))
}

/// A comma-separated list of language codes, for clap.
#[derive(Clone, Debug)]
pub(crate) struct LanguageList(Vec<Language>);

fn parse_language_list(s: &str) -> Result<LanguageList, String> {
    parse_languages(s)
        .map(LanguageList)
        .map_err(|e| e.to_string())
}

pub(crate) fn run(data: &Path, command: MeetingCommand) -> anyhow::Result<()> {
    let dir = DataDir::open(data)?;
    match command {
        MeetingCommand::Create {
            name,
            no_e2ee,
            languages,
            secrets,
            recording_key,
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
            let added = dir.add_languages(&name, &languages.0)?;
            if !added.is_empty() {
                let list: Vec<&str> = added.iter().map(Language::as_str).collect();
                println!("Interpretation channels added: {}.", list.join(", "));
            }
            if recording_key.is_some() && !e2ee {
                anyhow::bail!("'{name}' is not end-to-end encrypted: its recordings play as they are, with no recording key");
            }
            if e2ee {
                let file = SecretsFile::new(&secrets);
                let (secret, made) = file.get_or_create(&name)?;
                let verb = if made {
                    "Its secret is now in"
                } else {
                    "Its secret is in"
                };
                println!(
                    "{verb} {}; invitations carry it in the link.",
                    file.path().display()
                );
                if let Some(k) = &recording_key {
                    // Pages seal their keys only to a recording key the organizer vouched
                    // for with the meeting secret, which the server never holds.
                    let mac = secret.recording_key_mac(name.as_str(), &k.raw);
                    dir.set_recording_key(&name, &k.text, &mac)?;
                    println!("Its recordings are sealed to the recording key given; unseal them with its private half.");
                }
            }
            println!(
                "Invite someone: summit invite --meeting {name} --name \"Their Name\" --role host"
            );
        }
        MeetingCommand::List { with, since } => {
            let mut shown = 0;
            for m in dir.meetings()? {
                let RegisteredMeeting {
                    name,
                    created_at: created,
                    e2ee,
                    languages,
                } = m;
                let (started, ended) = dir.meeting_times(name.as_str())?;
                if since
                    .as_ref()
                    .is_some_and(|s| started.as_ref().is_none_or(|t| t < s))
                {
                    continue;
                }
                let people = dir.sessions(name.as_str())?;
                let took_part = |who: &String| {
                    people
                        .iter()
                        .any(|p| p.name.to_lowercase() == who.to_lowercase())
                };
                if !with.iter().all(took_part) {
                    continue;
                }
                shown += 1;
                let e2ee = if e2ee { "e2ee" } else { "no e2ee" };
                let channels = if languages.is_empty() {
                    String::new()
                } else {
                    let codes: Vec<String> = languages.iter().map(|l| l.to_string()).collect();
                    format!("\tchannels {}", codes.join(","))
                };
                let when = match (started, ended) {
                    (Some(s), Some(e)) => format!("\tstarted {s}\tended {e}"),
                    (Some(s), None) => format!("\tstarted {s}"),
                    _ => String::new(),
                };
                println!("{name}\tcreated {created}{when}\t{e2ee}{channels}");
            }
            if !with.is_empty() || since.is_some() {
                eprintln!("{shown} meeting(s) match.");
            }
        }
        MeetingCommand::Show { name } => show(&dir, &name)?,
    }
    Ok(())
}

/// Prints one meeting: its settings, who was present when, and the recorded timeline.
fn show(dir: &DataDir, name: &MeetingName) -> anyhow::Result<()> {
    let Some(record) = dir.record_file(name.as_str())? else {
        anyhow::bail!("meeting '{name}' has no record: nobody has entered it on this server");
    };
    println!("Meeting {name}");
    let (started, ended) = dir.meeting_times(name.as_str())?;
    if let Some(s) = started {
        println!("  first started {s}");
    }
    if let Some(e) = ended {
        println!("  last ended    {e}");
    }
    println!("\nPresent:");
    for s in dir.sessions(name.as_str())? {
        let left = s.left_at.as_deref().unwrap_or("(still in)");
        println!("  {}\t{}\tfrom {}\tto {left}", s.name, s.role, s.joined_at);
    }
    println!("\nTimeline:");
    for line in &record.entries {
        let e: summit_record::Entry = serde_json::from_str(line)?;
        println!("  {:>4}  {}  {}", e.seq, e.at, e.event.describe());
    }
    if let Some(h) = record.heads.last() {
        println!(
            "\nSigned through entry {} at {} (summit record export {name} to check it).",
            h.seq, h.at
        );
    }
    Ok(())
}
