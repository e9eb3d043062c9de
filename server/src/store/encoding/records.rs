//! Providers, agents with their desks, and presences, as storage messages.

use cif_sdk::ids::ProviderId;

use super::message::{DecodeError, Proto, optional, required};
use super::proto;
use super::scalars::{id, ids, parse_enum, parse_id, parse_ids, parse_time, time};
use crate::domain::CredentialHash;
use crate::domain::audit::{AuditEntry, Snapshot};
use crate::domain::desks::{Desk, PanelMode};
use crate::domain::registry::{
    AgentLimits, AgentRecord, Holder, Issued, OperatorCredentialRecord, Presence, PresenceStatus,
    ProviderFields, ProviderRecord,
};

impl Proto for ProviderFields {
    type Message = proto::ProviderFields;

    fn to_message(&self) -> proto::ProviderFields {
        proto::ProviderFields {
            display_name: self.display_name.clone(),
            label: self.label.clone(),
            channel_url: self.channel_url.clone(),
            enable_outbound: self.enable_outbound,
            channel_order: self.channel_order,
            api_version: self.api_version.clone(),
            trusted_domain: self.trusted_domain.clone(),
            custom_parameters: self.custom_parameters.clone(),
            enable_analytics: self.enable_analytics,
        }
    }

    fn from_message(message: proto::ProviderFields) -> Result<Self, DecodeError> {
        Ok(ProviderFields {
            display_name: message.display_name,
            label: message.label,
            channel_url: message.channel_url,
            enable_outbound: message.enable_outbound,
            channel_order: message.channel_order,
            api_version: message.api_version,
            trusted_domain: message.trusted_domain,
            custom_parameters: message.custom_parameters,
            enable_analytics: message.enable_analytics,
        })
    }
}

impl Proto for ProviderRecord {
    type Message = proto::ProviderRecord;

    fn to_message(&self) -> proto::ProviderRecord {
        proto::ProviderRecord {
            id: id(self.id),
            unique_name: self.unique_name.clone(),
            fields: Some(self.fields.to_message()),
            active: self.active,
            created: Some(time(self.created)),
            updated: Some(time(self.updated)),
            credential: self.credential.0.to_vec(),
            managed: self.managed,
        }
    }

    fn from_message(message: proto::ProviderRecord) -> Result<Self, DecodeError> {
        Ok(ProviderRecord {
            id: parse_id(&message.id, "ProviderRecord.id")?,
            unique_name: message.unique_name,
            fields: required(message.fields, "ProviderRecord.fields")?,
            active: message.active,
            created: parse_time(message.created, "ProviderRecord.created")?,
            updated: parse_time(message.updated, "ProviderRecord.updated")?,
            credential: parse_credential(&message.credential, "ProviderRecord.credential")?,
            managed: message.managed,
        })
    }
}

/// A deleted provider: its id and the unique name it had.
impl Proto for (ProviderId, String) {
    type Message = proto::DeletedProvider;

    fn to_message(&self) -> proto::DeletedProvider {
        proto::DeletedProvider {
            id: id(self.0),
            unique_name: self.1.clone(),
        }
    }

    fn from_message(message: proto::DeletedProvider) -> Result<Self, DecodeError> {
        Ok((
            parse_id(&message.id, "DeletedProvider.id")?,
            message.unique_name,
        ))
    }
}

impl Proto for (Holder, Issued) {
    type Message = proto::WidgetCredential;

    fn to_message(&self) -> proto::WidgetCredential {
        let ((agent, provider), issued) = self;
        proto::WidgetCredential {
            agent_id: id(*agent),
            provider_id: id(*provider),
            credential: issued.hash.0.to_vec(),
            expires: Some(time(issued.expires)),
        }
    }

    fn from_message(message: proto::WidgetCredential) -> Result<Self, DecodeError> {
        let holder = (
            parse_id(&message.agent_id, "WidgetCredential.agent_id")?,
            parse_id(&message.provider_id, "WidgetCredential.provider_id")?,
        );
        Ok((
            holder,
            Issued {
                hash: parse_credential(&message.credential, "WidgetCredential.credential")?,
                expires: parse_time(message.expires, "WidgetCredential.expires")?,
            },
        ))
    }
}

impl Proto for OperatorCredentialRecord {
    type Message = proto::OperatorCredential;

