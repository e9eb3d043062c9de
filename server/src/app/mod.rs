//! The application: commands and queries on the domain with request ids and "durable before
//! visible" (`core`), the event log and its subscriptions (`log`), timers (`timers`), the
//! store trait that `store` implements, and the thread that writes the store or, on a replica
//! that follows another, applies what that one commits (`writer`). Front doors (`api`) call
//! it; it calls the domain and never a front door.

mod core;
mod credentials;
mod limits;
pub mod log;
mod refusals;
mod state;
mod store;
mod subscriptions;
mod timers;
mod writer;

pub use self::core::{Answer, Core, Durable, Idempotency, Position};
pub use credentials::{CredentialKind, hash_credential, issue_credential};
pub use limits::{AddressRates, CallRates, InFlight, Limits, Rate};
pub use refusals::{RefusalCount, RefusalCounts, WINDOW as REFUSAL_WINDOW};
pub use state::{SharedCore, read, write};
pub use store::{
    Batch, Followed, Loaded, RequestRecord, RequestRetention, Retention, Role, Store, StoreError,
};
pub use subscriptions::{Opening, Update, subscribe};
pub use timers::Timers;
pub use writer::{OnWriting, Started};
