//! A reproducible deployment: the `--config` file declares presences, providers, templates and
//! agents; cifd makes the state match at startup, refuses to edit what the file manages, keeps
//! the operator's deactivations and credentials, and refuses a bad file with its line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cif_e2e::{Cifd, DataDir, OPERATOR_TOKEN, Options, Stop, cifd_binary, expect_refused, restart};
use cif_sdk::{AgentClient, ProviderClient, pb};
use prost::Message as _;
use tonic::Code;

const ADA: &str = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11";

const DEPLOYMENT: &str = r#"
heartbeat_interval = "100ms"

[[presence]]
id = "available"
text = "Available"
base_status = "available"

[[provider]]
unique_name = "contoso_phone"
display_name = "Contoso telephony"
label = "Phone"
channel_url = "https://phone.contoso.com/widget"
channel_order = 1

[[tab_template]]
unique_name = "contoso_crm"
display_name = "Customer record"
title = "Customer {customerName}"
page_kind = "third_party_website"
parameters = { url = "https://crm.example.com/search?q={customerName}" }

[[session_template]]
unique_name = "contoso_call"
display_name = "Phone call"
title = "Call from {customerName}"
anchor_tab = "contoso_crm"

[[notification_template]]
unique_name = "contoso_incoming"
display_name = "Incoming call"
title = "Call from {customerName}"
countdown_seconds = 30

[[agent]]
id = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11"
display_name = "Ada"
providers = ["contoso_phone"]
max_open_sessions = 3
"#;

fn config_file(data_dir: &DataDir, text: &str) -> PathBuf {
    std::fs::create_dir_all(data_dir.path()).unwrap();
    let path = data_dir.path().with_extension("toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn with_config(data_dir: &DataDir, config: &Path) -> Options {
    Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..Default::default()
    }
    .arg("--config")
    .arg(config.to_str().unwrap())
}

