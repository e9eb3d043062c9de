//! The error of a failed call: the gRPC status with the server's machine-readable details.

use std::collections::HashMap;
use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `ErrorInfo.domain` of every error cifd's own code produces.
pub const REASON_DOMAIN: &str = "cif.v1";

/// gRPC's name of a status code, as in the gRPC specification (`INVALID_ARGUMENT`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A failed call. Branch on [`Error::code`] for the kind of failure and on [`Error::reason`]
/// for the exact cause: reasons are stable SCREAMING_SNAKE_CASE names such as
/// `SESSION_NOT_FOUND` or `SESSION_LIMIT_REACHED`. Transport refusals (a message over the size
/// limit, a connection that failed) have a code but no reason.
#[derive(Clone)]
pub struct Error(Box<Inner>);

#[derive(Clone)]
struct Inner {
    status: Status,
    details: ErrorDetails,
}

impl Error {
    /// The gRPC status code.
    pub fn code(&self) -> Code {
        self.0.status.code()
    }

    /// The stable reason from the server's `google.rpc.ErrorInfo`, when its code produced the
    /// error (domain `cif.v1`).
    pub fn reason(&self) -> Option<&str> {
        self.0
            .details
            .error_info()
            .filter(|info| info.domain == REASON_DOMAIN)
            .map(|info| info.reason.as_str())
    }

    /// The `ErrorInfo` metadata: every value the message mentions, by name.
    pub fn metadata(&self) -> HashMap<String, String> {
        self.0
            .details
            .error_info()
            .map(|info| info.metadata.clone())
            .unwrap_or_default()
    }

    /// The human-readable message: what was wrong and what to do.
    pub fn message(&self) -> &str {
        self.0.status.message()
    }

    /// The fields an INVALID_ARGUMENT named, each with what is wrong with it.
    pub fn field_violations(&self) -> &[FieldViolation] {
        self.0
            .details
            .bad_request()
            .map(|bad_request| bad_request.field_violations.as_slice())
            .unwrap_or_default()
    }

    /// How long the server asks to wait before calling again (`google.rpc.RetryInfo`): a call
    /// refused for going over its rate (`RATE_LIMITED`) or shed by a busy server
    /// (`SERVER_OVERLOADED`) says so.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.0.details.retry_info()?.retry_delay
    }

    /// Whose quota the call went over, and what it is (`google.rpc.QuotaFailure`).
    pub fn quota_violations(&self) -> Vec<(String, String)> {
        self.0
            .details
            .quota_failure()
            .map(|failure| {
                failure
                    .violations
                    .iter()
                    .map(|violation| (violation.subject.clone(), violation.description.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The status as received.
    pub fn status(&self) -> &Status {
        &self.0.status
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        Self(Box::new(Inner { status, details }))
    }
}

impl From<tonic::transport::Error> for Error {
    fn from(error: tonic::transport::Error) -> Self {
        Status::unavailable(format!("cannot reach the server: {error}")).into()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.code())
            .field("reason", &self.reason())
            .field("message", &self.message())
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "{:?} ({reason}): {}", self.code(), self.message()),
            None => write!(f, "{:?}: {}", self.code(), self.message()),
        }
    }
}

impl std::error::Error for Error {}
