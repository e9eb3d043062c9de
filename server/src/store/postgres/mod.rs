//! The PostgreSQL store, for cifd replicas sharing one database (`--store postgres://...`).
//!
//! Same tables as the embedded store, prefixed `cifd_`: `cifd_records` (one row per record,
//! its protobuf body), `cifd_events` (the retained tail of the log), `cifd_requests` (answers
//! to calls with a request id), `cifd_meta` (the log id, the newest sequence). A commit is one
//! statement, a call of the function `cifd_commit` (migration 3) with the group's rows as
//! arrays: one transaction and one round trip, made durable by PostgreSQL's synchronous
//! commit (its default) before the answer. The schema changes through numbered migrations, applied under a transaction
//! advisory lock so replicas starting together migrate once.
//!
//! One cifd writes a database: it holds the lease (`cifd_lease`: an epoch, a holder, an
//! expiry), renews it with every commit and every second between commits, and every commit's
//! transaction first renews it only if the epoch is still its own. A cifd that was paused or
//! cut off past its lease, and whose database another cifd took over (raising the epoch),
//! finds its commit refused in the same transaction and stops: it can never commit after
//! losing the database (the fence). A session advisory lock alone would not do: a paused
//! process keeps its PostgreSQL session, and so the lock.
//!
//! The writer's session has lock, statement and idle-in-transaction timeouts and TCP
//! keepalives, so a stuck or cut-off connection fails its commit within seconds instead of
//! hanging the writer; where no error comes at all (a partition that drops packets behind a
//! proxy), the store thread's watch stops the server (see `app::writer`). The password never travels in the URL: it comes from
//! `CIF_STORE_PASSWORD` (or libpq's `PGPASSWORD`).

mod migrations;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use postgres::{Client, Config, NoTls, Statement, Transaction};
use uuid::Uuid;

use super::encoding::Stored;
use super::rows::{self, from_millis, millis, millis_before};
use crate::app::log::Logged;
use crate::app::{Batch, Followed, Loaded, RequestRecord, Retention, Store, StoreError};
use crate::domain::CredentialHash;
use crate::domain::control_plane::Records;
use crate::domain::events::Event;
use crate::domain::sharing::Sharing;

/// Where a PostgreSQL store is: its URL, without a password, and the password; and where
/// this cifd takes calls, announced to the other replicas while it is the writer.
#[derive(Clone)]
pub struct PostgresTarget {
    pub url: String,
    pub password: Option<String>,
    pub address: String,
}

impl std::fmt::Debug for PostgresTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is never printed, even in a debug dump.
        f.debug_struct("PostgresTarget")
            .field("url", &self.url)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// How long a lease lasts unless renewed: what a crashed writer delays its successor by (a
/// follower takes over within this and its poll, [`crate::app`]'s follower loop).
const LEASE: Duration = Duration::from_millis(1500);

/// How often the lease is renewed between commits.
const RENEW_EVERY: Duration = Duration::from_millis(400);

/// How long a replica's announcement that a desk streams from it lasts unless repeated: how
/// long after a replica dies its desks still count as online (then their grace period runs).
pub const DESK_STREAM_LEASE: Duration = Duration::from_secs(3);

/// The notification channel a follower wakes the writer on when a desk starts streaming
/// from it.
const DESKS_CHANNEL: &str = "cifd_desks";

/// The notification channel every commit wakes followers on (migration 4).
const COMMITS_CHANNEL: &str = "cifd_commits";

/// What to check when the database cannot be reached or used.
const WHAT_TO_CHECK: &str = "check the URL in --store (CIF_STORE), that PostgreSQL runs and accepts connections from here, and the password in CIF_STORE_PASSWORD";

pub struct PostgresStore {
    client: Client,
    /// The database as messages name it: host, port and database, never the password.
    shown: String,
    retention: Retention,
    /// Rows in `cifd_requests`, so trimming them by count needs no count(*) per commit.
    request_rows: usize,
    /// The lease's epoch this cifd took; 0 before it holds the lease.
    epoch: i64,
    /// Where this cifd takes calls, written into the lease when it takes it.
    address: String,
    /// This process among the replicas: it names the lease's holder and its desk streams.
    replica: String,
    /// The store's count of commits (the lease row's), as of this cifd's last commit or read.
    commits: u64,
    /// The writer's statements, prepared once: each would otherwise cost a round trip more
    /// per commit.
    statements: Option<Statements>,
    /// What the events read share (a follower's as the writer's do).
    sharing: Sharing,
}

