//! The store writer: one thread that commits every batch that has arrived in one transaction
//! (group commit), then publishes them, so answers, events and reads go out only once
//! durable. On a store several servers share, the thread of a server that does not write it
//! follows the writer instead, and becomes the writer when the writer's lease runs out.

use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::core::{Core, Writer};
use super::log::EventLog;
use super::state::{SharedCore, read, write};
use super::store::{Batch, RequestRecord, RequestRetention, Role, Store, StoreError};
use crate::domain::ControlPlane;

/// How long a follower waits for the writer's next commit before looking anyway (the store
/// wakes it sooner when one is made), and so how soon it sees the writer's lease run out.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// How often a follower repeats which desks stream from it (each announcement lasts
/// longer: see the store's lease on desk streams).
const DESK_STREAM_RENEWAL: Duration = Duration::from_secs(1);

/// How often a follower looks whether the writer counts a new desk stream's desk online, and
/// the writer looks for desks that stream from other replicas.
const DESK_ACK_POLL: Duration = Duration::from_millis(50);

/// How long the store thread of a server on a shared store may go without finishing a round
/// (a commit, a renewal, a read of the writer's commits) before the server stops. Longer than
/// the writer's lease, so by then another replica may write: a server cut off from the
/// database in a way that never raises an error (its packets dropped) must not go on serving
/// callers as if it still wrote or followed.
const STUCK_AFTER: Duration = Duration::from_secs(6);

/// The store thread's pulse on a shared store: a watch thread stops the process when the
/// store thread has not beaten for [`STUCK_AFTER`].
struct Pulse {
    origin: std::time::Instant,
    /// When the store thread last beat, in milliseconds since `origin`.
    last: Arc<std::sync::atomic::AtomicU64>,
}

