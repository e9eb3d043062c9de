//! The desks part: every desk, every session (home sessions included) with its tabs and marks,
//! and the indexes that find them (by owner, by tab, by when they closed). Sessions open,
//! focus, close and are forgotten only through these methods, so the indexes always agree
//! with the sessions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cif_sdk::ids::{AgentId, ProviderId, SessionId, TabId};

use super::desk::{Desk, PanelMode};
use super::session::{Context, Session, SessionKind};
use super::tab::Tab;
use crate::domain::registry::Presence;
use crate::domain::tracked::Tracked;

/// A change to the panel.
#[derive(Debug, Clone, Copy)]
pub enum PanelChange {
    Mode(PanelMode),
    Width(u32),
}

/// A mark that gaining focus clears (rule 7).
#[derive(Debug, Clone, Copy)]
pub enum FocusMark {
    Attention { messages: u32 },
    NewActivity { count: u32 },
}

/// What refilling titles from a session's context changed.
#[derive(Debug, Default)]
pub struct Refilled {
    /// The session's own title changed.
    pub session: bool,
    /// The tabs whose titles changed, as they are now.
    pub tabs: Vec<Arc<Tab>>,
}

/// Every desk and session.
#[derive(Debug, Default)]
pub struct Desks {
    desks: Tracked<AgentId, Desk>,
    /// Every session, home sessions included, in creation order (ids are time-ordered).
    /// Shared with the events about them: an event's snapshot is the session as it is here,
    /// and a change copies it (`Arc::make_mut`) only while an event still holds it. A map
    /// node holds a pointer, not a whole session (half-empty nodes of sessions would cost
    /// hundreds of bytes per session).
    sessions: Tracked<SessionId, Arc<Session>>,
    /// Provider sessions by owner, open and closed.
    by_owner: HashMap<ProviderId, BTreeSet<SessionId>>,
    /// Closed sessions by when they closed, for retention.
    closed: BTreeSet<(SystemTime, SessionId)>,
    /// The session each tab is in.
    tab_sessions: HashMap<TabId, SessionId>,
    /// The provider whose widget each desk was last told is visible (rule 20), so a change is
    /// announced once; desks showing none are absent. Derived from the rest of the state, so
    /// never stored: worked out again when the state is restored.
    visible_widgets: HashMap<AgentId, ProviderId>,
}

/// The desks part's records changed since the last look: each with its value now, or `None`
/// when removed.
#[derive(Debug, Default)]
pub struct DeskChanges {
    pub desks: Vec<(AgentId, Option<Desk>)>,
    pub sessions: Vec<(SessionId, Option<Arc<Session>>)>,
}

impl Desks {
    /// The desks and sessions as stored, every index derived again.
    pub fn restore(desks: Vec<(AgentId, Desk)>, sessions: Vec<Session>) -> Self {
        let mut part = Self {
            desks: Tracked::loaded(desks),
            ..Self::default()
        };
        for session in &sessions {
            part.index(session);
        }
        part.sessions = Tracked::loaded(sessions.into_iter().map(|s| (s.id, Arc::new(s))));
        part
    }

    /// Makes the desks and sessions what another process's commands left them (a follower
    /// reading what the writer committed), keeping the indexes in step. Nothing counts as
    /// changed.
    pub fn apply(&mut self, changes: DeskChanges) {
        for (agent, desk) in changes.desks {
            match desk {
                Some(desk) => self.desks.insert(agent, desk),
                None => {
                    self.visible_widgets.remove(&agent);
                    self.desks.remove(&agent)
                }
            };
        }
        for (id, session) in changes.sessions {
            if let Some(old) = self.sessions.remove(&id) {
                self.unindex(&old);
            }
            if let Some(session) = session {
                self.index(&session);
                self.sessions.insert(id, session);
            }
        }
        self.forget_changes();
    }

