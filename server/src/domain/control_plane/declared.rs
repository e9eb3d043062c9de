//! What the configuration file declares: presences, providers, templates and agents, made to
//! match the file at startup. What the file declares it manages (AdminService refuses to edit
//! it, `MANAGED_BY_CONFIG`); what it no longer declares is handed back to AdminService, never
//! deleted. A provider's active state and every credential stay the operator's: deactivation
//! survives restarts, and credentials are issued through AdminService only.
//!
//! Applying the same file again changes nothing (no write, no event).

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use super::admission::AdmissionsOf;
use crate::domain::DomainError;
use crate::domain::agent::{LimitsPatch, NewAgent, dedup_profile};
use crate::domain::catalogue::Template;
use crate::domain::presence::Presence;
use crate::domain::principal::CredentialHash;
use crate::domain::provider::{NewProvider, ProviderPatch};

/// One declaration and where it is in the file (for messages).
#[derive(Debug, Clone)]
pub struct Declaration<T> {
    pub place: String,
    pub item: T,
}

/// An agent as the file declares it: its id is the file's, its profile names providers by
/// unique name.
#[derive(Debug, Clone)]
pub struct DeclaredAgent {
    pub id: AgentId,
    pub display_name: String,
    pub providers: Vec<String>,
    pub limits: LimitsPatch,
}

/// Everything a file declares.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    pub presences: Vec<Declaration<Presence>>,
    pub providers: Vec<Declaration<NewProvider>>,
    /// In the order they apply: tab templates before the session templates naming them.
    pub templates: Vec<Declaration<Template>>,
    pub agents: Vec<Declaration<DeclaredAgent>>,
}

/// Why a declaration cannot apply, with where it is.
fn at(place: &str, error: DomainError) -> DomainError {
    DomainError::new(error.reason, format!("{place}: {}", error.message))
}

impl ControlPlane {
    /// Makes the state match the declarations. Run at startup, before serving: an error is a
    /// startup error (the changes made so far are never stored).
    pub fn apply_declarations(
        &mut self,
        declared: Declared,
        mut credential: impl FnMut() -> CredentialHash,
    ) -> Result<(), DomainError> {
        let now = SystemTime::now();
        for Declaration { place, item } in &declared.presences {
            self.declare_presence(item.clone())
                .map_err(|e| at(place, e))?;
        }
        for Declaration { place, item } in &declared.providers {
            self.declare_provider(item.clone(), &mut credential, now)
                .map_err(|e| at(place, e))?;
        }
        for Declaration { place, item } in &declared.templates {
            self.catalogue
                .declare(item.clone(), now)
                .map_err(|e| at(place, e))?;
        }
        for Declaration { place, item } in &declared.agents {
            self.declare_agent(item.clone(), &mut credential, now)
                .map_err(|e| at(place, e))?;
        }
        self.release_undeclared(&declared, now);
        Ok(())
    }

    fn declare_presence(&mut self, mut presence: Presence) -> Result<(), DomainError> {
        presence.managed = true;
        presence.validate()?;
        self.check_text_free(&presence.text, Some(&presence.id))?;
        if self.presences.get(&presence.id) != Some(&presence) {
            self.presences.insert(presence.id.clone(), presence);
        }
        Ok(())
    }

    fn declare_provider(
        &mut self,
        new: NewProvider,
        credential: &mut impl FnMut() -> CredentialHash,
        now: SystemTime,
    ) -> Result<(), DomainError> {
        new.validate()?;
        let mut fields = new.fields.clone();
        ProviderPatch::default().apply(&mut fields);
        match self
            .unique_names
            .get(&new.unique_name.to_lowercase())
            .copied()
        {
            Some(id) => {
                let record = &self.providers[&id];
                if record.fields != fields || !record.managed {
                    let record = self.providers.get_mut(&id).expect("found above");
                    (record.fields, record.managed, record.updated) = (fields, true, now);
                }
            }
            None => {
                // No credential yet: the operator issues one with RotateProviderCredential.
                let id = self.create_provider(new, credential())?.id;
                self.providers.get_mut(&id).expect("just created").managed = true;
            }
        }
        Ok(())
    }

    fn declare_agent(
        &mut self,
        agent: DeclaredAgent,
        credential: &mut impl FnMut() -> CredentialHash,
        now: SystemTime,
    ) -> Result<(), DomainError> {
        let mut profile = Vec::new();
        for name in &agent.providers {
            let id: ProviderId = self
                .unique_names
                .get(&name.to_lowercase())
                .copied()
                .ok_or_else(|| {
                    DomainError::new(
                        crate::domain::Reason::ProviderNotFound,
                        format!(
                            "providers names {name}, which is neither declared in the file nor created through AdminService"
                        ),
                    )
                })?;
            profile.push(id);
        }
        dedup_profile(&mut profile);
        let new = NewAgent {
            display_name: agent.display_name.clone(),
            profile: profile.clone(),
            limits: agent.limits,
        };
        new.validate()?;
        let defaults = self.settings.default_limits;
        let mut limits = defaults;
        agent.limits.apply(&mut limits, &defaults);
        match self.agents.get(&agent.id) {
            Some(record) => {
                if record.display_name != agent.display_name
                    || record.profile != profile
                    || record.limits != limits
                    || !record.managed
                {
                    let admitted = self.admissions(AdmissionsOf::Agent(agent.id));
                    let record = self.agents.get_mut(&agent.id).expect("found above");
                    record.display_name = agent.display_name;
                    record.profile = profile;
                    record.limits = limits;
                    record.managed = true;
                    record.updated = now;
                    self.settle_admissions(admitted, AdmissionsOf::Agent(agent.id), now);
                }
            }
            None => {
                self.create_agent_with_id(agent.id, new, credential())?;
                self.agents
                    .get_mut(&agent.id)
                    .expect("just created")
                    .managed = true;
            }
        }
        Ok(())
    }

    /// What the file managed before but no longer declares goes back to AdminService.
    fn release_undeclared(&mut self, declared: &Declared, now: SystemTime) {
        let presences: Vec<String> = self
            .presences
            .values()
            .filter(|p| p.managed && !declared.presences.iter().any(|d| d.item.id == p.id))
            .map(|p| p.id.clone())
            .collect();
        for id in presences {
            self.presences.get_mut(&id).expect("listed above").managed = false;
        }
        let providers: Vec<ProviderId> = self
            .providers
            .values()
            .filter(|p| {
                p.managed
                    && !declared
                        .providers
                        .iter()
                        .any(|d| d.item.unique_name.eq_ignore_ascii_case(&p.unique_name))
            })
            .map(|p| p.id)
            .collect();
        for id in providers {
            let record = self.providers.get_mut(&id).expect("listed above");
            (record.managed, record.updated) = (false, now);
        }
        let templates: Vec<&str> = declared
            .templates
            .iter()
            .map(|declaration| declaration.item.unique_name.as_str())
            .collect();
        self.catalogue.release_undeclared(&templates, now);
        let agents: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| a.managed && !declared.agents.iter().any(|d| d.item.id == a.id))
            .map(|a| a.id)
            .collect();
        for id in agents {
            let record = self.agents.get_mut(&id).expect("listed above");
            (record.managed, record.updated) = (false, now);
        }
    }
}
