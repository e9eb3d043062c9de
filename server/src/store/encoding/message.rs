//! What every conversion shares: the domain type to message trait, the error a stored
//! message that is not a record gives, and encoding and decoding through them.

use prost::Message as _;

/// Why stored bytes are not the record they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not a protobuf message of the kind expected (truncated, or not protobuf at all).
    #[error("the bytes are not a stored {message}: {source}")]
    Malformed {
        message: &'static str,
        source: prost::DecodeError,
    },
    /// A field that every such record has is absent.
    #[error("{field} is missing")]
    Missing { field: &'static str },
    /// A field holds a value no record has (an unknown enum value, an id of the wrong length,
    /// a time out of range, a key given twice).
    #[error("{field} is invalid: {problem}")]
    Invalid {
        field: &'static str,
        problem: String,
    },
}

impl DecodeError {
    pub(super) fn invalid(field: &'static str, problem: impl Into<String>) -> Self {
        DecodeError::Invalid {
            field,
            problem: problem.into(),
        }
    }
}

/// A domain type and its storage message: the conversion each way, the message side checked.
pub(super) trait Proto: Sized {
    type Message;
    fn to_message(&self) -> Self::Message;
    fn from_message(message: Self::Message) -> Result<Self, DecodeError>;
}

/// The bytes of a stored `T`, as its message.
pub(super) fn encode<T: Proto>(value: &T) -> Vec<u8>
where
    T::Message: prost::Message,
{
    value.to_message().encode_to_vec()
}

/// A stored `T` from its bytes; `name` is the message's name, for errors.
pub(super) fn decode<T: Proto>(bytes: &[u8], name: &'static str) -> Result<T, DecodeError>
where
    T::Message: prost::Message + Default,
{
    let message = T::Message::decode(bytes).map_err(|source| DecodeError::Malformed {
        message: name,
        source,
    })?;
    T::from_message(message)
}

/// The message held in `message`, or the error naming `field` when it is absent.
pub(super) fn required<T: Proto>(
    message: Option<T::Message>,
    field: &'static str,
) -> Result<T, DecodeError> {
    T::from_message(message.ok_or(DecodeError::Missing { field })?)
}

/// The message held in `message`, if any.
pub(super) fn optional<T: Proto>(message: Option<T::Message>) -> Result<Option<T>, DecodeError> {
    message.map(T::from_message).transpose()
}

/// Each message of `messages`, in order; the collection is whatever the domain holds them in.
pub(super) fn each<T: Proto, C: FromIterator<T>>(
    messages: Vec<T::Message>,
) -> Result<C, DecodeError> {
    messages.into_iter().map(T::from_message).collect()
}
