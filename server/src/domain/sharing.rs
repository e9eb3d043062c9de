//! Sharing what decoded events hold alike. A running server's events share the tabs and
//! contexts of the sessions they show, with the state and with each other: a change copies
//! only what it changes. Decoded from a store, each event would hold copies of its own: a
//! history restored at startup, or read by a follower, would take more memory than the
//! writer's.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Weak};

use cif_sdk::ids::{SessionId, TabId};

use super::desks::{Context, Session, Tab};
use super::events::{Event, EventKind};

/// The newest tab and context seen of each id, while something else holds them: it never
/// keeps alive what only it would hold.
#[derive(Debug, Default)]
pub struct Sharing {
    tabs: HashMap<TabId, Weak<Tab>>,
    contexts: HashMap<SessionId, Weak<Context>>,
    /// The number of entries at which those nobody holds any more are dropped.
    prune_at: usize,
}

impl Sharing {
    /// Sharing with `sessions`, the state's (the events' newest snapshots are often equal).
    pub fn with<'a>(sessions: impl IntoIterator<Item = &'a Session>) -> Self {
        let mut sharing = Self::default();
        for session in sessions {
            sharing.remember(session);
        }
        sharing
    }

    /// `event` holding, for each tab and context equal to the newest one seen of its id, that
    /// one; each other one it holds becomes the newest of its id.
    pub fn share(&mut self, event: &mut Event) {
        match &mut event.kind {
            EventKind::SessionCreated { session }
            | EventKind::SessionSwitched { session, .. }
            | EventKind::SessionClosed { session }
            | EventKind::SessionRetitled { session }
            | EventKind::SessionContextChanged { session, .. }
            | EventKind::SessionMarksChanged { session } => {
                // Each event about a session shows a new version of it (the version counts
                // them), so only its tabs and context can be shared; and only in a session
                // nothing else holds yet (just decoded).
                if let Some(session) = Arc::get_mut(&mut session.session) {
                    shared(&mut self.contexts, session.id, &mut session.context);
                    for tab in &mut session.tabs {
                        shared(&mut self.tabs, tab.id, tab);
                    }
                }
            }
            EventKind::TabCreated { tab, .. }
            | EventKind::TabFocused { tab }
            | EventKind::TabRefreshed { tab, .. }
            | EventKind::TabRetitled { tab, .. }
            | EventKind::TabClosed { tab } => shared(&mut self.tabs, tab.id, tab),
            _ => {}
        }
        self.prune();
    }

    fn remember(&mut self, session: &Session) {
        self.contexts
            .insert(session.id, Arc::downgrade(&session.context));
        for tab in &session.tabs {
            self.tabs.insert(tab.id, Arc::downgrade(tab));
        }
    }

    /// Drops the entries nobody holds any more, each time the entries have doubled: bounded
    /// by twice what is held, at a constant cost per event.
    fn prune(&mut self) {
        if self.len() < self.prune_at {
            return;
        }
        self.tabs.retain(|_, tab| tab.strong_count() > 0);
        self.contexts
            .retain(|_, context| context.strong_count() > 0);
        self.prune_at = 2 * self.len().max(1024);
    }

    fn len(&self) -> usize {
        self.tabs.len() + self.contexts.len()
    }
}

