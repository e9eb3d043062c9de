//! Events, as the log keeps them, with the snapshots and widgets they carry.

use super::message::{DecodeError, Proto, each, optional, required};
use super::proto::{self, event};
use super::records::{panel_mode, parse_panel_mode};
use super::scalars::{id, ids, parse_id, parse_ids, parse_optional_id, parse_time, time};
use crate::domain::desks::{Session, Tab};
use crate::domain::events::{
    ClickToAct, CustomEvent, Event, EventKind, OwnerSnapshot, SessionSnapshot, ToastSnapshot,
    WidgetProvider, Widgets,
};
use crate::domain::registry::Presence;
use crate::domain::toasts::{Resolution, Toast};

impl Proto for Event {
    type Message = proto::Event;

    fn to_message(&self) -> proto::Event {
        proto::Event {
            agent: id(self.agent),
            time: Some(time(self.time)),
            providers: ids(&self.providers),
            kind: Some(kind(&self.kind)),
        }
    }

    fn from_message(message: proto::Event) -> Result<Self, DecodeError> {
        Ok(Event {
            agent: parse_id(&message.agent, "Event.agent")?,
            time: parse_time(message.time, "Event.time")?,
            providers: parse_ids(&message.providers, "Event.providers")?,
            // An absent kind is also what a kind added by a newer cifd reads as here.
            kind: parse_kind(message.kind.ok_or(DecodeError::Missing {
                field: "Event.kind",
            })?)?,
        })
    }
}

/// The message of what happened. Snapshots, tabs and toasts convert through their own types
/// (auto-deref), however a variant holds them (by value, boxed or shared).
fn kind(kind: &EventKind) -> event::Kind {
    use event::Kind;
    match kind {
        EventKind::SessionCreated { session } => Kind::SessionCreated(event::SessionCreated {
            session: Some(session.to_message()),
        }),
        EventKind::SessionSwitched { session, focused } => {
            Kind::SessionSwitched(event::SessionSwitched {
                session: Some(session.to_message()),
                focused: *focused,
            })
        }
        EventKind::SessionClosed { session } => Kind::SessionClosed(event::SessionClosed {
            session: Some(session.to_message()),
        }),
        EventKind::SessionRetitled { session } => Kind::SessionRetitled(event::SessionRetitled {
            session: Some(session.to_message()),
        }),
        EventKind::SessionContextChanged {
            session,
            set,
            deleted,
        } => Kind::SessionContextChanged(event::SessionContextChanged {
            session: Some(session.to_message()),
            set: set.to_vec(),
            deleted: deleted.to_vec(),
        }),
        EventKind::SessionMarksChanged { session } => {
            Kind::SessionMarksChanged(event::SessionMarksChanged {
                session: Some(session.to_message()),
            })
        }
        EventKind::TabCreated {
            tab,
            focused,
            in_home,
        } => Kind::TabCreated(event::TabCreated {
            tab: Some(tab.to_message()),
            focused: *focused,
            in_home: *in_home,
        }),
        EventKind::TabFocused { tab } => Kind::TabFocused(event::TabFocused {
            tab: Some(tab.to_message()),
        }),
        EventKind::TabRefreshed {
            tab,
            focused,
            in_home,
        } => Kind::TabRefreshed(event::TabRefreshed {
            tab: Some(tab.to_message()),
            focused: *focused,
            in_home: *in_home,
        }),
        EventKind::TabRetitled {
            tab,
            focused,
            in_home,
        } => Kind::TabRetitled(event::TabRetitled {
            tab: Some(tab.to_message()),
            focused: *focused,
            in_home: *in_home,
        }),
        EventKind::TabClosed { tab } => Kind::TabClosed(event::TabClosed {
            tab: Some(tab.to_message()),
        }),
        EventKind::PanelModeChanged { mode } => Kind::PanelModeChanged(event::PanelModeChanged {
            mode: panel_mode(*mode),
        }),
        EventKind::PanelWidthChanged { width } => {
            Kind::PanelWidthChanged(event::PanelWidthChanged { width: *width })
        }
        EventKind::PresenceChanged { presence, set_by } => {
            Kind::PresenceChanged(event::PresenceChanged {
                presence: Some(presence.to_message()),
                set_by: set_by.map(id),
            })
        }
        EventKind::NotificationQueued { toast } => {
            Kind::NotificationQueued(event::NotificationQueued {
                toast: Some(toast.0.to_message()),
            })
        }
        EventKind::NotificationShown { toast } => {
            Kind::NotificationShown(event::NotificationShown {
                toast: Some(toast.0.to_message()),
            })
        }
        EventKind::NotificationResolved { toast, resolution } => {
            Kind::NotificationResolved(event::NotificationResolved {
                toast: Some(toast.0.to_message()),
                resolution: Some(resolution.to_message()),
            })
        }
        EventKind::ClickToAct(click) => Kind::ClickToAct(click.to_message()),
        EventKind::CustomEvent(custom) => Kind::CustomEvent(custom.to_message()),
        EventKind::ProviderAdmissionChanged { provider, admitted } => {
            Kind::ProviderAdmissionChanged(event::ProviderAdmissionChanged {
                provider: id(*provider),
                admitted: *admitted,
            })
        }
        EventKind::DeskWidgetsChanged { widgets } => {
            Kind::DeskWidgetsChanged(event::DeskWidgetsChanged {
                widgets: Some(widgets.to_message()),
            })
        }
        EventKind::VisibleWidgetChanged { visible } => {
            Kind::VisibleWidgetChanged(event::VisibleWidgetChanged {
                visible: visible.map(id),
            })
        }
    }
}

