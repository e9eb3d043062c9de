//! Application tabs (rule 3).

use std::time::SystemTime;

use cif_sdk::ids::{ProviderId, SessionId, TabId};

use super::error::{DomainResult, Reason};
use super::validate::{Violations, limits};

/// CIF's page types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PageKind {
    Dashboard,
    EntityList,
    EntityRecord,
    Search,
    ThirdPartyWebsite,
    WebResource,
    Control,
    CustomPage,
}

/// What a tab shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TabPage {
    pub kind: PageKind,
    pub url: String,
    pub parameters: String,
}

/// A tab in a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tab {
    pub id: TabId,
    pub session: SessionId,
    pub template: String,
    pub title: String,
    pub page: TabPage,
    pub can_close: bool,
    pub opened_by: ProviderId,
    pub created: SystemTime,
}

/// A tab a provider asks to open.
#[derive(Debug, Clone)]
pub struct NewTab {
    pub session: SessionId,
    pub template: String,
    pub title: String,
    pub page: TabPage,
    pub focus: bool,
    /// The session's version the caller expects, if any.
    pub expected_version: Option<u64>,
}

impl NewTab {
    pub fn validate(&self) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.optional_text("template", &self.template, limits::TEMPLATE_NAME);
        violations.required_text("title", &self.title, limits::TITLE);
        violations.optional_text(
            "page.parameters",
            &self.page.parameters,
            limits::TAB_PARAMETERS,
        );
        if self.page.kind == PageKind::ThirdPartyWebsite {
            violations.web_url("page.url", &self.page.url);
        } else {
            violations.optional_text("page.url", &self.page.url, limits::URL);
        }
        violations.finish()
    }
}

/// A new title for a tab or session.
pub fn validate_title(title: &str) -> DomainResult<()> {
    let mut violations = Violations::new();
    violations.required_text("title", title, limits::TITLE);
    violations.finish()
}

/// The refusal when a tab is missing or not the caller's to see.
pub fn tab_not_found(id: TabId) -> super::error::DomainError {
    super::error::DomainError::new(
        Reason::TabNotFound,
        format!("tab {id} not found; check the id (a provider sees only tabs in its own sessions and the tabs it opened in home)"),
    )
    .with("tab_id", id)
}
