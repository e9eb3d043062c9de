//! Rule 21 end to end: the desk issues a widget credential per admitted provider; with it the
//! provider reaches this agent's desk only, opens no stream and calls no other service; the
//! agent's stream carries what each widget hears; sign-out, a profile change, a rotation and
//! time end it.

use std::time::{Duration, Instant};

use cif_e2e::{
    AgentHandle, Harness, Options, PATIENCE, caught_up, expect_refused, session_for, update_where,
};
use cif_sdk::pb;
use cif_sdk::subscription::Update;
use cif_sdk::{AgentClient, ProviderClient};

/// A widget credential of `provider` on `agent`'s desk, and a client that calls with it.
async fn issue_widget(
    harness: &Harness,
    agent: &AgentHandle,
    provider_id: &str,
) -> (String, ProviderClient) {
    let issued = agent
        .client
        .issue_widget_credential(pb::IssueWidgetCredentialRequest {
            provider_id: provider_id.into(),
        })
        .await
        .expect("the desk issues a widget credential for an admitted provider");
    assert!(
        issued.credential.starts_with("cifw_"),
        "{}",
        issued.credential
    );
    assert!(issued.expire_time.is_some());
    let client = ProviderClient::new(harness.channel.clone(), &issued.credential).unwrap();
    (issued.credential, client)
}

