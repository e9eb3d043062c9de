//! Authentication as a tower layer: the `authorization` header of every request becomes a
//! [`Principal`] before any handler runs. Health and reflection need no credential; each
//! cif.v1 service serves one role. The same layer logs every refused call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::Status;
use tonic::codegen::http;
use tonic_types::StatusExt;
use tower::{Layer, Service};

use super::metrics::{Metrics, method_label};
use super::status::to_status;
use crate::app::{SharedCore, read};
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
}

impl AuthLayer {
    pub fn new(state: SharedCore, metrics: Arc<Metrics>) -> Self {
        Self { state, metrics }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            state: self.state.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`AuthLayer`] produces.
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    state: SharedCore,
    metrics: Arc<Metrics>,
}

impl<S> Authenticate<S> {
    fn authenticate(
        &self,
        headers: &http::HeaderMap,
        role: Role,
    ) -> Result<Principal, DomainError> {
        let credential = bearer_credential(headers)?;
        read(&self.state).authenticate(credential, role)
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
        let principal = match required_role(request.uri().path()) {
            None => None,
            Some(role) => match self.authenticate(request.headers(), role) {
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
                    self.metrics
                        .observe_call(method, status.code(), reason, started.elapsed());
                    return Box::pin(std::future::ready(Ok(status.into_http())));
                }
            },
        };
        if let Some(principal) = principal {
            request.extensions_mut().insert(principal);
        }
        // The clone that was made ready is the one that must serve this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        Box::pin(async move {
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