impl Pulse {
    fn watched() -> Self {
        use std::sync::atomic::Ordering;
        let pulse = Self {
            origin: std::time::Instant::now(),
            last: Arc::default(),
        };
        let (origin, last) = (pulse.origin, pulse.last.clone());
        std::thread::Builder::new()
            .name("cifd-store-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(STUCK_AFTER / 12);
                    let now = origin.elapsed().as_millis() as u64;
                    let silent = Duration::from_millis(now - last.load(Ordering::Relaxed).min(now));
                    if silent >= STUCK_AFTER {
                        tracing::error!(
                            ?silent,
                            "the store has not answered: stopping, so a server cut off from it serves nobody"
                        );
                        eprintln!(
                            "cifd: the store has not answered for {silent:?}; stopping so a server cut off from it serves nobody"
                        );
                        std::process::exit(70);
                    }
                }
            })
            .expect("a thread starts");
        pulse
    }

    fn beat(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last.store(now, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What the store thread is told at its start.
pub struct Started {
    /// Where this server takes calls, announced when it becomes the writer.
    pub address: String,
    /// The store's count of commits the loaded state reflects.
    pub position: u64,
    pub role: Role,
    /// A follower: what to apply once it writes (the configuration's declarations).
    pub on_writing: Option<OnWriting>,
}

/// A command a follower runs once it takes the writer's place.
pub type OnWriting = Box<dyn FnOnce(&mut ControlPlane) -> crate::domain::DomainResult<()> + Send>;

impl Core {
    /// A core whose batches a store thread commits to `store` (or, following another
    /// server, applies what it commits), and the thread.
    pub fn durable(
        plane: ControlPlane,
        log: EventLog,
        store: impl Store,
        requests: Vec<RequestRecord>,
        request_retention: RequestRetention,
        started: Started,
        on_commit: impl Fn(Duration, usize) + Send + 'static,
    ) -> (SharedCore, std::thread::JoinHandle<()>) {
        let (sender, batches) = mpsc::channel();
        let writer = match started.role {
            Role::Writer => Writer::Thread(sender),
            Role::Follower => Writer::Follower,
        };
        let mut core = Self::with_writer(plane, log, writer, requests, request_retention);
        if started.role == Role::Writer {
            core.set_writer(started.address.clone());
        }
        core.mark_stored(started.position);
        let state: SharedCore = Arc::new(std::sync::RwLock::new(core));
        let thread = {
            let state = state.clone();
            std::thread::Builder::new()
                .name("cifd-store-writer".into())
                .spawn(move || {
                    // A shared store is watched (one the writer renews a lease on).
                    let pulse = store.keep_alive_every().map(|_| Pulse::watched());
                    let run = std::panic::AssertUnwindSafe(|| match started.role {
                        Role::Writer => run_writer(state, store, batches, on_commit, pulse),
                        Role::Follower => follow(state, store, started, on_commit, pulse),
                    });
                    // Without this thread nothing is stored or followed any more: stop.
                    if std::panic::catch_unwind(run).is_err() {
                        eprintln!("cifd: the store thread failed; stopping");
                        std::process::exit(70);
                    }
                })
                .expect("a thread starts")
        };
        (state, thread)
    }
}

/// Stops the process: what was not stored must not be acknowledged, and the state in memory
/// no longer matches the store.
fn stop(error: StoreError) -> ! {
    tracing::error!(%error, "cannot store changes; stopping so nothing unstored is acknowledged");
    eprintln!("cifd: {error}; stopping so that nothing unstored is acknowledged");
    std::process::exit(70);
}

/// A follower: applies, in order, what the writer commits, and takes the writer's place when
/// its lease runs out (reading everything committed until then first).
fn follow(
    state: SharedCore,
    mut store: impl Store,
    started: Started,
    on_commit: impl Fn(Duration, usize),
    pulse: Option<Pulse>,
) {
    let Started {
        address,
        on_writing,
        ..
    } = started;
    // The first look is at once: until it, the writer's address is not known here.
    let mut wait = Duration::ZERO;
    let mut announced: Option<(Vec<String>, std::time::Instant)> = None;
    loop {
        pulse.iter().for_each(Pulse::beat);
        let (position, sequence) = {
            let core = read(&state);
            (core.stored(), core.assigned())
        };
        // The read's snapshot is taken after this: it holds everything committed until now.
        let reading = std::time::Instant::now();
        let followed = store
            .read_after(position, sequence, wait)
            .unwrap_or_else(|error| stop(error));
        // The desks streaming here, told to the writer when they change, again before the
        // announcement lapses, and while a new stream waits for the writer to count its desk.
        let (desks, waiting) = read(&state).desks_here();
        let due = announced
            .as_ref()
            .is_none_or(|(told, at)| *told != desks || at.elapsed() >= DESK_STREAM_RENEWAL);
        if due || waiting {
            let acknowledged = store
                .announce_desks(&desks)
                .unwrap_or_else(|error| stop(error));
            write(&state).desks_acknowledged(&acknowledged);
            announced = Some((desks, std::time::Instant::now()));
        }
        wait = if waiting { DESK_ACK_POLL } else { FOLLOW_POLL };
        let writer_gone = followed.writer_gone;
        {
            let mut core = write(&state);
            core.set_writer(followed.writer.clone());
            core.caught_up(reading);
            if followed.position > position {
                core.follow(followed);
            }
        }
        if !writer_gone {
            continue;
        }
        match store.take_over() {
            Ok(false) => continue,
            Ok(true) => {}
            Err(error) => stop(error),
        }
        // Nothing more can be committed by the old writer: read the rest, then write.
        let (position, sequence) = {
            let core = read(&state);
            (core.stored(), core.assigned())
        };
        let rest = store
            .read_after(position, sequence, Duration::ZERO)
            .unwrap_or_else(|error| stop(error));
        let requests = store.load_requests().unwrap_or_else(|error| stop(error));
        let (sender, batches) = mpsc::channel();
        {
            let mut core = write(&state);
            if rest.position > position {
                core.follow(rest);
            }
            core.take_over(sender, requests, address.clone());
            if let Some(declare) = on_writing
                && let Err(error) = core.execute(declare)
            {
                tracing::error!(%error, "the configuration's declarations cannot be applied");
            }
        }
        tracing::info!(%address, "took over as the writer");
        return run_writer(state, store, batches, on_commit, pulse);
    }
}

/// The writer thread: commits every batch that has arrived in one transaction, then publishes
/// them in order. A failed write stops the server.
fn run_writer(
    state: SharedCore,
    mut store: impl Store,
    batches: mpsc::Receiver<(u64, Batch)>,
    on_commit: impl Fn(Duration, usize),
    pulse: Option<Pulse>,
) {
    /// Batches written in one transaction at most.
    const GROUP: usize = 1024;
    let mut desks = DesksElsewhere::default();
    let mut renewed = std::time::Instant::now();
    loop {
        pulse.iter().for_each(Pulse::beat);
        let first = match store.keep_alive_every() {
            None => match batches.recv() {
                Ok(first) => first,
                Err(_) => return,
            },
            Some(every) => {
                let tick = every.min(DESK_ACK_POLL);
                let received = batches.recv_timeout(tick);
                if renewed.elapsed() >= every {
                    if let Err(error) = store.keep_alive() {
                        stop(error);
                    }
                    renewed = std::time::Instant::now();
                }
                desks.look(&state, &mut store);
                match received {
                    Ok(first) => first,
                    Err(mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
            }
        };
        let mut group = vec![first];
        while group.len() < GROUP {
            match batches.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let to_store: Vec<&Batch> = group.iter().map(|(_, batch)| batch).collect();
        let started = std::time::Instant::now();
        let committed = store.commit(&to_store);
        on_commit(started.elapsed(), group.len());
        if let Err(error) = committed {
            stop(error);
        }
        renewed = std::time::Instant::now();
        let stored = store.position();
        let mut core = write(&state);
        for (commit, batch) in &group {
            core.publish(*commit, &batch.events, stored);
        }
    }
}

/// The writer's view of the desks that stream from other replicas: each counts online (as
/// one stream of its own) while any replica announces it, and its grace period starts when
/// none does any more (a replica that died stops announcing).
#[derive(Default)]
struct DesksElsewhere {
    online: std::collections::BTreeSet<String>,
    looked: Option<std::time::Instant>,
}

/// How often the writer looks at the desks that stream elsewhere when no replica woke it.
const DESKS_LOOK_EVERY: Duration = Duration::from_secs(1);

impl DesksElsewhere {
    /// Looks again when a replica announced a new desk, else every [`DESKS_LOOK_EVERY`]:
    /// desks newly announced come online, those no longer announced go offline, then the
    /// announcements are acknowledged.
    fn look(&mut self, state: &SharedCore, store: &mut impl Store) {
        let woken = store.desks_announced().unwrap_or_else(|error| stop(error));
        let recently = self
            .looked
            .is_some_and(|at| at.elapsed() < DESKS_LOOK_EVERY);
        if !woken && recently {
            return;
        }
        self.looked = Some(std::time::Instant::now());
        let Some(announced) = store.desks_elsewhere().unwrap_or_else(|error| stop(error)) else {
            return;
        };
        let unacknowledged: Vec<String> = announced
            .iter()
            .filter(|(_, acknowledged)| !acknowledged)
            .map(|(agent, _)| agent.clone())
            .collect();
        let now: std::collections::BTreeSet<String> =
            announced.into_iter().map(|(agent, _)| agent).collect();
        let agents = |names: Vec<&String>| -> Vec<cif_sdk::ids::AgentId> {
            names
                .into_iter()
                .filter_map(|name| name.parse().ok())
                .collect()
        };
        let came = agents(now.difference(&self.online).collect());
        let went = agents(self.online.difference(&now).collect());
        if !came.is_empty() || !went.is_empty() {
            let at = std::time::SystemTime::now();
            let _counted = write(state).execute(|plane| {
                for agent in &came {
                    plane.desk_connected(*agent, at);
                }
                for agent in &went {
                    plane.desk_disconnected(*agent, at);
                }
                Ok(())
            });
        }
        if !unacknowledged.is_empty() {
            store
                .acknowledge_desks(&unacknowledged)
                .unwrap_or_else(|error| stop(error));
        }
        self.online = now;
    }
}
