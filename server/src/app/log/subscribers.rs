//! Open streams: their scopes, bounded queues, and indexes that find the streams an event
//! concerns without looking at the others.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use cif_sdk::ids::{AgentId, ProviderId};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::logged::{LogSettings, Logged};
use crate::domain::events::Scope;
use crate::domain::{DomainError, DomainResult, Principal, Reason};

/// What a stream's queue carries.
#[derive(Debug, Clone)]
pub enum Delivery {
    Event(Arc<Logged>),
    /// Everything up to this sequence that the stream may see has been queued before it.
    Heartbeat(u64),
}

/// Why a stream ended, set before its queue's sender is dropped so the stream can send
/// what is queued and then this.
#[derive(Debug, Default)]
pub struct Ending(Mutex<Option<DomainError>>);

impl Ending {
    fn set(&self, why: DomainError) {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slot.get_or_insert(why);
    }

    /// The reason the stream was ended, if the server ended it.
    pub fn reason(&self) -> Option<DomainError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

pub type SubscriberId = u64;

/// One of `of` equal parts of the streams (by id), so heartbeats go out a part at a time:
/// ten thousand streams woken at once hold up every event behind them for tens of
/// milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    pub index: u64,
    pub of: u64,
}

impl Slice {
    /// Every stream.
    #[cfg(test)]
    pub const ALL: Slice = Slice { index: 0, of: 1 };

    fn holds(self, id: SubscriberId) -> bool {
        id % self.of == self.index
    }
}

/// A registered stream, as its handler gets it.
pub struct Registration {
    pub id: SubscriberId,
    /// The sequence the stream starts at: the backlog (or a snapshot) reflects it.
    pub sequence: u64,
    /// Retained events it missed, when resuming.
    pub backlog: Vec<Arc<Logged>>,
    /// Everything after `sequence`, starting with a heartbeat that marks the catch-up.
    pub queue: mpsc::Receiver<Delivery>,
    pub ending: Arc<Ending>,
}

struct Subscriber {
    scope: Scope,
    /// Events up to this sequence are already in the stream's snapshot or backlog.
    after: u64,
    sender: mpsc::Sender<Delivery>,
    ending: Arc<Ending>,
}

#[derive(Default)]
pub struct Subscribers {
    next_id: SubscriberId,
    all: HashMap<SubscriberId, Subscriber>,
    by_provider: HashMap<ProviderId, HashSet<SubscriberId>>,
    by_agent: HashMap<AgentId, HashSet<SubscriberId>>,
    everything: HashSet<SubscriberId>,
    per_principal: HashMap<Principal, usize>,
    /// Streams ended because they fell behind, since the start.
    lagged: u64,
}

impl Subscribers {
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Messages waiting in stream queues: in all of them, and in the fullest one.
    pub fn queued(&self) -> (usize, usize) {
        self.all
            .values()
            .map(|s| s.sender.max_capacity() - s.sender.capacity())
            .fold((0, 0), |(total, deepest), queued| {
                (total + queued, deepest.max(queued))
            })
    }

    /// Streams ended because they fell behind, since the start.
    pub fn lagged(&self) -> u64 {
        self.lagged
    }

