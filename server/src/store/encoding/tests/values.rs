//! Realistic values of every stored type, with their optional fields set (`full`) or empty.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cif_sdk::ids::{AgentId, NotificationId, ProviderId, SessionId, TabId};

use crate::domain::CredentialHash;
use crate::domain::catalogue::{NotificationSpec, SessionSpec, TabSpec, Template, TemplateSpec};
use crate::domain::control_plane::StoredAgent;
use crate::domain::desks::{
    Context, Desk, Marks, PageKind, PanelMode, Session, SessionKind, Tab, TabOrigin, TabPage,
};
use crate::domain::registry::{
    AgentLimits, AgentRecord, Presence, PresenceStatus, ProviderFields, ProviderRecord,
};
use crate::domain::toasts::{Canceller, Outcome, Toast, ToastContent, ToastKey};

/// Seconds from the epoch of the times below (October 2025); each time has nanoseconds, so
/// a conversion that rounds to milliseconds or microseconds fails.
const NOW: u64 = 1_760_000_000;

pub(super) fn at(offset: u64) -> SystemTime {
    UNIX_EPOCH + Duration::new(NOW + offset, 123_456_789)
}

fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

pub(super) fn provider(full: bool) -> ProviderRecord {
    let text = |value: &str| {
        if full {
            value.to_owned()
        } else {
            String::new()
        }
    };
    ProviderRecord {
        id: ProviderId::generate(),
        unique_name: "contoso_chat".into(),
        fields: ProviderFields {
            display_name: "Contoso Chat".into(),
            label: text("Chat"),
            channel_url: text("https://chat.contoso.com/widget"),
            enable_outbound: full,
            channel_order: if full { 3 } else { 0 },
            api_version: text("2"),
            trusted_domain: text("https://chat.contoso.com"),
            custom_parameters: text("{\"tenant\":\"emea\"}"),
            enable_analytics: full,
        },
        active: full,
        created: at(0),
        updated: at(60),
        credential: CredentialHash(std::array::from_fn(|i| i as u8 * 7)),
        managed: full,
    }
}

pub(super) fn agent(full: bool) -> StoredAgent {
    let home = SessionId::generate();
    let record = AgentRecord {
        id: AgentId::generate(),
        display_name: "Ada Lovelace".into(),
        profile: if full {
            vec![ProviderId::generate(), ProviderId::generate()]
        } else {
            Vec::new()
        },
        limits: AgentLimits {
            max_open_sessions: 5,
            max_tabs_per_session: 7,
            max_queued_notifications: 3,
        },
        created: at(0),
        updated: at(1),
        credential: CredentialHash([0xA5; 32]),
        managed: full,
    };
    let mut desk = Desk::new(home);
    if full {
        let (first, second) = (SessionId::generate(), SessionId::generate());
        desk.open = vec![first, second];
        desk.focus(second);
        desk.focus(first);
        desk.panel_mode = PanelMode::Collapsed;
        desk.panel_width = 512;
        desk.presence = Some(presence(PresenceStatus::BusyDnd, true));
        desk.version = 41;
        desk.click_to_act = [
            (ProviderId::generate(), true),
            (ProviderId::generate(), false),
        ]
        .into_iter()
        .collect();
    }
    StoredAgent {
        agent: record,
        desk,
    }
}

pub(super) fn presence(status: PresenceStatus, managed: bool) -> Presence {
    Presence {
        id: "in_a_call".into(),
        text: "In a call".into(),
        base_status: status,
        color: "#C62828".into(),
        managed,
    }
}

pub(super) fn tab(session: SessionId, opener: ProviderId, n: u64, full: bool) -> Tab {
    Tab {
        id: TabId::generate(),
        session,
        title: format!("Customer {n}"),
        page: TabPage {
            kind: if full {
                PageKind::ThirdPartyWebsite
            } else {
                PageKind::Dashboard
            },
            url: if full {
                format!("https://crm.contoso.com/customer/{n}")
            } else {
                String::new()
            }
            .into(),
            parameters: if full {
                format!("{{\"id\":{n}}}")
            } else {
                String::new()
            }
            .into(),
        },
        can_close: n > 0,
        anchor: full && n == 0,
        origin: TabOrigin {
            template: if full { "contoso_crm_customer" } else { "" }.into(),
            title_pattern: full.then(|| "Customer {customerId}".into()),
            parameters: if full {
                string_map(&[
                    ("customerId", &n.to_string()),
                    ("url", "https://crm.contoso.com"),
                ])
            } else {
                BTreeMap::new()
            },
        }
        .kept(),
        opened_by: opener,
        created: at(10 + n),
    }
}

