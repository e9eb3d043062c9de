//! Domain values into protobuf messages.

use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::pb;

use crate::domain::control_plane::{DeskView, SessionView};
use crate::domain::desks::{Marks, PanelMode, Session, SessionKind};
use crate::domain::desks::{PageKind, Tab};
use crate::domain::events::{Event, EventKind, SessionSnapshot, Widgets};
use crate::domain::registry::AgentRecord;
use crate::domain::registry::ProviderRecord;
use crate::domain::registry::{Presence, PresenceStatus};
use crate::domain::toasts::{Canceller, Outcome, Resolution, Toast, ToastKey};

pub fn timestamp(time: SystemTime) -> prost_types::Timestamp {
    time.into()
}

pub fn provider(record: &ProviderRecord) -> pb::Provider {
    let fields = &record.fields;
    pb::Provider {
        id: record.id.to_string(),
        unique_name: record.unique_name.clone(),
        display_name: fields.display_name.clone(),
        label: fields.label.clone(),
        channel_url: fields.channel_url.clone(),
        enable_outbound: fields.enable_outbound,
        channel_order: fields.channel_order,
        api_version: fields.api_version.clone(),
        trusted_domain: fields.trusted_domain.clone(),
        custom_parameters: fields.custom_parameters.clone(),
        enable_analytics: fields.enable_analytics,
        state: if record.active {
            pb::ProviderState::Active
        } else {
            pb::ProviderState::Inactive
        } as i32,
        create_time: Some(timestamp(record.created)),
        update_time: Some(timestamp(record.updated)),
        managed: record.managed,
    }
}

pub fn agent(record: &AgentRecord) -> pb::Agent {
    pb::Agent {
        id: record.id.to_string(),
        display_name: record.display_name.clone(),
        provider_ids: record.profile.iter().map(ToString::to_string).collect(),
        limits: Some(pb::AgentLimits {
            max_open_sessions: record.limits.max_open_sessions,
            max_tabs_per_session: record.limits.max_tabs_per_session,
            max_queued_notifications: record.limits.max_queued_notifications,
        }),
        create_time: Some(timestamp(record.created)),
        update_time: Some(timestamp(record.updated)),
        managed: record.managed,
    }
}

pub fn session(view: SessionView<'_>) -> pb::Session {
    session_parts(
        view.session,
        view.focused,
        view.owner.map(|owner| pb::SessionOwner {
            provider_id: owner.id.to_string(),
            provider_unique_name: owner.unique_name.to_owned(),
            provider_deleted: owner.deleted,
            provider_not_admitted: !owner.admitted,
        }),
        view.home_seen_by,
    )
}

/// A session as an event recorded it.
pub fn session_snapshot(snapshot: &SessionSnapshot) -> pb::Session {
    session_parts(
        &snapshot.session,
        snapshot.focused,
        snapshot.owner.as_ref().map(|owner| pb::SessionOwner {
            provider_id: owner.id.to_string(),
            provider_unique_name: owner.unique_name.to_string(),
            provider_deleted: owner.deleted,
            provider_not_admitted: !owner.admitted,
        }),
        None,
    )
}

/// `home_seen_by`: the provider reading a home session, shown only its own tabs there and
/// neither the version nor tab focus (rule 19).
fn session_parts(
    session: &Session,
    focused: bool,
    owner: Option<pb::SessionOwner>,
    home_seen_by: Option<cif_sdk::ids::ProviderId>,
) -> pb::Session {
    let visible = |tab: &&Arc<Tab>| home_seen_by.is_none_or(|provider| tab.opened_by == provider);
    let focused_tab = session
        .focused_tab
        .filter(|_| home_seen_by.is_none())
        .and_then(|id| session.tab(id));
    pb::Session {
        id: session.id.to_string(),
        agent_id: session.agent.to_string(),
        kind: match session.kind {
            SessionKind::Home => pb::SessionKind::Home,
            SessionKind::Provider(_) => pb::SessionKind::Provider,
        } as i32,
        owner,
        template: session.template.to_string(),
        title: session.title.clone(),
        context: session
            .context
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
        state: if session.is_open() {
            pb::SessionState::Open
        } else {
            pb::SessionState::Closed
        } as i32,
        focused,
        create_time: Some(timestamp(session.created)),
        close_time: session.closed.map(timestamp),
        tabs: session
            .tabs
            .iter()
            .filter(visible)
            .map(|tab| self::tab(tab, focused_tab.is_some_and(|focused| focused.id == tab.id)))
            .collect(),
        focused_tab_id: focused_tab
            .map(|tab| tab.id.to_string())
            .unwrap_or_default(),
        marks: Some(marks(&session.marks)),
        version: if home_seen_by.is_some() {
            0
        } else {
            session.version
        },
    }
}

