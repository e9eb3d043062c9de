//! The store alone, on files in a temporary directory: writes read back, retention, and
//! every kind of unusable file refused with a message that names it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cif_sdk::ids::{AgentId, ProviderId};

use super::sqlite::DATABASE_FILE;
use super::*;
use crate::app::log::Logged;
use crate::app::{Batch, Loaded, RequestRecord, RequestRetention, Retention, Store};
use crate::domain::control_plane::Changes;
use crate::domain::events::{CustomEvent, Event, EventKind};
use crate::domain::registry::{Presence, PresenceStatus};

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("cifd-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn retention(history: usize) -> Retention {
    Retention {
        requests: crate::app::RequestRetention::default(),
        history,
        history_age: Duration::from_secs(3600),
    }
}

/// A store in `dir` that committed events 1 to 200 in one batch.
fn with_200_events(dir: &TempDir) -> SqliteStore {
    let (mut store, _) = SqliteStore::open(&dir.0, retention(1000)).unwrap();
    let events: Vec<_> = (1..=200).map(event).collect();
    store
        .commit(&[&Batch {
            changes: Changes::default(),
            events,
            requests: vec![],
        }])
        .unwrap();
    store
}

fn event(sequence: u64) -> Arc<Logged> {
    Arc::new(Logged {
        sequence,
        event: Event {
            agent: AgentId::generate(),
            time: SystemTime::now(),
            providers: vec![ProviderId::generate()],
            kind: EventKind::CustomEvent(Box::new(CustomEvent {
                name: format!("e{sequence}"),
                payload: String::new(),
                from: None,
                to: None,
            })),
        },
    })
}

fn presence(id: &str) -> Presence {
    Presence {
        id: id.into(),
        text: id.to_uppercase(),
        base_status: PresenceStatus::Available,
        color: "#000000".into(),
        managed: false,
    }
}

