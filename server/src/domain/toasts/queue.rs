//! The toasts part (rule 12): every desk's queue (one toast on screen, the rest waiting), the
//! deadlines toasts end by themselves, whether a desk is online to see one, and how each ended.
//! Its indexes (queues, deadlines, the order outcomes are forgotten in) change only here, so
//! they always agree with the toasts.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use cif_sdk::ids::{AgentId, ProviderId};

use super::toast::{Outcome, Raised, Resolution, Toast, ToastKey};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::{EventKind, Happened, ToastSnapshot};
use crate::domain::tracked::Tracked;

/// Whether someone could see a desk's toasts.
#[derive(Debug, Clone, Copy, Default)]
struct Connection {
    /// Open streams of the agent's desktop.
    streams: u32,
    /// When the last stream ended, for the grace period; `None` while a stream is open or if
    /// none ever was.
    offline_since: Option<SystemTime>,
}

/// Pending and ended toasts, and every desk's queue.
#[derive(Debug)]
pub struct Toasts {
    /// Waiting or on screen.
    pending: Tracked<ToastKey, Toast>,
    /// Pending toasts by when they end by themselves.
    deadlines: BTreeSet<(SystemTime, ToastKey)>,
    /// Each desk's pending toasts in order; the first is on screen once shown.
    queues: HashMap<AgentId, VecDeque<ToastKey>>,
    /// Ended toasts, for retries with the same id; oldest first in `resolved_order`.
    resolved: Tracked<ToastKey, (Toast, Resolution)>,
    resolved_order: VecDeque<ToastKey>,
    /// Ended toasts remembered at most.
    retention: usize,
    /// Not stored: no stream outlives the process.
    connections: HashMap<AgentId, Connection>,
    /// How long a desk counts as online after its last stream ended.
    grace: Duration,
    /// The next toast's place in its queue.
    next_queued: u64,
}

impl Toasts {
    pub fn new(grace: Duration, retention: usize) -> Self {
        Self {
            pending: Tracked::default(),
            deadlines: BTreeSet::new(),
            queues: HashMap::new(),
            resolved: Tracked::default(),
            resolved_order: VecDeque::new(),
            retention,
            connections: HashMap::new(),
            grace,
            next_queued: 1,
        }
    }

    /// The toasts as stored. Every desk in `desks` starts its grace period at `now`, so desks
    /// reconnecting after a restart lose nothing.
    pub fn restore(
        grace: Duration,
        retention: usize,
        pending: Vec<Toast>,
        resolved: Vec<(Toast, Resolution)>,
        desks: impl Iterator<Item = AgentId>,
        now: SystemTime,
    ) -> Self {
        let mut toasts = Self::new(grace, retention);
        for agent in desks {
            toasts.connections.insert(
                agent,
                Connection {
                    streams: 0,
                    offline_since: Some(now),
                },
            );
        }
        let mut ordered: Vec<&Toast> = pending.iter().collect();
        ordered.sort_by_key(|toast| (toast.queued, toast.raised, toast.key));
        for toast in ordered {
            toasts
                .queues
                .entry(toast.agent)
                .or_default()
                .push_back(toast.key);
            if let Some(deadline) = toast.deadline() {
                toasts.deadlines.insert((deadline, toast.key));
            }
            toasts.next_queued = toasts.next_queued.max(toast.queued + 1);
        }
        toasts.pending = Tracked::loaded(pending.into_iter().map(|toast| (toast.key, toast)));
        let mut by_time: Vec<&(Toast, Resolution)> = resolved.iter().collect();
        by_time.sort_by_key(|(toast, resolution)| (resolution.time, toast.key));
        toasts.resolved_order = by_time.iter().map(|(toast, _)| toast.key).collect();
        toasts.resolved = Tracked::loaded(resolved.into_iter().map(|entry| (entry.0.key, entry)));
        toasts
    }

