//! The registry: providers, agents and their profiles, credentials, and the presence list; and
//! rule 18's one predicate, whether an agent admits a provider.

mod agent;
mod entries;
mod operator_credentials;
mod operator_record;
mod presence;
mod provider;
mod widget_credentials;

pub use agent::{AgentLimits, AgentPatch, AgentRecord, LimitsPatch, NewAgent, dedup_profile};
pub use entries::{AdmissionsOf, Lost, Registry, RegistryChanges};
pub use operator_record::OperatorCredentialRecord;
pub use presence::{DEFAULT_COLOR, Presence, PresencePatch, PresenceStatus};
pub use provider::{NewProvider, ProviderFields, ProviderPatch, ProviderRecord};
pub use widget_credentials::{Holder, Issued};
