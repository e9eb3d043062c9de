//! Rust SDK for `cif.v1`, the control plane for multi-provider agent desktops.
//!
//! - [`pb`]: the generated protobuf messages and tonic clients (and, with the `server`
//!   feature, the service traits).
//! - [`ids`]: typed ids, so a session id cannot be passed where an agent id is expected.
//! - [`Error`]: a failed call, with its status code and the server's stable reason.
//! - [`connect`], [`ProviderClient`], [`AgentClient`], [`AdminClient`]: connected clients that
//!   send a credential with every call and return [`Error`] on failure; [`connect_any`] for
//!   several replicas, using those that answer.
//! - [`Subscription`]: an event stream that resumes by itself after disconnects, yields each
//!   event once, and resynchronises from a snapshot when it must (telling you it did).
//!
//! ```no_run
//! # async fn demo() -> Result<(), cif_sdk::Error> {
//! use cif_sdk::{pb, ProviderClient};
//! let channel = cif_sdk::connect("http://127.0.0.1:50051").await?;
//! let provider = ProviderClient::new(channel, "cifp_...")?;
//! let created = provider
//!     .create_session(pb::CreateSessionRequest {
//!         agent_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
//!         title: "Call from +1 555 0100".into(),
//!         ..Default::default()
//!     })
//!     .await?;
//! println!("session {}", created.session.unwrap_or_default().id);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod client;
mod error;
pub mod ids;
pub mod pb;
mod replicas;
pub mod subscription;
mod typed_accessors;

pub use client::{
    AdminClient, AgentClient, BearerAuth, ProviderClient, connect, connect_any, connect_tls,
};
pub use error::{Error, REASON_DOMAIN, code_name};
pub use subscription::{Subscription, Update};
