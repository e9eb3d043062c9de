//! cifd: the control plane for multi-provider agent desktops.
//!
//! Layers, with dependencies pointing one way: `domain` (the rules, in parts that own their
//! state) <- `app` (commands, durability, subscriptions, timers; the store trait) <- `api`
//! (the tonic services, with authentication and metrics as layers). `store` implements the
//! store trait; `config` reads settings and declarations; `serve` wires it all.
#![forbid(unsafe_code)]

mod api;
mod app;
pub mod config;
mod domain;
#[doc(hidden)]
pub mod fuzz;
pub mod http;
mod serve;
mod store;
mod tls;
mod transport;

pub use app::{CredentialKind, Store, hash_credential, issue_credential};
pub use serve::{Opened, advertised, open_state, serve, store_location};
pub use store::{AnyStore, SqliteStore};
pub use transport::incoming;
