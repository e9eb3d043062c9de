//! How the store says a file cannot be used: what went wrong with which file, and what the
//! operator can do about it.

use rusqlite::ErrorCode;

use crate::app::StoreError;

/// What to do about a file that cannot be used.
pub(super) const WHAT_TO_DO: &str = "restore a backup into an empty data directory (`cifd restore`), or move the data directory away to start empty";

/// A clear message for an SQLite failure on `shown`.
pub(super) fn describe(shown: &str, error: rusqlite::Error) -> StoreError {
    let code = error.sqlite_error_code();
    let what = match code {
        Some(ErrorCode::NotADatabase) => "is not a cifd database (not even SQLite)".to_owned(),
        Some(ErrorCode::DatabaseCorrupt) => "is corrupt".to_owned(),
        Some(ErrorCode::CannotOpen) => "cannot be opened".to_owned(),
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => "cannot be written".to_owned(),
        _ => "cannot be read".to_owned(),
    };
    StoreError::Unusable(format!("{shown} {what} ({error}); {WHAT_TO_DO}"))
}
