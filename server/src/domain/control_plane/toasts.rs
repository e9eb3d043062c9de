//! Toasts (rule 12): one on screen per desk, a bounded queue behind it, countdowns that start
//! when a toast is shown, a queue time limit, and every way a toast ends. The caller of
//! NotifyEvent waits outside the domain; the domain says when a toast ends with a
//! NotificationResolved event.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, NotificationId, ProviderId};

use super::ControlPlane;
use crate::domain::catalogue::{Dictionary, toast_content};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::{EventKind, ToastSnapshot};
use crate::domain::toast::{Canceller, NewToast, Outcome, Raised, Resolution, Toast, ToastKey};

impl ControlPlane {
    /// NotifyEvent: queues a toast (showing it if the desk is free and connected), or ends it
    /// at once when the queue is full. A retry with the same id gets the same toast.
    pub fn raise_toast(
        &mut self,
        caller: ProviderId,
        new: NewToast,
        now: SystemTime,
    ) -> DomainResult<Raised> {
        new.validate()?;
        self.acting_provider(caller)?;
        let agent = self.agent_for_provider(caller, new.agent)?;
        let key = ToastKey {
            provider: caller,
            id: new.id,
        };
        let reused = || {
            DomainError::new(
                Reason::NotificationIdReused,
                format!(
                    "notification_id {} was already used for a different toast; give each toast a new UUID (reuse an id only to wait for the same toast again)",
                    new.id
                ),
            )
            .with("notification_id", new.id)
        };
        if let Some(toast) = self.toasts.get(&key) {
            return if toast.is_same_request(&new) {
                Ok(Raised::Pending(key))
            } else {
                Err(reused())
            };
        }
        if let Some((toast, resolution)) = self.resolved_toasts.get(&key) {
            return if toast.is_same_request(&new) {
                Ok(Raised::Resolved(*resolution))
            } else {
                Err(reused())
            };
        }
        if let Some(session) = new.session {
            let record = self
                .sessions
                .get(&session)
                .filter(|record| record.owner() == Some(caller) && record.agent == new.agent)
                .ok_or_else(|| DomainError::session_not_found(session))?;
            if !record.is_open() {
                return Err(Self::session_not_open(session));
            }
        }
        let content = if new.template.is_empty() {
            new.content.clone()
        } else {
            let no_context = crate::domain::desk::Context::new();
            let context = new
                .session
                .map_or(&no_context, |session| &self.sessions[&session].context);
            let dictionary = Dictionary {
                parameters: &new.parameters,
                context,
            };
            let spec = self.catalogue.notification_template(&new.template)?;
            let mut content = toast_content(spec, &new.template, dictionary);
            if !new.content.title.is_empty() {
                content.title = new.content.title.clone();
            }
            content
        };
        let desk = &agent.desk;
        if !desk.online(now, self.settings.desk_grace) {
            return Err(DomainError::new(
                Reason::DeskOffline,
                format!(
                    "agent {}'s desk is offline (no open stream for longer than {:?}), so nobody would see the toast; try again when the agent is connected",
                    new.agent, self.settings.desk_grace
                ),
            )
            .with("agent_id", new.agent));
        }
        let full = desk.toasts.len() >= agent.limits.max_queued_notifications as usize;
        let toast = Toast {
            key,
            agent: new.agent,
            session: new.session,
            content,
            requested_title: if new.template.is_empty() {
                String::new()
            } else {
                new.content.title
            },
            template: new.template,
            parameters: new.parameters,
            raised: now,
            shown: None,
        };
        if full {
            let resolution = self.remember_resolution(toast, Outcome::QueueFull);
            return Ok(Raised::Resolved(resolution));
        }
        if let Some(deadline) = toast.deadline() {
            self.toast_deadlines.insert((deadline, key));
            self.effects.deadlines_changed = true;
        }
        self.toasts.insert(key, toast);
        self.agents
            .get_mut(&new.agent)
            .expect("checked above")
            .desk
            .toasts
            .push_back(key);
        self.show_next(new.agent, now);
        Ok(match self.resolved_toasts.get(&key) {
            Some((_, resolution)) => Raised::Resolved(*resolution),
            None => Raised::Pending(key),
        })
    }

