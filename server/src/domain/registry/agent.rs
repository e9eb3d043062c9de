//! The agent record, its profile and its limits.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use crate::domain::error::DomainResult;
use crate::domain::principal::CredentialHash;
use crate::domain::validate::{Violations, limits};

/// Limits on one desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AgentLimits {
    /// Open sessions at once, home not counted.
    pub max_open_sessions: u32,
    /// Tabs in one session.
    pub max_tabs_per_session: u32,
    /// Toasts pending at once, the one on screen included.
    pub max_queued_notifications: u32,
}

impl Default for AgentLimits {
    /// CIF's limits: 10 sessions, 10 tabs per session, 10 queued toasts.
    fn default() -> Self {
        Self {
            max_open_sessions: 10,
            max_tabs_per_session: 10,
            max_queued_notifications: 10,
        }
    }
}

/// Limits given in a request: `None` leaves a limit as it is, `Some(0)` means the server's
/// default.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitsPatch {
    pub max_open_sessions: Option<u32>,
    pub max_tabs_per_session: Option<u32>,
    pub max_queued_notifications: Option<u32>,
}

impl LimitsPatch {
    fn check(&self, violations: &mut Violations) {
        let checks = [
            (
                "agent.limits.max_open_sessions",
                self.max_open_sessions,
                limits::MAX_OPEN_SESSIONS,
            ),
            (
                "agent.limits.max_tabs_per_session",
                self.max_tabs_per_session,
                limits::MAX_TABS_PER_SESSION,
            ),
            (
                "agent.limits.max_queued_notifications",
                self.max_queued_notifications,
                limits::MAX_QUEUED_NOTIFICATIONS,
            ),
        ];
        for (field, value, max) in checks {
            // Zero asks for the default, so only the upper bound can be broken.
            if let Some(value) = value {
                violations.range(field, value, 0, max);
            }
        }
    }

    /// Applies the patch; zero takes the value from `defaults`.
    pub fn apply(self, limits: &mut AgentLimits, defaults: &AgentLimits) {
        let pick = |value: Option<u32>, current: u32, default: u32| match value {
            None => current,
            Some(0) => default,
            Some(value) => value,
        };
        limits.max_open_sessions = pick(
            self.max_open_sessions,
            limits.max_open_sessions,
            defaults.max_open_sessions,
        );
        limits.max_tabs_per_session = pick(
            self.max_tabs_per_session,
            limits.max_tabs_per_session,
            defaults.max_tabs_per_session,
        );
        limits.max_queued_notifications = pick(
            self.max_queued_notifications,
            limits.max_queued_notifications,
            defaults.max_queued_notifications,
        );
    }
}

/// An agent to create.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub display_name: String,
    /// Providers that may act for the agent; empty means every active provider.
    pub profile: Vec<ProviderId>,
    pub limits: LimitsPatch,
}

impl NewAgent {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.required_text("agent.display_name", &self.display_name, limits::NAME);
        self.limits.check(&mut violations);
        violations.finish()
    }
}

/// Changes to an agent: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub display_name: Option<String>,
    pub profile: Option<Vec<ProviderId>>,
    pub limits: LimitsPatch,
}

impl AgentPatch {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        if let Some(name) = &self.display_name {
            violations.required_text("agent.display_name", name, limits::NAME);
        }
        self.limits.check(&mut violations);
        violations.finish()
    }
}

/// A stored agent and its desk.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct AgentRecord {
    pub id: AgentId,
    pub display_name: String,
    pub profile: Vec<ProviderId>,
    pub limits: AgentLimits,
    pub created: SystemTime,
    pub updated: SystemTime,
    pub credential: CredentialHash,
    /// Declared by the configuration file: it changes only with the file.
    #[serde(default)]
    pub managed: bool,
}

impl AgentRecord {
    /// Whether the profile names `provider` (an empty profile names every provider). Only
    /// part of rule 18: `ControlPlane::admits` also asks whether the provider is active.
    pub fn profile_includes(&self, provider: ProviderId) -> bool {
        self.profile.is_empty() || self.profile.contains(&provider)
    }
}

/// Removes repeated ids, keeping the first of each.
pub fn dedup_profile(profile: &mut Vec<ProviderId>) {
    let mut seen = std::collections::HashSet::new();
    profile.retain(|id| seen.insert(*id));
}
