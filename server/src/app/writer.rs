//! The store writer: one thread that commits every batch that has arrived in one transaction
//! (group commit), then publishes them, so answers, events and reads go out only once
//! durable.

use std::sync::{Arc, mpsc};

use super::core::{Core, Writer};
use super::log::EventLog;
use super::state::{SharedCore, write};
use super::store::{Batch, RequestRecord, RequestRetention, Store};
use crate::domain::ControlPlane;

impl Core {
    /// A core whose batches a writer thread commits to `store`, and the thread.
    pub fn durable(
        plane: ControlPlane,
        log: EventLog,
        store: impl Store,
        requests: Vec<RequestRecord>,
        request_retention: RequestRetention,
        on_commit: impl Fn(std::time::Duration, usize) + Send + 'static,
    ) -> (SharedCore, std::thread::JoinHandle<()>) {
        let (sender, batches) = mpsc::channel();
        let core = Self::with_writer(
            plane,
            log,
            Writer::Thread(sender),
            requests,
            request_retention,
        );
        let state: SharedCore = Arc::new(std::sync::RwLock::new(core));
        let writer = {
            let state = state.clone();
            std::thread::Builder::new()
                .name("cifd-store-writer".into())
                .spawn(move || run_writer(state, store, batches, on_commit))
                .expect("a thread starts")
        };
        (state, writer)
    }
}

/// The writer thread: commits every batch that has arrived in one transaction, then publishes
/// them in order. A failed write stops the server: what was not stored must not be
/// acknowledged, and the state in memory no longer matches the disk.
fn run_writer(
    state: SharedCore,
    mut store: impl Store,
    batches: mpsc::Receiver<(u64, Batch)>,
    on_commit: impl Fn(std::time::Duration, usize),
) {
    /// Batches written in one transaction at most.
    const GROUP: usize = 1024;
    let stop = |error: super::store::StoreError| -> ! {
        tracing::error!(%error, "cannot store changes; stopping so nothing unstored is acknowledged");
        eprintln!("cifd: {error}; stopping so that nothing unstored is acknowledged");
        std::process::exit(70);
    };
    loop {
        let first = match store.keep_alive_every() {
            None => match batches.recv() {
                Ok(first) => first,
                Err(_) => return,
            },
            Some(every) => match batches.recv_timeout(every) {
                Ok(first) => first,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Err(error) = store.keep_alive() {
                        stop(error);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
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
        let mut core = write(&state);
        for (commit, batch) in &group {
            core.publish(*commit, &batch.events);
        }
    }
}
