//! Bad input for every call of the desk: each refusal's status, reason and named field, and
//! that nothing was applied.

use cif_e2e::{Harness, expect_refused, session_for};
use cif_sdk::pb;
use tonic::Code;

const UNKNOWN_ID: &str = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11";

#[track_caller]
fn expect_invalid<T: std::fmt::Debug>(
    result: Result<T, cif_sdk::Error>,
    reason: &str,
    field: &str,
) {
    let error = expect_refused(result, Code::InvalidArgument, Some(reason));
    let fields: Vec<_> = error
        .field_violations()
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert!(
        fields.contains(&field),
        "{field} not among {fields:?}: {error}"
    );
}

fn long(length: usize) -> String {
    "x".repeat(length)
}

fn page(kind: pb::PageKind, url: &str) -> Option<pb::TabPage> {
    Some(pb::TabPage {
        kind: kind as i32,
        url: url.into(),
        parameters: String::new(),
    })
}

#[tokio::test]
async fn tab_calls_refuse_bad_ids_lengths_kinds_and_urls() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "Chat"))
        .await
        .unwrap()
        .session
        .unwrap();
    let tab = |change: fn(&mut pb::CreateTabRequest)| {
        let mut request = pb::CreateTabRequest {
            session_id: session.id.clone(),
            title: "Customer".into(),
            page: page(pb::PageKind::EntityRecord, ""),
            ..Default::default()
        };
        change(&mut request);
        chat.client.create_tab(request)
    };
    expect_invalid(
        tab(|r| r.session_id.clear()).await,
        "FIELD_REQUIRED",
        "session_id",
    );
    expect_invalid(
        tab(|r| r.session_id = "nope".into()).await,
        "FIELD_MALFORMED",
        "session_id",
    );
    expect_invalid(tab(|r| r.title.clear()).await, "FIELD_REQUIRED", "title");
    expect_invalid(
        tab(|r| r.title = long(201)).await,
        "FIELD_TOO_LONG",
        "title",
    );
    expect_invalid(
        tab(|r| r.template = long(129)).await,
        "FIELD_TOO_LONG",
        "template",
    );
    expect_invalid(tab(|r| r.page = None).await, "FIELD_REQUIRED", "page");
    expect_invalid(
        tab(|r| r.page = page(pb::PageKind::Unspecified, "")).await,
        "FIELD_OUT_OF_RANGE",
        "page.kind",
    );
    expect_invalid(
        tab(|r| {
            r.page = Some(pb::TabPage {
                kind: 99,
                ..Default::default()
            })
        })
        .await,
        "FIELD_OUT_OF_RANGE",
        "page.kind",
    );
    expect_invalid(
        tab(|r| r.page = page(pb::PageKind::ThirdPartyWebsite, "")).await,
        "FIELD_REQUIRED",
        "page.url",
    );
    expect_invalid(
        tab(|r| r.page = page(pb::PageKind::ThirdPartyWebsite, "ftp://files.example.com")).await,
        "FIELD_MALFORMED",
        "page.url",
    );
    expect_invalid(
        tab(|r| {
            r.page = Some(pb::TabPage {
                kind: pb::PageKind::WebResource as i32,
                url: String::new(),
                parameters: long(2049),
            })
        })
        .await,
        "FIELD_TOO_LONG",
        "page.parameters",
    );
    expect_refused(
        tab(|r| r.session_id = UNKNOWN_ID.into()).await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    let listed = chat
        .client
        .list_tabs(pb::ListTabsRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap();
    assert!(listed.tabs.is_empty(), "no refused create left a tab");

    for (id, code, reason) in [
        ("", Code::InvalidArgument, "FIELD_REQUIRED"),
        ("nope", Code::InvalidArgument, "FIELD_MALFORMED"),
        (UNKNOWN_ID, Code::NotFound, "TAB_NOT_FOUND"),
    ] {
        let tab_id = id.to_owned();
        expect_refused(
            chat.client
                .focus_tab(pb::FocusTabRequest {
                    tab_id: tab_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            chat.client
                .refresh_tab(pb::RefreshTabRequest {
                    tab_id: tab_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            chat.client
                .close_tab(pb::CloseTabRequest {
                    tab_id: tab_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            chat.client
                .set_tab_title(pb::SetTabTitleRequest {
                    tab_id: tab_id.clone(),
                    title: "t".into(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            ada.client
                .focus_tab(pb::AgentServiceFocusTabRequest {
                    tab_id: tab_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            ada.client
                .close_tab(pb::AgentServiceCloseTabRequest {
                    tab_id,
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
    }
    let created = chat
        .client
        .create_tab(pb::CreateTabRequest {
            session_id: session.id.clone(),
            title: "Customer".into(),
            page: page(pb::PageKind::Dashboard, ""),
            ..Default::default()
        })
        .await
        .unwrap()
        .tab
        .unwrap();
    expect_invalid(
        chat.client
            .set_tab_title(pb::SetTabTitleRequest {
                tab_id: created.id.clone(),
                title: long(201),
                ..Default::default()
            })
            .await,
        "FIELD_TOO_LONG",
        "title",
    );
    expect_refused(
        phone
            .client
            .list_tabs(pb::ListTabsRequest {
                session_id: session.id.clone(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
}

#[tokio::test]
async fn marks_title_and_context_refuse_bad_input() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "Chat"))
        .await
        .unwrap()
        .session
        .unwrap();
    let id = session.id.clone();
    expect_invalid(
        chat.client
            .notify_new_activity(pb::NotifyNewActivityRequest {
                session_id: id.clone(),
                count: -1,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "count",
    );
    expect_invalid(
        chat.client
            .request_focus_session(pb::RequestFocusSessionRequest {
                session_id: "nope".into(),
                messages_count: 1,
                ..Default::default()
            })
            .await,
        "FIELD_MALFORMED",
        "session_id",
    );
    expect_invalid(
        chat.client
            .notify_kpi_breach(pb::NotifyKpiBreachRequest {
                session_id: id.clone(),
                reset: false,
                details: long(2001),
                ..Default::default()
            })
            .await,
        "FIELD_TOO_LONG",
        "details",
    );
    expect_invalid(
        chat.client
            .set_session_title(pb::SetSessionTitleRequest {
                session_id: id.clone(),
                title: String::new(),
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "title",
    );
    expect_invalid(
        chat.client
            .update_session_context(pb::UpdateSessionContextRequest {
                session_id: id.clone(),
                set: [(long(101), "v".to_string())].into(),
                delete: vec![],
                ..Default::default()
            })
            .await,
        "FIELD_TOO_LONG",
        &format!("set key {:?}", long(101)),
    );
    expect_invalid(
        chat.client
            .update_session_context(pb::UpdateSessionContextRequest {
                session_id: id.clone(),
                set: Default::default(),
                delete: vec![String::new()],
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "delete[0]",
    );
    // Closed sessions take no marks.
    ada.client
        .close_session(pb::CloseSessionRequest {
            session_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        chat.client
            .request_focus_session(pb::RequestFocusSessionRequest {
                session_id: id.clone(),
                messages_count: 1,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("SESSION_NOT_OPEN"),
    );
}

#[tokio::test]
async fn panel_presence_toast_and_event_calls_refuse_bad_input() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[&chat]).await;
    let _desk = cif_e2e::caught_up(ada.client.subscribe(false)).await;
    let agent_id = ada.id().to_owned();

    // Panel: unknown modes, narrow widths, for the provider and the agent.
    for mode in [0, 9] {
        expect_invalid(
            chat.client
                .set_mode(pb::SetModeRequest {
                    agent_id: agent_id.clone(),
                    mode,
                    ..Default::default()
                })
                .await,
            "FIELD_OUT_OF_RANGE",
            "mode",
        );
        expect_invalid(
            ada.client
                .set_mode(pb::AgentServiceSetModeRequest {
                    mode,
                    ..Default::default()
                })
                .await,
            "FIELD_OUT_OF_RANGE",
            "mode",
        );
    }
    expect_invalid(
        chat.client
            .set_width(pb::SetWidthRequest {
                agent_id: agent_id.clone(),
                width: 299,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "width",
    );
    expect_invalid(
        ada.client
            .set_width(pb::AgentServiceSetWidthRequest {
                width: 120,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "width",
    );
    expect_invalid(
        ada.client
            .set_width(pb::AgentServiceSetWidthRequest {
                width: 10_001,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "width",
    );
    let width = chat
        .client
        .get_width(pb::GetWidthRequest {
            agent_id: agent_id.clone(),
        })
        .await
        .unwrap()
        .width;
    assert_eq!(width, 340, "refusals changed nothing");
    expect_invalid(
        chat.client
            .get_mode(pb::GetModeRequest {
                agent_id: String::new(),
            })
            .await,
        "FIELD_REQUIRED",
        "agent_id",
    );

    // Presence: the operator's list and the setters.
    let presence =
        |id: &str, text: &str, status: pb::PresenceStatus, color: &str| pb::CreatePresenceRequest {
            presence: Some(pb::Presence {
                presence_id: id.into(),
                text: text.into(),
                base_status: status as i32,
                color: color.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
    let admin = &harness.admin;
    expect_invalid(
        admin
            .create_presence(pb::CreatePresenceRequest {
                presence: None,
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "presence",
    );
    expect_invalid(
        admin
            .create_presence(presence("a b", "Away", pb::PresenceStatus::Away, ""))
            .await,
        "FIELD_MALFORMED",
        "presence.presence_id",
    );
    expect_invalid(
        admin
            .create_presence(presence("away", "", pb::PresenceStatus::Away, ""))
            .await,
        "FIELD_REQUIRED",
        "presence.text",
    );
    expect_invalid(
        admin
            .create_presence(presence(
                "away",
                "Away",
                pb::PresenceStatus::Unspecified,
                "",
            ))
            .await,
        "FIELD_OUT_OF_RANGE",
        "presence.base_status",
    );
    expect_invalid(
        admin
            .create_presence(presence("away", "Away", pb::PresenceStatus::Away, "red"))
            .await,
        "FIELD_MALFORMED",
        "presence.color",
    );
    admin
        .create_presence(presence(
            "away",
            "Away",
            pb::PresenceStatus::Away,
            "#FFA000",
        ))
        .await
        .unwrap();
    expect_refused(
        admin
            .create_presence(presence("away", "Away 2", pb::PresenceStatus::Away, ""))
            .await,
        Code::AlreadyExists,
        Some("PRESENCE_ID_TAKEN"),
    );
    expect_refused(
        admin
            .create_presence(presence("away2", "Away", pb::PresenceStatus::Away, ""))
            .await,
        Code::AlreadyExists,
        Some("PRESENCE_TEXT_TAKEN"),
    );
    expect_refused(
        admin
            .delete_presence(pb::DeletePresenceRequest {
                presence_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("PRESENCE_NOT_FOUND"),
    );
    let updated = admin
        .update_presence(pb::UpdatePresenceRequest {
            presence: Some(pb::Presence {
                presence_id: "away".into(),
                text: "Out".into(),
                ..Default::default()
            }),
            update_mask: None,
            ..Default::default()
        })
        .await
        .unwrap()
        .presence
        .unwrap();
    assert_eq!(
        (updated.text.as_str(), updated.color.as_str()),
        ("Out", "#FFA000")
    );
    expect_refused(
        chat.client
            .set_presence(pb::SetPresenceRequest {
                agent_id: agent_id.clone(),
                presence_text: "Away".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("PRESENCE_NOT_FOUND"),
    );
    expect_invalid(
        chat.client
            .set_presence(pb::SetPresenceRequest {
                agent_id: agent_id.clone(),
                presence_text: String::new(),
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "presence_text",
    );
    expect_refused(
        ada.client
            .set_presence(pb::AgentServiceSetPresenceRequest {
                presence_id: "lunch".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("PRESENCE_NOT_FOUND"),
    );

    // Toasts.
    let toast = |change: fn(&mut pb::NotifyEventRequest)| {
        let mut request = pb::NotifyEventRequest {
            agent_id: agent_id.clone(),
            notification_id: UNKNOWN_ID.into(),
            title: "Call".into(),
            ..Default::default()
        };
        change(&mut request);
        chat.client.notify_event(request)
    };
    expect_invalid(
        toast(|r| r.notification_id.clear()).await,
        "FIELD_REQUIRED",
        "notification_id",
    );
    expect_invalid(
        toast(|r| r.notification_id = "nope".into()).await,
        "FIELD_MALFORMED",
        "notification_id",
    );
    expect_invalid(toast(|r| r.title.clear()).await, "FIELD_REQUIRED", "title");
    expect_invalid(
        toast(|r| r.countdown_seconds = Some(501)).await,
        "FIELD_OUT_OF_RANGE",
        "countdown_seconds",
    );
    expect_invalid(
        toast(|r| r.accept_text = long(51)).await,
        "FIELD_TOO_LONG",
        "accept_text",
    );
    expect_invalid(
        toast(|r| r.reject_text = long(51)).await,
        "FIELD_TOO_LONG",
        "reject_text",
    );
    expect_invalid(
        toast(|r| {
            r.fields = vec![
                pb::NotificationField {
                    label: "l".into(),
                    value: "v".into()
                };
                11
            ]
        })
        .await,
        "FIELD_OUT_OF_RANGE",
        "fields",
    );
    expect_invalid(
        toast(|r| {
            r.fields = vec![pb::NotificationField {
                label: String::new(),
                value: long(1001),
            }]
        })
        .await,
        "FIELD_REQUIRED",
        "fields[0].label",
    );
    expect_refused(
        toast(|r| r.session_id = UNKNOWN_ID.into()).await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    expect_refused(
        chat.client
            .cancel_event(pb::CancelEventRequest {
                notification_id: UNKNOWN_ID.into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("NOTIFICATION_NOT_FOUND"),
    );
    expect_invalid(
        ada.client
            .respond_to_notification(pb::RespondToNotificationRequest {
                provider_id: chat.id().into(),
                notification_id: String::new(),
                accept: true,
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "notification_id",
    );
    assert!(
        ada.client
            .get_desk(pb::GetDeskRequest {})
            .await
            .unwrap()
            .desk
            .unwrap()
            .notifications
            .is_empty()
    );

    // Custom events and click-to-act.
    expect_invalid(
        chat.client
            .raise_event(pb::RaiseEventRequest {
                agent_id: agent_id.clone(),
                name: String::new(),
                payload: String::new(),
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "name",
    );
    expect_invalid(
        chat.client
            .raise_event(pb::RaiseEventRequest {
                agent_id: agent_id.clone(),
                name: long(101),
                payload: String::new(),
                ..Default::default()
            })
            .await,
        "FIELD_TOO_LONG",
        "name",
    );
    expect_invalid(
        ada.client
            .raise_event(pb::AgentServiceRaiseEventRequest {
                provider_id: String::new(),
                name: "n".into(),
                payload: long(16 * 1024 + 1),
                ..Default::default()
            })
            .await,
        "FIELD_TOO_LONG",
        "payload",
    );
    expect_invalid(
        ada.client
            .raise_event(pb::AgentServiceRaiseEventRequest {
                provider_id: "nope".into(),
                name: "n".into(),
                payload: String::new(),
                ..Default::default()
            })
            .await,
        "FIELD_MALFORMED",
        "provider_id",
    );
    expect_invalid(
        ada.client
            .click_to_act(pb::ClickToActRequest::default())
            .await,
        "FIELD_REQUIRED",
        "value",
    );
    expect_invalid(
        ada.client
            .click_to_act(pb::ClickToActRequest {
                value: "1".into(),
                name: long(101),
                ..Default::default()
            })
            .await,
        "FIELD_TOO_LONG",
        "name",
    );
}
