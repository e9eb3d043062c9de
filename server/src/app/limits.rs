//! Call rates per principal: each principal (a provider, an agent, a widget credential, the
//! operator) has a token bucket, so one client calling too fast is refused with when to try
//! again while every other goes on unaffected. Buckets live in this server's memory; a
//! principal's calls spread over replicas get each replica's rate.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::{DomainError, Principal, QuotaExceeded, Reason};

/// A sustained rate and a burst: `per_second` calls a second on average, up to `burst` at
/// once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// A principal's bucket: the calls it may make now, as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Self {
        Self {
            rate,
            tokens: rate.burst,
            at: now,
        }
    }

    /// Takes one call's token, or says how long until there is one.
    fn take(&mut self, now: Instant) -> Result<(), Duration> {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() * self.rate.per_second;
        self.tokens = (self.tokens + refilled).min(self.rate.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (1.0 - self.tokens) / self.rate.per_second,
        ))
    }

    /// Whether it has been full for a while: forgetting it changes nothing.
    fn idle(&self, now: Instant) -> bool {
        let refilled = now.saturating_duration_since(self.at).as_secs_f64() * self.rate.per_second;
        self.tokens + refilled >= self.rate.burst
    }
}

/// Every principal's bucket.
pub struct RateLimits {
    buckets: Mutex<HashMap<Principal, Bucket>>,
    /// Calls since idle buckets were last forgotten.
    calls: std::sync::atomic::AtomicU64,
}

/// How many calls between two sweeps of the buckets that refilled.
const SWEEP_EVERY: u64 = 4096;

impl RateLimits {
    pub fn new() -> Self {
        Self {
            buckets: Mutex::default(),
            calls: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts a call of `principal`, whose rate is `rate` (asked only for a principal without
    /// a bucket yet); refuses it with RESOURCE_EXHAUSTED, when to retry and the quota it went
    /// over, when its bucket is empty.
    pub fn admit(
        &self,
        principal: Principal,
        rate: impl FnOnce() -> Rate,
        now: Instant,
    ) -> Result<(), DomainError> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let calls = self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if calls % SWEEP_EVERY == SWEEP_EVERY - 1 {
            buckets.retain(|_, bucket| !bucket.idle(now));
        }
        let bucket = buckets
            .entry(principal)
            .or_insert_with(|| Bucket::full(rate(), now));
        let rate = bucket.rate;
        bucket.take(now).map_err(|retry_after| {
            let limit = format!("{} calls/s, {} at once", rate.per_second, rate.burst);
            let mut error = DomainError::new(
                Reason::RateLimited,
                format!(
                    "{principal} is calling faster than its rate ({limit}); retry in {} ms",
                    retry_after.as_millis().max(1)
                ),
            )
            .with("limit", &limit);
            error.quota = Some(Box::new(QuotaExceeded {
                subject: principal.to_string(),
                description: format!("calls per second ({limit})"),
                retry_after,
            }));
            error
        })
    }
}

/// The rates of every principal: one for all, and others for some providers (by unique name,
/// which never changes), with their buckets.
pub struct CallRates {
    all: Rate,
    providers: HashMap<String, Rate>,
    limits: RateLimits,
}

impl CallRates {
    /// `all` for everyone but the `providers` named, each with its calls a second (and twice
    /// that at once).
    pub fn new(all: Rate, providers: impl IntoIterator<Item = (String, f64)>) -> Self {
        let providers = providers
            .into_iter()
            .map(|(name, per_second)| {
                let rate = Rate {
                    per_second,
                    burst: per_second * 2.0,
                };
                (name.to_lowercase(), rate)
            })
            .collect();
        Self {
            all,
            providers,
            limits: RateLimits::new(),
        }
    }

    /// Counts a call of `principal` (see [`RateLimits::admit`]); `unique_name` names a
    /// provider, for the rate of a provider or its widget.
    pub fn admit(
        &self,
        principal: Principal,
        unique_name: impl FnOnce(cif_sdk::ids::ProviderId) -> Option<String>,
    ) -> Result<(), DomainError> {
        let rate = || match principal {
            Principal::Provider(provider) | Principal::Widget { provider, .. } => {
                unique_name(provider)
                    .and_then(|name| self.providers.get(&name).copied())
                    .unwrap_or(self.all)
            }
            Principal::Agent(_) | Principal::Operator => self.all,
        };
        self.limits.admit(principal, rate, Instant::now())
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use cif_sdk::ids::ProviderId;

    use super::*;

    const RATE: Rate = Rate {
        per_second: 10.0,
        burst: 3.0,
    };

    #[test]
    fn a_principal_gets_its_burst_then_its_rate_and_others_are_unaffected() {
        let limits = RateLimits::new();
        let (busy, other) = (
            Principal::Provider(ProviderId::generate()),
            Principal::Provider(ProviderId::generate()),
        );
        let start = Instant::now();
        for _ in 0..3 {
            limits
                .admit(busy, || RATE, start)
                .expect("within the burst");
        }
        let refused = limits.admit(busy, || RATE, start).unwrap_err();
        assert_eq!(refused.reason, Reason::RateLimited);
        let quota = refused.quota.as_ref().unwrap();
        assert_eq!(quota.retry_after, Duration::from_millis(100));
        assert_eq!(quota.subject, busy.to_string());
        limits
            .admit(other, || RATE, start)
            .expect("another principal has its own bucket");

        // A tenth of a second later one more call fits, and only one.
        let later = start + Duration::from_millis(100);
        limits.admit(busy, || RATE, later).expect("refilled by one");
        assert!(limits.admit(busy, || RATE, later).is_err());
    }

    #[test]
    fn a_quiet_principal_refills_to_its_burst_and_no_further() {
        let limits = RateLimits::new();
        let caller = Principal::Operator;
        let start = Instant::now();
        limits.admit(caller, || RATE, start).unwrap();
        let much_later = start + Duration::from_secs(60);
        for _ in 0..3 {
            limits.admit(caller, || RATE, much_later).unwrap();
        }
        assert!(
            limits.admit(caller, || RATE, much_later).is_err(),
            "no more than the burst"
        );
    }
}