    /// Makes the toasts what another process's commands left them (a follower reading what
    /// the writer committed), keeping queues, deadlines and the order outcomes are forgotten
    /// in as [`Toasts::restore`] derives them. Nothing counts as changed.
    pub fn apply(&mut self, changes: ToastChanges) {
        for (key, toast) in changes.pending {
            if let Some(old) = self.pending.remove(&key) {
                if let Some(deadline) = old.deadline() {
                    self.deadlines.remove(&(deadline, key));
                }
                if let Some(queue) = self.queues.get_mut(&old.agent) {
                    queue.retain(|pending| *pending != key);
                }
            }
            let Some(toast) = toast else { continue };
            if let Some(deadline) = toast.deadline() {
                self.deadlines.insert((deadline, key));
            }
            let order = |toast: &Toast| (toast.queued, toast.raised, toast.key);
            let queue = self.queues.entry(toast.agent).or_default();
            let place = queue
                .iter()
                .position(|queued| order(&self.pending[queued]) > order(&toast))
                .unwrap_or(queue.len());
            queue.insert(place, key);
            self.next_queued = self.next_queued.max(toast.queued + 1);
            self.pending.insert(key, toast);
        }
        for (key, resolved) in changes.resolved {
            let known = self.resolved.remove(&key).is_some();
            match resolved {
                Some(resolved) => {
                    if !known {
                        self.resolved_order.push_back(key);
                    }
                    self.resolved.insert(key, resolved);
                }
                None if self.resolved_order.front() == Some(&key) => {
                    self.resolved_order.pop_front();
                }
                None => self.resolved_order.retain(|kept| *kept != key),
            }
        }
        self.forget_changes();
    }

    // === looking ===

    /// A pending toast.
    pub fn pending(&self, key: &ToastKey) -> Option<&Toast> {
        self.pending.get(key)
    }

    /// An ended toast and how it ended, while it is remembered.
    pub fn resolved(&self, key: &ToastKey) -> Option<&(Toast, Resolution)> {
        self.resolved.get(key)
    }

    /// How a toast ended, if it did.
    pub fn resolution(&self, key: &ToastKey) -> Option<Resolution> {
        self.resolved.get(key).map(|(_, resolution)| *resolution)
    }

    /// A desk's pending toasts: the one on screen first, then the queue.
    pub fn queue(&self, agent: AgentId) -> impl Iterator<Item = &Toast> {
        self.queues
            .get(&agent)
            .into_iter()
            .flatten()
            .map(|key| &self.pending[key])
    }

    /// How many toasts a desk has pending, the one on screen included.
    pub fn queued(&self, agent: AgentId) -> usize {
        self.queues.get(&agent).map_or(0, VecDeque::len)
    }

    /// A provider's pending toasts, oldest first.
    pub fn raised_by(&self, provider: ProviderId) -> Vec<&Toast> {
        let mut toasts: Vec<&Toast> = self
            .pending
            .values()
            .filter(|toast| toast.key.provider == provider)
            .collect();
        toasts.sort_by_key(|toast| (toast.raised, toast.key));
        toasts
    }

    /// Whether someone could see a toast on `agent`'s desk now: a stream is open, or the last
    /// one ended less than the grace period ago (it is probably reconnecting).
    pub fn online(&self, agent: AgentId, now: SystemTime) -> bool {
        self.connections.get(&agent).is_some_and(|connection| {
            connection.streams > 0
                || connection
                    .offline_since
                    .is_some_and(|since| now < since + self.grace)
        })
    }

    /// How long a desk stays online after its last stream ended.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// The earliest moment a toast ends by itself.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    // === changing ===

    /// Queues a toast (shown at once if its desk is free and connected), or ends it at once
    /// with `QUEUE_FULL` when the desk already has `limit` toasts pending.
    pub fn raise(
        &mut self,
        mut toast: Toast,
        limit: usize,
        now: SystemTime,
    ) -> (Raised, Vec<Happened>) {
        let mut happened = Vec::new();
        let key = toast.key;
        let agent = toast.agent;
        if self.queued(agent) >= limit {
            let resolution = self.remember(toast, Outcome::QueueFull, &mut happened);
            return (Raised::Resolved(resolution), happened);
        }
        toast.queued = self.next_queued;
        self.next_queued += 1;
        if let Some(deadline) = toast.deadline() {
            self.deadlines.insert((deadline, key));
        }
        self.pending.insert(key, toast);
        self.queues.entry(agent).or_default().push_back(key);
        self.show_next(agent, now, &mut happened);
        if let Some(waiting) = self.pending.get(&key).filter(|toast| toast.shown.is_none()) {
            // Behind another toast, or on a desk not connected yet: the desk learns it waits.
            happened.push(Happened {
                agent,
                time: now,
                kind: EventKind::NotificationQueued {
                    toast: ToastSnapshot(Box::new(waiting.clone())),
                },
            });
        }
        let raised = match self.resolution(&key) {
            Some(resolution) => Raised::Resolved(resolution),
            None => Raised::Pending(key),
        };
        (raised, happened)
    }

