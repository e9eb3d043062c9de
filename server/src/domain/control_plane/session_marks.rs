//! What a session's owner changes on it: marks for the agent's attention (rule 7), its title,
//! and its context (rule 14).

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{ProviderId, SessionId};

use super::{Changing, ControlPlane, SessionView};
use crate::domain::catalogue::Dictionary;
use crate::domain::error::{DomainResult, Reason};
use crate::domain::events::EventKind;
use crate::domain::tab::validate_title;
use crate::domain::validate::{Violations, limits};

/// What a request for attention did: marked the session, or found it already in focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    Marked,
    AlreadyFocused,
}

/// Which mark a provider sets.
#[derive(Debug, Clone, Copy)]
enum FocusMark {
    Attention { messages: u32 },
    NewActivity { count: u32 },
}

impl ControlPlane {
    fn is_focused(&self, session: SessionId) -> bool {
        self.sessions
            .get(&session)
            .and_then(|record| self.agents.get(&record.agent))
            .is_some_and(|agent| agent.desk.focused == session)
    }

    fn mark_for_focus(
        &mut self,
        caller: ProviderId,
        session: SessionId,
        expected_version: Option<u64>,
        mark: FocusMark,
    ) -> DomainResult<Marked> {
        self.acting_provider(caller)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        if self.is_focused(session) {
            return Ok(Marked::AlreadyFocused);
        }
        let record = self.sessions.get_mut(&session).expect("checked above");
        match mark {
            FocusMark::Attention { messages } => record.marks.attention = Some(messages),
            FocusMark::NewActivity { count } => record.marks.new_activity = Some(count),
        }
        self.emit_marks(session);
        Ok(Marked::Marked)
    }

    fn emit_marks(&mut self, session: SessionId) {
        let agent = self.sessions[&session].agent;
        let snapshot = self.snapshot(session);
        self.emit(
            agent,
            SystemTime::now(),
            EventKind::SessionMarksChanged { session: snapshot },
        );
    }

    /// RequestFocusSession: marks the session for attention; nothing switches.
    pub fn request_focus_session(
        &mut self,
        caller: ProviderId,
        session: SessionId,
        expected_version: Option<u64>,
        messages: u32,
    ) -> DomainResult<Marked> {
        self.mark_for_focus(
            caller,
            session,
            expected_version,
            FocusMark::Attention { messages },
        )
    }

    /// NotifyNewActivity: marks the session with a count of new activities.
    pub fn notify_new_activity(
        &mut self,
        caller: ProviderId,
        session: SessionId,
        expected_version: Option<u64>,
        count: i32,
    ) -> DomainResult<Marked> {
        let mut violations = Violations::new();
        violations.range("count", count, 0, i32::MAX);
        violations.finish()?;
        let count = u32::try_from(count).expect("checked above");
        self.mark_for_focus(
            caller,
            session,
            expected_version,
            FocusMark::NewActivity { count },
        )
    }

