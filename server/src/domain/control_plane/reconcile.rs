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
use crate::domain::DomainError;
use crate::domain::catalogue::Template;
use crate::domain::principal::CredentialHash;
use crate::domain::registry::{
    AdmissionsOf, LimitsPatch, NewAgent, NewProvider, Presence, dedup_profile,
};

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
            self.registry
                .declare_presence(item.clone())
                .map_err(|e| at(place, e))?;
        }
        for Declaration { place, item } in &declared.providers {
            let shown_before = self.shown_on_desks_named(&item.unique_name);
            self.registry
                .declare_provider(item.clone(), &mut credential, now)
                .map_err(|e| at(place, e))?;
            if self.shown_on_desks_named(&item.unique_name) != shown_before
                && let Some(id) = self.registry.provider_named(&item.unique_name)
            {
                self.provider_widget_changed(id, now);
            }
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
        let presences: Vec<&str> = declared
            .presences
            .iter()
            .map(|declaration| declaration.item.id.as_str())
            .collect();
        let providers: Vec<&str> = declared
            .providers
            .iter()
            .map(|declaration| declaration.item.unique_name.as_str())
            .collect();
        let agents: Vec<AgentId> = declared
            .agents
            .iter()
            .map(|declaration| declaration.item.id)
            .collect();
        self.registry
            .release_undeclared(&presences, &providers, &agents, now);
        let templates: Vec<&str> = declared
            .templates
            .iter()
            .map(|declaration| declaration.item.unique_name.as_str())
            .collect();
        self.catalogue.release_undeclared(&templates, now);
        Ok(())
    }

    /// An agent as declared: its profile by the providers' unique names. A profile change
    /// applies as an operator's would (rule 18).
    fn declare_agent(
        &mut self,
        agent: DeclaredAgent,
        credential: &mut impl FnMut() -> CredentialHash,
        now: SystemTime,
    ) -> Result<(), DomainError> {
        let mut profile = Vec::new();
        for name in &agent.providers {
            let id: ProviderId = self.registry.provider_named(name).ok_or_else(|| {
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
        let admitted = self.admissions(AdmissionsOf::Agent(agent.id));
        let existed = self.registry.declare_existing_agent(
            agent.id,
            &agent.display_name,
            &profile,
            limits,
            now,
        );
        if existed {
            self.settle_admissions(admitted, AdmissionsOf::Agent(agent.id), now);
        } else {
            self.create_agent_with_id(agent.id, new, credential())?;
            self.registry.mark_agent_managed(agent.id);
        }
        Ok(())
    }
}
