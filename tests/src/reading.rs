//! Reading event streams in tests, through the SDK's [`Subscription`] or raw tonic streams.
//!
//! A heartbeat may come between any two messages of a stream: idle streams get one at every
//! `--heartbeat-interval` (100 ms in many tests), so a test never assumes that the next message
//! after the first is an event. It skips heartbeats, or waits for what it wants. Only the first
//! message after opening is fixed: the catch-up heartbeat (after the resumed events), or the
//! snapshot. Every read here gives up after [`PATIENCE`] in all, so a missing event fails the
//! test instead of hanging it while heartbeats keep coming.

use cif_sdk::{Subscription, Update, pb};
use tokio::time::{Instant, timeout_at};

/// How long a test waits for something that should come at once: long enough for a loaded
/// machine, short enough that a test waiting for what never comes fails soon.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// The next update of a subscription, whatever it is, failing the test if none comes in time
/// or the subscription fails. The first one after subscribing is the catch-up heartbeat (or the
/// snapshot); after that a heartbeat may come at any time: see [`next_event`] and
/// [`update_where`].
pub async fn next_update(subscription: &mut Subscription) -> Update {
    update_where(subscription, "update", Some).await
}

/// Reads a subscription until `pick` takes an update, and returns what it made of it; fails
/// the test if nothing was taken within [`PATIENCE`], or the subscription fails.
pub async fn update_where<T>(
    subscription: &mut Subscription,
    what: &str,
    mut pick: impl FnMut(Update) -> Option<T>,
) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let update = timeout_at(deadline, subscription.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {PATIENCE:?}"))
            .expect("the subscription goes on")
            .expect("no error");
        if let Some(picked) = pick(update) {
            return picked;
        }
    }
}

/// The next update that is not a heartbeat: an event or a snapshot.
pub async fn skip_heartbeats(subscription: &mut Subscription) -> Update {
    update_where(subscription, "event or snapshot", |update| match update {
        Update::Heartbeat { .. } => None,
        other => Some(other),
    })
    .await
}

/// The next event, as (sequence, event), after any heartbeats; a snapshot fails the test.
pub async fn next_event(subscription: &mut Subscription) -> (u64, pb::Event) {
    match skip_heartbeats(subscription).await {
        Update::Event {
            sequence, event, ..
        } => (sequence, *event),
        other => panic!("an event expected, got {other:?}"),
    }
}

/// How a subscription ends: the events it yields before (heartbeats skipped), as (sequence,
/// event), and the error it ends with.
pub async fn ending(subscription: &mut Subscription) -> (Vec<(u64, pb::Event)>, cif_sdk::Error) {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    loop {
        let next = timeout_at(deadline, subscription.next())
            .await
            .unwrap_or_else(|_| panic!("the subscription did not end within {PATIENCE:?}"));
        match next {
            Some(Ok(Update::Event {
                sequence, event, ..
            })) => events.push((sequence, *event)),
            Some(Ok(Update::Heartbeat { .. })) => {}
            Some(Ok(other)) => panic!("the subscription should end, it yielded {other:?}"),
            Some(Err(error)) => return (events, error),
            None => panic!("the subscription ended without an error"),
        }
    }
}

/// The events a subscription yields until it has seen everything up to `sequence` (heartbeats
/// move it there when no event does), as (sequence, event).
pub async fn events_until(subscription: &mut Subscription, sequence: u64) -> Vec<(u64, pb::Event)> {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    while subscription
        .position()
        .is_none_or(|(_, reached)| reached < sequence)
    {
        let update = timeout_at(deadline, subscription.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "the subscription did not reach sequence {sequence} in time (it is at {:?})",
                    subscription.position()
                )
            })
            .expect("the subscription goes on")
            .expect("no error");
        match update {
            Update::Event {
                sequence, event, ..
            } => events.push((sequence, *event)),
            Update::Heartbeat { .. } => {}
            Update::Snapshot { .. } => panic!("an unexpected snapshot"),
        }
    }
    events
}

/// The next toast a desk's subscription shows, after any other updates.
pub async fn shown(desk: &mut Subscription) -> pb::Notification {
    update_where(desk, "toast shown", |update| match update {
        Update::Event { event, .. } => match event.kind {
            Some(pb::event::Kind::NotificationShown(shown)) => {
                Some(shown.notification.expect("a toast"))
            }
            _ => None,
        },
        _ => None,
    })
    .await
}

/// Waits until a subscription has caught up (its first update is the catch-up heartbeat), so
/// it is registered before the test acts.
pub async fn caught_up(mut subscription: Subscription) -> Subscription {
    match next_update(&mut subscription).await {
        Update::Heartbeat { .. } => subscription,
        other => panic!("expected the catch-up heartbeat, got {other:?}"),
    }
}

