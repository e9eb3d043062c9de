//! The log itself: numbering, the retained history, resuming, and handing events to the
//! streams.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

use uuid::Uuid;

use super::logged::{LogSettings, Logged};
use super::subscribers::{Registration, Slice, SubscriberId, Subscribers};
use crate::domain::events::Scope;
use crate::domain::{DomainError, DomainResult, Principal, Reason};

/// Where a new stream starts.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    /// After `sequence`, the newest sequence the state shows (the caller builds any snapshot
    /// under the same lock). Events up to it are not delivered.
    Now { sequence: u64 },
    /// After `sequence` of log `log_id`.
    After { log_id: Uuid, sequence: u64 },
}

/// The published part of the log: events that are durable, in order, and the streams they go
/// to. Sequences are assigned earlier, when a command runs (see `api::Core`); an event joins
/// the history, and reaches subscribers, only once it is durable.
pub struct EventLog {
    log_id: Uuid,
    /// The newest published sequence.
    last_sequence: u64,
    history: VecDeque<Arc<Logged>>,
    settings: LogSettings,
    subscribers: Subscribers,
}

impl EventLog {
    /// A new, empty log with a new id.
    pub fn new(settings: LogSettings) -> Self {
        Self::restore(settings, Uuid::new_v4(), 0, Vec::new())
    }

    /// A log as it was stored: its id, its newest sequence, and the retained tail.
    pub fn restore(
        settings: LogSettings,
        log_id: Uuid,
        last_sequence: u64,
        tail: Vec<Logged>,
    ) -> Self {
        Self {
            log_id,
            last_sequence,
            history: tail.into_iter().map(Arc::new).collect(),
            settings,
            subscribers: Subscribers::default(),
        }
    }

    pub fn log_id(&self) -> Uuid {
        self.log_id
    }

    /// The sequence of the newest published event (0 before the first).
    pub fn last_sequence(&self) -> u64 {
        self.last_sequence
    }

    /// Publishes durable events (numbered, in order): keeps them for resuming, and queues each
    /// for the subscribers whose scope sees it. Never waits: a subscriber whose queue is full
    /// is ended as lagging.
    pub fn append(&mut self, events: &[Arc<Logged>]) {
        for logged in events {
            debug_assert_eq!(
                logged.sequence,
                self.last_sequence + 1,
                "published in order"
            );
            self.last_sequence = logged.sequence;
            self.subscribers.deliver(logged);
            self.history.push_back(logged.clone());
        }
        self.trim(SystemTime::now());
    }

    /// Drops what retention no longer keeps: beyond the count, or older than the age.
    fn trim(&mut self, now: SystemTime) {
        while self.history.len() > self.settings.history {
            self.history.pop_front();
        }
        if let Some(cutoff) = now.checked_sub(self.settings.history_age) {
            while self
                .history
                .front()
                .is_some_and(|logged| logged.event.time < cutoff)
            {
                self.history.pop_front();
            }
        }
    }

    /// The oldest sequence still kept (the next one when nothing is).
    pub fn oldest_kept(&self) -> u64 {
        self.history
            .front()
            .map_or(self.last_sequence + 1, |logged| logged.sequence)
    }

    /// Registers a stream for `scope` starting at `start`: the events it missed (when
    /// resuming) and the queue that carries everything after.
    pub fn subscribe(&mut self, scope: Scope, start: Start) -> DomainResult<Registration> {
        let (backlog, after) = match start {
            Start::Now { sequence } => (Vec::new(), sequence),
            Start::After { log_id, sequence } => {
                (self.backlog(&scope, log_id, sequence)?, self.last_sequence)
            }
        };
        self.subscribers
            .register(scope, backlog, after, &self.settings)
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

    /// Queues a heartbeat carrying the current sequence on every stream with room for it,
    /// among those of `slice` (see [`Slice`]).
    pub fn heartbeat(&mut self, slice: Slice) {
        self.subscribers.heartbeat(self.last_sequence, slice);
    }

    /// How many streams are open.
    /// What the metrics report of the streams: (messages queued in all, in the fullest,
    /// streams ended for lagging since the start).
    pub fn stream_queues(&self) -> (usize, usize, u64) {
        let (queued, deepest) = self.subscribers.queued();
        (queued, deepest, self.subscribers.lagged())
    }

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
        let oldest = self.oldest_kept();
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
