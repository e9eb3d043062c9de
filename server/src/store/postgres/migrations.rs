//! The PostgreSQL store's schema, step by step: `cifd_schema` holds how many steps were
//! applied, and opening applies the missing ones in one transaction under an advisory lock, so
//! replicas starting at once migrate once and none reads a half-made schema. Steps are only
//! ever appended.

use postgres::Client;
use uuid::Uuid;

use crate::app::StoreError;

/// The transaction advisory lock that serialises migrations (any fixed number; "cifd" in
/// ASCII).
const MIGRATION_LOCK: i64 = 0x6369_6664;

/// The steps, in order.
const MIGRATIONS: &[&str] = &[
    // 1: records, events, requests, meta; bodies are cifd.store.v1 messages.
    "CREATE TABLE cifd_records (kind text NOT NULL, id text NOT NULL, body bytea NOT NULL,
                                PRIMARY KEY (kind, id));
     CREATE TABLE cifd_events (sequence bigint PRIMARY KEY, time_ms bigint NOT NULL,
                               body bytea NOT NULL);
     CREATE INDEX cifd_events_by_time ON cifd_events (time_ms);
     CREATE TABLE cifd_requests (principal text NOT NULL, request_id text NOT NULL,
                                 fingerprint bytea NOT NULL, response bytea NOT NULL,
                                 time_ms bigint NOT NULL, PRIMARY KEY (principal, request_id));
     CREATE INDEX cifd_requests_by_time ON cifd_requests (time_ms);
     CREATE TABLE cifd_meta (key text PRIMARY KEY, value text NOT NULL);",
    // 2: the writer's lease: one row, its epoch raised by each cifd that takes the database
    // over, checked by every commit (the fence).
    "CREATE TABLE cifd_lease (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
                              epoch bigint NOT NULL, holder text NOT NULL,
                              expires_at timestamptz NOT NULL);
     INSERT INTO cifd_lease (epoch, holder, expires_at) VALUES (0, '', 'epoch');",
];

/// Applies the steps the database lacks; refuses a database migrated by a newer cifd.
pub fn migrate(client: &mut Client, shown: &str) -> Result<(), StoreError> {
    let fail = |error: postgres::Error| {
        StoreError::Unusable(format!("{shown} cannot be migrated ({error})"))
    };
    let mut transaction = client.transaction().map_err(fail)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail)?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS cifd_schema (steps integer NOT NULL)")
        .map_err(fail)?;
    let applied: usize = transaction
        .query_opt("SELECT steps FROM cifd_schema", &[])
        .map_err(fail)?
        .map_or(0, |row| {
            usize::try_from(row.get::<_, i32>(0)).unwrap_or(usize::MAX)
        });
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Unusable(format!(
            "{shown} was migrated by a newer cifd (schema {applied}; this cifd knows up to {}); run that cifd or a newer one",
            MIGRATIONS.len()
        )));
    }
    if applied == MIGRATIONS.len() {
        return transaction.commit().map_err(fail);
    }
    if applied > 0 {
        tracing::info!(
            "migrating {shown} from schema {applied} to {}",
            MIGRATIONS.len()
        );
    }
    for step in &MIGRATIONS[applied..] {
        transaction.batch_execute(step).map_err(fail)?;
    }
    let steps = i32::try_from(MIGRATIONS.len()).expect("few steps");
    if applied == 0 {
        transaction
            .execute("INSERT INTO cifd_schema (steps) VALUES ($1)", &[&steps])
            .map_err(fail)?;
        transaction
            .execute(
                "INSERT INTO cifd_meta (key, value) VALUES ('log_id', $1), ('last_sequence', '0')",
                &[&Uuid::new_v4().to_string()],
            )
            .map_err(fail)?;
    } else {
        transaction
            .execute("UPDATE cifd_schema SET steps = $1", &[&steps])
            .map_err(fail)?;
    }
    transaction.commit().map_err(fail)
}
