//! The embedded store's schema, step by step: `PRAGMA user_version` counts the steps applied,
//! and opening a database applies the missing ones in one transaction, so a migration either
//! completes or leaves the file as it was. Steps are only ever appended.

use rusqlite::{Transaction, params};
use serde::de::DeserializeOwned;

use super::failures::{WHAT_TO_DO, describe};
use crate::app::StoreError;
use crate::domain::catalogue::Template;
use crate::domain::control_plane::StoredAgent;
use crate::domain::desks::Session;
use crate::domain::events::Event;
use crate::domain::registry::{Presence, ProviderRecord};
use crate::domain::toasts::{Resolution, Toast};
use crate::store::encoding::Stored;

/// One step: a change of the tables, or a rewrite of what they hold.
pub enum Migration {
    Sql(&'static str),
    /// Given the transaction and the file's name, for messages.
    Rewrite(fn(&Transaction<'_>, &str) -> Result<(), StoreError>),
}

/// The steps, in order.
pub const MIGRATIONS: &[Migration] = &[
    // 1: records, events, requests, meta.
    Migration::Sql(
        "CREATE TABLE records (kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                               PRIMARY KEY (kind, id)) WITHOUT ROWID;
         CREATE TABLE events (sequence INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE TABLE requests (principal TEXT NOT NULL, request_id TEXT NOT NULL,
                                fingerprint BLOB NOT NULL, response BLOB NOT NULL, time_ms INTEGER NOT NULL,
                                PRIMARY KEY (principal, request_id)) WITHOUT ROWID;
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    ),
    // 2: trimming by age reads an index instead of every retained row on each commit.
    Migration::Sql(
        "CREATE INDEX events_by_time ON events (time_ms);
         CREATE INDEX requests_by_time ON requests (time_ms);",
    ),
    // 3: records and events as protobuf instead of JSON.
    Migration::Rewrite(records_and_events_as_protobuf),
];

/// Rewrites every record and retained event from JSON (schemas 1 and 2) into its
/// `cifd.store.v1` message: less than half the bytes, and read without parsing text. New
/// tables with BLOB bodies replace the old ones.
fn records_and_events_as_protobuf(
    transaction: &Transaction<'_>,
    shown: &str,
) -> Result<(), StoreError> {
    let sql = |error: rusqlite::Error| describe(shown, error);
    transaction
        .execute_batch(
            "CREATE TABLE records_v3 (kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
                                      PRIMARY KEY (kind, id)) WITHOUT ROWID;
             CREATE TABLE events_v3 (sequence INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,
                                     body BLOB NOT NULL);",
        )
        .map_err(sql)?;
    {
        let mut read = transaction
            .prepare("SELECT kind, id, body FROM records")
            .map_err(sql)?;
        let mut write = transaction
            .prepare("INSERT INTO records_v3 (kind, id, body) VALUES (?1, ?2, ?3)")
            .map_err(sql)?;
        let mut rows = read.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let (kind, id, json): (String, String, String) = (
                row.get(0).map_err(sql)?,
                row.get(1).map_err(sql)?,
                row.get(2).map_err(sql)?,
            );
            let body = record_as_protobuf(&kind, &id, &json).map_err(|detail| {
                StoreError::Unusable(format!(
                    "{shown} holds a {kind} record ({id}) this cifd cannot migrate ({detail}); {WHAT_TO_DO}"
                ))
            })?;
            write.execute(params![kind, id, body]).map_err(sql)?;
        }
    }
    {
        let mut read = transaction
            .prepare("SELECT sequence, time_ms, body FROM events")
            .map_err(sql)?;
        let mut write = transaction
            .prepare("INSERT INTO events_v3 (sequence, time_ms, body) VALUES (?1, ?2, ?3)")
            .map_err(sql)?;
        let mut rows = read.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let (sequence, time, json): (i64, i64, String) = (
                row.get(0).map_err(sql)?,
                row.get(1).map_err(sql)?,
                row.get(2).map_err(sql)?,
            );
            let event: Event = from_json(&json).map_err(|detail| {
                StoreError::Unusable(format!(
                    "{shown} holds event {sequence}, which this cifd cannot migrate ({detail}); {WHAT_TO_DO}"
                ))
            })?;
            write
                .execute(params![sequence, time, event.encode()])
                .map_err(sql)?;
        }
    }
    transaction
        .execute_batch(
            "DROP TABLE records;
             DROP TABLE events;
             ALTER TABLE records_v3 RENAME TO records;
             ALTER TABLE events_v3 RENAME TO events;
             CREATE INDEX events_by_time ON events (time_ms);",
        )
        .map_err(sql)
}

fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, String> {
    serde_json::from_str(json).map_err(|error| error.to_string())
}

/// A record's JSON body (as schemas 1 and 2 kept it) as its protobuf message.
fn record_as_protobuf(kind: &str, id: &str, json: &str) -> Result<Vec<u8>, String> {
    Ok(match kind {
        "provider" => from_json::<ProviderRecord>(json)?.encode(),
        // The row's id is the provider's; the body, the unique name it had.
        "deleted_provider" => (
            id.parse().map_err(|error| format!("{error}"))?,
            from_json::<String>(json)?,
        )
            .encode(),
        "agent" => from_json::<StoredAgent>(json)?.encode(),
        "session" => from_json::<Session>(json)?.encode(),
        "presence" => from_json::<Presence>(json)?.encode(),
        "template" => from_json::<Template>(json)?.encode(),
        "toast" => from_json::<Toast>(json)?.encode(),
        "resolved_toast" => from_json::<(Toast, Resolution)>(json)?.encode(),
        other => return Err(format!("records of kind {other:?} are not cifd's")),
    })
}
