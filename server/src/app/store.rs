//! Durability behind one trait. A command's changed records, its events and its idempotency
//! record travel as one [`Batch`]; the store writes batches atomically, many at once (group
//! commit), and says so only once they are on disk.

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
}

/// Why the store cannot go on. Every message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Unusable(String),
    #[error("writing {path} failed: {detail}")]
    Write { path: String, detail: String },
}

/// Where batches go to become durable.
pub trait Store: Send {
    /// Writes the batches atomically (all or none) and returns once they are durable.
    fn commit(&mut self, batches: &[&Batch]) -> Result<(), StoreError>;
}
