//! The scalar shapes every message shares: ids as 16 bytes, times and durations to the
//! nanosecond, maps and lists of texts as ordered pairs, enums by number.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cif_sdk::ids::{AgentId, NotificationId, OperatorCredentialId, ProviderId, SessionId, TabId};
use uuid::Uuid;

use super::message::DecodeError;
use super::proto;
use crate::domain::desks::Context;

/// An id type of `cif_sdk::ids`: a UUID stored as its 16 bytes.
pub(super) trait Id: Copy {
    fn uuid(self) -> Uuid;
    fn from_uuid(uuid: Uuid) -> Self;
}

macro_rules! ids {
    ($($id:ty),*) => {$(
        impl Id for $id {
            fn uuid(self) -> Uuid {
                self.as_uuid()
            }
            fn from_uuid(uuid: Uuid) -> Self {
                <$id>::from_uuid(uuid)
            }
        }
    )*};
}

ids!(
    AgentId,
    NotificationId,
    OperatorCredentialId,
    ProviderId,
    SessionId,
    TabId
);

/// A plain UUID (an audit entry's).
impl Id for Uuid {
    fn uuid(self) -> Uuid {
        self
    }
    fn from_uuid(uuid: Uuid) -> Self {
        uuid
    }
}

pub(super) fn id(id: impl Id) -> Vec<u8> {
    id.uuid().as_bytes().to_vec()
}

pub(super) fn ids<'a, T: Id + 'a>(ids: impl IntoIterator<Item = &'a T>) -> Vec<Vec<u8>> {
    ids.into_iter().map(|each| id(*each)).collect()
}

/// An id from its 16 bytes; none at all is how proto3 writes an id never set.
pub(super) fn parse_id<T: Id>(bytes: &[u8], field: &'static str) -> Result<T, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Missing { field });
    }
    let bytes: [u8; 16] = bytes.try_into().map_err(|_| {
        DecodeError::invalid(
            field,
            format!("an id is 16 bytes, this one {}", bytes.len()),
        )
    })?;
    Ok(T::from_uuid(Uuid::from_bytes(bytes)))
}

pub(super) fn parse_optional_id<T: Id>(
    bytes: Option<Vec<u8>>,
    field: &'static str,
) -> Result<Option<T>, DecodeError> {
    bytes.map(|bytes| parse_id(&bytes, field)).transpose()
}

pub(super) fn parse_ids<T: Id, C: FromIterator<T>>(
    ids: &[Vec<u8>],
    field: &'static str,
) -> Result<C, DecodeError> {
    ids.iter().map(|bytes| parse_id(bytes, field)).collect()
}

const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// A time as seconds and nanoseconds from the epoch, exact to the nanosecond. Times before
/// the epoch count whole seconds back and the nanoseconds forward, as protobuf's Timestamp.
pub(super) fn time(time: SystemTime) -> proto::Time {
    // i128 holds any SystemTime's seconds either side of the epoch; the platforms cifd runs
    // on keep them in an i64, so the conversions back never saturate.
    let (seconds, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (i128::from(after.as_secs()), after.subsec_nanos()),
        Err(before) => {
            let before = before.duration();
            match before.subsec_nanos() {
                0 => (-i128::from(before.as_secs()), 0),
                nanos => (-i128::from(before.as_secs()) - 1, NANOS_PER_SECOND - nanos),
            }
        }
    };
    let seconds = i64::try_from(seconds).unwrap_or(if seconds < 0 { i64::MIN } else { i64::MAX });
    proto::Time { seconds, nanos }
}

pub(super) fn parse_time(
    time: Option<proto::Time>,
    field: &'static str,
) -> Result<SystemTime, DecodeError> {
    let time = time.ok_or(DecodeError::Missing { field })?;
    if time.nanos >= NANOS_PER_SECOND {
        return Err(DecodeError::invalid(
            field,
            format!("nanos is {}, at most 999999999", time.nanos),
        ));
    }
    let whole = Duration::from_secs(time.seconds.unsigned_abs());
    let instant = if time.seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    instant
        .and_then(|instant| instant.checked_add(Duration::from_nanos(time.nanos.into())))
        .ok_or_else(|| {
            DecodeError::invalid(
                field,
                format!("{} s from the epoch is out of range", time.seconds),
            )
        })
}

pub(super) fn parse_optional_time(
    time: Option<proto::Time>,
    field: &'static str,
) -> Result<Option<SystemTime>, DecodeError> {
    time.map(|time| parse_time(Some(time), field)).transpose()
}

pub(super) fn span(duration: Duration) -> proto::Span {
    proto::Span {
        seconds: duration.as_secs(),
        nanos: duration.subsec_nanos(),
    }
}

pub(super) fn parse_span(span: proto::Span, field: &'static str) -> Result<Duration, DecodeError> {
    if span.nanos >= NANOS_PER_SECOND {
        return Err(DecodeError::invalid(
            field,
            format!("nanos is {}, at most 999999999", span.nanos),
        ));
    }
    // Below a second of nanoseconds, so no carry into the seconds can overflow.
    Ok(Duration::new(span.seconds, span.nanos))
}

/// Key and value pairs, in the order given (sorted, for the maps the domain keeps).
pub(super) fn pairs<'a, K: AsRef<str> + 'a, V: AsRef<str> + 'a>(
    pairs: impl IntoIterator<Item = (&'a K, &'a V)>,
) -> Vec<proto::StringPair> {
    pairs
        .into_iter()
        .map(|(key, value)| proto::StringPair {
            key: key.as_ref().to_owned(),
            value: value.as_ref().to_owned(),
        })
        .collect()
}

/// Pairs as a list, in order (repeats allowed: a toast may show two fields with one label).
pub(super) fn parse_list(pairs: Vec<proto::StringPair>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|pair| (pair.key, pair.value))
        .collect()
}

/// Pairs as a map. A key given twice is refused: no map the domain keeps wrote it, and
/// keeping either value would silently lose the other.
pub(super) fn parse_map(
    pairs: Vec<proto::StringPair>,
    field: &'static str,
) -> Result<BTreeMap<String, String>, DecodeError> {
    let mut map = BTreeMap::new();
    for pair in pairs {
        if map.contains_key(&pair.key) {
            return Err(repeated(field, &pair.key));
        }
        map.insert(pair.key, pair.value);
    }
    Ok(map)
}

/// Pairs as a session's context; a key given twice is refused as in [`parse_map`].
pub(super) fn parse_context(
    pairs: Vec<proto::StringPair>,
    field: &'static str,
) -> Result<Context, DecodeError> {
    let mut context = Context::with_capacity(pairs.len());
    for pair in pairs {
        if context.contains_key(pair.key.as_str()) {
            return Err(repeated(field, &pair.key));
        }
        context.insert(pair.key.into(), pair.value.into());
    }
    Ok(context)
}

fn repeated(field: &'static str, key: &str) -> DecodeError {
    DecodeError::invalid(field, format!("key {key:?} is given twice"))
}

/// An enum's stored number as a domain value: `_UNSPECIFIED` and numbers this cifd does not
/// know are refused (an older cifd reading a newer value must not guess).
pub(super) fn parse_enum<E, T>(
    value: i32,
    field: &'static str,
    convert: impl FnOnce(E) -> Option<T>,
) -> Result<T, DecodeError>
where
    E: TryFrom<i32>,
{
    E::try_from(value)
        .ok()
        .and_then(convert)
        .ok_or_else(|| DecodeError::invalid(field, format!("{value} is not a known value")))
}
