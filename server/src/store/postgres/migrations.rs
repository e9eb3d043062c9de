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
    // 3: a commit as one statement, so one round trip: the fence first (the lease renewed
    // only while its epoch is the caller's), then every table, then the trims. Returns the
    // answers it removed.
    "CREATE FUNCTION cifd_commit(
         p_epoch bigint, p_lease_seconds double precision,
         p_kinds text[], p_ids text[], p_bodies bytea[],
         p_gone_kinds text[], p_gone_ids text[],
         p_sequences bigint[], p_times bigint[], p_events bytea[],
         p_principals text[], p_request_ids text[], p_fingerprints bytea[],
         p_responses bytea[], p_request_times bigint[],
         p_last_sequence bigint, p_keep_from bigint, p_events_before bigint,
         p_requests_before bigint, p_request_rows bigint, p_request_count bigint)
     RETURNS bigint LANGUAGE plpgsql AS $$
     DECLARE
         removed bigint := 0;
         n bigint;
     BEGIN
         UPDATE cifd_lease SET expires_at = now() + make_interval(secs => p_lease_seconds)
         WHERE epoch = p_epoch;
         IF NOT FOUND THEN
             RAISE EXCEPTION 'cifd lease lost' USING ERRCODE = 'CIF01';
         END IF;
         INSERT INTO cifd_records (kind, id, body)
         SELECT * FROM unnest(p_kinds, p_ids, p_bodies)
         ON CONFLICT (kind, id) DO UPDATE SET body = EXCLUDED.body;
         DELETE FROM cifd_records
         WHERE (kind, id) IN (SELECT * FROM unnest(p_gone_kinds, p_gone_ids));
         INSERT INTO cifd_events (sequence, time_ms, body)
         SELECT * FROM unnest(p_sequences, p_times, p_events);
         INSERT INTO cifd_requests (principal, request_id, fingerprint, response, time_ms)
         SELECT * FROM unnest(p_principals, p_request_ids, p_fingerprints, p_responses,
                              p_request_times)
         ON CONFLICT (principal, request_id) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response,
             time_ms = EXCLUDED.time_ms;
         IF p_last_sequence IS NOT NULL THEN
             UPDATE cifd_meta SET value = p_last_sequence::text WHERE key = 'last_sequence';
             DELETE FROM cifd_events WHERE sequence <= p_keep_from OR time_ms < p_events_before;
         END IF;
         DELETE FROM cifd_requests WHERE time_ms < p_requests_before;
         GET DIAGNOSTICS removed = ROW_COUNT;
         IF p_request_rows - removed > p_request_count + p_request_count / 10 THEN
             DELETE FROM cifd_requests WHERE (principal, request_id) IN
                 (SELECT principal, request_id FROM cifd_requests ORDER BY time_ms
                  LIMIT p_request_rows - removed - p_request_count);
             GET DIAGNOSTICS n = ROW_COUNT;
             removed := removed + n;
         END IF;
         RETURN removed;
     END $$;",
    // 4: followers. The lease row counts commits (a follower's position) and names the
    // writer's address; a record's row says in which commit it last changed, and a removed
    // record stays as a tombstone (no body) for TOMBSTONE_COMMITS commits, so a follower reads
    // what changed after its position. Each commit wakes followers with a notification that
    // carries no data.
    "ALTER TABLE cifd_lease ADD COLUMN commits bigint NOT NULL DEFAULT 0,
                           ADD COLUMN address text NOT NULL DEFAULT '';
     ALTER TABLE cifd_records ALTER COLUMN body DROP NOT NULL,
                             ADD COLUMN changed_in bigint NOT NULL DEFAULT 0;
     CREATE INDEX cifd_records_by_change ON cifd_records (changed_in);
     CREATE INDEX cifd_tombstones ON cifd_records (changed_in) WHERE body IS NULL;
     DROP FUNCTION cifd_commit;
     CREATE FUNCTION cifd_commit(
         p_epoch bigint, p_lease_seconds double precision,
         p_kinds text[], p_ids text[], p_bodies bytea[],
         p_gone_kinds text[], p_gone_ids text[],
         p_sequences bigint[], p_times bigint[], p_events bytea[],
         p_principals text[], p_request_ids text[], p_fingerprints bytea[],
         p_responses bytea[], p_request_times bigint[],
         p_last_sequence bigint, p_keep_from bigint, p_events_before bigint,
         p_requests_before bigint, p_request_rows bigint, p_request_count bigint,
         OUT removed bigint, OUT commit_number bigint)
     LANGUAGE plpgsql AS $$
     DECLARE
         n bigint;
     BEGIN
         removed := 0;
         UPDATE cifd_lease SET expires_at = now() + make_interval(secs => p_lease_seconds),
                               commits = commits + 1
         WHERE epoch = p_epoch
         RETURNING commits INTO commit_number;
         IF NOT FOUND THEN
             RAISE EXCEPTION 'cifd lease lost' USING ERRCODE = 'CIF01';
         END IF;
         INSERT INTO cifd_records (kind, id, body, changed_in)
         SELECT k, i, b, commit_number FROM unnest(p_kinds, p_ids, p_bodies) AS r(k, i, b)
         ON CONFLICT (kind, id) DO UPDATE
         SET body = EXCLUDED.body, changed_in = EXCLUDED.changed_in;
         UPDATE cifd_records SET body = NULL, changed_in = commit_number
         WHERE (kind, id) IN (SELECT * FROM unnest(p_gone_kinds, p_gone_ids));
         DELETE FROM cifd_records
         WHERE body IS NULL AND changed_in < commit_number - 100000;
         INSERT INTO cifd_events (sequence, time_ms, body)
         SELECT * FROM unnest(p_sequences, p_times, p_events);
         INSERT INTO cifd_requests (principal, request_id, fingerprint, response, time_ms)
         SELECT * FROM unnest(p_principals, p_request_ids, p_fingerprints, p_responses,
                              p_request_times)
         ON CONFLICT (principal, request_id) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response,
             time_ms = EXCLUDED.time_ms;
         IF p_last_sequence IS NOT NULL THEN
             UPDATE cifd_meta SET value = p_last_sequence::text WHERE key = 'last_sequence';
             DELETE FROM cifd_events WHERE sequence <= p_keep_from OR time_ms < p_events_before;
         END IF;
         DELETE FROM cifd_requests WHERE time_ms < p_requests_before;
         GET DIAGNOSTICS removed = ROW_COUNT;
         IF p_request_rows - removed > p_request_count + p_request_count / 10 THEN
             DELETE FROM cifd_requests WHERE (principal, request_id) IN
                 (SELECT principal, request_id FROM cifd_requests ORDER BY time_ms
                  LIMIT p_request_rows - removed - p_request_count);
             GET DIAGNOSTICS n = ROW_COUNT;
             removed := removed + n;
         END IF;
         PERFORM pg_notify('cifd_commits', commit_number::text);
     END $$;",
    // 5: which desks have a stream open on which replica, each row a lease the replica
    // renews, so the writer knows a desk is online wherever its page streams from, and a
    // replica that dies (and never says its streams closed) lets its rows expire.
    // The writer marks a row acknowledged once it counts the desk online, so the replica
    // starts the desk's stream only then (a toast raised at once finds the desk online).
    "CREATE TABLE cifd_desk_streams (replica text NOT NULL, agent text NOT NULL,
                                     expires_at timestamptz NOT NULL,
                                     acknowledged boolean NOT NULL DEFAULT false,
                                     PRIMARY KEY (replica, agent));",
    // 6: the trims as ranges with both ends, the lower one the oldest row left (found
    // through the index). The plan PostgreSQL keeps for a function's statement is made
    // without the parameters' values, and it plans a one-sided comparison as matching a third
    // of the table: with migration 4's trims every commit scanned the whole event log once the
    // history was full (12 ms a commit at 100,000 events); a range is planned as a few rows,
    // through the index.
    "CREATE OR REPLACE FUNCTION cifd_commit(
         p_epoch bigint, p_lease_seconds double precision,
         p_kinds text[], p_ids text[], p_bodies bytea[],
         p_gone_kinds text[], p_gone_ids text[],
         p_sequences bigint[], p_times bigint[], p_events bytea[],
         p_principals text[], p_request_ids text[], p_fingerprints bytea[],
         p_responses bytea[], p_request_times bigint[],
         p_last_sequence bigint, p_keep_from bigint, p_events_before bigint,
         p_requests_before bigint, p_request_rows bigint, p_request_count bigint,
         OUT removed bigint, OUT commit_number bigint)
     LANGUAGE plpgsql AS $$
     DECLARE
         n bigint;
     BEGIN
         removed := 0;
         UPDATE cifd_lease SET expires_at = now() + make_interval(secs => p_lease_seconds),
                               commits = commits + 1
         WHERE epoch = p_epoch
         RETURNING commits INTO commit_number;
         IF NOT FOUND THEN
             RAISE EXCEPTION 'cifd lease lost' USING ERRCODE = 'CIF01';
         END IF;
         INSERT INTO cifd_records (kind, id, body, changed_in)
         SELECT k, i, b, commit_number FROM unnest(p_kinds, p_ids, p_bodies) AS r(k, i, b)
         ON CONFLICT (kind, id) DO UPDATE
         SET body = EXCLUDED.body, changed_in = EXCLUDED.changed_in;
         UPDATE cifd_records SET body = NULL, changed_in = commit_number
         WHERE (kind, id) IN (SELECT * FROM unnest(p_gone_kinds, p_gone_ids));
         DELETE FROM cifd_records
         WHERE body IS NULL AND changed_in < commit_number - 100000
           AND changed_in >= (SELECT min(changed_in) FROM cifd_records WHERE body IS NULL);
         INSERT INTO cifd_events (sequence, time_ms, body)
         SELECT * FROM unnest(p_sequences, p_times, p_events);
         INSERT INTO cifd_requests (principal, request_id, fingerprint, response, time_ms)
         SELECT * FROM unnest(p_principals, p_request_ids, p_fingerprints, p_responses,
                              p_request_times)
         ON CONFLICT (principal, request_id) DO UPDATE
         SET fingerprint = EXCLUDED.fingerprint, response = EXCLUDED.response,
             time_ms = EXCLUDED.time_ms;
         IF p_last_sequence IS NOT NULL THEN
             UPDATE cifd_meta SET value = p_last_sequence::text WHERE key = 'last_sequence';
             DELETE FROM cifd_events
             WHERE sequence <= p_keep_from
               AND sequence >= (SELECT min(sequence) FROM cifd_events);
             DELETE FROM cifd_events
             WHERE time_ms < p_events_before
               AND time_ms >= (SELECT min(time_ms) FROM cifd_events);
         END IF;
         DELETE FROM cifd_requests
         WHERE time_ms < p_requests_before
           AND time_ms >= (SELECT min(time_ms) FROM cifd_requests);
         GET DIAGNOSTICS removed = ROW_COUNT;
         IF p_request_rows - removed > p_request_count + p_request_count / 10 THEN
             DELETE FROM cifd_requests WHERE (principal, request_id) IN
                 (SELECT principal, request_id FROM cifd_requests ORDER BY time_ms
                  LIMIT p_request_rows - removed - p_request_count);
             GET DIAGNOSTICS n = ROW_COUNT;
             removed := removed + n;
         END IF;
         PERFORM pg_notify('cifd_commits', commit_number::text);
     END $$;",
];

/// How many commits a removed record's tombstone is kept for (migration 4): a follower
/// further behind than this cannot tell what was removed, and starts again from a full load.
pub const TOMBSTONE_COMMITS: u64 = 100_000;

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
