//! What every handler does around the domain: who is calling, running a command with its
//! request id and answering once it is durable, answering a read once what it saw is durable.

use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::ids::AgentId;
use tonic::{Request, Response, Status};

use super::page_token::PageTokens;
use super::status::to_status;
use crate::app::{Answer, Core, Idempotency, Position, RefusalCounts, SharedCore, read, write};
use crate::domain::principal::ProviderCaller;
use crate::domain::{ControlPlane, DomainResult, Operator, Principal};

/// The protobuf package this server serves, and the CIF version whose model it follows.
pub(super) const API_VERSION: &str = "cif.v1";
pub(super) const CIF_VERSION: &str = "2.0";

/// What every service needs.
#[derive(Clone)]
pub struct Context {
    pub state: SharedCore,
    pub page_tokens: Arc<PageTokens>,
    pub started: SystemTime,
    /// The calls this replica refused, counted.
    pub refusals: Arc<RefusalCounts>,
}

/// Runs a command (with its request id, if any) and answers once it is durable.
pub(super) async fn command<A: Answer>(
    state: &SharedCore,
    once: Option<Idempotency>,
    run: impl FnOnce(&mut ControlPlane) -> DomainResult<A>,
) -> Result<Response<A>, Status> {
    let committed = write(state).execute_once(once, run)?;
    let (answer, _) = committed.confirmed().await.map_err(to_status)?;
    Ok(Response::new(answer))
}

/// Answers a read once everything it saw is durable.
pub(super) async fn query<R>(
    state: &SharedCore,
    read_state: impl FnOnce(&Core) -> DomainResult<R>,
) -> Result<(R, Position), Status> {
    let observed = read(state).observe(read_state)?;
    Ok(observed.confirmed().await?)
}

pub(super) fn principal<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .copied()
        .ok_or_else(|| Status::internal("the request was not authenticated"))
}

/// The provider calling, and the one desk it is limited to when it calls with a widget
/// credential (rule 21).
pub(super) fn caller_provider<T>(request: &Request<T>) -> Result<ProviderCaller, Status> {
    principal(request)?
        .provider_caller()
        .ok_or_else(|| Status::internal("a provider call without a provider principal"))
}

pub(super) fn caller_agent<T>(request: &Request<T>) -> Result<AgentId, Status> {
    match principal(request)? {
        Principal::Agent(id) => Ok(id),
        _ => Err(Status::internal("an agent call without an agent principal")),
    }
}

pub(super) fn caller_operator<T>(request: &Request<T>) -> Result<Operator, Status> {
    match principal(request)? {
        Principal::Operator(operator) => Ok(operator),
        _ => Err(Status::internal(
            "an admin call without an operator principal",
        )),
    }
}

/// An operator call's request id, if it has one: request ids are shared by every operator
/// credential, as their calls act alike.
pub(super) fn operator_once<M: prost::Message>(
    request_id: &str,
    request: &M,
) -> Result<Option<Idempotency>, Status> {
    Ok(Idempotency::of(
        Principal::Operator(Operator::Configured),
        request_id,
        request,
    )?)
}