/// The statements the writer runs: the lease's renewal, and a whole commit (the function
/// `cifd_commit`, one round trip); and the one a follower reads with. Its ranges have both
/// ends (the newest commit and sequence of the same snapshot), because the plan PostgreSQL
/// keeps for a prepared statement is made without the parameters' values, and a one-sided
/// comparison would be planned as a third of the table: a scan of the whole log.
struct Statements {
    renew: Statement,
    commit: Statement,
    follow: Statement,
}

impl Statements {
    fn prepare(client: &mut Client) -> Result<Self, postgres::Error> {
        Ok(Statements {
            renew: client.prepare(RENEW)?,
            commit: client.prepare(
                "SELECT removed, commit_number
                 FROM cifd_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                                  $15, $16, $17, $18, $19, $20, $21)",
            )?,
            follow: client.prepare(
                "SELECT 0::smallint AS part, address AS kind, NULL::text AS id,
                        NULL::bytea AS body, commits AS number, expires_at <= now() AS gone
                 FROM cifd_lease
                 UNION ALL
                 SELECT 1::smallint, kind, id, body, changed_in, NULL FROM cifd_records
                 WHERE changed_in > $1 AND changed_in <= (SELECT commits FROM cifd_lease)
                 UNION ALL
                 SELECT 2::smallint, NULL, NULL, body, sequence, NULL FROM cifd_events
                 WHERE sequence > $2 AND sequence <= (SELECT value::bigint FROM cifd_meta
                                                      WHERE key = 'last_sequence')
                 ORDER BY part, number",
            )?,
        })
    }
}

/// Renews the lease while its epoch is the writer's (the fence).
const RENEW: &str = "UPDATE cifd_lease SET expires_at = now() + make_interval(secs => $2)
                     WHERE epoch = $1";

fn unusable(shown: &str, error: postgres::Error) -> StoreError {
    StoreError::Unusable(format!("{shown} cannot be used ({error}); {WHAT_TO_CHECK}"))
}

fn sequence_value(sequence: u64) -> i64 {
    i64::try_from(sequence).unwrap_or(i64::MAX)
}

/// The connection's settings: the URL's, the password, and the writer's timeouts.
fn config(target: &PostgresTarget) -> Result<(Config, String), StoreError> {
    let mut config: Config = target.url.parse().map_err(|error| {
        StoreError::Unusable(format!(
            "--store is not a PostgreSQL URL ({error}); give postgres://USER@HOST:PORT/DATABASE"
        ))
    })?;
    if config.get_password().is_some() {
        return Err(StoreError::Unusable(
            "the --store URL holds a password, which would show in process lists and logs; give the URL without it and the password in CIF_STORE_PASSWORD".into(),
        ));
    }
    if let Some(password) = &target.password {
        config.password(password);
    }
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let shown = format!(
        "PostgreSQL database {} on {host}:{port}",
        config.get_dbname().unwrap_or("(default)")
    );
    config
        .application_name("cifd")
        .connect_timeout(Duration::from_secs(5))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3)
        // Server-side bounds on the writer's session: nothing it does waits forever.
        .options(
            "-c lock_timeout=5s -c statement_timeout=30s -c idle_in_transaction_session_timeout=30s",
        );
    Ok((config, shown))
}

impl PostgresStore {
    fn connect(target: &PostgresTarget, retention: Retention) -> Result<Self, StoreError> {
        let (config, shown) = config(target)?;
        let client = config.connect(NoTls).map_err(|error| {
            StoreError::Unusable(format!(
                "cannot connect to {shown} ({error}); {WHAT_TO_CHECK}"
            ))
        })?;
        Ok(Self {
            client,
            shown,
            retention,
            request_rows: 0,
            epoch: 0,
            address: target.address.clone(),
            replica: format!("cifd {} (pid {})", Uuid::new_v4(), std::process::id()),
            commits: 0,
            statements: None,
            sharing: Sharing::default(),
        })
    }

