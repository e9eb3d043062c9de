//! The state, its log and its store, driven together.
//!
//! A command runs under the state's write lock: the domain applies it in memory and says what
//! it changed; its events get their sequences there and then, and the whole batch goes to the
//! store. The lock is released before the disk write, so other commands go on, and the writer
//! thread commits every batch that has arrived in one transaction (group commit). Only once a
//! batch is durable is it *published*: its events join the history and reach subscribers,
//! NotifyEvent calls learn their toasts' outcomes, and callers get their answers. Reads wait
//! the same way for what they saw. So nobody ever sees, or is told, anything a crash could
//! take back.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, mpsc};
use std::time::SystemTime;

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

use super::log::{EventLog, Logged};
use super::store::{Batch, RequestRecord, RequestRetention};
use crate::domain::events::EventKind;
use crate::domain::toasts::{Resolution, ToastKey};
use crate::domain::{ControlPlane, DomainError, DomainResult, Principal, Reason, Role};

/// Where in the log an answer stands.
#[derive(Debug, Clone)]
pub struct Position {
    pub log_id: String,
    pub sequence: u64,
}

/// How far the store has come: every batch up to this commit is durable and published.
#[derive(Debug, Clone, Copy, Default)]
pub struct Durable {
    pub commit: u64,
    /// The store's own count of commits this state reflects (a shared store's; 0 for one only
    /// this server uses): what a follower waits for before answering a call it forwarded.
    pub stored: u64,
}

/// Who writes the state, as this server knows it.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    /// Where the writer takes calls (a follower forwards changes there); empty while
    /// unknown.
    pub writer: String,
    /// A follower: when it last read everything the writer had committed.
    pub caught_up: Option<std::time::Instant>,
    /// How many times this server took the writer's place.
    pub takeovers: u64,
}

impl Replica {
    /// How long ago a follower last held everything the writer had committed; zero on the
    /// writer.
    pub fn lag(&self) -> std::time::Duration {
        self.caught_up
            .map_or(std::time::Duration::ZERO, |at| at.elapsed())
    }
}

/// Where batches go.
pub(super) enum Writer {
    /// No store (`--in-memory`): a batch is published as soon as it is made.
    Immediate,
    /// The writer thread, which commits batches and publishes them.
    Thread(mpsc::Sender<(u64, Batch)>),
    /// Another server writes the shared store; this one applies what it committed and takes
    /// no command itself (its front door forwards them).
    Follower,
    /// Shut down: no command runs any more.
    Closed,
}

/// An answer to give once what it reflects is durable: call [`Committed::confirmed`].
#[must_use = "an answer may be given only once it is durable: await `confirmed`"]
pub struct Committed<R> {
    answer: R,
    position: Position,
    commit: u64,
    durable: watch::Receiver<Durable>,
}

impl<R> Committed<R> {
    /// The answer, before it may be given.
    pub fn answer(&self) -> &R {
        &self.answer
    }

    /// The answer, once everything it reflects is on disk.
    pub async fn confirmed(mut self) -> DomainResult<(R, Position)> {
        let commit = self.commit;
        if self.durable.borrow().commit < commit {
            self.durable
                .wait_for(|durable| durable.commit >= commit)
                .await
                .map_err(|_| {
                    DomainError::new(
                        Reason::ServerShuttingDown,
                        "the server stopped before the change was stored; retry with the same request_id",
                    )
                })?;
        }
        Ok((self.answer, self.position))
    }
}

/// A response that can be remembered for retries (AIP-155), told its log position, and
/// stripped of secrets before it is stored.
pub trait Answer: prost::Message + Default + Clone + 'static {
    /// Records the log position the answer reflects, when the response carries one.
    fn place(&mut self, _at: &Position) {}
    /// What of the answer may be written to disk (credentials are shown once, never stored).
    fn storable(&self) -> Self {
        self.clone()
    }
}

/// A caller's request id and the request's fingerprint.
pub struct Idempotency {
    principal: String,
    request_id: String,
    fingerprint: [u8; 32],
}

