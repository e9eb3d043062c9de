//! The operator's template calls, once for the three kinds: each kind's message says how it
//! converts and which fields an update may name ([`TemplateMessage`]); the calls are generic.

use std::time::UNIX_EPOCH;

use cif_sdk::pb;
use tonic::Status;

use super::audit::{Audit, Resource};
use super::call::operator_once as once;
use super::call::{Context, command, query};
use super::page_token::page_size;
use super::{convert, parse};
use crate::domain::DomainResult;
use crate::domain::catalogue::{
    NotificationSpec, SessionSpec, TabSpec, Template, TemplateKind, TemplateSpec,
};

/// A template's protobuf message.
pub trait TemplateMessage: prost::Message + Default + Clone + Send + Sync + 'static {
    const KIND: TemplateKind;
    /// Its full message name, e.g. `cif.v1.SessionTemplate`.
    const TYPE_NAME: &'static str;
    /// The request field holding it, e.g. `session_template`.
    const FIELD: &'static str;
    /// The fields an update may name.
    const PATHS: &'static [&'static str];
    fn unique_name(&self) -> &str;
    fn to_domain(self) -> DomainResult<Template>;
    fn from_domain(template: &Template) -> Self;
    /// Copies the field at `path` from `from`.
    fn copy_field(&mut self, from: &Self, path: &str);
    /// Whether the field at `path` holds a non-default value (for an update without a mask).
    fn is_set(&self, path: &str) -> bool;
}

fn template(unique_name: String, display_name: String, spec: TemplateSpec) -> Template {
    // The domain sets the times and keeps `managed` as stored.
    Template {
        unique_name,
        display_name,
        spec,
        managed: false,
        created: UNIX_EPOCH,
        updated: UNIX_EPOCH,
    }
}

impl TemplateMessage for pb::SessionTemplate {
    const TYPE_NAME: &'static str = "cif.v1.SessionTemplate";
    const KIND: TemplateKind = TemplateKind::Session;
    const FIELD: &'static str = "session_template";
    const PATHS: &'static [&'static str] = &[
        "display_name",
        "title",
        "panel_mode",
        "anchor_tab",
        "additional_tabs",
    ];

    fn unique_name(&self) -> &str {
        &self.unique_name
    }

    fn to_domain(self) -> DomainResult<Template> {
        let panel_mode = match self.panel_mode {
            0 => None,
            mode => Some(parse::panel_mode("session_template.panel_mode", mode)?),
        };
        Ok(template(
            self.unique_name,
            self.display_name,
            TemplateSpec::Session(SessionSpec {
                title: self.title,
                panel_mode,
                anchor_tab: (!self.anchor_tab.is_empty()).then_some(self.anchor_tab),
                additional_tabs: self.additional_tabs,
            }),
        ))
    }

    fn from_domain(template: &Template) -> Self {
        let TemplateSpec::Session(spec) = &template.spec else {
            unreachable!("a session template");
        };
        Self {
            unique_name: template.unique_name.clone(),
            display_name: template.display_name.clone(),
            title: spec.title.clone(),
            panel_mode: spec
                .panel_mode
                .map_or(0, |mode| convert::panel_mode(mode) as i32),
            anchor_tab: spec.anchor_tab.clone().unwrap_or_default(),
            additional_tabs: spec.additional_tabs.clone(),
            managed: template.managed,
            create_time: Some(convert::timestamp(template.created)),
            update_time: Some(convert::timestamp(template.updated)),
        }
    }

    fn copy_field(&mut self, from: &Self, path: &str) {
        match path {
            "display_name" => self.display_name = from.display_name.clone(),
            "title" => self.title = from.title.clone(),
            "panel_mode" => self.panel_mode = from.panel_mode,
            "anchor_tab" => self.anchor_tab = from.anchor_tab.clone(),
            "additional_tabs" => self.additional_tabs = from.additional_tabs.clone(),
            _ => {}
        }
    }

    fn is_set(&self, path: &str) -> bool {
        match path {
            "display_name" => !self.display_name.is_empty(),
            "title" => !self.title.is_empty(),
            "panel_mode" => self.panel_mode != 0,
            "anchor_tab" => !self.anchor_tab.is_empty(),
            "additional_tabs" => !self.additional_tabs.is_empty(),
            _ => false,
        }
    }
}

