//! The data directory: the invitation signing key pair and the SQLite meeting registry.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rusqlite::Connection;
use summit_auth::{SigningKey, VerifyingKey};
use summit_proto::MeetingName;

const PRIVATE_KEY: &str = "invite-signing.key";
const PUBLIC_KEY: &str = "invite-signing.pub";
const DATABASE: &str = "summit.db";

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &["CREATE TABLE meetings (
        name TEXT PRIMARY KEY NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );"];

/// An opened data directory.
pub(crate) struct DataDir {
    path: PathBuf,
    db: Connection,
}

impl DataDir {
    /// Opens (creating if needed) the directory and its database.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        let db = Connection::open(path.join(DATABASE))
            .with_context(|| format!("cannot open {}", path.join(DATABASE).display()))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        let version: usize = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            bail!(
                "{} was written by a newer Summit (schema {version}); upgrade Summit",
                path.display()
            );
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
            db.execute_batch(&format!(
                "BEGIN; {m} PRAGMA user_version = {}; COMMIT;",
                i + 1
            ))
            .with_context(|| format!("migration {} failed", i + 1))?;
        }
        Ok(Self {
            path: path.to_owned(),
            db,
        })
    }

    /// The signing key, created with its public half on first use.
    pub(crate) fn signing_key(&self) -> anyhow::Result<SigningKey> {
        let private = self.path.join(PRIVATE_KEY);
        if private.exists() {
            let pem = fs::read_to_string(&private)
                .with_context(|| format!("cannot read {}", private.display()))?;
            return SigningKey::from_pem(&pem)
                .with_context(|| format!("{} is not a valid signing key", private.display()));
        }
        if self.path.join(PUBLIC_KEY).exists() {
            bail!(
                "{} holds only the public key; invitations are made where the private key ({PRIVATE_KEY}) is kept",
                self.path.display()
            );
        }
        let key = SigningKey::generate()?;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&private)
            .with_context(|| format!("cannot create {}", private.display()))?;
        f.write_all(key.to_pem().as_bytes())?;
        fs::set_permissions(&private, fs::Permissions::from_mode(0o600))?;
        fs::write(
            self.path.join(PUBLIC_KEY),
            key.verifying_key().to_text() + "\n",
        )?;
        Ok(key)
    }

    /// The verifying key: from the public key file, or made with the pair on first start.
    pub(crate) fn verifying_key(&self) -> anyhow::Result<VerifyingKey> {
        let public = self.path.join(PUBLIC_KEY);
        if !public.exists() {
            return Ok(self.signing_key()?.verifying_key());
        }
        let text = fs::read_to_string(&public)
            .with_context(|| format!("cannot read {}", public.display()))?;
        VerifyingKey::from_text(&text)
            .with_context(|| format!("{} is not a valid public key", public.display()))
    }

    /// Registers a meeting; false if it existed.
    pub(crate) fn create_meeting(&self, name: &MeetingName) -> anyhow::Result<bool> {
        let n = self.db.execute(
            "INSERT OR IGNORE INTO meetings (name) VALUES (?1)",
            [name.as_str()],
        )?;
        Ok(n == 1)
    }

    /// Registered meetings with their creation time.
    pub(crate) fn meetings(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut q = self
            .db
            .prepare("SELECT name, created_at FROM meetings ORDER BY created_at, name")?;
        let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
