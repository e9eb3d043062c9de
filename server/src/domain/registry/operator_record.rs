//! An operator credential as the registry keeps it.

use std::time::SystemTime;

use cif_sdk::ids::OperatorCredentialId;

use crate::domain::principal::{CredentialHash, Operator, Principal};

/// An operator credential as kept.
#[derive(Debug, Clone)]
pub struct OperatorCredentialRecord {
    pub id: OperatorCredentialId,
    /// Who or what holds it, for people: `ops-oncall`, `deploy pipeline`.
    pub display_name: String,
    pub credential: CredentialHash,
    pub created: SystemTime,
}

impl OperatorCredentialRecord {
    /// The principal that calls with it.
    pub fn principal(&self) -> Principal {
        Principal::Operator(Operator::Credential(self.id))
    }
}