impl Idempotency {
    /// `None` when the request carries no request id; a request id must be a UUID.
    pub fn of<M: prost::Message>(
        principal: Principal,
        request_id: &str,
        request: &M,
    ) -> DomainResult<Option<Self>> {
        if request_id.is_empty() {
            return Ok(None);
        }
        if uuid::Uuid::try_parse(request_id).is_err() || request_id.len() != 36 {
            let mut violations = crate::domain::validate::Violations::new();
            violations.add(
                "request_id",
                Reason::FieldMalformed,
                "request_id must be a UUID (a new one per change; the same one for its retries)",
            );
            violations.finish()?;
        }
        Ok(Some(Self {
            principal: principal.to_string(),
            request_id: request_id.to_owned(),
            fingerprint: Sha256::digest(request.encode_to_vec()).into(),
        }))
    }
}

/// A remembered answer.
struct Remembered {
    fingerprint: [u8; 32],
    response: Vec<u8>,
    commit: u64,
    time: SystemTime,
}

/// The state and its event log, changed together under one lock.
pub struct Core {
    pub plane: ControlPlane,
    pub log: EventLog,
    /// NotifyEvent calls waiting for their toast to end.
    pub toast_waiters: HashMap<ToastKey, watch::Sender<Option<Resolution>>>,
    /// The server is stopping: NotifyEvent calls no longer wait.
    toast_waiters_released: bool,
    /// Wakes the toast timer when a deadline may have moved earlier.
    pub toast_timer: Arc<Notify>,
    /// The newest sequence given to an event (published or on its way to disk).
    assigned: u64,
    /// The newest commit made.
    commits: u64,
    durable: watch::Sender<Durable>,
    writer: Writer,
    remembered: HashMap<(String, String), Remembered>,
    remembered_order: VecDeque<(SystemTime, (String, String))>,
    request_retention: RequestRetention,
    replica: Replica,
    /// A follower: the desks with streams open here, and how many each (the writer counts
    /// them online through the store).
    desks_here: std::collections::BTreeMap<cif_sdk::ids::AgentId, u32>,
    /// A follower: desk streams waiting for the writer to count their desk online.
    desks_waiting: Vec<(cif_sdk::ids::AgentId, tokio::sync::oneshot::Sender<()>)>,
}

impl Core {
    /// A core that publishes at once (no store).
    pub fn in_memory(
        plane: ControlPlane,
        log: EventLog,
        request_retention: RequestRetention,
    ) -> Self {
        Self::with_writer(plane, log, Writer::Immediate, Vec::new(), request_retention)
    }

    pub(super) fn with_writer(
        plane: ControlPlane,
        log: EventLog,
        writer: Writer,
        requests: Vec<RequestRecord>,
        request_retention: RequestRetention,
    ) -> Self {
        let assigned = log.last_sequence();
        let mut core = Self {
            plane,
            log,
            toast_waiters: HashMap::new(),
            toast_waiters_released: false,
            toast_timer: Arc::new(Notify::new()),
            assigned,
            commits: 0,
            durable: watch::Sender::new(Durable::default()),
            writer,
            remembered: HashMap::new(),
            remembered_order: VecDeque::new(),
            request_retention,
            replica: Replica::default(),
            desks_here: Default::default(),
            desks_waiting: Vec::new(),
        };
        for request in requests {
            core.remember(request, 0);
        }
        core
    }

    /// Refuses every later command; the writer thread commits and publishes what it has,
    /// then ends.
    pub fn close_store(&mut self) {
        self.writer = Writer::Closed;
    }

    /// Who writes the state, as this server knows it.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Whether another server writes the state (this one follows it).
    pub fn follows(&self) -> bool {
        matches!(self.writer, Writer::Follower)
    }

    /// How far the store has come, to wait on (a follower answering a forwarded call waits
    /// until it has applied the writer's commit).
    pub fn durability(&self) -> watch::Receiver<Durable> {
        self.durable.subscribe()
    }

    /// A follower applies what the writer committed after its position: the changed
    /// records, then the events (which reach subscribers as on the writer); principals whose
    /// credential went lose their streams.
    pub fn follow(&mut self, followed: super::store::Followed) {
        let events: Vec<Arc<Logged>> = followed.events.into_iter().map(Arc::new).collect();
        let revoked = self.plane.apply(followed.changes);
        for (principal, why) in &revoked {
            self.log.end_streams_of(*principal, why);
        }
        if let Some(last) = events.last() {
            self.assigned = last.sequence;
        }
        self.commits += 1;
        self.publish(self.commits, &events, followed.position);
    }