/// `value` becomes the one kept under `key` if they are equal; else it is kept from now on.
fn shared<K: Hash + Eq, V: PartialEq>(kept: &mut HashMap<K, Weak<V>>, key: K, value: &mut Arc<V>) {
    match kept.get(&key).and_then(Weak::upgrade) {
        Some(newest) if *newest == **value => *value = newest,
        _ => {
            kept.insert(key, Arc::downgrade(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::desks::{Marks, PageKind, SessionKind, TabPage};
    use crate::domain::events::SessionSnapshot;
    use cif_sdk::ids::{AgentId, ProviderId};
    use std::time::SystemTime;

    /// A provider's session with one tab, every id new.
    fn session_with_tab() -> Session {
        let (id, provider) = (
            SessionId::from_uuid(uuid::Uuid::now_v7()),
            ProviderId::from_uuid(uuid::Uuid::now_v7()),
        );
        Session {
            id,
            agent: AgentId::from_uuid(uuid::Uuid::now_v7()),
            kind: SessionKind::Provider(provider),
            template: "".into(),
            title: "Chat".into(),
            title_pattern: None,
            context: Arc::new([("customer".into(), "Maria".into())].into_iter().collect()),
            created: SystemTime::UNIX_EPOCH,
            closed: None,
            tabs: vec![Arc::new(Tab {
                id: TabId::from_uuid(uuid::Uuid::now_v7()),
                session: id,
                title: "Case".into(),
                page: TabPage {
                    kind: PageKind::ThirdPartyWebsite,
                    url: "https://crm.example.com".into(),
                    parameters: "".into(),
                },
                can_close: true,
                anchor: false,
                origin: None,
                opened_by: provider,
                created: SystemTime::UNIX_EPOCH,
            })],
            focused_tab: None,
            marks: Marks::default(),
            version: 1,
        }
    }

    fn copy(event: &Event) -> Event {
        // As a store decodes it: nothing shared with `event`.
        let mut copied = event.clone();
        if let EventKind::SessionRetitled { session } = &mut copied.kind {
            let mut fresh = (*session.session).clone();
            fresh.context = Arc::new((*fresh.context).clone());
            fresh.tabs = fresh
                .tabs
                .iter()
                .map(|tab| Arc::new((**tab).clone()))
                .collect();
            session.session = Arc::new(fresh);
        }
        copied
    }

    fn tabs_and_context(event: &Event) -> (Vec<Arc<Tab>>, Arc<Context>) {
        let EventKind::SessionRetitled { session } = &event.kind else {
            panic!("a session event")
        };
        (
            session.session.tabs.clone(),
            session.session.context.clone(),
        )
    }

    #[test]
    fn equal_tabs_and_contexts_are_shared_and_changed_ones_are_not() {
        let session = session_with_tab();
        let event = |session: &Session| Event {
            agent: session.agent,
            time: SystemTime::UNIX_EPOCH,
            providers: Vec::new(),
            kind: EventKind::SessionRetitled {
                session: Box::new(SessionSnapshot {
                    session: Arc::new(session.clone()),
                    focused: false,
                    owner: None,
                }),
            },
        };
        let mut sharing = Sharing::with([&session]);
        let mut first = copy(&event(&session));
        sharing.share(&mut first);
        let (tabs, context) = tabs_and_context(&first);
        assert!(
            Arc::ptr_eq(&tabs[0], &session.tabs[0]),
            "shared with the state"
        );
        assert!(Arc::ptr_eq(&context, &session.context));

        let mut retitled = session.clone();
        Arc::make_mut(&mut retitled.tabs[0]).title = "Changed".into();
        let mut second = copy(&event(&retitled));
        sharing.share(&mut second);
        let (changed, context) = tabs_and_context(&second);
        assert!(
            !Arc::ptr_eq(&changed[0], &session.tabs[0]),
            "a changed tab is its own"
        );
        assert_eq!(changed[0].title, "Changed");
        assert!(Arc::ptr_eq(&context, &session.context));

        let mut third = copy(&event(&retitled));
        sharing.share(&mut third);
        assert!(
            Arc::ptr_eq(&tabs_and_context(&third).0[0], &changed[0]),
            "the newest one is shared from then on"
        );
    }

    #[test]
    fn entries_nobody_holds_are_dropped() {
        let mut sharing = Sharing::default();
        for _ in 0..5_000 {
            let session = session_with_tab();
            sharing.remember(&session);
            sharing.prune();
        }
        assert!(sharing.len() <= 4 * 1024);
    }
}
