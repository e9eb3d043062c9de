//! Subscription streams: the snapshot or the missed events, then the subscriber's queue, then
//! the reason the server ended the stream, if it did.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use cif_sdk::pb;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::Status;
use uuid::Uuid;

use super::status::to_status;
use super::{convert, parse};
use crate::app::log::{Delivery, Ending, Logged, Registration, Start, SubscriberId};
use crate::app::{Committed, SharedCore, write};
use crate::domain::events::{Passage, Scope};
use crate::domain::validate::Violations;
use crate::domain::{DomainResult, Reason};

/// A response stream as tonic wants it.
pub type ResponseStream<R> = Pin<Box<dyn Stream<Item = Result<R, Status>> + Send>>;

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

/// Reads the start fields every subscribe request has.
pub fn opening(snapshot: bool, log_id: &str, after_sequence: u64) -> DomainResult<Opening> {
    if log_id.is_empty() {
        return Ok(if snapshot {
            Opening::Snapshot
        } else {
            Opening::Live
        });
    }
    let mut violations = Violations::new();
    if snapshot {
        violations.add(
            "snapshot",
            Reason::FieldMalformed,
            "snapshot cannot be combined with resuming (log_id): ask for a snapshot, or resume",
        );
    }
    let log_id = match Uuid::try_parse(log_id) {
        Ok(log_id) => Some(log_id),
        Err(_) => {
            violations.add(
                "log_id",
                Reason::FieldMalformed,
                "log_id is not a log id; give the log_id of a stream message or read",
            );
            None
        }
    };
    violations.finish()?;
    Ok(Opening::Resume {
        log_id: log_id.expect("checked above"),
        after_sequence,
    })
}

/// Opens a stream for `scope`. Under one lock: the snapshot (if asked) is taken and the
/// subscriber registered at the same sequence, so nothing falls between them. The stream starts
/// once what it starts from is durable.
pub async fn open(
    state: &SharedCore,
    scope: Scope,
    opening: Opening,
) -> Result<Subscription, Status> {
    /// What one look at the state decided.
    enum Step {
        /// A resume point the caller saw is still on its way to disk: wait, then look again.
        Wait(Committed<()>),
        Open(
            Vec<pb::SnapshotItem>,
            String,
            Option<cif_sdk::ids::AgentId>,
            Registration,
            Committed<()>,
        ),
    }
    let (snapshot, log_id, desk, registration, ready) = loop {
        let step = {
            let mut core = write(state);
            core.plane.check_scope(&scope)?;
            let start = match opening {
                Opening::Resume {
                    log_id,
                    after_sequence,
                } if after_sequence > core.log.last_sequence()
                    && after_sequence <= core.assigned() =>
                {
                    let _ = log_id;
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
                    let snapshot = match opening {
                        Opening::Snapshot => snapshot_items(&core.plane, &scope)?,
                        Opening::Live | Opening::Resume { .. } => Vec::new(),
                    };
                    let log_id = core.log.log_id().to_string();
                    let desk = match scope {
                        Scope::Agent(agent) => Some(agent),
                        _ => None,
                    };
                    let registration = core.log.subscribe(scope.clone(), start)?;
                    if let Some(agent) = desk {
                        // The desk is online from now: its first waiting toast comes on
                        // screen, on this very stream (registered above).
                        let _connected = core.execute(|plane| {
                            plane.desk_connected(agent, SystemTime::now());
                            Ok(())
                        })?;
                    }
                    Step::Open(
                        snapshot,
                        log_id,
                        desk,
                        registration,
                        core.observe(|_| Ok(()))?,
                    )
                }
            }
        };
        match step {
            Step::Wait(pending) => pending.confirmed().await.map(drop)?,
            Step::Open(snapshot, log_id, desk, registration, ready) => {
                break (snapshot, log_id, desk, registration, ready);
            }
        }
    };
    let unsubscribe = Unsubscribe {
        state: state.clone(),
        id: registration.id,
        desk,
    };
    ready.confirmed().await?;
    let prelude = snapshot
        .into_iter()
        .map(|item| pb::StreamMessage {
            log_id: log_id.clone(),
            sequence: registration.sequence,
            kind: Some(pb::stream_message::Kind::SnapshotItem(item)),
        })
        .collect();
    Ok(Subscription {
        log_id,
        audience: match scope {
            Scope::Provider { .. } => convert::Audience::Provider,
            Scope::Agent(_) | Scope::Everything => convert::Audience::Desk,
        },
        scope,
        prelude,
        backlog: registration.backlog.into_iter(),
        queue: registration.queue,
        ending: registration.ending,
        _unsubscribe: unsubscribe,
        done: false,
    })
}

