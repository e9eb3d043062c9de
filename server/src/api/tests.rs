//! The services in process: the real tonic services and authentication layer, served over an
//! in-memory pipe to real SDK clients, so request parsing and answer conversion are tested
//! quickly and without a port (the end-to-end tests run the binary).

use std::sync::{Arc, RwLock};

use cif_sdk::{AdminClient, AgentClient, ProviderClient, pb};
use hyper_util::rt::TokioIo;
use tonic::Code;
use tonic::transport::{Channel, Endpoint, Server};

use super::{AuthLayer, CommitMetrics, Metrics, Services};
use crate::app::log::{EventLog, LogSettings};
use crate::app::{Core, RequestRetention, hash_credential};
use crate::domain::{ControlPlane, Settings};

pub(super) const OPERATOR: &str = "in-process-operator-token-0123456789";

/// A server in this process and a channel to it.
async fn serve() -> Channel {
    serve_state().await.0
}

/// A server in this process, a channel to it, and its state.
pub(super) async fn serve_state() -> (Channel, crate::app::SharedCore) {
    let plane = ControlPlane::new(Settings::default(), hash_credential(OPERATOR));
    let core = Core::in_memory(
        plane,
        EventLog::new(LogSettings::default()),
        RequestRetention::default(),
    );
    let state = Arc::new(RwLock::new(core));
    let metrics = Metrics::new(
        state.clone(),
        CommitMetrics::default(),
        crate::transport::ConnectionMetrics::default(),
    );
    let refusals = Arc::new(crate::app::RefusalCounts::default());
    let services = Services::new(state.clone(), 1 << 20, refusals.clone());
    let (client, server) = tokio::io::duplex(1 << 16);
    tokio::spawn(
        Server::builder()
            .layer(AuthLayer::new(
                state.clone(),
                metrics,
                crate::app::Limits::default(),
                refusals,
            ))
            .add_service(services.provider)
            .add_service(services.agent)
            .add_service(services.admin)
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server))),
    );
    let mut client = Some(client);
    let channel = Endpoint::from_static("http://in-process")
        .connect_with_connector(tower::service_fn(move |_| {
            let pipe = client.take().map(TokioIo::new);
            async move { pipe.ok_or_else(|| std::io::Error::other("one connection only")) }
        }))
        .await
        .expect("the in-process channel connects");
    (channel, state)
}

/// A server with a provider and an agent (whose profile is empty), and their clients.
struct Desk {
    admin: AdminClient,
    provider: ProviderClient,
    provider_id: String,
    agent: AgentClient,
    agent_id: String,
}

