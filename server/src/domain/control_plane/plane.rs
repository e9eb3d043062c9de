//! The control plane itself: the parts it holds, how what happened becomes events with their
//! audiences (rule 11), and the checks every command shares.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use crate::domain::audit::{AuditEntry, AuditFilter, AuditRetention, AuditTrail, Snapshot};
use crate::domain::catalogue::Catalogue;
use crate::domain::desks::{Desks, Session, SessionKind};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::{Event, EventKind, Happened, OwnerSnapshot, SessionSnapshot};
use crate::domain::paging::Page;
use crate::domain::principal::{CredentialHash, Principal, ProviderCaller, Role};
use crate::domain::registry::{AgentLimits, AgentRecord, ProviderRecord, Registry};
use crate::domain::toasts::{Canceller, Toasts};
use crate::domain::validate::UrlPolicy;

/// Server-wide settings the domain needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Limits of an agent created without its own.
    pub default_limits: AgentLimits,
    /// How long closed sessions stay readable by their owners before they are forgotten.
    pub closed_session_retention: Duration,
    /// How long a desk counts as online after its last stream ended (rule 12).
    pub desk_grace: Duration,
    /// Ended toasts remembered, so a retry with the same id learns the outcome.
    pub resolved_toast_retention: usize,
    /// Which URLs the desk may frame (widgets, website tabs).
    pub urls: UrlPolicy,
    /// How long a widget credential works (rule 21).
    pub widget_credential_lifetime: Duration,
    /// How many audit entries are kept, and how long.
    pub audit_retention: AuditRetention,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_limits: AgentLimits::default(),
            closed_session_retention: Duration::from_secs(24 * 3600),
            desk_grace: Duration::from_secs(30),
            resolved_toast_retention: 10_000,
            urls: UrlPolicy::default(),
            widget_credential_lifetime: Duration::from_secs(10 * 60),
            audit_retention: AuditRetention {
                count: 100_000,
                age: Duration::from_secs(90 * 24 * 3600),
            },
        }
    }
}

/// Every provider, agent, desk, session, toast and template.
#[derive(Debug)]
pub struct ControlPlane {
    pub(super) settings: Settings,
    /// Providers, agents, profiles, credentials, presences.
    pub(super) registry: Registry,
    /// Desks, sessions, tabs.
    pub(super) desks: Desks,
    /// Every desk's toasts.
    pub(super) toasts: Toasts,
    /// Session, application tab and notification templates.
    pub(super) catalogue: Catalogue,
    /// Every operator change.
    pub(super) audit: AuditTrail,
    /// What the running command did that others must hear of; see [`ControlPlane::execute`].
    pub(super) effects: Effects,
}

/// What a provider changes in a session: the session itself (only in its own), or its tabs
/// (also in home, rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Changing {
    Session,
    Tabs,
}

/// The desks a command may have changed the widgets of (rule 20), with when: see
/// `ControlPlane::announce_widgets`.
#[derive(Debug, Default)]
pub struct WidgetChecks(pub(super) BTreeMap<AgentId, WidgetCheck>);

#[derive(Debug, Clone, Copy)]
pub(super) struct WidgetCheck {
    pub(super) time: SystemTime,
    /// The list of providers changed, not only (perhaps) the visible one.
    pub(super) providers_changed: bool,
}

/// What a command did besides changing the state: the events it produced, in order, and the
/// principals whose open streams must end (with why).
#[derive(Debug, Default)]
pub struct Effects {
    pub events: Vec<Event>,
    pub revoked: Vec<(Principal, DomainError)>,
    /// The desks whose widgets the command may have changed, announced when it ends.
    pub(super) widget_checks: WidgetChecks,
}

impl ControlPlane {
    pub fn new(settings: Settings, operator_credential: CredentialHash) -> Self {
        let mut registry = Registry::new(operator_credential);
        registry.set_url_policy(settings.urls.clone());
        Self {
            toasts: Toasts::new(settings.desk_grace, settings.resolved_toast_retention),
            settings,
            registry,
            desks: Desks::default(),
            catalogue: Catalogue::default(),
            audit: AuditTrail::default(),
            effects: Effects::default(),
        }
    }

