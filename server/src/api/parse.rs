//! Requests into domain input: ids, enums and update masks. Everything here is checked
//! without looking anything up; a failure is INVALID_ARGUMENT naming the field.

use std::str::FromStr;
use std::time::Duration;

use cif_sdk::ids::{InvalidId, ProviderId};
use cif_sdk::pb;

use crate::domain::desks::PanelMode;
use crate::domain::desks::{PageKind, TabPage};
use crate::domain::registry::{AgentPatch, LimitsPatch, NewAgent};
use crate::domain::registry::{DEFAULT_COLOR, Presence, PresencePatch, PresenceStatus};
use crate::domain::registry::{NewProvider, ProviderFields, ProviderPatch};
use crate::domain::toasts::{DEFAULT_COUNTDOWN, NewToast, ToastContent};
use crate::domain::validate::Violations;
use crate::domain::validate::limits;
use crate::domain::{DomainError, DomainResult, Reason};

/// A required id.
pub fn id<T: FromStr<Err = InvalidId>>(field: &str, text: &str) -> DomainResult<T> {
    optional_id(field, text)?.ok_or_else(|| {
        let mut violations = Violations::new();
        violations.add(
            field,
            Reason::FieldRequired,
            format!("{field} is required: give the id (a UUID)"),
        );
        violations.finish().unwrap_err()
    })
}

/// An optional id: empty means none.
pub fn optional_id<T: FromStr<Err = InvalidId>>(
    field: &str,
    text: &str,
) -> DomainResult<Option<T>> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|error: InvalidId| {
        let mut violations = Violations::new();
        violations.add(field, Reason::FieldMalformed, format!("{field}: {error}"));
        violations.finish().unwrap_err()
    })
}

/// A required sub-message.
pub fn required<T>(field: &str, value: Option<T>) -> DomainResult<T> {
    value.ok_or_else(|| {
        let mut violations = Violations::new();
        violations.add(field, Reason::FieldRequired, format!("{field} is required"));
        violations.finish().unwrap_err()
    })
}

fn provider_state_active(state: i32) -> DomainResult<bool> {
    match pb::ProviderState::try_from(state) {
        Ok(pb::ProviderState::Unspecified | pb::ProviderState::Active) => Ok(true),
        Ok(pb::ProviderState::Inactive) => Ok(false),
        Err(_) => {
            let mut violations = Violations::new();
            violations.add(
                "provider.state",
                Reason::FieldOutOfRange,
                format!("provider.state {state} is not a ProviderState; use PROVIDER_STATE_ACTIVE or PROVIDER_STATE_INACTIVE"),
            );
            Err(violations.finish().unwrap_err())
        }
    }
}

pub fn new_provider(provider: pb::Provider) -> DomainResult<NewProvider> {
    let active = provider_state_active(provider.state)?;
    Ok(NewProvider {
        unique_name: provider.unique_name,
        active,
        fields: ProviderFields {
            display_name: provider.display_name,
            label: provider.label,
            channel_url: provider.channel_url,
            enable_outbound: provider.enable_outbound,
            channel_order: provider.channel_order,
            api_version: provider.api_version,
            trusted_domain: provider.trusted_domain,
            custom_parameters: provider.custom_parameters,
            enable_analytics: provider.enable_analytics,
        },
    })
}

/// The fields an update names (AIP-134), checked against the resource's: `None` without a
/// mask (the caller then takes every field the request sets), every updatable field for
/// `*`. A field that cannot be changed this way is refused with why (`fixed`), any other
/// unknown one with the fields that can.
fn update_mask(
    mask: Option<prost_types::FieldMask>,
    resource: &str,
    updatable: &[&'static str],
    fixed: &[(&str, &str)],
) -> DomainResult<Option<Vec<&'static str>>> {
    let paths = mask.map(|mask| mask.paths).unwrap_or_default();
    if paths.is_empty() {
        return Ok(None);
    }
    let mut chosen = Vec::new();
    for path in &paths {
        if path == "*" {
            return Ok(Some(updatable.to_vec()));
        }
        if let Some((_, how)) = fixed.iter().find(|(field, _)| field == path) {
            return Err(immutable(path, how));
        }
        match updatable.iter().find(|field| **field == path) {
            Some(field) => chosen.push(*field),
            None => return Err(unknown_path(path, resource, updatable)),
        }
    }
    Ok(Some(chosen))
}

/// Fields of every resource that only the server sets.
const SERVER_SET: [(&str, &str); 3] = [
    ("id", "it is set by the server"),
    ("create_time", "it is set by the server"),
    ("update_time", "it is set by the server"),
];

