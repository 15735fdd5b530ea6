//! Summit invitations: Ed25519-signed JWTs that name a meeting, a person and a role, and the
//! capabilities a role grants.
#![deny(missing_docs)]

mod invitation;
mod keys;
mod resume;
mod secret;
mod turn;

pub use invitation::{Invitation, InvitationClaims, InvitationError};
pub use keys::{KeyError, SigningKey, VerifyingKey};
pub use resume::{new_resume_token, resume_hash, NoRandomness};
pub use secret::{MeetingSecret, SecretError};
pub use summit_proto::{Capabilities, Capability};
pub use turn::{turn_credential, TurnCredential};