    /// The store's count of commits this state reflects.
    pub fn stored(&self) -> u64 {
        self.durable.borrow().stored
    }

    /// The state reflects the store's commits up to `stored` (as loaded).
    pub(super) fn mark_stored(&mut self, stored: u64) {
        self.durable.send_modify(|durable| durable.stored = stored);
    }

    /// Records who writes, as a follower last read it.
    pub fn set_writer(&mut self, writer: String) {
        self.replica.writer = writer;
    }

    /// A follower read everything the writer had committed, as of `at`.
    pub fn caught_up(&mut self, at: std::time::Instant) {
        self.replica.caught_up = Some(at);
    }

    /// Whether this follower has read the store since `at`: it holds everything committed
    /// until then.
    pub fn read_store_since(&self, at: std::time::Instant) -> bool {
        self.replica.caught_up.is_some_and(|read| read >= at)
    }

    /// A follower: a desk's stream opened here. The receiver hears when the writer counts
    /// the desk online.
    pub(super) fn desk_opened_here(
        &mut self,
        agent: cif_sdk::ids::AgentId,
    ) -> tokio::sync::oneshot::Receiver<()> {
        *self.desks_here.entry(agent).or_default() += 1;
        let (acknowledged, heard) = tokio::sync::oneshot::channel();
        self.desks_waiting.push((agent, acknowledged));
        heard
    }

    /// A follower: a desk's stream here ended.
    pub(super) fn desk_closed_here(&mut self, agent: cif_sdk::ids::AgentId) {
        if let Some(streams) = self.desks_here.get_mut(&agent) {
            *streams -= 1;
            if *streams == 0 {
                self.desks_here.remove(&agent);
            }
        }
    }

    /// A follower: the desks with a stream open here, and whether a stream waits for the
    /// writer to count its desk online.
    pub(super) fn desks_here(&self) -> (Vec<String>, bool) {
        let agents = self.desks_here.keys().map(ToString::to_string).collect();
        (agents, !self.desks_waiting.is_empty())
    }

    /// A follower: the writer counts these desks online.
    pub(super) fn desks_acknowledged(&mut self, agents: &[String]) {
        self.desks_waiting.retain_mut(|(agent, _)| {
            !agents
                .iter()
                .any(|acknowledged| *acknowledged == agent.to_string())
        });
    }

    /// A follower becomes the writer: its batches go to `writer` from now, the kept answers
    /// make retries of calls the previous writer answered get the same answers, and the
    /// state's timers start (as after a restart, desks without a stream here get their grace
    /// period).
    pub(super) fn take_over(
        &mut self,
        writer: mpsc::Sender<(u64, Batch)>,
        requests: Vec<RequestRecord>,
        address: String,
    ) {
        self.writer = Writer::Thread(writer);
        for request in requests {
            self.remember(request, 0);
        }
        let now = SystemTime::now();
        // The desks streaming here are online with this writer itself from now.
        let desks = std::mem::take(&mut self.desks_here);
        self.plane.take_over(now);
        let _connected = self.execute(|plane| {
            for (agent, streams) in &desks {
                for _ in 0..*streams {
                    plane.desk_connected(*agent, now);
                }
            }
            Ok(())
        });
        self.desks_waiting.clear();
        self.replica.writer = address;
        self.replica.caught_up = None;
        self.replica.takeovers += 1;
        self.toast_timer.notify_one();
    }

    pub fn position(&self) -> Position {
        Position {
            log_id: self.log.log_id().to_string(),
            sequence: self.assigned,
        }
    }

    /// The newest sequence the state reflects (published or not yet).
    pub fn assigned(&self) -> u64 {
        self.assigned
    }

    /// Who holds `credential`, if they may call a service for `role`.
    pub fn authenticate(&self, credential: &str, role: Role) -> DomainResult<Principal> {
        self.plane.authenticate(
            &super::credentials::hash_credential(credential),
            role,
            SystemTime::now(),
        )
    }

    /// A read of the state: answered once everything it reflects is durable.
    pub fn observe<R>(
        &self,
        read: impl FnOnce(&Self) -> DomainResult<R>,
    ) -> DomainResult<Committed<R>> {
        let answer = read(self)?;
        Ok(Committed {
            answer,
            position: self.position(),
            commit: self.commits,
            durable: self.durable.subscribe(),
        })
    }

