//! The one error type of the domain. Every refusal has a [`Reason`]; the reason alone decides
//! the [`ErrorClass`] (and so the gRPC code, mapped in `api::status`), so a reason means the
//! same thing wherever it appears.

use std::fmt;

/// Why a call was refused: a stable name clients branch on (`ErrorInfo.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    // --- who is calling
    /// No `authorization: Bearer <credential>` header.
    CredentialMissing,
    /// The credential is unknown, revoked by rotation, or its principal was deleted.
    CredentialInvalid,
    /// A valid credential used on another role's service.
    RoleNotAllowed,
    /// The calling provider has been deactivated.
    ProviderInactive,

    // --- malformed requests (checked without looking anything up)
    /// A required field is empty.
    FieldRequired,
    /// A text field is longer than its limit.
    FieldTooLong,
    /// A number is outside its allowed range.
    FieldOutOfRange,
    /// A field has the wrong form: not a UUID, not https, not a unique name...
    FieldMalformed,
    /// A field named in an update that cannot be changed that way.
    FieldImmutable,
    /// A page token that this server did not issue for this query.
    PageTokenInvalid,
    /// A field this caller may not give on this call: a provider's `expected_version` of a
    /// desk or of the home session, which change with other providers' work (rule 19).
    FieldNotAllowed,

    // --- resources as the caller may see them
    /// No such provider.
    ProviderNotFound,
    /// No such agent, or one the calling provider may not act for.
    AgentNotFound,
    /// No such session, or one the calling provider does not own.
    SessionNotFound,
    /// No such tab, or one the calling provider may not touch.
    TabNotFound,
    /// No configured presence with that id or text.
    PresenceNotFound,
    /// No operator credential has this id (it may have been revoked).
    OperatorCredentialNotFound,
    /// No such pending toast of the caller's.
    NotificationNotFound,
    /// No template of that unique name.
    TemplateNotFound,

    // --- conflicts and state
    /// The provider unique name is taken.
    UniqueNameTaken,
    /// A presence with this id exists.
    PresenceIdTaken,
    /// A presence with this text exists.
    PresenceTextTaken,
    /// A notification id already used for a different toast.
    NotificationIdReused,
    /// A template of any kind already has that unique name.
    TemplateNameTaken,
    /// The template named is of another kind than the call needs.
    TemplateKindMismatch,
    /// The template is named by another template (a session template's tabs).
    TemplateInUse,
    /// A session's anchor tab: nobody closes it.
    AnchorTabNotClosable,
    /// The configuration file declares it: change the file instead.
    ManagedByConfig,
    /// A request id already used for a different request.
    RequestIdReused,
    /// An `expected_version` that is not the resource's version any more.
    VersionMismatch,
    /// Deleting an agent that still has open sessions, without force.
    AgentHasOpenSessions,
    /// Closing the home session.
    HomeSessionNotClosable,
    /// Switching to or closing a session that is already closed.
    SessionNotOpen,
    /// The agent closing a tab that cannot be closed.
    TabNotClosable,
    /// A provider setting the panel in home while the agent has several providers.
    HomeSessionModeUnsupported,
    /// A provider setting the panel while another provider's session has focus.
    FocusedSessionNotOwned,
    /// A toast for a desk nobody is looking at.
    DeskOffline,
    /// Answering a toast that waits in the queue.
    NotificationNotShown,
    /// Rejecting a toast that offers no reject button.
    RejectNotOffered,
    /// Click-to-act while the active provider has outbound off.
    ClickToActDisabled,
    /// An agent's event or click with no provider to go to.
    NoActiveProvider,

    // --- resuming streams
    /// The resume point is older than the history the server keeps.
    ResumePointCompacted,
    /// The resume point names another log (the server's state started afresh).
    LogChanged,
    /// The resume point is after the newest event of the log.
    ResumePointAhead,
    /// The stream's provider was admitted again on a desk whose events it missed meanwhile
    /// (rule 18): it resynchronises from a snapshot.
    ProviderReadmitted,

    // --- limits
    /// The agent's desk is at its open-session limit.
    SessionLimitReached,
    /// The session is at its tab limit.
    TabLimitReached,
    /// The caller has as many streams open as it may.
    StreamLimitReached,
    /// A stream fell too far behind and was ended.
    SubscriberLagged,
    /// The caller (or, without a valid credential, its address) made more calls than its
    /// rate allows; retry after the delay given.
    RateLimited,

    // --- the server
    /// The server is stopping; streams end with this.
    ServerShuttingDown,
    /// A replica cannot take a change now: no writer is known (one is taking over) or it
    /// cannot be reached.
    WriterUnavailable,
    /// The server has as many calls in flight as it takes; retry after the delay given.
    ServerOverloaded,
    /// The caller's deadline passed while its toast was still pending.
    NotificationStillPending,
}