    /// How a toast ended, if it did.
    pub fn toast_resolution(&self, key: ToastKey) -> Option<Resolution> {
        self.resolved_toasts
            .get(&key)
            .map(|(_, resolution)| *resolution)
    }

    /// CancelEvent: ends one of the caller's pending toasts; a toast that already ended keeps
    /// its outcome.
    pub fn cancel_toast(
        &mut self,
        caller: ProviderId,
        id: NotificationId,
        now: SystemTime,
    ) -> DomainResult<Resolution> {
        self.acting_provider(caller)?;
        let key = ToastKey {
            provider: caller,
            id,
        };
        // A toast on a desk that no longer admits the caller looks missing (rule 18).
        let visible = |agent: &AgentId| self.admits(*agent, caller);
        if let Some((toast, resolution)) = self.resolved_toasts.get(&key)
            && visible(&toast.agent)
        {
            return Ok(*resolution);
        }
        let agent = self
            .toasts
            .get(&key)
            .map(|toast| toast.agent)
            .filter(visible)
            .ok_or_else(|| notification_not_found(id))?;
        let resolution = self.finish(key, Outcome::Cancelled(Canceller::Provider));
        self.show_next(agent, now);
        Ok(resolution)
    }

    /// RespondToNotification: the agent accepts or rejects the toast on screen.
    pub fn respond_to_toast(
        &mut self,
        agent: AgentId,
        key: ToastKey,
        accept: bool,
        now: SystemTime,
    ) -> DomainResult<Resolution> {
        self.agent(agent)?;
        let toast = self
            .toasts
            .get(&key)
            .filter(|toast| toast.agent == agent)
            .ok_or_else(|| notification_not_found(key.id))?;
        if toast.shown.is_none() {
            return Err(DomainError::new(
                Reason::NotificationNotShown,
                format!(
                    "toast {} waits in the queue; answer the toast on screen first",
                    key.id
                ),
            )
            .with("notification_id", key.id));
        }
        if !accept && !toast.content.show_reject {
            return Err(DomainError::new(
                Reason::RejectNotOffered,
                format!(
                    "toast {} offers no reject button; accept it or let it time out",
                    key.id
                ),
            )
            .with("notification_id", key.id));
        }
        let outcome = if accept {
            Outcome::Accepted
        } else {
            Outcome::Declined
        };
        let resolution = self.finish(key, outcome);
        self.show_next(agent, now);
        Ok(resolution)
    }