/// A provider's session with three tabs (`full`), or the home session with every optional
/// field empty and three bare tabs.
pub(super) fn session(full: bool) -> Session {
    let id = SessionId::generate();
    let owner = ProviderId::generate();
    let tabs: Vec<Tab> = (0..3).map(|n| tab(id, owner, n, full)).collect();
    let context: Context = if full {
        [
            ("customerId", "42"),
            ("channel", "chat"),
            ("language", "en-GB"),
        ]
        .into_iter()
        .map(|(key, value)| (key.into(), value.into()))
        .collect()
    } else {
        Context::new()
    };
    Session {
        id,
        agent: AgentId::generate(),
        kind: if full {
            SessionKind::Provider(owner)
        } else {
            SessionKind::Home
        },
        template: if full { "contoso_chat_session" } else { "" }.into(),
        title: "Chat with Grace Hopper".into(),
        title_pattern: full.then(|| "Chat with {customerName}".into()),
        context: context.into(),
        created: at(5),
        closed: full.then(|| at(3600)),
        focused_tab: full.then(|| tabs[1].id),
        tabs: tabs.into_iter().map(Into::into).collect(),
        marks: if full {
            Marks {
                attention: Some(3),
                new_activity: Some(0),
                kpi_breach: Some("waited 95 s, the target is 60 s".into()),
            }
        } else {
            Marks::default()
        },
        version: 17,
    }
}

pub(super) fn toast(full: bool) -> Toast {
    Toast {
        key: ToastKey {
            provider: ProviderId::generate(),
            id: NotificationId::generate(),
        },
        agent: AgentId::generate(),
        session: full.then(SessionId::generate),
        content: ToastContent {
            title: "Incoming call".into(),
            // A label may repeat: fields are a list, not a map.
            fields: if full {
                vec![
                    ("Caller".into(), "Grace Hopper".into()),
                    ("Caller".into(), "+44 20 7946 0000".into()),
                ]
            } else {
                Vec::new()
            },
            countdown: full.then(|| Duration::new(120, 250_000_001)),
            accept_text: "Accept".into(),
            show_reject: full,
            reject_text: if full {
                "Decline".into()
            } else {
                String::new()
            },
            auto_accept: full,
        },
        template: if full {
            "contoso_call_toast".into()
        } else {
            String::new()
        },
        parameters: if full {
            string_map(&[("caller", "Grace")])
        } else {
            BTreeMap::new()
        },
        requested_title: if full {
            "Call from Grace".into()
        } else {
            String::new()
        },
        raised: at(20),
        shown: full.then(|| at(21)),
        queued: if full { 4 } else { 0 },
    }
}

fn template(spec: TemplateSpec, managed: bool) -> Template {
    Template {
        unique_name: "contoso_template".into(),
        display_name: "A template".into(),
        spec,
        managed,
        created: at(0),
        updated: at(2),
    }
}

pub(super) fn templates() -> Vec<Template> {
    let full_session = SessionSpec {
        title: "Chat with {customerName}".into(),
        panel_mode: Some(PanelMode::Minimized),
        anchor_tab: Some("contoso_crm_customer".into()),
        additional_tabs: vec!["contoso_kb".into(), "contoso_orders".into()],
    };
    let empty_session = SessionSpec {
        title: "Chat".into(),
        panel_mode: None,
        anchor_tab: None,
        additional_tabs: Vec::new(),
    };
    let tab = |full: bool| TabSpec {
        title: "Customer {customerId}".into(),
        page_kind: if full {
            PageKind::ThirdPartyWebsite
        } else {
            PageKind::CustomPage
        },
        parameters: if full {
            string_map(&[
                ("url", "https://crm.contoso.com/{customerId}"),
                ("view", "full"),
            ])
        } else {
            BTreeMap::new()
        },
        can_close: full,
    };
    let notification = |full: bool| NotificationSpec {
        title: "Call from {caller}".into(),
        fields: if full {
            vec![("Caller".into(), "{caller}".into())]
        } else {
            Vec::new()
        },
        countdown: full.then(|| Duration::from_millis(30_500)),
        accept_text: if full {
            "Take it".into()
        } else {
            String::new()
        },
        show_reject: full,
        reject_text: if full { "Pass".into() } else { String::new() },
        auto_accept: full,
    };
    vec![
        template(TemplateSpec::Session(full_session), true),
        template(TemplateSpec::Session(empty_session), false),
        template(TemplateSpec::Tab(tab(true)), true),
        template(TemplateSpec::Tab(tab(false)), false),
        template(TemplateSpec::Notification(notification(true)), true),
        template(TemplateSpec::Notification(notification(false)), false),
    ]
}

/// Every outcome, each canceller included.
pub(super) fn outcomes() -> Vec<Outcome> {
    let mut outcomes = vec![
        Outcome::Accepted,
        Outcome::AutoAccepted,
        Outcome::Declined,
        Outcome::DisplayTimeout,
        Outcome::QueueFull,
        Outcome::QueueTimeLimitExceeded,
    ];
    outcomes.extend(
        [
            Canceller::Provider,
            Canceller::SessionClosed,
            Canceller::ProviderDeactivated,
            Canceller::AgentDeleted,
            Canceller::ProviderNotAdmitted,
        ]
        .map(Outcome::Cancelled),
    );
    outcomes
}
