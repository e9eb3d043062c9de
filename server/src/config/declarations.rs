//! The `--config` file's declarations: presences, providers, templates and agents, as arrays
//! of tables (`[[provider]]`, `[[agent]]`, ...). They are read before anything starts, so a
//! bad file stops startup with the line and field at fault, and applied to the state at
//! startup (see `domain::control_plane::reconcile`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use cif_sdk::ids::AgentId;
use serde::Deserialize;
use toml::Spanned;

use super::error::StartupError;
use crate::domain::catalogue::{NotificationSpec, SessionSpec, TabSpec, Template, TemplateSpec};
use crate::domain::control_plane::{Declaration, Declared, DeclaredAgent};
use crate::domain::desks::PageKind;
use crate::domain::desks::PanelMode;
use crate::domain::registry::LimitsPatch;
use crate::domain::registry::{NewProvider, ProviderFields};
use crate::domain::registry::{Presence, PresenceStatus};
use crate::domain::toasts::DEFAULT_COUNTDOWN;

/// The keys of the file that hold declarations rather than settings.
pub const DECLARATION_KEYS: &[&str] = &[
    "presence",
    "provider",
    "agent",
    "tab_template",
    "session_template",
    "notification_template",
];

#[derive(Deserialize, Default)]
struct File {
    #[serde(default)]
    presence: Vec<Spanned<PresenceDecl>>,
    #[serde(default)]
    provider: Vec<Spanned<ProviderDecl>>,
    #[serde(default)]
    agent: Vec<Spanned<AgentDecl>>,
    #[serde(default)]
    tab_template: Vec<Spanned<TabTemplateDecl>>,
    #[serde(default)]
    session_template: Vec<Spanned<SessionTemplateDecl>>,
    #[serde(default)]
    notification_template: Vec<Spanned<NotificationTemplateDecl>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceDecl {
    id: String,
    text: String,
    base_status: Status,
    #[serde(default)]
    color: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Status {
    Available,
    Busy,
    BusyDnd,
    Away,
    Offline,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderDecl {
    unique_name: String,
    display_name: String,
    label: String,
    channel_url: String,
    #[serde(default)]
    enable_outbound: bool,
    #[serde(default)]
    channel_order: i32,
    #[serde(default)]
    trusted_domain: String,
    #[serde(default)]
    custom_parameters: String,
    #[serde(default)]
    enable_analytics: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentDecl {
    /// The agent's id, a UUID the file fixes so the agent stays the same across restarts.
    id: AgentId,
    display_name: String,
    /// Unique names of the providers that may act for the agent; empty: every provider.
    #[serde(default)]
    providers: Vec<String>,
    max_open_sessions: Option<u32>,
    max_tabs_per_session: Option<u32>,
    max_queued_notifications: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TabTemplateDecl {
    unique_name: String,
    display_name: String,
    title: String,
    page_kind: Kind,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    #[serde(default = "yes")]
    can_close: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Dashboard,
    EntityList,
    EntityRecord,
    Search,
    ThirdPartyWebsite,
    WebResource,
    Control,
    CustomPage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionTemplateDecl {
    unique_name: String,
    display_name: String,
    title: String,
    panel_mode: Option<Mode>,
    anchor_tab: Option<String>,
    #[serde(default)]
    additional_tabs: Vec<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Minimized,
    Docked,
    Hidden,
    Collapsed,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationTemplateDecl {
    unique_name: String,
    display_name: String,
    title: String,
    #[serde(default)]
    fields: Vec<FieldDecl>,
    /// Unset: 120; 0: no limit.
    countdown_seconds: Option<u32>,
    #[serde(default)]
    accept_text: String,
    #[serde(default = "yes")]
    show_reject: bool,
    #[serde(default)]
    reject_text: String,
    #[serde(default)]
    auto_accept: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldDecl {
    label: String,
    value: String,
}

fn yes() -> bool {
    true
}

/// Reads the declarations of the `--config` file (none without one).
pub fn load(path: Option<&Path>) -> Result<Declared, StartupError> {
    let Some(path) = path else {
        return Ok(Declared::default());
    };
    let text = std::fs::read_to_string(path).map_err(|error| {
        StartupError::Config(format!("cannot read {}: {error}", path.display()))
    })?;
    parse(&path.display().to_string(), &text)
}

/// The declarations in `text`; `name` is how messages call the file.
pub fn parse(name: &str, text: &str) -> Result<Declared, StartupError> {
    // toml's errors say the line, the column and the field.
    let file: File =
        toml::from_str(text).map_err(|error| StartupError::Config(format!("{name}: {error}")))?;
    let place = |kind: &str, span: std::ops::Range<usize>, key: &str| {
        let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
        format!("{name} line {line} ([[{kind}]] {key})")
    };
    let mut declared = Declared::default();
    for decl in file.presence {
        let place = place("presence", decl.span(), &decl.get_ref().id);
        let decl = decl.into_inner();
        declared.presences.push(Declaration {
            place,
            item: Presence {
                id: decl.id,
                text: decl.text,
                base_status: match decl.base_status {
                    Status::Available => PresenceStatus::Available,
                    Status::Busy => PresenceStatus::Busy,
                    Status::BusyDnd => PresenceStatus::BusyDnd,
                    Status::Away => PresenceStatus::Away,
                    Status::Offline => PresenceStatus::Offline,
                },
                color: decl
                    .color
                    .unwrap_or_else(|| crate::domain::registry::DEFAULT_COLOR.to_owned()),
                managed: true,
            },
        });
    }
    for decl in file.provider {
        let place = place("provider", decl.span(), &decl.get_ref().unique_name);
        let decl = decl.into_inner();
        declared.providers.push(Declaration {
            place,
            item: NewProvider {
                unique_name: decl.unique_name,
                active: true,
                fields: ProviderFields {
                    display_name: decl.display_name,
                    label: decl.label,
                    channel_url: decl.channel_url,
                    enable_outbound: decl.enable_outbound,
                    channel_order: decl.channel_order,
                    api_version: String::new(),
                    trusted_domain: decl.trusted_domain,
                    custom_parameters: decl.custom_parameters,
                    enable_analytics: decl.enable_analytics,
                },
            },
        });
    }
    // Tab templates first: session templates name them.
    for decl in file.tab_template {
        let place = place("tab_template", decl.span(), &decl.get_ref().unique_name);
        let decl = decl.into_inner();
        let spec = TemplateSpec::Tab(TabSpec {
            title: decl.title,
            page_kind: page_kind(decl.page_kind),
            parameters: decl.parameters,
            can_close: decl.can_close,
        });
        declared.templates.push(Declaration {
            place,
            item: template(decl.unique_name, decl.display_name, spec),
        });
    }
    for decl in file.session_template {
        let place = place("session_template", decl.span(), &decl.get_ref().unique_name);
        let decl = decl.into_inner();
        let spec = TemplateSpec::Session(SessionSpec {
            title: decl.title,
            panel_mode: decl.panel_mode.map(|mode| match mode {
                Mode::Minimized => PanelMode::Minimized,
                Mode::Docked => PanelMode::Docked,
                Mode::Hidden => PanelMode::Hidden,
                Mode::Collapsed => PanelMode::Collapsed,
            }),
            anchor_tab: decl.anchor_tab,
            additional_tabs: decl.additional_tabs,
        });
        declared.templates.push(Declaration {
            place,
            item: template(decl.unique_name, decl.display_name, spec),
        });
    }
    for decl in file.notification_template {
        let place = place(
            "notification_template",
            decl.span(),
            &decl.get_ref().unique_name,
        );
        let decl = decl.into_inner();
        let countdown = match decl.countdown_seconds {
            None => Some(DEFAULT_COUNTDOWN),
            Some(0) => None,
            Some(seconds) if seconds <= crate::domain::validate::limits::COUNTDOWN_SECONDS_MAX => {
                Some(Duration::from_secs(u64::from(seconds)))
            }
            Some(seconds) => {
                return Err(StartupError::Config(format!(
                    "{place}: countdown_seconds is {seconds}; it must be between 0 and 500 (0: no limit; unset: 120)"
                )));
            }
        };
        let spec = TemplateSpec::Notification(NotificationSpec {
            title: decl.title,
            fields: decl
                .fields
                .into_iter()
                .map(|field| (field.label, field.value))
                .collect(),
            countdown,
            accept_text: decl.accept_text,
            show_reject: decl.show_reject,
            reject_text: decl.reject_text,
            auto_accept: decl.auto_accept,
        });
        declared.templates.push(Declaration {
            place,
            item: template(decl.unique_name, decl.display_name, spec),
        });
    }
    for decl in file.agent {
        let place = place("agent", decl.span(), &decl.get_ref().id.to_string());
        let decl = decl.into_inner();
        declared.agents.push(Declaration {
            place,
            item: DeclaredAgent {
                id: decl.id,
                display_name: decl.display_name,
                providers: decl.providers,
                limits: LimitsPatch {
                    max_open_sessions: decl.max_open_sessions,
                    max_tabs_per_session: decl.max_tabs_per_session,
                    max_queued_notifications: decl.max_queued_notifications,
                },
            },
        });
    }
    Ok(declared)
}

fn template(unique_name: String, display_name: String, spec: TemplateSpec) -> Template {
    Template {
        unique_name,
        display_name,
        spec,
        managed: true,
        created: std::time::UNIX_EPOCH,
        updated: std::time::UNIX_EPOCH,
    }
}

fn page_kind(kind: Kind) -> PageKind {
    match kind {
        Kind::Dashboard => PageKind::Dashboard,
        Kind::EntityList => PageKind::EntityList,
        Kind::EntityRecord => PageKind::EntityRecord,
        Kind::Search => PageKind::Search,
        Kind::ThirdPartyWebsite => PageKind::ThirdPartyWebsite,
        Kind::WebResource => PageKind::WebResource,
        Kind::Control => PageKind::Control,
        Kind::CustomPage => PageKind::CustomPage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_declares_every_kind_with_its_place() {
        let text = r#"
listen = "127.0.0.1:0"

[[presence]]
id = "available"
text = "Available"
base_status = "available"

[[provider]]
unique_name = "contoso_phone"
display_name = "Contoso telephony"
label = "Phone"
channel_url = "https://phone.contoso.com/widget"

[[tab_template]]
unique_name = "contoso_crm"
display_name = "Customer"
title = "Customer {customerName}"
page_kind = "third_party_website"
parameters = { url = "https://crm.example.com/c/{customerId}" }

[[session_template]]
unique_name = "contoso_call"
display_name = "Call"
title = "Call from {customerName}"
panel_mode = "docked"
anchor_tab = "contoso_crm"

[[notification_template]]
unique_name = "contoso_incoming"
display_name = "Incoming"
title = "Call from {customerName}"
fields = [{ label = "Queue", value = "{queue}" }]

[[agent]]
id = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11"
display_name = "Ada"
providers = ["contoso_phone"]
max_open_sessions = 5
"#;
        let declared = parse("cifd.toml", text).unwrap();
        assert_eq!(declared.presences.len(), 1);
        assert_eq!(
            declared.providers[0].place,
            "cifd.toml line 9 ([[provider]] contoso_phone)"
        );
        let names: Vec<_> = declared
            .templates
            .iter()
            .map(|d| d.item.unique_name.as_str())
            .collect();
        assert_eq!(names, ["contoso_crm", "contoso_call", "contoso_incoming"]);
        assert_eq!(declared.agents[0].item.limits.max_open_sessions, Some(5));
    }

    #[test]
    fn a_bad_field_is_refused_with_its_line() {
        let text = "[[provider]]\nunique_name = \"contoso_phone\"\ndisplay_name = \"x\"\nlabel = \"x\"\nchannel_url = \"https://x.example.com\"\nchanel_order = 3\n";
        let error = parse("cifd.toml", text).err().unwrap().to_string();
        assert!(
            error.contains("line 6") && error.contains("chanel_order"),
            "{error}"
        );

        let text = "[[tab_template]]\nunique_name = \"a_b\"\ndisplay_name = \"x\"\ntitle = \"x\"\npage_kind = \"website\"\n";
        let error = parse("cifd.toml", text).err().unwrap().to_string();
        assert!(
            error.contains("line 5") && error.contains("third_party_website"),
            "{error}"
        );

        let text = "[[agent]]\nid = \"not-a-uuid\"\ndisplay_name = \"Ada\"\n";
        let error = parse("cifd.toml", text).err().unwrap().to_string();
        assert!(error.contains("line 2"), "{error}");
    }
}
