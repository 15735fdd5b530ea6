//! Test support: simulated participants (str0m on the "browser" side too) talking to a
//! [`summit_core::Sfu`] over a seeded, lossy network in virtual time. No sockets, no threads.
#![deny(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failure here is a test failure

mod client;
mod harness;
pub mod script;

pub use client::{LayerChange, SimClient, LAYERS};
pub use harness::Harness;
