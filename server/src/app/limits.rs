//! Call rates per principal and per address, and the bound on work in flight. Rates per principal: each principal (a provider, an agent, a widget credential, the
//! operator) has a token bucket, so one client calling too fast is refused with when to try
//! again while every other goes on unaffected. Buckets live in this server's memory; a
//! principal's calls spread over replicas get each replica's rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// Every caller's bucket, by `K`: a principal, or an address.
pub struct RateLimits<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
    /// Calls since idle buckets were last forgotten.
    calls: AtomicU64,
}

/// How many calls between two sweeps of the buckets that refilled.
const SWEEP_EVERY: u64 = 4096;

impl<K: std::hash::Hash + Eq> RateLimits<K> {
    pub fn new() -> Self {
        Self {
            buckets: Mutex::default(),
            calls: AtomicU64::new(0),
        }
    }

    /// Counts a call of `caller`, whose rate is `rate` (asked only for a caller without a
    /// bucket yet); when its bucket is empty, says the rate and how long until it may call.
    pub fn admit(
        &self,
        caller: K,
        rate: impl FnOnce() -> Rate,
        now: Instant,
    ) -> Result<(), (Rate, Duration)> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let calls = self.calls.fetch_add(1, Ordering::Relaxed);
        if calls % SWEEP_EVERY == SWEEP_EVERY - 1 {
            buckets.retain(|_, bucket| !bucket.idle(now));
        }
        let bucket = buckets
            .entry(caller)
            .or_insert_with(|| Bucket::full(rate(), now));
        bucket
            .take(now)
            .map_err(|retry_after| (bucket.rate, retry_after))
    }
}

/// RESOURCE_EXHAUSTED for `subject`, which went over `rate`: `what` happened, and `quota`
/// names what was counted.
fn over_rate(
    rate: Rate,
    retry_after: Duration,
    subject: String,
    what: String,
    quota: &str,
) -> DomainError {
    let limit = format!("{} calls/s, {} at once", rate.per_second, rate.burst);
    DomainError::new(
        Reason::RateLimited,
        format!(
            "{what} ({limit}); retry in {} ms",
            retry_after.as_millis().max(1)
        ),
    )
    .with("limit", &limit)
    .retry_after(
        retry_after,
        Some(QuotaExceeded {
            subject,
            description: format!("{quota} ({limit})"),
        }),
    )
}

/// The rates of every principal: one for all, and others for some providers (by unique name,
/// which never changes), with their buckets.
pub struct CallRates {
    all: Rate,
    providers: HashMap<String, Rate>,
    limits: RateLimits<Principal>,
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
            Principal::Agent(_) | Principal::Operator(_) => self.all,
        };
        self.limits
            .admit(principal, rate, Instant::now())
            .map_err(|(rate, retry_after)| {
                over_rate(
                    rate,
                    retry_after,
                    principal.to_string(),
                    format!("{principal} is calling faster than its rate"),
                    "calls per second",
                )
            })
    }
}

/// The rate of calls without a valid credential (health, reflection, and calls whose
/// credential is missing or unknown) each address may make: someone flooding them is refused
/// cheaply, while the callers that present a credential from the same address go on.
pub struct AddressRates {
    rate: Rate,
    limits: RateLimits<IpAddr>,
}

impl AddressRates {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            limits: RateLimits::new(),
        }
    }

    /// Counts an unauthenticated call from `address`; refuses it with RESOURCE_EXHAUSTED and
    /// when to retry when the address went over its rate.
    pub fn admit(&self, address: IpAddr) -> Result<(), DomainError> {
        self.limits
            .admit(address, || self.rate, Instant::now())
            .map_err(|(rate, retry_after)| {
                over_rate(
                    rate,
                    retry_after,
                    format!("address:{address}"),
                    format!("{address} makes calls without a valid credential faster than an address may"),
                    "calls without a valid credential per second",
                )
            })
    }
}