    /// Waits for the next batch this state applies (a follower's next commit read from the
    /// writer).
    pub fn next_commit(&self) -> Committed<()> {
        Committed {
            answer: (),
            position: self.position(),
            commit: self.commits + 1,
            durable: self.durable.subscribe(),
        }
    }

    /// Runs a command (see the module's description).
    pub fn execute<R>(
        &mut self,
        run: impl FnOnce(&mut ControlPlane) -> DomainResult<R>,
    ) -> DomainResult<Committed<R>> {
        let (answer, batch) = self.apply(run)?;
        let commit = self.submit(batch);
        Ok(Committed {
            answer,
            position: self.position(),
            commit,
            durable: self.durable.subscribe(),
        })
    }

    /// Runs a command that carries a request id: a retry gets the first answer and applies
    /// nothing; the same id with another request is refused.
    pub fn execute_once<A: Answer>(
        &mut self,
        idempotency: Option<Idempotency>,
        run: impl FnOnce(&mut ControlPlane) -> DomainResult<A>,
    ) -> DomainResult<Committed<A>> {
        let Some(idempotency) = idempotency else {
            let mut committed = self.execute(run)?;
            let position = committed.position.clone();
            committed.answer.place(&position);
            return Ok(committed);
        };
        let key = (
            idempotency.principal.clone(),
            idempotency.request_id.clone(),
        );
        if let Some(remembered) = self.remembered.get(&key) {
            if remembered.fingerprint != idempotency.fingerprint {
                return Err(DomainError::new(
                    Reason::RequestIdReused,
                    format!(
                        "request_id {} was already used for a different request; use a new request_id for a new change",
                        idempotency.request_id
                    ),
                )
                .with("request_id", &idempotency.request_id));
            }
            let answer = A::decode(remembered.response.as_slice()).unwrap_or_default();
            return Ok(Committed {
                answer,
                position: self.position(),
                commit: remembered.commit,
                durable: self.durable.subscribe(),
            });
        }
        let (mut answer, mut batch) = self.apply(run)?;
        answer.place(&self.position());
        let now = SystemTime::now();
        batch.requests.push(RequestRecord {
            principal: idempotency.principal,
            request_id: idempotency.request_id,
            fingerprint: idempotency.fingerprint,
            response: answer.storable().encode_to_vec(),
            time: now,
        });
        // In memory, the whole answer: a retry in this process's life gets it all.
        let mut full = batch.requests.last().expect("just pushed").clone();
        full.response = answer.encode_to_vec();
        let commit = self.submit(batch);
        self.remember(full, commit);
        Ok(Committed {
            answer,
            position: self.position(),
            commit,
            durable: self.durable.subscribe(),
        })
    }

    fn remember(&mut self, record: RequestRecord, commit: u64) {
        let key = (record.principal, record.request_id);
        self.remembered_order.push_back((record.time, key.clone()));
        self.remembered.insert(
            key,
            Remembered {
                fingerprint: record.fingerprint,
                response: record.response,
                commit,
                time: record.time,
            },
        );
        let cutoff = SystemTime::now().checked_sub(self.request_retention.age);
        while let Some((time, _)) = self.remembered_order.front() {
            let too_many = self.remembered_order.len() > self.request_retention.count;
            if !too_many && cutoff.is_none_or(|cutoff| *time >= cutoff) {
                break;
            }
            let (time, key) = self.remembered_order.pop_front().expect("checked above");
            if self
                .remembered
                .get(&key)
                .is_some_and(|entry| entry.time == time)
            {
                self.remembered.remove(&key);
            }
        }
    }