fn immutable(field: &str, how: &str) -> DomainError {
    let mut violations = Violations::new();
    violations.add(
        format!("update_mask.paths[{field:?}]"),
        Reason::FieldImmutable,
        format!("{field} cannot be changed by an update; {how}"),
    );
    violations.finish().unwrap_err()
}

fn unknown_path(path: &str, resource: &str, known: &[&str]) -> DomainError {
    let mut violations = Violations::new();
    violations.add(
        format!("update_mask.paths[{path:?}]"),
        Reason::FieldMalformed,
        format!(
            "{path:?} is not an updatable field of {resource}; use one of {}",
            known.join(", ")
        ),
    );
    violations.finish().unwrap_err()
}

const PROVIDER_PATHS: &[&str] = &[
    "display_name",
    "label",
    "channel_url",
    "enable_outbound",
    "channel_order",
    "api_version",
    "trusted_domain",
    "custom_parameters",
    "enable_analytics",
];

/// The fields an update of a template changes (AIP-134): the mask's paths, every updatable
/// field for `*`, or every field the request sets when there is no mask.
pub fn template_paths(
    mask: Option<prost_types::FieldMask>,
    resource: &str,
    known: &[&'static str],
    is_set: impl Fn(&str) -> bool,
) -> DomainResult<Vec<&'static str>> {
    let fixed = [
        ("unique_name", "it is set once, at creation"),
        ("managed", "it is output only"),
        ("create_time", "it is output only"),
        ("update_time", "it is output only"),
    ];
    Ok(match update_mask(mask, resource, known, &fixed)? {
        Some(chosen) => chosen,
        None => known.iter().copied().filter(|path| is_set(path)).collect(),
    })
}

/// An UpdateProvider request: the fields the mask names, or with no mask every field set to
/// a non-default value.
pub fn provider_patch(
    provider: pb::Provider,
    mask: Option<prost_types::FieldMask>,
) -> DomainResult<ProviderPatch> {
    let fixed = [
        SERVER_SET[0],
        SERVER_SET[1],
        SERVER_SET[2],
        ("unique_name", "it is set once, at creation"),
        ("state", "use ActivateProvider or DeactivateProvider"),
    ];
    let mut patch = ProviderPatch::default();
    let Some(chosen) = update_mask(mask, "Provider", PROVIDER_PATHS, &fixed)? else {
        let text = |value: String| (!value.is_empty()).then_some(value);
        patch.display_name = text(provider.display_name);
        patch.label = text(provider.label);
        patch.channel_url = text(provider.channel_url);
        patch.enable_outbound = provider.enable_outbound.then_some(true);
        patch.channel_order = (provider.channel_order != 0).then_some(provider.channel_order);
        patch.api_version = text(provider.api_version);
        patch.trusted_domain = text(provider.trusted_domain);
        patch.custom_parameters = text(provider.custom_parameters);
        patch.enable_analytics = provider.enable_analytics.then_some(true);
        return Ok(patch);
    };
    let named = |field: &str| chosen.contains(&field);
    if named("display_name") {
        patch.display_name = Some(provider.display_name);
    }
    if named("label") {
        patch.label = Some(provider.label);
    }
    if named("channel_url") {
        patch.channel_url = Some(provider.channel_url);
    }
    if named("enable_outbound") {
        patch.enable_outbound = Some(provider.enable_outbound);
    }
    if named("channel_order") {
        patch.channel_order = Some(provider.channel_order);
    }
    if named("api_version") {
        patch.api_version = Some(provider.api_version);
    }
    if named("trusted_domain") {
        patch.trusted_domain = Some(provider.trusted_domain);
    }
    if named("custom_parameters") {
        patch.custom_parameters = Some(provider.custom_parameters);
    }
    if named("enable_analytics") {
        patch.enable_analytics = Some(provider.enable_analytics);
    }
    Ok(patch)
}

fn profile(ids: &[String]) -> DomainResult<Vec<ProviderId>> {
    ids.iter()
        .enumerate()
        .map(|(index, text)| id(&format!("agent.provider_ids[{index}]"), text))
        .collect()
}

pub fn new_agent(agent: pb::Agent) -> DomainResult<NewAgent> {
    let limits = agent.limits.unwrap_or_default();
    Ok(NewAgent {
        profile: profile(&agent.provider_ids)?,
        display_name: agent.display_name,
        limits: LimitsPatch {
            max_open_sessions: Some(limits.max_open_sessions),
            max_tabs_per_session: Some(limits.max_tabs_per_session),
            max_queued_notifications: Some(limits.max_queued_notifications),
        },
    })
}

const AGENT_PATHS: &[&str] = &[
    "display_name",
    "provider_ids",
    "limits",
    "limits.max_open_sessions",
    "limits.max_tabs_per_session",
    "limits.max_queued_notifications",
];

