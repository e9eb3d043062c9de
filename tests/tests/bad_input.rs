//! Bad input for every call of the spine, through the SDK against a real cifd: each refusal's
//! status, reason and named field, and that nothing was half-applied.

use std::collections::BTreeMap;

use cif_e2e::{Harness, expect_refused, provider_spec, session_for};
use cif_sdk::pb;
use tonic::Code;

const UNKNOWN_ID: &str = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11";
const MALFORMED_ID: &str = "not-a-uuid";

/// Asserts INVALID_ARGUMENT with `reason`, naming `field` among its violations.
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
    assert!(!error.message().is_empty());
}

fn long(length: usize) -> String {
    "x".repeat(length)
}

#[tokio::test]
async fn create_provider_checks_every_field() {
    let harness = Harness::start().await;
    let admin = &harness.admin;
    let create = |provider: Option<pb::Provider>| {
        admin.create_provider(pb::CreateProviderRequest {
            provider,
            ..Default::default()
        })
    };
    let with = |change: fn(&mut pb::Provider)| {
        let mut provider = provider_spec("contoso_phone");
        change(&mut provider);
        Some(provider)
    };

    expect_invalid(create(None).await, "FIELD_REQUIRED", "provider");
    expect_invalid(
        create(with(|p| p.unique_name.clear())).await,
        "FIELD_REQUIRED",
        "provider.unique_name",
    );
    for malformed in [
        "ab_phone",
        "contoso-phone",
        "toolongprefix_x",
        "contoso_",
        "contoso_ph one",
    ] {
        let mut provider = provider_spec("x");
        provider.unique_name = malformed.into();
        expect_invalid(
            create(Some(provider)).await,
            "FIELD_MALFORMED",
            "provider.unique_name",
        );
    }
    let mut provider = provider_spec("x");
    provider.unique_name = format!("contoso_{}", long(121));
    expect_invalid(
        create(Some(provider)).await,
        "FIELD_TOO_LONG",
        "provider.unique_name",
    );
    expect_invalid(
        create(with(|p| p.display_name.clear())).await,
        "FIELD_REQUIRED",
        "provider.display_name",
    );
    expect_invalid(
        create(with(|p| p.display_name = long(101))).await,
        "FIELD_TOO_LONG",
        "provider.display_name",
    );
    expect_invalid(
        create(with(|p| p.label = long(101))).await,
        "FIELD_TOO_LONG",
        "provider.label",
    );
    expect_invalid(
        create(with(|p| p.label.clear())).await,
        "FIELD_REQUIRED",
        "provider.label",
    );
    expect_invalid(
        create(with(|p| p.channel_url = "http://phone.example.com".into())).await,
        "FIELD_MALFORMED",
        "provider.channel_url",
    );
    expect_invalid(
        create(with(|p| {
            p.channel_url = format!("https://example.com/{}", long(1010))
        }))
        .await,
        "FIELD_TOO_LONG",
        "provider.channel_url",
    );
    expect_invalid(
        create(with(|p| p.channel_order = -1)).await,
        "FIELD_OUT_OF_RANGE",
        "provider.channel_order",
    );
    expect_invalid(
        create(with(|p| p.channel_order = 1001)).await,
        "FIELD_OUT_OF_RANGE",
        "provider.channel_order",
    );
    expect_invalid(
        create(with(|p| p.api_version = "1".into())).await,
        "FIELD_OUT_OF_RANGE",
        "provider.api_version",
    );
    expect_invalid(
        create(with(|p| p.trusted_domain = long(2001))).await,
        "FIELD_TOO_LONG",
        "provider.trusted_domain",
    );
    expect_invalid(
        create(with(|p| p.custom_parameters = long(2001))).await,
        "FIELD_TOO_LONG",
        "provider.custom_parameters",
    );
    expect_invalid(
        create(with(|p| p.state = 7)).await,
        "FIELD_OUT_OF_RANGE",
        "provider.state",
    );

    // Several bad fields are all reported at once.
    let error = expect_refused(
        create(with(|p| {
            p.label.clear();
            p.channel_order = 5000;
        }))
        .await,
        Code::InvalidArgument,
        Some("FIELD_REQUIRED"),
    );
    assert_eq!(error.field_violations().len(), 2);

    // The limits themselves are accepted.
    let mut edge = provider_spec("contoso_edge");
    edge.display_name = long(100);
    edge.channel_order = 1000;
    edge.custom_parameters = long(2000);
    edge.api_version = "2".into();
    create(Some(edge))
        .await
        .expect("values at their limits are fine");

    create(Some(provider_spec("contoso_phone"))).await.unwrap();
    let taken = expect_refused(
        create(Some(provider_spec("CONTOSO_phone"))).await,
        Code::AlreadyExists,
        Some("UNIQUE_NAME_TAKEN"),
    );
    assert_eq!(taken.metadata()["unique_name"], "CONTOSO_phone");
    let all = admin.list_providers(Default::default()).await.unwrap();
    assert_eq!(
        all.providers.len(),
        2,
        "no refused create left anything behind"
    );
}

