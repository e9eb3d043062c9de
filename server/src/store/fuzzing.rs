//! The store fuzz targets: any bytes as a stored record of any kind, or a stored event, as a
//! damaged or foreign database would hold them, and a whole state restored from such records.
//! Decoding and restoring answer with an error, never a panic.

use std::time::{Duration, SystemTime};

use super::encoding::Stored as _;
use super::rows::{self, KINDS};
use crate::domain::control_plane::{Records, SessionFilter};
use crate::domain::events::Event;
use crate::domain::{ControlPlane, CredentialHash, Settings};

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

/// `data`: stored records, each its kind (a byte), its length (two bytes, little-endian) and
/// its bytes, restored into one state as a restart restores a database, which then serves
/// reads and runs its timers. Records that do not decode are left out (a restart refuses
/// them first); those that do may still contradict each other, as a damaged database's can.
pub fn state(data: &[u8]) {
    let mut records = Records::default();
    let mut rest = data;
    while let [kind, low, high, tail @ ..] = rest {
        let length = usize::from(u16::from_le_bytes([*low, *high])).min(tail.len());
        let (body, next) = tail.split_at(length);
        let _ = rows::load(&mut records, KINDS[usize::from(*kind) % KINDS.len()], body);
        rest = next;
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    // Contradictions are refused, as they must be; what is restored must then work.
    let Ok(mut plane) =
        ControlPlane::restore(Settings::default(), CredentialHash([0; 32]), records, now)
    else {
        return;
    };
    plane.take_over(now);
    for desk in plane.desks() {
        let _ = (desk.sessions.len(), desk.toasts.len());
    }
    let _ = plane.sessions(
        SessionFilter {
            show_closed: true,
            ..SessionFilter::default()
        },
        None,
        usize::MAX,
    );
    let later = now + Duration::from_secs(86_400 * 365);
    plane.expire_toasts(later);
    plane.forget_expired_sessions(later);
    plane.forget_expired_widget_credentials(later);
    plane.forget_old_audit_entries(later);
    let _ = rows::changed(&plane.take_changes());
}