fn marks(marks: &Marks) -> pb::SessionMarks {
    pb::SessionMarks {
        attention_requested: marks.attention.is_some(),
        messages_count: marks.attention.unwrap_or_default(),
        new_activity: marks.new_activity.is_some(),
        new_activity_count: marks.new_activity.unwrap_or_default(),
        kpi_breached: marks.kpi_breach.is_some(),
        kpi_details: marks.kpi_breach.clone().unwrap_or_default(),
    }
}

pub fn tab(tab: &Tab, focused: bool) -> pb::Tab {
    pb::Tab {
        id: tab.id.to_string(),
        session_id: tab.session.to_string(),
        template: tab.template().to_owned(),
        title: tab.title.clone(),
        page: Some(pb::TabPage {
            kind: page_kind(tab.page.kind) as i32,
            url: tab.page.url.to_string(),
            parameters: tab.page.parameters.to_string(),
        }),
        can_close: tab.can_close,
        opened_by_provider_id: tab.opened_by.to_string(),
        focused,
        create_time: Some(timestamp(tab.created)),
        anchor: tab.anchor,
    }
}

pub fn page_kind(kind: PageKind) -> pb::PageKind {
    match kind {
        PageKind::Dashboard => pb::PageKind::Dashboard,
        PageKind::EntityList => pb::PageKind::EntityList,
        PageKind::EntityRecord => pb::PageKind::EntityRecord,
        PageKind::Search => pb::PageKind::Search,
        PageKind::ThirdPartyWebsite => pb::PageKind::ThirdPartyWebsite,
        PageKind::WebResource => pb::PageKind::WebResource,
        PageKind::Control => pb::PageKind::Control,
        PageKind::CustomPage => pb::PageKind::CustomPage,
    }
}

pub fn panel_mode(mode: PanelMode) -> pb::PanelMode {
    match mode {
        PanelMode::Minimized => pb::PanelMode::Minimized,
        PanelMode::Docked => pb::PanelMode::Docked,
        PanelMode::Hidden => pb::PanelMode::Hidden,
        PanelMode::Collapsed => pb::PanelMode::Collapsed,
    }
}

pub fn presence(presence: &Presence) -> pb::Presence {
    pb::Presence {
        presence_id: presence.id.clone(),
        text: presence.text.clone(),
        base_status: match presence.base_status {
            PresenceStatus::Available => pb::PresenceStatus::Available,
            PresenceStatus::Busy => pb::PresenceStatus::Busy,
            PresenceStatus::BusyDnd => pb::PresenceStatus::BusyDnd,
            PresenceStatus::Away => pb::PresenceStatus::Away,
            PresenceStatus::Offline => pb::PresenceStatus::Offline,
        } as i32,
        color: presence.color.clone(),
        managed: presence.managed,
    }
}

