//! Sessions with their tabs and marks, as storage messages.

use std::sync::Arc;

use super::message::{DecodeError, Proto, required};
use super::proto;
use super::scalars::{
    id, pairs, parse_context, parse_enum, parse_id, parse_map, parse_optional_id,
    parse_optional_time, parse_time, time,
};
use crate::domain::desks::{Marks, PageKind, Session, SessionKind, Tab, TabOrigin, TabPage};

impl Proto for Session {
    type Message = proto::Session;

    fn to_message(&self) -> proto::Session {
        proto::Session {
            id: id(self.id),
            agent: id(self.agent),
            owner: self.owner().map(id),
            template: self.template.to_string(),
            title: self.title.clone(),
            title_pattern: self.title_pattern.as_deref().map(str::to_owned),
            context: pairs(&*self.context),
            created: Some(time(self.created)),
            closed: self.closed.map(time),
            // Through `Tab`'s own conversion however the session holds its tabs (by value
            // or shared).
            tabs: self.tabs.iter().map(|tab| tab.to_message()).collect(),
            focused_tab: self.focused_tab.map(id),
            marks: Some(self.marks.to_message()),
            version: self.version,
        }
    }

    fn from_message(message: proto::Session) -> Result<Self, DecodeError> {
        let kind = match parse_optional_id(message.owner, "Session.owner")? {
            None => SessionKind::Home,
            Some(owner) => SessionKind::Provider(owner),
        };
        Ok(Session {
            id: parse_id(&message.id, "Session.id")?,
            agent: parse_id(&message.agent, "Session.agent")?,
            kind,
            template: message.template.into(),
            title: message.title,
            title_pattern: message.title_pattern.map(Into::into),
            context: Arc::new(parse_context(message.context, "Session.context")?),
            created: parse_time(message.created, "Session.created")?,
            closed: parse_optional_time(message.closed, "Session.closed")?,
            tabs: each_shared(message.tabs)?,
            focused_tab: parse_optional_id(message.focused_tab, "Session.focused_tab")?,
            marks: required(message.marks, "Session.marks")?,
            version: message.version,
        })
    }
}

/// Tabs into whatever a session holds them in: `Tab`, or a shared `Arc<Tab>`.
fn each_shared<T: From<Tab>, C: FromIterator<T>>(
    messages: Vec<proto::Tab>,
) -> Result<C, DecodeError> {
    messages
        .into_iter()
        .map(|message| Tab::from_message(message).map(T::from))
        .collect()
}

impl Proto for Marks {
    type Message = proto::Marks;

    fn to_message(&self) -> proto::Marks {
        proto::Marks {
            attention: self.attention,
            new_activity: self.new_activity,
            kpi_breach: self.kpi_breach.clone(),
        }
    }

    fn from_message(message: proto::Marks) -> Result<Self, DecodeError> {
        Ok(Marks {
            attention: message.attention,
            new_activity: message.new_activity,
            kpi_breach: message.kpi_breach,
        })
    }
}

impl Proto for Tab {
    type Message = proto::Tab;

    fn to_message(&self) -> proto::Tab {
        proto::Tab {
            id: id(self.id),
            session: id(self.session),
            template: self.template().to_owned(),
            title: self.title.clone(),
            page: Some(self.page.to_message()),
            can_close: self.can_close,
            anchor: self.anchor,
            title_pattern: self.title_pattern().map(str::to_owned),
            parameters: pairs(self.parameters()),
            opened_by: id(self.opened_by),
            created: Some(time(self.created)),
        }
    }

    fn from_message(message: proto::Tab) -> Result<Self, DecodeError> {
        Ok(Tab {
            id: parse_id(&message.id, "Tab.id")?,
            session: parse_id(&message.session, "Tab.session")?,
            title: message.title,
            page: required(message.page, "Tab.page")?,
            can_close: message.can_close,
            anchor: message.anchor,
            origin: TabOrigin {
                template: message.template.into(),
                title_pattern: message.title_pattern.map(Into::into),
                parameters: parse_map(message.parameters, "Tab.parameters")?,
            }
            .kept(),
            opened_by: parse_id(&message.opened_by, "Tab.opened_by")?,
            created: parse_time(message.created, "Tab.created")?,
        })
    }
}

impl Proto for TabPage {
    type Message = proto::TabPage;

    fn to_message(&self) -> proto::TabPage {
        proto::TabPage {
            kind: page_kind(self.kind),
            url: self.url.to_string(),
            parameters: self.parameters.to_string(),
        }
    }

    fn from_message(message: proto::TabPage) -> Result<Self, DecodeError> {
        Ok(TabPage {
            kind: parse_page_kind(message.kind, "TabPage.kind")?,
            url: message.url.into(),
            parameters: message.parameters.into(),
        })
    }
}

pub(super) fn page_kind(kind: PageKind) -> i32 {
    let kind = match kind {
        PageKind::Dashboard => proto::PageKind::Dashboard,
        PageKind::EntityList => proto::PageKind::EntityList,
        PageKind::EntityRecord => proto::PageKind::EntityRecord,
        PageKind::Search => proto::PageKind::Search,
        PageKind::ThirdPartyWebsite => proto::PageKind::ThirdPartyWebsite,
        PageKind::WebResource => proto::PageKind::WebResource,
        PageKind::Control => proto::PageKind::Control,
        PageKind::CustomPage => proto::PageKind::CustomPage,
    };
    kind.into()
}

pub(super) fn parse_page_kind(value: i32, field: &'static str) -> Result<PageKind, DecodeError> {
    parse_enum(value, field, |kind| match kind {
        proto::PageKind::Unspecified => None,
        proto::PageKind::Dashboard => Some(PageKind::Dashboard),
        proto::PageKind::EntityList => Some(PageKind::EntityList),
        proto::PageKind::EntityRecord => Some(PageKind::EntityRecord),
        proto::PageKind::Search => Some(PageKind::Search),
        proto::PageKind::ThirdPartyWebsite => Some(PageKind::ThirdPartyWebsite),
        proto::PageKind::WebResource => Some(PageKind::WebResource),
        proto::PageKind::Control => Some(PageKind::Control),
        proto::PageKind::CustomPage => Some(PageKind::CustomPage),
    })
}
