//! Rule 20 end to end: an agent's desk learns its providers (label, widget URL, order) and
//! which provider's widget its panel shows, from GetDesk and its stream's snapshot, and hears
//! when either changes; providers never hear of it.

use cif_e2e::{
    Harness, Options, caught_up, describe, events_until, expect_refused, provider_spec, session_for,
};
use cif_sdk::pb;
use cif_sdk::subscription::Update;

/// The widgets in a GetDesk answer.
async fn widgets(agent: &cif_e2e::AgentHandle) -> pb::DeskWidgets {
    agent
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .widgets
        .expect("GetDesk carries the widgets")
}

fn ids(widgets: &pb::DeskWidgets) -> Vec<&str> {
    widgets
        .providers
        .iter()
        .map(|provider| provider.provider_id.as_str())
        .collect()
}

async fn update_provider(harness: &Harness, provider: pb::Provider, paths: &[&str]) {
    harness
        .admin
        .update_provider(pb::UpdateProviderRequest {
            provider: Some(provider),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|path| (*path).to_owned()).collect(),
            }),
            ..Default::default()
        })
        .await
        .expect("the operator updates the provider");
}

#[tokio::test]
async fn rule_20_the_desk_knows_its_widgets_and_hears_when_they_change() {
    // Frequent heartbeats carry a filtered stream's watermark past what it does not see.
    let harness =
        Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    // Phone comes first by channel order, though chat's unique name sorts first.
    update_provider(
        &harness,
        pb::Provider {
            id: chat.id().into(),
            channel_order: 5,
            ..Default::default()
        },
        &["channel_order"],
    )
    .await;
    let ada = harness.agent("Ada", &[&chat, &phone]).await;

    // Home with two providers: both hosted, none shown.
    let now = widgets(&ada).await;
    assert_eq!(ids(&now), [phone.id(), chat.id()]);
    assert_eq!(now.visible_provider_id, "");
    let phone_widget = &now.providers[0];
    assert_eq!(phone_widget.label, "fabrikam_phone label");
    assert_eq!(
        phone_widget.channel_url,
        provider_spec("fabrikam_phone").channel_url
    );
    assert_eq!(phone_widget.channel_order, 0);

    // The stream's snapshot: the desk, then its widgets.
    // (The snapshot ends where the stream has caught up.)
    let mut desk = ada.client.subscribe(true);
    let Update::Snapshot { items, .. } = cif_e2e::next_update(&mut desk).await else {
        panic!("a snapshot first");
    };
    assert!(matches!(
        items.as_slice(),
        [
            pb::SnapshotItem { item: Some(pb::snapshot_item::Item::Desk(_)) },
            pb::SnapshotItem { item: Some(pb::snapshot_item::Item::Widgets(w)) },
        ] if *w == now
    ));
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;

    // A provider's session takes focus: its widget shows.
    let created = chat
        .client
        .create_session(session_for(&ada, "Chat with Maria"))
        .await
        .unwrap();
    assert!(created.session.is_some());
    assert_eq!(widgets(&ada).await.visible_provider_id, chat.id());
    // The agent takes it back to home: none shows.
    let home = ada.home_session_id().await;
    ada.client
        .switch_session(pb::SwitchSessionRequest {
            session_id: home.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(widgets(&ada).await.visible_provider_id, "");

    // Phone taken off the profile: in home, chat is the only provider, and shows.
    harness.set_profile(&ada, &[&chat]).await;
    let only_chat = widgets(&ada).await;
    assert_eq!(ids(&only_chat), [chat.id()]);
    assert_eq!(only_chat.visible_provider_id, chat.id());

    // A label the desk shows changed: the desk hears the new one.
    update_provider(
        &harness,
        pb::Provider {
            id: chat.id().into(),
            label: "Chat".into(),
            ..Default::default()
        },
        &["label"],
    )
    .await;
    let relabelled = widgets(&ada).await;
    assert_eq!(relabelled.providers[0].label, "Chat");

    // Everything the desk heard, in order: each change of its widgets once, after what caused
    // it.
    let last = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .sequence;
    let heard = events_until(&mut desk, last).await;
    let described: Vec<_> = heard.iter().map(|(_, event)| describe(event)).collect();
    let names: Vec<_> = described.iter().map(|(name, ..)| *name).collect();
    assert_eq!(
        names,
        [
            "switched",
            "created",
            "visible widget",
            "switched",
            "switched",
            "visible widget",
            "not admitted",
            "widgets",
            "widgets"
        ]
    );
    // The focus moves tell only which widget shows; the providers' changes, the whole widgets.
    assert_eq!(describe(&heard[2].1).1, chat.id());
    assert_eq!(describe(&heard[5].1).1, "");
    let whole: Vec<pb::DeskWidgets> = heard
        .iter()
        .filter_map(|(_, event)| match &event.kind {
            Some(pb::event::Kind::DeskWidgetsChanged(changed)) => changed.widgets.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(whole, [only_chat, relabelled]);
    assert_eq!(describe(&heard[6].1).1, phone.id());

    // Chat heard its own session's events, never the desk's widgets.
    let chat_heard = events_until(&mut chat_events, last).await;
    assert!(
        chat_heard
            .iter()
            .all(|(_, event)| !describe(event).0.contains("widget")),
        "{chat_heard:?}"
    );
}

#[tokio::test]
async fn loopback_http_widgets_only_when_the_server_allows_them() {
    let local = pb::Provider {
        channel_url: "http://127.0.0.1:8080/widget".into(),
        ..provider_spec("local_phone")
    };
    let strict = Harness::start().await;
    let refused = strict
        .admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(local.clone()),
            ..Default::default()
        })
        .await;
    let error = expect_refused(
        refused,
        tonic::Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    assert!(error.to_string().contains("https"), "{error}");

    let development = Harness::start_with(Options::default().arg("--loopback-http-widgets")).await;
    let created = development
        .admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(local),
            ..Default::default()
        })
        .await
        .expect("loopback http is allowed for development");
    assert_eq!(
        created.provider.unwrap().channel_url,
        "http://127.0.0.1:8080/widget"
    );
    let elsewhere = development
        .admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(pb::Provider {
                channel_url: "http://widget.example.com/".into(),
                ..provider_spec("remote_phone")
            }),
            ..Default::default()
        })
        .await;
    expect_refused(
        elsewhere,
        tonic::Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
}