#[tokio::test]
async fn provider_ids_are_checked_on_every_provider_call() {
    let harness = Harness::start().await;
    let admin = &harness.admin;
    for (id, code, reason) in [
        ("", Code::InvalidArgument, "FIELD_REQUIRED"),
        (MALFORMED_ID, Code::InvalidArgument, "FIELD_MALFORMED"),
        (
            "0199F0C8-51C4-7BB0-9D8E-3C3E2C9A1B11X",
            Code::InvalidArgument,
            "FIELD_MALFORMED",
        ),
        (UNKNOWN_ID, Code::NotFound, "PROVIDER_NOT_FOUND"),
    ] {
        let provider_id = id.to_owned();
        expect_refused(
            admin
                .get_provider(pb::GetProviderRequest {
                    provider_id: provider_id.clone(),
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .activate_provider(pb::ActivateProviderRequest {
                    provider_id: provider_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .deactivate_provider(pb::DeactivateProviderRequest {
                    provider_id: provider_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .delete_provider(pb::DeleteProviderRequest {
                    provider_id: provider_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .rotate_provider_credential(pb::RotateProviderCredentialRequest {
                    provider_id: provider_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        let mut provider = provider_spec("contoso_x");
        provider.id = provider_id;
        expect_refused(
            admin
                .update_provider(pb::UpdateProviderRequest {
                    provider: Some(provider),
                    update_mask: None,
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
    }
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

#[tokio::test]
async fn update_provider_refuses_immutable_unknown_and_bad_fields() {
    let harness = Harness::start().await;
    let provider = harness.provider("contoso_phone").await.record;
    let admin = &harness.admin;
    let update = |provider: pb::Provider, update_mask| {
        admin.update_provider(pb::UpdateProviderRequest {
            provider: Some(provider),
            update_mask,
            ..Default::default()
        })
    };
    expect_invalid(
        admin
            .update_provider(pb::UpdateProviderRequest {
                provider: None,
                update_mask: None,
                ..Default::default()
            })
            .await,
        "FIELD_REQUIRED",
        "provider",
    );
    for path in ["unique_name", "state", "id", "create_time"] {
        expect_invalid(
            update(provider.clone(), mask(&[path])).await,
            "FIELD_IMMUTABLE",
            &format!("update_mask.paths[{path:?}]"),
        );
    }
    expect_invalid(
        update(provider.clone(), mask(&["colour"])).await,
        "FIELD_MALFORMED",
        "update_mask.paths[\"colour\"]",
    );
    let mut bad = provider.clone();
    bad.label = long(101);
    expect_invalid(
        update(bad, mask(&["label"])).await,
        "FIELD_TOO_LONG",
        "provider.label",
    );
    let mut bad = provider.clone();
    bad.label.clear();
    expect_invalid(
        update(bad, mask(&["label"])).await,
        "FIELD_REQUIRED",
        "provider.label",
    );
    let mut bad = provider.clone();
    bad.channel_url = "ftp://x".into();
    expect_invalid(
        update(bad, None).await,
        "FIELD_MALFORMED",
        "provider.channel_url",
    );

    let unchanged = admin
        .get_provider(pb::GetProviderRequest {
            provider_id: provider.id.clone(),
        })
        .await
        .unwrap()
        .provider
        .unwrap();
    assert_eq!(unchanged, provider, "refused updates changed nothing");

    // A masked update changes just what it names, even to a default value.
    let mut change = provider.clone();
    change.label = "New label".into();
    change.display_name = "ignored: not in the mask".into();
    change.enable_outbound = true;
    let updated = update(change, mask(&["label", "enable_outbound"]))
        .await
        .unwrap()
        .provider
        .unwrap();
    assert_eq!(
        (updated.label.as_str(), updated.enable_outbound),
        ("New label", true)
    );
    assert_eq!(updated.display_name, provider.display_name);
    let mut off = updated.clone();
    off.enable_outbound = false;
    let updated = update(off, mask(&["enable_outbound"]))
        .await
        .unwrap()
        .provider
        .unwrap();
    assert!(!updated.enable_outbound);
    assert_ne!(updated.update_time, provider.update_time);
}

#[tokio::test]
async fn agent_calls_check_their_fields_and_ids() {
    let harness = Harness::start().await;
    let admin = &harness.admin;
    let create = |agent: Option<pb::Agent>| {
        admin.create_agent(pb::CreateAgentRequest {
            agent,
            ..Default::default()
        })
    };
    let named = |name: &str| pb::Agent {
        display_name: name.into(),
        ..Default::default()
    };

    expect_invalid(create(None).await, "FIELD_REQUIRED", "agent");
    expect_invalid(
        create(Some(named(""))).await,
        "FIELD_REQUIRED",
        "agent.display_name",
    );
    expect_invalid(
        create(Some(named(&long(101)))).await,
        "FIELD_TOO_LONG",
        "agent.display_name",
    );
    let mut agent = named("Ada");
    agent.provider_ids = vec![MALFORMED_ID.into()];
    expect_invalid(
        create(Some(agent)).await,
        "FIELD_MALFORMED",
        "agent.provider_ids[0]",
    );
    let mut agent = named("Ada");
    agent.provider_ids = vec![UNKNOWN_ID.into()];
    expect_refused(
        create(Some(agent)).await,
        Code::NotFound,
        Some("PROVIDER_NOT_FOUND"),
    );
    for (limits, field) in [
        (
            pb::AgentLimits {
                max_open_sessions: 10_001,
                ..Default::default()
            },
            "agent.limits.max_open_sessions",
        ),
        (
            pb::AgentLimits {
                max_tabs_per_session: 101,
                ..Default::default()
            },
            "agent.limits.max_tabs_per_session",
        ),
        (
            pb::AgentLimits {
                max_queued_notifications: 101,
                ..Default::default()
            },
            "agent.limits.max_queued_notifications",
        ),
    ] {
        let mut agent = named("Ada");
        agent.limits = Some(limits);
        expect_invalid(create(Some(agent)).await, "FIELD_OUT_OF_RANGE", field);
    }
    assert!(
        admin
            .list_agents(Default::default())
            .await
            .unwrap()
            .agents
            .is_empty()
    );

    // Limits left at zero take the defaults; given ones stay.
    let mut agent = named("Ada");
    agent.limits = Some(pb::AgentLimits {
        max_open_sessions: 3,
        ..Default::default()
    });
    let ada = create(Some(agent)).await.unwrap().agent.unwrap();
    assert_eq!(
        ada.limits,
        Some(pb::AgentLimits {
            max_open_sessions: 3,
            max_tabs_per_session: 10,
            max_queued_notifications: 10
        })
    );

    for (id, code, reason) in [
        ("", Code::InvalidArgument, "FIELD_REQUIRED"),
        (MALFORMED_ID, Code::InvalidArgument, "FIELD_MALFORMED"),
        (UNKNOWN_ID, Code::NotFound, "AGENT_NOT_FOUND"),
    ] {
        let agent_id = id.to_owned();
        expect_refused(
            admin
                .get_agent(pb::GetAgentRequest {
                    agent_id: agent_id.clone(),
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .delete_agent(pb::DeleteAgentRequest {
                    agent_id: agent_id.clone(),
                    force: true,
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .rotate_agent_credential(pb::RotateAgentCredentialRequest {
                    agent_id: agent_id.clone(),
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            admin
                .get_desk(pb::AdminServiceGetDeskRequest {
                    agent_id: agent_id.clone(),
                })
                .await,
            code,
            Some(reason),
        );
        let mut agent = named("Ada");
        agent.id = agent_id;
        expect_refused(
            admin
                .update_agent(pb::UpdateAgentRequest {
                    agent: Some(agent),
                    update_mask: None,
                    ..Default::default()
                })
                .await,
            code,
            Some(reason),
        );
    }

    let update = |agent: pb::Agent, update_mask| {
        admin.update_agent(pb::UpdateAgentRequest {
            agent: Some(agent),
            update_mask,
            ..Default::default()
        })
    };
    expect_invalid(
        update(ada.clone(), mask(&["presence"])).await,
        "FIELD_MALFORMED",
        "update_mask.paths[\"presence\"]",
    );
    expect_invalid(
        update(ada.clone(), mask(&["id"])).await,
        "FIELD_IMMUTABLE",
        "update_mask.paths[\"id\"]",
    );
    let mut bad = ada.clone();
    bad.limits = Some(pb::AgentLimits {
        max_open_sessions: 20_000,
        ..Default::default()
    });
    expect_invalid(
        update(bad, mask(&["limits.max_open_sessions"])).await,
        "FIELD_OUT_OF_RANGE",
        "agent.limits.max_open_sessions",
    );
    let mut reset = ada.clone();
    reset.limits = Some(pb::AgentLimits::default());
    let updated = update(reset, mask(&["limits.max_open_sessions"]))
        .await
        .unwrap()
        .agent
        .unwrap();
    assert_eq!(
        updated.limits.unwrap().max_open_sessions,
        10,
        "zero in the mask means the default"
    );
}

#[tokio::test]
async fn provider_calls_check_their_fields_and_ids() {
    let harness = Harness::start().await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let client = &phone.client;
    let create = |change: fn(&mut pb::CreateSessionRequest)| {
        let mut request = session_for(&ada, "Call");
        change(&mut request);
        client.create_session(request)
    };

    expect_invalid(
        create(|r| r.agent_id.clear()).await,
        "FIELD_REQUIRED",
        "agent_id",
    );
    expect_invalid(
        create(|r| r.agent_id = MALFORMED_ID.into()).await,
        "FIELD_MALFORMED",
        "agent_id",
    );
    expect_invalid(create(|r| r.title.clear()).await, "FIELD_REQUIRED", "title");
    expect_invalid(
        create(|r| r.title = "é".repeat(201)).await,
        "FIELD_TOO_LONG",
        "title",
    );
    expect_invalid(
        create(|r| r.template = long(129)).await,
        "FIELD_TOO_LONG",
        "template",
    );
    expect_invalid(
        create(|r| r.context = (0..101).map(|i| (i.to_string(), String::new())).collect()).await,
        "FIELD_OUT_OF_RANGE",
        "context",
    );
    expect_invalid(
        create(|r| r.context = BTreeMap::from([(String::new(), "v".into())])).await,
        "FIELD_REQUIRED",
        "context[\"\"]",
    );
    expect_invalid(
        create(|r| r.context = BTreeMap::from([("k".into(), long(2001))])).await,
        "FIELD_TOO_LONG",
        "context[\"k\"]",
    );
    // Malformed input is reported before the (unknown) agent is looked up.
    expect_invalid(
        create(|r| {
            r.agent_id = UNKNOWN_ID.into();
            r.title.clear();
        })
        .await,
        "FIELD_REQUIRED",
        "title",
    );
    let desk = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert!(desk.sessions.is_empty(), "no refused create left a session");

    for (id, code, reason) in [
        ("", Code::InvalidArgument, "FIELD_REQUIRED"),
        (MALFORMED_ID, Code::InvalidArgument, "FIELD_MALFORMED"),
    ] {
        expect_refused(
            client
                .can_create_session(pb::CanCreateSessionRequest {
                    agent_id: id.into(),
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            client
                .get_focused_session(pb::GetFocusedSessionRequest {
                    agent_id: id.into(),
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            client
                .get_session(pb::GetSessionRequest {
                    session_id: id.into(),
                })
                .await,
            code,
            Some(reason),
        );
        expect_refused(
            harness
                .admin
                .get_session(pb::AdminServiceGetSessionRequest {
                    session_id: id.into(),
                })
                .await,
            code,
            Some(reason),
        );
    }
    expect_refused(
        client
            .get_focused_session(pb::GetFocusedSessionRequest {
                agent_id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
    expect_refused(
        harness
            .admin
            .get_session(pb::AdminServiceGetSessionRequest {
                session_id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
}

#[tokio::test]
async fn list_calls_check_filters_page_sizes_and_tokens() {
    let harness = Harness::start().await;
    let phone = harness.provider("contoso_phone").await;
    let admin = &harness.admin;
    expect_invalid(
        phone
            .client
            .list_sessions(pb::ListSessionsRequest {
                agent_id: MALFORMED_ID.into(),
                ..Default::default()
            })
            .await,
        "FIELD_MALFORMED",
        "agent_id",
    );
    expect_invalid(
        phone
            .client
            .list_sessions(pb::ListSessionsRequest {
                page_size: -1,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "page_size",
    );
    expect_refused(
        phone
            .client
            .list_sessions(pb::ListSessionsRequest {
                page_token: "forged".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("PAGE_TOKEN_INVALID"),
    );
    expect_invalid(
        admin
            .list_providers(pb::ListProvidersRequest {
                page_size: -5,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "page_size",
    );
    expect_invalid(
        admin
            .list_agents(pb::ListAgentsRequest {
                page_size: -5,
                ..Default::default()
            })
            .await,
        "FIELD_OUT_OF_RANGE",
        "page_size",
    );
    expect_invalid(
        admin
            .list_sessions(pb::AdminServiceListSessionsRequest {
                provider_id: MALFORMED_ID.into(),
                ..Default::default()
            })
            .await,
        "FIELD_MALFORMED",
        "provider_id",
    );
    expect_invalid(
        admin
            .list_sessions(pb::AdminServiceListSessionsRequest {
                agent_id: MALFORMED_ID.into(),
                ..Default::default()
            })
            .await,
        "FIELD_MALFORMED",
        "agent_id",
    );
}

#[tokio::test]
async fn a_request_over_the_size_limit_gets_the_transports_status_without_a_reason() {
    let harness = Harness::start().await;
    let phone = harness.provider("contoso_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut request = session_for(&ada, "Call");
    request.context.insert("blob".into(), long(1 << 20));
    let error = expect_refused(
        phone.client.create_session(request).await,
        Code::OutOfRange,
        None,
    );
    assert!(error.message().contains("too large"), "{error}");
    let desk = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert!(desk.sessions.is_empty());
}

#[tokio::test]
async fn calls_without_a_credential_are_unauthenticated() {
    let harness = Harness::start().await;
    let mut bare = pb::admin_service_client::AdminServiceClient::new(harness.channel.clone());
    let error: cif_sdk::Error = bare
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap_err()
        .into();
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(error.reason(), Some("CREDENTIAL_MISSING"));
    assert!(error.message().contains("authorization: Bearer"));
    let info = harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap();
    assert_eq!(
        (info.api_version.as_str(), info.cif_version.as_str()),
        ("cif.v1", "2.0")
    );
    assert!(!info.version.is_empty() && info.start_time.is_some());
}