#[test]
fn what_is_committed_is_loaded_again() {
    let dir = TempDir::new("roundtrip");
    let (mut store, loaded) = SqliteStore::open(&dir.0, retention(100)).unwrap();
    assert_eq!(loaded.last_sequence, 0);
    let log_id = loaded.log_id;
    let first = Batch {
        changes: Changes {
            presences: vec![
                ("away".into(), Some(presence("away"))),
                ("busy".into(), Some(presence("busy"))),
            ],
            ..Default::default()
        },
        events: vec![event(1), event(2)],
        requests: vec![RequestRecord {
            principal: "operator".into(),
            request_id: "r1".into(),
            fingerprint: [7; 32],
            response: vec![1, 2, 3],
            time: SystemTime::now(),
        }],
    };
    let second = Batch {
        changes: Changes {
            presences: vec![("busy".into(), None)],
            ..Default::default()
        },
        events: vec![event(3)],
        requests: vec![],
    };
    store.commit(&[&first, &second]).unwrap();
    drop(store);

    let (_, loaded) = SqliteStore::open(&dir.0, retention(100)).unwrap();
    assert_eq!(loaded.log_id, log_id, "the log id is kept");
    assert_eq!(loaded.last_sequence, 3);
    assert_eq!(
        loaded.records.presences,
        [presence("away")],
        "the deleted one is gone"
    );
    assert_eq!(
        loaded.tail.iter().map(|l| l.sequence).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(loaded.requests.len(), 1);
    assert_eq!(loaded.requests[0].fingerprint, [7; 32]);
}

#[test]
fn only_the_retained_tail_of_the_log_is_kept_and_loaded() {
    let dir = TempDir::new("retention");
    let (mut store, _) = SqliteStore::open(&dir.0, retention(3)).unwrap();
    for sequence in 1..=10 {
        store
            .commit(&[&Batch {
                events: vec![event(sequence)],
                ..Default::default()
            }])
            .unwrap();
    }
    drop(store);
    let (_, loaded) = SqliteStore::open(&dir.0, retention(3)).unwrap();
    assert_eq!(loaded.last_sequence, 10);
    assert_eq!(
        loaded.tail.iter().map(|l| l.sequence).collect::<Vec<_>>(),
        [8, 9, 10]
    );
}

#[test]
fn answers_are_kept_by_count_and_by_age() {
    let dir = TempDir::new("answers");
    let keep = |count: usize, age: Duration| Retention {
        requests: RequestRetention { count, age },
        ..retention(100)
    };
    let (mut store, _) = SqliteStore::open(&dir.0, keep(10, Duration::from_secs(3600))).unwrap();
    let start = SystemTime::now() - Duration::from_secs(600);
    for n in 0..40u64 {
        store
            .commit(&[&Batch {
                requests: vec![RequestRecord {
                    principal: "operator".into(),
                    request_id: format!("r{n}"),
                    fingerprint: [0; 32],
                    response: vec![],
                    time: start + Duration::from_secs(n),
                }],
                ..Default::default()
            }])
            .unwrap();
    }
    drop(store);
    let ids = |loaded: &Loaded| {
        loaded
            .requests
            .iter()
            .map(|r| r.request_id.clone())
            .collect::<Vec<_>>()
    };
    let (_, loaded) = SqliteStore::open(&dir.0, keep(10, Duration::from_secs(3600))).unwrap();
    let newest: Vec<String> = (30..40).map(|n| format!("r{n}")).collect();
    assert_eq!(ids(&loaded), newest, "the newest ten, oldest first");
    // At most 565.5 seconds old (r35 is 565 and a little): the last five.
    let (_, loaded) = SqliteStore::open(&dir.0, keep(10, Duration::from_millis(565_500))).unwrap();
    assert_eq!(ids(&loaded), newest[5..]);
    let rows: i64 = rusqlite::Connection::open(dir.0.join(DATABASE_FILE))
        .unwrap()
        .query_row("SELECT count(*) FROM requests", [], |row| row.get(0))
        .unwrap();
    assert!(
        rows <= 11,
        "the table stays within a tenth of the count: {rows}"
    );
}

#[test]
fn a_database_of_an_older_schema_is_migrated_and_keeps_its_data() {
    let dir = TempDir::new("schema-1");
    std::fs::create_dir_all(&dir.0).unwrap();
    let connection = rusqlite::Connection::open(dir.0.join(DATABASE_FILE)).unwrap();
    let sqlite::Migration::Sql(first) = &sqlite::MIGRATIONS[0] else {
        panic!("the first step makes the tables");
    };
    connection.execute_batch(first).unwrap();
    connection
        .execute_batch(
            "PRAGMA user_version = 1;
             INSERT INTO meta VALUES ('log_id', '0199f0c8-51c4-7bb0-9d8e-000000000001'),
                                     ('last_sequence', '0');",
        )
        .unwrap();
    drop(connection);
    let (mut store, loaded) = SqliteStore::open(&dir.0, retention(100)).unwrap();
    assert_eq!(
        loaded.log_id.to_string(),
        "0199f0c8-51c4-7bb0-9d8e-000000000001"
    );
    store
        .commit(&[&Batch {
            events: vec![event(1)],
            ..Default::default()
        }])
        .unwrap();
    drop(store);
    let connection = rusqlite::Connection::open(dir.0.join(DATABASE_FILE)).unwrap();
    let version: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, sqlite::MIGRATIONS.len());
    let indexes: i64 = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%_by_time'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 2);
}

