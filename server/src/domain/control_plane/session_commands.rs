//! A provider's commands on sessions (rules 1, 2, 5 and 6).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, SessionId};

use super::{ControlPlane, Page, PanelChange, SessionView};
use crate::domain::catalogue::{Dictionary, draft_tab};
use crate::domain::desks::{Session, SessionKind};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::EventKind;
use crate::domain::paging;
use crate::domain::principal::ProviderCaller;
use crate::domain::slug;
use crate::domain::validate::{Violations, limits};

/// A session a provider asks to start: from a session template, or with its title given.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub agent: AgentId,
    /// The session template's unique name; empty: no template.
    pub template: String,
    /// With a template, replaces the template's title; without one, required.
    pub title: String,
    /// Slug values; they also start the session's context.
    pub parameters: BTreeMap<String, String>,
    /// Context entries on top of the parameters.
    pub context: BTreeMap<String, String>,
    /// Per tab template (by unique name): parameters overriding that template's.
    pub tab_parameters: BTreeMap<String, BTreeMap<String, String>>,
}

impl NewSession {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.optional_text("template", &self.template, limits::TEMPLATE_NAME);
        if self.template.is_empty() {
            violations.required_text("title", &self.title, limits::TITLE);
            for (field, empty) in [
                ("parameters", self.parameters.is_empty()),
                ("tab_parameters", self.tab_parameters.is_empty()),
            ] {
                if !empty {
                    violations.add(
                        field,
                        Reason::FieldMalformed,
                        format!(
                            "{field} fill a template's slugs; name a template, or leave {field} out"
                        ),
                    );
                }
            }
        } else {
            violations.optional_text("title", &self.title, limits::TITLE);
        }
        violations.context("parameters", &self.parameters);
        violations.context("context", &self.context);
        if self.tab_parameters.len() > limits::TEMPLATE_TABS {
            violations.add(
                "tab_parameters",
                Reason::FieldOutOfRange,
                format!(
                    "tab_parameters has {} entries; a session template opens at most {} tabs",
                    self.tab_parameters.len(),
                    limits::TEMPLATE_TABS
                ),
            );
        }
        for (name, parameters) in &self.tab_parameters {
            violations.tab_parameters(&format!("tab_parameters[{name}]"), parameters);
        }
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
    /// From a template (rule 15): its title filled from the parameters and context, its
    /// anchor tab (focused, never closed) and additional tabs, its panel mode.
    pub fn create_session(
        &mut self,
        caller: impl Into<ProviderCaller>,
        new: NewSession,
    ) -> DomainResult<SessionView<'_>> {
        let caller: ProviderCaller = caller.into();
        new.validate()?;
        self.acting_provider(caller.provider)?;
        let limits = self.agent_for_provider(caller, new.agent)?.limits;
        let open = self.desks.desk(new.agent).map_or(0, |desk| desk.open.len());
        // As many entries as keys (or a few more when the context repeats a parameter): a
        // session lives long and its context rarely grows.
        let mut context =
            crate::domain::desks::Context::with_capacity(new.parameters.len() + new.context.len());
        let texts = |(key, value): (String, String)| (key.into(), value.into());
        context.extend(new.parameters.clone().into_iter().map(texts));
        context.extend(new.context.into_iter().map(texts));
        let id = SessionId::generate();
        let now = SystemTime::now();
        let mut title = new.title;
        let mut title_pattern = None;
        let mut tabs = Vec::new();
        let mut panel_mode = None;
        if !new.template.is_empty() {
            let (spec, tab_specs) = self.catalogue.session_template(&new.template)?;
            for name in new.tab_parameters.keys() {
                if !tab_specs.iter().any(|(tab, _)| tab == name) {
                    return Err(DomainError::new(
                        Reason::TemplateNotFound,
                        format!(
                            "tab_parameters names {name}, which session template {} does not open; name one of its tab templates",
                            new.template
                        ),
                    )
                    .with("template", name));
                }
            }
            let dictionary = Dictionary {
                parameters: &new.parameters,
                context: &context,
            };
            if title.is_empty() {
                title = dictionary.title(&spec.title, &new.template);
                title_pattern = slug::has_slugs(&spec.title).then(|| spec.title.clone());
            }
            let no_overrides = BTreeMap::new();
            for (index, (name, tab_spec)) in tab_specs.iter().enumerate() {
                let overrides = new.tab_parameters.get(*name).unwrap_or(&no_overrides);
                let field = format!("tab_parameters[{name}]");
                let mut tab = draft_tab(
                    name,
                    tab_spec,
                    overrides,
                    &context,
                    &field,
                    &self.settings.urls,
                )?
                .into_tab(id, caller.provider, now);
                if index == 0 && spec.anchor_tab.is_some() {
                    (tab.anchor, tab.can_close) = (true, false);
                }
                tabs.push(Arc::new(tab));
            }
            if tabs.len() > limits.max_tabs_per_session as usize {
                return Err(DomainError::new(
                    Reason::TabLimitReached,
                    format!(
                        "session template {} opens {} tabs; agent {} may have at most {} per session",
                        new.template,
                        tabs.len(),
                        new.agent,
                        limits.max_tabs_per_session
                    ),
                )
                .with("limit", limits.max_tabs_per_session));
            }
            panel_mode = spec.panel_mode;
        }
        if open >= limits.max_open_sessions as usize {
            return Err(DomainError::new(
                Reason::SessionLimitReached,
                format!(
                    "agent {} already has {open} open sessions, the limit; the agent must close one first (CanCreateSession tells beforehand)",
                    new.agent
                ),
            )
            .with("agent_id", new.agent)
            .with("limit", limits.max_open_sessions));
        }
        let session = Session {
            id,
            agent: new.agent,
            kind: SessionKind::Provider(caller.provider),
            template: new.template.into(),
            title,
            title_pattern: title_pattern.map(Into::into),
            context: Arc::new(context),
            created: now,
            closed: None,
            focused_tab: tabs.first().map(|tab| tab.id),
            tabs: {
                tabs.shrink_to_fit();
                tabs
            },
            marks: Default::default(),
            version: 0,
        };
        let previous = self.desks.open(session);
        // Rule 6: the previous focused session's owner hears it lost focus, then the new
        // session is announced (with focus and its tabs).
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
        if let Some(mode) = panel_mode {
            // The new session is the caller's and has focus, so rule 10 lets it set the mode.
            self.apply_panel(new.agent, PanelChange::Mode(mode));
        }
        Ok(self.view(self.desks.session(id).expect("just opened")))
    }

    /// How many more sessions the agent's desk takes (rule 5).
    pub fn can_create_session(
        &self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
    ) -> DomainResult<CanCreate> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        let limit = self
            .agent_for_provider(caller, agent)?
            .limits
            .max_open_sessions;
        let open = self.desks.desk(agent).map_or(0, |desk| desk.open.len());
        let open = u32::try_from(open).unwrap_or(u32::MAX);
        Ok(CanCreate {
            remaining: limit.saturating_sub(open),
            limit,
        })
    }

    /// One of the caller's sessions, or the home session of an agent it may act for. Anything
    /// else is the same NOT_FOUND as a session that does not exist (rule 2).
    pub fn provider_session(
        &self,
        caller: impl Into<ProviderCaller>,
        id: SessionId,
    ) -> DomainResult<SessionView<'_>> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        self.desks
            .session(id)
            .filter(|session| self.provider_sees(caller, session))
            .map(|session| self.view_for(session, Some(caller.provider)))
            .ok_or_else(|| DomainError::session_not_found(id))
    }

    /// The caller's own sessions in creation order, for one agent or all (rule 2).
    pub fn provider_sessions(
        &self,
        caller: impl Into<ProviderCaller>,
        agent: Option<AgentId>,
        show_closed: bool,
        after: Option<SessionId>,
        limit: usize,
    ) -> DomainResult<Page<SessionView<'_>, SessionId>> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        let entries = self
            .desks
            .owned_after(caller.provider, after)
            .filter(|session| agent.is_none_or(|agent| session.agent == agent))
            .filter(|session| show_closed || session.is_open())
            .filter(|session| self.provider_sees(caller, session))
            .map(|session| (session.id, self.view(session)));
        Ok(paging::collect(entries, limit))
    }

    /// Which session has the agent's focus, as far as the caller may know (rule 2).
    pub fn focused_session(
        &self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
    ) -> DomainResult<FocusedSession> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        let desk = self.desks.desk(agent).expect("every agent has a desk");
        Ok(if desk.focused == desk.home {
            FocusedSession::Home(desk.home)
        } else if self.desks.session(desk.focused).and_then(Session::owner) == Some(caller.provider)
        {
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
                    self.agent_for_provider((*provider).into(), *agent)?;
                }
                Ok(())
            }
            Scope::Agent(agent) => self.agent(*agent).map(drop),
            Scope::Everything(_) => Ok(()),
        }
    }

    /// The caller's open sessions, on the given desks or all, in creation order: a provider's
    /// snapshot.
    pub fn provider_open_sessions(
        &self,
        caller: impl Into<ProviderCaller>,
        agents: Option<&std::collections::BTreeSet<AgentId>>,
    ) -> DomainResult<Vec<SessionView<'_>>> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        Ok(self
            .desks
            .owned_after(caller.provider, None)
            .filter(|session| session.is_open() && self.provider_sees(caller, session))
            .filter(|session| agents.is_none_or(|agents| agents.contains(&session.agent)))
            .map(|session| self.view(session))
            .collect())
    }

    /// Home sessions holding tabs the caller opened (each shown with those tabs only), on the
    /// given desks or all: part of a provider's snapshot.
    pub fn provider_home_tabs(
        &self,
        caller: impl Into<ProviderCaller>,
        agents: Option<&std::collections::BTreeSet<AgentId>>,
    ) -> Vec<SessionView<'_>> {
        let caller: ProviderCaller = caller.into();
        self.desks
            .homes_with_tabs_of(caller.provider)
            .into_iter()
            .filter(|home| {
                caller.reaches(home.agent)
                    && self.admits(home.agent, caller.provider)
                    && agents.is_none_or(|agents| agents.contains(&home.agent))
            })
            .map(|home| self.view_for(home, Some(caller.provider)))
            .collect()
    }
}
