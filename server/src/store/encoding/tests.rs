//! Every stored type reads back as it was written, with its optional fields set and empty;
//! the encoding is much smaller than JSON; bad bytes are refused with an error, never a panic.
//!
//! Values are compared through their JSON form: several domain types (`Toast`, the records,
//! `Desk`) have no `PartialEq`, and `ToastSnapshot`'s compares only the key and when it was
//! shown, while serde writes every field.

mod events;
mod malformed;
mod values;

use std::time::{Duration, UNIX_EPOCH};

use cif_sdk::ids::ProviderId;

use super::{Stored, proto};
use crate::domain::registry::PresenceStatus;
use crate::domain::toasts::Resolution;
use values::{agent, at, outcomes, presence, provider, session, templates, toast};

fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("domain values serialize")
}

/// Encodes and decodes `value`, checks it reads back whole and encodes again to the same
/// bytes, and returns the bytes.
fn round_trip<T: Stored + serde::Serialize>(value: &T) -> Vec<u8> {
    let bytes = value.encode();
    let back = T::decode(&bytes).expect("what was encoded decodes");
    assert_eq!(json(&back), json(value));
    assert_eq!(back.encode(), bytes, "one value, one encoding");
    bytes
}

#[test]
fn every_record_reads_back_as_it_was_written() {
    for full in [true, false] {
        round_trip(&provider(full));
        round_trip(&(ProviderId::generate(), "contoso_retired".to_owned()));
        round_trip(&agent(full));
        round_trip(&session(full));
        round_trip(&toast(full));
    }
    for status in [
        PresenceStatus::Available,
        PresenceStatus::Busy,
        PresenceStatus::BusyDnd,
        PresenceStatus::Away,
        PresenceStatus::Offline,
    ] {
        round_trip(&presence(status, status == PresenceStatus::Away));
    }
    for template in templates() {
        round_trip(&template);
    }
    for outcome in outcomes() {
        let resolution = Resolution {
            outcome,
            time: at(99),
        };
        round_trip(&(toast(true), resolution));
    }
}

#[test]
fn a_widget_credential_reads_back_as_it_was_written_and_a_short_hash_is_refused() {
    use crate::domain::CredentialHash;
    use crate::domain::registry::{Holder, Issued};
    use cif_sdk::ids::AgentId;
    use prost::Message as _;

    let holder = (AgentId::generate(), ProviderId::generate());
    let issued = Issued {
        hash: CredentialHash([7; 32]),
        expires: at(600) + Duration::from_nanos(123),
    };
    let bytes = (holder, issued).encode();
    let (back_holder, back) = <(Holder, Issued)>::decode(&bytes).expect("decodes");
    assert_eq!(back_holder, holder);
    assert!(back.hash.matches(&issued.hash));
    assert_eq!(back.expires, issued.expires);
    assert_eq!(
        (back_holder, back).encode(),
        bytes,
        "one value, one encoding"
    );

    let mut message = crate::store::encoding::message::Proto::to_message(&(holder, issued));
    message.credential.pop();
    assert_eq!(
        <(Holder, Issued)>::decode(&message.encode_to_vec())
            .unwrap_err()
            .to_string(),
        "WidgetCredential.credential is invalid: a credential hash is 32 bytes, this one 31"
    );
}

#[test]
fn an_operator_credential_reads_back_as_it_was_written_and_a_short_hash_is_refused() {
    use crate::domain::CredentialHash;
    use crate::domain::registry::OperatorCredentialRecord;
    use cif_sdk::ids::OperatorCredentialId;
    use prost::Message as _;

    let record = OperatorCredentialRecord {
        id: OperatorCredentialId::generate(),
        display_name: "ops-oncall".into(),
        credential: CredentialHash([9; 32]),
        created: at(60),
    };
    let bytes = record.encode();
    let back = OperatorCredentialRecord::decode(&bytes).expect("decodes");
    assert_eq!(
        (back.id, back.display_name.as_str(), back.created),
        (record.id, "ops-oncall", record.created)
    );
    assert!(back.credential.matches(&record.credential));
    assert_eq!(back.encode(), bytes, "one value, one encoding");

    let mut message = crate::store::encoding::message::Proto::to_message(&record);
    message.credential.truncate(16);
    assert_eq!(
        OperatorCredentialRecord::decode(&message.encode_to_vec())
            .unwrap_err()
            .to_string(),
        "OperatorCredential.credential is invalid: a credential hash is 32 bytes, this one 16"
    );
}

#[test]
fn an_audit_entry_reads_back_as_it_was_written() {
    use crate::domain::audit::{AuditEntry, Snapshot};

    let entry = AuditEntry {
        id: uuid::Uuid::now_v7(),
        time: at(90) + Duration::from_nanos(5),
        actor: "operator".into(),
        action: "UpdateProvider".into(),
        resource: "providers/x".into(),
        before: Some(Snapshot {
            type_url: "type.googleapis.com/cif.v1.Provider".into(),
            value: vec![1, 2, 3],
        }),
        after: None,
    };
    let bytes = entry.encode();
    let back = AuditEntry::decode(&bytes).expect("decodes");
    assert_eq!(back, entry);
    assert_eq!(back.encode(), bytes, "one value, one encoding");
}

#[test]
fn times_keep_their_nanoseconds_either_side_of_the_epoch() {
    let times = [
        UNIX_EPOCH,
        at(0),
        UNIX_EPOCH + Duration::new(0, 1),
        UNIX_EPOCH - Duration::new(0, 1),
        UNIX_EPOCH - Duration::new(1, 0),
        UNIX_EPOCH - Duration::new(86_400 * 365 * 100, 999_999_999),
        UNIX_EPOCH + Duration::new(86_400 * 365 * 10_000, 999_999_999),
    ];
    for time in times {
        let message = super::scalars::time(time);
        assert!(message.nanos < 1_000_000_000);
        assert_eq!(super::scalars::parse_time(Some(message), "t"), Ok(time));
    }
    assert_eq!(
        super::scalars::time(UNIX_EPOCH - Duration::new(0, 1)),
        proto::Time {
            seconds: -1,
            nanos: 999_999_999
        }
    );
}

#[test]
fn a_typical_session_takes_far_fewer_bytes_than_its_json() {
    let session = session(true);
    let encoded = round_trip(&session);
    let json = serde_json::to_string(&session).unwrap();
    println!(
        "a session with 3 tabs: {} bytes encoded, {} bytes as JSON",
        encoded.len(),
        json.len()
    );
    assert!(
        encoded.len() * 2 < json.len(),
        "{} bytes encoded against {} as JSON",
        encoded.len(),
        json.len()
    );
}
