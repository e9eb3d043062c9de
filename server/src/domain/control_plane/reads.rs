//! Read views: a session with what the desk and the registry add to it, and whole desks.

use std::ops::Bound;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::ControlPlane;
use crate::domain::agent::AgentRecord;
use crate::domain::desk::Session;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::paging::{self, Page};
use crate::domain::toasts::Toast;

/// A session as callers see it.
#[derive(Debug, Clone, Copy)]
pub struct SessionView<'a> {
    pub session: &'a Session,
    pub focused: bool,
    /// `None` for the home session.
    pub owner: Option<OwnerView<'a>>,
    /// The provider reading a home session: it is shown only the tabs it opened there, and
    /// neither home's version nor which tab has focus, since both move with other
    /// providers' tabs (rule 19).
    pub home_seen_by: Option<ProviderId>,
}

/// The provider that owns a session, also after it was deleted.
#[derive(Debug, Clone, Copy)]
pub struct OwnerView<'a> {
    pub id: ProviderId,
    pub unique_name: &'a str,
    pub deleted: bool,
    /// Whether the agent admits the owner now (rule 18); when not, the session stays on the
    /// desk for the agent to close, and its owner neither sees it nor hears of it.
    pub admitted: bool,
}

/// A desk as callers see it.
#[derive(Debug, Clone)]
pub struct DeskView<'a> {
    pub agent: &'a AgentRecord,
    pub home: SessionView<'a>,
    /// Open provider sessions in creation order.
    pub sessions: Vec<SessionView<'a>>,
    /// Pending toasts: the one on screen first, then the queue.
    pub toasts: Vec<&'a Toast>,
}

/// Which sessions an operator lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionFilter {
    pub agent: Option<AgentId>,
    pub provider: Option<ProviderId>,
    pub show_closed: bool,
}

impl ControlPlane {
    pub(super) fn view<'a>(&'a self, session: &'a Session) -> SessionView<'a> {
        self.view_for(session, None)
    }

    /// A session as `viewer` may see it: a provider reading a home session sees only its
    /// own tabs there, without home's version or tab focus.
    pub(super) fn view_for<'a>(
        &'a self,
        session: &'a Session,
        viewer: Option<ProviderId>,
    ) -> SessionView<'a> {
        let focused = self
            .agents
            .get(&session.agent)
            .is_some_and(|agent| agent.desk.focused == session.id);
        let owner = session.owner().map(|id| match self.providers.get(&id) {
            Some(provider) => OwnerView {
                id,
                unique_name: &provider.unique_name,
                deleted: false,
                admitted: self.admits(session.agent, id),
            },
            None => OwnerView {
                id,
                unique_name: self
                    .deleted_provider_names
                    .get(&id)
                    .map_or("", String::as_str),
                deleted: true,
                admitted: false,
            },
        });
        SessionView {
            session,
            focused,
            owner,
            home_seen_by: viewer.filter(|_| session.owner().is_none()),
        }
    }

    /// An agent's whole desk.
    pub fn desk(&self, agent: AgentId) -> DomainResult<DeskView<'_>> {
        let agent = self.agent(agent)?;
        Ok(DeskView {
            agent,
            home: self.view(&self.sessions[&agent.desk.home]),
            sessions: agent
                .desk
                .open
                .iter()
                .map(|id| self.view(&self.sessions[id]))
                .collect(),
            toasts: self.toasts.queue(agent.id).collect(),
        })
    }

    /// Any session, for the operator.
    pub fn session(&self, id: SessionId) -> DomainResult<SessionView<'_>> {
        self.sessions
            .get(&id)
            .map(|session| self.view(session))
            .ok_or_else(|| DomainError::session_not_found(id))
    }

    /// Provider sessions (not home sessions) in creation order, for the operator.
    pub fn sessions(
        &self,
        filter: SessionFilter,
        after: Option<SessionId>,
        limit: usize,
    ) -> Page<SessionView<'_>, SessionId> {
        let keep = |session: &&Session| {
            session.owner().is_some()
                && filter.agent.is_none_or(|agent| session.agent == agent)
                && filter
                    .provider
                    .is_none_or(|provider| session.owner() == Some(provider))
                && (filter.show_closed || session.is_open())
        };
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        match filter.provider {
            Some(provider) => {
                let owned = self.sessions_by_owner.get(&provider);
                let entries = owned
                    .into_iter()
                    .flat_map(|owned| owned.range((start, Bound::Unbounded)))
                    .map(|id| &*self.sessions[id])
                    .filter(keep)
                    .map(|session| (session.id, self.view(session)));
                paging::collect(entries, limit)
            }
            None => {
                let entries = self
                    .sessions
                    .range((start, Bound::Unbounded))
                    .map(|(_, session)| &**session)
                    .filter(keep)
                    .map(|session| (session.id, self.view(session)));
                paging::collect(entries, limit)
            }
        }
    }
}

impl ControlPlane {
    /// Every desk, in agent creation order: the operator's snapshot.
    pub fn desks(&self) -> impl Iterator<Item = DeskView<'_>> {
        self.agents
            .keys()
            .map(|agent| self.desk(*agent).expect("every agent has a desk"))
    }
}
