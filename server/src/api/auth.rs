//! Authentication as a tower layer: the `authorization` header of every request becomes a
//! [`Principal`] before any handler runs. Health and reflection need no credential; each
//! cif.v1 service serves one role. The same layer logs every refused call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tonic::Status;
use tonic::codegen::http;
use tonic_types::StatusExt;
use tower::{Layer, Service};

use super::metrics::{Metrics, method_label};
use super::status::to_status;
use crate::app::{CallRates, SharedCore, read};
use crate::domain::{DomainError, Principal, Reason, Role};

/// The role a request path is for; `None` for the open services (health, reflection).
fn required_role(path: &str) -> Option<Role> {
    let service = path.trim_start_matches('/').split('/').next()?;
    match service {
        "cif.v1.ProviderService" => Some(Role::Provider),
        "cif.v1.AgentService" => Some(Role::Agent),
        "cif.v1.AdminService" => Some(Role::Operator),
        _ => None,
    }
}

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
    rates: Option<Arc<CallRates>>,
}

impl AuthLayer {
    /// `rates`: each principal's call rate, checked right after its role.
    pub fn new(state: SharedCore, metrics: Arc<Metrics>, rates: Option<CallRates>) -> Self {
        Self {
            state,
            metrics,
            rates: rates.map(Arc::new),
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
            rates: self.rates.clone(),
        }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    state: SharedCore,
    metrics: Arc<Metrics>,
    rates: Option<Arc<CallRates>>,
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
        // The served method, or `unknown`: a static label, so a call copies no path.
        let method = method_label(request.uri().path());
        let role = required_role(request.uri().path());
        let first = role
            .map(|role| authenticate(&self.state, self.rates.as_deref(), request.headers(), role));
        // The clone that was made ready is the one that must serve this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (metrics, state, rates) =
            (self.metrics.clone(), self.state.clone(), self.rates.clone());
        Box::pin(async move {
            let principal = match (role, first) {
                (Some(role), Some(result)) => {
                    let result = match result {
                        // A credential issued on the writer a moment ago may not be applied on
                        // this follower yet: it is refused only once the follower has read the
                        // store since the call came.
                        Err(error)
                            if error.reason == Reason::CredentialInvalid
                                && read(&state).follows() =>
                        {
                            read_store_since(&state, started).await;
                            authenticate(&state, rates.as_deref(), request.headers(), role)
                        }
                        other => other,
                    };
                    match result {
                        Ok(principal) => Some(principal),
                        Err(error) => {
                            tracing::warn!(
                                method = request.uri().path(),
                                reason = error.reason.as_str(),
                                "refused: {}",
                                error.message
                            );
                            let reason = error.reason.as_str();
                            let status = to_status(error);
                            metrics.observe_call(method, status.code(), reason, started.elapsed());
                            return Ok(status.into_http());
                        }
                    }
                }
                _ => None,
            };
            if let Some(principal) = principal {
                request.extensions_mut().insert(principal);
            }
            let response = inner.call(request).await?;
            match response.extensions().get::<Status>() {
                Some(status) => {
                    let reason = log_refusal(principal, method, status);
                    metrics.observe_call(method, status.code(), &reason, started.elapsed());
                }
                None => metrics.observe_call(method, tonic::Code::Ok, "", started.elapsed()),
            }
            Ok(response)
        })
    }
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
    fn only_cif_services_need_a_role() {
        assert_eq!(
            required_role("/cif.v1.ProviderService/CreateSession"),
            Some(Role::Provider)
        );
        assert_eq!(
            required_role("/cif.v1.AgentService/GetDesk"),
            Some(Role::Agent)
        );
        assert_eq!(
            required_role("/cif.v1.AdminService/GetDesk"),
            Some(Role::Operator)
        );
        assert_eq!(required_role("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            required_role("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            None
        );
    }

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