    /// The desk a toast is (or was) on, while it is pending or remembered.
    pub fn desk_of(&self, key: &ToastKey) -> Option<AgentId> {
        self.pending
            .get(key)
            .map(|toast| toast.agent)
            .or_else(|| self.resolved.get(key).map(|(toast, _)| toast.agent))
    }

    /// Ends a pending toast as cancelled by its provider; one that already ended keeps its
    /// outcome.
    pub fn cancel(
        &mut self,
        key: ToastKey,
        now: SystemTime,
    ) -> DomainResult<(Resolution, Vec<Happened>)> {
        if let Some(resolution) = self.resolution(&key) {
            return Ok((resolution, Vec::new()));
        }
        let agent = self
            .pending
            .get(&key)
            .map(|toast| toast.agent)
            .ok_or_else(|| DomainError::notification_not_found(key.id))?;
        let mut happened = Vec::new();
        let resolution = self.finish(
            key,
            Outcome::Cancelled(super::toast::Canceller::Provider),
            &mut happened,
        );
        self.show_next(agent, now, &mut happened);
        Ok((resolution, happened))
    }

    /// The agent accepts or rejects the toast on its screen.
    pub fn respond(
        &mut self,
        agent: AgentId,
        key: ToastKey,
        accept: bool,
        now: SystemTime,
    ) -> DomainResult<(Resolution, Vec<Happened>)> {
        let toast = self
            .pending
            .get(&key)
            .filter(|toast| toast.agent == agent)
            .ok_or_else(|| DomainError::notification_not_found(key.id))?;
        if toast.shown.is_none() {
            return Err(DomainError::new(
                Reason::NotificationNotShown,
                format!(
                    "toast {} waits in the queue; answer the toast on screen first",
                    key.id
                ),
            )
            .with("notification_id", key.id));
        }
        if !accept && !toast.content.show_reject {
            return Err(DomainError::new(
                Reason::RejectNotOffered,
                format!(
                    "toast {} offers no reject button; accept it or let it time out",
                    key.id
                ),
            )
            .with("notification_id", key.id));
        }
        let outcome = if accept {
            Outcome::Accepted
        } else {
            Outcome::Declined
        };
        let mut happened = Vec::new();
        let resolution = self.finish(key, outcome, &mut happened);
        self.show_next(agent, now, &mut happened);
        Ok((resolution, happened))
    }

    /// Ends the toasts whose time is up: display timeout (or auto-accept) on screen, queue
    /// time limit while waiting.
    pub fn expire(&mut self, now: SystemTime) -> Vec<Happened> {
        let mut happened = Vec::new();
        let mut agents = Vec::new();
        while let Some(&(deadline, key)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            let toast = &self.pending[&key];
            let outcome = match (toast.shown.is_some(), toast.content.auto_accept) {
                (true, true) => Outcome::AutoAccepted,
                (true, false) => Outcome::DisplayTimeout,
                (false, _) => Outcome::QueueTimeLimitExceeded,
            };
            agents.push(toast.agent);
            self.finish(key, outcome, &mut happened);
        }
        for agent in agents {
            self.show_next(agent, now, &mut happened);
        }
        happened
    }

    /// Cancels every pending toast `doomed` selects (on one desk when `desk` is given, which
    /// spares a look at every other desk's toasts), then lets each desk show its next one.
    pub fn cancel_where(
        &mut self,
        canceller: super::toast::Canceller,
        now: SystemTime,
        desk: Option<AgentId>,
        doomed: impl Fn(&Toast) -> bool,
    ) -> Vec<Happened> {
        let candidates: Vec<&Toast> = match desk {
            Some(agent) => self.queue(agent).collect(),
            None => self.pending.values().collect(),
        };
        let mut keys: Vec<(ToastKey, AgentId)> = candidates
            .into_iter()
            .filter(|toast| doomed(toast))
            .map(|toast| (toast.key, toast.agent))
            .collect();
        keys.sort();
        let mut happened = Vec::new();
        for (key, _) in &keys {
            self.finish(*key, Outcome::Cancelled(canceller), &mut happened);
        }
        let mut agents: Vec<AgentId> = keys.into_iter().map(|(_, agent)| agent).collect();
        agents.sort();
        agents.dedup();
        for agent in agents {
            self.show_next(agent, now, &mut happened);
        }
        happened
    }

    /// An agent's desktop opened a stream: the desk is online, and its first waiting toast
    /// comes on screen.
    pub fn connected(&mut self, agent: AgentId, now: SystemTime) -> Vec<Happened> {
        let connection = self.connections.entry(agent).or_default();
        connection.streams += 1;
        connection.offline_since = None;
        let mut happened = Vec::new();
        self.show_next(agent, now, &mut happened);
        happened
    }

