//! Templates (rule 15): the operator's catalogue of session, application tab and notification
//! templates, and what the commands make from them: a session's title, tabs and panel mode, a
//! tab's title and page, a toast's contents, each with its `{slugs}` filled.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{ProviderId, SessionId, TabId};

use super::{ControlPlane, Page, paging};
use crate::domain::desk::Context;
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::slug;
use crate::domain::tab::{PageKind, Tab, TabPage};
use crate::domain::template::{
    NotificationSpec, SessionSpec, TabSpec, Template, TemplateKind, TemplateSpec, URL_PARAMETER,
};
use crate::domain::toast::ToastContent;
use crate::domain::validate::{Violations, limits};

/// What a slug value filled into a URL keeps as it is: RFC 3986's unreserved characters.
const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where slug values come from: the call's parameters first, then the session's context.
#[derive(Clone, Copy)]
pub struct Dictionary<'a> {
    pub parameters: &'a BTreeMap<String, String>,
    pub context: &'a Context,
}

impl<'a> Dictionary<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.parameters
            .get(name)
            .or_else(|| self.context.get(name))
            .map(String::as_str)
    }

    /// A title filled from this dictionary, cut to the title limit; one that fills to nothing
    /// is `fallback` (the template's name), so no title is ever empty.
    pub fn title(&self, pattern: &str, fallback: &str) -> String {
        let title = slug::truncate(slug::fill(pattern, |name| self.get(name)), limits::TITLE);
        if title.trim().is_empty() {
            fallback.to_owned()
        } else {
            title
        }
    }
}

/// What a tab template makes, before it is placed in a session.
pub struct TabDraft {
    pub template: String,
    pub title: String,
    pub title_pattern: Option<String>,
    pub page: TabPage,
    pub can_close: bool,
    pub parameters: BTreeMap<String, String>,
}

impl TabDraft {
    pub fn into_tab(self, session: SessionId, opened_by: ProviderId, now: SystemTime) -> Tab {
        Tab {
            id: TabId::generate(),
            session,
            template: self.template,
            title: self.title,
            page: self.page,
            can_close: self.can_close,
            anchor: false,
            title_pattern: self.title_pattern.map(Into::into),
            parameters: self.parameters,
            opened_by,
            created: now,
        }
    }
}

fn template_not_found(kind: TemplateKind, name: &str) -> DomainError {
    DomainError::new(
        Reason::TemplateNotFound,
        format!(
            "{} {name} not found; the operator lists templates with List{}s",
            kind.describe(),
            match kind {
                TemplateKind::Session => "SessionTemplate",
                TemplateKind::Tab => "TabTemplate",
                TemplateKind::Notification => "NotificationTemplate",
            }
        ),
    )
    .with("template", name)
}

impl ControlPlane {
    /// The template of that kind and name: NOT_FOUND when there is none of any kind,
    /// FAILED_PRECONDITION (`TEMPLATE_KIND_MISMATCH`) when it is of another kind.
    pub fn template(&self, kind: TemplateKind, name: &str) -> DomainResult<&Template> {
        let template = self
            .templates
            .get(&name.to_owned())
            .ok_or_else(|| template_not_found(kind, name))?;
        if template.kind() != kind {
            return Err(DomainError::new(
                Reason::TemplateKindMismatch,
                format!(
                    "{name} is a {}, not a {}; name a {} here",
                    template.kind().describe(),
                    kind.describe(),
                    kind.describe()
                ),
            )
            .with("template", name));
        }
        Ok(template)
    }

    /// One page of the templates of a kind, by unique name.
    pub fn templates(
        &self,
        kind: TemplateKind,
        after: Option<String>,
        limit: usize,
    ) -> Page<&Template, String> {
        use std::ops::Bound;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        paging::collect(
            self.templates
                .range((start, Bound::Unbounded))
                .filter(|(_, template)| template.kind() == kind)
                .map(|(name, template)| (name.clone(), template)),
            limit,
        )
    }

    /// Every template, for the configuration file's reconciliation.
    pub fn all_templates(&self) -> impl Iterator<Item = &Template> {
        self.templates.values()
    }

    /// The tab templates a session template names must exist and be tab templates.
    pub(super) fn check_references(&self, template: &Template) -> DomainResult<()> {
        for tab in template.tab_templates() {
            self.template(TemplateKind::Tab, tab)?;
        }
        Ok(())
    }

    /// CreateSessionTemplate / CreateTabTemplate / CreateNotificationTemplate.
    pub fn create_template(
        &mut self,
        mut template: Template,
        field: &str,
    ) -> DomainResult<Template> {
        template.validate(field)?;
        if let Some(existing) = self.templates.get(&template.unique_name) {
            return Err(DomainError::new(
                Reason::TemplateNameTaken,
                format!(
                    "{} is already the name of a {}; template names are unique across kinds, choose another",
                    template.unique_name,
                    existing.kind().describe()
                ),
            )
            .with("template", &template.unique_name));
        }
        self.check_references(&template)?;
        let now = SystemTime::now();
        (template.created, template.updated) = (now, now);
        self.templates
            .insert(template.unique_name.clone(), template.clone());
        Ok(template)
    }

    /// UpdateXTemplate: `change` edits a copy of the stored template, which then replaces it
    /// if it is still valid. Sessions, tabs and toasts made earlier keep what they were made
    /// with.
    pub fn update_template(
        &mut self,
        kind: TemplateKind,
        name: &str,
        field: &str,
        change: impl FnOnce(&mut Template) -> DomainResult<()>,
    ) -> DomainResult<Template> {
        let mut template = self.template(kind, name)?.clone();
        self.check_unmanaged(template.managed, kind.describe(), name)?;
        change(&mut template)?;
        template.unique_name = name.to_owned();
        template.validate(field)?;
        self.check_references(&template)?;
        template.updated = SystemTime::now();
        self.templates.insert(name.to_owned(), template.clone());
        Ok(template)
    }