/// An UpdateAgent request, read like [`provider_patch`].
pub fn agent_patch(
    agent: pb::Agent,
    mask: Option<prost_types::FieldMask>,
) -> DomainResult<AgentPatch> {
    let limits = agent.limits.unwrap_or_default();
    let nonzero = |value: u32| (value != 0).then_some(value);
    let Some(chosen) = update_mask(mask, "Agent", AGENT_PATHS, &SERVER_SET)? else {
        return Ok(AgentPatch {
            display_name: (!agent.display_name.is_empty()).then_some(agent.display_name),
            profile: if agent.provider_ids.is_empty() {
                None
            } else {
                Some(profile(&agent.provider_ids)?)
            },
            limits: LimitsPatch {
                max_open_sessions: nonzero(limits.max_open_sessions),
                max_tabs_per_session: nonzero(limits.max_tabs_per_session),
                max_queued_notifications: nonzero(limits.max_queued_notifications),
            },
        });
    };
    let named = |field: &str| chosen.contains(&field);
    let limit = |field: &str, value: u32| (named("limits") || named(field)).then_some(value);
    Ok(AgentPatch {
        display_name: named("display_name").then_some(agent.display_name),
        profile: if named("provider_ids") {
            Some(profile(&agent.provider_ids)?)
        } else {
            None
        },
        limits: LimitsPatch {
            max_open_sessions: limit("limits.max_open_sessions", limits.max_open_sessions),
            max_tabs_per_session: limit("limits.max_tabs_per_session", limits.max_tabs_per_session),
            max_queued_notifications: limit(
                "limits.max_queued_notifications",
                limits.max_queued_notifications,
            ),
        },
    })
}

fn out_of_range(field: &str, message: String) -> DomainError {
    let mut violations = Violations::new();
    violations.add(field, Reason::FieldOutOfRange, message);
    violations.finish().unwrap_err()
}

/// A required panel mode.
pub fn panel_mode(field: &str, value: i32) -> DomainResult<PanelMode> {
    match pb::PanelMode::try_from(value) {
        Ok(pb::PanelMode::Minimized) => Ok(PanelMode::Minimized),
        Ok(pb::PanelMode::Docked) => Ok(PanelMode::Docked),
        Ok(pb::PanelMode::Hidden) => Ok(PanelMode::Hidden),
        Ok(pb::PanelMode::Collapsed) => Ok(PanelMode::Collapsed),
        Ok(pb::PanelMode::Unspecified) | Err(_) => Err(out_of_range(
            field,
            format!(
                "{field} {value} is not a panel mode; use PANEL_MODE_MINIMIZED, _DOCKED, _HIDDEN or _COLLAPSED"
            ),
        )),
    }
}

/// A required page kind.
pub fn page_kind(field: &str, value: i32) -> DomainResult<PageKind> {
    Ok(match pb::PageKind::try_from(value) {
        Ok(pb::PageKind::Dashboard) => PageKind::Dashboard,
        Ok(pb::PageKind::EntityList) => PageKind::EntityList,
        Ok(pb::PageKind::EntityRecord) => PageKind::EntityRecord,
        Ok(pb::PageKind::Search) => PageKind::Search,
        Ok(pb::PageKind::ThirdPartyWebsite) => PageKind::ThirdPartyWebsite,
        Ok(pb::PageKind::WebResource) => PageKind::WebResource,
        Ok(pb::PageKind::Control) => PageKind::Control,
        Ok(pb::PageKind::CustomPage) => PageKind::CustomPage,
        Ok(pb::PageKind::Unspecified) | Err(_) => {
            return Err(out_of_range(
                field,
                format!(
                    "{field} {value} is not a page kind; use one of the PAGE_KIND_ values, e.g. PAGE_KIND_THIRD_PARTY_WEBSITE"
                ),
            ));
        }
    })
}

/// How much of the desk an answer carries; unset is the whole desk.
pub fn desk_view(value: i32) -> DomainResult<pb::DeskView> {
    pb::DeskView::try_from(value).map_err(|_| {
        out_of_range(
            "view",
            format!("view {value} is not a desk view; use DESK_VIEW_FULL or DESK_VIEW_BASIC"),
        )
    })
}

/// A tab page, when one is given.
pub fn tab_page(page: Option<pb::TabPage>) -> DomainResult<Option<TabPage>> {
    page.map(|page| {
        Ok(TabPage {
            kind: page_kind("page.kind", page.kind)?,
            url: page.url.into(),
            parameters: page.parameters.into(),
        })
    })
    .transpose()
}

