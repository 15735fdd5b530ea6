//! Resume tokens: the random secret that lets a page take its session back after a lost
//! connection, and the hash the server keeps of it instead of the token.

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use summit_proto::{ResumeHash, ResumeToken};

/// Bytes of entropy in a resume token (256 bits; guessing one is hopeless).
const TOKEN_BYTES: usize = 32;

/// The system's random source failed; no token can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no randomness for a resume token")]
pub struct NoRandomness;

/// A fresh resume token from the operating system's random source.
pub fn new_resume_token() -> Result<ResumeToken, NoRandomness> {
    let mut b = [0u8; TOKEN_BYTES];
    SystemRandom::new().fill(&mut b).map_err(|_| NoRandomness)?;
    Ok(ResumeToken::new(URL_SAFE_NO_PAD.encode(b)))
}

/// The SHA-256 of a token's text: what the server stores and compares.
pub fn resume_hash(token: &ResumeToken) -> ResumeHash {
    let d = digest(&SHA256, token.as_str().as_bytes());
    let mut h = [0u8; 32];
    h.copy_from_slice(d.as_ref());
    ResumeHash(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_their_hashes_stable() {
        let a = new_resume_token().unwrap();
        let b = new_resume_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(resume_hash(&a), resume_hash(&a.clone()));
        assert_ne!(resume_hash(&a), resume_hash(&b));
        // SHA-256("abc"), as published.
        assert_eq!(
            resume_hash(&ResumeToken::new("abc".into())).to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