    /// Runs one command, and returns with its answer (or refusal) what it did that others must
    /// hear of: its events in order, each with the providers that hear it, and the principals
    /// whose streams end. The caller appends the events to the log in the same critical
    /// section as the command, so state and log never disagree. A refused command did nothing.
    pub fn execute<R>(
        &mut self,
        command: impl FnOnce(&mut Self) -> DomainResult<R>,
    ) -> (DomainResult<R>, Effects) {
        let result = command(self);
        self.announce_widgets();
        (result, std::mem::take(&mut self.effects))
    }

    /// What the commands run outside [`Self::execute`] did (for the domain's own tests).
    #[cfg(test)]
    pub(super) fn take_effects(&mut self) -> Effects {
        self.announce_widgets();
        std::mem::take(&mut self.effects)
    }

    /// Records an event for the agent's desk. Who else hears it (rule 11) is decided here,
    /// in one place.
    pub(super) fn emit(&mut self, agent: AgentId, time: SystemTime, kind: EventKind) {
        // Every event changes its desk and the session it is about: their versions move (a
        // session's snapshot was numbered when it was taken).
        let session = kind.session().filter(|_| kind.snapshot().is_none());
        self.desks.count_change(agent, session);
        match kind {
            EventKind::SessionCreated { .. }
            | EventKind::SessionSwitched { .. }
            | EventKind::SessionClosed { .. } => self.focus_moved(agent, time),
            EventKind::ProviderAdmissionChanged { .. } => self.providers_changed(agent, time),
            _ => {}
        }
        let providers = self.audience(agent, &kind);
        self.effects.events.push(Event {
            agent,
            time,
            providers,
            kind,
        });
    }

    /// The providers that hear an event (rule 11): a session's owner for its events, a tab's
    /// session owner (in home: its opener; a tab gaining focus in home: nobody, rule 19), the
    /// active provider for the panel and for click-to-act, every provider of the agent for
    /// presence, a custom event's addressee: each only while the agent admits it (rule 18).
    /// A toast's outcome always reaches its provider (rule 12), and a change of a provider's
    /// admission reaches that provider's streams, which end or skip it (see
    /// `Scope::passage`).
    pub(super) fn audience(&self, agent: AgentId, kind: &EventKind) -> Vec<ProviderId> {
        let one = |provider: Option<ProviderId>| provider.into_iter().collect();
        let mut providers: Vec<ProviderId> = match kind {
            EventKind::NotificationResolved { toast, .. } => return vec![toast.0.key.provider],
            EventKind::ProviderAdmissionChanged { provider, .. } => return vec![*provider],
            EventKind::SessionCreated { session }
            | EventKind::SessionSwitched { session, .. }
            | EventKind::SessionClosed { session }
            | EventKind::SessionRetitled { session }
            | EventKind::SessionContextChanged { session, .. }
            | EventKind::SessionMarksChanged { session } => one(session.session.owner()),
            EventKind::TabCreated { tab, .. }
            | EventKind::TabFocused { tab }
            | EventKind::TabRefreshed { tab, .. }
            | EventKind::TabRetitled { tab, .. }
            | EventKind::TabClosed { tab } => match self.desks.session(tab.session).map(|s| s.kind)
            {
                Some(SessionKind::Provider(owner)) => vec![owner],
                // Which tab has focus in home moves with other providers' tabs there.
                _ if matches!(kind, EventKind::TabFocused { .. }) => Vec::new(),
                _ => vec![tab.opened_by],
            },
            EventKind::PanelModeChanged { .. }
            | EventKind::PanelWidthChanged { .. }
            | EventKind::ClickToAct(_) => one(self.active_provider(agent)),
            EventKind::PresenceChanged { .. } => self.available_providers(agent),
            EventKind::NotificationQueued { .. }
            | EventKind::NotificationShown { .. }
            | EventKind::DeskWidgetsChanged { .. }
            | EventKind::VisibleWidgetChanged { .. } => Vec::new(),
            EventKind::CustomEvent(custom) => one(custom.to),
        };
        providers.retain(|provider| self.admits(agent, *provider));
        providers
    }

    /// Records what a part reports, in order (see [`Self::emit`]).
    pub(super) fn record(&mut self, happened: Vec<Happened>) {
        for Happened { agent, time, kind } in happened {
            self.emit(agent, time, kind);
        }
    }