    /// DeleteXTemplate. Sessions, tabs and toasts made from it keep what they were made with
    /// (and its name), so deleting is safe for them; a tab template that a session template
    /// opens is refused until that session template no longer names it.
    pub fn delete_template(&mut self, kind: TemplateKind, name: &str) -> DomainResult<()> {
        let template = self.template(kind, name)?;
        self.check_unmanaged(template.managed, kind.describe(), name)?;
        let users: Vec<&str> = self
            .templates
            .values()
            .filter(|other| other.tab_templates().contains(&name))
            .map(|other| other.unique_name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(DomainError::new(
                Reason::TemplateInUse,
                format!(
                    "session template(s) {} open tabs from {name}; remove it from them first",
                    users.join(", ")
                ),
            )
            .with("template", name)
            .with("used_by", users.join(",")));
        }
        self.templates.remove(&name.to_owned());
        Ok(())
    }

    /// The session template's spec and its tab templates' specs, anchor first.
    pub(super) fn session_template(
        &self,
        name: &str,
    ) -> DomainResult<(&SessionSpec, Vec<(&str, &TabSpec)>)> {
        let template = self.template(TemplateKind::Session, name)?;
        let TemplateSpec::Session(spec) = &template.spec else {
            unreachable!("checked by kind");
        };
        let mut tabs = Vec::new();
        for tab in template.tab_templates() {
            let TemplateSpec::Tab(tab_spec) = &self.template(TemplateKind::Tab, tab)?.spec else {
                unreachable!("checked by kind");
            };
            tabs.push((tab, tab_spec));
        }
        Ok((spec, tabs))
    }

    pub(super) fn tab_template(&self, name: &str) -> DomainResult<&TabSpec> {
        match &self.template(TemplateKind::Tab, name)?.spec {
            TemplateSpec::Tab(spec) => Ok(spec),
            _ => unreachable!("checked by kind"),
        }
    }

    pub(super) fn notification_template(&self, name: &str) -> DomainResult<&NotificationSpec> {
        match &self.template(TemplateKind::Notification, name)?.spec {
            TemplateSpec::Notification(spec) => Ok(spec),
            _ => unreachable!("checked by kind"),
        }
    }
}

/// A tab from its template: the call's parameters replace the template's of the same name,
/// then every value
/// and the title are filled from `dictionary` (the call's parameters, then the session's
/// context). Values filled into the URL are percent-encoded, so a value cannot change the
/// URL's structure. Refused (INVALID_ARGUMENT on `field`) when the result is not a valid page.
pub fn draft_tab(
    name: &str,
    spec: &TabSpec,
    overrides: &BTreeMap<String, String>,
    context: &Context,
    field: &str,
) -> DomainResult<TabDraft> {
    // The call's parameters replace the template's of the same name; all of them fill slugs.
    let mut parameters = spec.parameters.clone();
    for (name, value) in &mut parameters {
        if let Some(given) = overrides.get(name) {
            value.clone_from(given);
        }
    }
    let dictionary = Dictionary {
        parameters: overrides,
        context,
    };
    let mut filled: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in &parameters {
        let value = if key == URL_PARAMETER {
            slug::fill_with(
                value,
                |name| dictionary.get(name),
                |value| percent_encoding::utf8_percent_encode(value, URL_VALUE).to_string(),
            )
        } else {
            slug::fill(value, |name| dictionary.get(name))
        };
        filled.insert(key.clone(), value);
    }
    let url = filled.remove(URL_PARAMETER).unwrap_or_default();
    let page_parameters = if filled.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&filled).expect("a map of strings is JSON")
    };
    let mut violations = Violations::new();
    if spec.page_kind == PageKind::ThirdPartyWebsite {
        violations.web_url(&format!("{field}.url"), &url);
    } else {
        violations.optional_text(&format!("{field}.url"), &url, limits::URL);
    }
    violations.optional_text(
        &format!("{field}.parameters"),
        &page_parameters,
        limits::TAB_PARAMETERS,
    );
    violations.finish()?;
    Ok(TabDraft {
        template: name.to_owned(),
        title: dictionary.title(&spec.title, name),
        title_pattern: slug::has_slugs(&spec.title).then(|| spec.title.clone()),
        page: TabPage {
            kind: spec.page_kind,
            url,
            parameters: page_parameters.into(),
        },
        can_close: spec.can_close,
        parameters: overrides.clone(),
    })
}

/// A toast's contents from its template, filled from `dictionary`.
pub fn toast_content(
    spec: &NotificationSpec,
    name: &str,
    dictionary: Dictionary<'_>,
) -> ToastContent {
    let or = |text: &str, default: &str| {
        if text.is_empty() {
            default.to_owned()
        } else {
            text.to_owned()
        }
    };
    ToastContent {
        title: dictionary.title(&spec.title, name),
        fields: spec
            .fields
            .iter()
            .map(|(label, value)| {
                let value = slug::fill(value, |name| dictionary.get(name));
                (
                    label.clone(),
                    slug::truncate(value, limits::NOTIFICATION_FIELD_VALUE),
                )
            })
            .collect(),
        countdown: spec.countdown,
        accept_text: or(&spec.accept_text, "Accept"),
        show_reject: spec.show_reject,
        reject_text: or(&spec.reject_text, "Reject"),
        auto_accept: spec.auto_accept,
    }
}
