//! A subscription that survives disconnects: it resumes from the last sequence it saw,
//! yields each event once, and resynchronises from a snapshot by itself when the server can no
//! longer resume it (RESUME_POINT_COMPACTED, LOG_CHANGED, PROVIDER_READMITTED), telling its
//! caller it did.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Status};

use crate::Error;
use crate::pb;
use crate::pb::stream_message::Kind;

/// Where a stream is asked to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// From now.
    Live,
    /// With a snapshot, then everything after it.
    Snapshot,
    /// After `sequence` of log `log_id`.
    After { log_id: String, sequence: u64 },
}

impl Start {
    /// The start fields every subscribe request has: (snapshot, log_id, after_sequence).
    pub fn fields(&self) -> (bool, String, u64) {
        match self {
            Start::Live => (false, String::new(), 0),
            Start::Snapshot => (true, String::new(), 0),
            Start::After { log_id, sequence } => (false, log_id.clone(), *sequence),
        }
    }
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// The state the caller may see as of `sequence`: what it asked for with `snapshot`, or,
    /// with `resynchronized`, a fresh start after the server could not resume the stream.
    /// Replace what you hold with it; the events that follow apply on top.
    Snapshot {
        log_id: String,
        sequence: u64,
        items: Vec<pb::SnapshotItem>,
        resynchronized: bool,
    },
    /// Progress: everything up to `sequence` this subscription may see has been yielded. The
    /// first one after each (re)connection marks that the stream has caught up. Safe to
    /// ignore.
    Heartbeat { log_id: String, sequence: u64 },
    /// One event, in order, never repeated.
    Event {
        log_id: String,
        sequence: u64,
        event: Box<pb::Event>,
        /// On an agent's stream: the event as the providers that hear it hear it, and which
        /// ones, for a desk that hosts their widgets.
        widgets: Option<Box<pb::WidgetDelivery>>,
    },
}

/// A stream of stream messages, whatever the service.
pub type MessageStream = Pin<Box<dyn Stream<Item = Result<pb::StreamMessage, Status>> + Send>>;
type OpenFuture = Pin<Box<dyn Future<Output = Result<MessageStream, Status>> + Send>>;
/// Opens one stream from a start point.
pub type Opener = Arc<dyn Fn(Start) -> OpenFuture + Send + Sync>;

/// How long to wait between reconnection attempts: doubling from `initial` up to `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

struct PendingSnapshot {
    log_id: String,
    sequence: u64,
    items: Vec<pb::SnapshotItem>,
}

/// A subscription that resumes by itself. Call [`Subscription::next`] in a loop; it
/// reconnects inside that call, so nothing runs while you are not reading.
pub struct Subscription {
    opener: Opener,
    stream: Option<MessageStream>,
    /// The last log position seen (event, heartbeat or completed snapshot).
    position: Option<(String, u64)>,
    wants_snapshot: bool,
    resynchronizing: bool,
    /// The open stream was asked for a snapshot, which its first heartbeat completes.
    expecting_snapshot: bool,
    pending: Option<PendingSnapshot>,
    backoff: Backoff,
    delay: Duration,
    finished: bool,
}

impl Subscription {
    /// A subscription that opens its streams with `opener`; with `snapshot`, it starts with
    /// one.
    pub fn new(opener: Opener, snapshot: bool) -> Self {
        let backoff = Backoff::default();
        Self {
            opener,
            stream: None,
            position: None,
            wants_snapshot: snapshot,
            resynchronizing: false,
            expecting_snapshot: false,
            pending: None,
            delay: backoff.initial,
            backoff,
            finished: false,
        }
    }