#[tokio::test]
async fn rule_21_a_widget_credential_reaches_its_own_desk_only() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[&chat]).await;
    let bob = harness.agent("Bob", &[&chat]).await;
    let (_, widget) = issue_widget(&harness, &ada, chat.id()).await;

    // Ada's desk as chat: it creates a session there and reads it back.
    let own = widget
        .create_session(session_for(&ada, "Maria Garcia"))
        .await
        .expect("the widget acts on its own desk")
        .session
        .unwrap();
    let read = widget
        .get_session(pb::GetSessionRequest {
            session_id: own.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(read.session.unwrap().id, own.id);

    // Bob's desk does not exist for it, though chat itself works there.
    let bobs = chat
        .client
        .create_session(session_for(&bob, "Bob's customer"))
        .await
        .unwrap()
        .session
        .unwrap();
    let refused = widget.create_session(session_for(&bob, "Elsewhere")).await;
    expect_refused(refused, tonic::Code::NotFound, Some("AGENT_NOT_FOUND"));
    let refused = widget
        .get_session(pb::GetSessionRequest {
            session_id: bobs.id.clone(),
        })
        .await;
    expect_refused(refused, tonic::Code::NotFound, Some("SESSION_NOT_FOUND"));
    let refused = widget
        .create_tab(pb::CreateTabRequest {
            session_id: bobs.id.clone(),
            title: "Customer".into(),
            page: Some(pb::TabPage {
                kind: pb::PageKind::Dashboard as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await;
    expect_refused(refused, tonic::Code::NotFound, Some("SESSION_NOT_FOUND"));
    let listed = widget
        .list_sessions(pb::ListSessionsRequest::default())
        .await
        .unwrap();
    let ids: Vec<_> = listed.sessions.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [own.id.as_str()], "only its own desk's sessions");
    let refused = widget
        .get_mode(pb::GetModeRequest {
            agent_id: bob.id().into(),
        })
        .await;
    expect_refused(refused, tonic::Code::NotFound, Some("AGENT_NOT_FOUND"));

    // No stream of its own, and no other service.
    let mut stream = widget.subscribe(Vec::new(), false);
    let refused = stream.next().await.expect("the stream answers");
    expect_refused(
        refused,
        tonic::Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );
    let (credential, _) = issue_widget(&harness, &ada, chat.id()).await;
    let as_agent = AgentClient::new(harness.channel.clone(), &credential).unwrap();
    let refused = as_agent.get_desk(pb::GetDeskRequest {}).await;
    expect_refused(
        refused,
        tonic::Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );

    // Only for providers the agent admits.
    let refused = ada
        .client
        .issue_widget_credential(pb::IssueWidgetCredentialRequest {
            provider_id: phone.id().into(),
        })
        .await;
    expect_refused(refused, tonic::Code::NotFound, Some("PROVIDER_NOT_FOUND"));
}

#[tokio::test]
async fn the_desks_stream_says_which_widgets_hear_each_event() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[&chat, &phone]).await;
    let mut desk = caught_up(ada.client.subscribe(false)).await;
    let (_, widget) = issue_widget(&harness, &ada, chat.id()).await;

    let created = widget
        .create_session(session_for(&ada, "Maria Garcia"))
        .await
        .unwrap()
        .session
        .unwrap();
    let delivery = update_where(&mut desk, "the session's creation", |update| match update {
        Update::Event { event, widgets, .. }
            if matches!(event.kind, Some(pb::event::Kind::SessionCreated(_))) =>
        {
            Some(widgets.expect("providers hear a session's creation"))
        }
        _ => None,
    })
    .await;
    assert_eq!(delivery.provider_ids, [chat.id()]);
    let Some(pb::event::Kind::SessionCreated(heard)) = delivery.event.unwrap().kind else {
        panic!("the widgets hear the same event");
    };
    assert_eq!(heard.session.unwrap().id, created.id);

    // The agent's own presence change: every provider of the agent hears it, and the
    // widgets hear it as providers do (without who set it).
    harness
        .presence("busy", "Busy", pb::PresenceStatus::Busy)
        .await;
    ada.client
        .set_presence(pb::AgentServiceSetPresenceRequest {
            presence_id: "busy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let delivery = update_where(&mut desk, "the presence change", |update| match update {
        Update::Event { event, widgets, .. }
            if matches!(event.kind, Some(pb::event::Kind::PresenceChanged(_))) =>
        {
            Some(widgets.expect("providers hear presence"))
        }
        _ => None,
    })
    .await;
    let mut heard_by = delivery.provider_ids.clone();
    heard_by.sort();
    let mut both = vec![chat.id().to_owned(), phone.id().to_owned()];
    both.sort();
    assert_eq!(heard_by, both);

    // The agent switches home: only the session's owner hears it lost focus.
    let desk_now = ada.client.get_desk(pb::GetDeskRequest {}).await.unwrap();
    let home = desk_now.desk.unwrap().home_session.unwrap().id;
    ada.client
        .switch_session(pb::SwitchSessionRequest {
            session_id: home,
            ..Default::default()
        })
        .await
        .unwrap();
    let switched = update_where(&mut desk, "the switch home", |update| match update {
        Update::Event { event, widgets, .. }
            if matches!(event.kind, Some(pb::event::Kind::SessionSwitched(_))) =>
        {
            Some(widgets)
        }
        _ => None,
    })
    .await;
    assert_eq!(
        switched.unwrap().provider_ids,
        [chat.id()],
        "its owner hears it lost focus"
    );
}

/// Calls with `client` until it is refused as UNAUTHENTICATED (a revocation takes effect at
/// once; an expiry when its time comes), within [`PATIENCE`].
async fn refused_from_now_on(client: &ProviderClient, agent: &AgentHandle) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let result = client
            .get_mode(pb::GetModeRequest {
                agent_id: agent.id().into(),
            })
            .await;
        match result {
            Err(error) if error.code() == tonic::Code::Unauthenticated => {
                assert_eq!(error.reason(), Some("CREDENTIAL_INVALID"), "{error}");
                return;
            }
            other => assert!(Instant::now() < deadline, "still works: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn widget_credentials_end_on_sign_out_renewal_profile_change_rotation_and_time() {
    let harness =
        Harness::start_with(Options::default().arg("--widget-credential-lifetime=3s")).await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[&chat, &phone]).await;
    let works = |client: ProviderClient| {
        let agent_id = ada.id().to_owned();
        async move {
            client
                .get_mode(pb::GetModeRequest { agent_id })
                .await
                .expect("the widget credential works");
        }
    };

    // Renewal replaces; sign-out revokes them all.
    let (_, first) = issue_widget(&harness, &ada, chat.id()).await;
    let (_, renewed) = issue_widget(&harness, &ada, chat.id()).await;
    let (_, phones) = issue_widget(&harness, &ada, phone.id()).await;
    refused_from_now_on(&first, &ada).await;
    works(renewed.clone()).await;
    // Operators see who holds which, until when (never the credentials).
    let held = |harness: &Harness| {
        let admin = harness.admin.clone();
        let agent_id = ada.id().to_owned();
        async move {
            let listed = admin
                .list_widget_credentials(pb::ListWidgetCredentialsRequest { agent_id })
                .await
                .unwrap();
            let mut providers: Vec<_> = listed
                .widget_credentials
                .into_iter()
                .inspect(|held| assert!(held.expire_time.is_some()))
                .map(|held| held.provider_id)
                .collect();
            providers.sort();
            providers
        }
    };
    let mut both = vec![chat.id().to_owned(), phone.id().to_owned()];
    both.sort();
    assert_eq!(held(&harness).await, both);
    let revoked = ada
        .client
        .revoke_widget_credentials(pb::RevokeWidgetCredentialsRequest {})
        .await
        .unwrap();
    assert_eq!(revoked.revoked, 2);
    assert!(held(&harness).await.is_empty());
    refused_from_now_on(&renewed, &ada).await;
    refused_from_now_on(&phones, &ada).await;

    // The provider taken off the profile, then its credential rotated.
    let (_, phones) = issue_widget(&harness, &ada, phone.id()).await;
    let (_, chats) = issue_widget(&harness, &ada, chat.id()).await;
    harness.set_profile(&ada, &[&chat]).await;
    refused_from_now_on(&phones, &ada).await;
    works(chats.clone()).await;
    harness
        .admin
        .rotate_provider_credential(pb::RotateProviderCredentialRequest {
            provider_id: chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    refused_from_now_on(&chats, &ada).await;

    // Time: a credential nobody renews stops working when its lifetime is up.
    let (_, chats) = issue_widget(&harness, &ada, chat.id()).await;
    let issued = Instant::now();
    works(chats.clone()).await;
    refused_from_now_on(&chats, &ada).await;
    assert!(
        issued.elapsed() >= Duration::from_secs(1),
        "it worked for its lifetime"
    );
}

#[tokio::test]
async fn a_widget_turns_click_to_act_on_for_its_own_desk_only() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[&chat]).await;
    let bob = harness.agent("Bob", &[&chat]).await;
    let click = || pb::ClickToActRequest {
        value: "+1 555 0100".into(),
        name: "mobilephone".into(),
        format: "phone".into(),
        entity_logical_name: "contact".into(),
        ..Default::default()
    };
    let refused = ada.client.click_to_act(click()).await;
    expect_refused(
        refused,
        tonic::Code::FailedPrecondition,
        Some("CLICK_TO_ACT_DISABLED"),
    );

    let (_, widget) = issue_widget(&harness, &ada, chat.id()).await;
    widget
        .set_click_to_act(pb::SetClickToActRequest {
            agent_id: ada.id().into(),
            enabled: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let enabled = |client: &ProviderClient, agent: &AgentHandle| {
        let request = pb::GetClickToActRequest {
            agent_id: agent.id().into(),
        };
        let client = client.clone();
        async move { client.get_click_to_act(request).await.unwrap().enabled }
    };
    assert!(enabled(&widget, &ada).await);
    assert!(
        !enabled(&chat.client, &bob).await,
        "Bob's desk keeps the default"
    );
    ada.client.click_to_act(click()).await.expect("on for Ada");
    let refused = bob.client.click_to_act(click()).await;
    expect_refused(
        refused,
        tonic::Code::FailedPrecondition,
        Some("CLICK_TO_ACT_DISABLED"),
    );
    let refused = widget
        .set_click_to_act(pb::SetClickToActRequest {
            agent_id: bob.id().into(),
            enabled: true,
            ..Default::default()
        })
        .await;
    expect_refused(refused, tonic::Code::NotFound, Some("AGENT_NOT_FOUND"));
    // The desk's widgets say so.
    let widgets = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .widgets
        .unwrap();
    assert!(widgets.providers[0].enable_outbound);
}
