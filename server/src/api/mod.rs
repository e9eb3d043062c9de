//! The tonic adapters: each handler takes the caller from the request, parses the message
//! into domain input, calls the domain, and converts the result. No rule lives here.

mod admin;
mod agent;
mod convert;
mod page_token;
mod parse;
mod provider;
mod status;

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};
use tonic::{Request, Status};

pub use admin::AdminApi;
pub use agent::AgentApi;
pub use page_token::PageTokens;
pub use provider::ProviderApi;
pub use status::to_status;

use crate::domain::{ControlPlane, Principal};

/// The state every handler shares.
pub type SharedControlPlane = Arc<RwLock<ControlPlane>>;

/// Reads the state. A panic in another handler cannot leave it half-changed (commands check
/// everything before they change anything), so a poisoned lock is still good to use.
pub fn read(state: &SharedControlPlane) -> RwLockReadGuard<'_, ControlPlane> {
    state
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Changes the state; see [`read`] on poisoning.
pub fn write(state: &SharedControlPlane) -> RwLockWriteGuard<'_, ControlPlane> {
    state
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What every service needs.
#[derive(Clone)]
pub struct Context {
    pub state: SharedControlPlane,
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
