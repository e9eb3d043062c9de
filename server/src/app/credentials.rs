//! Credentials the server issues: 256-bit random tokens with a prefix that says whose they
//! are, shown once; only their SHA-256 is kept.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::domain::CredentialHash;

/// What kind of principal a credential is issued to; its prefix tells people (and secret
/// scanners) what a leaked token is.
#[derive(Debug, Clone, Copy)]
pub enum CredentialKind {
    Operator,
    Provider,
    Agent,
    /// A widget on one agent's desk (rule 21).
    Widget,
}

/// A new 256-bit random credential and its hash. The credential is shown once; only the hash
/// is kept.
pub fn issue_credential(kind: CredentialKind) -> (String, CredentialHash) {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random source works");
    let prefix = match kind {
        CredentialKind::Operator => "cifo_",
        CredentialKind::Provider => "cifp_",
        CredentialKind::Agent => "cifa_",
        CredentialKind::Widget => "cifw_",
    };
    let credential = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = hash_credential(&credential);
    (credential, hash)
}

/// The SHA-256 of a credential.
pub fn hash_credential(credential: &str) -> CredentialHash {
    CredentialHash(Sha256::digest(credential.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_random_prefixed_and_hash_to_what_is_kept() {
        let (first, hash) = issue_credential(CredentialKind::Provider);
        let (second, _) = issue_credential(CredentialKind::Provider);
        assert!(first.starts_with("cifp_"));
        assert_eq!(first.len(), "cifp_".len() + 43, "32 bytes of base64url");
        assert_ne!(first, second);
        assert!(hash_credential(&first).matches(&hash));
        assert!(!hash_credential(&second).matches(&hash));
    }
}
