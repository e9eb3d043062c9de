//! What every store shares: the state as rows (each changed record as its kind, its id and
//! its encoded body, none when it is gone; rows read back into the records they hold), and
//! times as the milliseconds the tables keep.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cif_sdk::ids::ProviderId;

use super::encoding::{DecodeError, Stored};
use crate::domain::control_plane::{Changes, Records};
use crate::domain::desks::Session;
use crate::domain::registry::{Holder, Issued};
use crate::domain::toasts::ToastKey;

/// One record's row: `body` is `None` when the record is gone.
pub struct Row {
    pub kind: &'static str,
    pub id: String,
    pub body: Option<Vec<u8>>,
}

/// The rows a command's changes write.
pub fn changed(changes: &Changes) -> Vec<Row> {
    let mut rows = Vec::new();
    keyed(
        &mut rows,
        "provider",
        &changes.providers,
        ToString::to_string,
        Stored::encode,
    );
    keyed(
        &mut rows,
        "agent",
        &changes.agents,
        ToString::to_string,
        Stored::encode,
    );
    keyed(
        &mut rows,
        "presence",
        &changes.presences,
        ToString::to_string,
        Stored::encode,
    );
    keyed(
        &mut rows,
        "template",
        &changes.templates,
        ToString::to_string,
        Stored::encode,
    );
    let deleted = |id: &ProviderId, name: &String| (*id, name.clone()).encode();
    rows.extend(changes.deleted_providers.iter().map(|(id, name)| Row {
        kind: "deleted_provider",
        id: id.to_string(),
        body: name.as_ref().map(|name| deleted(id, name)),
    }));
    let session = |session: &Arc<Session>| session.encode();
    keyed(
        &mut rows,
        "session",
        &changes.sessions,
        ToString::to_string,
        session,
    );
    let toast_id = |key: &ToastKey| format!("{}/{}", key.provider, key.id);
    keyed(
        &mut rows,
        "toast",
        &changes.toasts,
        toast_id,
        Stored::encode,
    );
    keyed(
        &mut rows,
        "resolved_toast",
        &changes.resolved_toasts,
        toast_id,
        Stored::encode,
    );
    keyed(
        &mut rows,
        "audit_entry",
        &changes.audit_entries,
        ToString::to_string,
        Stored::encode,
    );
    keyed(
        &mut rows,
        "operator_credential",
        &changes.operator_credentials,
        ToString::to_string,
        Stored::encode,
    );
    rows.extend(
        changes
            .widget_credentials
            .iter()
            .map(|(holder, issued)| Row {
                kind: "widget_credential",
                id: holder_id(holder),
                body: issued.map(|issued| (*holder, issued).encode()),
            }),
    );
    rows
}

/// A widget credential's row id: its agent and provider.
fn holder_id((agent, provider): &Holder) -> String {
    format!("{agent}/{provider}")
}

fn keyed<K, V>(
    rows: &mut Vec<Row>,
    kind: &'static str,
    records: &[(K, Option<V>)],
    id: impl Fn(&K) -> String,
    encode: impl Fn(&V) -> Vec<u8>,
) {
    rows.extend(records.iter().map(|(key, value)| Row {
        kind,
        id: id(key),
        body: value.as_ref().map(&encode),
    }));
}

/// Why a stored row is not a record.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("records of kind {0:?} are not known to this cifd; run the cifd that wrote them")]
    UnknownKind(String),
    #[error("a {kind} record has the id {id:?}, which names no {kind}")]
    Unkeyed { kind: String, id: String },
    #[error("a {kind} record cannot be read ({error})")]
    Undecodable { kind: String, error: DecodeError },
}

/// Every kind of record the store keeps, as their rows name them ([`load`] reads each).
pub const KINDS: &[&str] = &[
    "provider",
    "deleted_provider",
    "agent",
    "session",
    "presence",
    "template",
    "toast",
    "resolved_toast",
    "widget_credential",
    "operator_credential",
    "audit_entry",
];

