//! Domain values into protobuf messages.

use std::time::SystemTime;

use cif_sdk::pb;

use crate::domain::agent::AgentRecord;
use crate::domain::control_plane::{DeskView, SessionView};
use crate::domain::desk::{PanelMode, Session, SessionKind};
use crate::domain::events::{Event, EventKind, SessionSnapshot};
use crate::domain::provider::ProviderRecord;

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
        }),
    )
}

/// A session as an event recorded it.
pub fn session_snapshot(snapshot: &SessionSnapshot) -> pb::Session {
    session_parts(
        &snapshot.session,
        snapshot.focused,
        snapshot.owner.as_ref().map(|owner| pb::SessionOwner {
            provider_id: owner.id.to_string(),
            provider_unique_name: owner.unique_name.clone(),
            provider_deleted: owner.deleted,
        }),
    )
}

fn session_parts(session: &Session, focused: bool, owner: Option<pb::SessionOwner>) -> pb::Session {
    pb::Session {
        id: session.id.to_string(),
        agent_id: session.agent.to_string(),
        kind: match session.kind {
            SessionKind::Home => pb::SessionKind::Home,
            SessionKind::Provider(_) => pb::SessionKind::Provider,
        } as i32,
        owner,
        template: session.template.clone(),
        title: session.title.clone(),
        context: session
            .context
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        state: if session.is_open() {
            pb::SessionState::Open
        } else {
            pb::SessionState::Closed
        } as i32,
        focused,
        create_time: Some(timestamp(session.created)),
        close_time: session.closed.map(timestamp),
    }
}

pub fn event(event: &Event) -> pb::Event {
    use pb::event::Kind;
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
    };
    pb::Event {
        agent_id: event.agent.to_string(),
        time: Some(timestamp(event.time)),
        kind: Some(kind),
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

pub fn desk(view: DeskView<'_>) -> pb::Desk {
    let desk = &view.agent.desk;
    pb::Desk {
        agent_id: view.agent.id.to_string(),
        home_session: Some(session(view.home)),
        sessions: view.sessions.into_iter().map(session).collect(),
        focused_session_id: desk.focused.to_string(),
        panel_mode: panel_mode(desk.panel_mode) as i32,
        panel_width: desk.panel_width,
        presence: desk.presence.as_ref().map(|presence| pb::Presence {
            presence_id: presence.presence_id.clone(),
            text: presence.text.clone(),
        }),
    }
}