    /// Takes the lease if it is free or expired (a crashed writer's ends within [`LEASE`]),
    /// naming this cifd and its address; `false` while another cifd holds it. A lease that
    /// names this cifd's own address was held by a cifd that no longer listens there (this
    /// one has the address now): it crashed, and is taken at once. Were it alive after all,
    /// the raised epoch would fence it.
    fn try_claim(&mut self) -> Result<bool, StoreError> {
        let holder = self.replica.clone();
        let mut transaction = self
            .client
            .transaction()
            .map_err(|e| unusable(&self.shown, e))?;
        let row = transaction
            .query_one(
                "SELECT epoch, expires_at <= now() OR address = $1 FROM cifd_lease FOR UPDATE",
                &[&self.address],
            )
            .map_err(|e| unusable(&self.shown, e))?;
        let (epoch, expired): (i64, bool) = (row.get(0), row.get(1));
        if !expired {
            return Ok(false);
        }
        transaction
            .execute(
                "UPDATE cifd_lease SET epoch = $1, holder = $2, address = $3,
                 expires_at = now() + make_interval(secs => $4)",
                &[&(epoch + 1), &holder, &self.address, &LEASE.as_secs_f64()],
            )
            .map_err(|e| unusable(&self.shown, e))?;
        transaction.commit().map_err(|e| unusable(&self.shown, e))?;
        self.epoch = epoch + 1;
        tracing::info!(
            epoch = self.epoch,
            "took the lease of {}: writing",
            self.shown
        );
        Ok(true)
    }

    /// Renews the lease if this cifd still holds it; refused when another took it over.
    fn renew(
        client: &mut impl postgres::GenericClient,
        statement: &Statement,
        epoch: i64,
        shown: &str,
    ) -> Result<(), StoreError> {
        let renewed = client
            .execute(statement, &[&epoch, &LEASE.as_secs_f64()])
            .map_err(|error| StoreError::Write {
                path: shown.to_owned(),
                detail: error.to_string(),
            })?;
        if renewed == 0 {
            return Err(StoreError::Deposed(format!(
                "another cifd took {shown} over (this one held lease epoch {epoch})"
            )));
        }
        Ok(())
    }

    fn unusable(&self, error: postgres::Error) -> StoreError {
        StoreError::Unusable(format!(
            "{} cannot be read ({error}); {WHAT_TO_CHECK}",
            self.shown
        ))
    }

