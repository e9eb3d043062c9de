//! A provider's commands on sessions (rules 1, 2, 5 and 6).

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::{ControlPlane, Page, SessionView, paging};
use crate::domain::desk::{Session, SessionKind};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::EventKind;
use crate::domain::validate::{Violations, limits};

/// A session a provider asks to start.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub agent: AgentId,
    pub template: String,
    pub title: String,
    pub context: BTreeMap<String, String>,
}

impl NewSession {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.optional_text("template", &self.template, limits::TEMPLATE_NAME);
        violations.required_text("title", &self.title, limits::TITLE);
        violations.context("context", &self.context);
        violations.finish()
    }
}

/// Whether an agent has room for another session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanCreate {
    pub remaining: u32,
    pub limit: u32,
}

/// What a provider may know of an agent's focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FocusedSession {
    /// The home session has focus.
    Home(SessionId),
    /// One of the caller's own sessions has focus.
    Own(SessionId),
    /// Another provider's session has focus; which one is not the caller's business.
    Elsewhere,
}

impl ControlPlane {
    /// Starts a session owned by `caller` on the agent's desk and focuses it (rules 1, 5, 6).
    pub fn create_session(
        &mut self,
        caller: ProviderId,
        new: NewSession,
    ) -> DomainResult<SessionView<'_>> {
        new.validate()?;
        self.acting_provider(caller)?;
        let agent = self.agent_for_provider(caller, new.agent)?;
        let open = agent.desk.open.len();
        let limit = agent.limits.max_open_sessions;
        if open >= limit as usize {
            return Err(DomainError::new(
                Reason::SessionLimitReached,
                format!(
                    "agent {} already has {open} open sessions, the limit; the agent must close one first (CanCreateSession tells beforehand)",
                    new.agent
                ),
            )
            .with("agent_id", new.agent)
            .with("limit", limit));
        }
        let now = SystemTime::now();
        let session = Session {
            id: SessionId::generate(),
            agent: new.agent,
            kind: SessionKind::Provider(caller),
            template: new.template,
            title: new.title,
            context: new.context,
            created: now,
            closed: None,
            tabs: Vec::new(),
            focused_tab: None,
            marks: Default::default(),
            version: 0,
        };
        let id = session.id;
        let desk = &mut self.agents.get_mut(&new.agent).expect("checked above").desk;
        desk.open.push(id);
        let previous = desk.focus(id);
        self.sessions.insert(id, session);
        self.sessions_by_owner.entry(caller).or_default().insert(id);
        // Rule 6: the previous focused session's owner hears it lost focus, then the new
        // session is announced (with focus).
        let lost = self.snapshot(previous);
        self.emit(
            new.agent,
            now,
            EventKind::SessionSwitched {
                session: lost,
                focused: false,
            },
        );
        let created = self.snapshot(id);
        self.emit(
            new.agent,
            now,
            EventKind::SessionCreated { session: created },
        );
        Ok(self.view(&self.sessions[&id]))
    }

    /// How many more sessions the agent's desk takes (rule 5).
    pub fn can_create_session(
        &self,
        caller: ProviderId,
        agent: AgentId,
    ) -> DomainResult<CanCreate> {
        self.acting_provider(caller)?;
        let agent = self.agent_for_provider(caller, agent)?;
        let limit = agent.limits.max_open_sessions;
        let open = u32::try_from(agent.desk.open.len()).unwrap_or(u32::MAX);
        Ok(CanCreate {
            remaining: limit.saturating_sub(open),
            limit,
        })
    }

    /// One of the caller's sessions, or the home session of an agent it may act for. Anything
    /// else is the same NOT_FOUND as a session that does not exist (rule 2).
    pub fn provider_session(
        &self,
        caller: ProviderId,
        id: SessionId,
    ) -> DomainResult<SessionView<'_>> {
        self.acting_provider(caller)?;
        let visible = self.sessions.get(&id).filter(|session| match session.kind {
            SessionKind::Provider(owner) => owner == caller,
            SessionKind::Home => self
                .agents
                .get(&session.agent)
                .is_some_and(|agent| agent.admits(caller)),
        });
        visible
            .map(|session| self.view_for(session, Some(caller)))
            .ok_or_else(|| DomainError::session_not_found(id))
    }

    /// The caller's own sessions in creation order, for one agent or all (rule 2).
    pub fn provider_sessions(
        &self,
        caller: ProviderId,
        agent: Option<AgentId>,
        show_closed: bool,
        after: Option<SessionId>,
        limit: usize,
    ) -> DomainResult<Page<SessionView<'_>, SessionId>> {
        self.acting_provider(caller)?;
        let Some(owned) = self.sessions_by_owner.get(&caller) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let entries = owned
            .range((start, std::ops::Bound::Unbounded))
            .map(|id| &self.sessions[id])
            .filter(|session| agent.is_none_or(|agent| session.agent == agent))
            .filter(|session| show_closed || session.is_open())
            .map(|session| (session.id, self.view(session)));
        Ok(paging::collect(entries, limit))
    }

    /// Which session has the agent's focus, as far as the caller may know (rule 2).
    pub fn focused_session(
        &self,
        caller: ProviderId,
        agent: AgentId,
    ) -> DomainResult<FocusedSession> {
        self.acting_provider(caller)?;
        let desk = &self.agent_for_provider(caller, agent)?.desk;
        Ok(if desk.focused == desk.home {
            FocusedSession::Home(desk.home)
        } else if self.sessions[&desk.focused].owner() == Some(caller) {
            FocusedSession::Own(desk.focused)
        } else {
            FocusedSession::Elsewhere
        })
    }
}

