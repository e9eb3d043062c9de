//! What the log holds and how big it may grow.

use std::time::Duration;

use crate::domain::events::Event;

/// An event with its place in the log.
#[derive(Debug)]
pub struct Logged {
    pub sequence: u64,
    pub event: Event,
}

/// Sizes of the log and its subscribers.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Events kept for resuming.
    pub history: usize,
    /// Events older than this are dropped from the history too.
    pub history_age: Duration,
    /// Events queued per subscriber before it counts as lagging.
    pub queue: usize,
    /// Open streams per principal.
    pub max_streams_per_principal: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            history: 100_000,
            history_age: Duration::from_secs(7 * 24 * 3600),
            queue: 1024,
            max_streams_per_principal: 64,
        }
    }
}
