//! Read views: a session with what the desk and the registry add to it, and whole desks.

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::ControlPlane;
use crate::domain::desks::{Desk, Session};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::paging::{self, Page};
use crate::domain::registry::AgentRecord;
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
    pub desk: &'a Desk,
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
            .desks
            .desk(session.agent)
            .is_some_and(|desk| desk.focused == session.id);
        let owner = session.owner().map(|id| {
            let (unique_name, deleted) = self.registry.owner_name(id);
            OwnerView {
                id,
                unique_name,
                deleted,
                admitted: self.admits(session.agent, id),
            }
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
        let record = self.agent(agent)?;
        let desk = self.desks.desk(agent).expect("every agent has a desk");
        Ok(DeskView {
            agent: record,
            desk,
            home: self.view(self.desks.session(desk.home).expect("its home session")),
            sessions: self
                .desks
                .open_sessions(agent)
                .map(|session| self.view(session))
                .collect(),
            toasts: self.toasts.queue(agent).collect(),
        })
    }

    /// Any session, for the operator.
    pub fn session(&self, id: SessionId) -> DomainResult<SessionView<'_>> {
        self.desks
            .session(id)
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
        let entries: Box<dyn Iterator<Item = &Session>> = match filter.provider {
            Some(provider) => Box::new(self.desks.owned_after(provider, after)),
            None => Box::new(self.desks.sessions_after(after)),
        };
        paging::collect(
            entries
                .filter(keep)
                .map(|session| (session.id, self.view(session))),
            limit,
        )
    }
}

impl ControlPlane {
    /// Every desk, in agent creation order: the operator's snapshot.
    pub fn desks(&self) -> impl Iterator<Item = DeskView<'_>> {
        self.registry
            .agent_ids()
            .map(|agent| self.desk(agent).expect("every agent has a desk"))
    }
}