/// The kind of failure, one per gRPC status code the server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Unauthenticated,
    PermissionDenied,
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    ResourceExhausted,
    OutOfRange,
    Unavailable,
    DeadlineExceeded,
    Aborted,
}

impl Reason {
    /// The wire name (`ErrorInfo.reason`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::CredentialMissing => "CREDENTIAL_MISSING",
            Reason::CredentialInvalid => "CREDENTIAL_INVALID",
            Reason::RoleNotAllowed => "ROLE_NOT_ALLOWED",
            Reason::ProviderInactive => "PROVIDER_INACTIVE",
            Reason::FieldRequired => "FIELD_REQUIRED",
            Reason::FieldTooLong => "FIELD_TOO_LONG",
            Reason::FieldOutOfRange => "FIELD_OUT_OF_RANGE",
            Reason::FieldMalformed => "FIELD_MALFORMED",
            Reason::FieldImmutable => "FIELD_IMMUTABLE",
            Reason::PageTokenInvalid => "PAGE_TOKEN_INVALID",
            Reason::FieldNotAllowed => "FIELD_NOT_ALLOWED",
            Reason::ProviderNotFound => "PROVIDER_NOT_FOUND",
            Reason::AgentNotFound => "AGENT_NOT_FOUND",
            Reason::SessionNotFound => "SESSION_NOT_FOUND",
            Reason::TabNotFound => "TAB_NOT_FOUND",
            Reason::PresenceNotFound => "PRESENCE_NOT_FOUND",
            Reason::OperatorCredentialNotFound => "OPERATOR_CREDENTIAL_NOT_FOUND",
            Reason::NotificationNotFound => "NOTIFICATION_NOT_FOUND",
            Reason::TemplateNotFound => "TEMPLATE_NOT_FOUND",
            Reason::TemplateNameTaken => "TEMPLATE_NAME_TAKEN",
            Reason::TemplateKindMismatch => "TEMPLATE_KIND_MISMATCH",
            Reason::TemplateInUse => "TEMPLATE_IN_USE",
            Reason::AnchorTabNotClosable => "ANCHOR_TAB_NOT_CLOSABLE",
            Reason::ManagedByConfig => "MANAGED_BY_CONFIG",
            Reason::PresenceIdTaken => "PRESENCE_ID_TAKEN",
            Reason::PresenceTextTaken => "PRESENCE_TEXT_TAKEN",
            Reason::NotificationIdReused => "NOTIFICATION_ID_REUSED",
            Reason::RequestIdReused => "REQUEST_ID_REUSED",
            Reason::VersionMismatch => "VERSION_MISMATCH",
            Reason::TabNotClosable => "TAB_NOT_CLOSABLE",
            Reason::HomeSessionModeUnsupported => "HOME_SESSION_MODE_UNSUPPORTED",
            Reason::FocusedSessionNotOwned => "FOCUSED_SESSION_NOT_OWNED",
            Reason::DeskOffline => "DESK_OFFLINE",
            Reason::NotificationNotShown => "NOTIFICATION_NOT_SHOWN",
            Reason::RejectNotOffered => "REJECT_NOT_OFFERED",
            Reason::ClickToActDisabled => "CLICK_TO_ACT_DISABLED",
            Reason::NoActiveProvider => "NO_ACTIVE_PROVIDER",
            Reason::TabLimitReached => "TAB_LIMIT_REACHED",
            Reason::UniqueNameTaken => "UNIQUE_NAME_TAKEN",
            Reason::AgentHasOpenSessions => "AGENT_HAS_OPEN_SESSIONS",
            Reason::HomeSessionNotClosable => "HOME_SESSION_NOT_CLOSABLE",
            Reason::SessionNotOpen => "SESSION_NOT_OPEN",
            Reason::ResumePointCompacted => "RESUME_POINT_COMPACTED",
            Reason::LogChanged => "LOG_CHANGED",
            Reason::ResumePointAhead => "RESUME_POINT_AHEAD",
            Reason::ProviderReadmitted => "PROVIDER_READMITTED",
            Reason::SessionLimitReached => "SESSION_LIMIT_REACHED",
            Reason::StreamLimitReached => "STREAM_LIMIT_REACHED",
            Reason::SubscriberLagged => "SUBSCRIBER_LAGGED",
            Reason::RateLimited => "RATE_LIMITED",
            Reason::ServerShuttingDown => "SERVER_SHUTTING_DOWN",
            Reason::WriterUnavailable => "WRITER_UNAVAILABLE",
            Reason::ServerOverloaded => "SERVER_OVERLOADED",
            Reason::NotificationStillPending => "NOTIFICATION_STILL_PENDING",
        }
    }

    /// The class of failure this reason belongs to.
    pub const fn class(self) -> ErrorClass {
        use Reason::*;
        match self {
            CredentialMissing | CredentialInvalid => ErrorClass::Unauthenticated,
            RoleNotAllowed | ProviderInactive => ErrorClass::PermissionDenied,
            FieldRequired | FieldTooLong | FieldOutOfRange | FieldMalformed | FieldImmutable
            | FieldNotAllowed | PageTokenInvalid => ErrorClass::InvalidArgument,
            ProviderNotFound
            | AgentNotFound
            | SessionNotFound
            | TabNotFound
            | PresenceNotFound
            | OperatorCredentialNotFound
            | NotificationNotFound
            | TemplateNotFound => ErrorClass::NotFound,
            UniqueNameTaken | PresenceIdTaken | PresenceTextTaken | NotificationIdReused
            | TemplateNameTaken => ErrorClass::AlreadyExists,
            AgentHasOpenSessions
            | HomeSessionNotClosable
            | SessionNotOpen
            | TabNotClosable
            | HomeSessionModeUnsupported
            | FocusedSessionNotOwned
            | DeskOffline
            | NotificationNotShown
            | RejectNotOffered
            | ClickToActDisabled
            | NoActiveProvider
            | RequestIdReused
            | TemplateKindMismatch
            | TemplateInUse
            | AnchorTabNotClosable
            | ManagedByConfig => ErrorClass::FailedPrecondition,
            ResumePointCompacted | LogChanged | ResumePointAhead | ProviderReadmitted => {
                ErrorClass::OutOfRange
            }
            SessionLimitReached | TabLimitReached | StreamLimitReached | SubscriberLagged
            | RateLimited => ErrorClass::ResourceExhausted,
            ServerShuttingDown | WriterUnavailable | ServerOverloaded => ErrorClass::Unavailable,
            VersionMismatch => ErrorClass::Aborted,
            NotificationStillPending => ErrorClass::DeadlineExceeded,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `provider.channel_url` or `context["k"]`.
    pub field: String,
    /// What is wrong with it.
    pub reason: Reason,
    /// What is wrong and what to do, for people.
    pub description: String,
}

/// A refused call: the reason, a message saying what was wrong and what to do, the values
/// the message mentions (as `ErrorInfo.metadata`), and for malformed requests every bad field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct DomainError {
    pub reason: Reason,
    pub message: String,
    pub metadata: Vec<(&'static str, String)>,
    pub violations: Vec<FieldViolation>,
    /// When to call again, for a refusal that passes with time.
    pub retry: Option<Box<RetryLater>>,
}

/// When to call again (`google.rpc.RetryInfo`), and the quota the call went over
/// (`google.rpc.QuotaFailure`) if a quota refused it rather than the server's load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryLater {
    pub after: std::time::Duration,
    pub quota: Option<QuotaExceeded>,
}

