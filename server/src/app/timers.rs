//! The application's clocks: heartbeats on idle streams, toasts ending by themselves, and
//! closed sessions forgotten after their retention. Only the writer's timers change the state, so
//! each fires once across replicas; they are state, so a new writer goes on with them.

use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;

use super::log::Slice;
use super::state::{SharedCore, read, write};

/// The running timer tasks.
pub struct Timers(Vec<JoinHandle<()>>);

impl Timers {
    /// Starts heartbeats every `heartbeat_interval`, toast deadlines, and sweeps of closed
    /// sessions older than `closed_session_retention` and of expired widget credentials.
    pub fn start(
        state: &SharedCore,
        heartbeat_interval: Duration,
        closed_session_retention: Duration,
    ) -> Self {
        Self(vec![
            tokio::spawn(send_heartbeats(state.clone(), heartbeat_interval)),
            tokio::spawn(expire_toasts(state.clone())),
            tokio::spawn(forget_expired(
                state.clone(),
                sweep_interval(closed_session_retention),
            )),
        ])
    }

    /// Stops every timer (at shutdown).
    pub fn stop(&self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Queues a heartbeat on every stream once each interval, under the state lock so its
/// sequence never runs ahead of what is queued: a slice of the streams at a time, spread over
/// the interval.
async fn send_heartbeats(state: SharedCore, interval: Duration) {
    const SLICES: u64 = 16;
    let mut ticks = tokio::time::interval(interval / SLICES as u32);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    for index in (0..SLICES).cycle() {
        ticks.tick().await;
        write(&state).log.heartbeat(Slice { index, of: SLICES });
    }
}

/// Ends toasts whose time is up (display timeout, queue time limit), sleeping until the next
/// deadline or until a command moves one earlier.
async fn expire_toasts(state: SharedCore) {
    let wake = read(&state).toast_timer.clone();
    loop {
        let (following, next) = {
            let core = read(&state);
            (core.follows(), core.plane.next_toast_deadline())
        };
        if following {
            // The writer ends toasts; this replica is woken when it takes over.
            wake.notified().await;
            continue;
        }
        // Deadlines are wall-clock times (they survive restarts); sleep for what is left.
        let left = next.map(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default()
        });
        match left {
            Some(left) if !left.is_zero() => {
                tokio::select! {
                    () = tokio::time::sleep(left) => {}
                    () = wake.notified() => continue,
                }
            }
            Some(_) => {}
            None => {
                wake.notified().await;
                continue;
            }
        }
        let _expired = write(&state).execute(|plane| {
            plane.expire_toasts(SystemTime::now());
            Ok(())
        });
    }
}

/// How often closed sessions past their retention are looked for: a tenth of the retention,
/// so one outlives it by at most 10%, but no more than once a minute and no less than every
/// 100 ms.
fn sweep_interval(retention: Duration) -> Duration {
    (retention / 10).clamp(Duration::from_millis(100), Duration::from_secs(60))
}

/// Removes closed sessions older than the retention period, widget credentials whose time is
/// up, and audit entries past their retention.
async fn forget_expired(state: SharedCore, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if read(&state).follows() {
            // The writer sweeps; a follower applies what it removed.
            continue;
        }
        let _swept = write(&state).execute(|plane| {
            let now = SystemTime::now();
            plane.forget_expired_sessions(now);
            plane.forget_expired_widget_credentials(now);
            plane.forget_old_audit_entries(now);
            Ok(())
        });
    }
}
