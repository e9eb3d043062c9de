//! A database written by an earlier cifd opens in this one with everything in it. The fixture
//! (`tests/fixtures/store/written-at-schema-2.db`) was written by cifd while its store kept
//! records and events as JSON (schema 2), before any change of their encoding: every later
//! store must read it, migrating it if it must. `write_the_fixture` (ignored) wrote it:
//! `cargo test -p cif-e2e --test store_fixture -- --ignored`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use cif_e2e::{Harness, Options, events_until, provider_spec, session_for};
use cif_sdk::{AgentClient, ProviderClient, pb};

fn fixture() -> PathBuf {
    cif_e2e::repository().join("tests/fixtures/store/written-at-schema-2.db")
}

/// The request id of the one call the fixture's store remembers answering.
const REMEMBERED_REQUEST: &str = "0199f0c8-51c4-7bb0-9d8e-00000000f1c5";

/// What the fixture holds: two providers, two agents, a presence, templates of each kind, open
/// sessions with tabs, context and marks, a closed one, a desk's panel, presence and
/// click-to-act, a remembered request id, and the events of all that.
async fn populate(harness: &Harness) {
    let admin = &harness.admin;
    harness
        .presence("busy", "Busy", pb::PresenceStatus::Busy)
        .await;
    let chat = harness
        .admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(pb::Provider {
                label: "Chat".into(),
                enable_outbound: true,
                ..provider_spec("contoso_chat")
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let phone = harness.provider("fabrikam_phone").await;
    let chat = ProviderClient::new(harness.channel.clone(), &chat.credential).unwrap();
    admin
        .create_tab_template(pb::CreateTabTemplateRequest {
            tab_template: Some(pb::TabTemplate {
                unique_name: "contoso_crm".into(),
                display_name: "Customer record".into(),
                title: "Customer {customerName}".into(),
                page_kind: pb::PageKind::ThirdPartyWebsite as i32,
                parameters: BTreeMap::from([(
                    "url".into(),
                    "https://crm.example.com/search?q={customerName}".into(),
                )]),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .create_session_template(pb::CreateSessionTemplateRequest {
            session_template: Some(pb::SessionTemplate {
                unique_name: "chat_session".into(),
                display_name: "Chat".into(),
                title: "Chat with {customerName}".into(),
                anchor_tab: "contoso_crm".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .create_notification_template(pb::CreateNotificationTemplateRequest {
            notification_template: Some(pb::NotificationTemplate {
                unique_name: "contoso_consent".into(),
                display_name: "Chat request".into(),
                title: "Chat with {customerName}?".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let ada = harness.agent("Ada", &[]).await;
    let bob = harness.agent("Bob", &[]).await;

    let mut request = session_for(&ada, "");
    request.template = "chat_session".into();
    request
        .context
        .insert("customerName".into(), "Maria".into());
    request.request_id = REMEMBERED_REQUEST.into();
    chat.create_session(request).await.unwrap();
    let call = phone
        .client
        .create_session(session_for(&ada, "+1 555 0100"))
        .await
        .unwrap()
        .session
        .unwrap();
    phone
        .client
        .create_tab(pb::CreateTabRequest {
            session_id: call.id.clone(),
            title: "Dialer".into(),
            page: Some(pb::TabPage {
                kind: pb::PageKind::Dashboard as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let home = ada.home_session_id().await;
    ada.client
        .switch_session(pb::SwitchSessionRequest {
            session_id: home,
            ..Default::default()
        })
        .await
        .unwrap();
    phone
        .client
        .request_focus_session(pb::RequestFocusSessionRequest {
            session_id: call.id,
            messages_count: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    ada.client
        .set_presence(pb::AgentServiceSetPresenceRequest {
            presence_id: "busy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    ada.client
        .set_mode(pb::AgentServiceSetModeRequest {
            mode: pb::PanelMode::Minimized as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    phone
        .client
        .set_click_to_act(pb::SetClickToActRequest {
            agent_id: ada.id().into(),
            enabled: true,
            ..Default::default()
        })
        .await
        .unwrap();

    let closed = chat
        .create_session(session_for(&bob, "Closed chat"))
        .await
        .unwrap()
        .session
        .unwrap();
    bob.client
        .close_session(pb::CloseSessionRequest {
            session_id: closed.id,
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "writes the fixture; run it only when a new one is wanted"]
async fn write_the_fixture() {
    let data = cif_e2e::DataDir::new();
    let mut harness = Harness::start_with(Options {
        data_dir: Some(data.path().to_owned()),
        // Closed sessions stay readable for the reading test (the default is a day).
        ..Options::default()
    })
    .await;
    populate(&harness).await;
    harness.cifd.terminate(Duration::from_secs(10)).await;
    // Stopped cleanly, the database holds everything (its write-ahead log was checkpointed).
    let wal = data.path().join("cifd.db-wal");
    assert!(std::fs::metadata(&wal).map_or(true, |wal| wal.len() == 0));
    let fixture = fixture();
    std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
    std::fs::copy(data.database(), &fixture).unwrap();
}

/// A provider's client, after the operator rotated its credential (the fixture keeps only
/// hashes).
async fn provider(harness: &Harness, unique_name: &str) -> (String, ProviderClient) {
    let providers = harness
        .admin
        .list_providers(pb::ListProvidersRequest::default())
        .await
        .unwrap()
        .providers;
    let id = providers
        .iter()
        .find(|p| p.unique_name == unique_name)
        .unwrap_or_else(|| panic!("{unique_name} in {providers:?}"))
        .id
        .clone();
    let rotated = harness
        .admin
        .rotate_provider_credential(pb::RotateProviderCredentialRequest {
            provider_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let client = ProviderClient::new(harness.channel.clone(), &rotated.credential).unwrap();
    (id, client)
}

async fn agent(harness: &Harness, display_name: &str) -> (String, AgentClient) {
    let agents = harness
        .admin
        .list_agents(pb::ListAgentsRequest::default())
        .await
        .unwrap()
        .agents;
    let id = agents
        .iter()
        .find(|a| a.display_name == display_name)
        .unwrap_or_else(|| panic!("{display_name} in {agents:?}"))
        .id
        .clone();
    let rotated = harness
        .admin
        .rotate_agent_credential(pb::RotateAgentCredentialRequest {
            agent_id: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let client = AgentClient::new(harness.channel.clone(), &rotated.credential).unwrap();
    (id, client)
}

#[tokio::test]
async fn a_database_written_by_an_earlier_cifd_opens_with_everything_in_it() {
    let data = cif_e2e::DataDir::new();
    std::fs::create_dir_all(data.path()).unwrap();
    std::fs::copy(fixture(), data.database()).expect("the fixture is committed");
    let harness = Harness::start_with(Options {
        data_dir: Some(data.path().to_owned()),
        ..Options::default()
    })
    .await;

    // The registry and the catalogue.
    let (chat_id, chat) = provider(&harness, "contoso_chat").await;
    let (phone_id, phone) = provider(&harness, "fabrikam_phone").await;
    for name in ["contoso_crm"] {
        harness
            .admin
            .get_tab_template(pb::GetTabTemplateRequest {
                unique_name: name.into(),
            })
            .await
            .unwrap();
    }
    let session_template = harness
        .admin
        .get_session_template(pb::GetSessionTemplateRequest {
            unique_name: "chat_session".into(),
        })
        .await
        .unwrap()
        .session_template
        .unwrap();
    assert_eq!(session_template.anchor_tab, "contoso_crm");
    harness
        .admin
        .get_notification_template(pb::GetNotificationTemplateRequest {
            unique_name: "contoso_consent".into(),
        })
        .await
        .unwrap();

    // Ada's desk as it was left.
    let (ada_id, ada) = agent(&harness, "Ada").await;
    let read = ada.get_desk(pb::GetDeskRequest {}).await.unwrap();
    let desk = read.desk.clone().unwrap();
    let titles: Vec<_> = desk.sessions.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(titles, ["Chat with Maria", "+1 555 0100"]);
    assert_eq!(
        Some(&desk.focused_session_id),
        desk.home_session.as_ref().map(|h| &h.id)
    );
    assert_eq!(desk.panel_mode(), pb::PanelMode::Minimized);
    assert_eq!(desk.presence.unwrap().presence_id, "busy");
    let chat_session = &desk.sessions[0];
    assert_eq!(chat_session.tabs[0].title, "Customer Maria");
    assert_eq!(chat_session.context["customerName"], "Maria");
    let call = &desk.sessions[1];
    assert_eq!(call.tabs[0].title, "Dialer");
    let marks = call.marks.clone().unwrap();
    assert!(marks.attention_requested);
    assert_eq!(marks.messages_count, 2);
    let outbound = |provider: &ProviderClient| {
        let provider = provider.clone();
        let agent_id = ada_id.clone();
        async move {
            provider
                .get_click_to_act(pb::GetClickToActRequest { agent_id })
                .await
                .unwrap()
                .enabled
        }
    };
    assert!(outbound(&phone).await, "set on this desk by the phone");
    assert!(outbound(&chat).await, "the chat provider's own default");
    let widgets = read.widgets.unwrap();
    let mut hosted: Vec<_> = widgets
        .providers
        .iter()
        .map(|p| p.provider_id.clone())
        .collect();
    hosted.sort();
    let mut both = vec![chat_id.clone(), phone_id.clone()];
    both.sort();
    assert_eq!(hosted, both);

    // A retry of the remembered request gets the first answer.
    let mut retry = pb::CreateSessionRequest {
        agent_id: ada_id.clone(),
        template: "chat_session".into(),
        request_id: REMEMBERED_REQUEST.into(),
        ..Default::default()
    };
    retry.context.insert("customerName".into(), "Maria".into());
    let again = chat.create_session(retry).await.unwrap().session.unwrap();
    assert_eq!(again.id, chat_session.id);

    // Bob's closed session is still readable by its owner.
    let closed = chat
        .list_sessions(pb::ListSessionsRequest {
            show_closed: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .sessions;
    assert!(
        closed
            .iter()
            .any(|s| s.title == "Closed chat" && s.state() == pb::SessionState::Closed)
    );

    // The retained events: a stream resumes from the log's start, and sees the sessions made.
    let mut from_start = ada.subscribe(false).resuming_after(read.log_id.clone(), 0);
    let events = events_until(&mut from_start, read.sequence).await;
    let created = events
        .iter()
        .filter(|(_, event)| matches!(event.kind, Some(pb::event::Kind::SessionCreated(_))))
        .count();
    assert_eq!(created, 2, "Ada's two sessions");
}
