//! The one mapping from domain errors to gRPC statuses with `google.rpc.ErrorInfo` (and
//! `BadRequest` for malformed requests, `RetryInfo` for a refusal that passes with time, `QuotaFailure` for a quota gone over).

use std::collections::HashMap;

use cif_sdk::REASON_DOMAIN;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, QuotaViolation, StatusExt};

use crate::domain::{DomainError, ErrorClass};

fn code(class: ErrorClass) -> Code {
    match class {
        ErrorClass::Unauthenticated => Code::Unauthenticated,
        ErrorClass::PermissionDenied => Code::PermissionDenied,
        ErrorClass::InvalidArgument => Code::InvalidArgument,
        ErrorClass::NotFound => Code::NotFound,
        ErrorClass::AlreadyExists => Code::AlreadyExists,
        ErrorClass::FailedPrecondition => Code::FailedPrecondition,
        ErrorClass::ResourceExhausted => Code::ResourceExhausted,
        ErrorClass::OutOfRange => Code::OutOfRange,
        ErrorClass::Unavailable => Code::Unavailable,
        ErrorClass::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorClass::Aborted => Code::Aborted,
    }
}

/// The status a refused call answers with.
pub fn to_status(error: DomainError) -> Status {
    let metadata: HashMap<String, String> = error
        .metadata
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
    let mut details = ErrorDetails::with_error_info(error.reason.as_str(), REASON_DOMAIN, metadata);
    if !error.violations.is_empty() {
        details.set_bad_request(
            error
                .violations
                .into_iter()
                .map(|violation| FieldViolation {
                    field: violation.field,
                    description: violation.description,
                    reason: violation.reason.as_str().to_owned(),
                    localized_message: None,
                })
                .collect::<Vec<_>>(),
        );
    }
    if let Some(retry) = error.retry {
        details.set_retry_info(Some(retry.after));
        if let Some(quota) = retry.quota {
            details.set_quota_failure(vec![QuotaViolation::new(quota.subject, quota.description)]);
        }
    }
    Status::with_error_details(code(error.reason.class()), error.message, details)
}

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Self {
        to_status(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Reason;

    #[test]
    fn every_error_carries_its_reason_in_the_cif_domain() {
        let status = to_status(DomainError::session_not_found(
            "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11",
        ));
        assert_eq!(status.code(), Code::NotFound);
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "SESSION_NOT_FOUND");
        assert_eq!(info.domain, "cif.v1");
        assert_eq!(
            info.metadata["session_id"],
            "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11"
        );
    }

    #[test]
    fn malformed_requests_list_their_fields() {
        let mut violations = crate::domain::validate::Violations::new();
        violations.required_text("title", "", 200);
        let status = to_status(violations.finish().unwrap_err());
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad_request = status.get_details_bad_request().expect("BadRequest");
        assert_eq!(bad_request.field_violations[0].field, "title");
        assert_eq!(
            bad_request.field_violations[0].reason,
            Reason::FieldRequired.as_str()
        );
    }
}
