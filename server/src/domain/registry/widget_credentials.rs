//! Widget credentials (rule 21): what the desk page holds for each provider whose widget it
//! hosts. One acts as its provider on its agent's desk only, for a short time; issuing a new
//! one for the same widget replaces the old. Only their hashes are kept, and only in memory:
//! after a restart the desk issues new ones.

use std::collections::HashMap;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use crate::domain::principal::CredentialHash;

/// The widget credentials issued now.
#[derive(Debug, Default)]
pub struct WidgetCredentials {
    by_holder: HashMap<(AgentId, ProviderId), Issued>,
    /// Holders by [`CredentialHash::lookup_key`].
    by_key: HashMap<u64, Vec<(CredentialHash, AgentId, ProviderId)>>,
}

/// One widget credential: its hash and when it stops working.
#[derive(Debug, Clone, Copy)]
pub struct Issued {
    pub hash: CredentialHash,
    pub expires: SystemTime,
}

/// What a presented credential is among widget credentials.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Not a widget credential (or a replaced or revoked one).
    Unknown,
    /// It was one, and its time is up.
    Expired,
    /// The widget of `provider` on `agent`'s desk.
    Holder {
        agent: AgentId,
        provider: ProviderId,
    },
}

impl WidgetCredentials {
    /// Issues the credential of `provider`'s widget on `agent`'s desk; the previous one stops
    /// working.
    pub fn issue(&mut self, agent: AgentId, provider: ProviderId, issued: Issued) {
        self.revoke(|a, p| a == agent && p == provider);
        self.by_holder.insert((agent, provider), issued);
        self.by_key
            .entry(issued.hash.lookup_key())
            .or_default()
            .push((issued.hash, agent, provider));
    }

    /// Who holds `credential` at `now`.
    pub fn lookup(&self, credential: &CredentialHash, now: SystemTime) -> Lookup {
        let Some(&(_, agent, provider)) =
            self.by_key
                .get(&credential.lookup_key())
                .and_then(|candidates| {
                    candidates
                        .iter()
                        .find(|(hash, ..)| hash.matches(credential))
                })
        else {
            return Lookup::Unknown;
        };
        match self.by_holder.get(&(agent, provider)) {
            Some(issued) if now < issued.expires => Lookup::Holder { agent, provider },
            _ => Lookup::Expired,
        }
    }

    /// The credentials `agent`'s desk holds that work at `now`: provider and expiry, by
    /// provider.
    pub fn held_by(&self, agent: AgentId, now: SystemTime) -> Vec<(ProviderId, SystemTime)> {
        let mut held: Vec<_> = self
            .by_holder
            .iter()
            .filter(|((holder, _), issued)| *holder == agent && now < issued.expires)
            .map(|((_, provider), issued)| (*provider, issued.expires))
            .collect();
        held.sort();
        held
    }

    /// Revokes every credential whose (agent, provider) `which` picks; returns how many.
    pub fn revoke(&mut self, which: impl Fn(AgentId, ProviderId) -> bool) -> usize {
        let before = self.by_holder.len();
        self.by_holder
            .retain(|&(agent, provider), _| !which(agent, provider));
        self.by_key.retain(|_, candidates| {
            candidates.retain(|&(_, agent, provider)| !which(agent, provider));
            !candidates.is_empty()
        });
        before - self.by_holder.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn hash(byte: u8) -> CredentialHash {
        CredentialHash([byte; 32])
    }

    #[test]
    fn a_widget_credential_works_until_it_expires_is_replaced_or_revoked() {
        let (agent, provider, other) = (
            AgentId::generate(),
            ProviderId::generate(),
            AgentId::generate(),
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let expires = now + Duration::from_secs(600);
        let mut credentials = WidgetCredentials::default();
        credentials.issue(
            agent,
            provider,
            Issued {
                hash: hash(1),
                expires,
            },
        );
        credentials.issue(
            other,
            provider,
            Issued {
                hash: hash(3),
                expires,
            },
        );
        assert_eq!(
            credentials.lookup(&hash(1), now),
            Lookup::Holder { agent, provider }
        );
        assert_eq!(credentials.lookup(&hash(1), expires), Lookup::Expired);
        assert_eq!(credentials.lookup(&hash(2), now), Lookup::Unknown);

        credentials.issue(
            agent,
            provider,
            Issued {
                hash: hash(2),
                expires,
            },
        );
        assert_eq!(
            credentials.lookup(&hash(1), now),
            Lookup::Unknown,
            "replaced"
        );
        assert_eq!(credentials.held_by(agent, now), [(provider, expires)]);
        assert!(credentials.held_by(agent, expires).is_empty());
        assert_eq!(
            credentials.lookup(&hash(2), now),
            Lookup::Holder { agent, provider }
        );

        assert_eq!(credentials.revoke(|a, _| a == agent), 1);
        assert_eq!(credentials.lookup(&hash(2), now), Lookup::Unknown);
        assert_eq!(
            credentials.lookup(&hash(3), now),
            Lookup::Holder {
                agent: other,
                provider
            }
        );
    }
}
