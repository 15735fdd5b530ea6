//! `summit record`: exporting a meeting's record for people and verifiers, checking one
//! offline, and unsealing a sealed recording.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use summit_auth::VerifyingKey;
use summit_proto::MeetingName;
use summit_record::{verify, SignedHead};

use crate::registry::record_log::read_record_file;
use crate::registry::DataDir;

/// Subcommands of `summit record`.
#[derive(Subcommand)]
pub(crate) enum RecordCommand {
    /// Write a meeting's full record: JSON for programs, Markdown for people (both verify).
    Export {
        /// The meeting.
        meeting: MeetingName,
        /// The file format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Turn a sealed recording (of an end-to-end encrypted meeting) into playable files.
    Unseal {
        /// The recording's directory (under the data directory's `recordings/`).
        recording: PathBuf,
        /// The recording private key (`summit keygen --recording` made it).
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a record offline: the hash chain, the server's signatures, and a head you kept.
    Verify {
        /// The exported record (JSON or Markdown).
        file: PathBuf,
        /// A signed head a participant's page kept: proves the record holds everything up to it.
        #[arg(long)]
        head: Option<PathBuf>,
        /// The server's record key (`summit key show` on the server); default: this data
        /// directory's, if it has one. (Base64url: it may begin with '-'.)
        #[arg(long, allow_hyphen_values = true)]
        key: Option<String>,
    },
}

/// Export formats.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// The machine-readable record.
    Json,
    /// A timeline for people, with the record inside.
    Md,
}

/// Runs `summit record`.
pub(crate) fn run(data: &Path, command: RecordCommand) -> anyhow::Result<()> {
    match command {
        RecordCommand::Export {
            meeting,
            format,
            output,
        } => {
            let dir = DataDir::open(data)?;
            let Some(record) = dir.record_file(meeting.as_str())? else {
                anyhow::bail!("meeting '{meeting}' has no record: nobody has entered it here");
            };
            let text = match format {
                Format::Json => record.to_json()? + "\n",
                Format::Md => record.to_markdown()?,
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "Wrote the record of '{meeting}' ({} entries) to {}.",
                        record.entries.len(),
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(())
        }
        RecordCommand::Verify { file, head, key } => verify_file(data, &file, head.as_deref(), key),
        RecordCommand::Unseal { recording, key } => {
            for t in summit_recording::unseal::unseal(&recording, &key)? {
                println!(
                    "{}: {} frames{}",
                    t.file.display(),
                    t.frames - t.undecryptable,
                    if t.undecryptable > 0 {
                        format!(" ({} without a key, skipped)", t.undecryptable)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(())
        }
    }
}

fn verify_file(
    data: &Path,
    file: &Path,
    head: Option<&Path>,
    key: Option<String>,
) -> anyhow::Result<()> {
    let record = read_record_file(file)?;
    let (key, whose) = match key {
        Some(k) => (VerifyingKey::from_text(&k)?, "the key given"),
        None if data.join("record-signing.key").exists() => (
            DataDir::open(data)?.record_key()?.verifying_key(),
            "this server's record key",
        ),
        None => anyhow::bail!(
            "no key to check with: pass --key <the server's record key> (`summit key show` on the server prints it)"
        ),
    };
    let kept: Option<SignedHead> = match head {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            Some(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a signed record head", p.display()))?,
            )
        }
        None => None,
    };
    match verify(&record, &key, kept.as_ref()) {
        Ok(v) => {
            println!(
                "OK: the record of '{}' has {} entries, linked from the first to the last.",
                record.meeting, v.entries
            );
            match v.signed_through {
                Some(s) => println!("Signed by {whose} through entry {s}."),
                None => println!("No signed head in the file: only the links were checked."),
            }
            if let Some(k) = v.kept {
                println!("It contains everything up to the head you kept (entry {k}).");
            }
            Ok(())
        }
        Err(e) => anyhow::bail!("FAILED: {e}"),
    }
}
