//! `summit keygen`: key pairs made on the organizer's machine.

use std::path::PathBuf;

use clap::Args;

use summit_recording::key;

/// Options of `summit keygen`.
#[derive(Args)]
pub(crate) struct KeygenArgs {
    /// A recording key pair (ECDH P-256): the private half is written to `--out`.
    #[arg(long, required = true)]
    recording: bool,
    /// Where to write the private key (mode 0600; never overwritten).
    #[arg(long, default_value = "./recording.key")]
    out: PathBuf,
}

/// Runs `summit keygen --recording`: writes the private half, prints the public one.
pub(crate) fn run(args: KeygenArgs) -> anyhow::Result<()> {
    let KeygenArgs { recording: _, out } = args;
    let public = key::generate(&out)?;
    println!("{public}");
    eprintln!(
        "Wrote the recording private key to {} (keep it offline). Register the public key above with: summit meeting create <name> --recording-key {public}",
        out.display()
    );
    Ok(())
}
