//! Authentication as a tower layer: the `authorization` header of every request becomes a
//! [`Principal`] before any handler runs. Health and reflection need no credential; each
//! cif.v1 service serves one role. Right after the role come the limits: the principal's
//! rate, the address's rate of calls without a valid credential, and the bound on calls in
//! flight. The same layer logs every refused call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use tonic::Status;
use tonic::codegen::http;
use tonic_types::StatusExt;
use tower::{Layer, Service};

use super::method::Method;
use super::metrics::Metrics;
use super::status::to_status;
use crate::app::{CallRates, Limits, RefusalCounts, SharedCore, read};
use crate::domain::{DomainError, ErrorClass, Principal, Reason, Role};
use crate::transport::Peer;

fn bearer_credential(headers: &http::HeaderMap) -> Result<&str, DomainError> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|credential| !credential.is_empty())
        .ok_or_else(|| {
            DomainError::new(
                Reason::CredentialMissing,
                "this call needs a credential: send the header `authorization: Bearer <credential>`",
            )
        })
}

/// Wraps the router so every request is authenticated first, and every answer counted.
#[derive(Clone)]
pub struct AuthLayer {
    state: SharedCore,
    metrics: Arc<Metrics>,
    limits: Arc<Limits>,
    refusals: Arc<RefusalCounts>,
}

impl AuthLayer {
    /// `limits`: checked right after the role; `refusals`: where refused calls are counted.
    pub fn new(
        state: SharedCore,
        metrics: Arc<Metrics>,
        limits: Limits,
        refusals: Arc<RefusalCounts>,
    ) -> Self {
        Self {
            state,
            metrics,
            limits: Arc::new(limits),
            refusals,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            state: self.state.clone(),
            metrics: self.metrics.clone(),
            limits: self.limits.clone(),
            refusals: self.refusals.clone(),
        }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    state: SharedCore,
    metrics: Arc<Metrics>,
    limits: Arc<Limits>,
    refusals: Arc<RefusalCounts>,
}

/// Who calls, if they may call a service for `role`, and may call now (their rate).
fn authenticate(
    state: &SharedCore,
    rates: Option<&CallRates>,
    headers: &http::HeaderMap,
    role: Role,
) -> Result<Principal, DomainError> {
    let credential = bearer_credential(headers)?;
    let principal = read(state).authenticate(credential, role)?;
    if let Some(rates) = rates {
        rates.admit(principal, |provider| {
            let core = read(state);
            let record = core.plane.provider(provider).ok()?;
            Some(record.unique_name.to_lowercase())
        })?;
    }
    Ok(principal)
}

/// How long a follower waits to have read the store since a call came, at most.
const FOLLOWER_PATIENCE: Duration = Duration::from_secs(2);

/// Waits until this follower has read the store since `since` (it then holds every credential
/// issued before the call came), or for [`FOLLOWER_PATIENCE`].
async fn read_store_since(state: &SharedCore, since: Instant) {
    let give_up = since + FOLLOWER_PATIENCE;
    while !read(state).read_store_since(since) && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Authenticate<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let Method {
            label: method,
            role,
            is_work: work,
            ..
        } = Method::of(request.uri().path());
        let first = role.map(|role| {
            authenticate(
                &self.state,
                self.limits.principals.as_ref(),
                request.headers(),
                role,
            )
        });
        // The clone that was made ready is the one that must serve this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (state, limits) = (self.state.clone(), self.limits.clone());
        let outcome = Outcome {
            metrics: self.metrics.clone(),
            refusals: self.refusals.clone(),
            method,
            // Cheap: a URI shares its bytes.
            uri: request.uri().clone(),
            started,
        };
        Box::pin(async move {
            // Who a refusal before the principal is known counts as: its address (made only
            // for a refusal).
            let peer = request
                .extensions()
                .get::<Peer>()
                .and_then(|peer| peer.address)
                .map(|address| address.ip());
            let address =
                || peer.map_or_else(|| "anonymous".to_owned(), |ip| format!("address:{ip}"));
            let principal = match (role, first) {
                (Some(role), Some(first)) => {
                    match confirmed(&state, &limits, request.headers(), role, started, first).await
                    {
                        Ok(principal) => Some(principal),
                        Err(error) if error.class() == ErrorClass::Unauthenticated => {
                            // Its address pays for it; one flooding such calls is refused
                            // without a log line each.
                            return Ok(match admit_unauthenticated(&limits, &request) {
                                Err(flooding) => outcome.refused(flooding, false, &address()),
                                Ok(()) => outcome.refused(error, true, &address()),
                            });
                        }
                        Err(error) => {
                            // Over its rate, the principal is the quota's subject.
                            let who = error
                                .retry
                                .as_ref()
                                .and_then(|retry| Some(retry.quota.as_ref()?.subject.clone()))
                                .unwrap_or_else(address);
                            return Ok(outcome.refused(error, true, &who));
                        }
                    }
                }
                _ => {
                    if let Err(flooding) = admit_unauthenticated(&limits, &request) {
                        return Ok(outcome.refused(flooding, false, &address()));
                    }
                    None
                }
            };
            let working = match (principal, &limits.in_flight) {
                (Some(principal), Some(in_flight)) if work => match in_flight.start() {
                    Ok(working) => Some(working),
                    Err(shed) => return Ok(outcome.refused(shed, false, &principal.to_string())),
                },
                _ => None,
            };
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            let response = inner.call(request).await?;
            drop(working);
            outcome.answered(&response, principal, address);
            Ok(response)
        })
    }
}

