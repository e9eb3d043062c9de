//! Subscriptions: opening a stream (a snapshot or the missed events, then the live queue) under
//! the same lock as the state, and what a stream yields: events its scope may see, heartbeats,
//! and the reason the server ended it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use uuid::Uuid;

use super::core::Committed;
use super::log::{Delivery, Ending, Logged, Registration, Start, SubscriberId};
use super::state::{SharedCore, write};
use crate::domain::events::{Passage, Scope};
use crate::domain::{ControlPlane, DomainError, DomainResult};

/// How long a follower waits for a resume point a caller saw on another replica, at most
/// (it gives up sooner once it has read the store and the point is not there either).
const FOLLOWER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// How often a follower waiting for a resume point looks whether it has read the store since.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(50);

/// How a subscriber asked to start.
#[derive(Debug, Clone, Copy)]
pub enum Opening {
    /// Live events from now.
    Live,
    /// A snapshot, then live events.
    Snapshot,
    /// The events after a point of a log, then live events.
    Resume { log_id: Uuid, after_sequence: u64 },
}

/// What a stream yields after its snapshot.
#[derive(Debug)]
pub enum Update {
    /// An event the stream's scope sees.
    Event(Arc<Logged>),
    /// Everything up to this sequence that the stream may see has been sent.
    Heartbeat(u64),
}

/// An open stream: its snapshot (as `snapshot` made it, when asked for), then its updates.
pub struct Subscription<S> {
    pub log_id: Uuid,
    /// The sequence the snapshot (or the resume point) reflects.
    pub sequence: u64,
    pub snapshot: Option<S>,
    scope: Scope,
    backlog: std::vec::IntoIter<Arc<Logged>>,
    queue: mpsc::Receiver<Delivery>,
    ending: Arc<Ending>,
    _unsubscribe: Unsubscribe,
    done: bool,
}

/// Opens a stream for `scope`. Under one lock the snapshot (when asked for, made by
/// `snapshot` from the state) is taken and the subscriber registered at the same sequence, so
/// nothing falls between them. The stream starts once what it starts from is durable.
pub async fn subscribe<S>(
    state: &SharedCore,
    scope: Scope,
    opening: Opening,
    snapshot: impl Fn(&ControlPlane, &Scope) -> DomainResult<S>,
) -> DomainResult<Subscription<S>> {
    /// What one look at the state decided.
    enum Step<S> {
        /// A resume point the caller saw is still on its way to disk: wait, then look again.
        Wait(Committed<()>),
        /// A follower has not applied the resume point the caller saw on another replica
        /// yet, nor read the store since the call came: wait for its next commit, or a
        /// moment, then look again.
        Follow(Committed<()>),
        Open(Option<S>, Uuid, Registration, Committed<()>),
    }
    // How long a follower waits to reach a resume point; then it is refused as ahead. It is
    // refused sooner once the follower has read the store since the call came and the point
    // is still ahead: then the writer had not committed it either.
    let give_up = tokio::time::Instant::now() + FOLLOWER_PATIENCE;
    let arrived = std::time::Instant::now();
    // On a follower, an agent's stream: hears when the writer counts the desk online.
    let mut acknowledged = None;
    let (made, log_id, registration, ready) = loop {
        let step = {
            let mut core = write(state);
            core.plane.check_scope(&scope)?;
            let behind = |core: &super::core::Core, log_id: Uuid, after_sequence: u64| {
                core.follows()
                    && log_id == core.log.log_id()
                    && after_sequence > core.assigned()
                    && !core.read_store_since(arrived)
                    && tokio::time::Instant::now() < give_up
            };
            if let Opening::Resume {
                log_id,
                after_sequence,
            } = opening
                && behind(&core, log_id, after_sequence)
            {
                Step::Follow(core.next_commit())
            } else {
                let start = match opening {
                    Opening::Resume { after_sequence, .. }
                        if after_sequence > core.log.last_sequence()
                            && after_sequence <= core.assigned() =>
                    {
                        None
                    }
                    Opening::Resume {
                        log_id,
                        after_sequence,
                    } => Some(Start::After {
                        log_id,
                        sequence: after_sequence,
                    }),
                    Opening::Live | Opening::Snapshot => Some(Start::Now {
                        sequence: core.assigned(),
                    }),
                };
                match start {
                    None => Step::Wait(core.observe(|_| Ok(()))?),
                    Some(start) => {
                        let made = match opening {
                            Opening::Snapshot => Some(snapshot(&core.plane, &scope)?),
                            Opening::Live | Opening::Resume { .. } => None,
                        };
                        let log_id = core.log.log_id();
                        let registration = core.log.subscribe(scope.clone(), start)?;
                        if let Scope::Agent(agent) = scope {
                            if core.follows() {
                                // The writer counts the desk online through the store.
                                acknowledged = Some(core.desk_opened_here(agent));
                            } else {
                                // The desk is online from now: its first waiting toast comes on
                                // screen, on this very stream (registered above).
                                let _connected = core.execute(|plane| {
                                    plane.desk_connected(agent, SystemTime::now());
                                    Ok(())
                                })?;
                            }
                        }
                        Step::Open(made, log_id, registration, core.observe(|_| Ok(()))?)
                    }
                }
            }
        };
        match step {
            Step::Wait(pending) => pending.confirmed().await.map(drop)?,
            Step::Follow(next) => {
                let look_again = give_up.min(tokio::time::Instant::now() + LOOK_AGAIN);
                let _ = tokio::time::timeout_at(look_again, next.confirmed()).await;
            }
            Step::Open(made, log_id, registration, ready) => {
                break (made, log_id, registration, ready);
            }
        }
    };
    let unsubscribe = Unsubscribe {
        state: state.clone(),
        id: registration.id,
        desk: match scope {
            Scope::Agent(agent) => Some(agent),
            _ => None,
        },
    };
    if let Some(acknowledged) = acknowledged {
        // The stream starts once the writer counts the desk online, so a toast raised as
        // soon as it started finds the desk online, as on the writer itself.
        let _ = tokio::time::timeout(FOLLOWER_PATIENCE, acknowledged).await;
    }
    ready.confirmed().await?;
    Ok(Subscription {
        log_id,
        sequence: registration.sequence,
        snapshot: made,
        scope,
        backlog: registration.backlog.into_iter(),
        queue: registration.queue,
        ending: registration.ending,
        _unsubscribe: unsubscribe,
        done: false,
    })
}

