//! Operator credentials created through AdminService: each names who holds it, works like the
//! configured token, and can be revoked at once. Only the credential's hash is kept.

use std::time::SystemTime;

use cif_sdk::ids::OperatorCredentialId;

use super::entries::Registry;
use super::operator_record::OperatorCredentialRecord;
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::paging::{self, Page};
use crate::domain::principal::CredentialHash;
use crate::domain::validate::{Violations, limits};

impl Registry {
    /// Creates an operator credential named `display_name` whose hash is `credential`.
    pub fn create_operator_credential(
        &mut self,
        display_name: String,
        credential: CredentialHash,
        now: SystemTime,
    ) -> DomainResult<OperatorCredentialRecord> {
        let mut violations = Violations::new();
        violations.required_text(
            "operator_credential.display_name",
            &display_name,
            limits::NAME,
        );
        violations.finish()?;
        let record = OperatorCredentialRecord {
            id: OperatorCredentialId::generate(),
            display_name,
            credential,
            created: now,
        };
        self.add_credential(credential, record.principal());
        self.operators.insert(record.id, record.clone());
        Ok(record)
    }

    pub fn operator_credential(
        &self,
        id: OperatorCredentialId,
    ) -> Option<&OperatorCredentialRecord> {
        self.operators.get(&id)
    }

    /// The operator credentials in creation order, after `after`.
    pub fn operator_credentials(
        &self,
        after: Option<OperatorCredentialId>,
        limit: usize,
    ) -> Page<&OperatorCredentialRecord, OperatorCredentialId> {
        paging::page(&self.operators, after, limit, |_| true)
    }

    /// Revokes an operator credential: it stops working at once.
    pub fn revoke_operator_credential(
        &mut self,
        id: OperatorCredentialId,
    ) -> DomainResult<OperatorCredentialRecord> {
        let record = self.operators.remove(&id).ok_or_else(|| {
            DomainError::new(
                Reason::OperatorCredentialNotFound,
                format!(
                    "operator credential {id} not found; ListOperatorCredentials shows those that work"
                ),
            )
            .with("operator_credential_id", id)
        })?;
        self.remove_credential(&record.credential);
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::principal::{Operator, Principal, Role};

    fn hash(byte: u8) -> CredentialHash {
        CredentialHash([byte; 32])
    }

    #[test]
    fn an_operator_credential_works_until_revoked_and_then_at_once_no_more() {
        let mut registry = Registry::new(hash(1));
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(
            registry
                .create_operator_credential(String::new(), hash(2), now)
                .unwrap_err()
                .reason,
            Reason::FieldRequired
        );
        let record = registry
            .create_operator_credential("ops-oncall".into(), hash(2), now)
            .unwrap();
        assert_eq!(
            registry
                .authenticate(&hash(2), Role::Operator, now)
                .unwrap(),
            record.principal()
        );
        let listed = registry.operator_credentials(None, 10).items;
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].id, listed[0].display_name.as_str()),
            (record.id, "ops-oncall")
        );

        registry.revoke_operator_credential(record.id).unwrap();
        let refused = registry
            .authenticate(&hash(2), Role::Operator, now)
            .unwrap_err();
        assert_eq!(refused.reason, Reason::CredentialInvalid);
        assert!(registry.operator_credentials(None, 10).items.is_empty());
        assert_eq!(
            registry
                .revoke_operator_credential(record.id)
                .unwrap_err()
                .reason,
            Reason::OperatorCredentialNotFound
        );
        assert_eq!(
            registry
                .authenticate(&hash(1), Role::Operator, now)
                .unwrap(),
            Principal::Operator(Operator::Configured),
            "the configured token is untouched"
        );
    }
}
