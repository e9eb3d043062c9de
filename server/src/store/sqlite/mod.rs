//! The embedded store: one SQLite file, `cifd.db`, in the data directory.
//!
//! Durability: WAL journal with `synchronous = FULL`, so a commit returns only after the WAL is
//! flushed to disk (fsync). What a commit wrote survives a process crash and, on a disk that
//! honours flushes, a power loss. Batches that arrive while a commit is being flushed are
//! written together in the next transaction (group commit): one flush for many calls.
//!
//! Layout: `records` holds the state, one row per provider, agent (with its desk), session
//! (with its tabs), presence, template and toast; `events` the retained tail of the event
//! log; both as protobuf messages of `cifd.store.v1` (see `store::encoding`). `requests` holds
//! the answers to calls that carried a request id; `meta` the log id and the newest sequence.
//! Restart reads the records and the retained events, never more, so its time does not grow
//! with the history. The schema changes only through numbered migrations (`migrations`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::encoding::Stored;
use super::rows::{from_millis, millis, millis_before};
use crate::app::log::Logged;
use crate::app::{Batch, Loaded, RequestRecord, RequestRetention, Retention, Store, StoreError};
use crate::domain::CredentialHash;
use crate::domain::control_plane::Records;
use crate::domain::sharing::Sharing;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "cifd.db";

mod failures;
mod migrations;

use failures::{WHAT_TO_DO, describe};

pub(super) use migrations::{MIGRATIONS, Migration};

pub struct SqliteStore {
    connection: Connection,
    path: PathBuf,
    retention: Retention,
    /// Rows in `requests`, so trimming them by count needs no count(*) per commit.
    request_rows: usize,
}