    pub(super) fn revoke(&mut self, principal: Principal, why: DomainError) {
        self.effects.revoked.push((principal, why));
    }

    /// A session for the event about to be emitted about it: the change is numbered first
    /// (its version moves), then the event shares the session as the state now holds it, so
    /// the history keeps no copy of it until the session changes again. Called once per
    /// event, right before [`Self::emit`].
    pub(super) fn snapshot(&mut self, session: SessionId) -> Box<SessionSnapshot> {
        self.desks.count_session_change(session);
        let view = self.view(self.desks.session(session).expect("a session"));
        Box::new(SessionSnapshot {
            session: self.desks.shared(session).expect("a session").clone(),
            focused: view.focused,
            owner: view.owner.map(|owner| OwnerSnapshot {
                id: owner.id,
                unique_name: owner.unique_name.into(),
                deleted: owner.deleted,
                admitted: owner.admitted,
            }),
        })
    }

    /// The template catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The template catalogue, to change: its changes stand alone (no event, no other part).
    pub fn catalogue_mut(&mut self) -> &mut Catalogue {
        &mut self.catalogue
    }

    // === authentication ===

    /// Who holds `credential`, if they may call a service for `role` (see
    /// [`Registry::authenticate`]).
    pub fn authenticate(
        &self,
        credential: &CredentialHash,
        role: Role,
        now: SystemTime,
    ) -> DomainResult<Principal> {
        self.registry.authenticate(credential, role, now)
    }

    /// The calling provider's record, if it may act now.
    pub(super) fn acting_provider(&self, provider: ProviderId) -> DomainResult<&ProviderRecord> {
        self.registry.acting_provider(provider)
    }

    // === shared lookups ===

    /// ABORTED unless `expected` (when given) is the resource's version.
    pub(super) fn check_version(
        what: &str,
        id: impl std::fmt::Display,
        actual: u64,
        expected: Option<u64>,
    ) -> DomainResult<()> {
        match expected {
            Some(expected) if expected != actual => Err(DomainError::new(
                Reason::VersionMismatch,
                format!(
                    "{what} {id} is at version {actual}, not {expected}: it changed meanwhile; read it again, then retry with its version"
                ),
            )
            .with("expected_version", expected)
            .with("actual_version", actual)),
            _ => Ok(()),
        }
    }

    /// Rule 19: what changes with other providers' work too (a desk, the home session) has no
    /// version a provider is shown, so a provider cannot expect one: a version that moved
    /// would tell it another provider had been at work.
    pub(super) fn refuse_shared_version(what: &str, expected: Option<u64>) -> DomainResult<()> {
        let mut violations = crate::domain::validate::Violations::new();
        if expected.is_some() {
            violations.add(
                "expected_version",
                Reason::FieldNotAllowed,
                format!(
                    "{what} has no version for providers (it changes with other providers' work, which a provider is not told of); leave expected_version out"
                ),
            );
        }
        violations.finish()
    }

    pub(super) fn check_desk_version(
        &self,
        agent: AgentId,
        expected: Option<u64>,
    ) -> DomainResult<()> {
        let actual = self.desks.desk(agent).map_or(0, |desk| desk.version);
        Self::check_version("the desk of agent", agent, actual, expected)
    }

    pub(super) fn session_not_open(session: SessionId) -> DomainError {
        DomainError::new(
            Reason::SessionNotOpen,
            format!("session {session} is closed; GetDesk lists the open sessions"),
        )
        .with("session_id", session)
    }

    /// A session `caller` changes: for `Changing::Session` one of its own, for
    /// `Changing::Tabs` also the home session, on a desk that admits it. Checked in the order
    /// of "How the server answers": visible (rules 2, 3 and 18: anything else looks missing),
    /// then at the version the caller expects (home has none for providers, rule 19), then
    /// open.
    pub(super) fn session_to_change(
        &self,
        caller: ProviderCaller,
        session: SessionId,
        changing: Changing,
        expected_version: Option<u64>,
    ) -> DomainResult<&Session> {
        let record = self
            .desks
            .session(session)
            .filter(|record| {
                self.provider_sees(caller, record)
                    && (changing == Changing::Tabs || record.owner() == Some(caller.provider))
            })
            .ok_or_else(|| DomainError::session_not_found(session))?;
        match record.kind {
            SessionKind::Home => Self::refuse_shared_version("the home session", expected_version)?,
            SessionKind::Provider(_) => {
                Self::check_version("session", session, record.version, expected_version)?;
            }
        }
        if !record.is_open() {
            return Err(Self::session_not_open(session));
        }
        Ok(record)
    }

