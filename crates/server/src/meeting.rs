//! `summit meeting`: registers meetings (encryption, interpretation channels) and lists them.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use summit_proto::{Language, MeetingName};

use crate::data::{parse_languages, DataDir};
use crate::secrets::SecretsFile;

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
    },
    /// List registered meetings.
    List,
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
            if e2ee {
                let file = SecretsFile::new(&secrets);
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
            for (name, created, e2ee, languages) in dir.meetings()? {
                let e2ee = if e2ee { "e2ee" } else { "no e2ee" };
                let channels = if languages.is_empty() {
                    String::new()
                } else {
                    format!("\tchannels {languages}")
                };
                println!("{name}\tcreated {created}\t{e2ee}{channels}");
            }
        }
    }
    Ok(())
}
