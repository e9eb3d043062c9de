//! Typed ids. On the wire every id is a UUID string; in Rust each kind of id has its own type,
//! and parsing accepts only the canonical hyphenated form so that one id has one spelling.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A string that is not a canonical UUID, given where an id was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{kind} id `{value}` is not a UUID; expected the form 0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11"
)]
pub struct InvalidId {
    /// Which kind of id was expected ("session", "agent", ...).
    pub kind: &'static str,
    /// The text that was given (cut to 64 characters).
    pub value: String,
}

fn parse_canonical(kind: &'static str, text: &str) -> Result<Uuid, InvalidId> {
    const CANONICAL_LEN: usize = 36;
    match Uuid::try_parse(text) {
        Ok(uuid) if text.len() == CANONICAL_LEN => Ok(uuid),
        _ => Err(InvalidId {
            kind,
            value: text.chars().take(64).collect(),
        }),
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// What this id names, as used in messages ("session", "agent", ...).
            pub const KIND: &'static str = $kind;

            /// A new id, ordered by creation time (UUID version 7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses the canonical hyphenated form.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                parse_canonical($kind, text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(text: &str) -> Result<Self, InvalidId> {
                Self::parse(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// Names a channel provider.
    ProviderId,
    "provider"
);
typed_id!(
    /// Names an agent (and so its desk).
    AgentId,
    "agent"
);
typed_id!(
    /// Names a session, the home session included.
    SessionId,
    "session"
);
typed_id!(
    /// Names an application tab.
    TabId,
    "tab"
);
typed_id!(
    /// Names an operator credential created through AdminService.
    OperatorCredentialId,
    "operator_credential"
);
typed_id!(
    /// Names a toast; chosen by the provider that raises it.
    NotificationId,
    "notification"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_string_form() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(&id.to_string()), Ok(id));
    }

    #[test]
    fn refuses_other_spellings_of_a_uuid() {
        let id = AgentId::generate().as_uuid();
        for text in [
            id.simple().to_string(),
            id.braced().to_string(),
            id.urn().to_string(),
            String::new(),
            "not-a-uuid".into(),
        ] {
            let error = AgentId::parse(&text).unwrap_err();
            assert_eq!(error.kind, "agent");
        }
    }

    #[test]
    fn ids_are_ordered_by_creation() {
        let first = ProviderId::generate();
        let second = ProviderId::generate();
        assert!(first < second);
    }
}
