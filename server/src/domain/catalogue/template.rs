//! Templates (rule 15): what sessions, application tabs and toasts are made from. Their texts
//! may hold `{slug}` placeholders (see [`crate::domain::slug`]), filled when something is made.
//!
//! Unique names are one namespace across the three kinds, so a name always says what it is
//! and a template of the wrong kind is told apart from a missing one.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::domain::desks::PageKind;
use crate::domain::desks::PanelMode;
use crate::domain::error::{DomainResult, Reason};
use crate::domain::slug;
use crate::domain::validate::{Violations, limits};

/// The three kinds of template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Session,
    Tab,
    Notification,
}

impl TemplateKind {
    /// How messages name the kind.
    pub fn describe(self) -> &'static str {
        match self {
            TemplateKind::Session => "session template",
            TemplateKind::Tab => "application tab template",
            TemplateKind::Notification => "notification template",
        }
    }
}

/// The parameter of a tab template that is the page's URL; the others travel as the page's
/// parameters.
pub const URL_PARAMETER: &str = "url";

/// A session template (CIF: generic session template).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionSpec {
    /// The session's title, with slugs.
    pub title: String,
    /// The panel mode the desk takes when such a session starts; `None` leaves it.
    pub panel_mode: Option<PanelMode>,
    /// The tab template of the first tab, which nobody can close.
    pub anchor_tab: Option<String>,
    /// Tab templates of the tabs opened after the anchor tab, in order.
    pub additional_tabs: Vec<String>,
}

/// An application tab template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TabSpec {
    /// The tab's title, with slugs.
    pub title: String,
    pub page_kind: PageKind,
    /// Name to value, values with slugs; `url` is the page's URL.
    pub parameters: BTreeMap<String, String>,
    /// Whether the agent may close tabs made from it.
    pub can_close: bool,
}

/// A notification template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotificationSpec {
    /// The toast's title, with slugs.
    pub title: String,
    /// Label and value pairs, values with slugs.
    pub fields: Vec<(String, String)>,
    /// On screen once shown and the longest wait in the queue; `None`: no limit.
    pub countdown: Option<Duration>,
    pub accept_text: String,
    pub show_reject: bool,
    pub reject_text: String,
    pub auto_accept: bool,
}

/// What a template makes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TemplateSpec {
    Session(SessionSpec),
    Tab(TabSpec),
    Notification(NotificationSpec),
}

impl TemplateSpec {
    pub fn kind(&self) -> TemplateKind {
        match self {
            TemplateSpec::Session(_) => TemplateKind::Session,
            TemplateSpec::Tab(_) => TemplateKind::Tab,
            TemplateSpec::Notification(_) => TemplateKind::Notification,
        }
    }
}

/// A stored template.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Template {
    /// `<prefix>_<name>`; set once.
    pub unique_name: String,
    pub display_name: String,
    pub spec: TemplateSpec,
    /// Declared by the configuration file: changed only by changing the file.
    #[serde(default)]
    pub managed: bool,
    pub created: SystemTime,
    pub updated: SystemTime,
}

impl Template {
    pub fn kind(&self) -> TemplateKind {
        self.spec.kind()
    }

    /// The tab templates a session template opens, anchor first.
    pub fn tab_templates(&self) -> Vec<&str> {
        match &self.spec {
            TemplateSpec::Session(spec) => spec
                .anchor_tab
                .iter()
                .chain(&spec.additional_tabs)
                .map(String::as_str)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Checks every field; `prefix` is where the fields sit in the request (`session_template`).
    pub fn validate(&self, prefix: &str) -> DomainResult<()> {
        let mut violations = Violations::new();
        let field = |name: &str| format!("{prefix}.{name}");
        violations.unique_name(&field("unique_name"), &self.unique_name);
        violations.required_text(&field("display_name"), &self.display_name, limits::NAME);
        match &self.spec {
            TemplateSpec::Session(spec) => {
                slug_text(
                    &mut violations,
                    &field("title"),
                    &spec.title,
                    limits::TITLE,
                    true,
                );
                let tabs = self.tab_templates();
                if tabs.len() > limits::TEMPLATE_TABS {
                    violations.add(
                        field("additional_tabs"),
                        Reason::FieldOutOfRange,
                        format!(
                            "the template opens {} tabs; a session holds at most {}",
                            tabs.len(),
                            limits::TEMPLATE_TABS
                        ),
                    );
                }
                for (index, name) in spec.additional_tabs.iter().enumerate() {
                    let name_field = field(&format!("additional_tabs[{index}]"));
                    violations.required_text(&name_field, name, limits::TEMPLATE_NAME);
                    if tabs.iter().filter(|tab| *tab == name).count() > 1 {
                        violations.add(
                            name_field,
                            Reason::FieldMalformed,
                            format!("tab template {name} is named twice; each may open one tab"),
                        );
                    }
                }
                if let Some(anchor) = &spec.anchor_tab {
                    violations.required_text(&field("anchor_tab"), anchor, limits::TEMPLATE_NAME);
                }
            }
            TemplateSpec::Tab(spec) => {
                slug_text(
                    &mut violations,
                    &field("title"),
                    &spec.title,
                    limits::TITLE,
                    true,
                );
                violations.tab_parameters(&field("parameters"), &spec.parameters);
                for (name, value) in &spec.parameters {
                    slug_text(
                        &mut violations,
                        &field(&format!("parameters[{name}]")),
                        value,
                        limits::TAB_PARAMETERS,
                        false,
                    );
                }
                let url = spec.parameters.get(URL_PARAMETER);
                if spec.page_kind == PageKind::ThirdPartyWebsite
                    && !url.is_some_and(|url| {
                        url.starts_with("https://") || url.starts_with("http://")
                    })
                {
                    violations.add(
                        field("parameters[url]"),
                        Reason::FieldRequired,
                        "a third-party website tab needs parameters[url] starting with http:// or https:// (slugs may follow, e.g. https://crm.example.com/customer/{customerId})",
                    );
                }
            }
            TemplateSpec::Notification(spec) => {
                slug_text(
                    &mut violations,
                    &field("title"),
                    &spec.title,
                    limits::TITLE,
                    true,
                );
                if spec.fields.len() > limits::NOTIFICATION_FIELDS {
                    violations.add(
                        field("fields"),
                        Reason::FieldOutOfRange,
                        format!(
                            "fields has {} entries; a toast shows at most {}",
                            spec.fields.len(),
                            limits::NOTIFICATION_FIELDS
                        ),
                    );
                }
                for (index, (label, value)) in spec.fields.iter().enumerate() {
                    violations.required_text(
                        &field(&format!("fields[{index}].label")),
                        label,
                        limits::NAME,
                    );
                    slug_text(
                        &mut violations,
                        &field(&format!("fields[{index}].value")),
                        value,
                        limits::NOTIFICATION_FIELD_VALUE,
                        false,
                    );
                }
                violations.optional_text(
                    &field("accept_text"),
                    &spec.accept_text,
                    limits::BUTTON_TEXT,
                );
                violations.optional_text(
                    &field("reject_text"),
                    &spec.reject_text,
                    limits::BUTTON_TEXT,
                );
            }
        }
        violations.finish()
    }
}

/// A text with slugs: its length and its grammar.
fn slug_text(violations: &mut Violations, field: &str, text: &str, max: usize, required: bool) {
    if required {
        violations.required_text(field, text, max);
    } else {
        violations.optional_text(field, text, max);
    }
    if let Err(problem) = slug::check(text) {
        violations.add(field, Reason::FieldMalformed, format!("{field}: {problem}"));
    }
}
