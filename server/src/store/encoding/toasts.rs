//! Toasts, waiting or resolved, and how they end, as storage messages.

use super::message::{DecodeError, Proto, required};
use super::proto;
use super::scalars::{
    id, pairs, parse_enum, parse_id, parse_list, parse_map, parse_optional_id, parse_optional_time,
    parse_span, parse_time, span, time,
};
use crate::domain::toasts::{Canceller, Outcome, Resolution, Toast, ToastContent, ToastKey};

impl Proto for ToastKey {
    type Message = proto::ToastKey;

    fn to_message(&self) -> proto::ToastKey {
        proto::ToastKey {
            provider: id(self.provider),
            id: id(self.id),
        }
    }

    fn from_message(message: proto::ToastKey) -> Result<Self, DecodeError> {
        Ok(ToastKey {
            provider: parse_id(&message.provider, "ToastKey.provider")?,
            id: parse_id(&message.id, "ToastKey.id")?,
        })
    }
}

impl Proto for ToastContent {
    type Message = proto::ToastContent;

    fn to_message(&self) -> proto::ToastContent {
        proto::ToastContent {
            title: self.title.clone(),
            fields: pairs(self.fields.iter().map(|(label, value)| (label, value))),
            countdown: self.countdown.map(span),
            accept_text: self.accept_text.clone(),
            show_reject: self.show_reject,
            reject_text: self.reject_text.clone(),
            auto_accept: self.auto_accept,
        }
    }

    fn from_message(message: proto::ToastContent) -> Result<Self, DecodeError> {
        Ok(ToastContent {
            title: message.title,
            fields: parse_list(message.fields),
            countdown: message
                .countdown
                .map(|countdown| parse_span(countdown, "ToastContent.countdown"))
                .transpose()?,
            accept_text: message.accept_text,
            show_reject: message.show_reject,
            reject_text: message.reject_text,
            auto_accept: message.auto_accept,
        })
    }
}

impl Proto for Toast {
    type Message = proto::Toast;

    fn to_message(&self) -> proto::Toast {
        proto::Toast {
            key: Some(self.key.to_message()),
            agent: id(self.agent),
            session: self.session.map(id),
            content: Some(self.content.to_message()),
            template: self.template.clone(),
            parameters: pairs(&self.parameters),
            requested_title: self.requested_title.clone(),
            raised: Some(time(self.raised)),
            shown: self.shown.map(time),
            queued: self.queued,
        }
    }

    fn from_message(message: proto::Toast) -> Result<Self, DecodeError> {
        Ok(Toast {
            key: required(message.key, "Toast.key")?,
            agent: parse_id(&message.agent, "Toast.agent")?,
            session: parse_optional_id(message.session, "Toast.session")?,
            content: required(message.content, "Toast.content")?,
            template: message.template,
            parameters: parse_map(message.parameters, "Toast.parameters")?,
            requested_title: message.requested_title,
            raised: parse_time(message.raised, "Toast.raised")?,
            shown: parse_optional_time(message.shown, "Toast.shown")?,
            queued: message.queued,
        })
    }
}

impl Proto for Outcome {
    type Message = proto::Outcome;

    fn to_message(&self) -> proto::Outcome {
        use proto::OutcomeKind as Kind;
        let (kind, canceller) = match self {
            Outcome::Accepted => (Kind::Accepted, proto::Canceller::Unspecified),
            Outcome::AutoAccepted => (Kind::AutoAccepted, proto::Canceller::Unspecified),
            Outcome::Declined => (Kind::Declined, proto::Canceller::Unspecified),
            Outcome::DisplayTimeout => (Kind::DisplayTimeout, proto::Canceller::Unspecified),
            Outcome::QueueFull => (Kind::QueueFull, proto::Canceller::Unspecified),
            Outcome::QueueTimeLimitExceeded => {
                (Kind::QueueTimeLimitExceeded, proto::Canceller::Unspecified)
            }
            Outcome::Cancelled(canceller) => (Kind::Cancelled, self::canceller(*canceller)),
        };
        proto::Outcome {
            kind: kind.into(),
            canceller: canceller.into(),
        }
    }

    fn from_message(message: proto::Outcome) -> Result<Self, DecodeError> {
        use proto::OutcomeKind as Kind;
        // `Some(None)`: a cancellation, whose canceller the other field says.
        let ending = parse_enum(message.kind, "Outcome.kind", |kind| match kind {
            Kind::Unspecified => None,
            Kind::Accepted => Some(Some(Outcome::Accepted)),
            Kind::AutoAccepted => Some(Some(Outcome::AutoAccepted)),
            Kind::Declined => Some(Some(Outcome::Declined)),
            Kind::DisplayTimeout => Some(Some(Outcome::DisplayTimeout)),
            Kind::QueueFull => Some(Some(Outcome::QueueFull)),
            Kind::QueueTimeLimitExceeded => Some(Some(Outcome::QueueTimeLimitExceeded)),
            Kind::Cancelled => Some(None),
        })?;
        match ending {
            None => Ok(Outcome::Cancelled(parse_canceller(message.canceller)?)),
            // A canceller on any other ending says the record is not what was written.
            Some(_) if message.canceller != i32::from(proto::Canceller::Unspecified) => {
                Err(DecodeError::invalid(
                    "Outcome.canceller",
                    "set on an outcome that is not a cancellation",
                ))
            }
            Some(outcome) => Ok(outcome),
        }
    }
}

fn canceller(canceller: Canceller) -> proto::Canceller {
    match canceller {
        Canceller::Provider => proto::Canceller::Provider,
        Canceller::SessionClosed => proto::Canceller::SessionClosed,
        Canceller::ProviderDeactivated => proto::Canceller::ProviderDeactivated,
        Canceller::AgentDeleted => proto::Canceller::AgentDeleted,
        Canceller::ProviderNotAdmitted => proto::Canceller::ProviderNotAdmitted,
    }
}

fn parse_canceller(value: i32) -> Result<Canceller, DecodeError> {
    parse_enum(value, "Outcome.canceller", |canceller| match canceller {
        proto::Canceller::Unspecified => None,
        proto::Canceller::Provider => Some(Canceller::Provider),
        proto::Canceller::SessionClosed => Some(Canceller::SessionClosed),
        proto::Canceller::ProviderDeactivated => Some(Canceller::ProviderDeactivated),
        proto::Canceller::AgentDeleted => Some(Canceller::AgentDeleted),
        proto::Canceller::ProviderNotAdmitted => Some(Canceller::ProviderNotAdmitted),
    })
}

impl Proto for Resolution {
    type Message = proto::Resolution;

    fn to_message(&self) -> proto::Resolution {
        proto::Resolution {
            outcome: Some(self.outcome.to_message()),
            time: Some(time(self.time)),
        }
    }

    fn from_message(message: proto::Resolution) -> Result<Self, DecodeError> {
        Ok(Resolution {
            outcome: required(message.outcome, "Resolution.outcome")?,
            time: parse_time(message.time, "Resolution.time")?,
        })
    }
}

/// A resolved toast: the toast as it ended, and how.
impl Proto for (Toast, Resolution) {
    type Message = proto::ResolvedToast;

    fn to_message(&self) -> proto::ResolvedToast {
        proto::ResolvedToast {
            toast: Some(self.0.to_message()),
            resolution: Some(self.1.to_message()),
        }
    }

    fn from_message(message: proto::ResolvedToast) -> Result<Self, DecodeError> {
        Ok((
            required(message.toast, "ResolvedToast.toast")?,
            required(message.resolution, "ResolvedToast.resolution")?,
        ))
    }
}