    /// The agent's available providers (see [`Registry::available_providers`]).
    pub fn available_providers(&self, agent: AgentId) -> Vec<ProviderId> {
        self.registry.available_providers(agent)
    }

    /// Rule 18: whether `agent` admits `provider` now (see [`Registry::admits`]).
    pub fn admits(&self, agent: AgentId, provider: ProviderId) -> bool {
        self.registry.admits(agent, provider)
    }

    /// The provider mode, width and click-to-act go to: the owner of the focused session
    /// while the agent admits it (rule 18), else the agent's default provider (the first
    /// available one).
    pub fn active_provider(&self, agent: AgentId) -> Option<ProviderId> {
        let desk = self.desks.desk(agent)?;
        self.desks
            .session(desk.focused)
            .and_then(Session::owner)
            .filter(|owner| self.admits(agent, *owner))
            .or_else(|| self.available_providers(agent).first().copied())
    }

    pub(super) fn agent(&self, agent: AgentId) -> DomainResult<&AgentRecord> {
        self.registry.agent(agent)
    }

    /// The agent, if `caller` may act for it (a widget only for its own desk, rule 21);
    /// otherwise the same NOT_FOUND as for an agent that does not exist.
    pub(super) fn agent_for_provider(
        &self,
        caller: ProviderCaller,
        agent: AgentId,
    ) -> DomainResult<&AgentRecord> {
        if !caller.reaches(agent) {
            return Err(DomainError::agent_not_found(agent));
        }
        self.registry.agent_for_provider(caller.provider, agent)
    }

    /// Closes an open session now: off its desk, readable until retention forgets it. If it
    /// had focus, focus moves to the most recently focused open session, else home. Emits the
    /// close (and the focus change) for the owner and the agent.
    pub(super) fn close(&mut self, session: SessionId, now: SystemTime) {
        let agent = self.desks.session(session).expect("an open session").agent;
        let gained = self.desks.close(session, now);
        let closed = self.snapshot(session);
        self.emit(agent, now, EventKind::SessionClosed { session: closed });
        self.cancel_toasts(Canceller::SessionClosed, now, Some(agent), |toast| {
            toast.session == Some(session)
        });
        if let Some(next) = gained {
            let gained = self.snapshot(next);
            self.emit(
                agent,
                now,
                EventKind::SessionSwitched {
                    session: gained,
                    focused: true,
                },
            );
            self.clear_focus_marks(next);
        }
        self.forget_expired_sessions(now);
    }

    /// Forgets, with their tabs, the sessions closed longer ago than the retention period.
    /// Keeps an operator change in the audit trail, forgetting the oldest past the retention.
    pub fn audit(
        &mut self,
        now: SystemTime,
        actor: String,
        action: &str,
        resource: String,
        before: Option<Snapshot>,
        after: Option<Snapshot>,
    ) {
        self.audit
            .record(now, actor, action, resource, before, after);
        self.audit.forget_old(self.settings.audit_retention, now);
    }

    /// The audit entries `filter` keeps, in the order they were made, after `after`.
    pub fn audit_entries(
        &self,
        filter: &AuditFilter,
        after: Option<uuid::Uuid>,
        limit: usize,
    ) -> Page<&AuditEntry, uuid::Uuid> {
        self.audit.list(filter, after, limit)
    }

    /// Forgets the audit entries past their retention at `now`.
    pub fn forget_old_audit_entries(&mut self, now: SystemTime) {
        self.audit.forget_old(self.settings.audit_retention, now);
    }

    pub fn forget_expired_sessions(&mut self, now: SystemTime) {
        let retention = self.settings.closed_session_retention;
        for owner in self.desks.forget_expired(now, retention) {
            self.registry.forget_deleted_name(owner);
        }
    }
}
