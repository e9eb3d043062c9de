//! What stored toasts must agree on before they are restored (see the desks' own check): each
//! toast stored once, pending or resolved, on the desk of an agent that is stored, and at most
//! one of a desk's toasts on screen, the first of its queue.

use std::collections::{HashMap, HashSet};

use cif_sdk::ids::AgentId;

use super::toast::{Resolution, Toast, ToastKey};

/// The first contradiction between the toasts and the agents stored, if any.
pub fn contradiction(
    pending: &[Toast],
    resolved: &[(Toast, Resolution)],
    agents: &HashSet<AgentId>,
) -> Option<String> {
    let mut keys: HashSet<ToastKey> = HashSet::new();
    for toast in pending
        .iter()
        .chain(resolved.iter().map(|(toast, _)| toast))
    {
        if !keys.insert(toast.key) {
            return Some(format!(
                "toast {} of provider {} is stored twice",
                toast.key.id, toast.key.provider
            ));
        }
    }
    let mut first: HashMap<AgentId, &Toast> = HashMap::new();
    for toast in pending {
        if !agents.contains(&toast.agent) {
            return Some(format!(
                "toast {} is on the desk of agent {}, which is not stored",
                toast.key.id, toast.agent
            ));
        }
        let order = |toast: &Toast| (toast.queued, toast.raised, toast.key);
        let head = first.entry(toast.agent).or_insert(toast);
        if order(toast) < order(head) {
            *head = toast;
        }
    }
    pending
        .iter()
        .find(|toast| toast.shown.is_some() && first[&toast.agent].key != toast.key)
        .map(|toast| {
            format!(
                "toast {} is stored as on screen but is not first in agent {}'s queue",
                toast.key.id, toast.agent
            )
        })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use cif_sdk::ids::ProviderId;

    use super::*;
    use crate::domain::toasts::queue::tests::toast;

    fn ids() -> (AgentId, ProviderId) {
        (
            AgentId::from_uuid(uuid::Uuid::now_v7()),
            ProviderId::from_uuid(uuid::Uuid::now_v7()),
        )
    }

    #[test]
    fn a_queue_with_its_first_toast_on_screen_agrees() {
        let (agent, provider) = ids();
        let now = SystemTime::UNIX_EPOCH;
        let mut shown = toast(agent, provider, now);
        shown.shown = Some(now);
        let waiting = toast(agent, provider, now + Duration::from_secs(1));
        assert_eq!(
            contradiction(&[waiting, shown], &[], &HashSet::from([agent])),
            None
        );
    }

    #[test]
    fn a_toast_stored_twice_is_a_contradiction() {
        let (agent, provider) = ids();
        let one = toast(agent, provider, SystemTime::UNIX_EPOCH);
        let found = contradiction(&[one.clone(), one], &[], &HashSet::from([agent]))
            .expect("a contradiction");
        assert!(found.contains("stored twice"), "{found}");
    }

    #[test]
    fn a_toast_of_an_agent_not_stored_is_a_contradiction() {
        let (agent, provider) = ids();
        let found = contradiction(
            &[toast(agent, provider, SystemTime::UNIX_EPOCH)],
            &[],
            &HashSet::new(),
        )
        .expect("a contradiction");
        assert!(found.contains("not stored"), "{found}");
    }

    #[test]
    fn a_toast_on_screen_behind_another_is_a_contradiction() {
        let (agent, provider) = ids();
        let first = toast(agent, provider, SystemTime::UNIX_EPOCH);
        let mut behind = toast(
            agent,
            provider,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1),
        );
        behind.shown = Some(SystemTime::UNIX_EPOCH);
        let found =
            contradiction(&[first, behind], &[], &HashSet::from([agent])).expect("a contradiction");
        assert!(found.contains("not first"), "{found}");
    }
}
