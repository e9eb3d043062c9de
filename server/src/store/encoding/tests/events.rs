//! An event of every kind reads back as it was written.

use std::collections::BTreeSet;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::round_trip;
use super::values::{at, outcomes, session, tab, toast};
use crate::domain::desks::PanelMode;
use crate::domain::events::{
    ClickToAct, CustomEvent, Event, EventKind, OwnerSnapshot, SessionSnapshot, ToastSnapshot,
    WidgetProvider, Widgets,
};
use crate::domain::registry::{Presence, PresenceStatus};
use crate::domain::toasts::Resolution;

/// How many variants `EventKind` has.
const KINDS: usize = 22;

/// The variant's place in `EventKind`. No wildcard: a new variant fails to compile here
/// until it has its place, and then the test below until an event of it is round-tripped.
fn variant(kind: &EventKind) -> usize {
    match kind {
        EventKind::SessionCreated { .. } => 0,
        EventKind::SessionSwitched { .. } => 1,
        EventKind::SessionClosed { .. } => 2,
        EventKind::SessionRetitled { .. } => 3,
        EventKind::SessionContextChanged { .. } => 4,
        EventKind::SessionMarksChanged { .. } => 5,
        EventKind::TabCreated { .. } => 6,
        EventKind::TabFocused { .. } => 7,
        EventKind::TabRefreshed { .. } => 8,
        EventKind::TabRetitled { .. } => 9,
        EventKind::TabClosed { .. } => 10,
        EventKind::PanelModeChanged { .. } => 11,
        EventKind::PanelWidthChanged { .. } => 12,
        EventKind::PresenceChanged { .. } => 13,
        EventKind::NotificationQueued { .. } => 14,
        EventKind::NotificationShown { .. } => 15,
        EventKind::NotificationResolved { .. } => 16,
        EventKind::ClickToAct(_) => 17,
        EventKind::CustomEvent(_) => 18,
        EventKind::ProviderAdmissionChanged { .. } => 19,
        EventKind::DeskWidgetsChanged { .. } => 20,
        EventKind::VisibleWidgetChanged { .. } => 21,
    }
}

/// A provider's session as an event shows it (focused, with its owner), or the home
/// session (not focused, no owner) with its optional fields empty.
fn snapshot(full: bool) -> SessionSnapshot {
    let session = session(full);
    SessionSnapshot {
        owner: session.owner().map(|id| OwnerSnapshot {
            id,
            unique_name: "contoso_chat".into(),
            deleted: true,
            admitted: false,
        }),
        session: session.into(),
        focused: full,
    }
}

fn widgets(full: bool) -> Widgets {
    let providers: Vec<WidgetProvider> = if full {
        (0..2)
            .map(|order| WidgetProvider {
                id: ProviderId::generate(),
                label: format!("Widget {order}"),
                channel_url: format!("https://widget{order}.contoso.com"),
                trusted_domain: "https://contoso.com".into(),
                channel_order: order,
                enable_outbound: order == 1,
            })
            .collect()
    } else {
        Vec::new()
    };
    Widgets {
        visible: providers.first().map(|provider| provider.id),
        providers,
    }
}

/// Events of every kind, each with its optional fields set and empty where it has any.
fn kinds() -> Vec<EventKind> {
    let mut kinds = Vec::new();
    for full in [true, false] {
        let new_tab = || tab(SessionId::generate(), ProviderId::generate(), 1, full).into();
        let new_toast = || ToastSnapshot(toast(full).into());
        let provider = full.then(ProviderId::generate);
        kinds.extend([
            EventKind::SessionCreated {
                session: snapshot(full).into(),
            },
            EventKind::SessionSwitched {
                session: snapshot(full).into(),
                focused: full,
            },
            EventKind::SessionClosed {
                session: snapshot(full).into(),
            },
            EventKind::SessionRetitled {
                session: snapshot(full).into(),
            },
            EventKind::SessionContextChanged {
                session: snapshot(full).into(),
                set: if full {
                    vec!["customerId".into(), "channel".into()]
                } else {
                    vec![]
                }
                .into(),
                deleted: if full {
                    vec!["language".into()]
                } else {
                    vec![]
                }
                .into(),
            },
            EventKind::SessionMarksChanged {
                session: snapshot(full).into(),
            },
            EventKind::TabCreated {
                tab: new_tab(),
                focused: full,
                in_home: !full,
            },
            EventKind::TabFocused { tab: new_tab() },
            EventKind::TabRefreshed {
                tab: new_tab(),
                focused: !full,
                in_home: full,
            },
            EventKind::TabRetitled {
                tab: new_tab(),
                focused: full,
                in_home: full,
            },
            EventKind::TabClosed { tab: new_tab() },
            EventKind::PanelWidthChanged {
                width: if full { 480 } else { 0 },
            },
            EventKind::PresenceChanged {
                presence: Presence {
                    id: "away".into(),
                    text: "Away".into(),
                    base_status: PresenceStatus::Away,
                    color: "#FFA000".into(),
                    managed: full,
                }
                .into(),
                set_by: provider,
            },
            EventKind::NotificationQueued { toast: new_toast() },
            EventKind::NotificationShown { toast: new_toast() },
            EventKind::ClickToAct(
                ClickToAct {
                    value: if full {
                        "+44 20 7946 0000".into()
                    } else {
                        String::new()
                    },
                    name: "telephone1".into(),
                    format: "Phone".into(),
                    entity_logical_name: "contact".into(),
                }
                .into(),
            ),
            EventKind::CustomEvent(
                CustomEvent {
                    name: "wrapUp".into(),
                    payload: if full {
                        "{\"code\":7}".into()
                    } else {
                        String::new()
                    },
                    from: provider,
                    to: full.then(ProviderId::generate),
                }
                .into(),
            ),
            EventKind::ProviderAdmissionChanged {
                provider: ProviderId::generate(),
                admitted: full,
            },
            EventKind::DeskWidgetsChanged {
                widgets: widgets(full).into(),
            },
            EventKind::VisibleWidgetChanged { visible: provider },
        ]);
    }
    for mode in [
        PanelMode::Minimized,
        PanelMode::Docked,
        PanelMode::Hidden,
        PanelMode::Collapsed,
    ] {
        kinds.push(EventKind::PanelModeChanged { mode });
    }
    for (index, outcome) in outcomes().into_iter().enumerate() {
        kinds.push(EventKind::NotificationResolved {
            toast: ToastSnapshot(toast(index % 2 == 0).into()),
            resolution: Resolution {
                outcome,
                time: at(30),
            },
        });
    }
    kinds
}

#[test]
fn an_event_of_every_kind_reads_back_as_it_was_written() {
    let mut seen = BTreeSet::new();
    for (index, kind) in kinds().into_iter().enumerate() {
        seen.insert(variant(&kind));
        let event = Event {
            agent: AgentId::generate(),
            time: at(index as u64),
            providers: (0..index % 3).map(|_| ProviderId::generate()).collect(),
            kind,
        };
        round_trip(&event);
    }
    assert_eq!(seen, (0..KINDS).collect(), "every kind of event is tried");
}