/// A countdown in seconds: 0 is no limit.
pub fn countdown_seconds(countdown: Option<std::time::Duration>) -> u32 {
    countdown.map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

pub fn notification(toast: &Toast) -> pb::Notification {
    let content = &toast.content;
    pb::Notification {
        notification_id: toast.key.id.to_string(),
        provider_id: toast.key.provider.to_string(),
        agent_id: toast.agent.to_string(),
        session_id: toast.session.map(|s| s.to_string()).unwrap_or_default(),
        title: content.title.clone(),
        fields: content
            .fields
            .iter()
            .map(|(label, value)| pb::NotificationField {
                label: label.clone(),
                value: value.clone(),
            })
            .collect(),
        countdown_seconds: countdown_seconds(content.countdown),
        accept_text: content.accept_text.clone(),
        show_reject: content.show_reject,
        reject_text: content.reject_text.clone(),
        auto_accept: content.auto_accept,
        state: if toast.shown.is_some() {
            pb::NotificationState::Shown
        } else {
            pb::NotificationState::Queued
        } as i32,
        raise_time: Some(timestamp(toast.raised)),
        show_time: toast.shown.map(timestamp),
        expire_time: toast.deadline().map(timestamp),
        template: toast.template.clone(),
    }
}

pub fn notification_result(key: ToastKey, resolution: Resolution) -> pb::NotificationResult {
    let (outcome, cancelled_by) = match resolution.outcome {
        Outcome::Accepted => (pb::NotificationOutcome::Accepted, None),
        Outcome::AutoAccepted => (pb::NotificationOutcome::AutoAccepted, None),
        Outcome::Declined => (pb::NotificationOutcome::Declined, None),
        Outcome::DisplayTimeout => (pb::NotificationOutcome::DisplayTimeout, None),
        Outcome::QueueFull => (pb::NotificationOutcome::QueueFull, None),
        Outcome::QueueTimeLimitExceeded => (pb::NotificationOutcome::QueueTimeLimitExceeded, None),
        Outcome::Cancelled(by) => (pb::NotificationOutcome::Cancelled, Some(by)),
    };
    let (action, reason) = resolution.outcome.cif_names();
    pb::NotificationResult {
        notification_id: key.id.to_string(),
        outcome: outcome as i32,
        cancelled_by: match cancelled_by {
            None => pb::NotificationCanceller::Unspecified,
            Some(Canceller::Provider) => pb::NotificationCanceller::Provider,
            Some(Canceller::SessionClosed) => pb::NotificationCanceller::SessionClosed,
            Some(Canceller::ProviderDeactivated) => pb::NotificationCanceller::ProviderDeactivated,
            Some(Canceller::AgentDeleted) => pb::NotificationCanceller::AgentDeleted,
            Some(Canceller::ProviderNotAdmitted) => pb::NotificationCanceller::ProviderNotAdmitted,
        } as i32,
        cif_action_name: action.to_owned(),
        cif_response_reason: reason.to_owned(),
        resolve_time: Some(timestamp(resolution.time)),
    }
}

/// Who an event is converted for: a provider is not told what moves with other providers'
/// work (rule 19): which provider set the presence, which tab has focus in home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A provider's stream.
    Provider,
    /// The agent's desk or an operator's watch: everything.
    Desk,
}

