//! What is made from templates: a session's title, a tab's title and page, a toast's
//! contents, each with its `{slugs}` filled from the call's parameters, then the session's
//! context.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{ProviderId, SessionId, TabId};

use super::template::{NotificationSpec, TabSpec, URL_PARAMETER};
use crate::domain::desks::Context;
use crate::domain::desks::{PageKind, Tab, TabOrigin, TabPage};
use crate::domain::error::DomainResult;
use crate::domain::slug;
use crate::domain::toasts::ToastContent;
use crate::domain::validate::{UrlPolicy, Violations, limits};

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
            .map(String::as_str)
            .or_else(|| self.context.get(name).map(|value| value.as_str()))
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
            title: self.title,
            page: self.page,
            can_close: self.can_close,
            anchor: false,
            origin: TabOrigin {
                template: self.template.into(),
                title_pattern: self.title_pattern.map(Into::into),
                parameters: self.parameters,
            }
            .kept(),
            opened_by,
            created: now,
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
    urls: &UrlPolicy,
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
        violations.website_url(&format!("{field}.url"), &url, urls);
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
            url: url.into(),
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
