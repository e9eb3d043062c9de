//! Tabs (rule 3): a provider opens, focuses, refreshes, retitles and closes tabs in its own
//! sessions and, its own only, in the home session; the agent focuses and closes any.

use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, TabId};

use super::plane::Changing;
use super::{ControlPlane, SessionView};
use crate::domain::catalogue::draft_tab;
use crate::domain::desks::{
    NewTab, Session, SessionKind, Tab, TabOrigin, tab_not_found, validate_title,
};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::EventKind;
use crate::domain::principal::ProviderCaller;

/// Who is acting on a tab.
#[derive(Debug, Clone, Copy)]
enum TabActor {
    Provider(ProviderCaller),
    Agent(AgentId),
}

impl ControlPlane {
    /// CreateTab.
    pub fn create_tab(
        &mut self,
        caller: impl Into<ProviderCaller>,
        new: NewTab,
    ) -> DomainResult<(Arc<Tab>, bool)> {
        let caller: ProviderCaller = caller.into();
        new.validate(&self.settings.urls)?;
        self.acting_provider(caller.provider)?;
        let session =
            self.session_to_change(caller, new.session, Changing::Tabs, new.expected_version)?;
        let limit = self.agent(session.agent)?.limits.max_tabs_per_session;
        if session.tabs.len() >= limit as usize {
            let message = match session.kind {
                // How many tabs home holds moves with other providers' tabs (rule 19).
                SessionKind::Home => format!(
                    "maximum tabs reached: the home session {} has no room for another tab; close one of yours there first",
                    new.session
                ),
                SessionKind::Provider(_) => format!(
                    "maximum tabs reached: session {} has {} tabs, the limit; close a tab first",
                    new.session,
                    session.tabs.len()
                ),
            };
            return Err(DomainError::new(Reason::TabLimitReached, message)
                .with("session_id", new.session)
                .with("limit", limit));
        }
        let agent = session.agent;
        let now = SystemTime::now();
        let tab = match new.page {
            Some(page) => Tab {
                id: TabId::generate(),
                session: new.session,
                title: new.title,
                page,
                can_close: true,
                anchor: false,
                origin: TabOrigin {
                    template: new.template.into(),
                    ..TabOrigin::default()
                }
                .kept(),
                opened_by: caller.provider,
                created: now,
            },
            None => {
                let spec = self.catalogue.tab_template(&new.template)?;
                let mut tab = draft_tab(
                    &new.template,
                    spec,
                    &new.parameters,
                    &session.context,
                    "parameters",
                    &self.settings.urls,
                )?
                .into_tab(new.session, caller.provider, now);
                if !new.title.is_empty() {
                    tab.set_title(new.title);
                }
                tab
            }
        };
        let in_home =
            self.desks.session(new.session).expect("checked above").kind == SessionKind::Home;
        let tab = Arc::new(tab);
        let focused = self.desks.add_tab(tab.clone(), new.focus);
        self.emit(
            agent,
            tab.created,
            EventKind::TabCreated {
                tab: tab.clone(),
                focused,
                in_home,
            },
        );
        let focus_shown = self.tab_focus_shown_to_provider(&tab);
        Ok((tab, focus_shown))
    }

    /// The tab, if `actor` may act on it: for a provider, a tab in its own session or one it
    /// opened in home; for the agent, any tab on its desk. Otherwise the same NOT_FOUND as a
    /// missing tab.
    fn actionable_tab(&self, actor: TabActor, tab: TabId) -> DomainResult<(&Session, &Arc<Tab>)> {
        let found = self
            .desks
            .tab(tab)
            .filter(|(session, record)| match actor {
                TabActor::Provider(caller) => {
                    self.provider_sees(caller, session)
                        && (session.kind != SessionKind::Home
                            || record.opened_by == caller.provider)
                }
                TabActor::Agent(agent) => session.agent == agent,
            })
            .ok_or_else(|| tab_not_found(tab))?;
        if !found.0.is_open() {
            return Err(Self::session_not_open(found.0.id));
        }
        Ok(found)
    }

    fn check_actor(&self, actor: TabActor) -> DomainResult<()> {
        match actor {
            TabActor::Provider(caller) => self.acting_provider(caller.provider).map(drop),
            TabActor::Agent(agent) => self.agent(agent).map(drop),
        }
    }

    fn focus_tab(&mut self, actor: TabActor, tab: TabId) -> DomainResult<Arc<Tab>> {
        self.check_actor(actor)?;
        let (session, record) = self.actionable_tab(actor, tab)?;
        let (agent, record) = (session.agent, record.clone());
        if self.desks.focus_tab(tab) {
            self.emit(
                agent,
                SystemTime::now(),
                EventKind::TabFocused {
                    tab: record.clone(),
                },
            );
        }
        Ok(record)
    }