/// A value as the variant holds it: itself, boxed or shared. Generic, so the identity needs
/// no special case.
fn held<T, U: From<T>>(value: T) -> U {
    U::from(value)
}

/// What happened, from its message.
fn parse_kind(kind: event::Kind) -> Result<EventKind, DecodeError> {
    use event::Kind;
    Ok(match kind {
        Kind::SessionCreated(m) => EventKind::SessionCreated {
            session: snapshot(m.session, "Event.SessionCreated.session")?,
        },
        Kind::SessionSwitched(m) => EventKind::SessionSwitched {
            session: snapshot(m.session, "Event.SessionSwitched.session")?,
            focused: m.focused,
        },
        Kind::SessionClosed(m) => EventKind::SessionClosed {
            session: snapshot(m.session, "Event.SessionClosed.session")?,
        },
        Kind::SessionRetitled(m) => EventKind::SessionRetitled {
            session: snapshot(m.session, "Event.SessionRetitled.session")?,
        },
        Kind::SessionContextChanged(m) => EventKind::SessionContextChanged {
            session: snapshot(m.session, "Event.SessionContextChanged.session")?,
            set: m.set.into(),
            deleted: m.deleted.into(),
        },
        Kind::SessionMarksChanged(m) => EventKind::SessionMarksChanged {
            session: snapshot(m.session, "Event.SessionMarksChanged.session")?,
        },
        Kind::TabCreated(m) => EventKind::TabCreated {
            tab: held(required::<Tab>(m.tab, "Event.TabCreated.tab")?),
            focused: m.focused,
            in_home: m.in_home,
        },
        Kind::TabFocused(m) => EventKind::TabFocused {
            tab: held(required::<Tab>(m.tab, "Event.TabFocused.tab")?),
        },
        Kind::TabRefreshed(m) => EventKind::TabRefreshed {
            tab: held(required::<Tab>(m.tab, "Event.TabRefreshed.tab")?),
            focused: m.focused,
            in_home: m.in_home,
        },
        Kind::TabRetitled(m) => EventKind::TabRetitled {
            tab: held(required::<Tab>(m.tab, "Event.TabRetitled.tab")?),
            focused: m.focused,
            in_home: m.in_home,
        },
        Kind::TabClosed(m) => EventKind::TabClosed {
            tab: held(required::<Tab>(m.tab, "Event.TabClosed.tab")?),
        },
        Kind::PanelModeChanged(m) => EventKind::PanelModeChanged {
            mode: parse_panel_mode(m.mode, "Event.PanelModeChanged.mode")?,
        },
        Kind::PanelWidthChanged(m) => EventKind::PanelWidthChanged { width: m.width },
        Kind::PresenceChanged(m) => EventKind::PresenceChanged {
            presence: held(required::<Presence>(
                m.presence,
                "Event.PresenceChanged.presence",
            )?),
            set_by: parse_optional_id(m.set_by, "Event.PresenceChanged.set_by")?,
        },
        Kind::NotificationQueued(m) => EventKind::NotificationQueued {
            toast: held(toast(m.toast, "Event.NotificationQueued.toast")?),
        },
        Kind::NotificationShown(m) => EventKind::NotificationShown {
            toast: held(toast(m.toast, "Event.NotificationShown.toast")?),
        },
        Kind::NotificationResolved(m) => EventKind::NotificationResolved {
            toast: held(toast(m.toast, "Event.NotificationResolved.toast")?),
            resolution: held(required::<Resolution>(
                m.resolution,
                "Event.NotificationResolved.resolution",
            )?),
        },
        Kind::ClickToAct(m) => EventKind::ClickToAct(held(ClickToAct::from_message(m)?)),
        Kind::CustomEvent(m) => EventKind::CustomEvent(held(CustomEvent::from_message(m)?)),
        Kind::ProviderAdmissionChanged(m) => EventKind::ProviderAdmissionChanged {
            provider: parse_id(&m.provider, "Event.ProviderAdmissionChanged.provider")?,
            admitted: m.admitted,
        },
        Kind::DeskWidgetsChanged(m) => EventKind::DeskWidgetsChanged {
            widgets: held(required::<Widgets>(
                m.widgets,
                "Event.DeskWidgetsChanged.widgets",
            )?),
        },
        Kind::VisibleWidgetChanged(m) => EventKind::VisibleWidgetChanged {
            visible: parse_optional_id(m.visible, "Event.VisibleWidgetChanged.visible")?,
        },
    })
}

