//! The event log: one strictly increasing sequence over every event, a bounded history for
//! resuming, and fan-out to subscribers, each filtered by its scope before anything is queued.
//!
//! The log is changed only in the same critical section as the state (see `api::Core`), so an
//! event's sequence and the state it reflects never disagree, and a read's sequence is exact.

mod subscribers;

use std::collections::VecDeque;
use std::sync::Arc;

use uuid::Uuid;

use subscribers::Subscribers;
pub use subscribers::{Delivery, Ending, Registration, SubscriberId};

use crate::domain::events::{Event, Scope};
use crate::domain::{DomainError, DomainResult, Principal, Reason};

/// An event with its place in the log.
#[derive(Debug)]
pub struct Logged {
    pub sequence: u64,
    pub event: Event,
}

/// Sizes of the log and its subscribers.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Events kept in memory for resuming.
    pub history: usize,
    /// Events queued per subscriber before it counts as lagging.
    pub queue: usize,
    /// Open streams per principal.
    pub max_streams_per_principal: usize,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            history: 100_000,
            queue: 1024,
            max_streams_per_principal: 64,
        }
    }
}

/// Where a new stream starts.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// From now (or with a snapshot, which the caller builds under the same lock).
    Now,
    /// After `sequence` of log `log_id`.
    After { log_id: Uuid, sequence: u64 },
}

pub struct EventLog {
    log_id: Uuid,
    last_sequence: u64,
    history: VecDeque<Arc<Logged>>,
    settings: LogSettings,
    subscribers: Subscribers,
}

impl EventLog {
    /// A new, empty log with a new id.
    pub fn new(settings: LogSettings) -> Self {
        Self {
            log_id: Uuid::new_v4(),
            last_sequence: 0,
            history: VecDeque::new(),
            settings,
            subscribers: Subscribers::default(),
        }
    }

    pub fn log_id(&self) -> Uuid {
        self.log_id
    }

    /// The sequence of the newest event (0 before the first).
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Numbers the events, keeps them for resuming, and queues each for the subscribers whose
    /// scope sees it. Never waits: a subscriber whose queue is full is ended as lagging.
    pub fn append(&mut self, events: Vec<Event>) {
        for event in events {
            self.last_sequence += 1;
            let logged = Arc::new(Logged {
                sequence: self.last_sequence,
                event,
            });
            self.subscribers.deliver(&logged);
            self.history.push_back(logged);
            if self.history.len() > self.settings.history {
                self.history.pop_front();
            }
        }
    }

    /// Registers a stream for `scope` starting at `start`: the events it missed (when
    /// resuming) and the queue that carries everything after.
    pub fn subscribe(&mut self, scope: Scope, start: Start) -> DomainResult<Registration> {
        let backlog = match start {
            Start::Now => Vec::new(),
            Start::After { log_id, sequence } => self.backlog(&scope, log_id, sequence)?,
        };
        self.subscribers
            .register(scope, backlog, self.last_sequence, &self.settings)
    }

    pub fn unsubscribe(&mut self, id: SubscriberId) {
        self.subscribers.remove(id, None);
    }

    /// Ends every stream of `principal` (after what is already queued) with `why`.
    pub fn end_streams_of(&mut self, principal: Principal, why: &DomainError) {
        self.subscribers.end_principal(principal, why);
    }

    /// Ends every stream, e.g. at shutdown.
    pub fn end_all(&mut self, why: &DomainError) {
        self.subscribers.end_all(why);
    }

    /// Queues a heartbeat carrying the current sequence on every stream with room for it.
    pub fn heartbeat(&mut self) {
        self.subscribers.heartbeat(self.last_sequence);
    }

    /// How many streams are open.
    pub fn open_streams(&self) -> usize {
        self.subscribers.len()
    }

    /// The retained events after `after` that `scope` sees, or why they cannot be served.
    fn backlog(&self, scope: &Scope, log_id: Uuid, after: u64) -> DomainResult<Vec<Arc<Logged>>> {
        let resync = "subscribe again with snapshot = true (or read the state and subscribe from the sequence it carries)";
        if log_id != self.log_id {
            return Err(DomainError::new(
                Reason::LogChanged,
                format!(
                    "log {log_id} is not this server's log ({}): its state started afresh, so sequences do not carry over; {resync}",
                    self.log_id
                ),
            )
            .with("log_id", log_id)
            .with("current_log_id", self.log_id));
        }
        if after > self.last_sequence {
            return Err(DomainError::new(
                Reason::ResumePointAhead,
                format!(
                    "after_sequence {after} is beyond the newest event ({}); resume from a sequence this log gave you",
                    self.last_sequence
                ),
            )
            .with("after_sequence", after)
            .with("last_sequence", self.last_sequence));
        }
        let oldest = self
            .history
            .front()
            .map_or(self.last_sequence + 1, |logged| logged.sequence);
        if after + 1 < oldest {
            return Err(DomainError::new(
                Reason::ResumePointCompacted,
                format!(
                    "events after {after} are no longer kept (the oldest kept is {oldest}); {resync}"
                ),
            )
            .with("after_sequence", after)
            .with("oldest_sequence", oldest));
        }
        let skip = usize::try_from(after + 1 - oldest).unwrap_or(usize::MAX);
        Ok(self
            .history
            .iter()
            .skip(skip)
            .filter(|logged| scope.sees(&logged.event))
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests;