    fn load(&mut self) -> Result<Loaded, StoreError> {
        let shown = self.shown.clone();
        let retention = self.retention.clone();
        let mut transaction = self
            .client
            .build_transaction()
            .read_only(true)
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .start()
            .map_err(|error| StoreError::Unusable(format!("{shown}: {error}")))?;
        let fail = |error: postgres::Error| {
            StoreError::Unusable(format!("{shown} cannot be read ({error}); {WHAT_TO_CHECK}"))
        };
        let meta =
            |transaction: &mut Transaction<'_>, key: &str| -> Result<Option<String>, StoreError> {
                Ok(transaction
                    .query_opt("SELECT value FROM cifd_meta WHERE key = $1", &[&key])
                    .map_err(fail)?
                    .map(|row| row.get(0)))
            };
        let log_id = meta(&mut transaction, "log_id")?
            .and_then(|text| Uuid::try_parse(&text).ok())
            .ok_or_else(|| StoreError::Unusable(format!("{shown} has no valid log id")))?;
        let last_sequence = meta(&mut transaction, "last_sequence")?
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| StoreError::Unusable(format!("{shown} has no valid sequence")))?;
        let operator_credential = meta(&mut transaction, "operator_credential")?
            .map(|text| {
                serde_json::from_str::<CredentialHash>(&text).map_err(|error| {
                    StoreError::Unusable(format!(
                        "{shown} holds an operator credential this cifd cannot read ({error})"
                    ))
                })
            })
            .transpose()?;

        let mut records = Records::default();
        for row in transaction
            .query(
                "SELECT kind, body FROM cifd_records WHERE body IS NOT NULL",
                &[],
            )
            .map_err(fail)?
        {
            let kind: &str = row.get(0);
            let body: &[u8] = row.get(1);
            rows::load(&mut records, kind, body)
                .map_err(|error| StoreError::Unusable(format!("{shown}: {error}")))?;
        }

        let cutoff = millis_before(retention.history_age);
        let limit = i64::try_from(retention.history).unwrap_or(i64::MAX);
        self.sharing = Sharing::with(&records.sessions);
        let mut tail = transaction
            .query(
                "SELECT sequence, body FROM cifd_events WHERE time_ms >= $1
                 ORDER BY sequence DESC LIMIT $2",
                &[&cutoff, &limit],
            )
            .map_err(fail)?
            .into_iter()
            .map(|row| {
                let sequence: i64 = row.get(0);
                let mut event = Event::decode(row.get(1)).map_err(|error| {
                    StoreError::Unusable(format!(
                        "{shown} holds event {sequence}, which this cifd cannot read ({error})"
                    ))
                })?;
                self.sharing.share(&mut event);
                Ok(Logged {
                    sequence: u64::try_from(sequence).unwrap_or(0),
                    event,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        tail.reverse();

        let commits: i64 = transaction
            .query_one("SELECT commits FROM cifd_lease", &[])
            .map_err(fail)?
            .get(0);
        let requests = Self::requests(&mut transaction, &retention, &fail)?;
        let request_rows: i64 = transaction
            .query_one("SELECT count(*) FROM cifd_requests", &[])
            .map_err(fail)?
            .get(0);
        transaction.commit().map_err(fail)?;
        self.request_rows = usize::try_from(request_rows).unwrap_or(0);
        self.commits = u64::try_from(commits).unwrap_or(0);
        Ok(Loaded {
            log_id,
            last_sequence,
            records,
            tail,
            requests,
            operator_credential,
            position: self.commits,
            role: crate::app::Role::Writer,
        })
    }

    /// The kept answers, oldest first.
    fn requests(
        transaction: &mut Transaction<'_>,
        retention: &Retention,
        fail: &dyn Fn(postgres::Error) -> StoreError,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let cutoff = millis_before(retention.requests.age);
        let limit = i64::try_from(retention.requests.count).unwrap_or(i64::MAX);
        let mut requests = transaction
            .query(
                "SELECT principal, request_id, fingerprint, response, time_ms FROM cifd_requests
                 WHERE time_ms >= $1 ORDER BY time_ms DESC LIMIT $2",
                &[&cutoff, &limit],
            )
            .map_err(fail)?
            .into_iter()
            .map(|row| RequestRecord {
                principal: row.get(0),
                request_id: row.get(1),
                fingerprint: row.get::<_, &[u8]>(2).try_into().unwrap_or([0; 32]),
                response: row.get(3),
                time: from_millis(row.get(4)),
            })
            .collect::<Vec<_>>();
        requests.reverse();
        Ok(requests)
    }
}

impl PostgresStore {
    /// What was committed after `position` (records) and after the event `sequence`, read
    /// in one snapshot, so it is whole commits only.
    fn read_changes(&mut self, position: u64, sequence: u64) -> Result<Followed, StoreError> {
        let shown = self.shown.clone();
        let fail = |error: postgres::Error| {
            StoreError::Unusable(format!("{shown} cannot be read ({error}); {WHAT_TO_CHECK}"))
        };
        let statements = self.statements.as_ref().expect("prepared when opened");
        // One statement, so one snapshot and one round trip: the lease, then the records
        // changed after the position, then the events after the sequence, in order.
        let rows = self
            .client
            .query(
                &statements.follow,
                &[&sequence_value(position), &sequence_value(sequence)],
            )
            .map_err(fail)?;
        let mut rows = rows.into_iter();
        let lease = rows
            .next()
            .ok_or_else(|| StoreError::Unusable(format!("{shown} has no lease row")))?;
        let commits = u64::try_from(lease.get::<_, i64>(4)).unwrap_or(0);
        let mut followed = Followed {
            position: commits.max(position),
            writer: lease.get(1),
            writer_gone: lease.get(5),
            ..Followed::default()
        };
        if commits > position && commits - position > migrations::TOMBSTONE_COMMITS {
            return Err(StoreError::Unusable(format!(
                "this cifd fell {} commits behind the writer of {shown}, further than what was removed is remembered; restart it to load the state afresh",
                commits - position
            )));
        }
        for row in rows {
            let part: i16 = row.get(0);
            if part == 1 {
                rows::change(&mut followed.changes, row.get(1), row.get(2), row.get(3))
                    .map_err(|error| StoreError::Unusable(format!("{shown}: {error}")))?;
                continue;
            }
            let at = u64::try_from(row.get::<_, i64>(4)).unwrap_or(0);
            let expected = sequence + followed.events.len() as u64 + 1;
            if at != expected {
                return Err(StoreError::Unusable(format!(
                    "event {expected} is no longer kept in {shown} (the history was trimmed before this cifd read it); restart it to load the state afresh"
                )));
            }
            let mut event = Event::decode(row.get(3)).map_err(|error| {
                StoreError::Unusable(format!(
                    "{shown} holds event {at}, which this cifd cannot read ({error})"
                ))
            })?;
            self.sharing.share(&mut event);
            followed.events.push(Logged {
                sequence: at,
                event,
            });
        }
        self.commits = followed.position;
        Ok(followed)
    }
}

/// A group of batches as the arrays `cifd_commit` takes. A record or answer that several
/// batches change is written as the last one left it.
#[derive(Default)]
struct Arrays<'a> {
    kinds: Vec<&'static str>,
    ids: Vec<String>,
    bodies: Vec<Vec<u8>>,
    gone_kinds: Vec<&'static str>,
    gone_ids: Vec<String>,
    sequences: Vec<i64>,
    times: Vec<i64>,
    events: Vec<Vec<u8>>,
    answers: Vec<&'a RequestRecord>,
}

impl<'a> Arrays<'a> {
    fn of(batches: &[&'a Batch]) -> Self {
        let mut records: HashMap<(&'static str, String), Option<Vec<u8>>> = HashMap::new();
        let mut answers: HashMap<(&str, &str), &RequestRecord> = HashMap::new();
        let mut arrays = Arrays::default();
        for batch in batches {
            for row in rows::changed(&batch.changes) {
                records.insert((row.kind, row.id), row.body);
            }
            for logged in &batch.events {
                arrays.sequences.push(sequence_value(logged.sequence));
                arrays.times.push(millis(logged.event.time));
                arrays.events.push(logged.event.encode());
            }
            for request in &batch.requests {
                answers.insert((&request.principal, &request.request_id), request);
            }
        }
        for ((kind, id), body) in records {
            match body {
                Some(body) => {
                    arrays.kinds.push(kind);
                    arrays.ids.push(id);
                    arrays.bodies.push(body);
                }
                None => {
                    arrays.gone_kinds.push(kind);
                    arrays.gone_ids.push(id);
                }
            }
        }
        arrays.answers = answers.into_values().collect();
        arrays
    }
}

impl Store for PostgresStore {
    type Location = PostgresTarget;

    fn open(target: &PostgresTarget, retention: Retention) -> Result<(Self, Loaded), StoreError> {
        let mut store = Self::connect(target, retention)?;
        migrations::migrate(&mut store.client, &store.shown)?;
        let role = if store.try_claim()? {
            store
                .client
                .batch_execute(&format!("LISTEN {DESKS_CHANNEL}"))
                .map_err(|e| store.unusable(e))?;
            crate::app::Role::Writer
        } else {
            // Woken by every commit from before the load on, so none is missed.
            store
                .client
                .batch_execute(&format!("LISTEN {COMMITS_CHANNEL}"))
                .map_err(|e| store.unusable(e))?;
            tracing::info!("another cifd writes {}: following it", store.shown);
            crate::app::Role::Follower
        };
        let statements = Statements::prepare(&mut store.client).map_err(|e| store.unusable(e))?;
        store.statements = Some(statements);
        let loaded = store.load()?;
        Ok((store, Loaded { role, ..loaded }))
    }

    fn commit(&mut self, batches: &[&Batch]) -> Result<(), StoreError> {
        let arrays = Arrays::of(batches);
        let answers = &arrays.answers;
        let principals: Vec<&str> = answers.iter().map(|a| a.principal.as_str()).collect();
        let request_ids: Vec<&str> = answers.iter().map(|a| a.request_id.as_str()).collect();
        let fingerprints: Vec<&[u8]> = answers.iter().map(|a| a.fingerprint.as_slice()).collect();
        let responses: Vec<&[u8]> = answers.iter().map(|a| a.response.as_slice()).collect();
        let request_times: Vec<i64> = answers.iter().map(|a| millis(a.time)).collect();
        let last = arrays.sequences.iter().copied().max();
        let retention = &self.retention;
        let keep_from =
            last.map(|last| last.saturating_sub(sequence_value(retention.history as u64)));
        self.request_rows += answers.len();
        let statements = self.statements.as_ref().expect("prepared when opened");
        let committed = self.client.query_one(
            &statements.commit,
            &[
                &self.epoch,
                &LEASE.as_secs_f64(),
                &arrays.kinds,
                &arrays.ids,
                &arrays.bodies,
                &arrays.gone_kinds,
                &arrays.gone_ids,
                &arrays.sequences,
                &arrays.times,
                &arrays.events,
                &principals,
                &request_ids,
                &fingerprints,
                &responses,
                &request_times,
                &last,
                &keep_from,
                &millis_before(retention.history_age),
                &millis_before(retention.requests.age),
                &i64::try_from(self.request_rows).unwrap_or(i64::MAX),
                &i64::try_from(retention.requests.count).unwrap_or(i64::MAX),
            ],
        );
        match committed {
            Ok(row) => {
                let removed: i64 = row.get(0);
                let commits: i64 = row.get(1);
                self.commits = u64::try_from(commits).unwrap_or(0);
                self.request_rows = self
                    .request_rows
                    .saturating_sub(usize::try_from(removed).unwrap_or(0));
                Ok(())
            }
            Err(error) if error.code().is_some_and(|code| code.code() == "CIF01") => {
                Err(StoreError::Deposed(format!(
                    "another cifd took {} over (this one held lease epoch {})",
                    self.shown, self.epoch
                )))
            }
            Err(error) => Err(StoreError::Write {
                path: self.shown.clone(),
                detail: error.to_string(),
            }),
        }
    }

    fn set_operator_credential(&mut self, hash: &CredentialHash) -> Result<(), StoreError> {
        let body = serde_json::to_string(hash).expect("a hash serializes");
        self.client
            .execute(
                "INSERT INTO cifd_meta (key, value) VALUES ('operator_credential', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&body],
            )
            .map_err(|error| self.unusable(error))?;
        Ok(())
    }

    fn keep_alive_every(&self) -> Option<Duration> {
        Some(RENEW_EVERY)
    }

    fn keep_alive(&mut self) -> Result<(), StoreError> {
        let statements = self.statements.as_ref().expect("prepared when opened");
        Self::renew(&mut self.client, &statements.renew, self.epoch, &self.shown)
    }

    fn position(&self) -> u64 {
        self.commits
    }

    fn read_after(
        &mut self,
        position: u64,
        sequence: u64,
        wait: Duration,
    ) -> Result<Followed, StoreError> {
        if self.commits <= position {
            // Woken by the next commit's notification, or looking anyway once `wait` is up.
            use postgres::fallible_iterator::FallibleIterator as _;
            let shown = &self.shown;
            let lost = |error: postgres::Error| {
                StoreError::Unusable(format!(
                    "lost the connection to {shown} ({error}); {WHAT_TO_CHECK}"
                ))
            };
            let mut notifications = self.client.notifications();
            if notifications
                .timeout_iter(wait)
                .next()
                .map_err(lost)?
                .is_some()
            {
                while notifications.iter().next().map_err(lost)?.is_some() {}
            }
        }
        self.read_changes(position, sequence)
    }

    fn take_over(&mut self) -> Result<bool, StoreError> {
        if !self.try_claim()? {
            return Ok(false);
        }
        // The writer is not woken by its own commits, and counts its own desk streams itself.
        self.client
            .batch_execute(&format!("UNLISTEN *; LISTEN {DESKS_CHANNEL}"))
            .map_err(|e| self.unusable(e))?;
        // Desks count online with this writer only once it has seen them itself.
        self.client
            .batch_execute("UPDATE cifd_desk_streams SET acknowledged = false")
            .map_err(|e| self.unusable(e))?;
        self.client
            .execute(
                "DELETE FROM cifd_desk_streams WHERE replica = $1",
                &[&self.replica],
            )
            .map_err(|e| self.unusable(e))?;
        Ok(true)
    }

    fn announce_desks(&mut self, agents: &[String]) -> Result<Vec<String>, StoreError> {
        let mut transaction = self
            .client
            .transaction()
            .map_err(|e| unusable(&self.shown, e))?;
        transaction
            .execute(
                "DELETE FROM cifd_desk_streams WHERE replica = $1 AND agent <> ALL($2)",
                &[&self.replica, &agents],
            )
            .map_err(|e| unusable(&self.shown, e))?;
        transaction
            .execute(
                "INSERT INTO cifd_desk_streams (replica, agent, expires_at)
                 SELECT $1, agent, now() + make_interval(secs => $3)
                 FROM unnest($2::text[]) AS agent
                 ON CONFLICT (replica, agent) DO UPDATE SET expires_at = EXCLUDED.expires_at",
                &[&self.replica, &agents, &DESK_STREAM_LEASE.as_secs_f64()],
            )
            .map_err(|e| unusable(&self.shown, e))?;
        let fresh: i64 = transaction
            .query_one(
                "SELECT count(*) FROM cifd_desk_streams WHERE replica = $1 AND NOT acknowledged",
                &[&self.replica],
            )
            .map_err(|e| unusable(&self.shown, e))?
            .get(0);
        if fresh > 0 {
            // Wakes the writer to look now (delivered when this commits).
            transaction
                .execute("SELECT pg_notify($1, '')", &[&DESKS_CHANNEL])
                .map_err(|e| unusable(&self.shown, e))?;
        }
        let acknowledged = transaction
            .query(
                "SELECT agent FROM cifd_desk_streams WHERE replica = $1 AND acknowledged",
                &[&self.replica],
            )
            .map_err(|e| unusable(&self.shown, e))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        transaction.commit().map_err(|e| unusable(&self.shown, e))?;
        Ok(acknowledged)
    }

    fn acknowledge_desks(&mut self, agents: &[String]) -> Result<(), StoreError> {
        self.client
            .execute(
                "UPDATE cifd_desk_streams SET acknowledged = true
                 WHERE agent = ANY($1) AND NOT acknowledged",
                &[&agents],
            )
            .map_err(|error| StoreError::Write {
                path: self.shown.clone(),
                detail: error.to_string(),
            })?;
        Ok(())
    }

    fn desks_elsewhere(&mut self) -> Result<Option<Vec<(String, bool)>>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT agent, bool_and(acknowledged) FROM cifd_desk_streams
                 WHERE expires_at > now() AND replica <> $1 GROUP BY agent",
                &[&self.replica],
            )
            .map_err(|error| StoreError::Write {
                path: self.shown.clone(),
                detail: error.to_string(),
            })?;
        Ok(Some(
            rows.iter().map(|row| (row.get(0), row.get(1))).collect(),
        ))
    }

    fn desks_announced(&mut self) -> Result<bool, StoreError> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let mut announced = false;
        let mut notifications = self.client.notifications();
        while let Some(notification) =
            notifications
                .iter()
                .next()
                .map_err(|error| StoreError::Write {
                    path: self.shown.clone(),
                    detail: error.to_string(),
                })?
        {
            announced |= notification.channel() == DESKS_CHANNEL;
        }
        Ok(announced)
    }

    fn load_requests(&mut self) -> Result<Vec<RequestRecord>, StoreError> {
        let shown = self.shown.clone();
        let retention = self.retention.clone();
        let fail = |error: postgres::Error| {
            StoreError::Unusable(format!("{shown} cannot be read ({error}); {WHAT_TO_CHECK}"))
        };
        let mut transaction = self.client.transaction().map_err(fail)?;
        let requests = Self::requests(&mut transaction, &retention, &fail)?;
        let rows: i64 = transaction
            .query_one("SELECT count(*) FROM cifd_requests", &[])
            .map_err(fail)?
            .get(0);
        transaction.commit().map_err(fail)?;
        self.request_rows = usize::try_from(rows).unwrap_or(0);
        Ok(requests)
    }

    fn backup(_: &PostgresTarget, _: &Path) -> Result<(), StoreError> {
        Err(StoreError::Unusable(
            "a PostgreSQL store is backed up with PostgreSQL's own tools: pg_dump, or continuous archiving for point-in-time recovery".into(),
        ))
    }

    fn restore(_: &Path, _: &PostgresTarget) -> Result<Uuid, StoreError> {
        Err(StoreError::Unusable(
            "a PostgreSQL store is restored with PostgreSQL's own tools (pg_restore, or point-in-time recovery); clients then resynchronise if the restored log is behind".into(),
        ))
    }
}

impl Drop for PostgresStore {
    /// A cifd that stops hands the lease back, so the next one takes over at once rather than
    /// after [`LEASE`].
    fn drop(&mut self) {
        if self.epoch > 0 {
            let _ = self.client.execute(
                "UPDATE cifd_lease SET expires_at = now() WHERE epoch = $1",
                &[&self.epoch],
            );
        }
    }
}