impl SqliteStore {
    /// Opens (or creates) the store in `dir` and loads what it holds. A data directory that
    /// holds other files but no database, a truncated or corrupt database, a backup file, or
    /// a database from a newer cifd is refused with what to do; nothing is ever reset.
    fn open_dir(dir: &Path, retention: Retention) -> Result<(Self, Loaded), StoreError> {
        let path = dir.join(DATABASE_FILE);
        let shown = path.display().to_string();
        let fresh = match std::fs::metadata(&path) {
            Ok(metadata) if metadata.len() < 512 => {
                return Err(StoreError::Unusable(format!(
                    "{shown} is truncated ({} bytes, less than one page); {WHAT_TO_DO}",
                    metadata.len()
                )));
            }
            Ok(metadata) => {
                check_length(&path, metadata.len())?;
                false
            }
            Err(_) => {
                let others = std::fs::read_dir(dir)
                    .map(|entries| entries.flatten().count())
                    .unwrap_or(0);
                if others > 0 {
                    return Err(StoreError::Unusable(format!(
                        "{shown} is missing, but {} holds other files; {WHAT_TO_DO}",
                        dir.display()
                    )));
                }
                std::fs::create_dir_all(dir).map_err(|error| {
                    StoreError::Unusable(format!(
                        "cannot create the data directory {}: {error}",
                        dir.display()
                    ))
                })?;
                true
            }
        };
        let unusable = |error: rusqlite::Error| describe(&shown, error);
        let connection = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(unusable)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(unusable)?;
        let mut store = Self {
            connection,
            path,
            retention,
            request_rows: 0,
        };
        store.migrate(fresh)?;
        let loaded = store.load()?;
        store.request_rows = store
            .connection
            .query_row("SELECT count(*) FROM requests", [], |row| {
                row.get::<_, i64>(0)
            })
            .map_err(unusable)?
            .try_into()
            .unwrap_or(0);
        Ok((store, loaded))
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    fn migrate(&mut self, fresh: bool) -> Result<(), StoreError> {
        let shown = self.shown();
        let version: usize = self
            .connection
            .query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
            .map_err(|error| describe(&shown, error))?
            .try_into()
            .unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            return Err(StoreError::Unusable(format!(
                "{shown} was written by a newer cifd (schema {version}; this cifd knows up to {}); run that cifd or a newer one",
                MIGRATIONS.len()
            )));
        }
        if version == 0 && !fresh {
            let tables: i64 = self
                .connection
                .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
                .map_err(|error| describe(&shown, error))?;
            if tables > 0 {
                return Err(StoreError::Unusable(format!(
                    "{shown} is an SQLite database but not a cifd one; {WHAT_TO_DO}"
                )));
            }
        }
        if version > 0 && version < MIGRATIONS.len() {
            tracing::info!(
                "migrating {shown} from schema {version} to {}",
                MIGRATIONS.len()
            );
        }
        let transaction = self
            .connection
            .transaction()
            .map_err(|error| describe(&shown, error))?;
        for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
            match migration {
                Migration::Sql(sql) => transaction
                    .execute_batch(sql)
                    .map_err(|error| describe(&shown, error))?,
                Migration::Rewrite(rewrite) => rewrite(&transaction, &shown)?,
            }
            transaction
                .execute_batch(&format!("PRAGMA user_version = {}", index + 1))
                .map_err(|error| describe(&shown, error))?;
            if index == 0 {
                set_meta(&transaction, "log_id", &Uuid::new_v4().to_string())
                    .map_err(|error| describe(&shown, error))?;
                set_meta(&transaction, "last_sequence", "0")
                    .map_err(|error| describe(&shown, error))?;
            }
        }
        transaction
            .commit()
            .map_err(|error| describe(&shown, error))
    }

    fn load(&self) -> Result<Loaded, StoreError> {
        let shown = self.shown();
        let fail = |error: rusqlite::Error| describe(&shown, error);
        if meta(&self.connection, "backup").map_err(fail)?.is_some() {
            return Err(StoreError::Unusable(format!(
                "{shown} is a backup; start from it with `cifd restore --from <backup> --data-dir <empty dir>`, which gives it a new log id"
            )));
        }
        let log_id = meta(&self.connection, "log_id")
            .map_err(fail)?
            .and_then(|text| Uuid::try_parse(&text).ok())
            .ok_or_else(|| {
                StoreError::Unusable(format!("{shown} has no valid log id; {WHAT_TO_DO}"))
            })?;
        let last_sequence = meta(&self.connection, "last_sequence")
            .map_err(fail)?
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| {
                StoreError::Unusable(format!("{shown} has no valid sequence; {WHAT_TO_DO}"))
            })?;
        let operator_credential = meta(&self.connection, "operator_credential")
            .map_err(fail)?
            .map(|text| {
                serde_json::from_str::<CredentialHash>(&text).map_err(|error| {
                    StoreError::Unusable(format!(
                        "{shown} holds an operator credential this cifd cannot read ({error}); {WHAT_TO_DO}"
                    ))
                })
            })
            .transpose()?;

        let mut records = Records::default();
        let mut statement = self
            .connection
            .prepare("SELECT kind, id, body FROM records")
            .map_err(fail)?;
        let mut rows = statement.query([]).map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let kind: String = row.get(0).map_err(fail)?;
            let body: Vec<u8> = row.get(2).map_err(fail)?;
            super::rows::load(&mut records, &kind, &body)
                .map_err(|error| StoreError::Unusable(format!("{shown}: {error}; {WHAT_TO_DO}")))?;
        }
        drop(rows);
        drop(statement);

        let cutoff = millis_before(self.retention.history_age);
        let mut statement = self
            .connection
            .prepare("SELECT sequence, body FROM events WHERE time_ms >= ?1 ORDER BY sequence DESC LIMIT ?2")
            .map_err(fail)?;
        let limit = i64::try_from(self.retention.history).unwrap_or(i64::MAX);
        let mut sharing = Sharing::with(&records.sessions);
        let mut tail = statement
            .query_map(params![cutoff, limit], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
            })
            .map_err(fail)?
            .map(|row| {
                let (sequence, body) = row.map_err(fail)?;
                let mut event = decode(&shown, "event", &body)?;
                sharing.share(&mut event);
                Ok(Logged {
                    sequence: u64::try_from(sequence).unwrap_or(0),
                    event,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        tail.reverse();
        drop(statement);

        let cutoff = millis_before(self.retention.requests.age);
        let mut statement = self
            .connection
            .prepare(
                "SELECT principal, request_id, fingerprint, response, time_ms FROM requests
                 WHERE time_ms >= ?1 ORDER BY time_ms DESC LIMIT ?2",
            )
            .map_err(fail)?;
        let limit = i64::try_from(self.retention.requests.count).unwrap_or(i64::MAX);
        let mut requests = statement
            .query_map(params![cutoff, limit], |row| {
                let fingerprint: Vec<u8> = row.get(2)?;
                Ok(RequestRecord {
                    principal: row.get(0)?,
                    request_id: row.get(1)?,
                    fingerprint: fingerprint.try_into().unwrap_or([0; 32]),
                    response: row.get(3)?,
                    time: from_millis(row.get(4)?),
                })
            })
            .map_err(fail)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        requests.reverse();
        drop(statement);

        Ok(Loaded {
            log_id,
            last_sequence,
            records,
            tail,
            requests,
            operator_credential,
            position: 0,
            role: crate::app::Role::Writer,
        })
    }

    fn write_error(&self, error: rusqlite::Error) -> StoreError {
        StoreError::Write {
            path: self.shown(),
            detail: error.to_string(),
        }
    }

    fn write_batch(transaction: &Transaction<'_>, batch: &Batch) -> rusqlite::Result<()> {
        write_rows(transaction, super::rows::changed(&batch.changes))?;
        let mut insert = transaction
            .prepare_cached("INSERT INTO events (sequence, time_ms, body) VALUES (?1, ?2, ?3)")?;
        for logged in &batch.events {
            insert.execute(params![
                i64::try_from(logged.sequence).unwrap_or(i64::MAX),
                millis(logged.event.time),
                logged.event.encode()
            ])?;
        }
        let mut remember = transaction.prepare_cached(
            "INSERT OR REPLACE INTO requests (principal, request_id, fingerprint, response, time_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for request in &batch.requests {
            remember.execute(params![
                request.principal,
                request.request_id,
                request.fingerprint.as_slice(),
                request.response,
                millis(request.time)
            ])?;
        }
        Ok(())
    }

    /// Drops the events the history no longer keeps.
    fn trim_events(
        retention: &Retention,
        transaction: &Transaction<'_>,
        last_sequence: u64,
    ) -> rusqlite::Result<()> {
        let keep_from = last_sequence.saturating_sub(retention.history as u64);
        let cutoff = millis_before(retention.history_age);
        // Two statements, so each is a range of one index.
        transaction
            .prepare_cached("DELETE FROM events WHERE sequence <= ?1")?
            .execute(params![i64::try_from(keep_from).unwrap_or(i64::MAX)])?;
        transaction
            .prepare_cached("DELETE FROM events WHERE time_ms < ?1")?
            .execute(params![cutoff])?;
        Ok(())
    }

    /// Drops answers older than their age, and the oldest beyond their count once the table
    /// has grown a tenth past it (so that delete is rare and large, not one row per commit).
    fn trim_requests(
        retention: &RequestRetention,
        transaction: &Transaction<'_>,
        rows: &mut usize,
    ) -> rusqlite::Result<()> {
        let stale = millis_before(retention.age);
        let removed = transaction
            .prepare_cached("DELETE FROM requests WHERE time_ms < ?1")?
            .execute(params![stale])?;
        *rows = rows.saturating_sub(removed);
        if *rows > retention.count + retention.count / 10 {
            let excess = i64::try_from(*rows - retention.count).unwrap_or(i64::MAX);
            let removed = transaction
                .prepare_cached(
                    "DELETE FROM requests WHERE (principal, request_id) IN
                     (SELECT principal, request_id FROM requests ORDER BY time_ms LIMIT ?1)",
                )?
                .execute(params![excess])?;
            *rows = rows.saturating_sub(removed);
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    /// The data directory; the database is its `cifd.db`.
    type Location = Path;

    fn open(dir: &Path, retention: Retention) -> Result<(Self, Loaded), StoreError> {
        Self::open_dir(dir, retention)
    }

    fn set_operator_credential(&mut self, hash: &CredentialHash) -> Result<(), StoreError> {
        let body = serde_json::to_string(hash).expect("a hash serializes");
        set_meta(&self.connection, "operator_credential", &body)
            .map_err(|error| self.write_error(error))?;
        Ok(())
    }

    fn backup(data_dir: &Path, to: &Path) -> Result<(), StoreError> {
        backup(data_dir, to)
    }

    fn restore(from: &Path, data_dir: &Path) -> Result<Uuid, StoreError> {
        restore(from, data_dir)
    }

    fn commit(&mut self, batches: &[&Batch]) -> Result<(), StoreError> {
        let transaction = self
            .connection
            .transaction()
            .map_err(|error| self_error(&self.path, error))?;
        let mut last = None;
        let mut answers = 0;
        for batch in batches {
            Self::write_batch(&transaction, batch)
                .map_err(|error| self_error(&self.path, error))?;
            if let Some(logged) = batch.events.last() {
                last = Some(logged.sequence);
            }
            answers += batch.requests.len();
        }
        // Trimming costs a little on each commit and keeps restarts bounded.
        if let Some(last) = last {
            set_meta(&transaction, "last_sequence", &last.to_string())
                .map_err(|error| self_error(&self.path, error))?;
            Self::trim_events(&self.retention, &transaction, last)
                .map_err(|error| self_error(&self.path, error))?;
        }
        if answers > 0 {
            self.request_rows += answers;
            Self::trim_requests(
                &self.retention.requests,
                &transaction,
                &mut self.request_rows,
            )
            .map_err(|error| self_error(&self.path, error))?;
        }
        transaction
            .commit()
            .map_err(|error| self_error(&self.path, error))
    }
}

/// Refuses a database file shorter than its own header says: a file cut short (a partial
/// copy, a full disk) would otherwise read its missing pages as zeros. Not while a write-ahead
/// log is beside it: a process killed in the middle of a checkpoint leaves the file short of
/// pages the log still holds, and opening it recovers them.
fn check_length(path: &Path, length: u64) -> Result<(), StoreError> {
    use std::io::Read as _;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(&wal).is_ok_and(|wal| wal.len() > 0) {
        return Ok(());
    }
    let mut header = [0u8; 100];
    let read = std::fs::File::open(path).and_then(|mut file| file.read_exact(&mut header));
    if read.is_err() || !header.starts_with(b"SQLite format 3\0") {
        // Not SQLite at all: opening it says so.
        return Ok(());
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536,
        size => u64::from(size),
    };
    let word = |at: usize| u32::from_be_bytes(header[at..at + 4].try_into().expect("4 bytes"));
    // The page count is valid only when the change counter matches the "valid for" number.
    let pages = if word(24) == word(92) {
        u64::from(word(28))
    } else {
        0
    };
    let expected = pages * page_size;
    if length < expected {
        return Err(StoreError::Unusable(format!(
            "{} is truncated ({length} bytes; its header says {expected}); {WHAT_TO_DO}",
            path.display()
        )));
    }
    Ok(())
}

fn self_error(path: &Path, error: rusqlite::Error) -> StoreError {
    StoreError::Write {
        path: path.display().to_string(),
        detail: error.to_string(),
    }
}

/// Writes each row's body, or deletes the record where it has none.
fn write_rows(transaction: &Transaction<'_>, rows: Vec<super::rows::Row>) -> rusqlite::Result<()> {
    let mut upsert = transaction
        .prepare_cached("INSERT OR REPLACE INTO records (kind, id, body) VALUES (?1, ?2, ?3)")?;
    let mut delete =
        transaction.prepare_cached("DELETE FROM records WHERE kind = ?1 AND id = ?2")?;
    for row in rows {
        match row.body {
            Some(body) => upsert.execute(params![row.kind, row.id, body])?,
            None => delete.execute(params![row.kind, row.id])?,
        };
    }
    Ok(())
}

fn meta(connection: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    connection
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()
}

fn set_meta(connection: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    connection.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        [key, value],
    )?;
    Ok(())
}

fn decode<T: Stored>(shown: &str, kind: &str, body: &[u8]) -> Result<T, StoreError> {
    T::decode(body).map_err(|error| {
        StoreError::Unusable(format!(
            "{shown} holds a {kind} record this cifd cannot read ({error}); {WHAT_TO_DO}"
        ))
    })
}

/// Writes a consistent copy of a (possibly running) server's database to `to`, marked as a
/// backup so it is started only through [`restore`].
fn backup(data_dir: &Path, to: &Path) -> Result<(), StoreError> {
    let path = data_dir.join(DATABASE_FILE);
    let shown = path.display().to_string();
    if !path.exists() {
        return Err(StoreError::Unusable(format!(
            "{shown} does not exist: nothing to back up"
        )));
    }
    if to.exists() {
        return Err(StoreError::Unusable(format!(
            "{} exists; give a new file to write the backup to",
            to.display()
        )));
    }
    let connection = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|error| describe(&shown, error))?;
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(|error| describe(&shown, error))?;
    // VACUUM INTO copies one consistent read snapshot, whatever the server writes meanwhile.
    connection
        .execute("VACUUM INTO ?1", [to.display().to_string()])
        .map_err(|error| describe(&shown, error))?;
    let copy = Connection::open(to).map_err(|error| describe(&to.display().to_string(), error))?;
    set_meta(&copy, "backup", "true")
        .map_err(|error| describe(&to.display().to_string(), error))?;
    Ok(())
}

/// Starts a data directory from a backup, with a new log id: clients of the old server
/// resynchronise (LOG_CHANGED) instead of resuming into a history that moved backwards.
fn restore(from: &Path, data_dir: &Path) -> Result<Uuid, StoreError> {
    let shown = from.display().to_string();
    if std::fs::read_dir(data_dir).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(StoreError::Unusable(format!(
            "{} is not empty; restore into a new or empty directory",
            data_dir.display()
        )));
    }
    std::fs::create_dir_all(data_dir).map_err(|error| {
        StoreError::Unusable(format!("cannot create {}: {error}", data_dir.display()))
    })?;
    let target = data_dir.join(DATABASE_FILE);
    std::fs::copy(from, &target)
        .map_err(|error| StoreError::Unusable(format!("cannot copy {shown}: {error}")))?;
    let connection = Connection::open(&target).map_err(|error| describe(&shown, error))?;
    let is_backup = meta(&connection, "backup")
        .map_err(|error| describe(&shown, error))?
        .is_some();
    if !is_backup {
        let _ = std::fs::remove_file(&target);
        return Err(StoreError::Unusable(format!(
            "{shown} is not a cifd backup (make one with `cifd backup`)"
        )));
    }
    let log_id = Uuid::new_v4();
    connection
        .execute("DELETE FROM meta WHERE key = 'backup'", [])
        .map_err(|error| describe(&shown, error))?;
    set_meta(&connection, "log_id", &log_id.to_string())
        .map_err(|error| describe(&shown, error))?;
    Ok(log_id)
}
