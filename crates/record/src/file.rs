//! The exported record: JSON for programs, Markdown for people (with the JSON inside, so the
//! Markdown file verifies too).

use serde::{Deserialize, Serialize};

use crate::{Entry, SignedHead};

/// The format tag of a record file.
pub const FORMAT: &str = "summit-record/1";

/// Fence that opens the machine-readable record inside the Markdown form.
const FENCE: &str = "```json summit-record";

/// One meeting's record as exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The meeting.
    pub meeting: String,
    /// The server's record key that signed the heads (base64url Ed25519 public key).
    pub key: String,
    /// Every entry's line, exactly as hashed, in order.
    pub entries: Vec<String>,
    /// The heads the server signed (at joins, leaves and the end), oldest first.
    pub heads: Vec<SignedHead>,
}

impl RecordFile {
    /// Reads a record from its JSON or Markdown form.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        let json = match text.find(FENCE) {
            Some(start) => {
                let rest = &text[start + FENCE.len()..];
                rest.find("\n```").map_or(rest, |end| &rest[..end])
            }
            None => text,
        };
        serde_json::from_str(json)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// The Markdown form: a timeline a person reads, then the record itself for verifiers.
    pub fn to_markdown(&self) -> Result<String, serde_json::Error> {
        let mut out = format!("# Record of meeting `{}`\n\n", self.meeting);
        out.push_str("| # | when (UTC) | what |\n|---|---|---|\n");
        for line in &self.entries {
            match serde_json::from_str::<Entry>(line) {
                Ok(e) => out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    e.seq,
                    e.at,
                    e.event.describe().replace('|', "\\|")
                )),
                Err(_) => out.push_str("| ? | ? | (an entry this version cannot read) |\n"),
            }
        }
        if let Some(h) = self.heads.last() {
            out.push_str(&format!(
                "\nThe server signed the chain up to entry {} (hash `{}`) at {} with key `{}`.\n",
                h.seq, h.hash, h.at, self.key
            ));
        }
        out.push_str(
            "\nCheck it with `summit record verify <this file> [--head <a head you kept>]`.\n\n",
        );
        out.push_str(FENCE);
        out.push('\n');
        out.push_str(&self.to_json()?);
        out.push_str("\n```\n");
        Ok(out)
    }
}
