//! Rule 20: which provider's widget the communication panel shows.

use cif_sdk::ids::ProviderId;

/// The provider whose widget is visible: the focused session's owner while the agent admits
/// it; in the home session (no owner), the single provider when the agent admits exactly
/// one, since home belongs to no provider; otherwise none. `admitted` is the agent's
/// admitted providers.
pub fn visible_provider(
    focused_owner: Option<ProviderId>,
    admitted: &[ProviderId],
) -> Option<ProviderId> {
    match (focused_owner, admitted) {
        (Some(owner), _) => admitted.contains(&owner).then_some(owner),
        (None, [only]) => Some(*only),
        (None, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_20_the_focused_owner_while_admitted_else_in_home_the_only_provider() {
        let (chat, phone) = (ProviderId::generate(), ProviderId::generate());
        // A provider's session: its owner's widget, whoever else is admitted.
        assert_eq!(visible_provider(Some(chat), &[chat, phone]), Some(chat));
        assert_eq!(visible_provider(Some(chat), &[chat]), Some(chat));
        // An owner the agent no longer admits shows nothing.
        assert_eq!(visible_provider(Some(chat), &[phone]), None);
        // Home: the single provider's widget; with several (or none), none.
        assert_eq!(visible_provider(None, &[phone]), Some(phone));
        assert_eq!(visible_provider(None, &[chat, phone]), None);
        assert_eq!(visible_provider(None, &[]), None);
    }
}
