//! The event log: one strictly increasing sequence over every event, a bounded history for
//! resuming, and fan-out to subscribers, each filtered by its scope before anything is queued.
//!
//! The log is changed only in the same critical section as the state (see `app::Core`), so an
//! event's sequence and the state it reflects never disagree, and a read's sequence is exact.

mod event_log;
mod logged;
mod subscribers;

pub use event_log::{EventLog, Start};
pub use logged::{LogSettings, Logged};
pub use subscribers::{Delivery, Ending, Registration, Slice, SubscriberId};

#[cfg(test)]
mod tests;
