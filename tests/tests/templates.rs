//! Rule 15 through a real cifd and the SDK: the operator's template catalogue, and sessions,
//! tabs and toasts made from it, with slugs filled from parameters and context.

use std::collections::BTreeMap;

use cif_e2e::{
    AgentHandle, Harness, Options, PATIENCE, ProviderHandle, caught_up, describe, events_until,
    expect_refused, raise, shown, update_where,
};
use cif_sdk::{AdminClient, Update, pb};
use tonic::Code;

async fn harness() -> Harness {
    Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn crm_tab() -> pb::TabTemplate {
    pb::TabTemplate {
        unique_name: "contoso_crm".into(),
        display_name: "Customer record".into(),
        title: "Customer {customerName}".into(),
        page_kind: pb::PageKind::ThirdPartyWebsite as i32,
        parameters: map(&[
            ("url", "https://crm.example.com/search?q={customerName}"),
            ("entity", "contact"),
        ]),
        can_close: true,
        ..Default::default()
    }
}

fn notes_tab() -> pb::TabTemplate {
    pb::TabTemplate {
        unique_name: "contoso_notes".into(),
        display_name: "Call notes".into(),
        title: "Notes".into(),
        page_kind: pb::PageKind::ThirdPartyWebsite as i32,
        parameters: map(&[("url", "https://notes.example.com/{caseId}")]),
        can_close: false,
        ..Default::default()
    }
}

fn call_session() -> pb::SessionTemplate {
    pb::SessionTemplate {
        unique_name: "contoso_call".into(),
        display_name: "Phone call".into(),
        title: "Call from {customerName}".into(),
        panel_mode: pb::PanelMode::Minimized as i32,
        anchor_tab: "contoso_crm".into(),
        additional_tabs: vec!["contoso_notes".into()],
        ..Default::default()
    }
}

fn incoming_toast() -> pb::NotificationTemplate {
    pb::NotificationTemplate {
        unique_name: "contoso_incoming".into(),
        display_name: "Incoming call".into(),
        title: "Call from {customerName}".into(),
        fields: vec![pb::NotificationField {
            label: "Queue".into(),
            value: "{queue}".into(),
        }],
        countdown_seconds: Some(1),
        accept_text: "Answer".into(),
        show_reject: Some(false),
        auto_accept: true,
        ..Default::default()
    }
}

async fn catalogue(admin: &AdminClient) {
    for tab in [crm_tab(), notes_tab()] {
        admin
            .create_tab_template(pb::CreateTabTemplateRequest {
                tab_template: Some(tab),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    admin
        .create_session_template(pb::CreateSessionTemplateRequest {
            session_template: Some(call_session()),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .create_notification_template(pb::CreateNotificationTemplateRequest {
            notification_template: Some(incoming_toast()),
            ..Default::default()
        })
        .await
        .unwrap();
}

fn call_for(agent: &AgentHandle) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        agent_id: agent.id().into(),
        template: "contoso_call".into(),
        parameters: map(&[("customerName", "Maria García"), ("caseId", "42")]),
        context: map(&[("queue", "billing")]),
        tab_parameters: BTreeMap::from([(
            "contoso_crm".to_owned(),
            pb::TabParameters {
                values: map(&[("entity", "account")]),
            },
        )]),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_operator_keeps_a_catalogue_of_each_kind() {
    let harness = harness().await;
    let admin = &harness.admin;
    catalogue(admin).await;

    let read = admin
        .get_session_template(pb::GetSessionTemplateRequest {
            unique_name: "contoso_call".into(),
        })
        .await
        .unwrap()
        .session_template
        .unwrap();
    assert_eq!(read.title, "Call from {customerName}");
    assert!(read.create_time.is_some() && !read.managed);

    // Lists page through each kind only.
    let first = admin
        .list_tab_templates(pb::ListTabTemplatesRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.tab_templates[0].unique_name, "contoso_crm");
    let second = admin
        .list_tab_templates(pb::ListTabTemplatesRequest {
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .unwrap();
    assert_eq!(second.tab_templates[0].unique_name, "contoso_notes");
    assert!(second.next_page_token.is_empty());

    // Updates: a mask changes what it names; no mask, what the request sets.
    let updated = admin
        .update_notification_template(pb::UpdateNotificationTemplateRequest {
            notification_template: Some(pb::NotificationTemplate {
                unique_name: "contoso_incoming".into(),
                title: "Incoming: {customerName}".into(),
                accept_text: "ignored, not in the mask".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .notification_template
        .unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.accept_text.as_str()),
        ("Incoming: {customerName}", "Answer")
    );
    assert_eq!(updated.countdown_seconds, Some(1));
    let seconds = |time: Option<prost_types::Timestamp>| {
        let time = time.unwrap();
        (time.seconds, time.nanos)
    };
    assert!(seconds(updated.update_time) > seconds(updated.create_time));

    // Refusals, each with its reason.
    let taken = expect_refused(
        admin
            .create_notification_template(pb::CreateNotificationTemplateRequest {
                notification_template: Some(pb::NotificationTemplate {
                    unique_name: "contoso_call".into(),
                    ..incoming_toast()
                }),
                ..Default::default()
            })
            .await,
        Code::AlreadyExists,
        Some("TEMPLATE_NAME_TAKEN"),
    );
    assert!(taken.message().contains("session template"), "{taken}");
    let malformed = expect_refused(
        admin
            .create_tab_template(pb::CreateTabTemplateRequest {
                tab_template: Some(pb::TabTemplate {
                    unique_name: "crm".into(),
                    title: "Customer {customer".into(),
                    ..crm_tab()
                }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    let fields: Vec<&str> = malformed
        .field_violations()
        .iter()
        .map(|violation| violation.field.as_str())
        .collect();
    assert_eq!(fields, ["tab_template.unique_name", "tab_template.title"]);
    assert!(malformed.message().contains("never closed"), "{malformed}");
    expect_refused(
        admin
            .get_tab_template(pb::GetTabTemplateRequest {
                unique_name: "contoso_call".into(),
            })
            .await,
        Code::FailedPrecondition,
        Some("TEMPLATE_KIND_MISMATCH"),
    );
    let missing = expect_refused(
        admin
            .get_tab_template(pb::GetTabTemplateRequest {
                unique_name: "contoso_nothing".into(),
            })
            .await,
        Code::NotFound,
        Some("TEMPLATE_NOT_FOUND"),
    );
    assert!(missing.message().contains("contoso_nothing"), "{missing}");
    expect_refused(
        admin
            .update_session_template(pb::UpdateSessionTemplateRequest {
                session_template: Some(call_session()),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["unique_name".into()],
                }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_IMMUTABLE"),
    );
    let in_use = expect_refused(
        admin
            .delete_tab_template(pb::DeleteTabTemplateRequest {
                unique_name: "contoso_notes".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("TEMPLATE_IN_USE"),
    );
    assert!(in_use.message().contains("contoso_call"), "{in_use}");

    // Deleting the session template frees its tab templates.
    admin
        .delete_session_template(pb::DeleteSessionTemplateRequest {
            unique_name: "contoso_call".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .delete_tab_template(pb::DeleteTabTemplateRequest {
            unique_name: "contoso_notes".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

struct Floor {
    harness: Harness,
    phone: ProviderHandle,
    ada: AgentHandle,
}

async fn floor() -> Floor {
    let harness = harness().await;
    catalogue(&harness.admin).await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    Floor {
        harness,
        phone,
        ada,
    }
}

#[tokio::test]
async fn a_session_from_a_template_opens_its_tabs_and_keeps_its_anchor() {
    let Floor {
        harness,
        phone,
        ada,
    } = floor().await;
    let mut events = caught_up(phone.client.subscribe(vec![], false)).await;
    let created = phone.client.create_session(call_for(&ada)).await.unwrap();
    let session = created.session.unwrap();
    assert_eq!(session.title, "Call from Maria García");
    assert_eq!(
        session.context,
        map(&[
            ("customerName", "Maria García"),
            ("caseId", "42"),
            ("queue", "billing")
        ])
    );
    let [anchor, notes] = &session.tabs[..] else {
        panic!("the anchor and the notes tab: {:?}", session.tabs)
    };
    assert!(anchor.anchor && anchor.focused && !anchor.can_close);
    assert_eq!(anchor.template, "contoso_crm");
    assert_eq!(anchor.title, "Customer Maria García");
    let page = anchor.page.clone().unwrap();
    assert_eq!(
        page.url,
        "https://crm.example.com/search?q=Maria%20Garc%C3%ADa"
    );
    assert_eq!(page.parameters, r#"{"entity":"account"}"#);
    assert!(!notes.anchor && !notes.can_close);
    assert_eq!(
        notes.page.clone().unwrap().url,
        "https://notes.example.com/42"
    );

    // The provider hears the session (with its tabs) and the panel mode the template sets.
    let heard = events_until(&mut events, created.sequence).await;
    let kinds: Vec<_> = heard.iter().map(|(_, e)| describe(e).0).collect();
    assert_eq!(kinds, ["created", "mode"]);
    let desk = ada.client.get_desk(Default::default()).await.unwrap();
    assert_eq!(desk.desk.unwrap().panel_mode(), pb::PanelMode::Minimized);

    // Nobody closes the anchor tab; the agent does not close the notes tab, its opener does.
    for refused in [
        phone
            .client
            .close_tab(pb::CloseTabRequest {
                tab_id: anchor.id.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
        ada.client
            .close_tab(pb::AgentServiceCloseTabRequest {
                tab_id: anchor.id.clone(),
                ..Default::default()
            })
            .await
            .map(drop),
    ] {
        let error = expect_refused(
            refused,
            Code::FailedPrecondition,
            Some("ANCHOR_TAB_NOT_CLOSABLE"),
        );
        assert!(error.message().contains("anchor"), "{error}");
    }
    expect_refused(
        ada.client
            .close_tab(pb::AgentServiceCloseTabRequest {
                tab_id: notes.id.clone(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("TAB_NOT_CLOSABLE"),
    );
    phone
        .client
        .close_tab(pb::CloseTabRequest {
            tab_id: notes.id.clone(),
            ..Default::default()
        })
        .await
        .expect("its opener closes it");

    // A tab from a template: the call's parameters replace the template's and fill slugs
    // before the context.
    let tab = phone
        .client
        .create_tab(pb::CreateTabRequest {
            session_id: session.id.clone(),
            template: "contoso_crm".into(),
            parameters: map(&[("customerName", "Zoë & Co"), ("entity", "lead")]),
            ..Default::default()
        })
        .await
        .unwrap()
        .tab
        .unwrap();
    assert_eq!(tab.title, "Customer Zoë & Co");
    let page = tab.page.unwrap();
    assert_eq!(
        page.url,
        "https://crm.example.com/search?q=Zo%C3%AB%20%26%20Co"
    );
    assert_eq!(page.parameters, r#"{"entity":"lead"}"#);

    // The context changes a slug: the titles made from it follow, and the owner hears it.
    let before = harness
        .admin
        .get_server_info(Default::default())
        .await
        .unwrap()
        .sequence;
    let mut events = caught_up(phone.client.subscribe(vec![], false)).await;
    phone
        .client
        .update_session_context(pb::UpdateSessionContextRequest {
            session_id: session.id.clone(),
            set: map(&[("customerName", "Maria García-López")]),
            ..Default::default()
        })
        .await
        .unwrap();
    let heard = events_until(&mut events, before + 3).await;
    let described: Vec<_> = heard.iter().map(|(_, e)| describe(e)).collect();
    assert_eq!(
        described,
        [
            ("context", session.id.clone(), true),
            ("retitled", session.id.clone(), true),
            ("tab retitled", anchor.id.clone(), true),
        ],
        "the tab made with its own customerName keeps it"
    );
    let read = phone
        .client
        .get_session(pb::GetSessionRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(read.title, "Call from Maria García-López");
    assert_eq!(read.tabs[0].title, "Customer Maria García-López");
    assert_eq!(read.tabs[1].title, "Customer Zoë & Co");
}

#[tokio::test]
async fn template_calls_refuse_what_does_not_fit() {
    let Floor {
        harness: _server,
        phone,
        ada,
    } = floor().await;
    let unknown = expect_refused(
        phone
            .client
            .create_session(pb::CreateSessionRequest {
                template: "contoso_nothing".into(),
                ..call_for(&ada)
            })
            .await,
        Code::NotFound,
        Some("TEMPLATE_NOT_FOUND"),
    );
    assert!(unknown.message().contains("contoso_nothing"), "{unknown}");
    expect_refused(
        phone
            .client
            .create_session(pb::CreateSessionRequest {
                template: "contoso_crm".into(),
                ..call_for(&ada)
            })
            .await,
        Code::FailedPrecondition,
        Some("TEMPLATE_KIND_MISMATCH"),
    );
    let session = phone
        .client
        .create_session(call_for(&ada))
        .await
        .unwrap()
        .session
        .unwrap();
    let page_too = expect_refused(
        phone
            .client
            .create_tab(pb::CreateTabRequest {
                session_id: session.id.clone(),
                template: "contoso_crm".into(),
                page: Some(pb::TabPage {
                    kind: pb::PageKind::Dashboard as i32,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    assert_eq!(page_too.field_violations()[0].field, "page");
    expect_refused(
        phone
            .client
            .create_tab(pb::CreateTabRequest {
                session_id: session.id.clone(),
                title: "No page".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_REQUIRED"),
    );
    let inline = expect_refused(
        phone
            .client
            .notify_event(pb::NotifyEventRequest {
                agent_id: ada.id().into(),
                notification_id: "0199f0c8-51c4-7bb0-9d8e-000000000009".into(),
                template: "contoso_incoming".into(),
                countdown_seconds: Some(5),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    assert!(inline.message().contains("contoso_incoming"), "{inline}");
    // A URL slug value is encoded, so it cannot break out of the URL.
    let tab = phone
        .client
        .create_tab(pb::CreateTabRequest {
            session_id: session.id,
            template: "contoso_crm".into(),
            parameters: map(&[("customerName", "x#frag?y=1&z=https://evil.example.com")]),
            ..Default::default()
        })
        .await
        .unwrap()
        .tab
        .unwrap();
    assert_eq!(
        tab.page.unwrap().url,
        "https://crm.example.com/search?q=x%23frag%3Fy%3D1%26z%3Dhttps%3A%2F%2Fevil.example.com"
    );
}

#[tokio::test]
async fn a_toast_from_a_template_shows_its_fields_and_auto_accepts_on_its_countdown() {
    let Floor {
        harness: _server,
        phone,
        ada,
    } = floor().await;
    let session = phone
        .client
        .create_session(call_for(&ada))
        .await
        .unwrap()
        .session
        .unwrap();
    let mut desk = caught_up(ada.client.subscribe(false)).await;
    let call = raise(
        &phone,
        pb::NotifyEventRequest {
            agent_id: ada.id().into(),
            notification_id: "0199f0c8-51c4-7bb0-9d8e-000000000001".into(),
            session_id: session.id.clone(),
            template: "contoso_incoming".into(),
            parameters: map(&[("customerName", "Ana")]),
            ..Default::default()
        },
    );
    let toast = shown(&mut desk).await;
    assert_eq!(toast.template, "contoso_incoming");
    assert_eq!(toast.title, "Call from Ana", "the call's parameters first");
    assert_eq!(
        toast.fields,
        [pb::NotificationField {
            label: "Queue".into(),
            value: "billing".into(),
        }],
        "then the session's context"
    );
    assert_eq!(toast.countdown_seconds, 1);
    assert_eq!(toast.accept_text, "Answer");
    assert!(!toast.show_reject && toast.auto_accept);
    let result = tokio::time::timeout(PATIENCE, call)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .result
        .unwrap();
    assert_eq!(result.outcome(), pb::NotificationOutcome::AutoAccepted);
    // The desk saw it end too.
    update_where(&mut desk, "toast resolved", |update| match update {
        Update::Event { event, .. } => (describe(&event).0 == "toast resolved").then_some(()),
        _ => None,
    })
    .await;
}
