//! The tonic adapters: each handler takes the caller from the request, parses the message
//! into domain input, calls the domain, and converts the result. No rule lives here.

mod admin;
mod agent;
mod convert;
mod page_token;
mod parse;
mod provider;
mod status;
mod stream;

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};
use tonic::{Request, Status};

pub use admin::AdminApi;
pub use agent::AgentApi;
pub use page_token::PageTokens;
pub use provider::ProviderApi;
pub use status::to_status;

use tokio::sync::{Notify, watch};

use crate::domain::events::EventKind;
use crate::domain::toast::{Resolution, ToastKey};
use crate::domain::{ControlPlane, DomainResult, Principal};
use crate::log::EventLog;

/// The state and its event log, changed together under one lock: every command's events are
/// logged in the same critical section that changes the state.
pub struct Core {
    pub plane: ControlPlane,
    pub log: EventLog,
    /// NotifyEvent calls waiting for their toast to end.
    pub toast_waiters: HashMap<ToastKey, watch::Sender<Option<Resolution>>>,
    /// Wakes the toast timer when a deadline may have moved earlier.
    pub toast_timer: Arc<Notify>,
}

/// Where in the log an answer stands.
#[derive(Debug, Clone)]
pub struct Position {
    pub log_id: String,
    pub sequence: u64,
}

impl Core {
    pub fn new(plane: ControlPlane, log: EventLog) -> Self {
        Self {
            plane,
            log,
            toast_waiters: HashMap::new(),
            toast_timer: Arc::new(Notify::new()),
        }
    }

    /// A receiver that sees the toast's end; several calls may wait for the same toast.
    pub fn wait_for_toast(&mut self, key: ToastKey) -> watch::Receiver<Option<Resolution>> {
        self.toast_waiters
            .entry(key)
            .or_insert_with(|| watch::channel(None).0)
            .subscribe()
    }

    /// Lets every waiting NotifyEvent call go (they answer that the server is stopping).
    pub fn release_toast_waiters(&mut self) {
        self.toast_waiters.clear();
    }

    pub fn position(&self) -> Position {
        Position {
            log_id: self.log.log_id().to_string(),
            sequence: self.log.last_sequence(),
        }
    }

    /// Runs a command, logs the events it produced and ends the streams it revoked, all
    /// before anyone else sees the state. `run` converts its result while it still holds the
    /// state; the answer comes with the log position it reflects.
    pub fn execute<R>(
        &mut self,
        run: impl FnOnce(&mut ControlPlane) -> DomainResult<R>,
    ) -> DomainResult<(R, Position)> {
        let result = run(&mut self.plane);
        let effects = self.plane.take_effects();
        let answer = result?;
        for event in &effects.events {
            if let EventKind::NotificationResolved { toast, resolution } = &event.kind
                && let Some(waiters) = self.toast_waiters.remove(&toast.0.key)
            {
                let _ = waiters.send(Some(*resolution));
            }
        }
        if effects.deadlines_changed {
            self.toast_timer.notify_one();
        }
        self.log.append(effects.events);
        for (principal, why) in &effects.revoked {
            self.log.end_streams_of(*principal, why);
        }
        Ok((answer, self.position()))
    }
}

/// The protobuf package this server serves, and the CIF version whose model it follows.
const API_VERSION: &str = "cif.v1";
const CIF_VERSION: &str = "2.0";

/// The state every handler shares.
pub type SharedCore = Arc<RwLock<Core>>;

/// Reads the state. A panic in another handler cannot leave it half-changed (commands check
/// everything before they change anything), so a poisoned lock is still good to use.
pub fn read(state: &SharedCore) -> RwLockReadGuard<'_, Core> {
    state
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Changes the state; see [`read`] on poisoning.
pub fn write(state: &SharedCore) -> RwLockWriteGuard<'_, Core> {
    state
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What every service needs.
#[derive(Clone)]
pub struct Context {
    pub state: SharedCore,
    pub page_tokens: Arc<PageTokens>,
    pub started: SystemTime,
}

fn principal<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .copied()
        .ok_or_else(|| Status::internal("the request was not authenticated"))
}

fn caller_provider<T>(request: &Request<T>) -> Result<ProviderId, Status> {
    match principal(request)? {
        Principal::Provider(id) => Ok(id),
        _ => Err(Status::internal(
            "a provider call without a provider principal",
        )),
    }
}

fn caller_agent<T>(request: &Request<T>) -> Result<AgentId, Status> {
    match principal(request)? {
        Principal::Agent(id) => Ok(id),
        _ => Err(Status::internal("an agent call without an agent principal")),
    }
}
