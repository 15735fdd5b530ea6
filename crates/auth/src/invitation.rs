//! Invitations: signing and verifying the JWT that a join link carries.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use summit_proto::{InvitationId, LanguagePair, MeetingName, Role};

use crate::{Capabilities, SigningKey, VerifyingKey};

/// Issuer claim of every Summit invitation.
const ISSUER: &str = "summit";
/// Longest display name accepted, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Clock difference tolerated between the organizer's machine and the server, in seconds.
const LEEWAY_SECS: u64 = 30;

/// The claims inside an invitation token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationClaims {
    /// Always "summit".
    pub iss: String,
    /// The meeting it admits to.
    pub mtg: MeetingName,
    /// The invitee's display name.
    pub name: String,
    /// The invitee's role.
    pub role: Role,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not valid before (Unix seconds).
    pub nbf: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// Unique invitation id.
    pub jti: InvitationId,
    /// How many times the link may enter; unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uses: Option<u32>,
    /// The invitee enters without waiting in the lobby.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_lobby: bool,
    /// The meeting is not end-to-end encrypted (made with `--no-e2ee`); absent means it is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_e2ee: bool,
    /// For an interpreter: the two languages they interpret between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interprets: Option<LanguagePair>,
}

/// A verified invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its claims, all checked.
    pub claims: InvitationClaims,
}

impl Invitation {
    /// What the invitee may do.
    pub fn capabilities(&self) -> Capabilities {
        Capabilities::for_role(self.claims.role)
    }
}

/// Why an invitation was refused. The texts are safe to show the person holding it: they say
/// nothing about the meeting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvitationError {
    /// Not a JWT, or its claims are not Summit's.
    #[error("this invitation link is damaged or incomplete")]
    Malformed,
    /// An algorithm other than EdDSA (including `none`).
    #[error("this invitation is not signed the way Summit signs invitations")]
    WrongAlgorithm,
    /// The signature does not verify with this server's key.
    #[error("this invitation was not issued for this server or has been altered")]
    BadSignature,
    /// Past its expiry.
    #[error("this invitation has expired; ask the organizer for a new one")]
    Expired,
    /// Before its `nbf`.
    #[error("this invitation is not valid yet")]
    NotYetValid,
    /// For another meeting than the link's.
    #[error("this invitation is not for this meeting")]
    WrongMeeting,
    /// The display name is empty, too long or has control characters.
    #[error("the name in this invitation is not acceptable")]
    BadName,
}

impl InvitationClaims {
    /// Claims for a new invitation valid from `now` for `valid_for_secs`, with a fresh id.
    pub fn new(
        meeting: MeetingName,
        name: String,
        role: Role,
        now: u64,
        valid_for_secs: u64,
    ) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            mtg: meeting,
            name,
            role,
            iat: now,
            nbf: now,
            exp: now.saturating_add(valid_for_secs),
            jti: InvitationId(uuid::Uuid::new_v4().to_string()),
            uses: None,
            skip_lobby: false,
            no_e2ee: false,
            interprets: None,
        }
    }

    /// Signs the claims into a token.
    pub fn sign(&self, key: &SigningKey) -> Result<String, InvitationError> {
        check_name(&self.name)?;
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), self, &key.encoding_key())
            .map_err(|_| InvitationError::Malformed)
    }
}

fn check_name(name: &str) -> Result<(), InvitationError> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME_CHARS || name.chars().any(char::is_control) || name.trim().is_empty()
    {
        return Err(InvitationError::BadName);
    }
    Ok(())
}

impl Invitation {
    /// Verifies `token` with `key` for the meeting `expected` at Unix time `now`.
    pub fn verify(
        token: &str,
        key: &VerifyingKey,
        expected: &MeetingName,
        now: u64,
    ) -> Result<Invitation, InvitationError> {
        // Refuse other algorithms before looking at anything else, with a precise reason.
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::Json(_) if token.split('.').count() == 3 => {
                InvitationError::WrongAlgorithm
            }
            _ => InvitationError::Malformed,
        })?;
        if header.alg != Algorithm::EdDSA {
            return Err(InvitationError::WrongAlgorithm);
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Times are checked below against the caller's clock, so tests can be deterministic.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[ISSUER]);
        let data =
            jsonwebtoken::decode::<InvitationClaims>(token, &key.decoding_key(), &validation)
                .map_err(|e| {
                    use jsonwebtoken::errors::ErrorKind as K;
                    match e.kind() {
                        K::InvalidSignature | K::InvalidEddsaKey => InvitationError::BadSignature,
                        K::InvalidAlgorithm | K::UnsupportedAlgorithm | K::InvalidAlgorithmName => {
                            InvitationError::WrongAlgorithm
                        }
                        _ => InvitationError::Malformed,
                    }
                })?;
        let claims = data.claims;
        if now >= claims.exp.saturating_add(LEEWAY_SECS) {
            return Err(InvitationError::Expired);
        }
        if now.saturating_add(LEEWAY_SECS) < claims.nbf {
            return Err(InvitationError::NotYetValid);
        }
        if &claims.mtg != expected {
            return Err(InvitationError::WrongMeeting);
        }
        check_name(&claims.name)?;
        Ok(Invitation { claims })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    const NOW: u64 = 1_800_000_000;

    fn meeting(s: &str) -> MeetingName {
        MeetingName::parse(s).unwrap()
    }

    fn token(key: &SigningKey) -> String {
        InvitationClaims::new(meeting("m1"), "Ada".into(), Role::Delegate, NOW, 3600)
            .sign(key)
            .unwrap()
    }

    #[test]
    fn valid_invitation_verifies() {
        let key = SigningKey::generate().unwrap();
        let inv = Invitation::verify(&token(&key), &key.verifying_key(), &meeting("m1"), NOW + 10)
            .unwrap();
        assert_eq!(inv.claims.name, "Ada");
        assert_eq!(inv.claims.role, Role::Delegate);
    }

    #[test]
    fn refusals() {
        let key = SigningKey::generate().unwrap();
        let other = SigningKey::generate().unwrap();
        let vk = key.verifying_key();
        let m = meeting("m1");
        let t = token(&key);
        let verify = |t: &str, now| Invitation::verify(t, &vk, &m, now);

        assert_eq!(verify(&t, NOW + 3600 + 31), Err(InvitationError::Expired));
        assert_eq!(verify(&t, NOW - 100), Err(InvitationError::NotYetValid));
        assert_eq!(
            Invitation::verify(&t, &vk, &meeting("m2"), NOW),
            Err(InvitationError::WrongMeeting)
        );
        assert_eq!(
            verify(&token(&other), NOW),
            Err(InvitationError::BadSignature)
        );
        assert_eq!(verify("garbage", NOW), Err(InvitationError::Malformed));
        assert_eq!(verify("", NOW), Err(InvitationError::Malformed));

        // Claims altered after signing: swap the payload for one naming a host.
        let parts: Vec<&str> = t.split('.').collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = "host".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        );
        assert_eq!(verify(&forged, NOW), Err(InvitationError::BadSignature));

        // alg "none" and HS256 are refused.
        for alg in ["none", "HS256"] {
            let h = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let t = format!("{h}.{}.", parts[1]);
            assert_eq!(
                verify(&t, NOW),
                Err(InvitationError::WrongAlgorithm),
                "{alg}"
            );
        }
    }
}