#[tokio::test]
async fn nothing_on_the_desks_own_origin_is_framed() {
    // A frame on the desk's origin could read the agent's credential from the desk's storage:
    // cifd refuses such channel and website tab URLs, on its own address and on the origins
    // the operator says the desk is reached by.
    let harness = Harness::start_with(
        Options::default()
            .arg("--loopback-http-widgets")
            .arg("--desk-origins=https://desk.example.com"),
    )
    .await;
    let port = harness.cifd.address.port();
    let refused_channel = |url: String| {
        let admin = harness.admin.clone();
        async move {
            let refused = admin
                .create_provider(pb::CreateProviderRequest {
                    provider: Some(pb::Provider {
                        channel_url: url.clone(),
                        ..provider_spec("nosy_widget")
                    }),
                    ..Default::default()
                })
                .await;
            let error = expect_refused(
                refused,
                tonic::Code::InvalidArgument,
                Some("FIELD_MALFORMED"),
            );
            assert!(
                error.to_string().contains("desk's own origin"),
                "{url}: {error}"
            );
        }
    };
    refused_channel(format!("http://127.0.0.1:{port}/desk/")).await;
    refused_channel(format!("http://localhost:{port}/elsewhere")).await;
    refused_channel("https://DESK.example.com/widget".into()).await;

    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "Maria Garcia"))
        .await
        .unwrap()
        .session
        .unwrap();
    let website = |url: String| pb::CreateTabRequest {
        session_id: session.id.clone(),
        title: "Customer".into(),
        page: Some(pb::TabPage {
            kind: pb::PageKind::ThirdPartyWebsite as i32,
            url,
            ..Default::default()
        }),
        ..Default::default()
    };
    let refused = chat
        .client
        .create_tab(website(format!("http://[::1]:{port}/desk/desk.js")))
        .await;
    let error = expect_refused(
        refused,
        tonic::Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    assert!(error.to_string().contains("page.url"), "{error}");
    // Nothing half-applied: the session still has only the tabs it had.
    let desk = ada.client.get_desk(pb::GetDeskRequest {}).await.unwrap();
    let now = desk
        .desk
        .unwrap()
        .sessions
        .into_iter()
        .find(|s| s.id == session.id)
        .unwrap();
    assert_eq!(now.tabs.len(), session.tabs.len());
    chat.client
        .create_tab(website(format!("http://127.0.0.1:{}/crm", port ^ 1)))
        .await
        .expect("another origin on the same host is framed");
}
