//! Widget credentials (rule 21): what the desk page holds for each provider whose widget it
//! hosts. One acts as its provider on its agent's desk only, for a short time; issuing a new
//! one for the same widget replaces the old. Only their hashes are kept, stored like the other
//! records, so every replica knows them and a restart keeps them until they expire.

use std::collections::HashMap;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use crate::domain::principal::CredentialHash;
use crate::domain::tracked::Tracked;

/// Whose a widget credential is: the widget of a provider on an agent's desk.
pub type Holder = (AgentId, ProviderId);

/// The widget credentials issued now.
#[derive(Debug, Default)]
pub struct WidgetCredentials {
    by_holder: Tracked<Holder, Issued>,
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
    /// The credentials as stored: nothing counts as changed.
    pub fn loaded(issued: impl IntoIterator<Item = (Holder, Issued)>) -> Self {
        let mut credentials = Self::default();
        credentials.apply(
            issued
                .into_iter()
                .map(|(holder, issued)| (holder, Some(issued))),
        );
        credentials
    }

    /// Issues the credential of `provider`'s widget on `agent`'s desk; the previous one stops
    /// working.
    pub fn issue(&mut self, agent: AgentId, provider: ProviderId, issued: Issued) {
        self.unindex((agent, provider));
        self.index((agent, provider), issued);
        self.by_holder.insert((agent, provider), issued);
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
            .range((agent, ProviderId::from_uuid(uuid::Uuid::nil()))..)
            .take_while(|((holder, _), _)| *holder == agent)
            .filter(|(_, issued)| now < issued.expires)
            .map(|((_, provider), issued)| (*provider, issued.expires))
            .collect();
        held.sort();
        held
    }

    /// Revokes every credential whose (agent, provider) `which` picks; returns how many.
    pub fn revoke(&mut self, which: impl Fn(AgentId, ProviderId) -> bool) -> usize {
        let picked: Vec<Holder> = self
            .by_holder
            .keys()
            .filter(|(agent, provider)| which(*agent, *provider))
            .copied()
            .collect();
        for holder in &picked {
            self.unindex(*holder);
            self.by_holder.remove(holder);
        }
        picked.len()
    }

    /// Forgets the credentials whose time was up at `now`: they would never work again.
    pub fn forget_expired(&mut self, now: SystemTime) {
        let expired: Vec<Holder> = self
            .by_holder
            .range(..)
            .filter(|(_, issued)| now >= issued.expires)
            .map(|(holder, _)| *holder)
            .collect();
        for holder in &expired {
            self.unindex(*holder);
            self.by_holder.remove(holder);
        }
    }

    /// What changed since the last call, for the store.
    pub fn take_changes(&mut self) -> Vec<(Holder, Option<Issued>)> {
        self.by_holder.take_changes()
    }

    /// Forgets what changed, for a state nothing stores.
    pub fn forget_changes(&mut self) {
        self.by_holder.forget_touched();
    }

    /// Makes the credentials what another process's commands left them (a follower), the
    /// index in step; nothing counts as changed.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = (Holder, Option<Issued>)>) {
        for (holder, issued) in changes {
            self.unindex(holder);
            match issued {
                Some(issued) => {
                    self.index(holder, issued);
                    self.by_holder.insert(holder, issued);
                }
                None => {
                    self.by_holder.remove(&holder);
                }
            }
        }
        self.by_holder.forget_touched();
    }

    fn index(&mut self, (agent, provider): Holder, issued: Issued) {
        self.by_key
            .entry(issued.hash.lookup_key())
            .or_default()
            .push((issued.hash, agent, provider));
    }

    /// Removes `holder`'s current credential from the index.
    fn unindex(&mut self, holder: Holder) {
        let Some(issued) = self.by_holder.get(&holder) else {
            return;
        };
        let key = issued.hash.lookup_key();
        if let Some(candidates) = self.by_key.get_mut(&key) {
            candidates.retain(|&(_, agent, provider)| (agent, provider) != holder);
            if candidates.is_empty() {
                self.by_key.remove(&key);
            }
        }
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

    #[test]
    fn every_change_reaches_the_store_and_a_copy_applying_them_knows_the_same_credentials() {
        let (agent, chat, phone) = (
            AgentId::generate(),
            ProviderId::generate(),
            ProviderId::generate(),
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let issued = |byte, seconds| Issued {
            hash: hash(byte),
            expires: now + Duration::from_secs(seconds),
        };
        let mut writer = WidgetCredentials::default();
        let mut copy = WidgetCredentials::loaded([]);
        writer.issue(agent, chat, issued(1, 600));
        writer.issue(agent, phone, issued(2, 60));
        writer.issue(agent, chat, issued(3, 600));
        copy.apply(writer.take_changes());
        assert!(writer.take_changes().is_empty(), "each change once");
        for credentials in [&writer, &copy] {
            assert_eq!(
                credentials.lookup(&hash(1), now),
                Lookup::Unknown,
                "replaced"
            );
            assert_eq!(
                credentials.lookup(&hash(3), now),
                Lookup::Holder {
                    agent,
                    provider: chat
                }
            );
        }

        writer.forget_expired(now + Duration::from_secs(60));
        let changes = writer.take_changes();
        assert_eq!(changes.len(), 1, "the expired one is removed");
        assert!(changes[0].1.is_none());
        copy.apply(changes);
        assert_eq!(copy.lookup(&hash(2), now), Lookup::Unknown);
        assert_eq!(
            copy.held_by(agent, now),
            [(chat, now + Duration::from_secs(600))]
        );
        assert!(
            copy.take_changes().is_empty(),
            "applying changes nothing to store"
        );
    }
}