    fn close_tab(&mut self, actor: TabActor, tab: TabId) -> DomainResult<SessionView<'_>> {
        self.check_actor(actor)?;
        let (session, record) = self.actionable_tab(actor, tab)?;
        if record.anchor {
            return Err(DomainError::new(
                Reason::AnchorTabNotClosable,
                format!(
                    "tab {tab} is the anchor tab of session {}: it stays as long as the session (the agent closes the session to close it)",
                    session.id
                ),
            )
            .with("tab_id", tab));
        }
        if matches!(actor, TabActor::Agent(_)) && !record.can_close {
            return Err(DomainError::new(
                Reason::TabNotClosable,
                format!(
                    "tab {tab} cannot be closed by the agent: its template says so (the provider that opened it may close it)"
                ),
            )
            .with("tab_id", tab));
        }
        let (session_id, agent) = (session.id, session.agent);
        let now = SystemTime::now();
        let (closed, gained) = self.desks.remove_tab(tab);
        self.emit(agent, now, EventKind::TabClosed { tab: closed });
        if let Some(next) = gained {
            self.emit(agent, now, EventKind::TabFocused { tab: next });
        }
        let viewer = match actor {
            TabActor::Provider(caller) => Some(caller.provider),
            TabActor::Agent(_) => None,
        };
        let session = self.desks.session(session_id).expect("still there");
        Ok(self.view_for(session, viewer))
    }

    /// FocusTab by a provider.
    pub fn provider_focus_tab(
        &mut self,
        caller: impl Into<ProviderCaller>,
        tab: TabId,
    ) -> DomainResult<Arc<Tab>> {
        let caller: ProviderCaller = caller.into();
        self.focus_tab(TabActor::Provider(caller), tab)
    }

    /// FocusTab by the agent.
    pub fn agent_focus_tab(&mut self, agent: AgentId, tab: TabId) -> DomainResult<Arc<Tab>> {
        self.focus_tab(TabActor::Agent(agent), tab)
    }

    /// CloseTab by a provider.
    pub fn provider_close_tab(
        &mut self,
        caller: impl Into<ProviderCaller>,
        tab: TabId,
    ) -> DomainResult<SessionView<'_>> {
        let caller: ProviderCaller = caller.into();
        self.close_tab(TabActor::Provider(caller), tab)
    }

    /// CloseTab by the agent.
    pub fn agent_close_tab(&mut self, agent: AgentId, tab: TabId) -> DomainResult<SessionView<'_>> {
        self.close_tab(TabActor::Agent(agent), tab)
    }

    /// RefreshTab: the desk reloads the tab.
    pub fn refresh_tab(
        &mut self,
        caller: impl Into<ProviderCaller>,
        tab: TabId,
    ) -> DomainResult<Arc<Tab>> {
        let caller: ProviderCaller = caller.into();
        self.check_actor(TabActor::Provider(caller))?;
        let (session, record) = self.actionable_tab(TabActor::Provider(caller), tab)?;
        let focused = session.focused_tab == Some(tab);
        let in_home = session.kind == SessionKind::Home;
        let (agent, record) = (session.agent, record.clone());
        self.emit(
            agent,
            SystemTime::now(),
            EventKind::TabRefreshed {
                tab: record.clone(),
                focused,
                in_home,
            },
        );
        Ok(record)
    }

    /// SetTabTitle.
    pub fn set_tab_title(
        &mut self,
        caller: impl Into<ProviderCaller>,
        tab: TabId,
        title: String,
    ) -> DomainResult<Arc<Tab>> {
        let caller: ProviderCaller = caller.into();
        validate_title(&title)?;
        self.check_actor(TabActor::Provider(caller))?;
        let (session, _) = self.actionable_tab(TabActor::Provider(caller), tab)?;
        let focused = session.focused_tab == Some(tab);
        let (agent, in_home) = (session.agent, session.kind == SessionKind::Home);
        let record = self.desks.retitle_tab(tab, title);
        self.emit(
            agent,
            SystemTime::now(),
            EventKind::TabRetitled {
                tab: record.clone(),
                focused,
                in_home,
            },
        );
        Ok(record)
    }

    /// Whether a provider is told that `tab` is its session's focused tab: in its own
    /// sessions, as it is; in home never, since which tab has focus there moves with other
    /// providers' tabs (rule 19).
    pub fn tab_focus_shown_to_provider(&self, tab: &Tab) -> bool {
        self.desks.session(tab.session).is_some_and(|session| {
            session.kind != SessionKind::Home && session.focused_tab == Some(tab.id)
        })
    }
}
