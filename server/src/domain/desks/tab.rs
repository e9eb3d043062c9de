//! Application tabs (rule 3).

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{ProviderId, SessionId, TabId};

use crate::domain::error::{DomainResult, Reason};
use crate::domain::validate::{UrlPolicy, Violations, limits};

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
    /// Boxed, as are a tab's other texts that never change once it is open: a tab then fits
    /// a smaller allocation (176 bytes, 192 with its Arc, rather than 208 and 224).
    pub url: Box<str>,
    pub parameters: Box<str>,
}

/// A tab in a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tab {
    pub id: TabId,
    pub session: SessionId,
    pub template: Box<str>,
    pub title: String,
    pub page: TabPage,
    pub can_close: bool,
    /// The first tab of a session made from a template: nobody closes it.
    #[serde(default)]
    pub anchor: bool,
    /// The template title the title is filled from, so it follows the session's context;
    /// `None` once the title is set as it is.
    #[serde(default)]
    pub title_pattern: Option<Box<str>>,
    /// The parameters the tab was made with (see [`Tab::parameters`]); `None` when there
    /// are none, as for most tabs: a pointer where the map would take three words.
    // The box is the point: `None` takes one word in every tab, where an empty map takes three.
    #[allow(clippy::box_collection)]
    #[serde(default)]
    pub parameters: Option<Box<BTreeMap<String, String>>>,
    pub opened_by: ProviderId,
    pub created: SystemTime,
}

/// What a tab without parameters reads.
static NO_PARAMETERS: BTreeMap<String, String> = BTreeMap::new();

impl Tab {
    /// The parameters the tab was made with: its slugs look here before the context.
    pub fn parameters(&self) -> &BTreeMap<String, String> {
        self.parameters.as_deref().unwrap_or(&NO_PARAMETERS)
    }

    /// The parameters as a tab keeps them: none when empty.
    #[allow(clippy::box_collection)]
    pub fn kept_parameters(
        parameters: BTreeMap<String, String>,
    ) -> Option<Box<BTreeMap<String, String>>> {
        (!parameters.is_empty()).then(|| Box::new(parameters))
    }
}

/// A tab a provider asks to open: from an application tab template, or with its title and
/// page given.
#[derive(Debug, Clone)]
pub struct NewTab {
    pub session: SessionId,
    /// The tab template's unique name; empty: no template.
    pub template: String,
    /// With a template, replaces the template's title; without one, required.
    pub title: String,
    /// Without a template, required; with one, the template decides it.
    pub page: Option<TabPage>,
    /// With a template: override its parameters, and fill its slugs.
    pub parameters: BTreeMap<String, String>,
    pub focus: bool,
    /// The session's version the caller expects, if any.
    pub expected_version: Option<u64>,
}

impl NewTab {
    /// `urls`: which website tabs the desk may frame.
    pub fn validate(&self, urls: &UrlPolicy) -> DomainResult<()> {
        let mut violations = Violations::new();
        violations.optional_text("template", &self.template, limits::TEMPLATE_NAME);
        if self.template.is_empty() {
            violations.required_text("title", &self.title, limits::TITLE);
            match &self.page {
                None => violations.add(
                    "page",
                    Reason::FieldRequired,
                    "page is required without a template: say what the tab shows, or name a template",
                ),
                Some(page) => {
                    violations.optional_text(
                        "page.parameters",
                        &page.parameters,
                        limits::TAB_PARAMETERS,
                    );
                    if page.kind == PageKind::ThirdPartyWebsite {
                        violations.website_url("page.url", &page.url, urls);
                    } else {
                        violations.optional_text("page.url", &page.url, limits::URL);
                    }
                }
            }
            if !self.parameters.is_empty() {
                violations.add(
                    "parameters",
                    Reason::FieldMalformed,
                    "parameters fill a template's slugs; name a template, or leave parameters out",
                );
            }
        } else {
            violations.optional_text("title", &self.title, limits::TITLE);
            if self.page.is_some() {
                violations.add(
                    "page",
                    Reason::FieldMalformed,
                    "the template decides what the tab shows; leave page out and override the template's parameters instead",
                );
            }
            violations.tab_parameters("parameters", &self.parameters);
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
pub fn tab_not_found(id: TabId) -> crate::domain::error::DomainError {
    crate::domain::error::DomainError::new(
        Reason::TabNotFound,
        format!("tab {id} not found; check the id (a provider sees only tabs in its own sessions and the tabs it opened in home)"),
    )
    .with("tab_id", id)
}
