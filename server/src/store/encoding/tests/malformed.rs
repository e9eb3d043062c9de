//! Bytes that are not a stored record, or a record with a field no cifd writes, are refused
//! with an error that names the field; never a panic.

use prost::Message as _;

use super::values::{at, provider, session, toast};
use crate::domain::catalogue::Template;
use crate::domain::desks::Session;
use crate::domain::events::Event;
use crate::domain::registry::ProviderRecord;
use crate::domain::toasts::{Resolution, Toast};
use crate::store::encoding::message::Proto;
use crate::store::encoding::{DecodeError, Stored, proto};

#[test]
fn garbage_and_truncated_bytes_are_errors_not_panics() {
    let bytes = session(true).encode();
    // Cut anywhere: an error, or (cut between fields) a session missing its last fields;
    // cut inside the last field, an error.
    for cut in 0..bytes.len() {
        let _ = Session::decode(&bytes[..cut]);
    }
    assert!(matches!(
        Session::decode(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Malformed {
            message: "Session",
            ..
        })
    ));
    // Nothing at all is a message with every field absent: its required ones are missing.
    assert_eq!(
        Session::decode(&[]).unwrap_err(),
        DecodeError::Missing {
            field: "Session.id"
        }
    );
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for start in 0..64 {
        assert!(Session::decode(&garbage[start..]).is_err());
        assert!(Event::decode(&garbage[start..]).is_err());
        assert!(<(Toast, Resolution)>::decode(&garbage[start..]).is_err());
    }
    assert!(Template::decode(b"{\"unique_name\":\"json\"}").is_err());
}

#[test]
fn malformed_fields_are_named_in_the_error() {
    let mut message = Proto::to_message(&session(true));
    message.tabs[1].page.as_mut().unwrap().kind = 42;
    assert_eq!(
        Session::decode(&message.encode_to_vec()).unwrap_err(),
        DecodeError::Invalid {
            field: "TabPage.kind",
            problem: "42 is not a known value".into()
        }
    );
    message.tabs[1].page.as_mut().unwrap().kind = 0;
    assert!(matches!(
        Session::decode(&message.encode_to_vec()),
        Err(DecodeError::Invalid {
            field: "TabPage.kind",
            ..
        })
    ));
    message.tabs[1].page = None;
    assert_eq!(
        Session::decode(&message.encode_to_vec()).unwrap_err(),
        DecodeError::Missing { field: "Tab.page" }
    );

    let mut message = Proto::to_message(&session(true));
    message.owner = Some(vec![1; 15]);
    assert_eq!(
        Session::decode(&message.encode_to_vec())
            .unwrap_err()
            .to_string(),
        "Session.owner is invalid: an id is 16 bytes, this one 15"
    );
    let mut message = Proto::to_message(&session(true));
    message.context.push(message.context[0].clone());
    assert!(matches!(
        Session::decode(&message.encode_to_vec()),
        Err(DecodeError::Invalid {
            field: "Session.context",
            ..
        })
    ));
    let mut message = Proto::to_message(&session(true));
    message.created.as_mut().unwrap().nanos = 1_000_000_000;
    assert!(matches!(
        Session::decode(&message.encode_to_vec()),
        Err(DecodeError::Invalid {
            field: "Session.created",
            ..
        })
    ));
    message.created = None;
    assert_eq!(
        Session::decode(&message.encode_to_vec()).unwrap_err(),
        DecodeError::Missing {
            field: "Session.created"
        }
    );

    let mut message = Proto::to_message(&provider(true));
    message.credential.pop();
    assert!(matches!(
        ProviderRecord::decode(&message.encode_to_vec()),
        Err(DecodeError::Invalid {
            field: "ProviderRecord.credential",
            ..
        })
    ));

    let resolution = |kind: proto::OutcomeKind, canceller: proto::Canceller| proto::ResolvedToast {
        toast: Some(Proto::to_message(&toast(false))),
        resolution: Some(proto::Resolution {
            outcome: Some(proto::Outcome {
                kind: kind.into(),
                canceller: canceller.into(),
            }),
            time: Some(crate::store::encoding::scalars::time(at(0))),
        }),
    };
    for (kind, canceller) in [
        (proto::OutcomeKind::Accepted, proto::Canceller::Provider),
        (proto::OutcomeKind::Cancelled, proto::Canceller::Unspecified),
        (
            proto::OutcomeKind::Unspecified,
            proto::Canceller::Unspecified,
        ),
    ] {
        let bytes = resolution(kind, canceller).encode_to_vec();
        assert!(
            matches!(
                <(Toast, Resolution)>::decode(&bytes),
                Err(DecodeError::Invalid { .. })
            ),
            "{kind:?} by {canceller:?}"
        );
    }
    let missing_spec = proto::Template {
        spec: Some(proto::TemplateSpec { kind: None }),
        created: Some(crate::store::encoding::scalars::time(at(0))),
        updated: Some(crate::store::encoding::scalars::time(at(0))),
        ..Default::default()
    };
    assert_eq!(
        Template::decode(&missing_spec.encode_to_vec()).unwrap_err(),
        DecodeError::Missing {
            field: "TemplateSpec.kind"
        }
    );
}

#[test]
fn an_event_of_no_known_kind_is_refused() {
    let event = |kind| proto::Event {
        agent: vec![7; 16],
        time: Some(crate::store::encoding::scalars::time(at(0))),
        providers: Vec::new(),
        kind,
    };
    // A kind added by a newer cifd reads here as no kind at all.
    assert_eq!(
        Event::decode(&event(None).encode_to_vec()).unwrap_err(),
        DecodeError::Missing {
            field: "Event.kind"
        }
    );
    let mode = proto::event::Kind::PanelModeChanged(proto::event::PanelModeChanged { mode: 9 });
    assert!(matches!(
        Event::decode(&event(Some(mode)).encode_to_vec()),
        Err(DecodeError::Invalid {
            field: "Event.PanelModeChanged.mode",
            ..
        })
    ));
    let tab = proto::event::Kind::TabClosed(proto::event::TabClosed { tab: None });
    assert_eq!(
        Event::decode(&event(Some(tab)).encode_to_vec()).unwrap_err(),
        DecodeError::Missing {
            field: "Event.TabClosed.tab"
        }
    );
}

#[test]
fn a_record_still_in_json_is_refused_not_misread() {
    let session = session(true);
    let json = serde_json::to_vec(&session).unwrap();
    assert!(Session::decode(&json).is_err());
    let toast = toast(true);
    assert!(Toast::decode(&serde_json::to_vec(&toast).unwrap()).is_err());
}
