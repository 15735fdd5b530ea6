//! TURN credentials in the time-limited "REST API" form coturn checks with
//! `--use-auth-secret`: the username is `<expiry unix seconds>:<participant>`, the password
//! the base64 of HMAC-SHA1(shared secret, username). The TURN server needs only the secret, no
//! list of users, and refuses a username whose expiry has passed.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use summit_proto::ParticipantId;

/// A username and password for a TURN server that shares `secret` with Summit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredential {
    /// `<expiry>:<participant>`.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub password: String,
}

/// The credential for `participant`, valid until `expires` (seconds since the Unix epoch).
pub fn turn_credential(secret: &[u8], participant: ParticipantId, expires: u64) -> TurnCredential {
    let username = format!("{expires}:{}", participant.0);
    // SHA-1 because that is what TURN servers check (coturn's REST API, RFC 8489's
    // long-term credential mechanism); the secret never leaves the two servers.
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, username.as_bytes());
    TurnCredential {
        password: STANDARD.encode(tag.as_ref()),
        username,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_coturn_rest_form() {
        // Reference value from Python: base64(hmac.new(secret, username, sha1).digest()).
        let c = turn_credential(b"north-south-secret", ParticipantId(42), 1_798_761_600);
        assert_eq!(c.username, "1798761600:42");
        assert_eq!(c.password, "fCctPJg0eX8uWYkgr59+8eQRfYc=");
    }
}
