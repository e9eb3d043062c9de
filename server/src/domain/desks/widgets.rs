//! Rule 20: which provider's widget the communication panel shows.

use cif_sdk::ids::ProviderId;

/// The provider whose widget is visible: the focused session's owner while the agent admits
/// it (`owner_admitted`); in the home session (no owner), the provider the agent admits when
/// it admits exactly one (`only_admitted`), since home belongs to no provider; otherwise none.
pub fn visible_provider(
    focused_owner: Option<ProviderId>,
    owner_admitted: bool,
    only_admitted: Option<ProviderId>,
) -> Option<ProviderId> {
    match focused_owner {
        Some(owner) => owner_admitted.then_some(owner),
        None => only_admitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_20_the_focused_owner_while_admitted_else_in_home_the_only_provider() {
        let (chat, phone) = (ProviderId::generate(), ProviderId::generate());
        // A provider's session: its owner's widget while admitted, whoever else is.
        assert_eq!(visible_provider(Some(chat), true, None), Some(chat));
        // An owner the agent no longer admits shows nothing, even with one provider left.
        assert_eq!(visible_provider(Some(chat), false, Some(phone)), None);
        // Home: the single provider's widget; with several (or none), none.
        assert_eq!(visible_provider(None, false, Some(phone)), Some(phone));
        assert_eq!(visible_provider(None, false, None), None);
    }
}