    /// Sets the reconnection back-off.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.delay = backoff.initial;
        self.backoff = backoff;
        self
    }

    /// Starts after a position saved earlier (the `log_id` and `sequence` of a read, or of
    /// an update this or another subscription yielded) instead of from now: every event after
    /// it, in order, then live ones. Reading state, then subscribing after the sequence the
    /// read reflects, leaves no window. If the server can no longer resume from there, the
    /// subscription resynchronises from a snapshot as usual.
    pub fn resuming_after(mut self, log_id: impl Into<String>, sequence: u64) -> Self {
        self.position = Some((log_id.into(), sequence));
        self
    }

    /// The log position reached: resuming from here misses nothing.
    pub fn position(&self) -> Option<(&str, u64)> {
        self.position
            .as_ref()
            .map(|(log_id, sequence)| (log_id.as_str(), *sequence))
    }

    fn start(&self) -> Start {
        if self.resynchronizing {
            return Start::Snapshot;
        }
        match &self.position {
            Some((log_id, sequence)) => Start::After {
                log_id: log_id.clone(),
                sequence: *sequence,
            },
            None if self.wants_snapshot => Start::Snapshot,
            None => Start::Live,
        }
    }

    /// The next update; `None` once the subscription has ended with an error it cannot
    /// recover from (returned just before).
    pub async fn next(&mut self) -> Option<Result<Update, Error>> {
        loop {
            if self.finished {
                return None;
            }
            let Some(stream) = self.stream.as_mut() else {
                let start = self.start();
                self.expecting_snapshot = start == Start::Snapshot;
                self.pending = None;
                match (self.opener)(start).await {
                    Ok(stream) => self.stream = Some(stream),
                    Err(status) => {
                        if let Some(error) = self.recover(status).await {
                            return Some(Err(error));
                        }
                    }
                }
                continue;
            };
            match stream.next().await {
                Some(Ok(message)) => {
                    self.delay = self.backoff.initial;
                    if let Some(update) = self.receive(message) {
                        return Some(Ok(update));
                    }
                }
                Some(Err(status)) => {
                    self.stream = None;
                    if let Some(error) = self.recover(status).await {
                        return Some(Err(error));
                    }
                }
                None => {
                    // The server closed the stream without a status: reconnect and resume.
                    self.stream = None;
                    self.wait().await;
                }
            }
        }
    }

    fn receive(&mut self, message: pb::StreamMessage) -> Option<Update> {
        let pb::StreamMessage {
            log_id,
            sequence,
            kind,
            widgets,
        } = message;
        match kind? {
            Kind::SnapshotItem(item) => {
                let pending = self.pending.get_or_insert_with(|| PendingSnapshot {
                    log_id,
                    sequence,
                    items: Vec::new(),
                });
                pending.items.push(item);
                None
            }
            Kind::Heartbeat(_) => {
                self.position = Some((log_id.clone(), sequence));
                if !std::mem::take(&mut self.expecting_snapshot) {
                    return Some(Update::Heartbeat { log_id, sequence });
                }
                // The first heartbeat completes the snapshot (a snapshot of nothing has no
                // items at all).
                let snapshot = self.pending.take().unwrap_or(PendingSnapshot {
                    log_id,
                    sequence,
                    items: Vec::new(),
                });
                self.wants_snapshot = false;
                Some(Update::Snapshot {
                    log_id: snapshot.log_id,
                    sequence: snapshot.sequence,
                    items: snapshot.items,
                    resynchronized: std::mem::take(&mut self.resynchronizing),
                })
            }
            Kind::Event(event) => {
                if let Some((seen_log, seen)) = &self.position
                    && *seen_log == log_id
                    && sequence <= *seen
                {
                    return None;
                }
                self.position = Some((log_id.clone(), sequence));
                Some(Update::Event {
                    log_id,
                    sequence,
                    event: Box::new(event),
                    widgets: widgets.map(Box::new),
                })
            }
        }
    }

    /// Decides what a failed stream means: resynchronise, retry after a pause, or give up
    /// (returning the error).
    async fn recover(&mut self, status: Status) -> Option<Error> {
        let error = Error::from(status);
        match (error.code(), error.reason()) {
            (
                Code::OutOfRange,
                Some("RESUME_POINT_COMPACTED" | "LOG_CHANGED" | "PROVIDER_READMITTED"),
            ) => {
                self.resynchronizing = true;
                self.position = None;
                None
            }
            (Code::ResourceExhausted, Some("SUBSCRIBER_LAGGED")) => None,
            (Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled, _)
            | (Code::DeadlineExceeded, _) => {
                self.wait().await;
                None
            }
            _ => {
                self.finished = true;
                Some(error)
            }
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(self.backoff.max);
    }
}