    fn to_message(&self) -> proto::OperatorCredential {
        proto::OperatorCredential {
            id: id(self.id),
            display_name: self.display_name.clone(),
            credential: self.credential.0.to_vec(),
            created: Some(time(self.created)),
        }
    }

    fn from_message(message: proto::OperatorCredential) -> Result<Self, DecodeError> {
        Ok(OperatorCredentialRecord {
            id: parse_id(&message.id, "OperatorCredential.id")?,
            display_name: message.display_name,
            credential: parse_credential(&message.credential, "OperatorCredential.credential")?,
            created: parse_time(message.created, "OperatorCredential.created")?,
        })
    }
}

impl Proto for AuditEntry {
    type Message = proto::AuditEntry;

    fn to_message(&self) -> proto::AuditEntry {
        let snapshot = |snapshot: &Option<Snapshot>| {
            snapshot.as_ref().map(|snapshot| proto::Snapshot {
                type_url: snapshot.type_url.clone(),
                value: snapshot.value.clone(),
            })
        };
        proto::AuditEntry {
            id: id(self.id),
            time: Some(time(self.time)),
            actor: self.actor.clone(),
            action: self.action.clone(),
            resource: self.resource.clone(),
            before: snapshot(&self.before),
            after: snapshot(&self.after),
        }
    }

    fn from_message(message: proto::AuditEntry) -> Result<Self, DecodeError> {
        let snapshot = |snapshot: Option<proto::Snapshot>| {
            snapshot.map(|snapshot| Snapshot {
                type_url: snapshot.type_url,
                value: snapshot.value,
            })
        };
        Ok(AuditEntry {
            id: parse_id(&message.id, "AuditEntry.id")?,
            time: parse_time(message.time, "AuditEntry.time")?,
            actor: message.actor,
            action: message.action,
            resource: message.resource,
            before: snapshot(message.before),
            after: snapshot(message.after),
        })
    }
}

/// A credential's SHA-256: exactly 32 bytes, or it could never match a credential.
fn parse_credential(bytes: &[u8], field: &'static str) -> Result<CredentialHash, DecodeError> {
    let hash = bytes.try_into().map_err(|_| {
        DecodeError::invalid(
            field,
            format!("a credential hash is 32 bytes, this one {}", bytes.len()),
        )
    })?;
    Ok(CredentialHash(hash))
}

impl Proto for AgentLimits {
    type Message = proto::AgentLimits;

    fn to_message(&self) -> proto::AgentLimits {
        proto::AgentLimits {
            max_open_sessions: self.max_open_sessions,
            max_tabs_per_session: self.max_tabs_per_session,
            max_queued_notifications: self.max_queued_notifications,
        }
    }

    fn from_message(message: proto::AgentLimits) -> Result<Self, DecodeError> {
        Ok(AgentLimits {
            max_open_sessions: message.max_open_sessions,
            max_tabs_per_session: message.max_tabs_per_session,
            max_queued_notifications: message.max_queued_notifications,
        })
    }
}

impl Proto for AgentRecord {
    type Message = proto::AgentRecord;

    fn to_message(&self) -> proto::AgentRecord {
        proto::AgentRecord {
            id: id(self.id),
            display_name: self.display_name.clone(),
            profile: ids(&self.profile),
            limits: Some(self.limits.to_message()),
            created: Some(time(self.created)),
            updated: Some(time(self.updated)),
            credential: self.credential.0.to_vec(),
            managed: self.managed,
        }
    }

    fn from_message(message: proto::AgentRecord) -> Result<Self, DecodeError> {
        Ok(AgentRecord {
            id: parse_id(&message.id, "AgentRecord.id")?,
            display_name: message.display_name,
            profile: parse_ids(&message.profile, "AgentRecord.profile")?,
            limits: required(message.limits, "AgentRecord.limits")?,
            created: parse_time(message.created, "AgentRecord.created")?,
            updated: parse_time(message.updated, "AgentRecord.updated")?,
            credential: parse_credential(&message.credential, "AgentRecord.credential")?,
            managed: message.managed,
        })
    }
}

impl Proto for Desk {
    type Message = proto::Desk;

    fn to_message(&self) -> proto::Desk {
        proto::Desk {
            home: id(self.home),
            open: ids(&self.open),
            focused: id(self.focused),
            focus_history: ids(&self.focus_history),
            panel_mode: panel_mode(self.panel_mode),
            panel_width: self.panel_width,
            presence: self.presence.as_ref().map(Presence::to_message),
            version: self.version,
            click_to_act: self
                .click_to_act
                .iter()
                .map(|(provider, enabled)| proto::ClickToActSetting {
                    provider: id(*provider),
                    enabled: *enabled,
                })
                .collect(),
        }
    }

