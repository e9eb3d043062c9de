//! The storage encoding: each record and event the store keeps, as a protobuf message of
//! `cifd.store.v1` (server/proto/cifd/store/v1/store.proto). Compact and binary, unlike the
//! JSON it replaces, and with field numbers that say how bytes written by an older cifd read.
//!
//! Encoding cannot fail. Decoding checks what protobuf alone does not: enums hold a value this
//! cifd knows (never `_UNSPECIFIED`), required submessages are present, ids are 16 bytes,
//! times and durations are in range, maps hold each key once. A record that fails is refused
//! with a [`DecodeError`] naming the field, never a panic.
//!
//! Each domain type converts through [`Proto`]; the stored ones implement [`Stored`] on top.
//! Conversions live next to the messages they make: [`records`] (providers, agents, desks,
//! presences), [`sessions`] (sessions and tabs), [`templates`], [`toasts`] and [`events`];
//! [`scalars`] holds the shapes they share (ids, times, maps, enums).

mod events;
mod message;
mod proto;
mod records;
mod scalars;
mod sessions;
mod templates;
mod toasts;

#[cfg(test)]
mod tests;

use cif_sdk::ids::ProviderId;
use prost::Message as _;

pub use message::DecodeError;
use message::{decode, encode};

use crate::domain::audit::AuditEntry;
use crate::domain::catalogue::Template;
use crate::domain::control_plane::StoredAgent;
use crate::domain::desks::{Desk, Session};
use crate::domain::events::Event;
use crate::domain::registry::{
    AgentRecord, Holder, Issued, OperatorCredentialRecord, Presence, ProviderRecord,
};
use crate::domain::toasts::{Resolution, Toast};

/// A thing the store keeps, with its storage message.
pub trait Stored: Sized {
    /// The bytes to store: the value's message, encoded.
    fn encode(&self) -> Vec<u8>;
    /// The value from stored bytes, or what makes them not one.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>;
}

impl Stored for ProviderRecord {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "ProviderRecord")
    }
}

impl Stored for AuditEntry {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "AuditEntry")
    }
}

impl Stored for OperatorCredentialRecord {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "OperatorCredential")
    }
}

/// A widget credential: whose it is, its hash and when it expires.
impl Stored for (Holder, Issued) {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "WidgetCredential")
    }
}

/// A deleted provider: its id and the unique name it had.
impl Stored for (ProviderId, String) {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "DeletedProvider")
    }
}

/// An agent with its desk.
impl Stored for StoredAgent {
    fn encode(&self) -> Vec<u8> {
        records::stored_agent(&self.agent, &self.desk).encode_to_vec()
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (agent, desk): (AgentRecord, Desk) = decode(bytes, "StoredAgent")?;
        Ok(StoredAgent { agent, desk })
    }
}

impl Stored for Session {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "Session")
    }
}

impl Stored for Presence {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "Presence")
    }
}

impl Stored for Template {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "Template")
    }
}

impl Stored for Toast {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "Toast")
    }
}

/// A resolved toast: the toast as it ended, and how.
impl Stored for (Toast, Resolution) {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "ResolvedToast")
    }
}

impl Stored for Event {
    fn encode(&self) -> Vec<u8> {
        encode(self)
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes, "Event")
    }
}
