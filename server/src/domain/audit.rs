//! The audit trail: every operator change, kept as who made it, what, when, and the resource
//! before and after where that applies, never a secret. Entries are records like any other
//! (durable, shared by replicas), numbered in the order they were made, and forgotten past a
//! retention by count and by age.

use std::time::SystemTime;

use uuid::Uuid;

use super::paging::{self, Page};
use super::tracked::Tracked;

/// A resource as the API shows it, encoded (a `google.protobuf.Any`'s type and value): the
/// trail keeps what operators saw, and the rules need not read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub type_url: String,
    pub value: Vec<u8>,
}

/// One operator change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id: a UUID whose order is the order entries were made in (version 7).
    pub id: Uuid,
    pub time: SystemTime,
    /// Who: `operator` (the configured token), `operator credential <id>`, `configuration`.
    pub actor: String,
    /// What: the AdminService method, e.g. `DeactivateProvider`.
    pub action: String,
    /// Which resource: `providers/<id>`, `agents/<id>`, `operatorCredentials/<id>`.
    pub resource: String,
    /// The resource before the change; `None` for what it created.
    pub before: Option<Snapshot>,
    /// The resource after; `None` for what it deleted.
    pub after: Option<Snapshot>,
}

/// What to list: entries whose fields equal those given (empty: any).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: String,
    pub action: String,
    pub resource: String,
}

impl AuditFilter {
    fn keeps(&self, entry: &AuditEntry) -> bool {
        let matches = |wanted: &str, value: &str| wanted.is_empty() || wanted == value;
        matches(&self.actor, &entry.actor)
            && matches(&self.action, &entry.action)
            && matches(&self.resource, &entry.resource)
    }
}

/// How long entries are kept: the newest `count`, none older than `age`.
#[derive(Debug, Clone, Copy)]
pub struct AuditRetention {
    pub count: usize,
    pub age: std::time::Duration,
}

/// Every kept entry.
#[derive(Debug, Default)]
pub struct AuditTrail {
    entries: Tracked<Uuid, AuditEntry>,
}

impl AuditTrail {
    pub fn loaded(entries: Vec<AuditEntry>) -> Self {
        Self {
            entries: Tracked::loaded(entries.into_iter().map(|entry| (entry.id, entry))),
        }
    }

    /// Keeps a change made now.
    pub fn record(
        &mut self,
        time: SystemTime,
        actor: String,
        action: &str,
        resource: String,
        before: Option<Snapshot>,
        after: Option<Snapshot>,
    ) {
        let id = Uuid::now_v7();
        self.entries.insert(
            id,
            AuditEntry {
                id,
                time,
                actor,
                action: action.to_owned(),
                resource,
                before,
                after,
            },
        );
    }

    /// The entries `filter` keeps in the order they were made, after entry `after`.
    pub fn list(
        &self,
        filter: &AuditFilter,
        after: Option<Uuid>,
        limit: usize,
    ) -> Page<&AuditEntry, Uuid> {
        paging::page(&self.entries, after, limit, |entry| filter.keeps(entry))
    }

    /// Forgets the entries past `retention` at `now`: the oldest first.
    pub fn forget_old(&mut self, retention: AuditRetention, now: SystemTime) {
        let too_old = now.checked_sub(retention.age);
        let excess = self.entries.len().saturating_sub(retention.count);
        let forgotten: Vec<Uuid> = self
            .entries
            .values()
            .enumerate()
            .take_while(|(n, entry)| *n < excess || too_old.is_some_and(|cut| entry.time < cut))
            .map(|(_, entry)| entry.id)
            .collect();
        for id in forgotten {
            self.entries.remove(&id);
        }
    }

    pub fn take_changes(&mut self) -> Vec<(Uuid, Option<AuditEntry>)> {
        self.entries.take_changes()
    }

    /// Makes the entries what another process's commands left them (a follower).
    pub fn apply(&mut self, changes: Vec<(Uuid, Option<AuditEntry>)>) {
        for (id, entry) in changes {
            match entry {
                Some(entry) => self.entries.insert(id, entry),
                None => self.entries.remove(&id),
            };
        }
        self.entries.forget_touched();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn trail_of(times: &[u64]) -> AuditTrail {
        let mut trail = AuditTrail::default();
        for (n, seconds) in times.iter().enumerate() {
            trail.record(
                SystemTime::UNIX_EPOCH + Duration::from_secs(*seconds),
                if n % 2 == 0 {
                    "operator"
                } else {
                    "configuration"
                }
                .into(),
                "CreateProvider",
                format!("providers/{n}"),
                None,
                None,
            );
        }
        trail
    }

    fn resources(entries: &[&AuditEntry]) -> Vec<String> {
        entries.iter().map(|e| e.resource.clone()).collect()
    }

    #[test]
    fn entries_are_listed_in_the_order_made_by_filter_and_page() {
        let trail = trail_of(&[1, 2, 3, 4, 5]);
        let all = trail.list(&AuditFilter::default(), None, 2);
        assert_eq!(resources(&all.items), ["providers/0", "providers/1"]);
        let rest = trail.list(&AuditFilter::default(), all.next, 10);
        assert_eq!(
            resources(&rest.items),
            ["providers/2", "providers/3", "providers/4"]
        );
        let by_configuration = AuditFilter {
            actor: "configuration".into(),
            ..AuditFilter::default()
        };
        let listed = trail.list(&by_configuration, None, 10);
        assert_eq!(resources(&listed.items), ["providers/1", "providers/3"]);
    }

    #[test]
    fn retention_forgets_the_oldest_past_the_count_and_the_age() {
        let mut trail = trail_of(&[1, 2, 3, 4, 5]);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10);
        let keep = |count, age| AuditRetention {
            count,
            age: Duration::from_secs(age),
        };
        trail.forget_old(keep(4, 100), now);
        let kept =
            |trail: &AuditTrail| resources(&trail.list(&AuditFilter::default(), None, 10).items);
        assert_eq!(
            kept(&trail),
            ["providers/1", "providers/2", "providers/3", "providers/4"],
            "the newest 4"
        );
        trail.forget_old(keep(10, 7), now);
        assert_eq!(
            kept(&trail),
            ["providers/2", "providers/3", "providers/4"],
            "none older than 7 s"
        );
        let changes = trail.take_changes();
        let forgotten = changes.iter().filter(|(_, entry)| entry.is_none()).count();
        assert_eq!(
            (changes.len(), forgotten),
            (5, 2),
            "to store: five, two of them forgotten"
        );
    }
}