impl ControlPlane {
    /// Whether a stream of `scope` may be opened: its provider may act and may act for each
    /// agent it names; its agent exists.
    pub fn check_scope(&self, scope: &crate::domain::events::Scope) -> DomainResult<()> {
        use crate::domain::events::Scope;
        match scope {
            Scope::Provider { provider, agents } => {
                self.acting_provider(*provider)?;
                for agent in agents.iter().flatten() {
                    self.agent_for_provider(*provider, *agent)?;
                }
                Ok(())
            }
            Scope::Agent(agent) => self.agent(*agent).map(drop),
            Scope::Everything => Ok(()),
        }
    }

    /// The caller's open sessions, on the given desks or all, in creation order: a provider's
    /// snapshot.
    pub fn provider_open_sessions(
        &self,
        caller: ProviderId,
        agents: Option<&std::collections::BTreeSet<AgentId>>,
    ) -> DomainResult<Vec<SessionView<'_>>> {
        self.acting_provider(caller)?;
        Ok(self
            .sessions_by_owner
            .get(&caller)
            .into_iter()
            .flatten()
            .map(|id| &self.sessions[id])
            .filter(|session| session.is_open())
            .filter(|session| agents.is_none_or(|agents| agents.contains(&session.agent)))
            .map(|session| self.view(session))
            .collect())
    }

    /// Home sessions holding tabs the caller opened (each shown with those tabs only), on the
    /// given desks or all: part of a provider's snapshot.
    pub fn provider_home_tabs(
        &self,
        caller: ProviderId,
        agents: Option<&std::collections::BTreeSet<AgentId>>,
    ) -> Vec<SessionView<'_>> {
        let mut homes: Vec<SessionId> = self
            .tab_sessions
            .values()
            .copied()
            .filter(|session| {
                self.sessions.get(session).is_some_and(|record| {
                    record.kind == SessionKind::Home
                        && agents.is_none_or(|agents| agents.contains(&record.agent))
                        && record.tabs.iter().any(|tab| tab.opened_by == caller)
                })
            })
            .collect();
        homes.sort();
        homes.dedup();
        homes
            .iter()
            .map(|id| self.view_for(&self.sessions[id], Some(caller)))
            .collect()
    }
}