/// Every limit a call meets right after its role is checked.
#[derive(Default)]
pub struct Limits {
    /// Each principal's call rate.
    pub principals: Option<CallRates>,
    /// Each address's rate of calls without a valid credential.
    pub addresses: Option<AddressRates>,
    /// The bound on calls in flight.
    pub in_flight: Option<InFlight>,
}

/// A bound on the calls this server works on at once. Past it, calls are shed at once
/// (UNAVAILABLE, with when to retry) rather than queued: a queue only makes every call late,
/// and the callers' deadlines then pass on work already done. Streams and toasts waiting for
/// the agent are not work in flight.
pub struct InFlight {
    limit: usize,
    running: Arc<AtomicUsize>,
}

/// One call in flight; dropping it ends the call's share.
pub struct Working(Arc<AtomicUsize>);

impl Drop for Working {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The delay shed calls are told to wait: long enough for calls in flight to finish, spread
/// so that the shed do not all come back at once.
const SHED_RETRY: Duration = Duration::from_millis(50);

impl InFlight {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            running: Arc::default(),
        }
    }

    /// Starts a call, or sheds it when `limit` are running.
    pub fn start(&self) -> Result<Working, DomainError> {
        let started = self.running.fetch_add(1, Ordering::AcqRel);
        let working = Working(self.running.clone());
        if started < self.limit {
            return Ok(working);
        }
        // Spread over one to two times SHED_RETRY by the calls' count, which moves quickly.
        let after = SHED_RETRY + SHED_RETRY * (started % 64) as u32 / 64;
        Err(DomainError::new(
            Reason::ServerOverloaded,
            format!(
                "the server is working on as many calls as it takes ({}); retry in {} ms (with the same request_id)",
                self.limit,
                after.as_millis()
            ),
        )
        .with("limit", self.limit)
        .retry_after(after, None))
    }

    /// The calls running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Acquire)
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
        let (rate, retry_after) = limits.admit(busy, || RATE, start).unwrap_err();
        assert_eq!((rate, retry_after), (RATE, Duration::from_millis(100)));
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
        let caller = Principal::Operator(crate::domain::Operator::Configured);
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

    #[test]
    fn a_principal_over_its_rate_is_told_when_to_retry_and_whose_quota_it_was() {
        let rates = CallRates::new(RATE, []);
        let caller = Principal::Provider(ProviderId::generate());
        for _ in 0..3 {
            rates.admit(caller, |_| None).unwrap();
        }
        let refused = rates.admit(caller, |_| None).unwrap_err();
        assert_eq!(refused.reason, Reason::RateLimited);
        let retry = refused.retry.as_ref().unwrap();
        assert!(retry.after > Duration::ZERO && retry.after <= Duration::from_millis(100));
        assert_eq!(retry.quota.as_ref().unwrap().subject, caller.to_string());
    }

    #[test]
    fn an_address_over_its_rate_of_unauthenticated_calls_is_refused_and_others_are_not() {
        let rates = AddressRates::new(RATE);
        let (flooding, other): (IpAddr, IpAddr) =
            ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        for _ in 0..3 {
            rates.admit(flooding).unwrap();
        }
        let refused = rates.admit(flooding).unwrap_err();
        assert_eq!(refused.reason, Reason::RateLimited);
        let quota = refused.retry.unwrap().quota.unwrap();
        assert_eq!(quota.subject, "address:127.0.0.2");
        rates
            .admit(other)
            .expect("another address has its own bucket");
    }

    #[test]
    fn calls_past_the_bound_in_flight_are_shed_until_one_ends() {
        let in_flight = InFlight::new(2);
        let first = in_flight.start().unwrap();
        let _second = in_flight.start().unwrap();
        let shed = in_flight.start().err().expect("a third is shed");
        assert_eq!(shed.reason, Reason::ServerOverloaded);
        let retry = shed.retry.unwrap();
        assert!(retry.quota.is_none(), "the server's load is nobody's quota");
        assert!(retry.after >= SHED_RETRY && retry.after < SHED_RETRY * 2);
        assert_eq!(in_flight.running(), 2, "a shed call holds no place");
        drop(first);
        in_flight.start().expect("a place came free");
    }
}