    /// Every desk in `desks` with no stream open here starts its grace period at `now`, as
    /// after a restart (this process has just taken over).
    pub fn start_grace(&mut self, desks: impl Iterator<Item = AgentId>, now: SystemTime) {
        for agent in desks {
            let connection = self.connections.entry(agent).or_default();
            if connection.streams == 0 {
                connection.offline_since = Some(now);
            }
        }
    }

    /// An agent's desktop closed a stream; with none left, the grace period starts.
    pub fn disconnected(&mut self, agent: AgentId, now: SystemTime) {
        if let Some(connection) = self.connections.get_mut(&agent) {
            connection.streams = connection.streams.saturating_sub(1);
            if connection.streams == 0 {
                connection.offline_since = Some(now);
            }
        }
    }

    /// Forgets a deleted agent's desk (its toasts must have ended).
    pub fn remove_desk(&mut self, agent: AgentId) {
        debug_assert_eq!(self.queued(agent), 0, "the agent's toasts ended first");
        self.queues.remove(&agent);
        self.connections.remove(&agent);
    }

    /// Shows the desk's first waiting toast if nothing is on screen and someone is connected;
    /// toasts that outlived the queue time limit end instead.
    fn show_next(&mut self, agent: AgentId, now: SystemTime, happened: &mut Vec<Happened>) {
        loop {
            let Some(&head) = self.queues.get(&agent).and_then(VecDeque::front) else {
                return;
            };
            let streams = self.connections.get(&agent).map_or(0, |c| c.streams);
            if streams == 0 || self.pending[&head].shown.is_some() {
                return;
            }
            let toast = &self.pending[&head];
            if toast.deadline().is_some_and(|deadline| deadline <= now) {
                self.finish(head, Outcome::QueueTimeLimitExceeded, happened);
                continue;
            }
            if let Some(deadline) = toast.deadline() {
                self.deadlines.remove(&(deadline, head));
            }
            let toast = self.pending.get_mut(&head).expect("pending");
            toast.shown = Some(now);
            if let Some(deadline) = toast.deadline() {
                self.deadlines.insert((deadline, head));
            }
            let shown = ToastSnapshot(Box::new(toast.clone()));
            happened.push(Happened {
                agent,
                time: now,
                kind: EventKind::NotificationShown { toast: shown },
            });
            return;
        }
    }

    /// Ends a pending toast: off its queue and the deadlines, remembered, announced.
    fn finish(
        &mut self,
        key: ToastKey,
        outcome: Outcome,
        happened: &mut Vec<Happened>,
    ) -> Resolution {
        let toast = self.pending.remove(&key).expect("a pending toast");
        if let Some(deadline) = toast.deadline() {
            self.deadlines.remove(&(deadline, key));
        }
        if let Some(queue) = self.queues.get_mut(&toast.agent) {
            queue.retain(|pending| *pending != key);
        }
        self.remember(toast, outcome, happened)
    }

    fn remember(
        &mut self,
        toast: Toast,
        outcome: Outcome,
        happened: &mut Vec<Happened>,
    ) -> Resolution {
        let resolution = Resolution {
            outcome,
            time: SystemTime::now(),
        };
        let key = toast.key;
        happened.push(Happened {
            agent: toast.agent,
            time: resolution.time,
            kind: EventKind::NotificationResolved {
                toast: ToastSnapshot(Box::new(toast.clone())),
                resolution,
            },
        });
        self.resolved.insert(key, (toast, resolution));
        self.resolved_order.push_back(key);
        while self.resolved_order.len() > self.retention {
            if let Some(oldest) = self.resolved_order.pop_front() {
                self.resolved.remove(&oldest);
            }
        }
        resolution
    }

    // === storing ===

    /// The pending and the ended toasts changed since the last call.
    pub fn take_changes(&mut self) -> ToastChanges {
        ToastChanges {
            pending: self.pending.take_changes(),
            resolved: self.resolved.take_changes(),
        }
    }

    /// Forgets what changed, for a state nothing stores.
    pub fn forget_changes(&mut self) {
        self.pending.forget_touched();
        self.resolved.forget_touched();
    }
}

/// The toasts changed since the last look: each with its value now, or `None` when gone.
#[derive(Debug, Default)]
pub struct ToastChanges {
    pub pending: Vec<(ToastKey, Option<Toast>)>,
    pub resolved: Vec<(ToastKey, Option<(Toast, Resolution)>)>,
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use cif_sdk::ids::NotificationId;

