//! What a session's owner changes on it: marks for the agent's attention (rule 7), its title,
//! and its context (rule 14).

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::SessionId;

use super::plane::Changing;
use super::{ControlPlane, SessionView};
use crate::domain::catalogue::Dictionary;
use crate::domain::desks::FocusMark;
use crate::domain::desks::validate_title;
use crate::domain::error::{DomainResult, Reason};
use crate::domain::events::EventKind;
use crate::domain::principal::ProviderCaller;
use crate::domain::validate::{Violations, limits};

/// What a request for attention did: marked the session, or found it already in focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked {
    Marked,
    AlreadyFocused,
}

impl ControlPlane {
    fn mark_for_focus(
        &mut self,
        caller: ProviderCaller,
        session: SessionId,
        expected_version: Option<u64>,
        mark: FocusMark,
    ) -> DomainResult<Marked> {
        self.acting_provider(caller.provider)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        if self.desks.is_focused(session) {
            return Ok(Marked::AlreadyFocused);
        }
        self.desks.mark(session, mark);
        self.emit_marks(session);
        Ok(Marked::Marked)
    }

    fn emit_marks(&mut self, session: SessionId) {
        let agent = self.desks.session(session).expect("a session").agent;
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
        caller: impl Into<ProviderCaller>,
        session: SessionId,
        expected_version: Option<u64>,
        messages: u32,
    ) -> DomainResult<Marked> {
        let caller: ProviderCaller = caller.into();
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
        caller: impl Into<ProviderCaller>,
        session: SessionId,
        expected_version: Option<u64>,
        count: i32,
    ) -> DomainResult<Marked> {
        let caller: ProviderCaller = caller.into();
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
        caller: impl Into<ProviderCaller>,
        session: SessionId,
        expected_version: Option<u64>,
        reset: bool,
        details: String,
    ) -> DomainResult<()> {
        let caller: ProviderCaller = caller.into();
        let mut violations = Violations::new();
        violations.optional_text("details", &details, limits::KPI_DETAILS);
        violations.finish()?;
        self.acting_provider(caller.provider)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        if self
            .desks
            .set_kpi_breach(session, (!reset).then_some(details))
        {
            self.emit_marks(session);
        }
        Ok(())
    }

    /// Clears the marks a gain of focus clears (attention, new activity), telling the owner.
    pub(super) fn clear_focus_marks(&mut self, session: SessionId) {
        if self.desks.clear_focus_marks(session) {
            self.emit_marks(session);
        }
    }

    /// SetSessionTitle.
    pub fn set_session_title(
        &mut self,
        caller: impl Into<ProviderCaller>,
        session: SessionId,
        expected_version: Option<u64>,
        title: String,
    ) -> DomainResult<SessionView<'_>> {
        let caller: ProviderCaller = caller.into();
        validate_title(&title)?;
        self.acting_provider(caller.provider)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        if self.desks.set_title(session, title) {
            let agent = self.desks.session(session).expect("checked above").agent;
            let snapshot = self.snapshot(session);
            self.emit(
                agent,
                SystemTime::now(),
                EventKind::SessionRetitled { session: snapshot },
            );
        }
        Ok(self.view(self.desks.session(session).expect("checked above")))
    }

    /// UpdateSessionContext: sets and deletes keys; the result must stay within the limits.
    pub fn update_session_context(
        &mut self,
        caller: impl Into<ProviderCaller>,
        session: SessionId,
        expected_version: Option<u64>,
        set: BTreeMap<String, String>,
        delete: Vec<String>,
    ) -> DomainResult<SessionView<'_>> {
        let caller: ProviderCaller = caller.into();
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
        self.acting_provider(caller.provider)?;
        self.session_to_change(caller, session, Changing::Session, expected_version)?;
        let current = &self.desks.session(session).expect("checked above").context;
        let kept = current
            .keys()
            .filter(|key| !delete.iter().any(|deleted| deleted == key.as_str()))
            .count();
        let added = set
            .keys()
            .filter(|key| !current.contains_key(key.as_str()))
            .count();
        let keys_after = kept + added;
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
        let (set_keys, deleted) = self.desks.update_context(session, set, delete);
        if !set_keys.is_empty() || !deleted.is_empty() {
            let agent = self.desks.session(session).expect("checked above").agent;
            let snapshot = self.snapshot(session);
            self.emit(
                agent,
                SystemTime::now(),
                EventKind::SessionContextChanged {
                    session: snapshot,
                    set: set_keys.into(),
                    deleted: deleted.into(),
                },
            );
            self.refill_titles(session);
        }
        Ok(self.view(self.desks.session(session).expect("checked above")))
    }

    /// Fills again, from the session's context, the titles that came from templates with
    /// slugs (the session's and its tabs'), and announces those that changed.
    fn refill_titles(&mut self, session: SessionId) {
        let now = SystemTime::now();
        let refilled =
            self.desks
                .refill_titles(session, |pattern, template, parameters, context| {
                    Dictionary {
                        parameters,
                        context,
                    }
                    .title(pattern, template)
                });
        let record = self.desks.session(session).expect("a session");
        let (agent, focused_tab) = (record.agent, record.focused_tab);
        if refilled.session {
            let snapshot = self.snapshot(session);
            self.emit(agent, now, EventKind::SessionRetitled { session: snapshot });
        }
        for tab in refilled.tabs {
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