    /// NotifyKpiBreach: flags or resets a KPI breach; a switch does not clear it.
    pub fn notify_kpi_breach(
        &mut self,
        caller: ProviderId,
        session: SessionId,
        expected_version: Option<u64>,
        reset: bool,
        details: String,
    ) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.optional_text("details", &details, limits::KPI_DETAILS);
        violations.finish()?;
        self.acting_provider(caller)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        let record = self.sessions.get_mut(&session).expect("checked above");
        let new = (!reset).then_some(details);
        if record.marks.kpi_breach != new {
            record.marks.kpi_breach = new;
            self.emit_marks(session);
        }
        Ok(())
    }

    /// Clears the marks a gain of focus clears (attention, new activity), telling the owner.
    pub(super) fn clear_focus_marks(&mut self, session: SessionId) {
        let Some(record) = self.sessions.get_mut(&session) else {
            return;
        };
        let marks = &mut record.marks;
        if marks.attention.is_some() || marks.new_activity.is_some() {
            marks.attention = None;
            marks.new_activity = None;
            self.emit_marks(session);
        }
    }

    /// SetSessionTitle.
    pub fn set_session_title(
        &mut self,
        caller: ProviderId,
        session: SessionId,
        expected_version: Option<u64>,
        title: String,
    ) -> DomainResult<SessionView<'_>> {
        validate_title(&title)?;
        self.acting_provider(caller)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        let record = self.sessions.get_mut(&session).expect("checked above");
        // A title set as it is no longer follows the context.
        record.title_pattern = None;
        if record.title != title {
            record.title = title;
            let agent = record.agent;
            let snapshot = self.snapshot(session);
            self.emit(
                agent,
                SystemTime::now(),
                EventKind::SessionRetitled { session: snapshot },
            );
        }
        Ok(self.view(&self.sessions[&session]))
    }

    /// UpdateSessionContext: sets and deletes keys; the result must stay within the limits.
    pub fn update_session_context(
        &mut self,
        caller: ProviderId,
        session: SessionId,
        expected_version: Option<u64>,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
    ) -> DomainResult<SessionView<'_>> {
        let mut violations = Violations::new();
        violations.context("set", &set);
        for (index, key) in delete.iter().enumerate() {
            violations.required_text(&format!("delete[{index}]"), key, limits::CONTEXT_KEY);
            if set.contains_key(key) {
                violations.add(
                    format!("delete[{index}]"),
                    Reason::FieldMalformed,
                    format!("key {key:?} is both set and deleted; do one or the other"),
                );
            }
        }
        violations.finish()?;
        self.acting_provider(caller)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        let current = &self.sessions[&session].context;
        let keys_after = current
            .keys()
            .filter(|key| !delete.contains(key))
            .chain(set.keys().filter(|key| !current.contains_key(*key)))
            .count();
        if keys_after > limits::CONTEXT_KEYS {
            let mut violations = Violations::new();
            violations.add(
                "set",
                Reason::FieldOutOfRange,
                format!(
                    "the context would have {keys_after} keys; a session keeps at most {}, delete some first",
                    limits::CONTEXT_KEYS
                ),
            );
            violations.finish()?;
        }
        let record = self.sessions.get_mut(&session).expect("checked above");
        let deleted: Vec<String> = delete
            .into_iter()
            .filter(|key| record.context.remove(key).is_some())
            .collect();
        let set_keys: Vec<String> = set.keys().cloned().collect();
        record.context.extend(set);
        if !set_keys.is_empty() || !deleted.is_empty() {
            let agent = record.agent;
            let snapshot = self.snapshot(session);
            self.emit(
                agent,
                SystemTime::now(),
                EventKind::SessionContextChanged {
                    session: snapshot,
                    set: set_keys,
                    deleted,
                },
            );
            self.refill_titles(session);
        }
        Ok(self.view(&self.sessions[&session]))
    }

    /// Fills again, from the session's context, the titles that came from templates with
    /// slugs (the session's and its tabs'), and announces those that changed.
    fn refill_titles(&mut self, session: SessionId) {
        let now = SystemTime::now();
        let record = self
            .sessions
            .get_mut(&session)
            .expect("checked by the caller");
        let agent = record.agent;
        let no_parameters = BTreeMap::new();
        let session_dictionary = Dictionary {
            parameters: &no_parameters,
            context: &record.context,
        };
        let title = record
            .title_pattern
            .as_deref()
            .map(|pattern| session_dictionary.title(pattern, &record.template))
            .filter(|title| *title != record.title);
        let mut tab_titles = Vec::new();
        for (index, tab) in record.tabs.iter().enumerate() {
            let dictionary = Dictionary {
                parameters: &tab.parameters,
                context: &record.context,
            };
            if let Some(pattern) = &tab.title_pattern {
                let filled = dictionary.title(pattern, &tab.template);
                if filled != tab.title {
                    tab_titles.push((index, filled));
                }
            }
        }
        let retitled = title.is_some();
        if let Some(title) = title {
            record.title = title;
        }
        let focused_tab = record.focused_tab;
        let mut tabs = Vec::new();
        for (index, title) in tab_titles {
            record.tabs[index].title = title;
            tabs.push(record.tabs[index].clone());
        }
        if retitled {
            let snapshot = self.snapshot(session);
            self.emit(agent, now, EventKind::SessionRetitled { session: snapshot });
        }
        for tab in tabs {
            let focused = focused_tab == Some(tab.id);
            // Only a provider's own sessions have a context, so these tabs are not in home.
            self.emit(
                agent,
                now,
                EventKind::TabRetitled {
                    tab,
                    focused,
                    in_home: false,
                },
            );
        }
    }
}
