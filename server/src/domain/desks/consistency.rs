//! What stored desks and sessions must agree on before they are restored: the rules assume it
//! everywhere (every desk has its home session, every open session is its agent's), so a
//! database that contradicts it (damaged, or edited by hand) is refused at startup, naming
//! the contradiction, rather than failing later in the middle of a call.

use std::collections::{HashMap, HashSet};

use cif_sdk::ids::{AgentId, SessionId};

use super::desk::Desk;
use super::session::{Session, SessionKind};

/// The first contradiction between `desks` and `sessions`, if any.
pub fn contradiction(desks: &[(AgentId, Desk)], sessions: &[Session]) -> Option<String> {
    let by_id: HashMap<SessionId, &Session> = sessions
        .iter()
        .map(|session| (session.id, session))
        .collect();
    if by_id.len() < sessions.len() {
        return Some("two sessions are stored with the same id".into());
    }
    let agents: HashMap<AgentId, &Desk> =
        desks.iter().map(|(agent, desk)| (*agent, desk)).collect();
    if agents.len() < desks.len() {
        return Some("two desks are stored for the same agent".into());
    }
    let mut tabs = HashSet::new();
    if let Some(tab) = sessions
        .iter()
        .flat_map(|session| &session.tabs)
        .find(|tab| !tabs.insert(tab.id))
    {
        return Some(format!("tab {} is stored twice", tab.id));
    }
    for (agent, desk) in desks {
        let home = by_id.get(&desk.home);
        if !home.is_some_and(|home| home.agent == *agent && home.kind == SessionKind::Home) {
            return Some(format!(
                "agent {agent}'s home session {} is not stored as its home session",
                desk.home
            ));
        }
        for open in &desk.open {
            let session = by_id.get(open);
            if !session.is_some_and(|session| {
                session.agent == *agent && session.is_open() && session.owner().is_some()
            }) {
                return Some(format!(
                    "agent {agent}'s desk lists session {open} as open, which is not stored as an open session of that desk"
                ));
            }
        }
        if desk.focused != desk.home && !desk.open.contains(&desk.focused) {
            return Some(format!(
                "agent {agent}'s desk has focus on session {}, which is neither its home nor open on it",
                desk.focused
            ));
        }
    }
    for session in sessions {
        let Some(desk) = agents.get(&session.agent) else {
            return Some(format!(
                "session {} is on the desk of agent {}, which is not stored",
                session.id, session.agent
            ));
        };
        let listed = session.id == desk.home || desk.open.contains(&session.id);
        if session.is_open() && !listed {
            return Some(format!(
                "session {} is open but not on its agent's desk",
                session.id
            ));
        }
        if let Some(tab) = session.tabs.iter().find(|tab| tab.session != session.id) {
            return Some(format!(
                "tab {} is stored in session {} but names session {}",
                tab.id, session.id, tab.session
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::desks::Desks;
    use std::time::SystemTime;

    /// A desk as a new agent has it, and its home session.
    fn new_desk() -> (AgentId, Desk, Session) {
        let mut desks = Desks::default();
        let agent = AgentId::from_uuid(uuid::Uuid::now_v7());
        let home = desks.add_desk(agent, SystemTime::UNIX_EPOCH);
        let desk = desks.desk(agent).expect("added").clone();
        let session = desks.session(home).expect("added").clone();
        (agent, desk, session)
    }

    #[test]
    fn a_desk_and_its_home_session_agree() {
        let (agent, desk, home) = new_desk();
        assert_eq!(contradiction(&[(agent, desk)], &[home]), None);
    }

    #[test]
    fn a_desk_without_its_home_session_is_a_contradiction() {
        let (agent, desk, _) = new_desk();
        let found = contradiction(&[(agent, desk)], &[]).expect("a contradiction");
        assert!(found.contains("home session"), "{found}");
    }

    #[test]
    fn a_session_of_an_agent_without_a_desk_is_a_contradiction() {
        let (_, _, home) = new_desk();
        let found = contradiction(&[], &[home]).expect("a contradiction");
        assert!(found.contains("not stored"), "{found}");
    }

    #[test]
    fn focus_on_a_session_not_on_the_desk_is_a_contradiction() {
        let (agent, mut desk, home) = new_desk();
        desk.focused = SessionId::from_uuid(uuid::Uuid::now_v7());
        let found = contradiction(&[(agent, desk)], &[home]).expect("a contradiction");
        assert!(found.contains("focus"), "{found}");
    }

    #[test]
    fn the_same_session_stored_twice_is_a_contradiction() {
        let (agent, desk, home) = new_desk();
        let found =
            contradiction(&[(agent, desk)], &[home.clone(), home]).expect("a contradiction");
        assert!(found.contains("same id"), "{found}");
    }
}
