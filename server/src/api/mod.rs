//! The front door for gRPC: tonic services that parse each request into domain input, call
//! the application, and convert the result; authentication and metrics as tower layers. No
//! rule lives here.

mod admin;
mod agent;
mod answers;
mod audit;
mod auth;
mod call;
mod configuration;
mod convert;
mod forward;
#[doc(hidden)]
pub mod fuzzing;
mod method;
mod metrics;
mod operator_credentials;
mod page_token;
mod parse;
mod provider;
mod services;
mod status;
mod stream;
mod templates;
mod web;

pub use admin::AdminApi;
pub use agent::AgentApi;
pub use auth::AuthLayer;
pub use configuration::apply_configuration;
pub use forward::ForwardLayer;
pub use metrics::{CommitMetrics, Metrics, serve as serve_metrics};
pub use provider::ProviderApi;
pub use services::Services;
pub use web::FrontDoorLayer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_shedding;
