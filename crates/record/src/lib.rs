//! Summit's meeting record: every event of a meeting appended to a hash chain, the chain's head
//! signed by the server (Ed25519), and a verifier that checks a record offline. The format is
//! in docs/record.md so that anyone can write their own verifier.
#![deny(missing_docs)]

mod chain;
mod file;
mod head;
mod verify;

pub use chain::{genesis, Chain, Entry, Hash, HashError};
pub use file::{RecordFile, FORMAT};
pub use head::SignedHead;
/// The events a record holds; defined in `summit-proto` so that the core can emit them without
/// depending on signing.
pub use summit_proto::RecordEvent;
pub use verify::{verify, Verified, VerifyError};