/// Unregisters the subscriber when its stream is dropped (the client went away or the
/// stream ended).
struct Unsubscribe {
    state: SharedCore,
    id: SubscriberId,
    /// The agent whose desktop this stream is: its desk goes offline (after the grace
    /// period) when its last stream ends.
    desk: Option<cif_sdk::ids::AgentId>,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        let mut core = write(&self.state);
        core.log.unsubscribe(self.id);
        if let Some(agent) = self.desk {
            if core.follows() {
                core.desk_closed_here(agent);
            } else {
                let _disconnected = core.execute(|plane| {
                    plane.desk_disconnected(agent, SystemTime::now());
                    Ok(())
                });
            }
        }
    }
}

impl<S> Subscription<S> {
    /// What the stream's scope does with an event: sent, skipped (`None`), or the end of the
    /// stream (see `Scope::passage`).
    fn event(&mut self, logged: Arc<Logged>) -> Option<DomainResult<Update>> {
        match self.scope.passage(&logged.event) {
            Passage::Deliver => Some(Ok(Update::Event(logged))),
            Passage::Skip => None,
            Passage::End(why) => {
                self.done = true;
                Some(Err(why))
            }
        }
    }

    /// The scope the stream serves.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl<S: Unpin> Stream for Subscription<S> {
    type Item = Result<Update, DomainError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        while let Some(logged) = this.backlog.next() {
            if let Some(update) = this.event(logged) {
                return Poll::Ready(Some(update));
            }
        }
        loop {
            return match this.queue.poll_recv(cx) {
                Poll::Ready(Some(Delivery::Event(logged))) => match this.event(logged) {
                    Some(update) => Poll::Ready(Some(update)),
                    None => continue,
                },
                Poll::Ready(Some(Delivery::Heartbeat(sequence))) => {
                    Poll::Ready(Some(Ok(Update::Heartbeat(sequence))))
                }
                Poll::Ready(None) => {
                    this.done = true;
                    Poll::Ready(this.ending.reason().map(Err))
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
