//! Toasts (rule 12): what a provider asks to show, how long it may wait and stay, and how it
//! ends.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cif_sdk::ids::{AgentId, NotificationId, ProviderId, SessionId};

use crate::domain::error::{DomainResult, Reason};
use crate::domain::validate::{Violations, limits};

/// A toast's identity: notification ids are the providers' own, so each provider has its
/// own space of them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ToastKey {
    pub provider: ProviderId,
    pub id: NotificationId,
}

/// What a toast shows, and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ToastContent {
    pub title: String,
    pub fields: Vec<(String, String)>,
    /// On screen once shown, and the longest wait in the queue; `None`: no limit.
    pub countdown: Option<Duration>,
    pub accept_text: String,
    pub show_reject: bool,
    pub reject_text: String,
    pub auto_accept: bool,
}

/// CIF's default countdown.
pub const DEFAULT_COUNTDOWN: Duration = Duration::from_secs(120);

/// A toast a provider raises: from a notification template, or with its contents given.
#[derive(Debug, Clone)]
pub struct NewToast {
    pub agent: AgentId,
    pub id: NotificationId,
    pub session: Option<SessionId>,
    /// Without a template, the toast; with one, only a title that replaces the template's.
    pub content: ToastContent,
    /// The notification template's unique name; empty: no template.
    pub template: String,
    /// With a template: slug values (before the session's context).
    pub parameters: BTreeMap<String, String>,
}

impl NewToast {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        let content = &self.content;
        violations.optional_text("template", &self.template, limits::TEMPLATE_NAME);
        if self.template.is_empty() {
            violations.required_text("title", &content.title, limits::TITLE);
            if !self.parameters.is_empty() {
                violations.add(
                    "parameters",
                    Reason::FieldMalformed,
                    "parameters fill a template's slugs; name a template, or leave parameters out",
                );
            }
        } else {
            violations.optional_text("title", &content.title, limits::TITLE);
            violations.context("parameters", &self.parameters);
        }
        if content.fields.len() > limits::NOTIFICATION_FIELDS {
            violations.add(
                "fields",
                Reason::FieldOutOfRange,
                format!(
                    "fields has {} entries; a toast shows at most {}",
                    content.fields.len(),
                    limits::NOTIFICATION_FIELDS
                ),
            );
        }
        for (index, (label, value)) in content.fields.iter().enumerate() {
            violations.required_text(&format!("fields[{index}].label"), label, limits::NAME);
            violations.optional_text(
                &format!("fields[{index}].value"),
                value,
                limits::NOTIFICATION_FIELD_VALUE,
            );
        }
        violations.optional_text("accept_text", &content.accept_text, limits::BUTTON_TEXT);
        violations.optional_text("reject_text", &content.reject_text, limits::BUTTON_TEXT);
        violations.finish()
    }
}

/// A toast waiting or on screen.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Toast {
    pub key: ToastKey,
    pub agent: AgentId,
    pub session: Option<SessionId>,
    pub content: ToastContent,
    /// The template it was made from (empty: none), with the call's parameters and title,
    /// so a retry is told from another toast by what was asked, not by what it became.
    #[serde(default)]
    pub template: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub requested_title: String,
    pub raised: SystemTime,
    /// When it came on screen; `None` while it waits.
    pub shown: Option<SystemTime>,
    /// Its place in its desk's queue: toasts queue in this order (the one on screen first).
    /// Toasts stored before it was recorded have 0 and queue by when they were raised.
    #[serde(default)]
    pub queued: u64,
}

impl Toast {
    /// When it ends by itself: the countdown's end on screen, the queue time limit while
    /// waiting, never without a countdown. An absolute time, so it survives a restart.
    pub fn deadline(&self) -> Option<SystemTime> {
        let countdown = self.content.countdown?;
        Some(self.shown.unwrap_or(self.raised) + countdown)
    }

    /// Whether `new` asks for this same toast (a retry) rather than another.
    pub fn is_same_request(&self, new: &NewToast) -> bool {
        let same_contents = if self.template.is_empty() {
            self.content == new.content
        } else {
            self.parameters == new.parameters && self.requested_title == new.content.title
        };
        self.agent == new.agent
            && self.session == new.session
            && self.template == new.template
            && same_contents
    }
}

/// What cancelled a toast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Canceller {
    Provider,
    SessionClosed,
    ProviderDeactivated,
    AgentDeleted,
    /// The agent no longer admits the provider (rule 18).
    ProviderNotAdmitted,
}

/// How a toast ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Accepted,
    AutoAccepted,
    Declined,
    DisplayTimeout,
    QueueFull,
    QueueTimeLimitExceeded,
    Cancelled(Canceller),
}

impl Outcome {
    /// CIF's actionName and responseReason.
    pub fn cif_names(self) -> (&'static str, &'static str) {
        match self {
            Outcome::Accepted => ("Accept", "Accept"),
            Outcome::AutoAccepted => ("Accept", "AutoAccept"),
            Outcome::Declined => ("Reject", "DeclinedByAgent"),
            Outcome::DisplayTimeout => ("Timeout", "DisplayTimeout"),
            Outcome::QueueFull => ("Reject", "NotificationQueueLimitExceeded"),
            Outcome::QueueTimeLimitExceeded => ("Reject", "NotificationQueueTimeLimitExceeded"),
            Outcome::Cancelled(_) => ("Cancel", "Cancelled"),
        }
    }
}

/// A toast's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resolution {
    pub outcome: Outcome,
    pub time: SystemTime,
}

/// What NotifyEvent leads to: an outcome at once, or a toast to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    Resolved(Resolution),
    Pending(ToastKey),
}