    fn unindex(&mut self, session: &Session) {
        if let Some(owner) = session.owner()
            && let Some(owned) = self.by_owner.get_mut(&owner)
        {
            owned.remove(&session.id);
            if owned.is_empty() {
                self.by_owner.remove(&owner);
            }
        }
        if let Some(time) = session.closed {
            self.closed.remove(&(time, session.id));
        }
        for tab in &session.tabs {
            self.tab_sessions.remove(&tab.id);
        }
    }

    fn index(&mut self, session: &Session) {
        if let Some(owner) = session.owner() {
            self.by_owner.entry(owner).or_default().insert(session.id);
        }
        if let Some(time) = session.closed {
            self.closed.insert((time, session.id));
        }
        for tab in &session.tabs {
            self.tab_sessions.insert(tab.id, session.id);
        }
    }

    /// What changed since the last call.
    pub fn take_changes(&mut self) -> DeskChanges {
        DeskChanges {
            desks: self.desks.take_changes(),
            sessions: self.sessions.take_changes(),
        }
    }

    /// Forgets what changed, for a state nothing stores.
    pub fn forget_changes(&mut self) {
        self.desks.forget_touched();
        self.sessions.forget_touched();
    }

    // === looking ===

    pub fn desk(&self, agent: AgentId) -> Option<&Desk> {
        self.desks.get(&agent)
    }

