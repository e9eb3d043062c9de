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
    /// a smaller allocation.
    pub url: Box<str>,
    pub parameters: Box<str>,
}

/// A tab in a session. 144 bytes, 160 with its Arc: most tabs are opened with their title
/// and page given, so what a template gives is kept apart, only when there is some.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "StoredTab", into = "StoredTab")]
pub struct Tab {
    pub id: TabId,
    pub session: SessionId,
    pub title: String,
    pub page: TabPage,
    pub can_close: bool,
    /// The first tab of a session made from a template: nobody closes it.
    pub anchor: bool,
    /// The template, title pattern and parameters, when the tab has any of them.
    pub origin: Option<Box<TabOrigin>>,
    pub opened_by: ProviderId,
    pub created: SystemTime,
}

/// What a tab made from a template keeps of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TabOrigin {
    /// The tab template's unique name; empty: none.
    pub template: Box<str>,
    /// The template title the title is filled from, so it follows the session's context;
    /// `None` once the title is set as it is.
    pub title_pattern: Option<Box<str>>,
    /// The parameters the tab was made with: its slugs look here before the context.
    pub parameters: BTreeMap<String, String>,
}

impl TabOrigin {
    /// What a tab keeps: nothing when all three are empty.
    pub fn kept(self) -> Option<Box<TabOrigin>> {
        (self != TabOrigin::default()).then(|| Box::new(self))
    }
}

/// What a tab without parameters reads.
static NO_PARAMETERS: BTreeMap<String, String> = BTreeMap::new();

impl Tab {
    /// The tab template's unique name; empty: none.
    pub fn template(&self) -> &str {
        self.origin.as_ref().map_or("", |origin| &origin.template)
    }

    /// The template title the title follows, if it still does.
    pub fn title_pattern(&self) -> Option<&str> {
        self.origin.as_ref()?.title_pattern.as_deref()
    }

    /// The parameters the tab was made with: its slugs look here before the context.
    pub fn parameters(&self) -> &BTreeMap<String, String> {
        self.origin
            .as_ref()
            .map_or(&NO_PARAMETERS, |origin| &origin.parameters)
    }

    /// Sets the title as it is: it no longer follows the context.
    pub fn set_title(&mut self, title: String) {
        self.title = title;
        if let Some(origin) = self.origin.take() {
            self.origin = TabOrigin {
                title_pattern: None,
                ..*origin
            }
            .kept();
        }
    }
}

/// A tab as JSON held it (schemas 1 and 2 of the embedded store), read by its migration.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredTab {
    id: TabId,
    session: SessionId,
    template: String,
    title: String,
    page: TabPage,
    can_close: bool,
    #[serde(default)]
    anchor: bool,
    #[serde(default)]
    title_pattern: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    opened_by: ProviderId,
    created: SystemTime,
}

impl From<StoredTab> for Tab {
    fn from(stored: StoredTab) -> Self {
        Tab {
            id: stored.id,
            session: stored.session,
            title: stored.title,
            page: stored.page,
            can_close: stored.can_close,
            anchor: stored.anchor,
            origin: TabOrigin {
                template: stored.template.into(),
                title_pattern: stored.title_pattern.map(Into::into),
                parameters: stored.parameters,
            }
            .kept(),
            opened_by: stored.opened_by,
            created: stored.created,
        }
    }
}

impl From<Tab> for StoredTab {
    fn from(tab: Tab) -> Self {
        StoredTab {
            template: tab.template().to_owned(),
            title_pattern: tab.title_pattern().map(str::to_owned),
            parameters: tab.parameters().clone(),
            id: tab.id,
            session: tab.session,
            title: tab.title,
            page: tab.page,
            can_close: tab.can_close,
            anchor: tab.anchor,
            opened_by: tab.opened_by,
            created: tab.created,
        }
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
