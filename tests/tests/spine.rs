//! The spine through a real cifd and the Rust SDK: two providers, two agents, the ownership
//! rules, limits and the records' lifecycle.

use cif_e2e::{AgentHandle, Harness, ProviderHandle, expect_refused, session_for};
use cif_sdk::{AgentClient, ProviderClient, pb};
use tonic::Code;

struct Floor {
    harness: Harness,
    chat: ProviderHandle,
    phone: ProviderHandle,
    /// Any active provider may act for Ada.
    ada: AgentHandle,
    /// Only chat may act for Bob.
    bob: AgentHandle,
}

async fn floor() -> Floor {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let bob = harness.agent("Bob", &[&chat]).await;
    Floor {
        harness,
        chat,
        phone,
        ada,
        bob,
    }
}

async fn create(provider: &ProviderHandle, agent: &AgentHandle, title: &str) -> pb::Session {
    provider
        .client
        .create_session(session_for(agent, title))
        .await
        .expect("session created")
        .session
        .expect("a session")
}

#[tokio::test]
async fn a_provider_owns_what_it_creates_and_nobody_else_sees_it() {
    let floor = floor().await;
    floor
        .harness
        .admin
        .create_session_template(pb::CreateSessionTemplateRequest {
            session_template: Some(pb::SessionTemplate {
                unique_name: "contoso_chat_session".into(),
                display_name: "Chat".into(),
                title: "Chat with {customerName}".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut request = session_for(&floor.ada, "Chat with Maria");
    request
        .context
        .insert("customerName".into(), "Maria".into());
    request.template = "contoso_chat_session".into();
    let session = floor
        .chat
        .client
        .create_session(request)
        .await
        .unwrap()
        .session
        .unwrap();
    let owner = session.owner.clone().unwrap();
    assert_eq!(owner.provider_id, floor.chat.id());
    assert_eq!(owner.provider_unique_name, "contoso_chat");
    assert_eq!(session.kind(), pb::SessionKind::Provider);
    assert_eq!(session.state(), pb::SessionState::Open);
    assert!(session.focused);
    assert_eq!(session.context["customerName"], "Maria");
    assert_eq!(session.template, "contoso_chat_session");

    let read = floor
        .chat
        .client
        .get_session(pb::GetSessionRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(read, session);

    // Provider B gets exactly what it gets for an id that does not exist.
    let foreign = expect_refused(
        floor
            .phone
            .client
            .get_session(pb::GetSessionRequest {
                session_id: session.id.clone(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    let unknown_id = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11";
    let missing = expect_refused(
        floor
            .phone
            .client
            .get_session(pb::GetSessionRequest {
                session_id: unknown_id.into(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    assert_eq!(
        foreign.message().replace(&session.id, "ID"),
        missing.message().replace(unknown_id, "ID")
    );

    let phone_list = floor
        .phone
        .client
        .list_sessions(pb::ListSessionsRequest {
            show_closed: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(phone_list.sessions.is_empty());
    let chat_list = floor
        .chat
        .client
        .list_sessions(Default::default())
        .await
        .unwrap();
    assert_eq!(chat_list.sessions, [session]);
}

#[tokio::test]
async fn a_provider_acts_only_for_agents_whose_profile_includes_it() {
    let floor = floor().await;
    let outside = expect_refused(
        floor
            .phone
            .client
            .create_session(session_for(&floor.bob, "Call"))
            .await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
    let mut request = session_for(&floor.bob, "Call");
    request.agent_id = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into();
    let missing = expect_refused(
        floor.phone.client.create_session(request).await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
    assert_eq!(
        outside.message().replace(floor.bob.id(), "ID"),
        missing
            .message()
            .replace("0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11", "ID")
    );
    expect_refused(
        floor
            .phone
            .client
            .can_create_session(pb::CanCreateSessionRequest {
                agent_id: floor.bob.id().into(),
            })
            .await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
    create(&floor.chat, &floor.bob, "Chat").await;
}

#[tokio::test]
async fn the_eleventh_session_is_refused_and_can_create_says_so_first() {
    let floor = floor().await;
    for created in 0..10u32 {
        let room = floor
            .chat
            .client
            .can_create_session(pb::CanCreateSessionRequest {
                agent_id: floor.ada.id().into(),
            })
            .await
            .unwrap();
        assert_eq!(
            (room.can_create, room.remaining, room.limit),
            (true, 10 - created, 10)
        );
        // Both providers count against the same desk.
        let provider = if created % 2 == 0 {
            &floor.chat
        } else {
            &floor.phone
        };
        create(provider, &floor.ada, &format!("Session {created}")).await;
    }
    let room = floor
        .phone
        .client
        .can_create_session(pb::CanCreateSessionRequest {
            agent_id: floor.ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!((room.can_create, room.remaining), (false, 0));
    let refused = expect_refused(
        floor
            .chat
            .client
            .create_session(session_for(&floor.ada, "Eleventh"))
            .await,
        Code::ResourceExhausted,
        Some("SESSION_LIMIT_REACHED"),
    );
    assert_eq!(refused.metadata()["limit"], "10");
    let desk = floor
        .ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(desk.sessions.len(), 10);
    // Bob's desk is untouched by Ada's limit.
    create(&floor.chat, &floor.bob, "Bob's first").await;
}

#[tokio::test]
async fn the_desk_shows_home_sessions_in_order_owners_and_focus() {
    let floor = floor().await;
    let empty = floor
        .ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    let home = empty.home_session.clone().unwrap();
    assert_eq!(home.kind(), pb::SessionKind::Home);
    assert!(home.owner.is_none() && home.focused);
    assert_eq!(empty.focused_session_id, home.id);
    assert_eq!(empty.panel_mode(), pb::PanelMode::Docked);
    assert!(empty.panel_width >= 300);

    let first = create(&floor.chat, &floor.ada, "First").await;
    let focus = floor
        .phone
        .client
        .get_focused_session(pb::GetFocusedSessionRequest {
            agent_id: floor.ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!(
        focus,
        pb::GetFocusedSessionResponse {
            session_id: String::new(),
            home: false
        }
    );
    let second = create(&floor.phone, &floor.ada, "Second").await;

    let desk = floor
        .ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(desk.home_session.as_ref().unwrap().id, home.id);
    let ids: Vec<_> = desk.sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    let owners: Vec<_> = desk
        .sessions
        .iter()
        .map(|s| s.owner.as_ref().unwrap().provider_unique_name.as_str())
        .collect();
    assert_eq!(owners, ["contoso_chat", "fabrikam_phone"]);
    assert_eq!(
        desk.focused_session_id, second.id,
        "the newest session has focus"
    );
    assert!(!desk.sessions[0].focused && desk.sessions[1].focused);

    let chat_focus = floor
        .chat
        .client
        .get_focused_session(pb::GetFocusedSessionRequest {
            agent_id: floor.ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!(
        chat_focus.session_id, "",
        "another provider's session has focus"
    );
    let phone_focus = floor
        .phone
        .client
        .get_focused_session(pb::GetFocusedSessionRequest {
            agent_id: floor.ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!(phone_focus.session_id, second.id);

    let admin_desk = floor
        .harness
        .admin
        .get_desk(pb::AdminServiceGetDeskRequest {
            agent_id: floor.ada.id().into(),
        })
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(admin_desk, desk);
}

#[tokio::test]
async fn a_deactivated_provider_is_refused_until_reactivated() {
    let floor = floor().await;
    let session = create(&floor.chat, &floor.ada, "Before").await;
    let provider = floor
        .harness
        .admin
        .deactivate_provider(pb::DeactivateProviderRequest {
            provider_id: floor.chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .provider
        .unwrap();
    assert_eq!(provider.state(), pb::ProviderState::Inactive);
    expect_refused(
        floor
            .chat
            .client
            .create_session(session_for(&floor.ada, "After"))
            .await,
        Code::PermissionDenied,
        Some("PROVIDER_INACTIVE"),
    );
    expect_refused(
        floor.chat.client.list_sessions(Default::default()).await,
        Code::PermissionDenied,
        Some("PROVIDER_INACTIVE"),
    );
    // Its sessions stay on the desk for the agent.
    let desk = floor
        .ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(desk.sessions[0].id, session.id);

    floor
        .harness
        .admin
        .activate_provider(pb::ActivateProviderRequest {
            provider_id: floor.chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    create(&floor.chat, &floor.ada, "Again").await;
}

#[tokio::test]
async fn a_rotated_credential_stops_working_at_once() {
    let floor = floor().await;
    let rotated = floor
        .harness
        .admin
        .rotate_provider_credential(pb::RotateProviderCredentialRequest {
            provider_id: floor.chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        floor.chat.client.list_sessions(Default::default()).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
    let renewed = ProviderClient::new(floor.harness.channel.clone(), &rotated.credential).unwrap();
    renewed.list_sessions(Default::default()).await.unwrap();

    let rotated = floor
        .harness
        .admin
        .rotate_agent_credential(pb::RotateAgentCredentialRequest {
            agent_id: floor.ada.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        floor.ada.client.get_desk(pb::GetDeskRequest {}).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
    let renewed = AgentClient::new(floor.harness.channel.clone(), &rotated.credential).unwrap();
    renewed.get_desk(pb::GetDeskRequest {}).await.unwrap();
}

#[tokio::test]
async fn each_role_is_refused_on_the_other_roles_services() {
    let floor = floor().await;
    let channel = floor.harness.channel.clone();
    let provider_as_agent = AgentClient::new(channel.clone(), &floor.chat.credential).unwrap();
    expect_refused(
        provider_as_agent.get_desk(pb::GetDeskRequest {}).await,
        Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );
    let agent_as_provider = ProviderClient::new(channel.clone(), &floor.ada.credential).unwrap();
    expect_refused(
        agent_as_provider
            .create_session(session_for(&floor.ada, "x"))
            .await,
        Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );
    let provider_as_operator =
        cif_sdk::AdminClient::new(channel.clone(), &floor.chat.credential).unwrap();
    expect_refused(
        provider_as_operator
            .list_providers(Default::default())
            .await,
        Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );
    let operator_as_provider =
        ProviderClient::new(channel.clone(), &floor.harness.cifd.operator_token).unwrap();
    expect_refused(
        operator_as_provider.list_sessions(Default::default()).await,
        Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );
    let stranger = ProviderClient::new(channel, "cifp_not-a-real-credential").unwrap();
    expect_refused(
        stranger.list_sessions(Default::default()).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
}

#[tokio::test]
async fn a_deleted_provider_is_revoked_and_its_sessions_stay_marked() {
    let floor = floor().await;
    let session = create(&floor.chat, &floor.ada, "Orphan").await;
    floor
        .harness
        .admin
        .delete_provider(pb::DeleteProviderRequest {
            provider_id: floor.chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        floor.chat.client.list_sessions(Default::default()).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
    expect_refused(
        floor
            .harness
            .admin
            .get_provider(pb::GetProviderRequest {
                provider_id: floor.chat.id().into(),
            })
            .await,
        Code::NotFound,
        Some("PROVIDER_NOT_FOUND"),
    );
    let desk = floor
        .ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    let owner = desk.sessions[0].owner.clone().unwrap();
    assert_eq!(desk.sessions[0].id, session.id);
    assert!(owner.provider_deleted);
    assert_eq!(owner.provider_unique_name, "contoso_chat");
    // Bob's profile named only chat: it must not widen to every provider now.
    expect_refused(
        floor
            .phone
            .client
            .create_session(session_for(&floor.bob, "x"))
            .await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
}

#[tokio::test]
async fn deleting_an_agent_with_sessions_needs_force_and_closes_them() {
    let floor = floor().await;
    let session = create(&floor.chat, &floor.ada, "Open").await;
    let admin = &floor.harness.admin;
    expect_refused(
        admin
            .delete_agent(pb::DeleteAgentRequest {
                agent_id: floor.ada.id().into(),
                force: false,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("AGENT_HAS_OPEN_SESSIONS"),
    );
    floor
        .ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap();

    admin
        .delete_agent(pb::DeleteAgentRequest {
            agent_id: floor.ada.id().into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        floor.ada.client.get_desk(pb::GetDeskRequest {}).await,
        Code::Unauthenticated,
        Some("CREDENTIAL_INVALID"),
    );
    let closed = floor
        .chat
        .client
        .get_session(pb::GetSessionRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(closed.state(), pb::SessionState::Closed);
    assert!(closed.close_time.is_some());
    let open = floor
        .chat
        .client
        .list_sessions(Default::default())
        .await
        .unwrap();
    assert!(open.sessions.is_empty());
    let all = floor
        .chat
        .client
        .list_sessions(pb::ListSessionsRequest {
            show_closed: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.sessions.len(), 1);
    // An agent without sessions goes without force.
    admin
        .delete_agent(pb::DeleteAgentRequest {
            agent_id: floor.bob.id().into(),
            force: false,
            ..Default::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn lists_page_through_everything_once() {
    let harness = Harness::start().await;
    let mut created = Vec::new();
    for index in 0..7 {
        created.push(harness.provider(&format!("prov{index}_x")).await.record.id);
    }
    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let page = harness
            .admin
            .list_providers(pb::ListProvidersRequest {
                page_size: 3,
                page_token: page_token.clone(),
            })
            .await
            .unwrap();
        pages += 1;
        seen.extend(page.providers.into_iter().map(|p| p.id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(seen, created, "creation order, each once");
    assert_eq!(pages, 3);

    // A token is bound to its query.
    let first = harness
        .admin
        .list_providers(pb::ListProvidersRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap();
    expect_refused(
        harness
            .admin
            .list_sessions(pb::AdminServiceListSessionsRequest {
                page_token: first.next_page_token,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("PAGE_TOKEN_INVALID"),
    );
}

#[tokio::test]
async fn the_operator_reads_and_filters_every_session() {
    let floor = floor().await;
    let a = create(&floor.chat, &floor.ada, "a").await;
    let b = create(&floor.phone, &floor.ada, "b").await;
    let c = create(&floor.chat, &floor.bob, "c").await;
    let admin = &floor.harness.admin;
    let list = |agent: &str, provider: &str| pb::AdminServiceListSessionsRequest {
        agent_id: agent.into(),
        provider_id: provider.into(),
        ..Default::default()
    };
    let ids = |response: pb::AdminServiceListSessionsResponse| -> Vec<String> {
        response.sessions.into_iter().map(|s| s.id).collect()
    };
    assert_eq!(
        ids(admin.list_sessions(list("", "")).await.unwrap()),
        [a.id.clone(), b.id.clone(), c.id.clone()]
    );
    assert_eq!(
        ids(admin.list_sessions(list(floor.ada.id(), "")).await.unwrap()),
        [a.id.clone(), b.id.clone()]
    );
    assert_eq!(
        ids(admin
            .list_sessions(list("", floor.chat.id()))
            .await
            .unwrap()),
        [a.id.clone(), c.id.clone()]
    );
    assert_eq!(
        ids(admin
            .list_sessions(list(floor.bob.id(), floor.phone.id()))
            .await
            .unwrap()),
        Vec::<String>::new()
    );
    let read = admin
        .get_session(pb::AdminServiceGetSessionRequest {
            session_id: b.id.clone(),
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(read.owner.unwrap().provider_id, floor.phone.id());
}
