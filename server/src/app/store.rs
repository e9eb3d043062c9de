//! Durability behind one trait. A command's changed records, its events and its idempotency
//! record travel as one [`Batch`]; the store writes batches atomically, many at once (group
//! commit), and says so only once they are on disk.

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use uuid::Uuid;

/// Which answers to calls with a request id are kept for retries, in memory and on disk: the
/// newest `count`, none older than `age`.
#[derive(Debug, Clone, Copy)]
pub struct RequestRetention {
    pub count: usize,
    pub age: std::time::Duration,
}

impl Default for RequestRetention {
    fn default() -> Self {
        Self {
            count: 100_000,
            age: std::time::Duration::from_secs(24 * 3600),
        }
    }
}

use super::log::Logged;
use crate::domain::CredentialHash;
use crate::domain::control_plane::{Changes, Records};

/// Everything one command changed, to be stored atomically.
#[derive(Debug, Default)]
pub struct Batch {
    pub changes: Changes,
    pub events: Vec<Arc<Logged>>,
    pub requests: Vec<RequestRecord>,
}

/// A successful answer to a call that carried a request id (AIP-155), so a retry gets it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// Who called, as `provider <id>`, `agent <id>` or `operator`.
    pub principal: String,
    pub request_id: String,
    /// The SHA-256 of the request, to tell a retry from another request under the same id.
    pub fingerprint: [u8; 32],
    /// The encoded response; credentials are left out of what is stored.
    pub response: Vec<u8>,
    pub time: SystemTime,
}

/// What a data directory held at startup.
#[derive(Debug)]
pub struct Loaded {
    pub log_id: Uuid,
    pub last_sequence: u64,
    pub records: Records,
    /// The retained events, oldest first.
    pub tail: Vec<Logged>,
    pub requests: Vec<RequestRecord>,
    /// The operator token's hash, when cifd generated it on an earlier start.
    pub operator_credential: Option<CredentialHash>,
    /// The store's count of commits this reflects, where a follower goes on from.
    pub position: u64,
    /// Whether this server writes the store or follows another that does.
    pub role: Role,
}

/// The part a server plays on its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It applies every command: a store only one server uses, or the one that holds a
    /// shared store's lease.
    Writer,
    /// Another server writes the shared store; this one reads what it committed.
    Follower,
}

/// What a follower read: what the writer committed after the follower's position.
#[derive(Debug, Default)]
pub struct Followed {
    /// The store's count of commits this reflects.
    pub position: u64,
    /// The records changed since the position, as they are now (`None`: removed).
    pub changes: Changes,
    /// The events after the follower's last sequence, in order.
    pub events: Vec<Logged>,
    /// Where the writer takes calls, as it announced itself; empty while none holds the lease.
    pub writer: String,
    /// Whether the writer's lease ran out: a follower may take its place.
    pub writer_gone: bool,
}

/// Why the store cannot go on. Every message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Unusable(String),
    #[error("writing {path} failed: {detail}")]
    Write { path: String, detail: String },
    /// Another process took the store over: this one must not acknowledge anything more.
    #[error("{0}")]
    Deposed(String),
}

/// Which events and answers a store keeps, besides the state: the retained history (by
/// count and age) and the answers to calls with a request id.
#[derive(Debug, Clone)]
pub struct Retention {
    pub history: usize,
    pub history_age: std::time::Duration,
    pub requests: RequestRetention,
}

/// Where the state is kept. The application commits through it on one writer thread (which
/// also makes group commit natural), so the calls are synchronous; a store for a server
/// database implements them with a synchronous client or its own runtime, never blocking the
/// async workers. A store holds the state as records plus the log's retained tail, so a
/// follower can later read what was committed after a position (the same [`Batch`]es: changed
/// records and events) without the callers of this trait changing.
pub trait Store: Send + Sized + 'static {
    /// Where the store keeps its data: a data directory, a database's address.
    type Location: ?Sized;

    /// Opens the store at `at` (creating or migrating it) and loads what it holds. Data it
    /// cannot use is refused with what to do; nothing is ever reset.
    fn open(at: &Self::Location, retention: Retention) -> Result<(Self, Loaded), StoreError>;

    /// Writes the batches atomically (all or none) and returns once they are durable.
    fn commit(&mut self, batches: &[&Batch]) -> Result<(), StoreError>;

    /// Keeps the hash of the operator token cifd generated on its first start, so the token
    /// is shown only once.
    fn set_operator_credential(&mut self, hash: &CredentialHash) -> Result<(), StoreError>;

    /// How often the writer calls [`Store::keep_alive`] while no batch comes: a store that
    /// holds a lease renews it that often. `None`: never.
    fn keep_alive_every(&self) -> Option<std::time::Duration> {
        None
    }

    /// Renews what the store holds between commits (a lease). An error stops the server as
    /// a failed commit does.
    fn keep_alive(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The store's count of commits so far (what a follower's position counts); 0 for a
    /// store only one server uses.
    fn position(&self) -> u64 {
        0
    }

    /// A follower: waits up to `wait` for the writer's next commit after `position` (the
    /// store wakes it; it also looks when `wait` has passed), then reads what was committed
    /// after `position` and the event `sequence`. An error stops the follower.
    fn read_after(
        &mut self,
        _position: u64,
        _sequence: u64,
        _wait: std::time::Duration,
    ) -> Result<Followed, StoreError> {
        Err(StoreError::Unusable(
            "this store has no writer to follow".into(),
        ))
    }

    /// A follower whose writer's lease ran out takes its place: `Ok(true)` when it now
    /// holds the lease (it reads what was committed up to then, then writes), `Ok(false)` when
    /// another follower was quicker.
    fn take_over(&mut self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// A follower: announces the desks (agent ids) that have a stream open on this server, so
    /// the writer counts them online (the announcement lasts a few seconds unless repeated);
    /// returns those of them the writer has acknowledged.
    fn announce_desks(&mut self, agents: &[String]) -> Result<Vec<String>, StoreError> {
        Ok(agents.to_vec())
    }

    /// The writer: the desks (agent ids) that have a stream open on another server now, each
    /// with whether the writer acknowledged every announcement of it; `None` for a store no
    /// other server uses.
    fn desks_elsewhere(&mut self) -> Result<Option<Vec<(String, bool)>>, StoreError> {
        Ok(None)
    }

    /// The writer: whether another server announced a desk it had not announced before,
    /// since the last call (so the writer looks at once rather than at its next round).
    fn desks_announced(&mut self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// The writer: it counts these desks online now (see [`Store::announce_desks`]).
    fn acknowledge_desks(&mut self, _agents: &[String]) -> Result<(), StoreError> {
        Ok(())
    }

    /// The kept answers to calls with a request id, for a follower that took over.
    fn load_requests(&mut self) -> Result<Vec<RequestRecord>, StoreError> {
        Ok(Vec::new())
    }

    /// Writes one consistent copy of everything at `at` (a server may be running on it) to
    /// the new file `to`, to start from only through [`Store::restore`]. A server database
    /// is backed up with its own tools (its dumps and point-in-time recovery); such a store
    /// answers with what to use instead.
    fn backup(at: &Self::Location, to: &Path) -> Result<(), StoreError>;

    /// Starts `at`, which must be empty, from a backup, with a new log id: clients of the old
    /// server resynchronise (LOG_CHANGED) instead of resuming into a history that moved
    /// backwards.
    fn restore(from: &Path, at: &Self::Location) -> Result<Uuid, StoreError>;
}
