//! `summit revoke`: an invitation stops entering, and whoever is in with it leaves.

use std::path::Path;

use clap::Args;

use crate::registry::DataDir;
use crate::registry::RegistryBackend;

/// Options of `summit revoke`.
#[derive(Args)]
pub(crate) struct RevokeArgs {
    /// The invitation id (`summit invite --json` prints it).
    invitation_id: String,
}

/// Runs `summit revoke`: a running server honours it within a second (it polls the registry).
pub(crate) fn run(data: &Path, args: RevokeArgs) -> anyhow::Result<()> {
    let id = args.invitation_id;
    let dir = DataDir::open(data)?;
    if dir.revoke(&id, "revoked by the organizer")? {
        println!("Revoked invitation {id}; a running server honours it within a second.");
    } else {
        println!("Invitation {id} was already revoked.");
    }
    Ok(())
}