pub fn event(event: &Event, audience: Audience) -> pb::Event {
    use pb::event::Kind;
    let to_provider = audience == Audience::Provider;
    let tab_message = |tab: &Tab, focused: bool| Some(self::tab(tab, focused));
    let focus_shown = |focused: bool, in_home: bool| focused && !(to_provider && in_home);
    let kind = match &event.kind {
        EventKind::SessionCreated { session } => Kind::SessionCreated(pb::SessionCreated {
            session: Some(session_snapshot(session)),
        }),
        EventKind::SessionSwitched { session, focused } => {
            Kind::SessionSwitched(pb::SessionSwitched {
                session: Some(session_snapshot(session)),
                focused: *focused,
            })
        }
        EventKind::SessionClosed { session } => Kind::SessionClosed(pb::SessionClosed {
            session: Some(session_snapshot(session)),
        }),
        EventKind::SessionRetitled { session } => Kind::SessionRetitled(pb::SessionRetitled {
            session: Some(session_snapshot(session)),
        }),
        EventKind::SessionContextChanged {
            session,
            set,
            deleted,
        } => Kind::SessionContextChanged(pb::SessionContextChanged {
            session: Some(session_snapshot(session)),
            set_keys: set.to_vec(),
            deleted_keys: deleted.to_vec(),
        }),
        EventKind::SessionMarksChanged { session } => {
            Kind::SessionMarksChanged(pb::SessionMarksChanged {
                session: Some(session_snapshot(session)),
            })
        }
        EventKind::TabCreated {
            tab,
            focused,
            in_home,
        } => Kind::TabCreated(pb::TabCreated {
            tab: tab_message(tab, focus_shown(*focused, *in_home)),
        }),
        EventKind::TabFocused { tab } => Kind::TabFocused(pb::TabFocused {
            tab: tab_message(tab, true),
        }),
        EventKind::TabRefreshed {
            tab,
            focused,
            in_home,
        } => Kind::TabRefreshed(pb::TabRefreshed {
            tab: tab_message(tab, focus_shown(*focused, *in_home)),
        }),
        EventKind::TabRetitled {
            tab,
            focused,
            in_home,
        } => Kind::TabRetitled(pb::TabRetitled {
            tab: tab_message(tab, focus_shown(*focused, *in_home)),
        }),
        EventKind::TabClosed { tab } => Kind::TabClosed(pb::TabClosed {
            tab: tab_message(tab, false),
        }),
        EventKind::PanelModeChanged { mode } => Kind::PanelModeChanged(pb::PanelModeChanged {
            mode: panel_mode(*mode) as i32,
        }),
        EventKind::PanelWidthChanged { width } => {
            Kind::PanelWidthChanged(pb::PanelWidthChanged { width: *width })
        }
        EventKind::PresenceChanged { presence, set_by } => {
            Kind::PresenceChanged(pb::PresenceChanged {
                presence: Some(self::presence(presence)),
                set_by_provider_id: set_by
                    .filter(|_| !to_provider)
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            })
        }
        EventKind::NotificationQueued { toast } => {
            Kind::NotificationQueued(pb::NotificationQueued {
                notification: Some(notification(&toast.0)),
            })
        }
        EventKind::NotificationShown { toast } => Kind::NotificationShown(pb::NotificationShown {
            notification: Some(notification(&toast.0)),
        }),
        EventKind::NotificationResolved { toast, resolution } => {
            Kind::NotificationResolved(pb::NotificationResolved {
                notification: Some(notification(&toast.0)),
                result: Some(notification_result(toast.0.key, *resolution)),
            })
        }
        EventKind::ClickToAct(click) => Kind::ClickToAct(pb::ClickToAct {
            value: click.value.clone(),
            name: click.name.clone(),
            format: click.format.clone(),
            entity_logical_name: click.entity_logical_name.clone(),
        }),
        EventKind::CustomEvent(custom) => Kind::CustomEvent(pb::CustomEvent {
            name: custom.name.clone(),
            payload: custom.payload.clone(),
            from_provider_id: custom.from.map(|p| p.to_string()).unwrap_or_default(),
            to_provider_id: custom.to.map(|p| p.to_string()).unwrap_or_default(),
        }),
        EventKind::ProviderAdmissionChanged { provider, admitted } => {
            Kind::ProviderAdmissionChanged(pb::ProviderAdmissionChanged {
                provider_id: provider.to_string(),
                admitted: *admitted,
            })
        }
        EventKind::DeskWidgetsChanged { widgets } => {
            Kind::DeskWidgetsChanged(pb::DeskWidgetsChanged {
                widgets: Some(desk_widgets(widgets)),
            })
        }
        EventKind::VisibleWidgetChanged { visible } => {
            Kind::VisibleWidgetChanged(pb::VisibleWidgetChanged {
                visible_provider_id: visible.map(|p| p.to_string()).unwrap_or_default(),
            })
        }
    };
    pb::Event {
        agent_id: event.agent.to_string(),
        time: Some(timestamp(event.time)),
        kind: Some(kind),
    }
}

/// A desk's widgets (rule 20).
pub fn desk_widgets(widgets: &Widgets) -> pb::DeskWidgets {
    pb::DeskWidgets {
        providers: widgets
            .providers
            .iter()
            .map(|provider| pb::DeskProvider {
                provider_id: provider.id.to_string(),
                label: provider.label.clone(),
                channel_url: provider.channel_url.clone(),
                trusted_domain: provider.trusted_domain.clone(),
                channel_order: provider.channel_order,
                enable_outbound: provider.enable_outbound,
            })
            .collect(),
        visible_provider_id: widgets
            .visible
            .map(|provider| provider.to_string())
            .unwrap_or_default(),
    }
}

/// The desk as the caller asked to see it (see `pb::DeskView`).
pub fn desk_as(view: DeskView<'_>, shown: pb::DeskView) -> pb::Desk {
    match shown {
        pb::DeskView::Basic => {
            let desk = view.desk;
            pb::Desk {
                agent_id: view.agent.id.to_string(),
                focused_session_id: desk.focused.to_string(),
                panel_mode: panel_mode(desk.panel_mode) as i32,
                panel_width: desk.panel_width,
                presence: desk.presence.as_ref().map(presence),
                version: desk.version,
                ..Default::default()
            }
        }
        pb::DeskView::Unspecified | pb::DeskView::Full => self::desk(view),
    }
}

