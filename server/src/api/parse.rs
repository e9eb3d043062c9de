//! Requests into domain input: ids, enums and update masks. Everything here is checked
//! without looking anything up; a failure is INVALID_ARGUMENT naming the field.

use std::str::FromStr;

use cif_sdk::ids::{InvalidId, ProviderId};
use cif_sdk::pb;

use crate::domain::agent::{AgentPatch, LimitsPatch, NewAgent};
use crate::domain::provider::{NewProvider, ProviderFields, ProviderPatch};
use crate::domain::validate::Violations;
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

fn mask_paths(mask: Option<prost_types::FieldMask>) -> Vec<String> {
    mask.map(|mask| mask.paths).unwrap_or_default()
}

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

/// An UpdateProvider request: the fields the mask names, or with no mask every field set to
/// a non-default value.
pub fn provider_patch(
    provider: pb::Provider,
    mask: Option<prost_types::FieldMask>,
) -> DomainResult<ProviderPatch> {
    let paths = mask_paths(mask);
    let mut patch = ProviderPatch::default();
    if paths.is_empty() {
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
    }
    let everything = paths.iter().any(|path| path == "*");
    let named = |field: &str| everything || paths.iter().any(|path| path == field);
    for path in &paths {
        match path.as_str() {
            "*" => {}
            "id" | "create_time" | "update_time" => {
                return Err(immutable(path, "it is set by the server"));
            }
            "unique_name" => return Err(immutable(path, "it is set once, at creation")),
            "state" => {
                return Err(immutable(
                    path,
                    "use ActivateProvider or DeactivateProvider",
                ));
            }
            known if PROVIDER_PATHS.contains(&known) => {}
            unknown => return Err(unknown_path(unknown, "Provider", PROVIDER_PATHS)),
        }
    }
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
    let paths = mask_paths(mask);
    let limits = agent.limits.unwrap_or_default();
    let nonzero = |value: u32| (value != 0).then_some(value);
    if paths.is_empty() {
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
    }
    for path in &paths {
        match path.as_str() {
            "*" => {}
            "id" | "create_time" | "update_time" => {
                return Err(immutable(path, "it is set by the server"));
            }
            known if AGENT_PATHS.contains(&known) => {}
            unknown => return Err(unknown_path(unknown, "Agent", AGENT_PATHS)),
        }
    }
    let named = |field: &str| paths.iter().any(|path| path == "*" || path == field);
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