/// The principal `first` names; on a follower, a credential it does not know is tried again
/// once it has read the store since the call came: one issued on the writer a moment ago may
/// not be applied here yet.
async fn confirmed(
    state: &SharedCore,
    limits: &Limits,
    headers: &http::HeaderMap,
    role: Role,
    started: Instant,
    first: Result<Principal, DomainError>,
) -> Result<Principal, DomainError> {
    match first {
        Err(error) if error.reason == Reason::CredentialInvalid && read(state).follows() => {
            read_store_since(state, started).await;
            authenticate(state, limits.principals.as_ref(), headers, role)
        }
        other => other,
    }
}

/// Where a call's outcome is told: the log (refusals), the refusal counts and the metrics.
struct Outcome {
    metrics: Arc<Metrics>,
    refusals: Arc<RefusalCounts>,
    method: &'static str,
    uri: http::Uri,
    started: Instant,
}

impl Outcome {
    /// A call refused before its service: logged (quietly, at debug, when not `loud`: a
    /// flood must not become log lines), counted against `who`, and answered.
    fn refused<B: Default>(&self, error: DomainError, loud: bool, who: &str) -> http::Response<B> {
        if loud {
            tracing::warn!(
                method = self.uri.path(),
                reason = error.reason.as_str(),
                "refused: {}",
                error.message
            );
        } else {
            tracing::debug!(method = self.uri.path(), "refused: {}", error.message);
        }
        let reason = error.reason.as_str();
        self.refusals
            .count(who, self.method, reason, SystemTime::now());
        let status = to_status(error);
        self.metrics
            .observe_call(self.method, status.code(), reason, self.started.elapsed());
        status.into_http()
    }

    /// The service's answer, as its status says: a refusal is logged and counted too.
    fn answered<B>(
        &self,
        response: &http::Response<B>,
        principal: Option<Principal>,
        address: impl FnOnce() -> String,
    ) {
        match response.extensions().get::<Status>() {
            Some(status) => {
                let reason = log_refusal(principal, self.method, status);
                let who = principal.map_or_else(address, |principal| principal.to_string());
                let counted = if reason.is_empty() {
                    cif_sdk::code_name(status.code())
                } else {
                    &reason
                };
                self.refusals
                    .count(&who, self.method, counted, SystemTime::now());
                self.metrics.observe_call(
                    self.method,
                    status.code(),
                    &reason,
                    self.started.elapsed(),
                );
            }
            None => {
                let code = answered_code(response.headers());
                self.metrics
                    .observe_call(self.method, code, "", self.started.elapsed())
            }
        }
    }
}

/// Counts a call without a valid credential against its address, unless another replica
/// (recognised by its certificate) sent it.
fn admit_unauthenticated<B>(
    limits: &Limits,
    request: &http::Request<B>,
) -> Result<(), DomainError> {
    let (Some(addresses), Some(peer)) = (&limits.addresses, request.extensions().get::<Peer>())
    else {
        return Ok(());
    };
    match peer.address {
        Some(address) if !peer.replica => addresses.admit(address.ip()),
        _ => Ok(()),
    }
}

/// The status an answer carries in its headers (a refusal the writer sent back through this
/// follower carries it there), else OK: a stream's status comes at its end.
fn answered_code(headers: &http::HeaderMap) -> tonic::Code {
    headers
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from)
}

/// Logs a call a handler (or the transport) refused, with who called and why; never a
/// credential. Returns the reason.
fn log_refusal(principal: Option<Principal>, method: &str, status: &Status) -> String {
    let reason = status.get_details_error_info().map(|info| info.reason);
    let principal = principal.map_or_else(|| "anonymous".to_owned(), |p| p.to_string());
    tracing::info!(
        method,
        %principal,
        code = ?status.code(),
        reason = reason.as_deref().unwrap_or(""),
        "refused: {}",
        status.message()
    );
    reason.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_must_be_a_bearer_credential() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(
            bearer_credential(&headers).unwrap_err().reason,
            Reason::CredentialMissing
        );
        headers.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(
            bearer_credential(&headers).unwrap_err().reason,
            Reason::CredentialMissing
        );
        headers.insert("authorization", "Bearer cifp_abc".parse().unwrap());
        assert_eq!(bearer_credential(&headers).unwrap(), "cifp_abc");
    }
}
