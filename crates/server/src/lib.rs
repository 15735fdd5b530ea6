//! Summit's server: the `summit` binary's parts, laid out by job.
//!
//! - [`cli`]: the command line, one module per subcommand (`serve` wires the runtime).
//! - `runtime`: the tokio side of `summit serve`: the SFU task that owns the sans-IO core, the
//!   media sockets (UDP, ICE over TCP), signaling, HTTP, metrics, admission limits and the
//!   record's writer.
//! - `registry`: the data directory and all SQLite access (meetings, invitations, sessions,
//!   the record).
//!
//! Recording files (Ogg, WebM, sealed frame logs, unsealing) are the `summit-recording` crate.
#![forbid(unsafe_code)]

pub mod cli;
mod registry;
mod runtime;