    /// Runs the command in memory; its events get their sequences.
    fn apply<R>(
        &mut self,
        run: impl FnOnce(&mut ControlPlane) -> DomainResult<R>,
    ) -> DomainResult<(R, Batch)> {
        match self.writer {
            // Nothing could store the change: refuse it before it is made.
            Writer::Closed => {
                return Err(DomainError::new(
                    Reason::ServerShuttingDown,
                    "the server is shutting down; retry the call (with its request_id) once it is back",
                ));
            }
            Writer::Follower => {
                return Err(DomainError::new(
                    Reason::WriterUnavailable,
                    "this replica follows another that takes changes, and none does right now (one is taking over); retry the call with its request_id",
                ));
            }
            Writer::Immediate | Writer::Thread(_) => {}
        }
        let deadline = self.plane.next_toast_deadline();
        let (result, effects) = self.plane.execute(run);
        let changes = if matches!(self.writer, Writer::Immediate) {
            self.plane.forget_changes();
            crate::domain::control_plane::Changes::default()
        } else {
            self.plane.take_changes()
        };
        let answer = result?;
        let events = effects
            .events
            .into_iter()
            .map(|event| {
                self.assigned += 1;
                Arc::new(Logged {
                    sequence: self.assigned,
                    event,
                })
            })
            .collect();
        for (principal, why) in &effects.revoked {
            self.log.end_streams_of(*principal, why);
        }
        if self.plane.next_toast_deadline() != deadline {
            // The timer sleeps until the earliest deadline; this one moved.
            self.toast_timer.notify_one();
        }
        Ok((
            answer,
            Batch {
                changes,
                events,
                requests: Vec::new(),
            },
        ))
    }

    /// Sends a batch on its way to disk; returns the commit to wait for.
    fn submit(&mut self, batch: Batch) -> u64 {
        if batch.changes.is_empty() && batch.events.is_empty() && batch.requests.is_empty() {
            // Nothing to store: the answer waits only for what came before.
            return self.commits;
        }
        self.commits += 1;
        let commit = self.commits;
        match &self.writer {
            Writer::Immediate => self.publish(commit, &batch.events, 0),
            Writer::Closed | Writer::Follower => {
                unreachable!("apply refuses commands when closed or following")
            }
            Writer::Thread(sender) => {
                if sender.send((commit, batch)).is_err() {
                    tracing::error!("the store writer has stopped; the change is not stored");
                }
            }
        }
        commit
    }

    /// A durable batch becomes visible: its events join the history and reach subscribers,
    /// waiting NotifyEvent calls learn their outcomes, and waiting answers go out. `stored`
    /// is the store's count of commits that includes it.
    pub(super) fn publish(&mut self, commit: u64, events: &[Arc<Logged>], stored: u64) {
        self.log.append(events);
        for logged in events {
            if let EventKind::NotificationResolved { toast, resolution } = &logged.event.kind
                && let Some(waiters) = self.toast_waiters.remove(&toast.0.key)
            {
                let _ = waiters.send(Some(*resolution));
            }
        }
        self.durable.send_replace(Durable { commit, stored });
    }

    /// A receiver that sees the toast's end; several calls may wait for the same toast.
    /// Once the server is stopping, one that sees no more (its call answers at once).
    pub fn wait_for_toast(&mut self, key: ToastKey) -> watch::Receiver<Option<Resolution>> {
        if self.toast_waiters_released {
            return watch::channel(None).1;
        }
        self.toast_waiters
            .entry(key)
            .or_insert_with(|| watch::channel(None).0)
            .subscribe()
    }

    /// Lets every waiting NotifyEvent call go, and every later one (they answer that the
    /// server is stopping): a call still arriving on an open connection during the shutdown
    /// grace must not hold the shutdown for the whole grace.
    pub fn release_toast_waiters(&mut self) {
        self.toast_waiters.clear();
        self.toast_waiters_released = true;
    }
}

#[cfg(test)]
mod tests {
    use cif_sdk::ids::{NotificationId, ProviderId};

    use super::*;
    use crate::app::log::LogSettings;
    use crate::domain::{CredentialHash, Settings};

    #[test]
    fn once_the_server_stops_no_toast_call_waits_not_even_a_later_one() {
        let mut core = Core::in_memory(
            ControlPlane::new(Settings::default(), CredentialHash([0; 32])),
            EventLog::new(LogSettings::default()),
            RequestRetention::default(),
        );
        let key = ToastKey {
            provider: ProviderId::from_uuid(uuid::Uuid::now_v7()),
            id: NotificationId::generate(),
        };
        let waiting = core.wait_for_toast(key);
        assert_eq!(waiting.has_changed().ok(), Some(false), "waits");
        core.release_toast_waiters();
        assert!(waiting.has_changed().is_err(), "released");
        let later = core.wait_for_toast(key);
        assert!(
            later.has_changed().is_err(),
            "a later call is answered at once"
        );
    }
}
