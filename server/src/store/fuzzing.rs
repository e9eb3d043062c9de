//! The store fuzz target: any bytes as a stored record of any kind, or a stored event, as a
//! damaged or foreign database would hold them. Decoding answers with an error, never a panic.

use super::encoding::Stored;
use super::rows;
use crate::domain::control_plane::Records;
use crate::domain::events::Event;

/// The kinds of record the store keeps, as their rows name them.
const KINDS: &[&str] = &[
    "provider",
    "deleted_provider",
    "agent",
    "session",
    "presence",
    "template",
    "toast",
    "resolved_toast",
    "widget_credential",
    "operator_credential",
    "audit_entry",
];

/// `data`: the kind (its first byte; one past the kinds is an event) and the stored bytes.
pub fn record(data: &[u8]) {
    let [kind, body @ ..] = data else {
        return;
    };
    match KINDS.get(usize::from(*kind) % (KINDS.len() + 1)) {
        Some(kind) => {
            let _ = rows::load(&mut Records::default(), kind, body);
        }
        None => {
            let _ = Event::decode(body);
        }
    }
}