/// The fixture an earlier cifd wrote with JSON bodies (schema 2): it migrates to protobuf
/// bodies with every record and retained event, and opens again as it was.
#[test]
fn a_database_with_json_bodies_is_rewritten_as_protobuf_with_everything_in_it() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/store/written-at-schema-2.db");
    let dir = TempDir::new("schema-2");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::copy(&fixture, dir.0.join(DATABASE_FILE)).unwrap();
    let count = |sql: &str| -> i64 {
        let connection = rusqlite::Connection::open(dir.0.join(DATABASE_FILE)).unwrap();
        connection.query_row(sql, [], |row| row.get(0)).unwrap()
    };
    let version = "SELECT user_version FROM pragma_user_version";
    assert_eq!(count(version), 2, "the fixture is at schema 2");
    let (records, events) = (
        count("SELECT count(*) FROM records"),
        count("SELECT count(*) FROM events"),
    );
    assert!(
        records > 10 && events > 10,
        "{records} records, {events} events"
    );
    let text_bytes = count("SELECT sum(length(body)) FROM records");

    // Every event is kept, however old: the fixture was written once, long ago.
    let keep_all = Retention {
        history_age: Duration::from_secs(100 * 365 * 24 * 3600),
        ..retention(100_000)
    };
    let (store, loaded) = SqliteStore::open(&dir.0, keep_all.clone()).unwrap();
    drop(store);
    assert_eq!(count(version) as usize, sqlite::MIGRATIONS.len());
    assert_eq!(count("SELECT count(*) FROM records"), records);
    assert_eq!(count("SELECT count(*) FROM events"), events);
    assert_eq!(
        count("SELECT count(*) FROM records WHERE typeof(body) != 'blob'")
            + count("SELECT count(*) FROM events WHERE typeof(body) != 'blob'"),
        0,
        "every body is protobuf"
    );
    let blob_bytes = count("SELECT sum(length(body)) FROM records");
    assert!(
        blob_bytes * 2 < text_bytes,
        "protobuf takes {blob_bytes} bytes against JSON's {text_bytes}"
    );
    let held = |loaded: &Loaded| {
        let records = &loaded.records;
        (
            records.providers.len() + records.deleted_providers.len(),
            records.agents.len(),
            records.sessions.len(),
            records.presences.len() + records.templates.len(),
            records.toasts.len() + records.resolved_toasts.len(),
            loaded.tail.len(),
            loaded.last_sequence,
            loaded.log_id,
        )
    };
    let migrated = held(&loaded);
    assert_eq!(
        migrated.0 + migrated.1 + migrated.2 + migrated.3 + migrated.4,
        records as usize
    );
    assert_eq!(migrated.5, events as usize);
    let (_, again) = SqliteStore::open(&dir.0, keep_all).unwrap();
    assert_eq!(held(&again), migrated, "the migrated file opens as it was");
}

#[test]
fn unusable_files_are_refused_with_the_file_and_what_to_do() {
    let message = |dir: &TempDir| match SqliteStore::open(&dir.0, retention(10)) {
        Ok(_) => panic!("opened an unusable data directory"),
        Err(error) => error.to_string(),
    };

    let dir = TempDir::new("garbage");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join(DATABASE_FILE), vec![b'x'; 4096]).unwrap();
    let text = message(&dir);
    assert!(
        text.contains(DATABASE_FILE) && text.contains("not a cifd database"),
        "{text}"
    );
    assert!(text.contains("cifd restore"), "{text}");

    let dir = TempDir::new("truncated");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join(DATABASE_FILE), b"SQLite format 3\0").unwrap();
    assert!(message(&dir).contains("truncated"));

    // A real database cut short after a clean close.
    let dir = TempDir::new("cut");
    let store = with_200_events(&dir);
    drop(store);
    let file = dir.0.join(DATABASE_FILE);
    let length = std::fs::metadata(&file).unwrap().len();
    let cut = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    cut.set_len(length / 2).unwrap();
    drop(cut);
    let text = message(&dir);
    assert!(
        text.contains("truncated") && text.contains("header says"),
        "{text}"
    );

    let dir = TempDir::new("missing");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("cifd.db-wal"), b"left over").unwrap();
    assert!(message(&dir).contains("is missing"));

    let dir = TempDir::new("newer");
    drop(SqliteStore::open(&dir.0, retention(10)).unwrap());
    let connection = rusqlite::Connection::open(dir.0.join(DATABASE_FILE)).unwrap();
    connection
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    drop(connection);
    assert!(message(&dir).contains("newer cifd"));

    let dir = TempDir::new("foreign");
    std::fs::create_dir_all(&dir.0).unwrap();
    let connection = rusqlite::Connection::open(dir.0.join(DATABASE_FILE)).unwrap();
    connection
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (zeroblob(4096));")
        .unwrap();
    drop(connection);
    assert!(message(&dir).contains("not a cifd one"));
}