    /// The earliest moment a toast ends by itself.
    pub fn next_toast_deadline(&self) -> Option<SystemTime> {
        self.toast_deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// Ends the toasts whose time is up: display timeout (or auto-accept) on screen, queue
    /// time limit while waiting.
    pub fn expire_toasts(&mut self, now: SystemTime) {
        let mut agents = Vec::new();
        while let Some(&(deadline, key)) = self.toast_deadlines.first() {
            if deadline > now {
                break;
            }
            let toast = &self.toasts[&key];
            let outcome = match (toast.shown.is_some(), toast.content.auto_accept) {
                (true, true) => Outcome::AutoAccepted,
                (true, false) => Outcome::DisplayTimeout,
                (false, _) => Outcome::QueueTimeLimitExceeded,
            };
            agents.push(toast.agent);
            self.finish(key, outcome);
        }
        for agent in agents {
            self.show_next(agent, now);
        }
    }

    /// An agent's desktop opened a stream: the desk is online, and its first waiting toast
    /// comes on screen.
    pub fn desk_connected(&mut self, agent: AgentId, now: SystemTime) {
        if let Some(record) = self.agents.get_mut(&agent) {
            record.desk.streams += 1;
            record.desk.offline_since = None;
            self.show_next(agent, now);
        }
    }

    /// An agent's desktop closed a stream; with none left, the grace period starts.
    pub fn desk_disconnected(&mut self, agent: AgentId, now: SystemTime) {
        if let Some(record) = self.agents.get_mut(&agent) {
            let desk = &mut record.desk;
            desk.streams = desk.streams.saturating_sub(1);
            if desk.streams == 0 {
                desk.offline_since = Some(now);
            }
        }
    }

    /// Cancels every pending toast `doomed` selects (on one desk when `desk` is given, which
    /// spares a look at every other desk's toasts), then lets each desk show its next one.
    pub(super) fn cancel_toasts(
        &mut self,
        canceller: Canceller,
        now: SystemTime,
        desk: Option<AgentId>,
        doomed: impl Fn(&Toast) -> bool,
    ) {
        let candidates: Vec<&Toast> = match desk {
            Some(agent) => self
                .agents
                .get(&agent)
                .map(|record| {
                    record
                        .desk
                        .toasts
                        .iter()
                        .map(|key| &self.toasts[key])
                        .collect()
                })
                .unwrap_or_default(),
            None => self.toasts.values().collect(),
        };
        let mut keys: Vec<(ToastKey, AgentId)> = candidates
            .into_iter()
            .filter(|toast| doomed(toast))
            .map(|toast| (toast.key, toast.agent))
            .collect();
        keys.sort();
        for (key, _) in &keys {
            self.finish(*key, Outcome::Cancelled(canceller));
        }
        let mut agents: Vec<AgentId> = keys.into_iter().map(|(_, agent)| agent).collect();
        agents.sort();
        agents.dedup();
        for agent in agents {
            self.show_next(agent, now);
        }
    }

    /// Shows the desk's first waiting toast if nothing is on screen and someone is connected;
    /// toasts that outlived the queue time limit end instead.
    fn show_next(&mut self, agent: AgentId, now: SystemTime) {
        loop {
            let Some(record) = self.agents.get(&agent) else {
                return;
            };
            let desk = &record.desk;
            let Some(&head) = desk.toasts.front() else {
                return;
            };
            if desk.streams == 0 || self.toasts[&head].shown.is_some() {
                return;
            }
            let toast = &self.toasts[&head];
            if toast.deadline().is_some_and(|deadline| deadline <= now) {
                self.finish(head, Outcome::QueueTimeLimitExceeded);
                continue;
            }
            if let Some(deadline) = toast.deadline() {
                self.toast_deadlines.remove(&(deadline, head));
            }
            let toast = self.toasts.get_mut(&head).expect("pending");
            toast.shown = Some(now);
            if let Some(deadline) = toast.deadline() {
                self.toast_deadlines.insert((deadline, head));
            }
            self.effects.deadlines_changed = true;
            let shown = ToastSnapshot(toast.clone());
            self.emit(agent, now, EventKind::NotificationShown { toast: shown });
            return;
        }
    }

    /// Ends a pending toast: off the desk and the deadlines, remembered, announced.
    fn finish(&mut self, key: ToastKey, outcome: Outcome) -> Resolution {
        let toast = self.toasts.remove(&key).expect("a pending toast");
        if let Some(deadline) = toast.deadline() {
            self.toast_deadlines.remove(&(deadline, key));
        }
        if let Some(record) = self.agents.get_mut(&toast.agent) {
            record.desk.toasts.retain(|pending| *pending != key);
        }
        self.remember_resolution(toast, outcome)
    }

    fn remember_resolution(&mut self, toast: Toast, outcome: Outcome) -> Resolution {
        let resolution = Resolution {
            outcome,
            time: SystemTime::now(),
        };
        let key = toast.key;
        let agent = toast.agent;
        self.emit(
            agent,
            resolution.time,
            EventKind::NotificationResolved {
                toast: ToastSnapshot(toast.clone()),
                resolution,
            },
        );
        self.resolved_toasts.insert(key, (toast, resolution));
        self.resolved_order.push_back(key);
        while self.resolved_order.len() > self.settings.resolved_toast_retention {
            if let Some(oldest) = self.resolved_order.pop_front() {
                self.resolved_toasts.remove(&oldest);
            }
        }
        resolution
    }

    /// A provider's pending toasts, for its snapshot.
    pub fn provider_pending_toasts(&self, provider: ProviderId) -> Vec<&Toast> {
        let mut toasts: Vec<&Toast> = self
            .toasts
            .values()
            .filter(|toast| toast.key.provider == provider && self.admits(toast.agent, provider))
            .collect();
        toasts.sort_by_key(|toast| (toast.raised, toast.key));
        toasts
    }
}

fn notification_not_found(id: NotificationId) -> DomainError {
    DomainError::new(
        Reason::NotificationNotFound,
        format!(
            "no pending toast {id}; it may have ended already (answered, timed out or cancelled)"
        ),
    )
    .with("notification_id", id)
}
