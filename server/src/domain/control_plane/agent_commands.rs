//! The agent's own hand: switching and closing sessions (rules 4, 8 and 9). No provider call
//! reaches these.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, SessionId};

use super::{ControlPlane, DeskView};
use crate::domain::desks::{Session, SessionKind};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::EventKind;

impl ControlPlane {
    /// The agent's session, open or closed; another desk's session is NOT_FOUND.
    fn agents_session(&self, agent: AgentId, session: SessionId) -> DomainResult<&Session> {
        self.agent(agent)?;
        self.desks
            .session(session)
            .filter(|record| record.agent == agent)
            .ok_or_else(|| DomainError::session_not_found(session))
    }

    /// Moves focus to an open session or home (rule 8). The owner of the session that had
    /// focus hears it lost it, the new one's owner that it gained it. Switching to the focused
    /// session changes nothing.
    pub fn switch_session(
        &mut self,
        agent: AgentId,
        target: SessionId,
        expected_version: Option<u64>,
    ) -> DomainResult<DeskView<'_>> {
        let open = self.agents_session(agent, target)?.is_open();
        self.check_desk_version(agent, expected_version)?;
        if !open {
            return Err(Self::session_not_open(target));
        }
        if self.desks.desk(agent).expect("checked above").focused != target {
            let previous = self.desks.focus(agent, target);
            let now = SystemTime::now();
            let lost = self.snapshot(previous);
            self.emit(
                agent,
                now,
                EventKind::SessionSwitched {
                    session: lost,
                    focused: false,
                },
            );
            let gained = self.snapshot(target);
            self.emit(
                agent,
                now,
                EventKind::SessionSwitched {
                    session: gained,
                    focused: true,
                },
            );
            // Rule 7: attention and new-activity marks clear when the agent switches to it.
            self.clear_focus_marks(target);
        }
        self.desk(agent)
    }

    /// Closes an open provider session (rule 9): its owner hears it; focus, if it had it,
    /// moves to the most recently focused open session, else home.
    pub fn close_session_as_agent(
        &mut self,
        agent: AgentId,
        session: SessionId,
        expected_version: Option<u64>,
    ) -> DomainResult<DeskView<'_>> {
        self.agents_session(agent, session)?;
        self.check_desk_version(agent, expected_version)?;
        let record = self.desks.session(session).expect("checked above");
        if record.kind == SessionKind::Home {
            return Err(DomainError::new(
                Reason::HomeSessionNotClosable,
                "the home session cannot be closed; close provider sessions only",
            )
            .with("session_id", session));
        }
        if !record.is_open() {
            return Err(Self::session_not_open(session));
        }
        self.close(session, SystemTime::now());
        self.desk(agent)
    }
}