    fn from_message(message: proto::Desk) -> Result<Self, DecodeError> {
        let mut click_to_act = std::collections::BTreeMap::new();
        for setting in message.click_to_act {
            let provider: ProviderId = parse_id(&setting.provider, "Desk.click_to_act.provider")?;
            if click_to_act.insert(provider, setting.enabled).is_some() {
                return Err(DecodeError::invalid(
                    "Desk.click_to_act",
                    format!("provider {provider} is given twice"),
                ));
            }
        }
        Ok(Desk {
            home: parse_id(&message.home, "Desk.home")?,
            open: parse_ids(&message.open, "Desk.open")?,
            focused: parse_id(&message.focused, "Desk.focused")?,
            focus_history: parse_ids(&message.focus_history, "Desk.focus_history")?,
            panel_mode: parse_panel_mode(message.panel_mode, "Desk.panel_mode")?,
            panel_width: message.panel_width,
            presence: optional(message.presence)?,
            version: message.version,
            click_to_act,
        })
    }
}

/// The message of an agent with its desk, from the two parts.
pub(super) fn stored_agent(agent: &AgentRecord, desk: &Desk) -> proto::StoredAgent {
    proto::StoredAgent {
        agent: Some(agent.to_message()),
        desk: Some(desk.to_message()),
    }
}

/// An agent with its desk.
impl Proto for (AgentRecord, Desk) {
    type Message = proto::StoredAgent;

    fn to_message(&self) -> proto::StoredAgent {
        stored_agent(&self.0, &self.1)
    }

    fn from_message(message: proto::StoredAgent) -> Result<Self, DecodeError> {
        Ok((
            required(message.agent, "StoredAgent.agent")?,
            required(message.desk, "StoredAgent.desk")?,
        ))
    }
}

pub(super) fn panel_mode(mode: PanelMode) -> i32 {
    let mode = match mode {
        PanelMode::Minimized => proto::PanelMode::Minimized,
        PanelMode::Docked => proto::PanelMode::Docked,
        PanelMode::Hidden => proto::PanelMode::Hidden,
        PanelMode::Collapsed => proto::PanelMode::Collapsed,
    };
    mode.into()
}

pub(super) fn parse_panel_mode(value: i32, field: &'static str) -> Result<PanelMode, DecodeError> {
    parse_enum(value, field, |mode| match mode {
        proto::PanelMode::Unspecified => None,
        proto::PanelMode::Minimized => Some(PanelMode::Minimized),
        proto::PanelMode::Docked => Some(PanelMode::Docked),
        proto::PanelMode::Hidden => Some(PanelMode::Hidden),
        proto::PanelMode::Collapsed => Some(PanelMode::Collapsed),
    })
}

impl Proto for Presence {
    type Message = proto::Presence;

    fn to_message(&self) -> proto::Presence {
        let base_status = match self.base_status {
            PresenceStatus::Available => proto::PresenceStatus::Available,
            PresenceStatus::Busy => proto::PresenceStatus::Busy,
            PresenceStatus::BusyDnd => proto::PresenceStatus::BusyDnd,
            PresenceStatus::Away => proto::PresenceStatus::Away,
            PresenceStatus::Offline => proto::PresenceStatus::Offline,
        };
        proto::Presence {
            id: self.id.clone(),
            text: self.text.clone(),
            base_status: base_status.into(),
            color: self.color.clone(),
            managed: self.managed,
        }
    }

    fn from_message(message: proto::Presence) -> Result<Self, DecodeError> {
        let base_status =
            parse_enum(
                message.base_status,
                "Presence.base_status",
                |status| match status {
                    proto::PresenceStatus::Unspecified => None,
                    proto::PresenceStatus::Available => Some(PresenceStatus::Available),
                    proto::PresenceStatus::Busy => Some(PresenceStatus::Busy),
                    proto::PresenceStatus::BusyDnd => Some(PresenceStatus::BusyDnd),
                    proto::PresenceStatus::Away => Some(PresenceStatus::Away),
                    proto::PresenceStatus::Offline => Some(PresenceStatus::Offline),
                },
            )?;
        Ok(Presence {
            id: message.id,
            text: message.text,
            base_status,
            color: message.color,
            managed: message.managed,
        })
    }
}