    /// The agents that have a desk.
    pub fn agents(&self) -> Vec<AgentId> {
        self.desks.keys().copied().collect()
    }

    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id).map(|session| &**session)
    }

    /// Every session after `after`, in creation order.
    pub fn sessions_after(&self, after: Option<SessionId>) -> impl Iterator<Item = &Session> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.sessions
            .range((start, Bound::Unbounded))
            .map(|(_, session)| &**session)
    }

    /// A provider's sessions after `after`, open and closed, in creation order.
    pub fn owned_after(
        &self,
        owner: ProviderId,
        after: Option<SessionId>,
    ) -> impl Iterator<Item = &Session> {
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.by_owner
            .get(&owner)
            .into_iter()
            .flat_map(move |owned| owned.range((start, Bound::Unbounded)))
            .map(|id| &*self.sessions[id])
    }

    /// Whether a provider owns any session (open or closed, until it is forgotten).
    pub fn owns_sessions(&self, owner: ProviderId) -> bool {
        self.by_owner.contains_key(&owner)
    }

    /// A desk's open provider sessions, in creation order.
    pub fn open_sessions(&self, agent: AgentId) -> impl Iterator<Item = &Session> {
        self.desks
            .get(&agent)
            .into_iter()
            .flat_map(|desk| desk.open.iter())
            .map(|id| &*self.sessions[id])
    }

    /// Home sessions holding a tab `opener` opened, in creation order.
    pub fn homes_with_tabs_of(&self, opener: ProviderId) -> Vec<&Session> {
        let mut homes: Vec<SessionId> = self
            .tab_sessions
            .values()
            .copied()
            .filter(|session| {
                self.sessions.get(session).is_some_and(|record| {
                    record.kind == SessionKind::Home
                        && record.tabs.iter().any(|tab| tab.opened_by == opener)
                })
            })
            .collect();
        homes.sort();
        homes.dedup();
        homes.iter().map(|id| &*self.sessions[id]).collect()
    }

    /// A tab and the session it is in.
    pub fn tab(&self, tab: TabId) -> Option<(&Session, &Arc<Tab>)> {
        let session = self.sessions.get(self.tab_sessions.get(&tab)?)?;
        Some((&**session, session.tab(tab)?))
    }

    /// Whether a session has its desk's focus.
    pub fn is_focused(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .and_then(|record| self.desks.get(&record.agent))
            .is_some_and(|desk| desk.focused == session)
    }

    // === desks ===

    /// A new desk with its home session.
    pub fn add_desk(&mut self, agent: AgentId, now: SystemTime) -> SessionId {
        let home = Session {
            id: SessionId::generate(),
            agent,
            kind: SessionKind::Home,
            template: "".into(),
            title: "Home".to_owned(),
            title_pattern: None,
            context: Default::default(),
            created: now,
            closed: None,
            tabs: Vec::new(),
            focused_tab: None,
            marks: Default::default(),
            version: 0,
        };
        let id = home.id;
        self.sessions.insert(id, Arc::new(home));
        self.desks.insert(agent, Desk::new(id));
        id
    }

    /// Removes a desk and its home session (its provider sessions must be closed).
    pub fn remove_desk(&mut self, agent: AgentId) {
        let Some(desk) = self.desks.remove(&agent) else {
            return;
        };
        debug_assert!(desk.open.is_empty(), "the desk's sessions closed first");
        self.visible_widgets.remove(&agent);
        if let Some(home) = self.sessions.remove(&desk.home) {
            for tab in &home.tabs {
                self.tab_sessions.remove(&tab.id);
            }
        }
    }

    /// Records the provider whose widget the desk is told is visible; returns whether that
    /// changed.
    pub fn show_widget(&mut self, agent: AgentId, provider: Option<ProviderId>) -> bool {
        let before = match provider {
            Some(provider) => self.visible_widgets.insert(agent, provider),
            None => self.visible_widgets.remove(&agent),
        };
        before != provider
    }

    /// Counts one change of a desk and, when the change is about one, of a session.
    pub fn count_change(&mut self, agent: AgentId, session: Option<SessionId>) {
        if let Some(desk) = self.desks.get_mut(&agent) {
            desk.version += 1;
        }
        if let Some(session) = session {
            self.count_session_change(session);
        }
    }

    /// Counts one change of a session (its version moves).
    pub fn count_session_change(&mut self, session: SessionId) {
        if let Some(session) = self.sessions.get_mut(&session) {
            Arc::make_mut(session).version += 1;
        }
    }

    /// A session as the state holds it, to share with an event.
    pub fn shared(&self, id: SessionId) -> Option<&Arc<Session>> {
        self.sessions.get(&id)
    }

    /// Changes the panel; `false` when it already was so.
    pub fn set_panel(&mut self, agent: AgentId, change: PanelChange) -> bool {
        let Some(desk) = self.desks.get(&agent) else {
            return false;
        };
        let same = match change {
            PanelChange::Mode(mode) => desk.panel_mode == mode,
            PanelChange::Width(width) => desk.panel_width == width,
        };
        if same {
            return false;
        }
        let desk = self.desks.get_mut(&agent).expect("checked above");
        match change {
            PanelChange::Mode(mode) => desk.panel_mode = mode,
            PanelChange::Width(width) => desk.panel_width = width,
        }
        true
    }

    /// Turns click-to-act on or off for `provider` on the desk; `false` when it already was.
    pub fn set_click_to_act(
        &mut self,
        agent: AgentId,
        provider: ProviderId,
        enabled: bool,
    ) -> bool {
        if self
            .desks
            .get(&agent)
            .is_none_or(|desk| desk.click_to_act.get(&provider) == Some(&enabled))
        {
            return false;
        }
        let desk = self.desks.get_mut(&agent).expect("checked above");
        desk.click_to_act.insert(provider, enabled);
        true
    }

    /// Sets the presence; `false` when it already was this one.
    pub fn set_presence(&mut self, agent: AgentId, presence: &Presence) -> bool {
        if self
            .desks
            .get(&agent)
            .is_none_or(|desk| desk.presence.as_ref() == Some(presence))
        {
            return false;
        }
        self.desks.get_mut(&agent).expect("checked above").presence = Some(presence.clone());
        true
    }

    // === sessions ===

    /// Opens a provider session on its desk and gives it focus; returns the session that had
    /// it.
    pub fn open(&mut self, session: Session) -> SessionId {
        let (id, agent) = (session.id, session.agent);
        self.index(&session);
        self.sessions.insert(id, Arc::new(session));
        let desk = self.desks.get_mut(&agent).expect("its desk");
        desk.open.push(id);
        desk.focus(id)
    }

    /// Moves the desk's focus to one of its open sessions or home; returns the session that
    /// had it.
    pub fn focus(&mut self, agent: AgentId, session: SessionId) -> SessionId {
        self.desks.get_mut(&agent).expect("its desk").focus(session)
    }

    /// Closes an open session: off its desk, readable until retention forgets it. If it had
    /// focus, focus moves to the most recently focused open session, else home; returns the
    /// session that gained it.
    pub fn close(&mut self, session: SessionId, now: SystemTime) -> Option<SessionId> {
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("an open session"));
        record.closed = Some(now);
        let agent = record.agent;
        self.closed.insert((now, session));
        let desk = self.desks.get_mut(&agent).expect("its desk");
        desk.open.retain(|id| *id != session);
        desk.focus_history.retain(|id| *id != session);
        (desk.focused == session).then(|| {
            let next = *desk.focus_history.last().unwrap_or(&desk.home);
            desk.focus(next);
            next
        })
    }

    /// Forgets, with their tabs, the sessions closed longer ago than `retention`; returns the
    /// providers that own no session any more.
    pub fn forget_expired(&mut self, now: SystemTime, retention: Duration) -> Vec<ProviderId> {
        let Some(cutoff) = now.checked_sub(retention) else {
            return Vec::new();
        };
        let mut owners_done = Vec::new();
        while let Some(&(closed, session)) = self.closed.first() {
            if closed > cutoff {
                break;
            }
            self.closed.pop_first();
            let Some(record) = self.sessions.remove(&session) else {
                continue;
            };
            for tab in &record.tabs {
                self.tab_sessions.remove(&tab.id);
            }
            if let Some(owner) = record.owner()
                && let Some(owned) = self.by_owner.get_mut(&owner)
            {
                owned.remove(&session);
                if owned.is_empty() {
                    self.by_owner.remove(&owner);
                    owners_done.push(owner);
                }
            }
        }
        owners_done
    }

    /// Sets a session's title as it is (it no longer follows the context); `false` when it
    /// already was this title.
    pub fn set_title(&mut self, session: SessionId, title: String) -> bool {
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("a session"));
        record.title_pattern = None;
        if record.title == title {
            return false;
        }
        record.title = title;
        true
    }

    /// Sets and deletes context keys; returns the keys set and the keys that were deleted.
    pub fn update_context(
        &mut self,
        session: SessionId,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
    ) -> (Vec<String>, Vec<String>) {
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("a session"));
        let context = Arc::make_mut(&mut record.context);
        let deleted: Vec<String> = delete
            .into_iter()
            .filter(|key| context.remove(key.as_str()).is_some())
            .collect();
        let set_keys: Vec<String> = set.keys().cloned().collect();
        context.extend(
            set.into_iter()
                .map(|(key, value)| (key.into(), value.into())),
        );
        (set_keys, deleted)
    }

    /// Fills again the titles that came from templates with slugs (the session's and its
    /// tabs'), each by `fill(pattern, template, tab parameters, context)`.
    pub fn refill_titles(
        &mut self,
        session: SessionId,
        fill: impl Fn(&str, &str, &BTreeMap<String, String>, &Context) -> String,
    ) -> Refilled {
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("a session"));
        let no_parameters = BTreeMap::new();
        let mut refilled = Refilled::default();
        if let Some(pattern) = record.title_pattern.as_deref() {
            let title = fill(pattern, &record.template, &no_parameters, &record.context);
            if title != record.title {
                record.title = title;
                refilled.session = true;
            }
        }
        let context = record.context.clone();
        for tab in &mut record.tabs {
            if let Some(pattern) = tab.title_pattern() {
                let title = fill(pattern, tab.template(), tab.parameters(), &context);
                if title != tab.title {
                    Arc::make_mut(tab).title = title;
                    refilled.tabs.push(tab.clone());
                }
            }
        }
        refilled
    }

    /// Sets a mark that gaining focus clears.
    pub fn mark(&mut self, session: SessionId, mark: FocusMark) {
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("a session"));
        match mark {
            FocusMark::Attention { messages } => record.marks.attention = Some(messages),
            FocusMark::NewActivity { count } => record.marks.new_activity = Some(count),
        }
    }

    /// Flags (with details) or resets a KPI breach; `false` when nothing changed.
    pub fn set_kpi_breach(&mut self, session: SessionId, breach: Option<String>) -> bool {
        // Looked at before it is written: a write copies a session an event still holds.
        if self.sessions[&session].marks.kpi_breach == breach {
            return false;
        }
        Arc::make_mut(self.sessions.get_mut(&session).expect("a session"))
            .marks
            .kpi_breach = breach;
        true
    }

    /// Clears the marks gaining focus clears; `false` when there were none.
    pub fn clear_focus_marks(&mut self, session: SessionId) -> bool {
        let Some(record) = self.sessions.get(&session) else {
            return false;
        };
        if record.marks.attention.is_none() && record.marks.new_activity.is_none() {
            return false;
        }
        let marks = &mut Arc::make_mut(self.sessions.get_mut(&session).expect("found")).marks;
        (marks.attention, marks.new_activity) = (None, None);
        true
    }

    // === tabs ===

    /// Adds a tab to its session; it takes the session's focus when `focus` or when it is the
    /// first. Returns whether it has focus.
    pub fn add_tab(&mut self, tab: Arc<Tab>, focus: bool) -> bool {
        let record = Arc::make_mut(self.sessions.get_mut(&tab.session).expect("a session"));
        let focused = focus || record.focused_tab.is_none();
        if focused {
            record.focused_tab = Some(tab.id);
        }
        self.tab_sessions.insert(tab.id, tab.session);
        // Exactly as many tab slots as tabs: a tab takes some 200 bytes, and a session lives
        // long with few tabs.
        record.tabs.reserve_exact(1);
        record.tabs.push(tab);
        focused
    }

    /// Makes a tab its session's focused tab; `false` when it already was.
    pub fn focus_tab(&mut self, tab: TabId) -> bool {
        let session = self.tab_sessions[&tab];
        if self.sessions[&session].focused_tab == Some(tab) {
            return false;
        }
        Arc::make_mut(self.sessions.get_mut(&session).expect("a session")).focused_tab = Some(tab);
        true
    }

    /// Removes a tab; if it had focus, focus goes to the tab before it, else the new first
    /// tab. Returns the tab, and the tab that gained focus.
    pub fn remove_tab(&mut self, tab: TabId) -> (Arc<Tab>, Option<Arc<Tab>>) {
        let session = self.tab_sessions.remove(&tab).expect("an indexed tab");
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("a session"));
        let index = record
            .tabs
            .iter()
            .position(|t| t.id == tab)
            .expect("in its session");
        let removed = record.tabs.remove(index);
        let mut gained = None;
        if record.focused_tab == Some(tab) {
            let next = record.tabs.get(index.saturating_sub(1)).map(|t| t.id);
            record.focused_tab = next;
            gained = next.and_then(|next| record.tab(next)).cloned();
        }
        (removed, gained)
    }

    /// Sets a tab's title as it is (it no longer follows the context); returns the tab.
    pub fn retitle_tab(&mut self, tab: TabId, title: String) -> Arc<Tab> {
        let session = self.tab_sessions[&tab];
        let record = Arc::make_mut(self.sessions.get_mut(&session).expect("a session"));
        let shared = record
            .tabs
            .iter_mut()
            .find(|t| t.id == tab)
            .expect("in its session");
        Arc::make_mut(shared).set_title(title);
        shared.clone()
    }
}