/// A quota a call went over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    /// Whose quota it is.
    pub subject: String,
    /// What the quota is.
    pub description: String,
}

impl DomainError {
    /// A refusal with a message and no metadata.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            metadata: Vec::new(),
            violations: Vec::new(),
            retry: None,
        }
    }

    /// Says when to call again, and the quota gone over if there is one.
    pub fn retry_after(mut self, after: std::time::Duration, quota: Option<QuotaExceeded>) -> Self {
        self.retry = Some(Box::new(RetryLater { after, quota }));
        self
    }

    /// Adds a value the message mentions.
    pub fn with(mut self, key: &'static str, value: impl ToString) -> Self {
        self.metadata.push((key, value.to_string()));
        self
    }

    /// The class of failure.
    pub fn class(&self) -> ErrorClass {
        self.reason.class()
    }

    /// A malformed request: its reason is the first violation's, and the message lists all.
    pub fn invalid(violations: Vec<FieldViolation>) -> Self {
        let first = violations
            .first()
            .expect("an invalid-argument error names at least one field");
        let message = violations
            .iter()
            .map(|violation| violation.description.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            reason: first.reason,
            metadata: vec![("field", first.field.clone())],
            message,
            violations,
            retry: None,
        }
    }

    pub fn session_not_found(id: impl fmt::Display) -> Self {
        Self::new(
            Reason::SessionNotFound,
            format!(
                "session {id} not found; check the id (a provider sees only the sessions it created)"
            ),
        )
        .with("session_id", id)
    }

    pub fn agent_not_found(id: impl fmt::Display) -> Self {
        Self::new(
            Reason::AgentNotFound,
            format!(
                "agent {id} not found; check the id (a provider sees only agents whose profile includes it)"
            ),
        )
        .with("agent_id", id)
    }

    /// Rule 18: a provider stream that missed a desk's events while the desk did not admit
    /// the provider cannot go on without a gap.
    pub fn provider_readmitted(agent: impl fmt::Display) -> Self {
        Self::new(
            Reason::ProviderReadmitted,
            format!(
                "agent {agent} admits this provider again, and this stream missed what happened on that desk meanwhile; subscribe again with snapshot = true (or read the state and subscribe from the sequence it carries)"
            ),
        )
        .with("agent_id", agent)
    }

    pub fn notification_not_found(id: impl fmt::Display) -> Self {
        Self::new(
            Reason::NotificationNotFound,
            format!(
                "no pending toast {id}; it may have ended already (answered, timed out or cancelled)"
            ),
        )
        .with("notification_id", id)
    }

    pub fn provider_not_found(id: impl fmt::Display) -> Self {
        Self::new(
            Reason::ProviderNotFound,
            format!("provider {id} not found; ListProviders shows the providers that exist"),
        )
        .with("provider_id", id)
    }
}

/// Refuses to change what the configuration file declares (`MANAGED_BY_CONFIG`).
pub fn refuse_if_managed(managed: bool, what: &str, name: &str) -> DomainResult<()> {
    if managed {
        return Err(DomainError::new(
            Reason::ManagedByConfig,
            format!(
                "{what} {name} is declared in the configuration file; change it there and restart cifd"
            ),
        )
        .with("name", name));
    }
    Ok(())
}

/// What every domain operation returns.
pub type DomainResult<T> = Result<T, DomainError>;