fn snapshot<U: From<SessionSnapshot>>(
    message: Option<proto::SessionSnapshot>,
    field: &'static str,
) -> Result<U, DecodeError> {
    required::<SessionSnapshot>(message, field).map(held)
}

fn toast(message: Option<proto::Toast>, field: &'static str) -> Result<ToastSnapshot, DecodeError> {
    Ok(ToastSnapshot(held(required::<Toast>(message, field)?)))
}

impl Proto for SessionSnapshot {
    type Message = proto::SessionSnapshot;

    fn to_message(&self) -> proto::SessionSnapshot {
        proto::SessionSnapshot {
            session: Some(self.session.to_message()),
            focused: self.focused,
            owner: self.owner.as_ref().map(OwnerSnapshot::to_message),
        }
    }

    fn from_message(message: proto::SessionSnapshot) -> Result<Self, DecodeError> {
        Ok(SessionSnapshot {
            session: held(required::<Session>(
                message.session,
                "SessionSnapshot.session",
            )?),
            focused: message.focused,
            owner: optional(message.owner)?,
        })
    }
}

impl Proto for OwnerSnapshot {
    type Message = proto::OwnerSnapshot;

    fn to_message(&self) -> proto::OwnerSnapshot {
        proto::OwnerSnapshot {
            id: id(self.id),
            unique_name: self.unique_name.to_string(),
            deleted: self.deleted,
            admitted: self.admitted,
        }
    }

    fn from_message(message: proto::OwnerSnapshot) -> Result<Self, DecodeError> {
        Ok(OwnerSnapshot {
            id: parse_id(&message.id, "OwnerSnapshot.id")?,
            unique_name: message.unique_name.into(),
            deleted: message.deleted,
            admitted: message.admitted,
        })
    }
}

impl Proto for Widgets {
    type Message = proto::Widgets;

    fn to_message(&self) -> proto::Widgets {
        proto::Widgets {
            providers: self
                .providers
                .iter()
                .map(WidgetProvider::to_message)
                .collect(),
            visible: self.visible.map(id),
        }
    }

    fn from_message(message: proto::Widgets) -> Result<Self, DecodeError> {
        Ok(Widgets {
            providers: each(message.providers)?,
            visible: parse_optional_id(message.visible, "Widgets.visible")?,
        })
    }
}

impl Proto for WidgetProvider {
    type Message = proto::WidgetProvider;

    fn to_message(&self) -> proto::WidgetProvider {
        proto::WidgetProvider {
            id: id(self.id),
            label: self.label.clone(),
            channel_url: self.channel_url.clone(),
            trusted_domain: self.trusted_domain.clone(),
            channel_order: self.channel_order,
            enable_outbound: self.enable_outbound,
        }
    }

    fn from_message(message: proto::WidgetProvider) -> Result<Self, DecodeError> {
        Ok(WidgetProvider {
            id: parse_id(&message.id, "WidgetProvider.id")?,
            label: message.label,
            channel_url: message.channel_url,
            trusted_domain: message.trusted_domain,
            channel_order: message.channel_order,
            enable_outbound: message.enable_outbound,
        })
    }
}

impl Proto for ClickToAct {
    type Message = proto::ClickToAct;

    fn to_message(&self) -> proto::ClickToAct {
        proto::ClickToAct {
            value: self.value.clone(),
            name: self.name.clone(),
            format: self.format.clone(),
            entity_logical_name: self.entity_logical_name.clone(),
        }
    }

    fn from_message(message: proto::ClickToAct) -> Result<Self, DecodeError> {
        Ok(ClickToAct {
            value: message.value,
            name: message.name,
            format: message.format,
            entity_logical_name: message.entity_logical_name,
        })
    }
}

impl Proto for CustomEvent {
    type Message = proto::CustomEvent;

    fn to_message(&self) -> proto::CustomEvent {
        proto::CustomEvent {
            name: self.name.clone(),
            payload: self.payload.clone(),
            from: self.from.map(id),
            to: self.to.map(id),
        }
    }

    fn from_message(message: proto::CustomEvent) -> Result<Self, DecodeError> {
        Ok(CustomEvent {
            name: message.name,
            payload: message.payload,
            from: parse_optional_id(message.from, "CustomEvent.from")?,
            to: parse_optional_id(message.to, "CustomEvent.to")?,
        })
    }
}
