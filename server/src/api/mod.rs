//! The tonic adapters: each handler takes the caller from the request, parses the message
//! into domain input, calls the domain, and converts the result. No rule lives here.

mod admin;
mod agent;
mod answers;
mod convert;
mod core;
mod page_token;
mod parse;
mod provider;
mod status;
mod stream;
mod templates;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};
use tonic::{Request, Response, Status};

pub use admin::AdminApi;
pub use agent::AgentApi;
pub use page_token::PageTokens;
pub use provider::ProviderApi;
pub use status::to_status;

pub use self::core::{Answer, Committed, Core, Durable, Idempotency, Position};

use crate::domain::{ControlPlane, DomainResult, Principal};

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

/// Runs a command (with its request id, if any) and answers once it is durable.
async fn command<A: Answer>(
    state: &SharedCore,
    once: Option<Idempotency>,
    run: impl FnOnce(&mut ControlPlane) -> DomainResult<A>,
) -> Result<Response<A>, Status> {
    let committed = write(state).execute_once(once, run)?;
    let (answer, _) = committed.confirmed().await?;
    Ok(Response::new(answer))
}

/// Answers a read once everything it saw is durable.
async fn query<R>(
    state: &SharedCore,
    read_state: impl FnOnce(&Core) -> DomainResult<R>,
) -> Result<(R, Position), Status> {
    let observed = read(state).observe(read_state)?;
    observed.confirmed().await
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
