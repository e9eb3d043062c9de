//! The template catalogue (rule 15): the operator's session, application tab and notification
//! templates, in one namespace of unique names, each session template's tab templates
//! existing and of the right kind.

use std::time::SystemTime;

use super::template::{
    NotificationSpec, SessionSpec, TabSpec, Template, TemplateKind, TemplateSpec,
};
use crate::domain::error::{DomainError, DomainResult, Reason, refuse_if_managed};
use crate::domain::paging::{Page, collect};
use crate::domain::tracked::Tracked;

/// Every template, by unique name.
#[derive(Debug, Default)]
pub struct Catalogue {
    templates: Tracked<String, Template>,
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

impl Catalogue {
    /// The template of that kind and name: NOT_FOUND when there is none of any kind,
    /// FAILED_PRECONDITION (`TEMPLATE_KIND_MISMATCH`) when it is of another kind.
    pub fn get(&self, kind: TemplateKind, name: &str) -> DomainResult<&Template> {
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
    pub fn list(
        &self,
        kind: TemplateKind,
        after: Option<String>,
        limit: usize,
    ) -> Page<&Template, String> {
        use std::ops::Bound;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        collect(
            self.templates
                .range((start, Bound::Unbounded))
                .filter(|(_, template)| template.kind() == kind)
                .map(|(name, template)| (name.clone(), template)),
            limit,
        )
    }

    /// The tab templates a session template names must exist and be tab templates.
    fn check_references(&self, template: &Template) -> DomainResult<()> {
        for tab in template.tab_templates() {
            self.get(TemplateKind::Tab, tab)?;
        }
        Ok(())
    }

    /// CreateSessionTemplate / CreateTabTemplate / CreateNotificationTemplate.
    pub fn create(&mut self, mut template: Template, field: &str) -> DomainResult<Template> {
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
    pub fn update(
        &mut self,
        kind: TemplateKind,
        name: &str,
        field: &str,
        change: impl FnOnce(&mut Template) -> DomainResult<()>,
    ) -> DomainResult<Template> {
        let mut template = self.get(kind, name)?.clone();
        refuse_if_managed(template.managed, kind.describe(), name)?;
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
    pub fn delete(&mut self, kind: TemplateKind, name: &str) -> DomainResult<()> {
        let template = self.get(kind, name)?;
        refuse_if_managed(template.managed, kind.describe(), name)?;
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
    pub fn session_template(
        &self,
        name: &str,
    ) -> DomainResult<(&SessionSpec, Vec<(&str, &TabSpec)>)> {
        let template = self.get(TemplateKind::Session, name)?;
        let TemplateSpec::Session(spec) = &template.spec else {
            unreachable!("checked by kind");
        };
        let mut tabs = Vec::new();
        for tab in template.tab_templates() {
            let TemplateSpec::Tab(tab_spec) = &self.get(TemplateKind::Tab, tab)?.spec else {
                unreachable!("checked by kind");
            };
            tabs.push((tab, tab_spec));
        }
        Ok((spec, tabs))
    }

    pub fn tab_template(&self, name: &str) -> DomainResult<&TabSpec> {
        match &self.get(TemplateKind::Tab, name)?.spec {
            TemplateSpec::Tab(spec) => Ok(spec),
            _ => unreachable!("checked by kind"),
        }
    }

    pub fn notification_template(&self, name: &str) -> DomainResult<&NotificationSpec> {
        match &self.get(TemplateKind::Notification, name)?.spec {
            TemplateSpec::Notification(spec) => Ok(spec),
            _ => unreachable!("checked by kind"),
        }
    }
}

impl Catalogue {
    /// The catalogue as stored.
    pub fn restore(templates: Vec<Template>) -> Self {
        Self {
            templates: Tracked::loaded(
                templates
                    .into_iter()
                    .map(|template| (template.unique_name.clone(), template)),
            ),
        }
    }

    /// Makes the templates what another process's commands left them (a follower reading
    /// what the writer committed). Nothing counts as changed.
    pub fn apply(&mut self, changes: Vec<(String, Option<Template>)>) {
        for (name, template) in changes {
            match template {
                Some(template) => self.templates.insert(name, template),
                None => self.templates.remove(&name),
            };
        }
        self.forget_changes();
    }

    /// The templates changed since the last call: each with its value now, or `None` when
    /// deleted.
    pub fn take_changes(&mut self) -> Vec<(String, Option<Template>)> {
        self.templates.take_changes()
    }

    /// Forgets what changed, for a state nothing stores.
    pub fn forget_changes(&mut self) {
        self.templates.forget_touched();
    }

    /// Makes a declared template (the configuration file's) what the file says; the same
    /// declaration changes nothing.
    pub fn declare(&mut self, mut template: Template, now: SystemTime) -> DomainResult<()> {
        template.validate("template")?;
        template.managed = true;
        match self.templates.get(&template.unique_name) {
            Some(existing) if existing.kind() != template.kind() => {
                // Reported as the kind mismatch it is.
                self.get(template.kind(), &template.unique_name)?;
            }
            Some(existing) => {
                if existing.display_name != template.display_name
                    || existing.spec != template.spec
                    || !existing.managed
                {
                    self.check_references(&template)?;
                    (template.created, template.updated) = (existing.created, now);
                    self.templates
                        .insert(template.unique_name.clone(), template);
                }
            }
            None => {
                self.check_references(&template)?;
                (template.created, template.updated) = (now, now);
                self.templates
                    .insert(template.unique_name.clone(), template);
            }
        }
        Ok(())
    }

    /// Hands the templates the file no longer declares back to AdminService.
    pub fn release_undeclared(&mut self, declared: &[&str], now: SystemTime) {
        let released: Vec<String> = self
            .templates
            .values()
            .filter(|t| t.managed && !declared.contains(&t.unique_name.as_str()))
            .map(|t| t.unique_name.clone())
            .collect();
        for name in released {
            let template = self.templates.get_mut(&name).expect("listed above");
            (template.managed, template.updated) = (false, now);
        }
    }
}