/// What `scope` may see now, in snapshot items.
fn snapshot_items(
    plane: &crate::domain::ControlPlane,
    scope: &Scope,
) -> DomainResult<Vec<pb::SnapshotItem>> {
    use pb::snapshot_item::Item;
    Ok(match scope {
        Scope::Provider { provider, agents } => {
            let sessions = plane
                .provider_open_sessions(*provider, agents.as_ref())?
                .into_iter()
                .chain(plane.provider_home_tabs(*provider, agents.as_ref()))
                .map(|view| Item::Session(convert::session(view)));
            let toasts = plane
                .provider_pending_toasts(*provider)
                .into_iter()
                .filter(|toast| {
                    agents
                        .as_ref()
                        .is_none_or(|agents| agents.contains(&toast.agent))
                })
                .map(|toast| Item::Notification(convert::notification(toast)));
            sessions
                .chain(toasts)
                .map(|item| pb::SnapshotItem { item: Some(item) })
                .collect()
        }
        Scope::Agent(agent) => vec![pb::SnapshotItem {
            item: Some(Item::Desk(convert::desk(plane.desk(*agent)?))),
        }],
        Scope::Everything => plane
            .desks()
            .map(|desk| pb::SnapshotItem {
                item: Some(Item::Desk(convert::desk(desk))),
            })
            .collect(),
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
            let _disconnected = core.execute(|plane| {
                plane.desk_disconnected(agent, SystemTime::now());
                Ok(())
            });
        }
    }
}

/// One open stream.
pub struct Subscription {
    log_id: String,
    /// What the stream may see, and what it does with each event it sees.
    scope: Scope,
    /// How its events are converted.
    audience: convert::Audience,
    prelude: VecDeque<pb::StreamMessage>,
    backlog: std::vec::IntoIter<Arc<Logged>>,
    queue: mpsc::Receiver<Delivery>,
    ending: Arc<Ending>,
    _unsubscribe: Unsubscribe,
    done: bool,
}

impl Subscription {
    /// The message an event becomes on this stream: sent, skipped (`None`), or the end of the
    /// stream (see `Scope::passage`).
    fn event(&mut self, logged: &Logged) -> Option<Result<pb::StreamMessage, Status>> {
        match self.scope.passage(&logged.event) {
            Passage::Deliver => Some(Ok(pb::StreamMessage {
                log_id: self.log_id.clone(),
                sequence: logged.sequence,
                kind: Some(pb::stream_message::Kind::Event(convert::event(
                    &logged.event,
                    self.audience,
                ))),
            })),
            Passage::Skip => None,
            Passage::End(why) => {
                self.done = true;
                Some(Err(to_status(why)))
            }
        }
    }

    /// Wraps every message into a service's response type, for tonic.
    pub fn into_responses<R: Send + 'static>(
        self,
        wrap: fn(pb::StreamMessage) -> R,
    ) -> ResponseStream<R> {
        Box::pin(tokio_stream::StreamExt::map(self, move |message| {
            message.map(wrap)
        }))
    }
}

impl Stream for Subscription {
    type Item = Result<pb::StreamMessage, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(item) = this.prelude.pop_front() {
            return Poll::Ready(Some(Ok(item)));
        }
        while let Some(logged) = this.backlog.next() {
            if let Some(message) = this.event(&logged) {
                return Poll::Ready(Some(message));
            }
        }
        loop {
            return match this.queue.poll_recv(cx) {
                Poll::Ready(Some(Delivery::Event(logged))) => match this.event(&logged) {
                    Some(message) => Poll::Ready(Some(message)),
                    None => continue,
                },
                Poll::Ready(Some(Delivery::Heartbeat(sequence))) => {
                    Poll::Ready(Some(Ok(pb::StreamMessage {
                        log_id: this.log_id.clone(),
                        sequence,
                        kind: Some(pb::stream_message::Kind::Heartbeat(pb::Heartbeat {})),
                    })))
                }
                Poll::Ready(None) => {
                    this.done = true;
                    Poll::Ready(this.ending.reason().map(|why| Err(to_status(why))))
                }
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

/// Parses a provider's agent filter.
pub fn agent_filter(
    agent_ids: &[String],
) -> DomainResult<Option<std::collections::BTreeSet<cif_sdk::ids::AgentId>>> {
    if agent_ids.is_empty() {
        return Ok(None);
    }
    agent_ids
        .iter()
        .enumerate()
        .map(|(index, id)| parse::id(&format!("agent_ids[{index}]"), id))
        .collect::<DomainResult<_>>()
        .map(Some)
}
