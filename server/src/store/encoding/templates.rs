//! Templates of the three kinds, as storage messages.

use super::message::{DecodeError, Proto, required};
use super::proto;
use super::records::{panel_mode, parse_panel_mode};
use super::scalars::{pairs, parse_list, parse_map, parse_span, parse_time, span, time};
use super::sessions::{page_kind, parse_page_kind};
use crate::domain::catalogue::{NotificationSpec, SessionSpec, TabSpec, Template, TemplateSpec};

impl Proto for Template {
    type Message = proto::Template;

    fn to_message(&self) -> proto::Template {
        proto::Template {
            unique_name: self.unique_name.clone(),
            display_name: self.display_name.clone(),
            spec: Some(self.spec.to_message()),
            managed: self.managed,
            created: Some(time(self.created)),
            updated: Some(time(self.updated)),
        }
    }

    fn from_message(message: proto::Template) -> Result<Self, DecodeError> {
        Ok(Template {
            unique_name: message.unique_name,
            display_name: message.display_name,
            spec: required(message.spec, "Template.spec")?,
            managed: message.managed,
            created: parse_time(message.created, "Template.created")?,
            updated: parse_time(message.updated, "Template.updated")?,
        })
    }
}

impl Proto for TemplateSpec {
    type Message = proto::TemplateSpec;

    fn to_message(&self) -> proto::TemplateSpec {
        use proto::template_spec::Kind;
        let kind = match self {
            TemplateSpec::Session(spec) => Kind::Session(spec.to_message()),
            TemplateSpec::Tab(spec) => Kind::Tab(spec.to_message()),
            TemplateSpec::Notification(spec) => Kind::Notification(spec.to_message()),
        };
        proto::TemplateSpec { kind: Some(kind) }
    }

    fn from_message(message: proto::TemplateSpec) -> Result<Self, DecodeError> {
        use proto::template_spec::Kind;
        // An absent kind is also what a kind added by a newer cifd reads as here.
        Ok(match message.kind {
            None => {
                return Err(DecodeError::Missing {
                    field: "TemplateSpec.kind",
                });
            }
            Some(Kind::Session(spec)) => TemplateSpec::Session(SessionSpec::from_message(spec)?),
            Some(Kind::Tab(spec)) => TemplateSpec::Tab(TabSpec::from_message(spec)?),
            Some(Kind::Notification(spec)) => {
                TemplateSpec::Notification(NotificationSpec::from_message(spec)?)
            }
        })
    }
}

impl Proto for SessionSpec {
    type Message = proto::SessionSpec;

    fn to_message(&self) -> proto::SessionSpec {
        proto::SessionSpec {
            title: self.title.clone(),
            panel_mode: self.panel_mode.map(panel_mode),
            anchor_tab: self.anchor_tab.clone(),
            additional_tabs: self.additional_tabs.clone(),
        }
    }

    fn from_message(message: proto::SessionSpec) -> Result<Self, DecodeError> {
        Ok(SessionSpec {
            title: message.title,
            panel_mode: message
                .panel_mode
                .map(|mode| parse_panel_mode(mode, "SessionSpec.panel_mode"))
                .transpose()?,
            anchor_tab: message.anchor_tab,
            additional_tabs: message.additional_tabs,
        })
    }
}

impl Proto for TabSpec {
    type Message = proto::TabSpec;

    fn to_message(&self) -> proto::TabSpec {
        proto::TabSpec {
            title: self.title.clone(),
            page_kind: page_kind(self.page_kind),
            parameters: pairs(&self.parameters),
            can_close: self.can_close,
        }
    }

    fn from_message(message: proto::TabSpec) -> Result<Self, DecodeError> {
        Ok(TabSpec {
            title: message.title,
            page_kind: parse_page_kind(message.page_kind, "TabSpec.page_kind")?,
            parameters: parse_map(message.parameters, "TabSpec.parameters")?,
            can_close: message.can_close,
        })
    }
}

impl Proto for NotificationSpec {
    type Message = proto::NotificationSpec;

    fn to_message(&self) -> proto::NotificationSpec {
        proto::NotificationSpec {
            title: self.title.clone(),
            fields: pairs(self.fields.iter().map(|(label, value)| (label, value))),
            countdown: self.countdown.map(span),
            accept_text: self.accept_text.clone(),
            show_reject: self.show_reject,
            reject_text: self.reject_text.clone(),
            auto_accept: self.auto_accept,
        }
    }

    fn from_message(message: proto::NotificationSpec) -> Result<Self, DecodeError> {
        Ok(NotificationSpec {
            title: message.title,
            fields: parse_list(message.fields),
            countdown: message
                .countdown
                .map(|countdown| parse_span(countdown, "NotificationSpec.countdown"))
                .transpose()?,
            accept_text: message.accept_text,
            show_reject: message.show_reject,
            reject_text: message.reject_text,
            auto_accept: message.auto_accept,
        })
    }
}
