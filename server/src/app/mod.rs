//! The application: commands and queries on the domain with request ids and "durable before
//! visible" (`core`), the event log and its subscriptions (`log`), timers (`timers`), and the
//! store trait that `store` implements. Front doors (`api`) call it; it calls the domain and
//! never a front door.

mod core;
mod credentials;
pub mod log;
mod state;
mod store;
mod subscriptions;
mod timers;
mod writer;

pub use self::core::{Answer, Core, Idempotency, Position};
pub use credentials::{CredentialKind, hash_credential, issue_credential};
pub use state::{SharedCore, read, write};
pub use store::{Batch, Loaded, RequestRecord, RequestRetention, Retention, Store, StoreError};
pub use subscriptions::{Opening, Update, subscribe};
pub use timers::Timers;