/// A process killed in the middle of a checkpoint leaves the database file shorter than its
/// header says, with the missing pages still in the write-ahead log: that is recovered, not
/// refused as truncated.
#[test]
fn a_database_killed_in_the_middle_of_a_checkpoint_opens_with_everything() {
    let (live, image) = (TempDir::new("checkpointed"), TempDir::new("killed"));
    let store = with_200_events(&live);
    // The files as they are before the checkpoint: the new pages are in the log only.
    std::fs::create_dir_all(&image.0).unwrap();
    for file in [DATABASE_FILE.to_owned(), format!("{DATABASE_FILE}-wal")] {
        std::fs::copy(live.0.join(&file), image.0.join(&file)).unwrap();
    }
    // The checkpoint writes the first page (its header counting every page) before dying.
    let checkpointer = rusqlite::Connection::open(live.0.join(DATABASE_FILE)).unwrap();
    checkpointer
        .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))
        .unwrap();
    let checkpointed = std::fs::read(live.0.join(DATABASE_FILE)).unwrap();
    let page_size = usize::from(u16::from_be_bytes([checkpointed[16], checkpointed[17]]));
    let killed = image.0.join(DATABASE_FILE);
    let mut file = std::fs::read(&killed).unwrap();
    assert!(
        file.len() < checkpointed.len(),
        "the log holds pages beyond the file"
    );
    file[..page_size].copy_from_slice(&checkpointed[..page_size]);
    std::fs::write(&killed, file).unwrap();
    drop((checkpointer, store));

    let (_, loaded) = SqliteStore::open(&image.0, retention(1000)).expect("recovered");
    assert_eq!(loaded.tail.len(), 200);
    assert_eq!(loaded.last_sequence, 200);
}

#[test]
fn a_backup_starts_only_through_restore_with_a_new_log_id() {
    let dir = TempDir::new("live");
    let (mut store, loaded) = SqliteStore::open(&dir.0, retention(10)).unwrap();
    store
        .commit(&[&Batch {
            changes: Changes {
                presences: vec![("away".into(), Some(presence("away")))],
                ..Default::default()
            },
            events: vec![event(1)],
            requests: vec![],
        }])
        .unwrap();
    let backups = TempDir::new("backups");
    std::fs::create_dir_all(&backups.0).unwrap();
    let file = backups.0.join("cifd.backup");
    SqliteStore::backup(&dir.0, &file).unwrap();
    assert!(
        SqliteStore::backup(&dir.0, &file).is_err(),
        "never overwrites"
    );

    let copy = TempDir::new("copy");
    std::fs::create_dir_all(&copy.0).unwrap();
    std::fs::copy(&file, copy.0.join(DATABASE_FILE)).unwrap();
    let refused = SqliteStore::open(&copy.0, retention(10))
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("is a backup"), "{refused}");

    let restored = TempDir::new("restored");
    let new_log = SqliteStore::restore(&file, &restored.0).unwrap();
    assert_ne!(new_log, loaded.log_id);
    let (_, reloaded) = SqliteStore::open(&restored.0, retention(10)).unwrap();
    assert_eq!(reloaded.log_id, new_log);
    assert_eq!(reloaded.records.presences, [presence("away")]);
    assert_eq!(reloaded.last_sequence, 1);
    assert!(
        SqliteStore::restore(&file, &restored.0).is_err(),
        "only into an empty directory"
    );
}