impl TemplateMessage for pb::TabTemplate {
    const TYPE_NAME: &'static str = "cif.v1.TabTemplate";
    const KIND: TemplateKind = TemplateKind::Tab;
    const FIELD: &'static str = "tab_template";
    const PATHS: &'static [&'static str] = &[
        "display_name",
        "title",
        "page_kind",
        "parameters",
        "can_close",
    ];

    fn unique_name(&self) -> &str {
        &self.unique_name
    }

    fn to_domain(self) -> DomainResult<Template> {
        let page_kind = parse::page_kind("tab_template.page_kind", self.page_kind)?;
        Ok(template(
            self.unique_name,
            self.display_name,
            TemplateSpec::Tab(TabSpec {
                title: self.title,
                page_kind,
                parameters: self.parameters,
                can_close: self.can_close,
            }),
        ))
    }

    fn from_domain(template: &Template) -> Self {
        let TemplateSpec::Tab(spec) = &template.spec else {
            unreachable!("a tab template");
        };
        Self {
            unique_name: template.unique_name.clone(),
            display_name: template.display_name.clone(),
            title: spec.title.clone(),
            page_kind: convert::page_kind(spec.page_kind) as i32,
            parameters: spec.parameters.clone(),
            can_close: spec.can_close,
            managed: template.managed,
            create_time: Some(convert::timestamp(template.created)),
            update_time: Some(convert::timestamp(template.updated)),
        }
    }

    fn copy_field(&mut self, from: &Self, path: &str) {
        match path {
            "display_name" => self.display_name = from.display_name.clone(),
            "title" => self.title = from.title.clone(),
            "page_kind" => self.page_kind = from.page_kind,
            "parameters" => self.parameters = from.parameters.clone(),
            "can_close" => self.can_close = from.can_close,
            _ => {}
        }
    }

    fn is_set(&self, path: &str) -> bool {
        match path {
            "display_name" => !self.display_name.is_empty(),
            "title" => !self.title.is_empty(),
            "page_kind" => self.page_kind != 0,
            "parameters" => !self.parameters.is_empty(),
            "can_close" => self.can_close,
            _ => false,
        }
    }
}

impl TemplateMessage for pb::NotificationTemplate {
    const TYPE_NAME: &'static str = "cif.v1.NotificationTemplate";
    const KIND: TemplateKind = TemplateKind::Notification;
    const FIELD: &'static str = "notification_template";
    const PATHS: &'static [&'static str] = &[
        "display_name",
        "title",
        "fields",
        "countdown_seconds",
        "accept_text",
        "show_reject",
        "reject_text",
        "auto_accept",
    ];

    fn unique_name(&self) -> &str {
        &self.unique_name
    }

    fn to_domain(self) -> DomainResult<Template> {
        let countdown = parse::countdown(
            "notification_template.countdown_seconds",
            self.countdown_seconds,
        )?;
        Ok(template(
            self.unique_name,
            self.display_name,
            TemplateSpec::Notification(NotificationSpec {
                title: self.title,
                fields: self
                    .fields
                    .into_iter()
                    .map(|field| (field.label, field.value))
                    .collect(),
                countdown,
                accept_text: self.accept_text,
                show_reject: self.show_reject.unwrap_or(true),
                reject_text: self.reject_text,
                auto_accept: self.auto_accept,
            }),
        ))
    }

    fn from_domain(template: &Template) -> Self {
        let TemplateSpec::Notification(spec) = &template.spec else {
            unreachable!("a notification template");
        };
        Self {
            unique_name: template.unique_name.clone(),
            display_name: template.display_name.clone(),
            title: spec.title.clone(),
            fields: spec
                .fields
                .iter()
                .map(|(label, value)| pb::NotificationField {
                    label: label.clone(),
                    value: value.clone(),
                })
                .collect(),
            countdown_seconds: Some(convert::countdown_seconds(spec.countdown)),
            accept_text: spec.accept_text.clone(),
            show_reject: Some(spec.show_reject),
            reject_text: spec.reject_text.clone(),
            auto_accept: spec.auto_accept,
            managed: template.managed,
            create_time: Some(convert::timestamp(template.created)),
            update_time: Some(convert::timestamp(template.updated)),
        }
    }

    fn copy_field(&mut self, from: &Self, path: &str) {
        match path {
            "display_name" => self.display_name = from.display_name.clone(),
            "title" => self.title = from.title.clone(),
            "fields" => self.fields = from.fields.clone(),
            "countdown_seconds" => self.countdown_seconds = from.countdown_seconds,
            "accept_text" => self.accept_text = from.accept_text.clone(),
            "show_reject" => self.show_reject = from.show_reject,
            "reject_text" => self.reject_text = from.reject_text.clone(),
            "auto_accept" => self.auto_accept = from.auto_accept,
            _ => {}
        }
    }

    fn is_set(&self, path: &str) -> bool {
        match path {
            "display_name" => !self.display_name.is_empty(),
            "title" => !self.title.is_empty(),
            "fields" => !self.fields.is_empty(),
            "countdown_seconds" => self.countdown_seconds.is_some(),
            "accept_text" => !self.accept_text.is_empty(),
            "show_reject" => self.show_reject.is_some(),
            "reject_text" => !self.reject_text.is_empty(),
            "auto_accept" => self.auto_accept,
            _ => false,
        }
    }
}

/// A template of message `M`, as the audit trail keeps it.
fn resource<M: TemplateMessage>(name: &str) -> Resource {
    Resource::Template {
        kind: M::KIND,
        name: name.to_owned(),
        type_name: M::TYPE_NAME,
        encode: |template| M::from_domain(template).encode_to_vec(),
    }
}