/// A toast's countdown: unset is CIF's default, 0 no limit.
pub fn countdown(field: &str, seconds: Option<u32>) -> DomainResult<Option<Duration>> {
    match seconds {
        None => Ok(Some(DEFAULT_COUNTDOWN)),
        Some(0) => Ok(None),
        Some(seconds) if seconds <= limits::COUNTDOWN_SECONDS_MAX => {
            Ok(Some(Duration::from_secs(u64::from(seconds))))
        }
        Some(seconds) => Err(out_of_range(
            field,
            format!(
                "{field} is {seconds}; it must be between 0 and {} (0: no limit; unset: 120)",
                limits::COUNTDOWN_SECONDS_MAX
            ),
        )),
    }
}

fn presence_status(value: i32) -> DomainResult<PresenceStatus> {
    match pb::PresenceStatus::try_from(value) {
        Ok(pb::PresenceStatus::Available) => Ok(PresenceStatus::Available),
        Ok(pb::PresenceStatus::Busy) => Ok(PresenceStatus::Busy),
        Ok(pb::PresenceStatus::BusyDnd) => Ok(PresenceStatus::BusyDnd),
        Ok(pb::PresenceStatus::Away) => Ok(PresenceStatus::Away),
        Ok(pb::PresenceStatus::Offline) => Ok(PresenceStatus::Offline),
        Ok(pb::PresenceStatus::Unspecified) | Err(_) => Err(out_of_range(
            "presence.base_status",
            format!(
                "presence.base_status {value} is not a presence status; use one of the PRESENCE_STATUS_ values"
            ),
        )),
    }
}

pub fn presence(presence: pb::Presence) -> DomainResult<Presence> {
    Ok(Presence {
        base_status: presence_status(presence.base_status)?,
        id: presence.presence_id,
        text: presence.text,
        color: if presence.color.is_empty() {
            DEFAULT_COLOR.to_owned()
        } else {
            presence.color
        },
        managed: false,
    })
}

const PRESENCE_PATHS: &[&str] = &["text", "base_status", "color"];

pub fn presence_patch(
    presence: pb::Presence,
    mask: Option<prost_types::FieldMask>,
) -> DomainResult<PresencePatch> {
    let fixed = [("presence_id", "it is set once, at creation")];
    let chosen = update_mask(mask, "Presence", PRESENCE_PATHS, &fixed)?;
    let named = |field: &str| chosen.as_ref().map(|chosen| chosen.contains(&field));
    let text = match named("text") {
        None => (!presence.text.is_empty()).then_some(presence.text),
        Some(true) => Some(presence.text),
        Some(false) => None,
    };
    let color = match named("color") {
        None => (!presence.color.is_empty()).then_some(presence.color),
        Some(true) => Some(presence.color),
        Some(false) => None,
    };
    let base_status = match named("base_status") {
        None if presence.base_status == 0 => None,
        None | Some(true) => Some(presence_status(presence.base_status)?),
        Some(false) => None,
    };
    Ok(PresencePatch {
        text,
        base_status,
        color,
    })
}

/// A NotifyEvent request into a toast to raise.
pub fn new_toast(request: pb::NotifyEventRequest) -> DomainResult<NewToast> {
    let agent = id("agent_id", &request.agent_id)?;
    let notification = id("notification_id", &request.notification_id)?;
    let session = optional_id("session_id", &request.session_id)?;
    if !request.template.is_empty() {
        // With a template, the template decides everything but the title.
        let mut violations = Violations::new();
        for (field, given) in [
            ("fields", !request.fields.is_empty()),
            ("countdown_seconds", request.countdown_seconds.is_some()),
            ("accept_text", !request.accept_text.is_empty()),
            ("show_reject", request.show_reject.is_some()),
            ("reject_text", !request.reject_text.is_empty()),
            ("auto_accept", request.auto_accept),
        ] {
            if given {
                violations.add(
                    field,
                    Reason::FieldMalformed,
                    format!(
                        "{field} comes from notification template {}; leave it out, or change the template",
                        request.template
                    ),
                );
            }
        }
        violations.finish()?;
    }
    let text_or = |text: String, default: &str| {
        if text.is_empty() {
            default.to_owned()
        } else {
            text
        }
    };
    Ok(NewToast {
        agent,
        id: notification,
        session,
        content: ToastContent {
            title: request.title,
            fields: request
                .fields
                .into_iter()
                .map(|field| (field.label, field.value))
                .collect(),
            countdown: countdown("countdown_seconds", request.countdown_seconds)?,
            accept_text: text_or(request.accept_text, "Accept"),
            show_reject: request.show_reject.unwrap_or(true),
            reject_text: text_or(request.reject_text, "Reject"),
            auto_accept: request.auto_accept,
        },
        template: request.template,
        parameters: request.parameters.into_iter().collect(),
    })
}
