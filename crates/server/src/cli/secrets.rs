//! The organizer's secrets file: the meeting secret of each end-to-end encrypted meeting, one
//! per line. `summit invite` and `summit meeting create` write and read it; `summit serve`
//! never does, so a media server without this file cannot learn any meeting's keys.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use summit_auth::MeetingSecret;
use summit_proto::MeetingName;

const HEADER: &str = "# Summit meeting secrets: `<meeting> <secret>` per line. Keep this file private;\n\
                      # `summit serve` never reads it. Anyone with a meeting's secret can decrypt it.\n";

/// The secrets file at a path (it need not exist yet).
pub(crate) struct SecretsFile {
    path: PathBuf,
}

impl SecretsFile {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    /// The file's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The secret recorded for `meeting`, if any.
    pub(crate) fn get(&self, meeting: &MeetingName) -> anyhow::Result<Option<MeetingSecret>> {
        let text = match fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", self.path.display()))
            }
        };
        if let Ok(meta) = fs::metadata(&self.path) {
            if meta.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "Warning: {} is readable by other users; `chmod 600` it.",
                    self.path.display()
                );
            }
        }
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, secret)) = line.split_once(char::is_whitespace) else {
                bail!(
                    "{} line {}: expected `<meeting> <secret>`",
                    self.path.display(),
                    n + 1
                );
            };
            if name == meeting.as_str() {
                let s = MeetingSecret::from_text(secret)
                    .with_context(|| format!("{} line {}", self.path.display(), n + 1))?;
                return Ok(Some(s));
            }
        }
        Ok(None)
    }

    /// The secret for `meeting`, made and recorded if there is none yet; true if made now.
    pub(crate) fn get_or_create(
        &self,
        meeting: &MeetingName,
    ) -> anyhow::Result<(MeetingSecret, bool)> {
        if let Some(s) = self.get(meeting)? {
            return Ok((s, false));
        }
        let secret = MeetingSecret::generate().context("no randomness for a meeting secret")?;
        let new_file = !self.path.exists();
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        if new_file {
            f.write_all(HEADER.as_bytes())?;
        }
        writeln!(f, "{meeting} {}", secret.to_text())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        f.sync_all()?;
        Ok((secret, true))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn secrets_are_made_once_kept_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("summit-secrets-{}", std::process::id()));
        let _ = fs::remove_file(&dir);
        let file = SecretsFile::new(&dir);
        let a = MeetingName::parse("a").unwrap();
        let b = MeetingName::parse("b").unwrap();
        assert!(file.get(&a).unwrap().is_none());
        let (sa, made) = file.get_or_create(&a).unwrap();
        assert!(made);
        let (sb, _) = file.get_or_create(&b).unwrap();
        assert_ne!(sa, sb);
        let (again, made) = file.get_or_create(&a).unwrap();
        assert!(!made);
        assert_eq!(again, sa);
        let mode = fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::remove_file(&dir).unwrap();
    }
}