pub fn desk(view: DeskView<'_>) -> pb::Desk {
    let desk = view.desk;
    pb::Desk {
        agent_id: view.agent.id.to_string(),
        home_session: Some(session(view.home)),
        sessions: view.sessions.into_iter().map(session).collect(),
        focused_session_id: desk.focused.to_string(),
        panel_mode: panel_mode(desk.panel_mode) as i32,
        panel_width: desk.panel_width,
        presence: desk.presence.as_ref().map(presence),
        notifications: view.toasts.into_iter().map(notification).collect(),
        version: desk.version,
    }
}

/// An operator credential as operators see it: never the credential itself.
pub fn operator_credential(
    record: &crate::domain::registry::OperatorCredentialRecord,
) -> pb::OperatorCredential {
    pb::OperatorCredential {
        id: record.id.to_string(),
        display_name: record.display_name.clone(),
        create_time: Some(timestamp(record.created)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use cif_sdk::ids::{AgentId, ProviderId, SessionId, TabId};

    use super::*;
    use crate::domain::desks::{PageKind, TabPage};
    use crate::domain::registry::PresenceStatus;

    fn event(kind: EventKind) -> Event {
        Event {
            agent: AgentId::generate(),
            time: SystemTime::now(),
            providers: Vec::new(),
            kind,
        }
    }

    #[test]
    fn a_provider_is_not_told_who_set_the_presence_the_desk_is() {
        let setter = ProviderId::generate();
        let changed = event(EventKind::PresenceChanged {
            presence: Box::new(Presence {
                id: "busy".into(),
                text: "Busy".into(),
                base_status: PresenceStatus::Busy,
                color: "#FF0000".into(),
                managed: false,
            }),
            set_by: Some(setter),
        });
        let set_by = |audience| match convert_kind(&changed, audience) {
            pb::event::Kind::PresenceChanged(changed) => changed.set_by_provider_id,
            other => panic!("{other:?}"),
        };
        assert_eq!(set_by(Audience::Provider), "");
        assert_eq!(set_by(Audience::Desk), setter.to_string());
    }

    #[test]
    fn a_provider_is_not_told_which_tab_has_focus_in_home() {
        let tab = Arc::new(Tab {
            id: TabId::generate(),
            session: SessionId::generate(),
            title: "Search".into(),
            page: TabPage {
                kind: PageKind::Search,
                url: "".into(),
                parameters: "".into(),
            },
            can_close: true,
            anchor: false,
            origin: None,
            opened_by: ProviderId::generate(),
            created: SystemTime::now(),
        });
        for (in_home, to_provider) in [(true, false), (false, true)] {
            let created = event(EventKind::TabCreated {
                tab: tab.clone(),
                focused: true,
                in_home,
            });
            let focused = |audience| match convert_kind(&created, audience) {
                pb::event::Kind::TabCreated(created) => created.tab.unwrap().focused,
                other => panic!("{other:?}"),
            };
            assert_eq!(
                focused(Audience::Provider),
                to_provider,
                "in home: {in_home}"
            );
            assert!(focused(Audience::Desk), "the desk always is");
        }
    }

    #[test]
    fn every_canceller_has_its_own_value() {
        let cancelled = |by| {
            notification_result(
                ToastKey {
                    provider: ProviderId::generate(),
                    id: cif_sdk::ids::NotificationId::generate(),
                },
                Resolution {
                    outcome: Outcome::Cancelled(by),
                    time: SystemTime::now(),
                },
            )
            .cancelled_by
        };
        let values: std::collections::BTreeSet<i32> = [
            Canceller::Provider,
            Canceller::SessionClosed,
            Canceller::ProviderDeactivated,
            Canceller::AgentDeleted,
            Canceller::ProviderNotAdmitted,
        ]
        .into_iter()
        .map(cancelled)
        .collect();
        assert_eq!(values.len(), 5);
        assert!(!values.contains(&(pb::NotificationCanceller::Unspecified as i32)));
    }

    fn convert_kind(event: &Event, audience: Audience) -> pb::event::Kind {
        super::event(event, audience).kind.expect("a kind")
    }
}
