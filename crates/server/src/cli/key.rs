//! `summit key`: the server's public keys.

use std::path::Path;

use clap::Subcommand;

use crate::registry::DataDir;

/// Subcommands of `summit key`.
#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Print the server's public keys: the record key that signs meeting records, and the
    /// invitation key.
    Show,
}

/// Runs `summit key`.
pub(crate) fn run(data: &Path, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Show => {
            let dir = DataDir::open(data)?;
            println!(
                "Record key (checks meeting records offline): {}",
                dir.record_key()?.verifying_key().to_text()
            );
            println!("Invitation key: {}", dir.verifying_key()?.to_text());
            Ok(())
        }
    }
}