    pub fn register(
        &mut self,
        scope: Scope,
        backlog: Vec<Arc<Logged>>,
        sequence: u64,
        settings: &LogSettings,
    ) -> DomainResult<Registration> {
        let principal = scope.principal();
        let open = self.per_principal.get(&principal).copied().unwrap_or(0);
        if open >= settings.max_streams_per_principal {
            return Err(DomainError::new(
                Reason::StreamLimitReached,
                format!(
                    "{principal} already has {open} streams open, the limit; close one (one stream can follow several agents)"
                ),
            )
            .with("limit", settings.max_streams_per_principal));
        }
        // One slot more than the configured queue for the catch-up heartbeat.
        let (sender, queue) = mpsc::channel(settings.queue + 1);
        sender
            .try_send(Delivery::Heartbeat(sequence))
            .expect("a new queue has room");
        self.next_id += 1;
        let id = self.next_id;
        match &scope {
            Scope::Provider { provider, .. } => {
                self.by_provider.entry(*provider).or_default().insert(id);
            }
            Scope::Agent(agent) => {
                self.by_agent.entry(*agent).or_default().insert(id);
            }
            Scope::Everything(_) => {
                self.everything.insert(id);
            }
        }
        *self.per_principal.entry(principal).or_default() += 1;
        let ending = Arc::new(Ending::default());
        self.all.insert(
            id,
            Subscriber {
                scope,
                after: sequence,
                sender,
                ending: ending.clone(),
            },
        );
        Ok(Registration {
            id,
            sequence,
            backlog,
            queue,
            ending,
        })
    }

    /// Removes a stream; with `why`, the stream ends with that error after its queue.
    pub fn remove(&mut self, id: SubscriberId, why: Option<&DomainError>) {
        let Some(subscriber) = self.all.remove(&id) else {
            return;
        };
        if let Some(why) = why {
            subscriber.ending.set(why.clone());
        }
        let index = match &subscriber.scope {
            Scope::Provider { provider, .. } => self.by_provider.get_mut(provider),
            Scope::Agent(agent) => self.by_agent.get_mut(agent),
            Scope::Everything(_) => Some(&mut self.everything),
        };
        if let Some(index) = index {
            index.remove(&id);
        }
        let principal = subscriber.scope.principal();
        if let Some(count) = self.per_principal.get_mut(&principal) {
            *count -= 1;
            if *count == 0 {
                self.per_principal.remove(&principal);
            }
        }
        // Dropping the sender lets the stream drain its queue, then see the ending.
    }

    /// Queues an event on every stream that sees it; a full queue ends that stream.
    pub fn deliver(&mut self, logged: &Arc<Logged>) {
        let event = &logged.event;
        let candidates: Vec<SubscriberId> = event
            .providers
            .iter()
            .filter_map(|provider| self.by_provider.get(provider))
            .chain(self.by_agent.get(&event.agent))
            .chain(Some(&self.everything))
            .flatten()
            .copied()
            .collect();
        for id in candidates {
            let subscriber = &self.all[&id];
            if logged.sequence <= subscriber.after || !subscriber.scope.sees(event) {
                continue;
            }
            match subscriber.sender.try_send(Delivery::Event(logged.clone())) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    let lagged = DomainError::new(
                        Reason::SubscriberLagged,
                        "this stream fell too far behind and was ended; subscribe again with log_id and after_sequence = the last sequence received: nothing is lost",
                    )
                    .with("sequence", logged.sequence);
                    self.lagged += 1;
                    self.remove(id, Some(&lagged));
                }
                Err(TrySendError::Closed(_)) => self.remove(id, None),
            }
        }
    }

    pub fn heartbeat(&mut self, sequence: u64, slice: Slice) {
        let closed: Vec<SubscriberId> = self
            .all
            .iter()
            .filter(|(id, _)| slice.holds(**id))
            .filter_map(|(id, subscriber)| {
                // A full queue is behind anyway: it needs no heartbeat, and the next event
                // decides whether it lags.
                match subscriber.sender.try_send(Delivery::Heartbeat(sequence)) {
                    Err(TrySendError::Closed(_)) => Some(*id),
                    _ => None,
                }
            })
            .collect();
        for id in closed {
            self.remove(id, None);
        }
    }

    pub fn end_principal(&mut self, principal: Principal, why: &DomainError) {
        let ids: Vec<SubscriberId> = self
            .all
            .iter()
            .filter(|(_, subscriber)| subscriber.scope.principal() == principal)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.remove(id, Some(why));
        }
    }

    pub fn end_all(&mut self, why: &DomainError) {
        let ids: Vec<SubscriberId> = self.all.keys().copied().collect();
        for id in ids {
            self.remove(id, Some(why));
        }
    }
}