/// A template of `kind`, as the audit trail keeps it.
pub(super) fn resource_of(kind: TemplateKind, name: &str) -> Resource {
    match kind {
        TemplateKind::Session => resource::<pb::SessionTemplate>(name),
        TemplateKind::Tab => resource::<pb::TabTemplate>(name),
        TemplateKind::Notification => resource::<pb::NotificationTemplate>(name),
    }
}

/// Create: the stored template.
pub async fn create<M: TemplateMessage, R: Responds>(
    context: &Context,
    audit: Audit,
    message: Option<M>,
    request_id: &str,
    request: &R,
    answer: impl FnOnce(M) -> R::Answer + Send + 'static,
) -> Result<tonic::Response<R::Answer>, Status> {
    let once = once(request_id, request)?;
    let template = parse::required(M::FIELD, message)?.to_domain()?;
    command(&context.state, once, move |plane| {
        let template = plane.catalogue_mut().create(template, M::FIELD)?;
        audit.created(plane, &resource::<M>(&template.unique_name));
        Ok(answer(M::from_domain(&template)))
    })
    .await
}

/// Update with a field mask (AIP-134).
pub async fn update<M: TemplateMessage, R: Responds>(
    context: &Context,
    audit: Audit,
    message: Option<M>,
    mask: Option<prost_types::FieldMask>,
    request_id: &str,
    request: &R,
    answer: impl FnOnce(M) -> R::Answer + Send + 'static,
) -> Result<tonic::Response<R::Answer>, Status> {
    let once = once(request_id, request)?;
    let given = parse::required(M::FIELD, message)?;
    let paths = parse::template_paths(mask, M::FIELD, M::PATHS, |path| given.is_set(path))?;
    let name = given.unique_name().to_owned();
    command(&context.state, once, move |plane| {
        let template = audit.change(plane, &resource::<M>(&name), |plane| {
            plane
                .catalogue_mut()
                .update(M::KIND, &name, M::FIELD, |current| {
                    let mut message = M::from_domain(current);
                    for path in &paths {
                        message.copy_field(&given, path);
                    }
                    let changed = message.to_domain()?;
                    (current.display_name, current.spec) = (changed.display_name, changed.spec);
                    Ok(())
                })
        })?;
        Ok(answer(M::from_domain(&template)))
    })
    .await
}

/// Delete.
pub async fn delete<M: TemplateMessage, R: Responds>(
    context: &Context,
    audit: Audit,
    name: String,
    request_id: &str,
    request: &R,
    answer: R::Answer,
) -> Result<tonic::Response<R::Answer>, Status> {
    let once = once(request_id, request)?;
    command(&context.state, once, move |plane| {
        audit.change(plane, &resource::<M>(&name), |plane| {
            plane.catalogue_mut().delete(M::KIND, &name)
        })?;
        Ok(answer)
    })
    .await
}

/// Get.
pub async fn get<M: TemplateMessage>(context: &Context, name: &str) -> Result<M, Status> {
    let (message, _) = query(&context.state, |core| {
        Ok(M::from_domain(core.plane.catalogue().get(M::KIND, name)?))
    })
    .await?;
    Ok(message)
}

/// One page of a list, and the next page's token.
pub async fn list<M: TemplateMessage>(
    context: &Context,
    requested_size: i32,
    token: &str,
) -> Result<(Vec<M>, String), Status> {
    let limit = page_size(requested_size)?;
    let key = format!("admin.{}s", M::FIELD);
    let after = context
        .page_tokens
        .read_bytes(&key, token)?
        .map(|cursor| String::from_utf8_lossy(&cursor).into_owned());
    let ((items, next), _) = query(&context.state, |core| {
        let page = core.plane.catalogue().list(M::KIND, after, limit);
        Ok((
            page.items.into_iter().map(M::from_domain).collect(),
            page.next,
        ))
    })
    .await?;
    let next = next
        .map(|name| context.page_tokens.issue_bytes(&key, name.as_bytes()))
        .unwrap_or_default();
    Ok((items, next))
}

/// A request and the response it gets.
pub trait Responds: prost::Message {
    type Answer: crate::app::Answer;
}

macro_rules! responds {
    ($($request:ident => $response:ident),* $(,)?) => {
        $(impl Responds for pb::$request {
            type Answer = pb::$response;
        })*
    };
}

responds!(
    CreateSessionTemplateRequest => CreateSessionTemplateResponse,
    UpdateSessionTemplateRequest => UpdateSessionTemplateResponse,
    DeleteSessionTemplateRequest => DeleteSessionTemplateResponse,
    CreateTabTemplateRequest => CreateTabTemplateResponse,
    UpdateTabTemplateRequest => UpdateTabTemplateResponse,
    DeleteTabTemplateRequest => DeleteTabTemplateResponse,
    CreateNotificationTemplateRequest => CreateNotificationTemplateResponse,
    UpdateNotificationTemplateRequest => UpdateNotificationTemplateResponse,
    DeleteNotificationTemplateRequest => DeleteNotificationTemplateResponse,
);
