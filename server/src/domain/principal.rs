//! Who is calling, as established from the credential.

use std::fmt;

use cif_sdk::ids::{AgentId, ProviderId};
use subtle::ConstantTimeEq;

/// The authenticated caller of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The people who run the service.
    Operator,
    /// One channel provider integration.
    Provider(ProviderId),
    /// One agent's desktop.
    Agent(AgentId),
}

/// The role a service is for: each service serves exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    Provider,
    Agent,
}

impl Principal {
    pub fn role(self) -> Role {
        match self {
            Principal::Operator => Role::Operator,
            Principal::Provider(_) => Role::Provider,
            Principal::Agent(_) => Role::Agent,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Operator => f.write_str("operator"),
            Principal::Provider(id) => write!(f, "provider {id}"),
            Principal::Agent(id) => write!(f, "agent {id}"),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Operator => "operator",
            Role::Provider => "provider",
            Role::Agent => "agent",
        })
    }
}

/// The SHA-256 of a credential: all the server keeps of it.
#[derive(Clone, Copy, Hash, serde::Serialize, serde::Deserialize)]
pub struct CredentialHash(pub [u8; 32]);

impl CredentialHash {
    /// The first eight bytes, used to find a stored hash; the whole hash is then compared in
    /// constant time.
    pub fn lookup_key(&self) -> u64 {
        let mut key = [0; 8];
        key.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(key)
    }

    /// Equality that takes the same time wherever the hashes differ.
    pub fn matches(&self, other: &CredentialHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for CredentialHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialHash(..)")
    }
}
