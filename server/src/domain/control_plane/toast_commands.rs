//! Toasts (rule 12) as the control plane takes them: who may raise, cancel and answer one,
//! on which desk, from which template, and who hears what the toasts part reports.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, NotificationId, ProviderId};

use super::ControlPlane;
use crate::domain::catalogue::{Dictionary, toast_content};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::principal::ProviderCaller;
use crate::domain::toasts::{Canceller, NewToast, Raised, Resolution, Toast, ToastKey};

impl ControlPlane {
    /// NotifyEvent: queues a toast (showing it if the desk is free and connected), or ends it
    /// at once when the queue is full. A retry with the same id gets the same toast.
    pub fn raise_toast(
        &mut self,
        caller: impl Into<ProviderCaller>,
        new: NewToast,
        now: SystemTime,
    ) -> DomainResult<Raised> {
        let caller: ProviderCaller = caller.into();
        new.validate()?;
        self.acting_provider(caller.provider)?;
        let agent = self.agent_for_provider(caller, new.agent)?;
        let limit = agent.limits.max_queued_notifications as usize;
        let key = ToastKey {
            provider: caller.provider,
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
        if let Some(toast) = self.toasts.pending(&key) {
            return if toast.is_same_request(&new) {
                Ok(Raised::Pending(key))
            } else {
                Err(reused())
            };
        }
        if let Some((toast, resolution)) = self.toasts.resolved(&key) {
            return if toast.is_same_request(&new) {
                Ok(Raised::Resolved(*resolution))
            } else {
                Err(reused())
            };
        }
        if let Some(session) = new.session {
            let record = self
                .desks
                .session(session)
                .filter(|record| {
                    record.owner() == Some(caller.provider) && record.agent == new.agent
                })
                .ok_or_else(|| DomainError::session_not_found(session))?;
            if !record.is_open() {
                return Err(Self::session_not_open(session));
            }
        }
        let content = if new.template.is_empty() {
            new.content.clone()
        } else {
            let no_context = crate::domain::desks::Context::new();
            let context = new
                .session
                .and_then(|session| self.desks.session(session))
                .map_or(&no_context, |session| &session.context);
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
        if !self.toasts.online(new.agent, now) {
            return Err(DomainError::new(
                Reason::DeskOffline,
                format!(
                    "agent {}'s desk is offline (no open stream for longer than {:?}), so nobody would see the toast; try again when the agent is connected",
                    new.agent,
                    self.toasts.grace()
                ),
            )
            .with("agent_id", new.agent));
        }
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
            queued: 0,
        };
        let (raised, happened) = self.toasts.raise(toast, limit, now);
        self.record(happened);
        Ok(raised)
    }

    /// CancelEvent: ends one of the caller's pending toasts; a toast that already ended keeps
    /// its outcome. A toast on a desk that no longer admits the caller looks missing (rule 18).
    pub fn cancel_toast(
        &mut self,
        caller: impl Into<ProviderCaller>,
        id: NotificationId,
        now: SystemTime,
    ) -> DomainResult<Resolution> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        let key = ToastKey {
            provider: caller.provider,
            id,
        };
        let visible = self
            .toasts
            .desk_of(&key)
            .is_some_and(|agent| caller.reaches(agent) && self.admits(agent, caller.provider));
        if !visible {
            return Err(DomainError::notification_not_found(id));
        }
        let (resolution, happened) = self.toasts.cancel(key, now)?;
        self.record(happened);
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
        let (resolution, happened) = self.toasts.respond(agent, key, accept, now)?;
        self.record(happened);
        Ok(resolution)
    }

    /// The earliest moment a toast ends by itself.
    pub fn next_toast_deadline(&self) -> Option<SystemTime> {
        self.toasts.next_deadline()
    }

    /// Ends the toasts whose time is up.
    pub fn expire_toasts(&mut self, now: SystemTime) {
        let happened = self.toasts.expire(now);
        self.record(happened);
    }

    /// An agent's desktop opened a stream: the desk is online, and its first waiting toast
    /// comes on screen.
    pub fn desk_connected(&mut self, agent: AgentId, now: SystemTime) {
        if self.desks.desk(agent).is_some() {
            let happened = self.toasts.connected(agent, now);
            self.record(happened);
        }
    }

    /// An agent's desktop closed a stream; with none left, the grace period starts.
    pub fn desk_disconnected(&mut self, agent: AgentId, now: SystemTime) {
        self.toasts.disconnected(agent, now);
    }

    /// Cancels the pending toasts `doomed` selects (on one desk when `desk` is given).
    pub(super) fn cancel_toasts(
        &mut self,
        canceller: Canceller,
        now: SystemTime,
        desk: Option<AgentId>,
        doomed: impl Fn(&Toast) -> bool,
    ) {
        let happened = self.toasts.cancel_where(canceller, now, desk, doomed);
        self.record(happened);
    }

    /// A provider's pending toasts on desks that admit it, for its snapshot.
    pub fn provider_pending_toasts(&self, provider: ProviderId) -> Vec<&Toast> {
        self.toasts
            .raised_by(provider)
            .into_iter()
            .filter(|toast| self.admits(toast.agent, provider))
            .collect()
    }
}