#[tokio::test]
async fn the_file_declares_the_deployment_and_a_restart_changes_nothing() {
    let data_dir = DataDir::new();
    let config = config_file(&data_dir, DEPLOYMENT);
    let mut cifd = Cifd::start_with(with_config(&data_dir, &config));
    let admin = cifd.admin().await;

    let provider = admin
        .list_providers(Default::default())
        .await
        .unwrap()
        .providers
        .remove(0);
    assert_eq!(provider.unique_name, "contoso_phone");
    assert!(provider.managed);
    let agent = admin
        .get_agent(pb::GetAgentRequest {
            agent_id: ADA.into(),
        })
        .await
        .unwrap()
        .agent
        .unwrap();
    assert!(agent.managed);
    assert_eq!(agent.provider_ids, std::slice::from_ref(&provider.id));
    assert_eq!(agent.limits.unwrap().max_open_sessions, 3);
    let template = admin
        .get_session_template(pb::GetSessionTemplateRequest {
            unique_name: "contoso_call".into(),
        })
        .await
        .unwrap()
        .session_template
        .unwrap();
    assert!(template.managed);

    // The audit trail names the file as who created each item.
    let created = configuration_entries(&admin).await;
    let mut names: Vec<&str> = created.iter().map(|e| e.resource.as_str()).collect();
    names.sort_unstable();
    let agent_name = format!("agents/{ADA}");
    let provider_name = format!("providers/{}", provider.id);
    let mut expected = vec![
        agent_name.as_str(),
        "presences/available",
        provider_name.as_str(),
        "templates/contoso_call",
        "templates/contoso_crm",
        "templates/contoso_incoming",
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);
    for entry in &created {
        assert_eq!(entry.action, "ApplyConfiguration");
        assert!(entry.before.is_none(), "{entry:?}");
        assert!(entry.after.is_some(), "{entry:?}");
    }

    // What the file declares, AdminService does not change.
    let refused = expect_refused(
        admin
            .update_provider(pb::UpdateProviderRequest {
                provider: Some(pb::Provider {
                    id: provider.id.clone(),
                    label: "Changed".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("MANAGED_BY_CONFIG"),
    );
    assert!(
        refused.message().contains("configuration file"),
        "{refused}"
    );
    expect_refused(
        admin
            .delete_session_template(pb::DeleteSessionTemplateRequest {
                unique_name: "contoso_call".into(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("MANAGED_BY_CONFIG"),
    );

    // Credentials are never in the file: the operator issues them.
    let provider_credential = admin
        .rotate_provider_credential(pb::RotateProviderCredentialRequest {
            provider_id: provider.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .credential;
    let agent_credential = admin
        .rotate_agent_credential(pb::RotateAgentCredentialRequest {
            agent_id: ADA.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .credential;
    let phone = ProviderClient::new(cifd.channel().await, &provider_credential).unwrap();
    let session = phone
        .create_session(pb::CreateSessionRequest {
            agent_id: ADA.into(),
            template: "contoso_call".into(),
            parameters: [("customerName".to_owned(), "Maria".to_owned())].into(),
            ..Default::default()
        })
        .await
        .expect("the declared provider uses the declared template for the declared agent")
        .session
        .unwrap();
    assert_eq!(session.title, "Call from Maria");
    assert!(session.tabs[0].anchor);

    // An incident: the operator deactivates the provider. A restart with the same file keeps
    // that, and changes nothing else.
    admin
        .deactivate_provider(pb::DeactivateProviderRequest {
            provider_id: provider.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let before = admin.get_server_info(Default::default()).await.unwrap();
    let providers_before = admin.list_providers(Default::default()).await.unwrap();
    restart(
        &mut cifd,
        Stop::Term,
        with_config(&data_dir, &config),
        &admin,
    )
    .await;
    let after = admin.get_server_info(Default::default()).await.unwrap();
    assert_eq!(after.sequence, before.sequence, "no event on a restart");
    assert_eq!(
        admin.list_providers(Default::default()).await.unwrap(),
        providers_before,
        "the provider is as it was: inactive, same update_time"
    );
    assert_eq!(
        configuration_entries(&admin).await,
        created,
        "nothing changed, nothing audited"
    );
    expect_refused(
        ProviderClient::new(cifd.channel().await, &provider_credential)
            .unwrap()
            .list_sessions(Default::default())
            .await,
        Code::PermissionDenied,
        Some("PROVIDER_INACTIVE"),
    );
    let desk = AgentClient::new(cifd.channel().await, &agent_credential)
        .unwrap()
        .get_desk(Default::default())
        .await
        .expect("the agent's credential survives the restart");
    assert_eq!(desk.desk.unwrap().sessions.len(), 1);

    // Without the declarations the items stay, handed back to AdminService.
    let bare = config_file(&data_dir, "heartbeat_interval = \"100ms\"\n");
    restart(&mut cifd, Stop::Term, with_config(&data_dir, &bare), &admin).await;
    let template = admin
        .get_session_template(pb::GetSessionTemplateRequest {
            unique_name: "contoso_call".into(),
        })
        .await
        .unwrap()
        .session_template
        .unwrap();
    assert!(!template.managed);
    let released = configuration_entries(&admin).await;
    let released = &released[created.len()..];
    let call = released
        .iter()
        .find(|entry| entry.resource == "templates/contoso_call")
        .expect("the template handed back is audited");
    let managed = |any: &Option<prost_types::Any>| {
        let any = any.as_ref().expect("a snapshot");
        assert_eq!(any.type_url, "type.googleapis.com/cif.v1.SessionTemplate");
        pb::SessionTemplate::decode(any.value.as_slice())
            .unwrap()
            .managed
    };
    assert!(managed(&call.before) && !managed(&call.after));
    assert_eq!(
        released.len(),
        expected.len(),
        "every declared item is handed back: {released:?}"
    );
}

/// The audit entries the configuration file made, in order.
async fn configuration_entries(admin: &cif_sdk::AdminClient) -> Vec<pb::AuditEntry> {
    admin
        .list_audit_entries(pb::ListAuditEntriesRequest {
            actor: "configuration".into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("listed")
        .audit_entries
}

#[tokio::test]
async fn the_documented_deployment_file_starts_as_documented() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/templates.md"),
    )
    .unwrap();
    let start = docs.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let end = start + docs[start..].find("```").unwrap();
    let data_dir = DataDir::new();
    let config = config_file(&data_dir, &docs[start..end]);
    let cifd = Cifd::start_with(with_config(&data_dir, &config));
    let admin = cifd.admin().await;
    let names: Vec<String> = admin
        .list_tab_templates(Default::default())
        .await
        .unwrap()
        .tab_templates
        .into_iter()
        .map(|t| t.unique_name)
        .collect();
    assert_eq!(names, ["contoso_crm", "contoso_notes"]);
    let agent = admin
        .get_agent(pb::GetAgentRequest {
            agent_id: ADA.into(),
        })
        .await
        .unwrap()
        .agent
        .unwrap();
    assert_eq!(agent.limits.unwrap().max_open_sessions, 5);
    assert_eq!(
        admin
            .list_presences(Default::default())
            .await
            .unwrap()
            .presences
            .len(),
        1
    );
}

/// Starts cifd on `text` as its config file and expects it to refuse; returns stderr.
fn refused_file(text: &str) -> String {
    let data_dir = DataDir::new();
    let config = config_file(&data_dir, text);
    let mut child = Command::new(cifd_binary())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .arg("--config")
        .arg(&config)
        .env("CIF_ADMIN_TOKEN", OPERATOR_TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("cifd accepted a bad file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_bad_file_stops_startup_with_the_line_and_field_at_fault() {
    // A misspelt field.
    let stderr = refused_file(&DEPLOYMENT.replace("channel_order = 1", "chanel_order = 1"));
    assert!(
        stderr.contains("line 14") && stderr.contains("chanel_order"),
        "{stderr}"
    );
    // A value the rules refuse.
    let stderr = refused_file(&DEPLOYMENT.replace(
        "title = \"Call from {customerName}\"\nanchor_tab",
        "title = \"Call from {customerName\"\nanchor_tab",
    ));
    assert!(
        stderr.contains("line 23 ([[session_template]] contoso_call)")
            && stderr.contains("never closed"),
        "{stderr}"
    );
    // A reference to nothing.
    let stderr = refused_file(&DEPLOYMENT.replace(
        "providers = [\"contoso_phone\"]",
        "providers = [\"contoso_sms\"]",
    ));
    assert!(
        stderr.contains("([[agent]] 0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11)")
            && stderr.contains("contoso_sms"),
        "{stderr}"
    );
}
