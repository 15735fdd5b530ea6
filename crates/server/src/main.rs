//! `summit`: the command-line entry point. Subcommands start the server and manage meetings and
//! invitations in a data directory (`summit::cli`).
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> anyhow::Result<()> {
    // Keys, the registry (with its -wal and -shm files), secrets and recordings are the
    // owner's alone, whatever the shell's umask.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let cli = summit::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "summit=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    cli.run()
}