/// Adds a stored row's record to `records`.
pub fn load(records: &mut Records, kind: &str, body: &[u8]) -> Result<(), RowError> {
    fn decoded<T: Stored>(kind: &str, body: &[u8]) -> Result<T, RowError> {
        T::decode(body).map_err(|error| RowError::Undecodable {
            kind: kind.to_owned(),
            error,
        })
    }
    match kind {
        "provider" => records.providers.push(decoded(kind, body)?),
        "deleted_provider" => records.deleted_providers.push(decoded(kind, body)?),
        "agent" => records.agents.push(decoded(kind, body)?),
        "session" => records.sessions.push(decoded(kind, body)?),
        "presence" => records.presences.push(decoded(kind, body)?),
        "template" => records.templates.push(decoded(kind, body)?),
        "toast" => records.toasts.push(decoded(kind, body)?),
        "resolved_toast" => records.resolved_toasts.push(decoded(kind, body)?),
        "widget_credential" => records.widget_credentials.push(decoded(kind, body)?),
        "operator_credential" => records.operator_credentials.push(decoded(kind, body)?),
        "audit_entry" => records.audit_entries.push(decoded(kind, body)?),
        other => return Err(RowError::UnknownKind(other.to_owned())),
    }
    Ok(())
}

/// Adds a stored row to `changes`, as what a command changed: its record, or its removal
/// (no body), keyed as the record's id says. A follower reads the writer's commits this way.
pub fn change(
    changes: &mut Changes,
    kind: &str,
    id: &str,
    body: Option<&[u8]>,
) -> Result<(), RowError> {
    fn decoded<T: Stored>(kind: &str, body: Option<&[u8]>) -> Result<Option<T>, RowError> {
        body.map(T::decode)
            .transpose()
            .map_err(|error| RowError::Undecodable {
                kind: kind.to_owned(),
                error,
            })
    }
    fn key<K: std::str::FromStr>(kind: &str, id: &str) -> Result<K, RowError> {
        id.parse().map_err(|_| RowError::Unkeyed {
            kind: kind.to_owned(),
            id: id.to_owned(),
        })
    }
    // Two ids joined by a slash: a toast's provider and toast, a widget's agent and provider.
    fn pair<A: std::str::FromStr, B: std::str::FromStr>(
        kind: &str,
        id: &str,
    ) -> Result<(A, B), RowError> {
        let (first, second) = id.split_once('/').ok_or_else(|| RowError::Unkeyed {
            kind: kind.to_owned(),
            id: id.to_owned(),
        })?;
        Ok((key(kind, first)?, key(kind, second)?))
    }
    let toast_key = || -> Result<ToastKey, RowError> {
        let (provider, toast) = pair(kind, id)?;
        Ok(ToastKey {
            provider,
            id: toast,
        })
    };
    match kind {
        "provider" => changes
            .providers
            .push((key(kind, id)?, decoded(kind, body)?)),
        "deleted_provider" => {
            let named: Option<(ProviderId, String)> = decoded(kind, body)?;
            changes
                .deleted_providers
                .push((key(kind, id)?, named.map(|(_, name)| name)));
        }
        "agent" => changes.agents.push((key(kind, id)?, decoded(kind, body)?)),
        "session" => {
            let session: Option<Session> = decoded(kind, body)?;
            changes
                .sessions
                .push((key(kind, id)?, session.map(Arc::new)));
        }
        "presence" => changes
            .presences
            .push((id.to_owned(), decoded(kind, body)?)),
        "template" => changes
            .templates
            .push((id.to_owned(), decoded(kind, body)?)),
        "toast" => changes.toasts.push((toast_key()?, decoded(kind, body)?)),
        "resolved_toast" => changes
            .resolved_toasts
            .push((toast_key()?, decoded(kind, body)?)),
        "operator_credential" => changes
            .operator_credentials
            .push((key(kind, id)?, decoded(kind, body)?)),
        "audit_entry" => changes
            .audit_entries
            .push((key(kind, id)?, decoded(kind, body)?)),
        "widget_credential" => {
            let stored: Option<(Holder, Issued)> = decoded(kind, body)?;
            changes
                .widget_credentials
                .push((pair(kind, id)?, stored.map(|(_, issued)| issued)));
        }
        other => return Err(RowError::UnknownKind(other.to_owned())),
    }
    Ok(())
}

/// A time as milliseconds since the Unix epoch (0 before it).
pub fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    })
}

/// The time of stored milliseconds.
pub fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// Milliseconds of the moment `age` ago: rows older than it are no longer kept.
pub fn millis_before(age: Duration) -> i64 {
    SystemTime::now().checked_sub(age).map_or(0, millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_listed_is_one_load_reads() {
        for kind in KINDS {
            let read = load(&mut Records::default(), kind, b"");
            assert!(!matches!(read, Err(RowError::UnknownKind(_))), "{kind}");
        }
        assert!(matches!(
            load(&mut Records::default(), "unheard_of", b""),
            Err(RowError::UnknownKind(_))
        ));
    }
}
