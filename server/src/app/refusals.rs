//! Refused calls counted per principal, method and reason over one-minute windows, kept for
//! an hour in this replica's memory: a flood of refusals costs a counter each, not a log line
//! or a stored row.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// How long one window lasts.
pub const WINDOW: Duration = Duration::from_secs(60);

/// How many windows are kept: an hour.
const KEPT_WINDOWS: usize = 60;

/// Distinct (principal, method, reason) counted in one window at most; past it, refusals
/// count under the principal `other`, so addresses without end cannot grow the counts.
const MOST_KEYS: usize = 10_000;

/// Whose refusals, of which method, for which reason.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefusalKey {
    pub principal: String,
    pub method: String,
    pub reason: String,
}

/// One window's count of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalCount {
    pub window_start: SystemTime,
    pub key: RefusalKey,
    pub count: u64,
}

/// The counts of the last hour, by window start (seconds since the epoch).
#[derive(Default)]
pub struct RefusalCounts {
    windows: Mutex<BTreeMap<u64, HashMap<RefusalKey, u64>>>,
}

impl RefusalCounts {
    /// Counts one refusal at `now`.
    pub fn count(&self, principal: &str, method: &str, reason: &str, now: SystemTime) {
        let seconds = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let start = seconds - seconds % WINDOW.as_secs();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(start).or_default();
        let mut key = RefusalKey {
            principal: principal.to_owned(),
            method: method.to_owned(),
            reason: reason.to_owned(),
        };
        if window.len() >= MOST_KEYS && !window.contains_key(&key) {
            key.principal = "other".into();
        }
        *window.entry(key).or_default() += 1;
        while windows.len() > KEPT_WINDOWS {
            windows.pop_first();
        }
    }

    /// Every count `keep` keeps, by window, then principal, method and reason.
    pub fn list(&self, keep: impl Fn(&RefusalKey) -> bool) -> Vec<RefusalCount> {
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut counts: Vec<RefusalCount> = windows
            .iter()
            .flat_map(|(start, window)| {
                window
                    .iter()
                    .filter(|(key, _)| keep(key))
                    .map(|(key, count)| RefusalCount {
                        window_start: SystemTime::UNIX_EPOCH + Duration::from_secs(*start),
                        key: key.clone(),
                        count: *count,
                    })
            })
            .collect();
        counts.sort_by(|a, b| (a.window_start, &a.key).cmp(&(b.window_start, &b.key)));
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn refusals_are_counted_by_window_principal_method_and_reason() {
        let counts = RefusalCounts::default();
        for _ in 0..3 {
            counts.count(
                "provider a",
                "/cif.v1.ProviderService/CreateSession",
                "RATE_LIMITED",
                at(60),
            );
        }
        counts.count(
            "provider a",
            "/cif.v1.ProviderService/CreateSession",
            "RATE_LIMITED",
            at(130),
        );
        counts.count(
            "address:127.0.0.2",
            "/grpc.health.v1.Health/Check",
            "RATE_LIMITED",
            at(61),
        );
        let listed: Vec<(u64, &str, u64)> = counts
            .list(|_| true)
            .iter()
            .map(|count| {
                (
                    count.window_start.duration_since(at(0)).unwrap().as_secs(),
                    if count.key.principal == "provider a" {
                        "a"
                    } else {
                        "address"
                    },
                    count.count,
                )
            })
            .collect();
        assert_eq!(listed, [(60, "address", 1), (60, "a", 3), (120, "a", 1)]);
        let only_a = counts.list(|key| key.principal == "provider a");
        assert_eq!(only_a.len(), 2);
    }

    #[test]
    fn an_hour_of_windows_is_kept() {
        let counts = RefusalCounts::default();
        for minute in 0..90 {
            counts.count("operator", "m", "r", at(minute * 60));
        }
        let listed = counts.list(|_| true);
        assert_eq!(listed.len(), 60);
        assert_eq!(
            listed[0].window_start,
            at(30 * 60),
            "the oldest 30 forgotten"
        );
    }
}