/// The operator creates the provider contoso_chat.
pub(super) async fn create_chat(admin: &AdminClient) -> pb::CreateProviderResponse {
    admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(pb::Provider {
                unique_name: "contoso_chat".into(),
                display_name: "Contoso chat".into(),
                label: "Chat".into(),
                channel_url: "https://chat.contoso.com/widget".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn desk() -> Desk {
    let channel = serve().await;
    let admin = AdminClient::new(channel.clone(), OPERATOR).unwrap();
    let created = create_chat(&admin).await;
    let provider = ProviderClient::new(channel.clone(), &created.credential).unwrap();
    let provider_id = created.provider.unwrap().id;
    let created = admin
        .create_agent(pb::CreateAgentRequest {
            agent: Some(pb::Agent {
                display_name: "Ada".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    Desk {
        agent: AgentClient::new(channel, &created.credential).unwrap(),
        agent_id: created.agent.unwrap().id,
        admin,
        provider,
        provider_id,
    }
}

/// The code, reason and first bad field of a refusal.
fn refusal<T: std::fmt::Debug>(result: Result<T, cif_sdk::Error>) -> (Code, String, String) {
    let error = result.expect_err("a refusal");
    let field = error
        .field_violations()
        .first()
        .map(|violation| violation.field.clone())
        .unwrap_or_default();
    (error.code(), error.reason().unwrap_or("").to_owned(), field)
}

#[tokio::test]
async fn malformed_ids_enums_and_pages_are_refused_naming_the_field() {
    let desk = desk().await;
    let provider = &desk.provider;
    assert_eq!(
        refusal(
            provider
                .create_session(pb::CreateSessionRequest {
                    agent_id: "not-a-uuid".into(),
                    title: "Chat".into(),
                    ..Default::default()
                })
                .await
        ),
        (
            Code::InvalidArgument,
            "FIELD_MALFORMED".into(),
            "agent_id".into()
        )
    );
    assert_eq!(
        refusal(
            provider
                .set_mode(pb::SetModeRequest {
                    agent_id: desk.agent_id.clone(),
                    mode: 0,
                    ..Default::default()
                })
                .await
        )
        .2,
        "mode"
    );
    assert_eq!(
        refusal(
            provider
                .create_tab(pb::CreateTabRequest {
                    session_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
                    title: "Customer".into(),
                    page: Some(pb::TabPage {
                        kind: 0,
                        url: "https://crm.example.com".into(),
                        parameters: String::new(),
                    }),
                    ..Default::default()
                })
                .await
        )
        .0,
        Code::InvalidArgument
    );
    assert_eq!(
        refusal(
            provider
                .list_sessions(pb::ListSessionsRequest {
                    page_token: "made-up".into(),
                    ..Default::default()
                })
                .await
        ),
        (
            Code::InvalidArgument,
            "PAGE_TOKEN_INVALID".into(),
            "page_token".into()
        )
    );
}

#[tokio::test]
async fn update_masks_name_updatable_fields_only() {
    let desk = desk().await;
    let update = |paths: &[&str]| pb::UpdateProviderRequest {
        provider: Some(pb::Provider {
            id: desk.provider_id.clone(),
            label: "Chat 2".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|path| path.to_string()).collect(),
        }),
        ..Default::default()
    };
    let (code, reason, field) = refusal(desk.admin.update_provider(update(&["state"])).await);
    assert_eq!(
        (code, reason.as_str(), field.as_str()),
        (
            Code::InvalidArgument,
            "FIELD_IMMUTABLE",
            "update_mask.paths[\"state\"]"
        )
    );
    let error = desk
        .admin
        .update_provider(update(&["nope"]))
        .await
        .unwrap_err();
    assert_eq!(error.reason(), Some("FIELD_MALFORMED"));
    assert!(error.message().contains("channel_url"), "{error}");
    let updated = desk
        .admin
        .update_provider(update(&["label"]))
        .await
        .unwrap()
        .provider
        .unwrap();
    assert_eq!(
        (updated.label.as_str(), updated.display_name.as_str()),
        ("Chat 2", "Contoso chat"),
        "only the named field changes"
    );
}

#[tokio::test]
async fn a_session_converts_with_its_owner_focus_context_and_tabs() {
    let desk = desk().await;
    let created = desk
        .provider
        .create_session(pb::CreateSessionRequest {
            agent_id: desk.agent_id.clone(),
            title: "Chat with Maria".into(),
            context: [("customerName".to_owned(), "Maria".to_owned())].into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .session
        .unwrap();
    let tab = desk
        .provider
        .create_tab(pb::CreateTabRequest {
            session_id: created.id.clone(),
            title: "Customer".into(),
            page: Some(pb::TabPage {
                kind: pb::PageKind::ThirdPartyWebsite as i32,
                url: "https://crm.example.com/c/42".into(),
                parameters: String::new(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .tab
        .unwrap();
    let desk_view = desk
        .agent
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    let session = &desk_view.sessions[0];
    let owner = session.owner.clone().unwrap();
    assert_eq!(
        (
            owner.provider_id.as_str(),
            owner.provider_unique_name.as_str(),
            owner.provider_deleted,
            owner.provider_not_admitted
        ),
        (desk.provider_id.as_str(), "contoso_chat", false, false)
    );
    assert_eq!(session.kind(), pb::SessionKind::Provider);
    assert_eq!(session.state(), pb::SessionState::Open);
    assert!(session.focused && !desk_view.home_session.unwrap().focused);
    assert_eq!(desk_view.focused_session_id, session.id);
    assert_eq!(session.context["customerName"], "Maria");
    assert_eq!(
        (session.tabs.len(), session.focused_tab_id.as_str()),
        (1, tab.id.as_str())
    );
    assert!(session.tabs[0].focused && tab.focused);
    assert!(
        session.version >= 2,
        "created, then a tab: {}",
        session.version
    );
}

#[tokio::test]
async fn subscribe_start_fields_are_checked_before_anything_opens() {
    let desk = desk().await;
    let mut generated = desk.provider.generated();
    let opened = generated
        .subscribe(pb::SubscribeRequest {
            snapshot: true,
            log_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
            ..Default::default()
        })
        .await;
    let error = cif_sdk::Error::from(opened.map(drop).unwrap_err());
    assert_eq!(
        (error.code(), error.field_violations()[0].field.as_str()),
        (Code::InvalidArgument, "snapshot")
    );
    let opened = generated
        .subscribe(pb::SubscribeRequest {
            log_id: "yesterday".into(),
            ..Default::default()
        })
        .await;
    let error = cif_sdk::Error::from(opened.map(drop).unwrap_err());
    assert_eq!(error.field_violations()[0].field, "log_id");
}