/// A response of a raw stream (a provider's or an agent's Subscribe, the operator's Watch):
/// one stream message each.
pub trait StreamResponse {
    fn into_message(self) -> pb::StreamMessage;
}

impl StreamResponse for pb::SubscribeResponse {
    fn into_message(self) -> pb::StreamMessage {
        self.message.expect("a stream message")
    }
}

impl StreamResponse for pb::AgentServiceSubscribeResponse {
    fn into_message(self) -> pb::StreamMessage {
        self.message.expect("a stream message")
    }
}

impl StreamResponse for pb::WatchResponse {
    fn into_message(self) -> pb::StreamMessage {
        self.message.expect("a stream message")
    }
}

async fn raw_message_by<R: StreamResponse>(
    stream: &mut tonic::Streaming<R>,
    deadline: Instant,
) -> pb::StreamMessage {
    timeout_at(deadline, stream.message())
        .await
        .unwrap_or_else(|_| panic!("no stream message within {PATIENCE:?}"))
        .expect("no error")
        .expect("the stream goes on")
        .into_message()
}

/// The next message of a raw stream, failing the test if none comes in time, or the stream
/// fails or ends. The first one is the catch-up heartbeat; after it, see [`raw_event`].
pub async fn raw_message<R: StreamResponse>(stream: &mut tonic::Streaming<R>) -> pb::StreamMessage {
    raw_message_by(stream, Instant::now() + PATIENCE).await
}

/// The next event of a raw stream, as (sequence, event), after any heartbeats.
pub async fn raw_event<R: StreamResponse>(stream: &mut tonic::Streaming<R>) -> (u64, pb::Event) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let message = raw_message_by(stream, deadline).await;
        match message.kind {
            Some(pb::stream_message::Kind::Event(event)) => return (message.sequence, event),
            Some(pb::stream_message::Kind::Heartbeat(_)) => {}
            other => panic!("an event expected, got {other:?}"),
        }
    }
}

/// What a raw stream opened after a position sends before its catch-up heartbeat (its first
/// heartbeat): the missed events, as (sequence, event), and the heartbeat's sequence.
pub async fn raw_until_caught_up<R: StreamResponse>(
    stream: &mut tonic::Streaming<R>,
) -> (Vec<(u64, pb::Event)>, u64) {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    loop {
        let message = raw_message_by(stream, deadline).await;
        match message.kind {
            Some(pb::stream_message::Kind::Event(event)) => events.push((message.sequence, event)),
            Some(pb::stream_message::Kind::Heartbeat(_)) => return (events, message.sequence),
            other => panic!("an event or the catch-up heartbeat expected, got {other:?}"),
        }
    }
}

/// The events of a raw stream until it has reached `sequence` (an event or a heartbeat at or
/// past it).
pub async fn raw_events_until<R: StreamResponse>(
    stream: &mut tonic::Streaming<R>,
    sequence: u64,
) -> Vec<(u64, pb::Event)> {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    loop {
        let message = raw_message_by(stream, deadline).await;
        match message.kind {
            Some(pb::stream_message::Kind::Event(event)) => events.push((message.sequence, event)),
            Some(pb::stream_message::Kind::Heartbeat(_)) => {}
            other => panic!("an event or a heartbeat expected, got {other:?}"),
        }
        if message.sequence >= sequence {
            return events;
        }
    }
}

/// The status a raw stream ends with, after any heartbeats; an event before it fails the test.
pub async fn raw_ending<R: StreamResponse>(stream: &mut tonic::Streaming<R>) -> tonic::Status {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let next = timeout_at(deadline, stream.message())
            .await
            .unwrap_or_else(|_| panic!("the stream did not end within {PATIENCE:?}"));
        match next {
            Ok(Some(response)) => match response.into_message().kind {
                Some(pb::stream_message::Kind::Heartbeat(_)) => {}
                other => panic!("the stream should end, it sent {other:?}"),
            },
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => return status,
        }
    }
}

/// A client program (the Python or TypeScript client following a stream) that prints one
/// JSON line per update, read as it prints them; the program is killed when this is dropped.
pub struct JsonLines {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<serde_json::Value>,
}

impl JsonLines {
    /// Starts `program` with its output read line by line (its errors go to the test's).
    pub fn start(mut program: std::process::Command) -> Self {
        use std::io::BufRead as _;
        let mut child = program
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the client program starts");
        let stdout = child.stdout.take().expect("its stdout");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value = serde_json::from_str(&line).expect("one JSON update per line");
                if sender.send(value).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits (up to three times [`PATIENCE`]: a program starts slower than a stream) for a
    /// line that `wanted` accepts, failing with what came instead.
    pub fn until(
        &self,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + PATIENCE * 3;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if wanted(&line) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no {what} in time; the client printed {seen:?}"),
            }
        }
    }
}

impl Drop for JsonLines {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