    use super::*;
    use crate::domain::toasts::{Canceller, ToastContent};

    /// A waiting toast with a two-minute countdown and a new id.
    pub(in crate::domain::toasts) fn toast(
        agent: AgentId,
        provider: ProviderId,
        raised: SystemTime,
    ) -> Toast {
        Toast {
            key: ToastKey {
                provider,
                id: NotificationId::generate(),
            },
            agent,
            session: None,
            content: ToastContent {
                title: "Incoming call".into(),
                fields: Vec::new(),
                countdown: Some(Duration::from_secs(120)),
                accept_text: "Accept".into(),
                show_reject: true,
                reject_text: "Reject".into(),
                auto_accept: false,
            },
            template: String::new(),
            parameters: BTreeMap::new(),
            requested_title: String::new(),
            raised,
            shown: None,
            queued: 0,
        }
    }

    fn keys(toasts: &Toasts, agent: AgentId) -> Vec<ToastKey> {
        toasts.queue(agent).map(|toast| toast.key).collect()
    }

    #[test]
    fn a_restored_queue_keeps_its_order_and_its_deadlines() {
        let (agent, provider, now) = (
            AgentId::generate(),
            ProviderId::generate(),
            SystemTime::now(),
        );
        let mut toasts = Toasts::new(Duration::from_secs(30), 10);
        toasts.connected(agent, now);
        // Raised later than the next one, but queued first: the queue's order is what counts.
        let first = toast(agent, provider, now + Duration::from_secs(5));
        let second = toast(agent, provider, now);
        toasts.raise(first, 10, now);
        toasts.raise(second, 10, now);
        let before = keys(&toasts, agent);
        let changes = toasts.take_changes();
        let stored: Vec<Toast> = changes.pending.into_iter().filter_map(|(_, t)| t).collect();

        let restored = Toasts::restore(
            Duration::from_secs(30),
            10,
            stored,
            Vec::new(),
            [agent].into_iter(),
            now,
        );
        assert_eq!(keys(&restored, agent), before);
        assert_eq!(restored.next_deadline(), toasts.next_deadline());
        assert!(
            restored.online(agent, now),
            "a restarted desk has its grace period"
        );
    }

    #[test]
    fn a_toast_that_must_wait_tells_the_desk_it_is_queued() {
        let (agent, provider, now) = (
            AgentId::generate(),
            ProviderId::generate(),
            SystemTime::now(),
        );
        let kind = |happened: &[Happened]| -> Vec<&'static str> {
            happened
                .iter()
                .map(|happened| match happened.kind {
                    EventKind::NotificationShown { .. } => "shown",
                    EventKind::NotificationQueued { .. } => "queued",
                    _ => "other",
                })
                .collect()
        };
        let mut toasts = Toasts::new(Duration::from_secs(30), 10);
        // A desk not connected yet: the toast waits.
        let (_, happened) = toasts.raise(toast(agent, provider, now), 10, now);
        assert_eq!(kind(&happened), ["queued"]);
        // Connected: it shows; the next one waits behind it.
        assert_eq!(kind(&toasts.connected(agent, now)), ["shown"]);
        let (_, happened) = toasts.raise(toast(agent, provider, now), 10, now);
        assert_eq!(kind(&happened), ["queued"]);
    }

    #[test]
    fn a_full_queue_ends_the_toast_at_once_and_cancelling_frees_a_place() {
        let (agent, provider, now) = (
            AgentId::generate(),
            ProviderId::generate(),
            SystemTime::now(),
        );
        let mut toasts = Toasts::new(Duration::from_secs(30), 10);
        toasts.connected(agent, now);
        let (kept, happened) = toasts.raise(toast(agent, provider, now), 1, now);
        assert!(matches!(kept, Raised::Pending(_)));
        assert!(matches!(
            happened[0].kind,
            EventKind::NotificationShown { .. }
        ));
        let (refused, happened) = toasts.raise(toast(agent, provider, now), 1, now);
        let Raised::Resolved(resolution) = refused else {
            panic!("a full queue ends the toast");
        };
        assert_eq!(resolution.outcome, Outcome::QueueFull);
        assert!(matches!(
            happened[0].kind,
            EventKind::NotificationResolved { .. }
        ));
        let happened = toasts.cancel_where(Canceller::Provider, now, Some(agent), |_| true);
        assert_eq!(happened.len(), 1);
        assert_eq!(toasts.queued(agent), 0);
    }
}
