//! Who is calling, as established from the credential.

use std::fmt;

use cif_sdk::ids::{AgentId, OperatorCredentialId, ProviderId};
use subtle::ConstantTimeEq;

use super::error::{DomainError, Reason};

/// The authenticated caller of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// The people who run the service, with the configured token or a credential of theirs.
    Operator(Operator),
    /// One channel provider integration.
    Provider(ProviderId),
    /// One agent's desktop.
    Agent(AgentId),
    /// A provider's widget on one agent's desk (rule 21): the provider, for that desk only.
    Widget {
        provider: ProviderId,
        agent: AgentId,
    },
}

/// Which operator credential: the token from the configuration (the bootstrap, changed only
/// with the configuration), or one created through AdminService (revocable at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Configured,
    Credential(OperatorCredentialId),
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
            Principal::Operator(_) => Role::Operator,
            Principal::Provider(_) => Role::Provider,
            Principal::Agent(_) => Role::Agent,
            Principal::Widget { .. } => Role::Provider,
        }
    }

    /// The provider a provider-role principal acts as, and the desk it is limited to.
    pub fn provider_caller(self) -> Option<ProviderCaller> {
        match self {
            Principal::Provider(provider) => Some(ProviderCaller::from(provider)),
            Principal::Widget { provider, agent } => Some(ProviderCaller {
                provider,
                desk: Some(agent),
            }),
            Principal::Operator(_) | Principal::Agent(_) => None,
        }
    }
}

/// A provider as it calls ProviderService: with its own credential it reaches every desk
/// that admits it; with a widget credential (rule 21) one desk only, and every other desk's
/// work looks missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderCaller {
    pub provider: ProviderId,
    /// `Some`: the only agent whose desk the caller reaches.
    pub desk: Option<AgentId>,
}

impl ProviderCaller {
    /// Whether the caller reaches `agent`'s desk at all (admission is asked separately).
    pub fn reaches(&self, agent: AgentId) -> bool {
        self.desk.is_none_or(|desk| desk == agent)
    }

    /// The principal behind the call.
    pub fn principal(self) -> Principal {
        match self.desk {
            None => Principal::Provider(self.provider),
            Some(agent) => Principal::Widget {
                provider: self.provider,
                agent,
            },
        }
    }

    /// Only a provider's own credential opens streams: a widget hears its events through its
    /// desk's stream, so a desk page holds one stream however many widgets it hosts.
    pub fn check_may_subscribe(&self) -> Result<(), DomainError> {
        match self.desk {
            None => Ok(()),
            Some(_) => Err(DomainError::new(
                Reason::RoleNotAllowed,
                "a widget credential cannot open a stream: the desk passes its widgets their events from the agent's stream (StreamMessage.widgets)",
            )),
        }
    }
}

impl fmt::Display for ProviderCaller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.principal().fmt(f)
    }
}

impl From<ProviderId> for ProviderCaller {
    fn from(provider: ProviderId) -> Self {
        Self {
            provider,
            desk: None,
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Operator(Operator::Configured) => f.write_str("operator"),
            Principal::Operator(Operator::Credential(id)) => write!(f, "operator credential {id}"),
            Principal::Provider(id) => write!(f, "provider {id}"),
            Principal::Agent(id) => write!(f, "agent {id}"),
            Principal::Widget { provider, agent } => {
                write!(f, "widget of provider {provider} on agent {agent}'s desk")
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_widget_reaches_its_own_desk_only_and_opens_no_stream() {
        let (provider, ada, bob) = (
            ProviderId::generate(),
            AgentId::generate(),
            AgentId::generate(),
        );
        let own = Principal::Provider(provider).provider_caller().unwrap();
        assert!(own.reaches(ada) && own.reaches(bob));
        assert!(own.check_may_subscribe().is_ok());

        let widget = Principal::Widget {
            provider,
            agent: ada,
        };
        assert_eq!(widget.role(), Role::Provider);
        let caller = widget.provider_caller().unwrap();
        assert!(caller.reaches(ada) && !caller.reaches(bob));
        assert_eq!(caller.principal(), widget);
        assert_eq!(
            caller.check_may_subscribe().unwrap_err().reason,
            Reason::RoleNotAllowed
        );
        assert!(Principal::Agent(ada).provider_caller().is_none());
    }
}
