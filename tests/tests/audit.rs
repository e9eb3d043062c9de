//! The audit trail: every change an operator makes to providers, agents and operator
//! credentials is kept with who made it, what, when, and the resource before and after, never
//! a secret; it is listed in order, filtered and paged, survives a restart, and keeps only
//! the newest entries past its retention.

use cif_e2e::{DataDir, Harness, Options, Stop, restart};
use cif_sdk::{AdminClient, pb};
use prost::Message as _;

async fn entries(admin: &AdminClient, filter: pb::ListAuditEntriesRequest) -> Vec<pb::AuditEntry> {
    admin
        .list_audit_entries(filter)
        .await
        .expect("listed")
        .audit_entries
}

fn actions(entries: &[pb::AuditEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.action.as_str()).collect()
}

fn provider_in(any: &Option<prost_types::Any>) -> Option<pb::Provider> {
    let any = any.as_ref()?;
    assert_eq!(any.type_url, "type.googleapis.com/cif.v1.Provider");
    Some(pb::Provider::decode(any.value.as_slice()).expect("a Provider"))
}

#[tokio::test]
async fn every_operator_change_is_kept_with_who_what_and_the_resource_before_and_after() {
    let data_dir = DataDir::new();
    let options = || Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..Options::default()
    };
    let harness = Harness::start_with(options()).await;
    let admin = harness.admin.clone();
    let chat = harness.provider("contoso_chat").await;
    let resource = format!("providers/{}", chat.id());

    admin
        .update_provider(pb::UpdateProviderRequest {
            provider: Some(pb::Provider {
                id: chat.id().into(),
                label: "Chat 2".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["label".into()],
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .deactivate_provider(pb::DeactivateProviderRequest {
            provider_id: chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let rotated = admin
        .rotate_provider_credential(pb::RotateProviderCredentialRequest {
            provider_id: chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .credential;
    let ada = harness.agent("Ada", &[]).await;

    // A change made with an operator credential names it.
    let oncall = admin
        .create_operator_credential(pb::CreateOperatorCredentialRequest {
            operator_credential: Some(pb::OperatorCredential {
                display_name: "ops-oncall".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let oncall_id = oncall.operator_credential.unwrap().id;
    AdminClient::new(harness.channel.clone(), &oncall.credential)
        .unwrap()
        .delete_provider(pb::DeleteProviderRequest {
            provider_id: chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .delete_agent(pb::DeleteAgentRequest {
            agent_id: ada.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let all = entries(&admin, Default::default()).await;
    assert_eq!(
        actions(&all),
        [
            "CreateProvider",
            "UpdateProvider",
            "DeactivateProvider",
            "RotateProviderCredential",
            "CreateAgent",
            "CreateOperatorCredential",
            "DeleteProvider",
            "DeleteAgent",
        ],
        "in the order made"
    );
    let shown = format!("{all:?}");
    for secret in [
        &chat.credential,
        &rotated,
        &oncall.credential,
        &ada.credential,
    ] {
        assert!(!shown.contains(secret.as_str()), "never a secret");
    }

    let about_chat = entries(
        &admin,
        pb::ListAuditEntriesRequest {
            resource: resource.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(about_chat.len(), 5);
    let (created, updated, deactivated) = (&about_chat[0], &about_chat[1], &about_chat[2]);
    assert_eq!(created.actor, "operator");
    assert!(
        provider_in(&created.before).is_none(),
        "nothing before a creation"
    );
    assert_eq!(
        provider_in(&created.after).unwrap().unique_name,
        "contoso_chat"
    );
    assert_eq!(
        (
            provider_in(&updated.before).unwrap().label,
            provider_in(&updated.after).unwrap().label
        ),
        ("contoso_chat label".to_owned(), "Chat 2".to_owned())
    );
    assert_eq!(
        provider_in(&deactivated.after).unwrap().state,
        pb::ProviderState::Inactive as i32
    );
    let deleted = &about_chat[4];
    assert_eq!(deleted.actor, format!("operator credential {oncall_id}"));
    assert!(provider_in(&deleted.before).is_some());
    assert!(deleted.after.is_none(), "nothing after a deletion");

    let by_oncall = entries(
        &admin,
        pb::ListAuditEntriesRequest {
            actor: format!("operator credential {oncall_id}"),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(actions(&by_oncall), ["DeleteProvider"]);

    // Paged, then the same after a restart.
    let first = admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            page_size: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    let rest = admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let paged: Vec<String> = first
        .audit_entries
        .iter()
        .chain(&rest.audit_entries)
        .map(|entry| entry.id.clone())
        .collect();
    let ids: Vec<String> = all.iter().map(|entry| entry.id.clone()).collect();
    assert_eq!(paged, ids);

    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Term, options(), &admin).await;
    assert_eq!(entries(&admin, Default::default()).await, all, "durable");
}

#[tokio::test]
async fn past_its_retention_the_trail_keeps_the_newest_entries() {
    let harness = Harness::start_with(Options::default().arg("--audit-retention").arg("3")).await;
    for name in [
        "contoso_a",
        "contoso_b",
        "contoso_c",
        "contoso_d",
        "contoso_e",
    ] {
        harness.provider(name).await;
    }
    let kept = entries(&harness.admin, Default::default()).await;
    let names: Vec<String> = kept
        .iter()
        .map(|entry| provider_in(&entry.after).unwrap().unique_name)
        .collect();
    assert_eq!(names, ["contoso_c", "contoso_d", "contoso_e"]);
}

#[tokio::test]
async fn presences_templates_and_a_desks_widget_credentials_are_kept_too() {
    let harness = Harness::start().await;
    let admin = &harness.admin;
    harness
        .presence("busy", "Busy", pb::PresenceStatus::Busy)
        .await;
    admin
        .update_presence(pb::UpdatePresenceRequest {
            presence: Some(pb::Presence {
                presence_id: "busy".into(),
                text: "In a meeting".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .delete_presence(pb::DeletePresenceRequest {
            presence_id: "busy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let template = pb::NotificationTemplate {
        unique_name: "contoso_incoming".into(),
        display_name: "Incoming call".into(),
        title: "Call from {customerName}".into(),
        ..Default::default()
    };
    admin
        .create_notification_template(pb::CreateNotificationTemplateRequest {
            notification_template: Some(template.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .delete_notification_template(pb::DeleteNotificationTemplateRequest {
            unique_name: "contoso_incoming".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // A desk's widget credential: the first issue and the revocation, not each renewal.
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[&chat]).await;
    for _ in 0..3 {
        ada.client
            .issue_widget_credential(pb::IssueWidgetCredentialRequest {
                provider_id: chat.id().into(),
            })
            .await
            .expect("issued");
    }
    ada.client
        .revoke_widget_credentials(pb::RevokeWidgetCredentialsRequest::default())
        .await
        .unwrap();

    let all = entries(admin, Default::default()).await;
    let kept: Vec<(&str, &str)> = all
        .iter()
        .filter(|entry| {
            !entry.resource.starts_with("providers/") && !entry.action.ends_with("Agent")
        })
        .map(|entry| (entry.action.as_str(), entry.resource.as_str()))
        .collect();
    let widget = format!("agents/{}/widgetCredentials/{}", ada.id(), chat.id());
    assert_eq!(
        kept,
        [
            ("CreatePresence", "presences/busy"),
            ("UpdatePresence", "presences/busy"),
            ("DeletePresence", "presences/busy"),
            ("CreateNotificationTemplate", "templates/contoso_incoming"),
            ("DeleteNotificationTemplate", "templates/contoso_incoming"),
            ("IssueWidgetCredential", widget.as_str()),
            ("RevokeWidgetCredentials", widget.as_str()),
        ]
    );
    let issued = all
        .iter()
        .find(|entry| entry.action == "IssueWidgetCredential")
        .unwrap();
    assert_eq!(issued.actor, format!("agent {}", ada.id()));
    let shown = issued.after.as_ref().expect("the credential as listed");
    assert_eq!(
        shown.type_url,
        "type.googleapis.com/cif.v1.WidgetCredential"
    );
    let listed = pb::WidgetCredential::decode(shown.value.as_slice()).unwrap();
    assert_eq!(listed.provider_id, chat.id());
    let updated = all
        .iter()
        .find(|entry| entry.action == "UpdatePresence")
        .unwrap();
    let text = |any: &Option<prost_types::Any>| {
        pb::Presence::decode(any.as_ref().unwrap().value.as_slice())
            .unwrap()
            .text
    };
    assert_eq!(
        (text(&updated.before), text(&updated.after)),
        ("Busy".to_owned(), "In a meeting".to_owned())
    );
}
